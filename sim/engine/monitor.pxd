# Static types of monitor.py for the compiled build (setup.py); Python ignores this file.
cimport cython

@cython.final
cdef class Level:
    cdef public list areas
    cdef public double last_t
    cdef public long level
    cdef public double origin
    cdef public long peak
    cdef public double width
    cdef public double zero_time

    cpdef change(self, double now, long delta)

@cython.final
cdef class ServiceRecord:
    cdef public object name
    cdef public object capacity
    cdef public double origin
    cdef public double bin_s
    cdef public double warmup_end
    cdef public list arrivals
    cdef public list served
    cdef public list abandoned
    cdef public list rejected
    cdef public list wasted
    cdef public list refused
    cdef public list crash_lost
    cdef public list dropped
    cdef public list blocked
    cdef public list lost
    cdef public list errors
    cdef public list sessions_refused
    cdef public list crashes
    cdef public list attack_arrivals
    cdef public list attack_served
    cdef public list attack_rejected
    cdef public list attack_blocked
    cdef public list attack_lost
    cdef public Level queue
    cdef public Level busy
    cdef public Level up_workers
    cdef public Level servers_up
    cdef public Level servers_down
    cdef public Level sessions
    cdef public list latency
    cdef public list wait_hist
    cdef public double wait_sum
    cdef public long wait_count
    cdef public double response_sum

cdef double _LOG_MIN

cpdef Py_ssize_t bucket_of(double seconds) except? -1

@cython.final
cdef class Recorder:
    cdef public double start
    cdef public double end
    cdef public double bin_s
    cdef public Py_ssize_t n_bins
    cdef public Py_ssize_t _last_bin
    cdef public double warmup_end
    cdef public dict services
    cdef public dict counters
    cdef public Level in_lesson

    cpdef Py_ssize_t bin_of(self, double now) except? -1
    cpdef count(self, str counter, double now, long n=*)
