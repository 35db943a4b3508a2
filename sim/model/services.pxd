# Static types of services.py for the compiled build (setup.py); Python ignores this file.
cimport cython
from sim.engine.monitor cimport Level, ServiceRecord, bucket_of

@cython.final
cdef class Request:
    cdef public double began
    cdef public object client
    cdef public double cost
    cdef public double deadline
    cdef public double delay
    cdef public bint done
    cdef public long epoch
    cdef public bint high
    cdef public object reply
    cdef public Server server
    cdef public bint started
    cdef public double submitted
    cdef public long weight

cdef Request _request(object reply, double submitted, double deadline, object client)

@cython.final
cdef class Server:
    cdef public object backlog
    cdef public long busy
    cdef public bint detected_down
    cdef public long epoch
    cdef public dict in_service
    cdef public long index
    cdef public long live_queued
    cdef public object queue
    cdef public object queue_high
    cdef public bint refill_armed
    cdef public bint up
    cdef public long workers

@cython.final
cdef class Service:
    cdef public object env
    cdef public object _later
    cdef public object name
    cdef public object workers_per_server
    cdef public object backlog_per_server
    cdef public list servers
    cdef public object service_time
    cdef public ServiceRecord record
    cdef public double _origin
    cdef public double _bin_s
    cdef public Py_ssize_t _last_bin
    cdef public bint drop_abandoned
    cdef public object dispatch
    cdef public object routing
    cdef public object slowdown
    cdef public object crash
    cdef public long _pending
    cdef public double _pending_cost
    cdef public double _pending_until
    cdef public double _pending_gap
    cdef public object attack_gaps
    cdef public object guards
    cdef public object priority
    cdef public object errors
    cdef public double error_probability
    cdef public object network
    cdef public object trace
    cdef public object index
    cdef public long _next
    cdef public list _by_load

    cpdef object submit(self, double patience, long long address=*, object role=*, bint silent=*, object client=*, object reply=*, bint wait_only=*)
    cpdef Server _choose(self)
    cdef Server _least_loaded(self)
    cdef _load_changed(self, Server server)
    cdef double _through_network(self, Request request, double patience, bint wait_only) except? -1.0
    cdef _end(self, Request request, double now, str outcome, str traced=*)
    cdef _enqueue(self, Server server, Request request, double now)
    cdef double _start(self, Server server, Request request, double now) except? -1.0
    cdef _answer(self, Request request, double now, Py_ssize_t bin_index)
    cdef _pull(self, Server server, double now)
    cdef Py_ssize_t _bin(self, double now) except? -1
