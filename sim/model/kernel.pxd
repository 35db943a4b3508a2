# Static types of kernel.py for the compiled build (setup.py); Python ignores this file.
cimport cython

@cython.final
cdef class Call:
    cdef public object callback
    cdef public object callbacks
    cdef public object value

@cython.final
cdef class Walk:
    cdef object _later
    cdef object _send
