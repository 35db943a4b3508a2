# Static types of people.py for the compiled build (setup.py); Python ignores this file.
cimport cython
from sim.engine.monitor cimport Recorder
from sim.model.services cimport Service

@cython.final
cdef class Habits:
    cdef public object backoff
    cdef public object breaker
    cdef public object budget
    cdef public long max_attempts
    cdef public object patience
    cdef public double retry_probability
    cdef public object uniform
    cdef public bint wait_only

@cython.final
cdef class Person:
    cdef public long long address
    cdef public long attempts
    cdef public long failures
    cdef public Habits habits
    cdef public Py_ssize_t klass
    cdef public Py_ssize_t pid
    cdef public Py_ssize_t place
    cdef public bint reached
    cdef public object role
    cdef public list sessions
    cdef public long streak
    cdef public object walk


@cython.final
cdef class PersonTable:
    cdef public object group
    cdef public object intended
    cdef public object class_start
    cdef public object reached
    cdef public object lobby
    cdef public object ended
    cdef public object fate
    cdef public object attempts
    cdef public object failures
    cdef public Py_ssize_t rows

@cython.final
cdef class World:
    cdef public list classes
    cdef public dict classrooms
    cdef public object env
    cdef public dict gates
    cdef public dict live
    cdef public Recorder recorder
    cdef public dict services
    cdef public dict session_caps
    cdef public dict stays
    cdef public PersonTable table
