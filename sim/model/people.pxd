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

@cython.final
cdef class _Ticker:
    cdef public double end
    cdef public object env
    cdef public object later
    cdef public Person person
    cdef public object service
    cdef public object think

@cython.final
cdef class Chorus:
    cdef public object later
    cdef public list members
    cdef public object pick
    cdef public Py_ssize_t seats
    cdef public object service
    cdef public object think
    cdef public long turn
