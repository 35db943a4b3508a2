"""Pre-flight checks: refuse a run that cannot fit in memory, or that would not end in
reasonable time (the event budget, at the end of this module), before it starts.

A run keeps one row per person for the whole morning, and every person on their way
(a journey, timers, queued requests) until they are done; people in a virtual class stay
until their lesson ends, so they are all there at once at the peak. Every service keeps
per-bin series for the whole span (counts, levels, a latency histogram, per time bin of
``measure.bin_s``: a minute by default), which a day of many services makes the largest
part. The rule:

    estimate = 165 MB + 320 B x people + 700 B x people whose journey has a class
                      + 2 kB x servers of services + 16 B x classroom servers
                      + 14 kB x attack waves + 4.7 kB x services x time bins
                      [+ 200 B x people for a trace (``--trace``, ``--access-log``)
                       + 80 B x silent requests if it keeps them (``--log-silent``)]

for each run in progress at once (MB are MiB; a service's servers are its autoscaling
ceiling if higher). The people terms are fitted on the table below; the servers and
waves terms are measured on ``tests/scenarios/surge.toml`` with a million login servers
(1.9 GB) or a million generated attack waves (13.2 GB). People are the cohorts' sizes
plus the expected arrivals of the open sources (rate x time). It is fitted on the peak
resident memory of ``sim run`` (``/usr/bin/time``; docs/performance.md); measured again
since, on the engine with compact calendar entries, which uses a little less (the fit
kept); the estimates include the services x bins term, added after the fit:

======================================  =========  ==========  ========  ========
run                                     people     with class  measured  estimate
======================================  =========  ==========  ========  ========
``default.toml``                          102,000      92,000    223 MB    260 MB
``default.toml --scale 4``                408,000     368,000    512 MB    538 MB
``2021-04-06.toml --scale 0.02``          110,799       6,600    210 MB    245 MB
``2021-04-06.toml`` (one-to-one)        5,540,030     330,000  1,922 MB  2,120 MB
======================================  =========  ==========  ========  ========

The services x bins term is not fitted: it counts the bytes the code keeps per
service per time bin (:data:`BYTES_PER_SERVICE_BIN`), and is checked against runs of
up to 200 services over a whole day (``benchmarks/bench_memory.py``: 1.3 GB measured for
200 services from 00:00 to 23:59, where the estimate without the term was 181 MB).

Runs in a local process pool each hold their own run, so ``n`` processes need ``n``
times the estimate (a Dask cluster's memory is not known here and is not checked). Long
sessions (``kind = "session"`` steps lasting hours) keep people longer than the
calibration runs did and may need more.

The estimate is compared with the memory available now (``MemAvailable`` of
``/proc/meminfo``, bounded by a container's cgroup v2 limit; elsewhere the free physical
memory from ``os.sysconf``; when none is known, nothing is checked). The environment
variable ``SIM_MEMORY_LIMIT_MB`` replaces that figure (a planner who knows the machine
better, or a run meant to use swap); ``SIM_MEMORY_LIMIT_MB=0`` turns the check off.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from sim.config import (
    ClassStep,
    Cohort,
    FlatScenario,
    OpenSource,
    RequestStep,
    SessionStep,
    clock_to_s,
)
from sim.config.scenario import require_flat
from sim.engine.dists import from_spec
from sim.engine.monitor import N_BUCKETS
from sim.engine.trace import BYTES_PER_SILENT_ROW, TRACE_BYTES_PER_PERSON

BASE_MB = 165.0
"""Interpreter, NumPy, SimPy, pyarrow and matplotlib (the dashboard), and the people's
per-minute counters (under 2 MB for a whole day; the services' per-minute series are a
term of their own). Measured 2026-12-07: a 70-person run (``tests/scenarios/surge.toml``)
peaks at 103 MB without its dashboard and 149 MB with it, and a whole day of one service
with its dashboard 167 MB (``benchmarks/bench_memory.py``). It was 180 MB while every
run imported scipy, then pandas (for pyarrow): neither is imported by a run now."""
BYTES_PER_PERSON = 320.0
"""A person's row, and their journey while they are on their way."""
BYTES_PER_CLASS_PERSON = 700.0
"""More for a person with a class: they stay in the model, with their timers, until the
lesson ends, so at the peak they are all there at once."""
BYTES_PER_SERVER = 2000.0
"""A server of a service: its queue, workers and counters."""
BYTES_PER_CLASSROOM_SERVER = 16.0
"""A classroom server: its count of seats taken."""
BYTES_PER_WAVE = 14_000.0
"""An attack wave: its arrival process and its filtering state."""

# What a service keeps per time bin of the span (sim/engine/monitor.py's ServiceRecord), counted
# from the code, not fitted; tests/robustness/test_memory.py checks the counts.
COUNT_SERIES = 18
"""Per-bin counts of a service: arrivals, served, abandoned... (lists of ints)."""
LEVEL_SERIES = 6
"""Per-bin time-weighted levels: queue, busy, up workers, servers up and down, sessions."""
WRITTEN_SERIES = 21
"""Per-service columns of timeseries.csv (:func:`sim.outputs.run_folder.timeseries_rows`)..."""
COMPUTED_SERIES = 3
"""... of which the latency percentiles (p50, p95, p99) are arrays computed for it."""
SLOT = 8
"""A list's slot (a pointer), or an element of an int64 or float64 array."""
LIST_OBJECT = 80
"""A list of its own (a bin's latency histogram): its header (56 B with the cyclic
collector's, 64 as allocated) and the allocator's 16 B on its block of slots."""
BOXED_FLOAT = 24
"""A level's area, a float of its own once the level is not zero (servers up: always).
A count above 256 is an int of its own too, not counted: it takes more than 256
requests, which the people and waves terms pay for many times over."""
CELL_TEXT = 64
"""A cell of timeseries.csv while its rows are built: a str of up to 15 characters
(49 B and its length, allocated in 16-byte steps). A latency of a minute without
requests is the empty string, shared: counted anyway."""
BYTES_PER_SERVICE_BIN = (
    # while the run goes: the latency histogram is a list per bin, the others a slot
    LIST_OBJECT
    + N_BUCKETS * SLOT
    + COUNT_SERIES * SLOT
    + LEVEL_SERIES * (SLOT + BOXED_FLOAT)
    # at the end (Recorder.finish), their numpy copies, made while the lists still exist
    + (N_BUCKETS + COUNT_SERIES + LEVEL_SERIES) * SLOT
    # then timeseries.csv's rows as text (store.timeseries_rows): the lists are freed by
    # then, but their blocks are not reused for the strings, so the peak holds all three
    + COMPUTED_SERIES * SLOT
    + WRITTEN_SERIES * (SLOT + CELL_TEXT)
)
"""5,024 B: 1,856 while the run goes, 1,632 for the arrays, 1,536 for the text (4,736 B
before the session and error series of the service knobs; measured then, in one
process, 200 services over a day with 100 people: 1,789, 1,638 and 841; in all, with the
dashboard and 100,000 people, 1,380 MiB where the estimate says 1,511)."""
LIMIT_ENV = "SIM_MEMORY_LIMIT_MB"
MB = 1024 * 1024


class MemoryCheckError(ValueError):
    """A run would not fit in memory (or the limit is unreadable); one line for the user."""


def people(scenario: FlatScenario) -> float:
    """People in the morning: cohort sizes plus the expected arrivals of open sources."""
    start, end = scenario.start_s, scenario.end_s
    try:
        total = float(sum(cohort.count for cohort in scenario.cohorts))
    except OverflowError:
        return math.inf
    for source in scenario.sources:
        if source.rate_per_s is not None:
            total += source.rate_per_s * (end - start)
            continue
        pieces = source.rates or []
        froms = [clock_to_s(piece.start) for piece in pieces]
        for piece, begin, until in zip(pieces, froms, [*froms[1:], end], strict=True):
            total += piece.rate_per_s * max(0.0, min(until, end) - max(begin, start))
    return total


def class_people(scenario: FlatScenario) -> int:
    """Members of cohorts whose journey has a class step."""
    flat = require_flat(scenario, "class_people()")  # a platform cohort: its own journey
    return sum(
        cohort.count
        for cohort in flat.cohorts
        if any(isinstance(step, ClassStep) for step in flat.journeys[cohort.journey])
    )


def servers(scenario: FlatScenario) -> tuple[int, int]:
    """Servers of the services (at their autoscaling ceiling) and classroom servers."""
    flat = require_flat(scenario, "servers()")
    services = sum(
        max(s.servers, s.autoscale.max_servers if s.autoscale else 0)
        for s in flat.services.values()
    )
    return services, sum(room.servers for room in flat.classrooms.values())


def waves(scenario: FlatScenario) -> int:
    """Attack waves: the explicit ones and those the generators will draw."""
    return len(scenario.attacks) + sum(g.waves for g in scenario.attack_generators)


def service_bins(scenario: FlatScenario) -> tuple[int, int]:
    """Services (a platform's each counted) and the time bins of the span: each service
    keeps its series for every bin (:data:`BYTES_PER_SERVICE_BIN`)."""
    flat = require_flat(scenario, "service_bins()")
    return len(flat.services), flat.bins


def service_bins_mb(scenario: FlatScenario) -> float:
    """The services x bins term of the estimate, in MiB."""
    services, bins = service_bins(scenario)
    return BYTES_PER_SERVICE_BIN * services * bins / MB


def estimate_mb(scenario: FlatScenario, trace: str = "") -> float:
    """Peak memory of one run of `scenario`, in MiB (see the module's rule); infinite
    for counts beyond any float. With `trace` (``"waited"``, or ``"silent"`` for the
    silent requests too), the trace's memory added (:func:`trace_mb`)."""
    if trace:
        try:
            kept = trace_mb(scenario, silent=trace == "silent")
        except OverflowError:
            return math.inf
        return estimate_mb(scenario) + kept
    service_servers, room_servers = servers(scenario)
    try:
        total = (
            BYTES_PER_PERSON * people(scenario)
            + BYTES_PER_CLASS_PERSON * class_people(scenario)
            + BYTES_PER_SERVER * service_servers
            + BYTES_PER_CLASSROOM_SERVER * room_servers
            + BYTES_PER_WAVE * waves(scenario)
        )
    except OverflowError:  # a count of 10**400, say
        return math.inf
    return BASE_MB + total / MB + service_bins_mb(scenario)


def available_mb() -> float | None:
    """Memory this process may still use, in MiB: ``SIM_MEMORY_LIMIT_MB`` if set (0: no
    limit, returned as None), else what the system says is available; None if unknown."""
    text = os.environ.get(LIMIT_ENV, "").strip()
    if text:
        try:
            limit = float(text)
        except ValueError:
            limit = -1.0
        if not limit >= 0 or limit == float("inf"):
            raise MemoryCheckError(
                f"{LIMIT_ENV} must be a number of MB (0 turns the memory check off), got {text!r}"
            )
        return limit or None
    return _system_available_mb()


def _system_available_mb() -> float | None:
    found = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found = int(line.split()[1]) / 1024  # kB
                break
    except (OSError, ValueError, IndexError):
        pass
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / MB
        except (AttributeError, ValueError, OSError):
            return None
    cgroup = _cgroup_room_mb()
    return found if cgroup is None else min(found, cgroup)


def _cgroup_room_mb() -> float | None:
    """Room left under a container's memory limit (cgroup v2), if there is one."""
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((root / "memory.current").read_text().strip())
        return max(0, int(limit) - used) / MB
    except (OSError, ValueError):
        return None


def check_memory(scenarios: Iterable[FlatScenario], at_once: int = 1, trace: str = "") -> None:
    """Raise :class:`MemoryCheckError` if `at_once` runs of the largest of `scenarios`
    would need more memory than is available (see the module for the rule; `trace` as
    for :func:`estimate_mb`)."""
    sizes = [(estimate_mb(scenario, trace), scenario) for scenario in scenarios]
    if not sizes:
        return
    available = available_mb()
    if available is None:
        return
    one, largest = max(sizes, key=lambda size: size[0])
    need = one * at_once
    if need <= available:
        return
    runs = f"{at_once} runs at once, {_size(one)} each" if at_once > 1 else "one run"
    service_servers, room_servers = servers(largest)
    size = f"{_count(people(largest))} people, {_count(service_servers + room_servers)} servers"
    if waves(largest):
        size += f", {_count(waves(largest))} attack waves"
    if trace == "silent" and trace_mb(largest, silent=True) >= 0.25 * one:  # ditto
        size += f", a trace of {_count(silent_requests(largest))} silent requests (--log-silent)"
    services, bins = service_bins(largest)
    if service_bins_mb(largest) >= 0.25 * one:  # a large part: say why
        width = largest.measure.bin_s
        size += f", {services:,} services x {bins:,} " + (
            "minutes" if width == 60 else f"time bins of {width} s"
        )
    hint = (
        f"use --jobs {int(available // one)}"
        if at_once > 1 and one <= available
        else "make it smaller (--scale below 1, fewer people, servers, services or waves, "
        "or a shorter span)"
    )
    raise MemoryCheckError(
        f"not enough memory: {largest.name} needs {_about(need)} ({runs}; {size}) "
        f"but {_size(available)} is available; {hint}, "
        f"or set {LIMIT_ENV} to override the limit"
    )


def _count(n: float) -> str:
    return f"{n:,.0f}" if n < 1e15 else "more than 10^15"


def _about(mb: float) -> str:
    return "more than a million TB" if mb >= 1024**4 else f"about {_size(mb)}"


def _size(mb: float) -> str:
    return f"{mb / 1024:,.1f} GB" if mb >= 1024 else f"{mb:,.0f} MB"


# ---------------------------------------------------------------- event budget

EVENT_LIMIT_ENV = "SIM_EVENT_LIMIT"
EVENT_BUDGET = 2e9
"""Events one run may be expected to generate: at the engine's ~60,000 events/s
(docs/performance.md) about 9 hours on one core. The largest shipped morning,
``2021-04-06.toml`` one-to-one, is about 1.4e8 (measured) and its estimate stays well
below; a run estimated beyond is a typo (a rate of 1e308, a think time of a
microsecond) or needs a bigger machine and ``SIM_EVENT_LIMIT``."""
EVENTS_PER_ATTEMPT = 4.0
"""Events of one request attempt: arrival, queueing, service, patience timer, reply,
backoff; fitted on the calibration runs (see :func:`estimate_events`)."""
ATTEMPTS_PER_REQUEST = 1.5
"""Attempts per request of a journey: most succeed first time, some retry."""
EVENTS_PER_TICK = 2.0
"""Events of one silent request of a person in class or in a session (its think time
and its service), sent without a reply event."""
EVENTS_PER_ATTACK_REQUEST = 1.0
"""An attack request costs at most one event (batched: one per request served)."""


class EventBudgetError(MemoryCheckError):
    """A run would generate more events than the budget (it would not end in reasonable
    time); a :class:`MemoryCheckError` so that every command's pre-flight check catches
    it alike: one line, exit 2."""


def event_terms(scenario: FlatScenario) -> list[tuple[float, str]]:
    """The expected events of one run of `scenario`, term by term, each with what causes
    it (for the message): the people's requests and retries, the silent requests of
    lessons and sessions, the attack requests. Infinite where a count is beyond floats."""
    flat = require_flat(scenario, "event_terms()")
    span = max(0.0, flat.end_s - flat.start_s)
    terms: list[tuple[float, str]] = []
    groups = [*flat.cohorts, *flat.sources]
    for group in groups:
        n = _group_people(flat, group, span)
        steps = flat.journeys.get(group.journey, [])
        behaviour = flat.behaviour_of(group)
        requests = sum(
            1 for step in steps if isinstance(step, RequestStep | ClassStep | SessionStep)
        )
        attempts = min(float(behaviour.max_attempts), ATTEMPTS_PER_REQUEST)
        events = n * requests * attempts * EVENTS_PER_ATTEMPT
        kind = "cohort" if isinstance(group, Cohort) else "source"
        plural = "request" if requests == 1 else "requests"
        who = f"{kind} {group.name!r}: {_count(n)} people"
        terms.append((events, f"{who} x {requests} {plural} (x {attempts:g} attempts)"))
        for stay, think, what in _silent_stays(steps, span):
            ticks = n * stay / think
            terms.append(
                (
                    ticks * EVENTS_PER_TICK,
                    f"{who} x a request every {think:g} s for {stay:,.0f} s of {what}",
                )
            )
    for attack in flat.attacks:
        if attack.kind == "application":
            seconds = _within(flat, clock_to_s(attack.start), attack.duration_min * 60.0)
            terms.append(
                (
                    attack.rate_per_s * seconds * EVENTS_PER_ATTACK_REQUEST,
                    f"attack {attack.name!r}: {attack.rate_per_s:g} requests/s "
                    f"for {seconds:,.0f} s",
                )
            )
    for gen in flat.attack_generators:
        if gen.kind == "application":
            seconds = min(from_spec(gen.duration).mean, span)  # a wave ends with the run
            ratio = gen.growth
            waves = gen.waves
            with np.errstate(over="ignore"):
                series = float(
                    waves
                    if ratio == 1.0
                    else (np.float64(ratio) ** waves - 1.0) / (np.float64(ratio) - 1.0)
                )
            sent = gen.rate_per_s * seconds * series
            terms.append(
                (
                    sent * EVENTS_PER_ATTACK_REQUEST,
                    f"attack generator {gen.name!r}: {waves} waves of {gen.rate_per_s:g} "
                    f"requests/s growing x{gen.growth:g} per wave",
                )
            )
    return [(value if value == value else math.inf, what) for value, what in terms]


def _silent_stays(steps: list, span: float) -> Iterator[tuple[float, float, str]]:
    """(stay, mean think time, "lesson" or "session") of each step of a journey where
    people make silent requests: a lesson with an in-class service, a session; a stay
    at most the run's `span`."""
    for step in steps:
        if isinstance(step, ClassStep) and step.in_class_service is not None:
            stay, what = min(step.lesson_min * 60.0, span), "lesson"
        elif isinstance(step, SessionStep):
            stay, what = min(from_spec(step.duration).mean, span), "session"
        else:
            continue
        yield stay, from_spec(step.think_time).mean, what


def silent_requests(scenario: FlatScenario) -> float:
    """The silent requests one run of `scenario` is expected to make (a request every
    think time, for everyone, for their whole lesson or session): the rows they add to
    a trace (``sim run --log-silent``). At most: people who never get in make none."""
    flat = require_flat(scenario, "silent_requests()")
    span = max(0.0, flat.end_s - flat.start_s)
    total = 0.0
    for group in [*flat.cohorts, *flat.sources]:
        n = _group_people(flat, group, span)
        steps = flat.journeys.get(group.journey, [])
        total += math.fsum(n * stay / think for stay, think, _ in _silent_stays(steps, span))
    return total if total == total else math.inf


def trace_mb(scenario: FlatScenario, silent: bool = False) -> float:
    """Memory of the trace of one run of `scenario` (``sim run --trace`` or
    ``--access-log``), in MiB: the requests people wait for, and with `silent` the
    silent requests too (:mod:`sim.engine.trace`)."""
    total = TRACE_BYTES_PER_PERSON * people(scenario)
    if silent:
        total += BYTES_PER_SILENT_ROW * silent_requests(scenario)
    return total / MB


def _within(flat: FlatScenario, start: float, seconds: float) -> float:
    """The part of `seconds` from `start` that falls inside the run: an attack that
    outlasts the morning (``duration_min = 1e18``) sends nothing after its end."""
    return max(0.0, min(start + seconds, flat.end_s) - max(start, flat.start_s))


def _group_people(flat: FlatScenario, group: object, span: float) -> float:
    if isinstance(group, Cohort):
        return float(group.count)
    source = group  # an open source: its expected arrivals
    assert isinstance(source, OpenSource)
    if source.rate_per_s is not None:
        return source.rate_per_s * span
    pieces = source.rates or []
    froms = [clock_to_s(piece.start) for piece in pieces]
    total = 0.0
    for piece, begin, until in zip(pieces, froms, [*froms[1:], flat.end_s], strict=True):
        total += piece.rate_per_s * max(0.0, min(until, flat.end_s) - max(begin, flat.start_s))
    return total


def estimate_events(scenario: FlatScenario) -> float:
    """Events one run of `scenario` is expected to generate (:func:`event_terms`)."""
    return math.fsum(value for value, _ in event_terms(scenario))


def event_budget() -> float | None:
    """``SIM_EVENT_LIMIT`` if set (0: no budget, returned as None), else
    :data:`EVENT_BUDGET`."""
    text = os.environ.get(EVENT_LIMIT_ENV, "").strip()
    if not text:
        return EVENT_BUDGET
    try:
        limit = float(text)
    except ValueError:
        limit = -1.0
    if not limit >= 0 or limit == math.inf:
        raise EventBudgetError(
            f"{EVENT_LIMIT_ENV} must be a number of events (0 turns the budget off), got {text!r}"
        )
    return limit or None


def check_events(scenarios: Iterable[FlatScenario]) -> None:
    """Raise :class:`EventBudgetError` if a run of one of `scenarios` would generate more
    events than the budget: such a run would not end in reasonable time (hours per
    billion events), and is refused before it starts, naming its largest cause."""
    budget = event_budget()
    if budget is None:
        return
    for scenario in scenarios:
        terms = event_terms(scenario)
        total = math.fsum(value for value, _ in terms)
        if total <= budget:
            continue
        _, cause = max(terms, key=lambda term: term[0])
        raise EventBudgetError(
            f"{scenario.name} would not end in reasonable time: {_events(total)} events "
            f"(largest cause {cause}), more than the budget of {_sci(budget)} "
            f"(set {EVENT_LIMIT_ENV} to change it, 0 to turn it off)"
        )


def _events(n: float) -> str:
    return "more than 1e300" if not n < 1e300 else f"about {_sci(n)}"


def _sci(n: float) -> str:
    """``2e9`` for 2e+09: the way a reader writes it in ``SIM_EVENT_LIMIT``."""
    mantissa, _, exponent = f"{n:.0e}".partition("e")
    return f"{mantissa}e{int(exponent)}"
