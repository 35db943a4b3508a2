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

This is the hot path of the simulator, so requests are driven by callbacks on SimPy
events, not by a process per request: submitting costs one event for the reply, one for
the completion and, when the client may give up first, one for the patience timer.
"""

from __future__ import annotations

import math
from collections import deque

import simpy

from sim.dists import Sampler, UniformSampler
from sim.monitor import ServiceRecord, bucket_of


class Outcome:
    """What a client learns about its request (the value of the reply event)."""

    SERVED = "served"
    TIMEOUT = "timeout"
    REJECTED = "rejected"


class Request:
    """One request of one client; a plain record."""

    __slots__ = ("deadline", "done", "reply", "server", "started", "submitted")

    def __init__(self, reply: simpy.Event, submitted: float, deadline: float) -> None:
        self.reply = reply
        self.submitted = submitted
        self.deadline = deadline
        self.server: Server | None = None
        self.started = False
        self.done = False  # the client has its answer (served or gave up)


class Server:
    __slots__ = ("backlog", "busy", "index", "live_queued", "queue", "workers")

    def __init__(self, index: int, workers: int, backlog: int) -> None:
        self.index = index
        self.workers = workers
        self.backlog = backlog
        self.busy = 0
        self.queue: deque[Request] = deque()
        self.live_queued = 0  # queued requests that still occupy a backlog slot

    @property
    def load(self) -> int:
        return self.busy + self.live_queued


class Service:
    """A pool of servers behind a load balancer; see the module docstring."""

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        servers: int,
        workers_per_server: int,
        backlog_per_server: int,
        service_time: Sampler,
        record: ServiceRecord,
        *,
        drop_abandoned: bool = False,
        patience_covers: str = "response",
        dispatch: str = "least_loaded",
        routing: UniformSampler | None = None,
    ) -> None:
        self.env = env
        self.name = name
        self.servers = [Server(i, workers_per_server, backlog_per_server) for i in range(servers)]
        self.service_time = service_time
        self.record = record
        self.drop_abandoned = drop_abandoned
        self.wait_only = patience_covers == "wait"
        self.dispatch = dispatch
        self.routing = routing
        self._next = 0

    # -- client side -----------------------------------------------------------

    def submit(self, patience: float) -> simpy.Event:
        """Send a request; the returned event's value is an :class:`Outcome`."""
        env = self.env
        now = env.now
        reply = env.event()
        request = Request(reply, now, now + patience)
        record = self.record
        minute = self._minute(now)
        record.arrivals[minute] += 1
        server = self._choose()
        if server.busy < server.workers:
            finish = self._start(server, request, now)
            if self.wait_only or finish <= request.deadline:
                return reply  # answered in time for sure: no patience timer needed
        elif server.live_queued >= server.backlog:
            record.rejected[minute] += 1
            request.done = True
            reply.succeed(Outcome.REJECTED)
            return reply
        else:
            server.queue.append(request)
            server.live_queued += 1
            request.server = server
            record.queue.change(now, 1)
        if patience < math.inf:
            env.timeout(patience, request).callbacks.append(self._on_patience)
        return reply

    def _choose(self) -> Server:
        servers = self.servers
        if len(servers) == 1:
            return servers[0]
        if self.dispatch == "least_loaded":
            best = servers[0]
            best_load = best.busy + best.live_queued
            if best_load == 0:
                return best
            for server in servers:
                load = server.busy + server.live_queued
                if load < best_load:
                    best, best_load = server, load
                    if load == 0:
                        break
            return best
        if self.dispatch == "round_robin":
            self._next = (self._next + 1) % len(servers)
            return servers[self._next]
        return servers[int(self.routing() * len(servers))]  # random

    def _on_patience(self, event: simpy.Event) -> None:
        request: Request = event.value
        if request.done or (self.wait_only and request.started):
            return
        request.done = True
        now = self.env.now
        self.record.abandoned[self._minute(now)] += 1
        if not request.started and self.drop_abandoned:
            request.server.live_queued -= 1
            self.record.queue.change(now, -1)
        request.reply.succeed(Outcome.TIMEOUT)

    # -- server side -----------------------------------------------------------

    def _start(self, server: Server, request: Request, now: float) -> float:
        """Begin serving `request`; return the time it will complete."""
        server.busy += 1
        request.server = server
        request.started = True
        record = self.record
        record.busy.change(now, 1)
        wait = now - request.submitted
        if request.submitted >= record.warmup_end:
            record.wait_sum += wait
            record.wait_count += 1
            record.wait_hist[bucket_of(wait)] += 1
        duration = self.service_time()
        self.env.timeout(duration, request).callbacks.append(self._on_complete)
        return now + duration

    def _on_complete(self, event: simpy.Event) -> None:
        request: Request = event.value
        server = request.server
        now = self.env.now
        record = self.record
        minute = self._minute(now)
        record.served[minute] += 1
        response = now - request.submitted
        record.latency[minute][bucket_of(response)] += 1
        if request.submitted >= record.warmup_end:
            record.response_sum += response
        if request.done:
            record.wasted[minute] += 1
        else:
            in_time = now <= request.deadline or self.wait_only
            request.done = True
            if in_time:
                request.reply.succeed(Outcome.SERVED)
            else:  # cannot happen: the patience timer fires first at the deadline
                request.reply.succeed(Outcome.TIMEOUT)
        server.busy -= 1
        record.busy.change(now, -1)
        self._pull(server, now)

    def _pull(self, server: Server, now: float) -> None:
        """Start the next queued request, skipping those dropped after their client left."""
        queue = server.queue
        while queue:
            request = queue.popleft()
            if request.done and self.drop_abandoned and not request.started:
                continue  # already removed from live_queued when its client gave up
            server.live_queued -= 1
            self.record.queue.change(now, -1)
            self._start(server, request, now)
            return

    def _minute(self, now: float) -> int:
        record = self.record
        m = int((now - record.origin) // 60)
        n = len(record.arrivals)
        return m if m < n else n - 1

    # -- inspection ------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return sum(s.workers for s in self.servers)

    @property
    def busy(self) -> int:
        return sum(s.busy for s in self.servers)

    @property
    def queued(self) -> int:
        return sum(s.live_queued for s in self.servers)
