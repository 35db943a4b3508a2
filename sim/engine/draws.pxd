# Static types of draws.py for the compiled build (setup.py); Python ignores this file.
cimport cython

@cython.final
cdef class Draws:
    cdef double[::1] _block
    cdef Py_ssize_t _next
    cdef object _refill
    cdef Py_ssize_t _size
