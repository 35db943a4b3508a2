"""Assemble a runnable model from a validated, expanded scenario (:class:`FlatScenario`).

``build(env, scenario, streams, recorder)`` wires services, classrooms, the population
and the arrival processes into `env`; ``Model.run()`` then simulates the morning. The
model reads only its arguments: it knows nothing of files, plots or the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from sim.config import clock_to_s
from sim.config.platform_schema import Behaviour, ClassStep, SessionStep
from sim.config.scenario import FlatScenario, OpenSource, require_flat
from sim.engine.dists import Draw, Exponential, from_spec, sampler, uniform_sampler
from sim.engine.kernel import walk_from_the_start
from sim.engine.monitor import Recorder
from sim.engine.rng import Stream, Streams
from sim.model.classrooms import Klass
from sim.model.people import (
    Chorus,
    Habits,
    Newcomers,
    NoRequests,
    OwnClocks,
    PersonTable,
    SilentRequests,
    World,
    arrive_at_rates,
    flush_live,
    habits_from,
    set_off_in_turn,
)
from sim.model.platform import Platform, build_platform
from sim.model.population import Population, build_population
from sim.model.services import Service

if TYPE_CHECKING:
    from sim.config.replay import Arrivals


@dataclass
class Model:
    env: simpy.Environment
    scenario: FlatScenario
    world: World
    population: Population
    platform: Platform
    n_cohort_people: int

    def run(self, until: float | None = None) -> None:
        """Simulate up to `until` (default: the scenario's end); may be called repeatedly."""
        end = self.scenario.end_s if until is None else min(until, self.scenario.end_s)
        if end > self.env.now:
            self.env.run(until=end)
        if end >= self.scenario.end_s:
            flush_live(self.world)


def build(
    env: simpy.Environment,
    scenario: FlatScenario,
    streams: Streams,
    recorder: Recorder,
    arrivals: Arrivals | None = None,
) -> Model:
    """The model of `scenario`, expanded (``scenario.flat``): a scenario with platforms
    as written names services the model does not have, so any other is refused.
    `arrivals`: the cohorts' people of a replayed log (:mod:`sim.config.replay`), read
    by the caller (the model reads no file)."""
    scenario = require_flat(scenario, "build()")
    platform = build_platform(env, scenario, streams, recorder)
    stays = _stays(env, scenario, streams, platform.services)
    population = build_population(scenario, streams.get(Stream.ARRIVALS, 0), arrivals)
    table = PersonTable()
    table.extend(population.group, population.intended, population.class_start)
    classes = [Klass(env, bool(needs)) for needs in population.class_needs_teacher]
    world = World(
        env,
        platform.services,
        platform.classrooms,
        classes,
        table,
        recorder,
        stays,
        live={},
        gates=platform.gates,
        session_caps=platform.session_caps,
    )
    _count_intended(recorder, population.intended)
    groups = [*scenario.cohorts, *scenario.sources]
    habits = [
        _habits(scenario.behaviour_of(group), index, streams) for index, group in enumerate(groups)
    ]
    walk_from_the_start(env, _cohort_arrivals(world, scenario, population, habits))
    for offset, source in enumerate(scenario.sources):
        index = len(scenario.cohorts) + offset
        rng = streams.get(Stream.ARRIVALS, 1 + offset)
        first_address = population.n_addresses
        walk_from_the_start(
            env, _open_arrivals(world, scenario, source, index, habits[index], rng, first_address)
        )
    return Model(env, scenario, world, population, platform, len(population.intended))


def _stays(
    env: simpy.Environment, scenario: FlatScenario, streams: Streams, services: dict[str, Service]
) -> dict[int, Any]:
    """What people do while they stay in a step, keyed by ``id(step)``: a class step's
    silent requests (:class:`sim.model.people.SilentRequests`), a session step's duration
    and silent requests. Each step draws from its own streams."""
    stays: dict[int, Any] = {}
    for index, step in enumerate(s for steps in scenario.journeys.values() for s in steps):
        rng = streams.get(Stream.THINK, index)
        if isinstance(step, ClassStep):
            service = services[step.in_class_service] if step.in_class_service else None
            stays[id(step)] = _silent_requests(env, service, step.think_time, rng, streams, index)
        elif isinstance(step, SessionStep):
            stays[id(step)] = SessionSamplers(
                sampler(from_spec(step.duration), rng),
                _silent_requests(
                    env,
                    services[step.service],
                    step.think_time,
                    streams.get(Stream.THINK, index, 1),
                    streams,
                    index,
                ),
            )
    return stays


def _silent_requests(
    env: simpy.Environment,
    service: Service | None,
    think_time: Any,
    rng: np.random.Generator,
    streams: Streams,
    index: int,
) -> SilentRequests:
    """One stream for the whole step where think times are exponential, else a clock
    per person (see :class:`sim.model.people.Chorus`)."""
    if service is None:
        return NoRequests()
    think = from_spec(think_time)
    if isinstance(think, Exponential):
        picks = uniform_sampler(streams.get(Stream.THINK, index, 2))
        return Chorus(env, service, sampler(think, rng), picks)
    return OwnClocks(env, service, sampler(think, rng))


@dataclass(frozen=True)
class SessionSamplers:
    duration: Draw
    requests: SilentRequests


def _habits(behaviour: Behaviour, index: int, streams: Streams) -> Habits:
    patience = sampler(from_spec(behaviour.patience), streams.get(Stream.PATIENCE, index))
    return habits_from(behaviour, patience, uniform_sampler(streams.get(Stream.RETRY, index)))


def _count_intended(recorder: Recorder, intended: np.ndarray) -> None:
    inside = intended[intended < recorder.end]
    bins = ((inside - recorder.start) // recorder.bin_s).astype(int)
    bins = np.clip(bins, 0, recorder.n_bins - 1)
    counts = np.bincount(bins, minlength=recorder.n_bins)
    recorder.counters["intended"] = counts.tolist()


def _cohort_arrivals(world: World, scenario: FlatScenario, pop: Population, habits: list[Habits]):
    """Start each cohort member's journey at their intended time (not before the start)."""
    cohorts = scenario.cohorts
    return set_off_in_turn(
        world,
        scenario.end_s,
        pop,
        roles=[c.role for c in cohorts],
        habits=habits,
        steps=[scenario.journeys[c.journey] for c in cohorts],
    )


def _open_arrivals(
    world: World,
    scenario: FlatScenario,
    source: OpenSource,
    group: int,
    habits: Habits,
    rng: np.random.Generator,
    first_address: int,
):
    """Poisson arrivals at a piecewise-constant rate; each arrival is a new person."""
    pieces = (
        [(scenario.start_s, source.rate_per_s)]
        if source.rate_per_s is not None
        else [(clock_to_s(p.start), p.rate_per_s) for p in source.rates]
    )
    return arrive_at_rates(
        world,
        pieces,
        scenario.end_s,
        sampler(Exponential(1.0), rng),
        Newcomers(group, source.role, habits, scenario.journeys[source.journey], first_address),
    )
