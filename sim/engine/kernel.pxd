# Static types of kernel.py for the compiled build (setup.py); Python ignores this file.
cimport cython

@cython.final
cdef class Entry:
    cdef readonly double at
    cdef readonly object callback
    cdef readonly long long eid
    cdef readonly int priority
    cdef readonly object value

cdef Entry _entry(double at, int priority, long long eid, object callback, object value)

@cython.final
cdef class Environment:
    cdef public object _active_proc
    cdef public list _due
    cdef public long long _eid
    cdef public double _horizon
    cdef public double _now
    cdef public list _queue
    cdef public list _slot_numbers
    cdef public double _slot_s
    cdef public dict _slots

    cpdef call_later(self, double delay, object callback, object value=*)

@cython.final
cdef class Call:
    cdef public object callback
    cdef public object callbacks
    cdef public object value
