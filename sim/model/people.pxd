# Static types of people.py for the compiled build (setup.py); Python ignores this file.
cimport cython

@cython.final
cdef class Person:
    cdef public long long address
    cdef public long attempts
    cdef public long failures
    cdef public object habits
    cdef public Py_ssize_t klass
    cdef public Py_ssize_t pid
    cdef public Py_ssize_t place
    cdef public bint reached
    cdef public object role
    cdef public list sessions
    cdef public long streak
    cdef public object walk

