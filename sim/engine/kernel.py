"""The event kernel: SimPy's environment, made fast for millions of people.

A national morning keeps millions of events pending at once: everyone in a class or a
session has a next request scheduled. SimPy keeps them all in one binary heap, and at
that size every push and pop walks some twenty levels of tuples scattered over gigabytes
of memory, so the heap alone costs several microseconds per event (measured in
``docs/performance.md``, the event list alone: 1.5 µs per push and pop with 50,000
pending, 5.7 µs with 5,000,000).

Here the time line is cut into *slots* (one second of simulated time by default). An
event due in a later slot is parked, unsorted, in the list of its slot (an append). When
the current slot is used up, the next one is sorted once and handed out from its end;
events scheduled into the current slot meanwhile (replies, short services) go to a
small heap, merged with the sorted slot by comparing the two heads. Events keep SimPy's
sort key (time, priority, insertion number), so they are processed in exactly the order
of :class:`simpy.Environment`: same events, same order, same results. This is the
calendar queue of Brown (1988), reduced to what SimPy's event list needs.

Also here: :meth:`Environment.call_later` and :func:`later_on` (a callback after a
delay, with no event object: the model's completions, patience timers and think-time
ticks) and :class:`Walk` (a generator driven by SimPy events, without a SimPy process).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, AllOf, AnyOf, Event, EventPriority, Process, Timeout

try:  # the literal import Cython compiles by; without Cython, its names as no-ops
    import cython
except ModuleNotFoundError:
    from sim.engine import cython_shim as cython

_FAR_SLOT = 1 << 62  # the slot of events at or beyond _FAR_TIME (never, or nearly)
_FAR_TIME = float(2**52)


@cython.no_gc
@cython.freelist(1024)
@cython.cclass
class Entry:
    """A pending event (`callback` None, the event in `value`) or call in the calendar,
    sorted by SimPy's key (time, priority, insertion number).

    SimPy's entries are tuples, (time, priority, number, event): with the float and
    the int they hold, three objects to reach at each comparison, and a tuple is
    tracked by the cyclic garbage collector. Compiled, an entry is one small object
    with the key as C numbers, and untracked (``@cython.no_gc`` above): the
    collector cannot see the cycles that run through pending entries, which is why
    :meth:`Environment.clear` drops them when a run is over. A national morning keeps
    millions of them pending (``docs/performance.md``).
    """

    __slots__ = ("at", "callback", "eid", "priority", "value")

    def __init__(self, at, priority, eid, callback, value) -> None:
        self.at, self.priority, self.eid = at, priority, eid
        self.callback, self.value = callback, value

    def __lt__(self, other: Entry) -> bool:
        if self.at != other.at:
            return self.at < other.at
        if self.priority != other.priority:
            return self.priority < other.priority
        return self.eid < other.eid


@cython.cfunc
@cython.inline
@cython.locals(entry=Entry)
def _entry(at: cython.double, priority: cython.int, eid: cython.longlong, callback, value) -> Entry:
    """A new :class:`Entry`, made without calling ``__init__`` (no argument parsing:
    the calendar makes one per event)."""
    entry = Entry.__new__(Entry)
    entry.at, entry.priority, entry.eid = at, priority, eid
    entry.callback, entry.value = callback, value
    return entry


@cython.cclass
class Environment:
    """A SimPy environment whose events wait in time slots until they are due.

    It offers what :class:`simpy.Environment` offers (``now``, ``process``,
    ``timeout``, ``event``, ``all_of``, ``any_of``, ``schedule``, ``step``, ``peek``,
    ``run``, ``active_process``), so SimPy's events and processes run on it as they
    are, but it is not a subclass: compiled (setup.py), its clock and calendar are C
    fields that the hot path reaches without a dictionary lookup.

    `slot_s` is the width of a slot in simulated seconds; a power of two, so that slot
    boundaries are exact in floating point and an event is never parked in a slot that
    has already been opened.
    """

    __slots__ = (
        "_active_proc",
        "_due",
        "_eid",
        "_horizon",
        "_now",
        "_queue",
        "_slot_numbers",
        "_slot_s",
        "_slots",
    )

    def __init__(self, initial_time: float = 0.0, slot_s: float = 1.0) -> None:
        mantissa, _ = math.frexp(slot_s)
        if slot_s <= 0 or mantissa != 0.5:
            raise ValueError(f"slot_s must be a positive power of two, not {slot_s}")
        self._now = initial_time
        self._active_proc = None
        self._eid = 0  # the next insertion number: ties in time and priority go in order
        self._slot_s = slot_s
        self._horizon = (math.floor(initial_time / slot_s) + 1) * slot_s  # current slot's end
        self._queue: list = []  # a heap of the events scheduled into the current slot
        # after it was opened
        self._due: list = []  # the current slot's events, sorted latest first
        self._slots: dict[int, list] = {}  # slot number -> its events, unsorted
        self._slot_numbers: list[int] = []  # a heap of the keys of _slots

    @property
    def now(self) -> float:
        """The current simulation time."""
        return self._now

    @property
    def active_process(self) -> Process | None:
        """The process running now, if any (as SimPy's)."""
        return self._active_proc

    def process(self, generator: Generator) -> Process:
        return Process(self, generator)

    def timeout(self, delay: float = 0, value: object = None) -> Timeout:
        return Timeout(self, delay, value)

    def event(self) -> Event:
        return Event(self)

    def all_of(self, events: list[Event]) -> AllOf:
        return AllOf(self, events)

    def any_of(self, events: list[Event]) -> AnyOf:
        return AnyOf(self, events)

    @cython.locals(at=cython.double, number=cython.longlong, parked=list)
    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: object = 0) -> None:
        at = self._now + delay
        entry = _entry(at, priority, self._eid, None, event)
        self._eid += 1
        if at < self._horizon:
            heappush(self._queue, entry)
            return
        number = math.floor(at / self._slot_s) if at < _FAR_TIME else _FAR_SLOT
        parked = self._slots.get(number)
        if parked is None:
            self._slots[number] = [entry]
            heappush(self._slot_numbers, number)
        else:
            parked.append(entry)

    @cython.locals(at=cython.double, number=cython.longlong, parked=list)
    def call_later(self, delay: float, callback: Callable[[Any], None], value: Any = None) -> None:
        """Call ``callback(value)`` after `delay`: see :func:`later_on`.

        No event object at all: the call waits in the calendar as an :class:`Entry`
        with its callback and value, in SimPy's order among the events. :meth:`schedule`
        written out again: this is the most frequent schedule.
        """
        at = self._now + delay
        entry = _entry(at, NORMAL, self._eid, callback, value)
        self._eid += 1
        if at < self._horizon:
            heappush(self._queue, entry)
            return
        number = math.floor(at / self._slot_s) if at < _FAR_TIME else _FAR_SLOT
        parked = self._slots.get(number)
        if parked is None:
            self._slots[number] = [entry]
            heappush(self._slot_numbers, number)
        else:
            parked.append(entry)

    def step(self) -> None:
        """Process the next event: :meth:`simpy.Environment.step`, with the calendar."""
        due, near = self._due, self._queue
        if due and not (near and near[0] < due[-1]):
            entry = due.pop()
        elif near:
            entry = heappop(near)
        elif self._slot_numbers:
            entry = self._open_next_slot().pop()
        else:
            raise EmptySchedule
        self._now = entry.at
        if entry.callback is not None:  # a call
            entry.callback(entry.value)
            return
        self._fire(entry.value)

    def _fire(self, event: Event) -> None:
        callbacks, event.callbacks = event.callbacks, None
        try:
            for callback in callbacks:
                callback(event)
        except StopSimulation:
            # as SimPy does: the callbacks not yet called run when the simulation resumes
            event.callbacks = callbacks[callbacks.index(callback) + 1 :]
            self.schedule(event, EventPriority(-1))
            raise
        if not event._ok and not hasattr(event, "_defused"):
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc

    def run(self, until: float | Event | None = None) -> object:
        """:meth:`simpy.Environment.run`, with the loop over events written out."""
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self.now:
                    raise ValueError(
                        f"until ({at}) must be greater than the current simulation time"
                    )
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self.now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        try:
            self._loop()
        except StopSimulation as exc:
            return exc.args[0]
        except EmptySchedule:
            if until is not None:
                assert not until.triggered
                raise RuntimeError(
                    f'No scheduled events left but "until" event was not triggered: {until}'
                ) from None
        return None

    @cython.locals(due=list, near=list, entry=Entry, callbacks=list)
    def _loop(self) -> None:
        """:meth:`step` until an exception ends the run: the hottest loop of the
        simulator, so the usual case (an event that succeeded) is written out here."""
        fire = self._fire
        due, near = self._due, self._queue
        while True:
            if due and not (near and near[0] < due[-1]):
                entry = due.pop()
            elif near:
                entry = heappop(near)
            elif self._slot_numbers:
                due = self._open_next_slot()
                entry = due.pop()
            else:
                raise EmptySchedule
            self._now = entry.at
            if entry.callback is not None:  # a call (see call_later)
                entry.callback(entry.value)
                continue
            event = entry.value
            callbacks = event.callbacks
            if len(callbacks) == 1 and event._ok:
                event.callbacks = None
                try:
                    callbacks[0](event)
                except StopSimulation:  # as in _fire: SimPy reschedules the event
                    event.callbacks = []
                    self.schedule(event, EventPriority(-1))
                    raise
            else:
                fire(event)

    def _open_next_slot(self) -> list:
        """The current slot is used up: sort the next one (latest first) and open it."""
        number = heappop(self._slot_numbers)
        due = self._slots.pop(number)
        due.sort(reverse=True)
        self._due = due
        self._horizon = math.inf if number == _FAR_SLOT else (number + 1) * self._slot_s
        return due

    def peek(self) -> float:
        heads = [self._queue[0].at] if self._queue else []
        if self._due:
            heads.append(self._due[-1].at)
        if heads:
            return min(heads)
        if self._slot_numbers:
            return min(self._slots[self._slot_numbers[0]]).at
        return math.inf

    def clear(self) -> None:
        """Forget every pending event, when the run is over: compiled, entries are
        invisible to the cyclic garbage collector (see :class:`Entry`), so the model's
        objects they refer to would never be freed."""
        self._queue.clear()
        self._due.clear()
        self._slots.clear()
        self._slot_numbers.clear()

    def scheduled(self) -> int:
        """Events scheduled since the start (calls included), processed or not."""
        return self._eid

    def pending(self) -> int:
        """Events scheduled and not yet processed."""
        return len(self._queue) + len(self._due) + sum(map(len, self._slots.values()))


@cython.cclass
class Call:
    """A call as a SimPy event, for environments without :meth:`Environment.call_later`:
    at its time, ``callback(value)``. Slotted, with the two attributes SimPy's step reads
    of an event (its callbacks and whether it succeeded). No process can wait for it."""

    __slots__ = ("callback", "callbacks", "value")
    _ok = True

    def __init__(self, callback: Callable[[Any], None], value: object = None) -> None:
        self.callback = callback
        self.value = value
        self.callbacks = [_fire_call]  # not a bound method: no reference cycle


def _fire_call(call: Call) -> None:
    call.callback(call.value)


Later = Callable[[float, Callable[[Any], None], Any], None]
"""``later(delay, callback, value)``: call ``callback(value)`` after `delay`."""


def later_on(env: simpy.Environment) -> Later:
    """The cheapest way to call back after a delay on `env`.

    The model's most frequent events are callbacks: completions, patience timers,
    think-time ticks. On the calendar kernel they are :meth:`Environment.call_later`
    (no event object); on any other SimPy environment, a :class:`Call` event.
    """
    own = getattr(env, "call_later", None)
    if own is not None:
        return own

    def call_later(delay: float, callback: Callable[[Any], None], value: object = None) -> None:
        env.schedule(Call(callback, value), NORMAL, delay)

    return call_later


def call_later(env: simpy.Environment, delay: float, callback, value: object = None) -> None:
    """Call ``callback(value)`` after `delay` on `env` (any SimPy environment); where
    it is frequent, keep ``later_on(env)`` instead."""
    later_on(env)(delay, callback, value)


class _Answer:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ANSWER"


ANSWER = _Answer()
"""Yielded by a :class:`Walk`'s generator: wait until the walk's ``succeed`` is called."""


@cython.final
@cython.cclass
class Walk:
    """Runs a generator on SimPy events as :class:`simpy.Process` runs a process, without
    what the model's millions of journeys never use: the event that starts a process
    (a journey starts when its arrival comes), the event that ends it (nobody waits for
    a journey to end), and interrupts. Those events were one in ten of a morning's.

    What the generator may yield is the journeys' yield protocol (told at the top of
    :mod:`sim.model.people` and in docs/explanation/engine.md):

    - a float: a pause of that many seconds; ``yield delay`` does what
      ``yield env.timeout(delay)`` does, in the same order, without a timeout event;
    - :data:`ANSWER`: a wait for someone to call the walk's :meth:`succeed` (a service
      answering a request); ``yield ANSWER`` after handing the walk over does what
      yielding a SimPy event that is then succeeded does, in the same order, without
      the event;
    - a SimPy event: a wait for it, then its value.

    Anything else raises a ``TypeError`` naming it (:meth:`go` tests the two frequent
    cases first: the check costs nothing on them). The events a walk waits for never
    fail; if one did, the environment's step would raise its error, as for any failed
    event that nobody handles.
    """

    __slots__ = ("_answer", "_calendar", "_later", "_send")
    _answer: object  # the value succeed() was given, until the walk goes on with it
    _calendar: Environment  # env when it is this module's (a C call), else None
    _later: object  # later_on(env)
    _send: object  # the generator's send

    def __init__(self, env: simpy.Environment, generator: Generator) -> None:
        self._send = generator.send
        self._calendar = env if isinstance(env, Environment) else None
        self._later = later_on(env)
        self._answer = None

    @cython.cfunc
    def _call_later(self, delay: cython.double, callback: object) -> None:
        """``later_on(env)(delay, callback, self)``; compiled, a C call on this module's
        environment (the most frequent call of a morning)."""
        if self._calendar is not None:
            self._calendar.call_later(delay, callback, self)
        else:
            self._later(delay, callback, self)

    def succeed(self, value: object = None) -> None:
        """Answer the walk waiting on :data:`ANSWER`: it goes on with `value` now,
        after the events already due now, as if a SimPy event it waited for had
        succeeded with `value` now."""
        self._answer = value
        self._call_later(0.0, _ANSWERED)

    def _answered(self) -> None:
        value, self._answer = self._answer, None
        self.go(value)

    def resume(self, event: object = None) -> None:
        """Go on when `event` is processed (with its value), or now (with None)."""
        self.go(None if event is None else event._value)

    def go(self, value: object = None) -> None:
        """Send `value` in and run the generator until it waits."""
        send = self._send
        while True:
            try:
                target = send(value)
            except StopIteration:
                return
            if type(target) is float:  # a pause
                self._call_later(target, _GO_ON)  # Walk.go(self): no bound method to make
                return
            if target is ANSWER:  # someone will call succeed
                return
            if not isinstance(target, Event):
                raise _wrong_yield(send, target)
            if target.callbacks is not None:  # not processed yet: wait for it
                target.callbacks.append(self.resume)
                return
            value = target._value  # processed already: go on at once


_GO_ON = Walk.go
_ANSWERED = Walk._answered


def _wrong_yield(send: Callable[[Any], Any], target: object) -> TypeError:
    """The error of a walk whose generator (`send` is its ``send``) yielded `target`,
    which is not in the yield protocol (see :class:`Walk`): said at once, naming the
    generator and what it yielded, rather than an ``AttributeError`` later."""
    generator = getattr(send, "__self__", None)
    name = getattr(generator, "__qualname__", "a walk's generator")
    return TypeError(
        f"{name} yielded {target!r} ({type(target).__name__}): a walk's generator yields "
        "a float (a pause, in seconds), ANSWER (a wait for the walk's succeed) or a "
        "SimPy event (a wait for it)"
    )


def walk_from_the_start(env: simpy.Environment, generator: Generator) -> None:
    """Start `generator` as a :class:`Walk` when the run starts (as ``env.process``
    would: not while the model is still being built)."""
    call_later(env, 0.0, Walk(env, generator).go)
