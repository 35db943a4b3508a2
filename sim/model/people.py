"""People: a pupil (or teacher, or parent) logs in, waits, gives up, tries again.

The journey of one person is a SimPy process that reads like the story it models::

    for each step of the journey:
        try the request; if the reply is late or refused, maybe wait and try again
        after too many failures, give up for the morning
    take a seat in the class, wait for the teacher, follow the lesson

The per-request work happens in :mod:`sim.model.services` on callbacks; only the person's
decisions live here. Outcomes go to a :class:`PersonTable`, one compact row per person.

The yield protocol. A journey (and a source's arrivals, :mod:`sim.model.build`) is a
generator run by :class:`sim.engine.kernel.Walk`, not a SimPy process: millions run at
once, so each wait costs as little as it can. What it yields says how it waits:

- ``yield delay`` (a float, in seconds): a pause; the journey goes on `delay` seconds
  later, as after ``yield env.timeout(delay)``, without the timeout event;
- ``outcome = yield ANSWER``: a wait for the answer of the service the person just
  asked (``service.submit(..., reply=person.walk)``), which calls the walk's
  ``succeed(outcome)``; no reply event is made;
- ``yield event`` (a SimPy event, e.g. ``klass.opened | env.timeout(t)``): a wait for
  it, as in a SimPy process; for the rare waits that need one.

Anything else (an int, a string, ...) raises a ``TypeError`` naming it. The engine's
page, docs/explanation/engine.md, tells why.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Generator
from enum import IntEnum
from typing import Any, NamedTuple, Protocol

import numpy as np
import simpy

from sim.config.platform_schema import (
    Behaviour,
    CircuitBreaker,
    ClassStep,
    ConstantBackoff,
    ExponentialBackoff,
    GateStep,
    RequestStep,
    RetryBudget,
    SessionStep,
)
from sim.engine.dists import Draw
from sim.engine.kernel import ANSWER, Walk, later_on
from sim.engine.monitor import FAIL_CAUSES, Recorder
from sim.model.classrooms import Classroom, Klass
from sim.model.defences import Gate, SessionCap
from sim.model.outcome import Outcome
from sim.model.services import Service

try:  # the literal import Cython compiles by; without Cython, its names as no-ops
    import cython
except ModuleNotFoundError:
    from sim.engine import cython_shim as cython


class Fate(IntEnum):
    """How a person's morning ended (as of the end of the run)."""

    NOT_ARRIVED = 0  # intended to connect after the end of the run
    IN_PROGRESS = 1  # still trying when the run ended
    REACHED = 2  # reached class (or finished a journey without a class)
    GAVE_UP = 3  # too many failures: never reached class
    TOO_LATE = 4  # the lesson was over before they got in
    NO_TEACHER = 5  # waited in the lobby until the lesson ended
    BARRED = 6  # refused by policy (a gate's blocked roles): not the platform failing them


_NAN = math.nan  # what the table holds for "not yet" (reached, ended)
_NOT_ARRIVED = int(Fate.NOT_ARRIVED)  # an int: no enum lookup per appended row
_SPARE_ROWS = 4096  # the least number of rows the person table grows by


@cython.final
@cython.cclass
class PersonTable:
    """Columns of one row per person; grows for open sources.

    An open source adds its people one by one, as they arrive: the columns then grow by
    blocks of rows holding the values of someone who has not arrived yet (:meth:`add`),
    so that a new person costs three stores rather than nine appends. `rows` is the
    number of people; the rows beyond it are spare."""

    __slots__ = (
        "attempts",
        "class_start",
        "ended",
        "failures",
        "fate",
        "group",
        "intended",
        "lobby",
        "reached",
        "rows",
    )
    COLUMNS = (
        "group",
        "intended",
        "class_start",
        "reached",
        "lobby",
        "ended",
        "fate",
        "attempts",
        "failures",
    )

    def __init__(self) -> None:
        self.group = array("i")
        self.intended = array("d")
        self.class_start = array("d")
        self.reached = array("d")
        self.lobby = array("d")  # seconds spent waiting for the teacher to open the class
        self.ended = array("d")
        self.fate = array("b")
        self.attempts = array("i")
        self.failures = array("i")
        self.rows = 0

    def extend(self, group: np.ndarray, intended: np.ndarray, class_start: np.ndarray) -> None:
        """Append many rows at once (cohort members known before the run)."""
        for name in self.COLUMNS:
            del getattr(self, name)[self.rows :]  # the spare rows, if any
        self._append(group, intended, class_start)
        self.rows = len(self.group)

    def add(self, group: int, intended: float, class_start: float) -> int:
        """Append one row (a person who arrives now) and return its index."""
        pid: cython.Py_ssize_t = self.rows
        if pid == len(self.group):  # no spare row left: a block of them, an eighth more
            n = max(_SPARE_ROWS, pid // 8)
            self._append(np.zeros(n, dtype=np.int32), np.full(n, _NAN), np.full(n, _NAN))
        self.group[pid] = group
        self.intended[pid] = intended
        self.class_start[pid] = class_start
        self.rows = pid + 1
        return pid

    def _append(self, group: np.ndarray, intended: np.ndarray, class_start: np.ndarray) -> None:
        """Append rows of people who have not arrived yet."""
        n = len(group)
        self.group.frombytes(np.ascontiguousarray(group, dtype=np.int32).tobytes())
        self.intended.frombytes(np.ascontiguousarray(intended, dtype=float).tobytes())
        self.class_start.frombytes(np.ascontiguousarray(class_start, dtype=float).tobytes())
        self.reached.frombytes(np.full(n, _NAN).tobytes())
        self.lobby.frombytes(np.zeros(n).tobytes())
        self.ended.frombytes(np.full(n, _NAN).tobytes())
        self.fate.frombytes(np.full(n, _NOT_ARRIVED, dtype=np.int8).tobytes())
        self.attempts.frombytes(np.zeros(n, dtype=np.int32).tobytes())
        self.failures.frombytes(np.zeros(n, dtype=np.int32).tobytes())

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The columns, one row per person (the spare rows left out)."""
        columns = {}
        for name in self.COLUMNS:
            column = getattr(self, name)
            columns[name] = np.frombuffer(column, dtype=column.typecode)[: self.rows].copy()
        return columns


@cython.final
@cython.cclass
class Habits:
    """A behaviour turned into samplers: how long one waits, whether and when one retries.

    A compiled class with C fields (people.pxd), not a dataclass: every attempt reads it."""

    __slots__ = (
        "backoff",
        "breaker",
        "budget",
        "max_attempts",
        "patience",
        "retry_probability",
        "uniform",
        "wait_only",
    )

    def __init__(
        self,
        patience: Draw,
        retry_probability: float,
        max_attempts: int,
        backoff: Any,  # config backoff spec
        uniform: Draw,
        budget: SharedBudget | None = None,
        breaker: CircuitBreaker | None = None,
        wait_only: bool = False,  # the patience covers the wait for service, not the answer
    ) -> None:
        self.patience = patience
        self.retry_probability = retry_probability
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.uniform = uniform
        self.budget = budget
        self.breaker = breaker
        self.wait_only = wait_only

    def backoff_delay(self, failures: int) -> float:
        spec = self.backoff
        if isinstance(spec, ConstantBackoff):
            return spec.delay_s
        delay = min(spec.max_s, spec.base_s * spec.factor ** (failures - 1))
        if isinstance(spec, ExponentialBackoff):
            return delay
        return delay * self.uniform()  # full jitter


def habits_from(behaviour: Behaviour, patience: Draw, uniform: Draw) -> Habits:
    return Habits(
        patience,
        behaviour.retry_probability,
        behaviour.max_attempts,
        behaviour.backoff,
        uniform,
        SharedBudget(behaviour.retry_budget) if behaviour.retry_budget else None,
        behaviour.circuit_breaker,
        wait_only=behaviour.patience_covers == "wait",
    )


class SharedBudget:
    """A token bucket shared by a group of clients, as a reservation schedule (GCRA).

    `reserve(t)` returns the earliest time at or after `t` when a token is available and
    takes it: tokens are spaced 1/rate apart, with up to `burst` available at once.
    """

    def __init__(self, spec: RetryBudget) -> None:
        self.spacing = 1.0 / spec.tokens_per_s
        self.tolerance = (spec.burst - 1) * self.spacing
        self.theoretical = -math.inf  # GCRA's theoretical arrival time

    def reserve(self, t: float) -> float:
        at = max(t, self.theoretical - self.tolerance)
        self.theoretical = max(self.theoretical, at) + self.spacing
        return at


@cython.final
@cython.cclass
class World:
    """What a journey needs to know about the platform; built by :mod:`sim.model.build`.
    A compiled class with C fields (people.pxd): every step of every journey reads it."""

    __slots__ = (
        "classes",
        "classrooms",
        "env",
        "gates",
        "live",
        "recorder",
        "services",
        "session_caps",
        "stays",
        "table",
    )

    def __init__(
        self,
        env: simpy.Environment,
        services: dict[str, Service],
        classrooms: dict[str, Classroom],
        classes: list[Klass],
        table: PersonTable,
        recorder: Recorder,
        stays: dict[int, Any],
        live: dict[int, Person],
        gates: dict[str, Gate],
        session_caps: dict[str, SessionCap] | None = None,
    ) -> None:
        self.env = env
        self.services = services
        self.classrooms = classrooms
        self.classes = classes
        self.table = table
        self.recorder = recorder
        self.stays = stays  # by id(step): a class step's SilentRequests, a session's
        # SessionSamplers (duration and SilentRequests)
        self.live = live
        self.gates = gates
        self.session_caps = {} if session_caps is None else session_caps  # by service


@cython.cclass
class Person:
    """A person's running tally, written to the table when their morning ends."""

    __slots__ = (
        "address",
        "attempts",
        "failures",
        "habits",
        "klass",
        "pid",
        "place",
        "reached",
        "role",
        "sessions",
        "streak",
        "walk",
    )

    def __init__(self, pid: int, role: str, habits: Habits, klass: int, address: int) -> None:
        self.pid = pid
        self.role = role
        self.habits = habits
        self.klass = klass
        self.address = address  # source address, shared with others behind the same NAT
        self.attempts = 0
        self.failures = 0
        self.streak = 0  # failures in a row, for the circuit breaker
        self.reached = False  # got through (in class, or into a session)
        self.sessions: list[Gate] = []  # admission gates passed, released at the end
        self.place = -1  # index among the members of a Chorus, while in one
        self.walk: Walk | None = None  # their journey, which services answer (a reference
        # cycle through the journey's frame while they are on their way: see _finish)


class SilentRequests(Protocol):
    """The requests people make every think time while in a lesson or a session, which
    nobody waits for: :class:`Chorus` for exponential think times, :class:`OwnClocks`
    for the others, :class:`NoRequests` where the step names no service."""

    def join(self, person: Person, end: float) -> None:
        """`person` starts making requests now, until `end` at the latest."""

    def leave(self, person: Person) -> None:
        """`person` makes no more requests (at `end`, when their stay is over)."""


ARRIVAL_CHUNK = 65_536  # people turned into Python values at a time (bounded memory)


def set_off_in_turn(
    world: World, end: float, population: Any, roles: list, habits: list, steps: list
):
    """The cohorts' people set off on their mornings, each at their intended time (those
    due before the start, at the start), until `end`: a walk (the yield protocol, at
    the top). Person `pid` is row `pid` of `population` (a
    :class:`sim.model.population.Population`); `roles`, `habits` and `steps` are by
    cohort."""
    env = world.env
    for first in range(0, len(population.intended), ARRIVAL_CHUNK):
        chunk = slice(first, first + ARRIVAL_CHUNK)
        rows = zip(
            population.intended[chunk].tolist(),
            population.group[chunk].tolist(),
            population.klass[chunk].tolist(),
            population.class_start[chunk].tolist(),
            population.address[chunk].tolist(),
            strict=True,
        )
        for pid, (t, g, klass, class_start, address) in enumerate(rows, start=first):
            if t >= end:
                return
            if t > env.now:
                yield t - env.now  # a pause
            person = Person(pid, roles[g], habits[g], klass, address)
            start_journey(world, person, steps[g], class_start)


class Newcomers(NamedTuple):
    """Who the people of an open source are: their group (a row of the table's
    `group`), role, habits and journey, and the first of their source addresses (one
    each, in order of arrival)."""

    group: int
    role: str
    habits: Habits
    steps: list
    first_address: int


def arrive_at_rates(world: World, pieces: list, end: float, gaps: Draw, who: Newcomers):
    """People arrive one by one as a Poisson stream, at the rate of each piece
    ``(from_s, rate_per_s)`` of `pieces` until the next (`gaps` draws exponential gaps
    of mean 1), until `end`; each is a new row of the table and sets off at once. A
    walk (the yield protocol, at the top)."""
    env = world.env
    bounds = [t for t, _ in pieces[1:]] + [math.inf]
    t = env.now
    for (piece_start, rate), piece_end in zip(pieces, bounds, strict=True):
        t = max(t, piece_start)
        while rate > 0:
            t_next = t + gaps() / rate
            if t_next >= piece_end:
                break  # memoryless: draw afresh at the next rate change
            if t_next >= end:
                return
            yield t_next - env.now  # a pause
            t = t_next
            pid = world.table.add(who.group, t, t)
            world.recorder.count("intended", t)
            person = Person(pid, who.role, who.habits, -1, who.first_address + pid)
            start_journey(world, person, who.steps, t)


def start_journey(world: World, person: Person, steps: list, class_start: float) -> None:
    """`person` sets off now on their morning (see :func:`journey`)."""
    person.walk = Walk(world.env, journey(world, person, steps, class_start))
    person.walk.go()


def journey(world: World, person: Person, steps: list, class_start: float):
    """The morning of one person, from their intended connect time on."""
    world.live[person.pid] = person
    for step in steps:
        if isinstance(step, RequestStep):
            ok = yield from _ask(world, person, world.services[step.service])
        elif isinstance(step, GateStep):
            gate = world.gates[step.gate]
            ok = yield from _insist(world, person, lambda g=gate: _pass_gate(world, person, g))
            if ok is BARRED:
                return _finish(world, person, Fate.BARRED)
        elif isinstance(step, SessionStep):  # browse, a request every think time
            cap = world.session_caps.get(step.service)
            if cap is not None:
                ok = yield from _insist(world, person, lambda c=cap: _open_session(c, person))
                if not ok:
                    return _finish(world, person, Fate.GAVE_UP)
            if not person.reached:
                _reach(world, person)
            session = world.stays[id(step)]
            duration = session.duration()
            session.requests.join(person, world.env.now + duration)
            yield duration  # a pause (the yield protocol: see the top)
            session.requests.leave(person)
            if cap is not None:
                cap.close()
            continue
        else:
            fate = yield from _attend_class(world, person, step, class_start)
            return _finish(world, person, fate)
        if not ok:
            return _finish(world, person, Fate.GAVE_UP)
    if not person.reached:
        _reach(world, person)
    return _finish(world, person, Fate.REACHED)


def _ask(world: World, person: Person, service: Service, seat: Callable[[], bool] | None = None):
    """Request `service` until served, retrying after failures; True on success.

    With `seat`, a served request that finds no seat (a class join) is a "full" failure.
    The most frequent step of every journey, so it is written out rather than built on
    :func:`_insist`: no attempt generator per request.
    """
    env, habits, recorder = world.env, person.habits, world.recorder
    counters = recorder.counters
    failures = 0
    while True:
        person.attempts += 1
        counters["attempts"][recorder.bin_of(env.now)] += 1
        service.submit(
            habits.patience(),
            person.address,
            person.role,
            silent=False,
            client=person.pid,
            reply=person.walk,
            wait_only=habits.wait_only,
        )
        outcome = yield ANSWER  # until the service answers (see the top)
        if outcome is Outcome.SERVED:
            if seat is None or seat():
                counters["successes"][recorder.bin_of(env.now)] += 1
                person.streak = 0
                return True
            outcome = "full"
        failures += 1
        delay = _failed(world, person, outcome, failures)
        if delay is None:
            return False
        yield delay  # a pause (the yield protocol: see the top)


BARRED = "barred"
"""What a gate answers a person whose role it refuses by policy at this hour (parents in
school hours, say): they are told so and leave, without retrying. It is not a failure of
the platform, so it is counted apart from failed attempts and from those who gave up."""


def _insist(world: World, person: Person, attempt: Callable[[], Generator]):
    """Make attempts until one succeeds, retrying after failures; True on success,
    False after giving up, :data:`BARRED` when refused by policy.

    `attempt()` is a generator that returns ``Outcome.SERVED``, :data:`BARRED` or the
    cause of failure.
    """
    env, recorder = world.env, world.recorder
    failures = 0
    while True:
        person.attempts += 1
        recorder.count("attempts", env.now)
        outcome = yield from attempt()
        if outcome is Outcome.SERVED:
            recorder.count("successes", env.now)
            person.streak = 0
            return True
        if outcome is BARRED:
            recorder.count("barred", env.now)
            return BARRED
        failures += 1
        delay = _failed(world, person, outcome, failures)
        if delay is None:
            return False
        yield delay  # a pause (the yield protocol: see the top)


FAIL_COUNTERS = {cause: f"fail_{cause}" for cause in FAIL_CAUSES}


def _failed(world: World, person: Person, cause: str, failures: int) -> float | None:
    """Count a failed attempt; the delay before the next one, or None to give up."""
    world.recorder.count(FAIL_COUNTERS[cause], world.env.now)
    person.failures += 1
    person.streak += 1
    habits = person.habits
    if failures >= habits.max_attempts or habits.uniform() >= habits.retry_probability:
        return None
    return _retry_delay(world.env.now, person, failures)


def _pass_gate(world: World, person: Person, gate: Gate):
    """Ask to be admitted; in a waiting room, wait (more patiently: the position shows).
    The gate's answer is traced: admitted, barred, quota full, or left the waiting room
    (a timeout for the client, a failure of cause `quota` for the counters)."""
    asked = world.env.now
    if gate.refuses(person.role):
        gate.answered(person.pid, asked, BARRED)
        return BARRED
    admitted = gate.enter()
    waited = not admitted.triggered
    if waited:
        patience = person.habits.patience() * gate.spec.patience_factor
        yield admitted | world.env.timeout(patience) if patience < math.inf else admitted
    if admitted.triggered and admitted.value:
        person.sessions.append(gate)
        gate.answered(person.pid, asked, Outcome.SERVED)
        return Outcome.SERVED
    gate.leave_queue(admitted)
    gate.answered(person.pid, asked, Outcome.TIMEOUT if waited else "quota")
    return "quota"


def _open_session(cap: SessionCap, person: Person):
    """Open a session on a service with a session cap: an attempt of :func:`_insist`
    (a generator, as its attempts are, that never waits), refused with cause `quota`."""
    yield from ()
    return Outcome.SERVED if cap.open(person.pid) else "quota"


def _retry_delay(now: float, person: Person, failures: int) -> float:
    """Backoff, lengthened by an open circuit breaker or an empty retry budget."""
    habits = person.habits
    delay = habits.backoff_delay(failures)
    breaker = habits.breaker
    if breaker is not None and person.streak % breaker.failures == 0:
        delay = max(delay, breaker.open_s)
    if habits.budget is not None:
        delay = habits.budget.reserve(now + delay) - now
    return delay


def _attend_class(world: World, person: Person, step: ClassStep, class_start: float):
    env = world.env
    lesson_end = class_start + 60.0 * step.lesson_min
    if env.now >= lesson_end:
        return Fate.TOO_LATE
    klass = world.classes[person.klass]
    classroom = world.classrooms[step.classroom]
    service = world.services[step.join_service]
    ok = yield from _ask(world, person, service, seat=lambda: classroom.take_seat(klass))
    if not ok:
        return Fate.GAVE_UP
    if env.now >= lesson_end:
        classroom.leave(klass)
        return Fate.TOO_LATE
    if person.role == "teacher" and not klass.is_open:
        klass.open()
        world.recorder.count("classes_opened", env.now)
    if not klass.is_open:
        seated = env.now
        yield klass.opened | env.timeout(lesson_end - env.now)
        world.table.lobby[person.pid] = env.now - seated
        if not klass.is_open:
            classroom.leave(klass)
            return Fate.NO_TEACHER
    _reach(world, person)
    world.recorder.in_lesson.change(env.now, 1)
    requests = world.stays[id(step)]  # a request every think time until the lesson ends
    requests.join(person, lesson_end)
    yield max(0.0, lesson_end - env.now)  # a pause (the yield protocol: see the top)
    requests.leave(person)
    world.recorder.in_lesson.change(env.now, -1)
    classroom.leave(klass)
    return Fate.REACHED


class NoRequests:
    """A lesson without an in-class service: people only sit in it."""

    def join(self, person: Person, end: float) -> None:
        pass

    def leave(self, person: Person) -> None:
        pass


@cython.final
@cython.cclass
class Chorus:
    """The silent requests of everyone in one step, when think times are exponential,
    as one stream.

    The requests of people who each make one every exponential think time (mean m) are
    independent Poisson streams of rate 1/m. So are those of the *seats* of a stream of
    rate seats/m whose requests each go to a seat drawn at random (the marking theorem):
    members sit in the first seats, a request for an empty seat is not made (thinning),
    and every member makes Poisson requests of rate 1/m, wherever they sit and whoever
    joins or leaves, as on their own clock (tests/model/test_silent_requests.py checks it).
    There are a few more seats than members, so that people can come and go without the
    rate changing: only when they outgrow the seats, or leave too many empty, is the
    next request drawn afresh for a new number of seats (memoryless: exact).

    One pending event for the whole step instead of one per person, whose clock lived
    in memory: a national morning has a million people browsing at once.
    """

    __slots__ = ("later", "members", "pick", "seats", "service", "think", "turn")
    later: object
    members: list
    pick: object
    seats: cython.Py_ssize_t
    service: Service
    think: object
    turn: cython.long

    def __init__(self, env: simpy.Environment, service: Service, think: Draw, pick: Draw):
        self.later = later_on(env)
        self.service = service
        self.think = think  # the think time (exponential)
        self.pick = pick  # uniform in [0, 1): the seat of the next request
        self.members: list[Person] = []  # member i sits in seat i
        self.seats = 0
        self.turn = 0  # the number of the latest draw of the seats' next request

    @cython.locals(n=cython.Py_ssize_t)
    def join(self, person: Person, end: float) -> None:
        person.place = len(self.members)
        self.members.append(person)
        n = len(self.members)
        if n > self.seats:
            self._reseat(n)

    @cython.locals(n=cython.Py_ssize_t)
    def leave(self, person: Person) -> None:
        members = self.members
        last = members.pop()
        if last is not person:  # the last member takes the leaver's seat
            members[person.place] = last
            last.place = person.place
        n = len(members)
        if n == 0 or n + n // 8 + 1 < self.seats:
            self._reseat(n)

    def _reseat(self, members: int) -> None:
        """A sixteenth more seats than `members`, and the next request drawn afresh."""
        self.seats = members + members // 16 + 1 if members else 0
        self.turn += 1
        if self.seats:
            self.later(self.think() / self.seats, self._request, self.turn)

    @cython.locals(seat=cython.Py_ssize_t, person=Person)
    def _request(self, turn: int) -> None:
        if turn != self.turn:
            return  # drawn for another number of seats: void
        seat = int(self.pick() * self.seats)
        if seat < len(self.members):
            person = self.members[seat]
            habits = person.habits
            self.service.submit(
                habits.patience(),
                person.address,
                person.role,
                silent=True,
                client=person.pid,
                reply=None,  # silent: nobody waits for the answer
                wait_only=habits.wait_only,
            )
        self.later(self.think() / self.seats, self._request, turn)


class OwnClocks:
    """The silent requests of people whose think times are not exponential: each person
    on their own clock (:class:`_Ticker`)."""

    __slots__ = ("env", "service", "think")

    def __init__(self, env: simpy.Environment, service: Service, think: Draw):
        self.env, self.service, self.think = env, service, think

    def join(self, person: Person, end: float) -> None:
        _Ticker(self.env, person, self.service, self.think, end).tick()

    def leave(self, person: Person) -> None:
        pass  # the ticker stops on its own at `end`


@cython.final
@cython.cclass
class _Ticker:
    """One person's requests every think time until `end`, on callbacks, as an object
    rather than a closure that refers to itself: a self-referencing closure is a
    reference cycle, which only the cyclic garbage collector frees."""

    __slots__ = ("end", "env", "later", "person", "service", "think")
    end: cython.double
    env: object
    later: object
    person: Person
    service: Service
    think: object

    def __init__(self, env, person, service, think, end) -> None:
        self.env, self.person, self.service = env, person, service
        self.think, self.end = think, end
        self.later = later_on(env)

    @cython.locals(pause=cython.double, person=Person)
    def tick(self, due: bool = False) -> None:
        """Make the request now if `due` (not when the ticking starts); plan the next."""
        env, person = self.env, self.person
        if due:
            habits = person.habits
            self.service.submit(
                habits.patience(),
                person.address,
                person.role,
                silent=True,
                client=person.pid,
                reply=None,  # silent: nobody waits for the answer
                wait_only=habits.wait_only,
            )
        pause = self.think()
        if env.now + pause < self.end:
            self.later(pause, self.tick, True)


def _reach(world: World, person: Person) -> None:
    person.reached = True
    world.table.reached[person.pid] = world.env.now
    world.recorder.count("reached", world.env.now)


def _finish(world: World, person: Person, fate: Fate) -> None:
    table = world.table
    table.fate[person.pid] = fate
    table.ended[person.pid] = world.env.now
    table.attempts[person.pid] = person.attempts
    table.failures[person.pid] = person.failures
    if fate is Fate.GAVE_UP:
        world.recorder.count("gave_up", world.env.now)
    for gate in person.sessions:
        gate.release()
    del world.live[person.pid]
    person.walk = None  # no reference cycle left once their journey is over


def flush_live(world: World) -> None:
    """At the end of the run: record people still on their way."""
    table = world.table
    for person in world.live.values():
        reached = table.reached[person.pid] == table.reached[person.pid]  # not nan
        table.fate[person.pid] = Fate.REACHED if reached else Fate.IN_PROGRESS
        table.attempts[person.pid] = person.attempts
        table.failures[person.pid] = person.failures
        person.walk = None  # their journey stops here: no reference cycle left
