"""Defences in front of services: rate limits, scrubbing, edge links, admission gates,
autoscaling. Each is optional and each has its delay or its cost.

- :class:`RateLimiter`: a token bucket per source address (HTTP 429 when empty). People
  behind one school or carrier NAT share an address, so a limit tight enough to stop bots
  also blocks some pupils: the false positives of rate limiting.
- :class:`Scrubber`: filtering that switches on a detection delay after an attack starts
  and removes a share of attack traffic, and a (smaller) share of legitimate traffic.
- :class:`EdgeLink`: the link in front of a platform; a volumetric flood above its
  capacity makes it drop that share of all packets, legitimate requests included.
- :class:`Gate`: an admission quota (at most Q sessions) and/or a waiting room (at most R
  new sessions per second), optionally closed to some roles during school hours.
- :func:`autoscaler`: adds servers when utilisation is above target, after a boot delay.
"""

from __future__ import annotations

import math
from collections import deque

import simpy

from sim.config import Gate as GateSpec
from sim.config import clock_to_s
from sim.config.platform_schema import Scrubbing
from sim.engine.kernel import call_later
from sim.engine.monitor import Recorder
from sim.engine.trace import Trace


class RateLimiter:
    """Token bucket per address: `rate` tokens per second, at most `burst` saved."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[int, list[float]] = {}  # address -> [tokens, last refill time]
        self._bots = [0.0, 0.0, 0]  # aggregate bucket of attacking addresses

    def allow(self, address: int, now: float) -> bool:
        bucket = self._buckets.get(address)
        if bucket is None:
            self._buckets[address] = [self.burst - 1.0, now]
            return True
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        return False

    def allow_bots(self, count: int, bots: int, now: float) -> int:
        """How many of `count` attack requests, spread evenly over `bots` addresses, pass.

        With every bot sending at the same rate, the sum of their buckets is one bucket
        of `bots` times the rate and burst, which is what is tracked here.
        """
        tokens, last, known = self._bots
        if known != bots:
            tokens, known = bots * self.burst, bots
        tokens = min(bots * self.burst, tokens + (now - last) * self.rate * bots)
        allowed = min(count, int(tokens))
        self._bots = [tokens - allowed, now, known]
        return allowed


class Scrubber:
    """Filtering that is active from `detection_s` after an attack starts until `hold_s`
    after the last attack on its target ends."""

    def __init__(self, env: simpy.Environment, spec: Scrubbing) -> None:
        self.env = env
        self.spec = spec
        self.active = 0  # number of attack windows currently being filtered

    def attack(self, start: float, end: float) -> None:
        """Called at an attack's start: schedule the filter on and off."""
        on = start + self.spec.detection_s
        off = math.inf if self.spec.stays_on else end + self.spec.hold_s
        if on >= off:
            return
        self.env.timeout(on - self.env.now).callbacks.append(lambda _: self._switch(1))
        if off < math.inf:
            self.env.timeout(off - self.env.now).callbacks.append(lambda _: self._switch(-1))

    def _switch(self, delta: int) -> None:
        self.active += delta

    @property
    def attack_removed(self) -> float:
        return self.spec.attack_removed if self.active else 0.0

    @property
    def legit_removed(self) -> float:
        return self.spec.legit_removed if self.active else 0.0


class EdgeLink:
    """A link of `capacity_gbps`; above capacity it drops the excess share of packets."""

    def __init__(self, capacity_gbps: float, legit_gbps: float, scrubber: Scrubber | None):
        self.capacity = capacity_gbps
        self.legit = legit_gbps
        self.scrubber = scrubber
        self.attack_gbps = 0.0

    @property
    def loss(self) -> float:
        """Share of requests lost: traffic beyond capacity, in proportion to the overload."""
        if not self.attack_gbps:
            return 0.0
        removed = self.scrubber.attack_removed if self.scrubber else 0.0
        offered = self.legit + self.attack_gbps * (1.0 - removed)
        return max(0.0, 1.0 - self.capacity / offered) if offered > 0 else 0.0


class Gate:
    """Admission control; see the module docstring and :class:`sim.config.Gate`."""

    def __init__(self, env: simpy.Environment, name: str, spec: GateSpec) -> None:
        self.env = env
        self.name = name
        self.spec = spec
        self.sessions = 0
        self.max_sessions = spec.max_sessions or math.inf
        self.spacing = 1.0 / spec.max_new_per_s if spec.max_new_per_s else 0.0
        self.next_slot = -math.inf
        self.blocked = set(spec.blocked_roles)
        self.blocked_window = (clock_to_s(spec.blocked_from), clock_to_s(spec.blocked_until))
        self.waiting: deque[simpy.Event] = deque()
        self._freed: simpy.Event | None = None
        self._admitting = False
        self.peak_waiting = 0
        self.trace: Trace | None = None  # set by the runner for `sim run --trace`
        self.index = -1  # the gate's number in the trace

    def answered(self, client: int, submitted: float, outcome: str) -> None:
        """Trace the gate's answer to `client`, who asked at `submitted`: a row as a
        service's (started: when admitted), if a trace is kept."""
        if self.trace is not None:
            now = self.env.now
            started = now if outcome == "served" else math.nan
            self.trace.add(self.index, client, submitted, started, now, outcome)

    def refuses(self, role: str) -> bool:
        start, end = self.blocked_window
        return role in self.blocked and start <= self.env.now < end

    def enter(self) -> simpy.Event:
        """An event that succeeds with True when admitted, or False when refused now."""
        event = self.env.event()
        if not self.waiting and self._has_room():
            self._admit(event)
        elif self.spec.when_full == "reject":
            event.succeed(False)
        else:
            self.waiting.append(event)
            self.peak_waiting = max(self.peak_waiting, len(self.waiting))
            if not self._admitting:
                self._admitting = True
                self.env.process(self._admit_waiting())
        return event

    def leave_queue(self, event: simpy.Event) -> None:
        """A person gave up waiting: they are skipped when their turn comes."""
        if not event.triggered:
            event.succeed(False)

    def release(self) -> None:
        self.sessions -= 1
        if self._freed is not None and not self._freed.triggered:
            self._freed.succeed()

    def _has_room(self) -> bool:
        return self.sessions < self.max_sessions and self.env.now >= self.next_slot

    def admit_now(self) -> bool:
        """Admit at once if there is room, else refuse: no waiting room, no event."""
        if self.waiting or not self._has_room():
            return False
        self._take()
        return True

    def _admit(self, event: simpy.Event) -> None:
        self._take()
        event.succeed(True)

    def _take(self) -> None:
        self.sessions += 1
        self.next_slot = max(self.next_slot + self.spacing, self.env.now) if self.spacing else 0

    def _admit_waiting(self):
        """Admit the waiting room in order, as sessions and the admission rate allow."""
        env = self.env
        while self.waiting:
            if self.waiting[0].triggered:  # gave up waiting
                self.waiting.popleft()
            elif self.sessions >= self.max_sessions:
                self._freed = env.event()
                yield self._freed
            elif env.now < self.next_slot:
                yield env.timeout(self.next_slot - env.now)
            else:
                self._admit(self.waiting.popleft())
        self._admitting = False


class SessionCap:
    """At most `max_sessions` sessions of one service open at once (its ``max_sessions``).

    A :class:`Gate` that refuses when full (no waiting room), whose slot is held for one
    session, not for the morning: given back when the session ends, or `timeout_s` later
    where people close the tab instead of logging out and the server, which does not
    notice they left, times the session out. Slots held and sessions refused go to the
    service's record (``sessions``, ``sessions_refused``).
    """

    def __init__(
        self,
        env: simpy.Environment,
        service: str,
        max_sessions: int,
        timeout_s: float | None,
        recorder: Recorder,
    ) -> None:
        self.env = env
        spec = GateSpec(max_sessions=max_sessions, when_full="reject")
        self.gate = Gate(env, service, spec)
        self.timeout_s = timeout_s
        self.recorder = recorder
        self.record = recorder.services[service]

    def open(self, client: int = -1) -> bool:
        """A new session of `client`: True if it got a slot, False if refused (the cap is
        reached; traced as the service's answer ``quota`` if a trace is kept: the gate's
        ``trace`` and ``index`` are the service's)."""
        now = self.env.now
        if self.gate.admit_now():
            self.record.sessions.change(now, 1)
            return True
        self.record.sessions_refused[self.recorder.bin_of(now)] += 1
        self.gate.answered(client, now, "quota")
        return False

    def close(self) -> None:
        """The person's session is over: the slot is free now, or after the timeout."""
        if self.timeout_s is None:
            self._free()
        else:
            call_later(self.env, self.timeout_s, self._free)

    def _free(self, _value: object = None) -> None:
        self.gate.release()
        self.record.sessions.change(self.env.now, -1)


def autoscaler(env: simpy.Environment, service, spec) -> simpy.Process:
    """Every period, boot enough servers to bring utilisation back to the target.

    Utilisation is measured as requests in progress or queued per worker of the servers
    up, at the evaluation instant; servers still booting count towards the target so
    that one surge does not order the same servers twice. Servers are never removed:
    a school morning only grows.
    """

    def loop():
        booting = 0

        def ready(_event: simpy.Event) -> None:
            nonlocal booting
            booting -= 1
            service.add_server()

        while True:
            yield env.timeout(spec.period_s)
            load = service.busy + service.queued
            wanted = math.ceil(load / (service.workers_per_server * spec.target_utilization))
            have = len(service.servers) + booting
            extra = min(wanted, spec.max_servers) - have
            for _ in range(max(0, extra)):
                booting += 1
                env.timeout(spec.boot_s).callbacks.append(ready)

    return env.process(loop())
