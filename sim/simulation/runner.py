"""One run: build the model from a scenario, simulate the morning, collect the results.

:func:`run` is the single function through which everything else (CLI, experiments,
tests, benchmarks) calls the model.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from sim.config.replay import Arrivals, replay_arrivals
from sim.config.scenario import FlatScenario, Scenario, require_flat
from sim.engine.kernel import Environment
from sim.engine.monitor import Recorder, ServiceSeries
from sim.engine.rng import Stream, Streams
from sim.engine.trace import Trace, trace_names
from sim.measure import kpis as analysis
from sim.model.attacks import Wave
from sim.model.build import build

ProgressCallback = Callable[[float, float, float], None]
"""Called as ``progress(now_s, start_s, end_s)`` while the run advances."""

PROGRESS_STEP_S = 300.0  # simulated seconds between progress reports


@dataclass
class RunResult:
    """Everything one run measured, as plain arrays and numbers.

    `scenario` is the scenario the model ran, with platforms expanded (service names such
    as ``occitanie/login``); `source` is the scenario as written, platforms and all.
    """

    scenario: FlatScenario
    source: Scenario
    seed: int
    replication: int
    bin_start_s: np.ndarray  # clock time (s since midnight) of each time bin's start
    counters: dict[str, np.ndarray]  # per-bin people-level counts (see monitor)
    in_lesson: np.ndarray  # per-bin mean number of people seated in a lesson
    services: dict[str, ServiceSeries]
    people: dict[str, np.ndarray]  # one row per person (see PersonTable.COLUMNS)
    group_names: list[str]
    group_roles: list[str]
    attack_waves: list[Wave]
    events: int
    wall_s: float
    trace: dict[str, np.ndarray] | None = None  # with run(trace=True): one row per request
    trace_services: list[str] = field(default_factory=list)  # names by the trace's numbers
    addresses: np.ndarray | None = None  # with run(trace=True): each person's source address
    kpi: dict[str, Any] = field(default_factory=dict)
    service_summary: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def bin_s(self) -> int:
        """The width of the time-series bins (s): the scenario's ``measure.bin_s``."""
        return self.scenario.measure.bin_s


DIGESTED = ("events", "kpi", "people", "counters", "in_lesson", "services", "trace")

LATER_MEASURES = frozenset({"errors", "sessions_refused", "mean_sessions", "peak_sessions"})
"""Measures of a service added after digests were first compared (the service knobs
error_probability and max_sessions): left out of the digest while they are all zero,
so that a run which does not use those knobs keeps the digest it had before them."""


def digest(result: RunResult) -> str:
    """A SHA-256 of everything `result` measured (not its wall time): two runs with the
    same digest simulated the same morning, bit for bit. How a build of the engine
    (compiled, or sped up) is checked to change nothing."""
    sha = hashlib.sha256()

    def feed(name: str, value: Any) -> None:
        sha.update(name.encode())
        if isinstance(value, np.ndarray):
            sha.update(f"{value.dtype}{value.shape}".encode())
            sha.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, dict):
            for key in sorted(value):
                feed(f"{name}.{key}", value[key])
        elif is_dataclass(value):
            for f in fields(value):
                part = getattr(value, f.name)
                if f.name not in LATER_MEASURES or np.any(part):
                    feed(f"{name}.{f.name}", part)
        else:
            sha.update(repr(value).encode())

    for name in DIGESTED:
        feed(name, getattr(result, name))
    return sha.hexdigest()


def run(
    scenario: FlatScenario,
    seed: int | None = None,
    replication: int = 0,
    progress: ProgressCallback | None = None,
    trace: bool = False,
    trace_silent: bool = False,
) -> RunResult:
    """Simulate `scenario`, expanded (``scenario.flat``), once; `seed` defaults to the
    scenario's own. With `trace`, keep one row per request a person waited for
    (:mod:`sim.engine.trace`); with `trace_silent` (which implies `trace`), also one
    per silent request, and the trace's ``silent`` column."""
    scenario = require_flat(scenario, "run()")
    seed = scenario.seed if seed is None else seed
    wall0 = time.perf_counter()
    env = Environment(initial_time=scenario.start_s)
    recorder = Recorder(
        scenario.start_s,
        scenario.end_s,
        60.0 * scenario.measure.warmup_min,
        bin_s=float(scenario.measure.bin_s),
    )
    streams = Streams(seed, replication)
    arrivals = replay_arrivals(scenario, replay_stream(scenario, streams))  # at the edge
    scenario = with_replayed_counts(scenario, arrivals)
    model = build(env, scenario, streams, recorder, arrivals)
    trace = trace or trace_silent
    kept = _attach_trace(model.platform, trace_silent) if trace else None
    _simulate(model, progress)
    events = env.scheduled() - env.pending()
    env.clear()  # the morning is over: its pending events refer to the whole model
    services = recorder.finish()
    for name, service in model.platform.services.items():
        services[name].in_system_at_end = service.in_system()
    groups = [*scenario.cohorts, *scenario.sources]
    result = RunResult(
        scenario=scenario,
        source=scenario.source,
        seed=seed,
        replication=replication,
        bin_start_s=recorder.bin_starts(),
        counters={k: np.asarray(v) for k, v in recorder.counters.items()},
        in_lesson=recorder.in_lesson.close(scenario.end_s),
        services=services,
        people=model.world.table.to_numpy(),
        group_names=[g.name for g in groups],
        group_roles=[g.role for g in groups],
        attack_waves=model.platform.waves,
        events=int(events),
        wall_s=0.0,
        trace=kept.to_numpy() if kept is not None else None,
        trace_services=kept.services if kept is not None else [],
    )
    if trace:
        result.addresses = person_addresses(model.population, len(result.people["group"]))
    result.kpi = analysis.kpis(result)
    result.service_summary = analysis.service_summary(result)
    result.wall_s = time.perf_counter() - wall0
    return result


def replay_stream(scenario: Scenario, streams: Streams) -> np.random.Generator | None:
    """The stream a scaled replay keeps its sample of the log's people with; None for
    any other run (which so spawns nothing more than before)."""
    if scenario.replay is None or scenario.scale == 1:
        return None
    return streams.get(Stream.REPLAY)


def with_replayed_counts(scenario: FlatScenario, arrivals: Arrivals | None) -> FlatScenario:
    """`scenario` with its cohorts' counts those of a scaled replay's sample (its own
    counts are expected numbers); the same scenario for any other run. The change is
    made to the scenario as written, then expanded again (an expansion is not changed)."""
    if arrivals is None or scenario.scale == 1:
        return scenario
    source = scenario.source
    cohorts = [
        cohort.model_copy(update={"count": len(times)})
        for cohort, times in zip(source.cohorts, arrivals.intended, strict=True)
    ]
    return source.model_copy(update={"cohorts": cohorts}).flat


def person_addresses(population: Any, n_people: int) -> np.ndarray:
    """Each person's source address number, as the model gave it: a cohort member's
    from the population (people behind one NAT share it), an open source's arrival its
    own, numbered after the cohorts' (:mod:`sim.model.build`). For the access log."""
    n_cohort = len(population.address)
    arrivals = population.n_addresses + np.arange(n_cohort, n_people, dtype=np.int64)
    return np.concatenate([population.address.astype(np.int64), arrivals])


def _attach_trace(platform: Any, silent: bool = False) -> Trace:
    """A trace the services, their session caps and the admission gates write to,
    each under its number in the trace's names (:func:`trace_names`); with `silent`,
    the services trace silent requests too."""
    services, gates = platform.services, platform.gates
    trace = Trace(trace_names(list(services), list(gates)), silent)
    for index, name in enumerate(services):
        services[name].trace, services[name].index = trace, index
        if name in platform.session_caps:
            cap = platform.session_caps[name].gate
            cap.trace, cap.index = trace, index
    for index, gate in enumerate(gates.values(), start=len(services)):
        gate.trace, gate.index = trace, index
    return trace


def _simulate(model: Any, progress: ProgressCallback | None) -> None:
    """Run to the end in slices, reporting progress, with the cycle collector off."""
    scenario = model.scenario
    with cycle_collector_off():
        now = scenario.start_s
        while now < scenario.end_s:
            now = min(now + PROGRESS_STEP_S, scenario.end_s)
            model.run(until=now)
            if progress is not None:
                progress(now, scenario.start_s, scenario.end_s)


@contextmanager
def cycle_collector_off() -> Iterator[None]:
    """Python's cyclic garbage collector off while the morning runs.

    The model makes no reference cycles while it runs (tests/engine/test_cycles.py checks it on
    mornings with every kind of component): reference counting frees everything, and
    the collector's passes found nothing, yet they walked the millions of objects alive
    at each pass: a seventh of a national run (CHANGELOG.md, performance history). What was built
    before is frozen out of its sight; the collector is back as it was when the run ends.
    """
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()
