"""Services: servers with workers, a finite FIFO backlog, and clients that give up.

Think of a bakery at 8 a.m.: a few counters (servers), each with some bakers (workers) and
a line that fits only so many people (the backlog). A new customer is sent to the counter
with the fewest people (least loaded), to the next counter in turn (round robin) or to
any counter (random). If that counter's line is full they are turned away (rejected).
Each customer will wait only so long (their patience, the client timeout): when it runs
out they leave, but the baker who already took the order still bakes it, and an order
still in the line is still baked when its turn comes, unless the shop is clever enough
to drop orders of people who left (``drop_abandoned``). That wasted work is what turns a
surge into a collapse: the counters are busy with bread nobody will collect.

Pushed too far, a counter slows down (bakers get in each other's way: the service time
grows with the number of requests in progress beyond a knee) and may crash when its line
grows past a threshold: everything queued or in the oven is lost, the counter reopens
after a restart time, and the load balancer keeps sending people to it until it notices,
a detection delay later.

This is the hot path of the simulator, so requests are driven by callbacks, not by a
process per request: submitting costs one SimPy event for the reply (the client's process
waits for it), one cheap call (:func:`sim.engine.kernel.later_on`) for the completion
and, when the client may give up first, one for the patience timer.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from heapq import heapify, heappop, heappush

import simpy

from sim.engine.dists import Draw
from sim.engine.kernel import later_on
from sim.engine.monitor import ServiceRecord, bucket_of
from sim.engine.trace import Trace
from sim.model.outcome import Outcome
from sim.model.policies import CrashPolicy, Guards, Priority

try:  # the literal import Cython compiles by; without Cython, its names as no-ops
    import cython
except ModuleNotFoundError:
    from sim.engine import cython_shim as cython


class _Silent:
    """The reply of a request nobody waits for: answering it costs nothing."""

    __slots__ = ()

    def succeed(self, value: object = None) -> None:
        pass


SILENT = _Silent()


@cython.freelist(1024)
@cython.cclass
class Request:
    """One request of one client (or one batch of attack requests); a plain record."""

    __slots__ = (
        "began",
        "client",
        "cost",
        "deadline",
        "delay",
        "done",
        "epoch",
        "high",
        "reply",
        "server",
        "started",
        "submitted",
        "weight",
    )

    def __init__(
        self,
        reply: simpy.Event | None,
        submitted: float,
        deadline: float,
        weight: int = 1,
        cost: float = 1.0,
        client: int = -1,
    ) -> None:
        self.reply = reply  # None for attack traffic: nobody waits for the answer
        self.submitted = submitted
        self.deadline = deadline
        self.weight = weight  # backlog places it takes (a batch of attack requests)
        self.cost = cost  # work per request, in multiples of a normal request
        self.server: Server | None = None
        self.started = False
        self.done = False  # the client has its answer (served, gave up, or error)
        self.epoch = 0  # the server's life in which the work started
        self.high = False  # served before the others (priority class)
        self.client = client  # the person who sent it (-1: unknown), for the trace
        self.began = math.nan  # when service started, for the trace
        self.delay = 0.0  # the network's round trip, added to the answer (network_delay)


@cython.cfunc
@cython.inline
@cython.locals(request=Request)
def _request(
    reply: object, submitted: cython.double, deadline: cython.double, client: object
) -> Request:
    """A client's request, as ``Request(reply, submitted, deadline, client=client)``
    makes it, without the call's argument parsing: one per attempt and silent request."""
    request = Request.__new__(Request)
    request.reply = reply
    request.submitted = submitted
    request.deadline = deadline
    request.weight = 1
    request.cost = 1.0
    request.server = None
    request.started = False
    request.done = False
    request.epoch = 0
    request.high = False
    request.client = client
    request.began = math.nan
    request.delay = 0.0
    return request


@cython.cclass
class Server:
    __slots__ = (
        "backlog",
        "busy",
        "detected_down",
        "epoch",
        "in_service",
        "index",
        "live_queued",
        "queue",
        "queue_high",
        "refill_armed",
        "up",
        "workers",
    )

    def __init__(self, index: int, workers: int, backlog: int) -> None:
        self.index = index
        self.workers = workers
        self.backlog = backlog
        self.busy = 0
        self.queue: deque[Request] = deque()
        self.queue_high: deque[Request] = deque()  # the priority class, served first
        self.live_queued = 0  # backlog places taken by queued requests
        # in progress, in the order started: a dict, not a set, because a crash fails
        # them in this order, and a set of objects iterates in memory-address order,
        # which differs from run to run (and so would the results)
        self.in_service: dict[Request, None] = {}
        self.up = True
        self.detected_down = False  # the load balancer has noticed the server is down
        self.refill_armed = False  # a pending attack request is on its way (see _arm_refill)
        self.epoch = 0  # incremented at each crash: work started before is lost


FAULT = "fault"
"""An error answer in the trace (``error_probability``): the client hears
``Outcome.ERROR``, as from a crashed server, and fails the same (``fail_error``)."""

SCAN_AT_MOST = 16
"""Up to this many servers, the least loaded one is found by a scan (cheaper than a heap)."""


@cython.cclass
class Service:
    """A pool of servers behind a load balancer; see the module docstring."""

    __slots__ = (
        "_bin_s",
        "_by_load",
        "_last_bin",
        "_later",
        "_next",
        "_origin",
        "_pending",
        "_pending_cost",
        "_pending_gap",
        "_pending_until",
        "attack_gaps",
        "backlog_per_server",
        "crash",
        "dispatch",
        "drop_abandoned",
        "env",
        "error_probability",
        "errors",
        "guards",
        "index",
        "name",
        "network",
        "priority",
        "record",
        "routing",
        "servers",
        "service_time",
        "slowdown",
        "trace",
        "workers_per_server",
    )

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        servers: int,
        workers_per_server: int,
        backlog_per_server: int,
        service_time: Draw,
        record: ServiceRecord,
        *,
        drop_abandoned: bool = False,
        dispatch: str = "least_loaded",
        routing: Draw | None = None,
        slowdown: Callable[[int], float] | None = None,
        crash: CrashPolicy | None = None,
        guards: Guards | None = None,
        priority: Priority | None = None,
        attack_gaps: Draw | None = None,
        errors: Draw | None = None,
        error_probability: float = 0.0,
        network: Draw | None = None,
    ) -> None:
        self.env = env
        self._later = later_on(env)  # completions and patience timers
        self.name = name
        self.workers_per_server = workers_per_server
        self.backlog_per_server = backlog_per_server
        self.servers: list[Server] = []
        self.service_time = service_time
        self.record = record
        self._origin = record.origin
        self._bin_s = record.bin_s
        self._last_bin = len(record.arrivals) - 1
        self.drop_abandoned = drop_abandoned
        self.dispatch = dispatch
        self.routing = routing
        self.slowdown = slowdown
        self.crash = crash
        self._pending = 0  # attack requests waiting for room (see submit_attack)
        self._pending_cost = 1.0
        self._pending_until = -math.inf
        self._pending_gap = math.inf  # mean time between pending requests
        self.attack_gaps = attack_gaps  # Exp(1) draws, for the pending stream
        self.guards = guards
        self.priority = priority
        self.errors = errors  # uniform draws, one per answer, when error_probability > 0
        self.error_probability = error_probability
        self.network = network  # round trips (network_delay), None: no delay, no draw
        self.trace: Trace | None = None  # set by the runner for `sim run --trace`
        self.index = -1  # this service's number in the trace
        self._next = 0
        # least loaded among many servers: a heap of (load, server index), updated at each
        # change of load and cleaned lazily, instead of a scan of every server per request
        self._by_load: list[tuple[int, int]] | None = None
        for _ in range(servers):
            self.add_server()

    # -- client side -----------------------------------------------------------

    def submit(
        self,
        patience: float,
        address: cython.longlong = -1,
        role: object = "",
        silent: cython.bint = False,
        client: object = -1,
        reply: object = None,
        wait_only: cython.bint = False,
    ) -> object:  # compiled, a C call from the model (services.pxd): a simpy.Event
        """Send a request; the returned event's value is an :class:`Outcome`.

        The client gives up after `patience` seconds: of waiting for the answer, or with
        `wait_only` (their ``patience_covers = "wait"``), of waiting for service to start.
        A person's patience is theirs, not the service's, so each request says which.

        With `silent`, the client does not wait for the answer (requests made during a
        session or a lesson): the request is served and measured the same, but no reply
        event is scheduled for it. With `reply`, the outcome goes to
        ``reply.succeed(outcome)`` instead of a new event, and `reply` is returned: a
        :class:`sim.engine.kernel.Walk` takes its answers so, without an event object.
        """
        env = self.env
        now: cython.double = env.now
        bin_index: cython.Py_ssize_t
        request: Request
        server: Server
        if reply is None:
            reply = SILENT if silent else env.event()
        request = _request(reply, now, now + patience, client)
        if self.network is not None:
            patience = self._through_network(request, patience, wait_only)
        record: ServiceRecord = self.record
        bin_index = self._bin(now)
        record.arrivals[bin_index] += 1
        if self.guards is not None:
            verdict = self.guards.check(address, now)
            if verdict is Outcome.BLOCKED:
                record.blocked[bin_index] += 1
                self._end(request, now, Outcome.BLOCKED)
                return reply
            if verdict is Outcome.TIMEOUT:  # lost on a saturated link: no answer ever
                record.lost[bin_index] += 1
                if patience < math.inf:
                    self._later(patience, self._on_patience, request)
                return reply
        if self.priority is not None:
            request.high = self.priority.applies(role, now)
        server = self._choose()
        if server is None or not server.up:
            if server is None or self.crash is None or self.crash.refuse_while_down:
                record.refused[bin_index] += 1
                self._end(request, now, Outcome.ERROR)
                return reply
            # a dead server not yet noticed swallows the request: the client times out
        elif server.busy < server.workers:
            finish = self._start(server, request, now)
            if wait_only or finish <= request.deadline:
                return reply  # answered in time for sure: no patience timer needed
        elif server.live_queued >= server.backlog:
            record.rejected[bin_index] += 1
            self._end(request, now, Outcome.REJECTED)
            return reply
        else:
            self._enqueue(server, request, now)
        if patience < math.inf:
            self._later(patience, self._on_wait if wait_only else self._on_patience, request)
        return reply

    def _through_network(self, request: Request, patience: float, wait_only: bool) -> float:
        """Draw the request's round trip; return the patience left for the server (inf
        where the patience timer is set here already).

        The request reaches the server at once and every answer comes back to the client
        the round trip later: so the client's patience (when it covers the response)
        leaves the server that much less time, and a round trip longer than the patience
        means a timeout, whenever the server answers. With ``patience_covers = "wait"``
        the patience counts the wait in queue only, and the round trip comes on top.
        """
        delay: cython.double = self.network()
        if not wait_only:
            patience -= delay
            if patience < 0.0:  # no answer can come back in time
                delay += patience  # the client times out at its own patience
                request.deadline = -math.inf
                self._later(0.0, self._on_patience, request)  # before a completion due now
                patience = math.inf
            else:
                request.deadline = request.submitted + patience
        request.delay = delay
        return patience

    def submit_attack(self, count: int, cost: float, until: float, rate: float) -> None:
        """`count` attack requests, each `cost` times a normal one, arriving now and
        spread until `until` (when the next batch comes).

        Those that find room (a free worker or a backlog place) get in now; the rest
        stay *pending* until `until` and take every worker or backlog place that frees
        up before then, as a continuous stream of requests would. What is still pending
        at `until` was rejected. Pending requests reach the servers as a Poisson stream
        at the flood's `rate` (requests/s, thinned by the defences like the batch).
        Queued attack requests are stored as runs (one queue entry of `weight` identical
        requests) but served one by one.
        """
        now = self.env.now
        record = self.record
        bin_index = self._bin(now)
        record.attack_arrivals[bin_index] += count
        sent = count
        if self.guards is not None:
            count = self.guards.pass_attack(count, now)
            record.attack_blocked[bin_index] += sent - count
        self.expire_attack()
        self._pending, self._pending_cost, self._pending_until = count, cost, until
        self._pending_gap = sent / (rate * count) if count else math.inf
        for server in self._servers_by_room():
            if not self._pending:
                break
            self._refill(server, now)
        if until <= now:  # requests simulated one by one: no room now means rejected
            self.expire_attack()

    def expire_attack(self) -> None:
        """Pending attack requests that found no room before their time: rejected."""
        if self._pending:
            self.record.attack_rejected[self._bin(self.env.now)] += self._pending
            self._pending = 0

    def _arm_refill(self, server: Server) -> None:
        """The next pending attack request reaches `server` after an exponential gap.

        Room that frees up goes to whoever comes first, a legitimate request or the
        next attack request of the stream, as with requests simulated one by one.
        """
        server.refill_armed = True
        gap = self._pending_gap * self.attack_gaps()

        def refill(_value: None) -> None:
            server.refill_armed = False
            self._refill(server, self.env.now)

        self._later(gap, refill)

    def _servers_by_room(self) -> Iterator[Server]:
        """Servers the balancer would use, least loaded first (then by index), as loaded
        when called; lazily, from a heap: a batch of attack requests often fills the
        first server or two of a large pool, so sorting them all would be wasted."""
        servers = self.servers
        alive = [(s.busy + s.live_queued, s.index) for s in servers if not s.detected_down and s.up]
        if self.dispatch != "least_loaded":
            return (servers[index] for _, index in alive)
        heapify(alive)
        return (servers[heappop(alive)[1]] for _ in range(len(alive)))

    def _refill(self, server: Server, now: float) -> None:
        """Let pending attack requests take the free workers and backlog places."""
        if not self._pending or not server.up:
            return
        if now > self._pending_until:
            self.expire_attack()
            return
        while self._pending and server.busy < server.workers and not server.queue:
            self._pending -= 1
            request = Request(None, now, math.inf, cost=self._pending_cost)
            request.done = True
            self._start(server, request, now)
        room = min(self._pending, server.backlog - server.live_queued)
        if room > 0:
            self._pending -= room
            tail = server.queue[-1] if server.queue else None
            if tail is not None and tail.reply is None and tail.cost == self._pending_cost:
                tail.weight += room  # one more run of identical requests
                server.live_queued += room
                self._load_changed(server)
                self.record.queue.change(now, room)
            else:
                request = Request(None, now, math.inf, weight=room, cost=self._pending_cost)
                request.done = True
                self._enqueue(server, request, now)

    @cython.locals(server=Server, best=Server, load=cython.long, best_load=cython.double)
    def _choose(self) -> Server | None:
        """The server the load balancer picks, or None if it knows all are down."""
        servers = self.servers
        if len(servers) == 1:
            server = servers[0]
            return None if server.detected_down else server
        if self._by_load is not None:
            return self._least_loaded()
        if self.dispatch == "least_loaded":
            best, best_load = None, math.inf
            for server in servers:
                if server.detected_down:
                    continue
                load = server.busy + server.live_queued
                if load < best_load:
                    best, best_load = server, load
                    if load == 0:
                        break
            return best
        for _ in range(len(servers)):
            if self.dispatch == "round_robin":
                self._next = (self._next + 1) % len(servers)
                server = servers[self._next]
            else:
                server = servers[int(self.routing() * len(servers))]
            if not server.detected_down:
                return server
        for server in servers:  # a loop, not next(genexpr): no closure (Cython's cpdef)
            if not server.detected_down:
                return server
        return None

    @cython.locals(server=Server, load=cython.long, index=cython.Py_ssize_t)
    def _least_loaded(self) -> Server | None:
        """The server a scan would pick (least loaded, then lowest index), from the heap.

        Every server that is not known to be down has its current (load, index) in the
        heap; entries that no longer match their server are dropped when they surface.
        """
        by_load, servers = self._by_load, self.servers
        if len(by_load) > 4 * len(servers) + 64:  # too many stale entries: start afresh
            by_load = self._rebuild_by_load()
        while by_load:
            load, index = by_load[0]
            server = servers[index]
            if not server.detected_down and server.busy + server.live_queued == load:
                return server
            heappop(by_load)
        return None

    def _rebuild_by_load(self) -> list[tuple[int, int]]:
        by_load = [(s.busy + s.live_queued, s.index) for s in self.servers if not s.detected_down]
        heapify(by_load)
        self._by_load = by_load
        return by_load

    def _load_changed(self, server: Server) -> None:
        if self._by_load is not None:
            heappush(self._by_load, (server.busy + server.live_queued, server.index))

    def _on_wait(self, request: Request) -> None:
        """The patience of a client whose patience covers only the wait ran out: they
        leave unless service has started (then they wait for the answer however long).
        A timer of its own rather than a flag on every request: requests stay small."""
        if not request.started:
            self._on_patience(request)

    def _on_patience(self, request: Request) -> None:
        if request.done:
            return
        request.done = True
        now = self.env.now
        self.record.abandoned[self._bin(now)] += 1
        server = request.server
        if server is not None and not request.started and self.drop_abandoned:
            server.live_queued -= 1
            self._load_changed(server)
            self.record.queue.change(now, -1)
            self.record.dropped[self._bin(now)] += 1
        self._end(request, now, Outcome.TIMEOUT)

    def _end(self, request: Request, now: float, outcome: Outcome, traced: str = "") -> None:
        """The client has its answer: tell it, a network round trip later if there is
        one (and the trace, if one is kept, as `traced` when the trace tells apart what
        the client does not: an error answer from a crashed server). A silent request is
        traced only when the trace asks for them (``sim run --log-silent``)."""
        request.done = True
        if request.delay == 0.0:
            request.reply.succeed(outcome)
        elif request.reply is not SILENT:
            self._later(request.delay, request.reply.succeed, outcome)
        if self.trace is not None and (request.reply is not SILENT or self.trace.silent):
            ended = now + request.delay
            self.trace.add(
                self.index,
                request.client,
                request.submitted,
                request.began,
                ended,
                traced or outcome,
                request.reply is SILENT,
            )

    # -- server side -----------------------------------------------------------

    def _enqueue(self, server: Server, request: Request, now: float) -> None:
        (server.queue_high if request.high else server.queue).append(request)
        server.live_queued += request.weight
        if self._by_load is not None:
            heappush(self._by_load, (server.busy + server.live_queued, server.index))
        request.server = server
        self.record.queue.change(now, request.weight)
        if self.crash is not None and server.live_queued > self.crash.backlog_above:
            self._crash(server, now)

    def _start(self, server: Server, request: Request, now: float) -> float:
        """Begin serving `request`; return the time it will complete."""
        duration: cython.double
        wait: cython.double
        server.busy += 1
        if self._by_load is not None:
            heappush(self._by_load, (server.busy + server.live_queued, server.index))
        server.in_service[request] = None
        request.server = server
        request.started = True
        request.began = now
        request.epoch = server.epoch
        record: ServiceRecord = self.record
        record.busy.change(now, 1)
        if request.reply is None:  # an attack request
            duration = request.cost * self.service_time()
        else:
            wait = now - request.submitted
            if request.submitted >= record.warmup_end:
                record.wait_sum += wait
                record.wait_count += 1
                record.wait_hist[bucket_of(wait)] += 1
            duration = self.service_time()
        if self.slowdown is not None:
            duration *= self.slowdown(server.busy)
        self._later(duration, self._on_complete, request)
        return now + duration

    def _on_complete(self, request: Request) -> None:
        server: Server = request.server
        bin_index: cython.Py_ssize_t
        if request.epoch != server.epoch:
            return  # the server crashed while working on it: the work is lost
        now = self.env.now
        record: ServiceRecord = self.record
        bin_index = self._bin(now)
        server.busy -= 1
        if self._by_load is not None:
            heappush(self._by_load, (server.busy + server.live_queued, server.index))
        server.in_service.pop(request, None)
        record.busy.change(now, -1)
        if request.reply is None:
            record.attack_served[bin_index] += 1
        else:
            self._answer(request, now, bin_index)
        self._pull(server, now)
        if self._pending and not server.refill_armed:
            self._arm_refill(server)

    def _answer(self, request: Request, now: float, bin_index: cython.Py_ssize_t) -> None:
        response: cython.double
        record: ServiceRecord = self.record
        record.served[bin_index] += 1
        response = now - request.submitted + request.delay  # as the client sees it
        record.latency[bin_index][bucket_of(response)] += 1
        if request.submitted >= record.warmup_end:
            record.response_sum += response
        if request.done:
            record.wasted[bin_index] += 1
        elif self.errors is not None and self.errors() < self.error_probability:
            record.errors[bin_index] += 1  # the work is done, the answer is an error (a 500)
            self._end(request, now, Outcome.ERROR, FAULT)
        elif request.reply is not SILENT or self.trace is not None:
            # in time (a late one met the patience timer); a silent one, for the trace
            self._end(request, now, Outcome.SERVED)
        else:
            request.done = True

    def _pull(self, server: Server, now: float) -> None:
        """Start the next queued request, skipping those dropped after their client left."""
        request: Request
        while server.busy < server.workers:
            queue = server.queue_high or server.queue
            if not queue:
                return
            request = queue[0]
            if request.reply is None and request.weight > 1:  # a run of attack requests
                request.weight -= 1
                request = Request(None, now, math.inf, cost=request.cost)
                request.done = True
            else:
                queue.popleft()
                if request.done and self.drop_abandoned and request.reply is not None:
                    continue  # already removed from live_queued when its client gave up
            server.live_queued -= 1
            self.record.queue.change(now, -1)
            self._start(server, request, now)

    # -- crashes and capacity ---------------------------------------------------

    def _crash(self, server: Server, now: float) -> None:
        """Everything queued or in progress on `server` fails; it restarts later."""
        record = self.record
        bin_index = self._bin(now)
        record.crashes[bin_index] += 1
        server.up = False
        server.epoch += 1
        record.busy.change(now, -server.busy)
        record.queue.change(now, -server.live_queued)
        record.up_workers.change(now, -server.workers)
        record.servers_up.change(now, -1)
        record.servers_down.change(now, 1)
        lost = [*server.in_service, *server.queue_high, *server.queue]
        server.busy = 0
        server.live_queued = 0
        self._load_changed(server)
        server.in_service.clear()
        server.queue.clear()
        server.queue_high.clear()
        for request in lost:
            if request.reply is None:
                record.attack_lost[bin_index] += request.weight
            elif not (request.done and self.drop_abandoned and not request.started):
                record.crash_lost[bin_index] += 1
                if not request.done:
                    self._end(request, now, Outcome.ERROR)
        env = self.env
        epoch = server.epoch
        env.timeout(self.crash.detection_s).callbacks.append(
            lambda _: self._notice_down(server, epoch)
        )
        env.timeout(self.crash.restart()).callbacks.append(lambda _: self._restart(server))

    def _notice_down(self, server: Server, epoch: int) -> None:
        if not server.up and server.epoch == epoch:
            server.detected_down = True

    def _restart(self, server: Server) -> None:
        now = self.env.now
        server.up = True
        server.detected_down = False
        self._load_changed(server)
        self.record.up_workers.change(now, server.workers)
        self.record.servers_up.change(now, 1)
        self.record.servers_down.change(now, -1)
        self._refill(server, now)

    def add_server(self) -> Server:
        """Bring one more server into the pool (at build time, or by an autoscaler)."""
        server = Server(len(self.servers), self.workers_per_server, self.backlog_per_server)
        self.servers.append(server)
        if self.dispatch == "least_loaded" and len(self.servers) > SCAN_AT_MOST:
            self._rebuild_by_load()
        now = self.env.now
        self.record.up_workers.change(now, server.workers)
        self.record.servers_up.change(now, 1)
        return server

    @cython.locals(m=cython.Py_ssize_t)
    def _bin(self, now: float) -> int:
        """The record's time bin of time `now` (the last bin for later times)."""
        m = int((now - self._origin) // self._bin_s)
        return m if m < self._last_bin else self._last_bin

    # -- inspection ------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return sum(s.workers for s in self.servers if s.up)

    @property
    def busy(self) -> int:
        return sum(s.busy for s in self.servers)

    @property
    def queued(self) -> int:
        return sum(s.live_queued for s in self.servers)

    def in_system(self) -> tuple[int, int]:
        """(legitimate requests, attack requests) queued or in progress right now."""
        legit = attack = 0
        for server in self.servers:
            for request in [*server.in_service, *server.queue_high, *server.queue]:
                if request.reply is None:
                    attack += request.weight
                elif not (request.done and self.drop_abandoned and not request.started):
                    legit += 1
        return legit, attack + self._pending
