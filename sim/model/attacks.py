"""Attackers: waves of application-layer floods on a service, or volumetric floods on
an edge link.

An application flood sends `rate_per_s` requests per second from `bots` addresses, each
request costing `cost` times a normal one. At one-to-one scale that is thousands of
requests per second for tens of minutes, far too many to simulate one event each next
to the people, and most of them are turned away anyway: a service can only serve its
capacity. Attack requests therefore *arrive* in **batches**: a Poisson stream of batches
of ``batch`` requests at ``rate_per_s / batch`` batches per second, with ``batch =
ceil(rate / MAX_BATCHES_PER_S)`` (slow attacks arrive one by one). A batch is filtered
by the defences (each request independently: binomial thinning, or the bots' combined
token bucket), then takes every free worker and backlog place; the rest of it stays
pending until the next batch and takes every worker or place that frees up meanwhile,
as a continuous stream would; what is left then was rejected. Queued attack requests
are stored as runs (one queue entry for many identical requests) but *served* one by
one, so the work, the backlog occupancy and the waits of legitimate requests behind
them are those of individual requests. The cost of a flood is then one event per
attack request *served* (bounded by capacity) plus `MAX_BATCHES_PER_S` per second,
whatever the attack rate; benchmarks/bench_attacks.py measures both the speed and the
difference from simulating every request one by one.

A volumetric flood adds `gbps` to its link while it lasts; the link then loses the share
of traffic above its capacity (see :class:`sim.model.defences.EdgeLink`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from sim.config import clock_to_s
from sim.config.platform_schema import AttackGenerator, AttackWave
from sim.config.scenario import Scenario
from sim.engine.dists import Exponential, from_spec, sampler
from sim.model.defences import EdgeLink, Scrubber
from sim.model.services import Service

MAX_BATCHES_PER_S = 100.0


@dataclass(frozen=True)
class Wave:
    """One attack wave, with clock times in seconds."""

    name: str
    kind: str
    target: str
    start: float
    end: float
    rate_per_s: float
    gbps: float
    bots: int
    cost: float


def waves_of(scenario: Scenario, rng: np.random.Generator) -> list[Wave]:
    """Every attack wave of the scenario: explicit ones, then generated ones, by start."""
    waves = [_explicit(w) for w in scenario.attacks]
    for generator in scenario.attack_generators:
        waves.extend(_generate(generator, rng))
    return sorted(waves, key=lambda w: (w.start, w.name))


def _explicit(w: AttackWave) -> Wave:
    start = clock_to_s(w.start)
    return Wave(
        w.name,
        w.kind,
        w.target,
        start,
        start + 60.0 * w.duration_min,
        w.rate_per_s,
        w.gbps,
        w.bots,
        w.cost,
    )


def _generate(g: AttackGenerator, rng: np.random.Generator) -> list[Wave]:
    """Starts uniform between `first` and `last`; intensity grows by `growth` per wave."""
    starts = np.sort(rng.uniform(clock_to_s(g.first), clock_to_s(g.last), g.waves))
    durations = from_spec(g.duration).sample(rng, g.waves)
    return [
        Wave(
            f"{g.name}#{i + 1}",
            g.kind,
            g.target,
            float(start),
            float(start + duration),
            g.rate_per_s * g.growth**i,
            g.gbps * g.growth**i,
            g.bots,
            g.cost,
        )
        for i, (start, duration) in enumerate(zip(starts, durations, strict=True))
    ]


def batch_size(rate_per_s: float) -> int:
    return max(1, math.ceil(rate_per_s / MAX_BATCHES_PER_S))


def application_flood(
    env: simpy.Environment,
    wave: Wave,
    service: Service,
    scrubber: Scrubber | None,
    rng: np.random.Generator,
):
    """Send the wave's requests to `service` in Poisson-timed batches."""
    if wave.start > env.now:
        yield env.timeout(wave.start - env.now)
    if scrubber is not None:
        scrubber.attack(wave.start, wave.end)
    if service.guards is not None:
        service.guards.bots = wave.bots
    if wave.rate_per_s <= 0:
        return
    batch = batch_size(wave.rate_per_s)
    gaps = sampler(Exponential(batch / wave.rate_per_s), rng)
    t = env.now + gaps()
    while t < wave.end:
        yield env.timeout(t - env.now)
        t_next = t + gaps()
        # one by one, a request that finds no room is rejected at once (exact); a batch
        # stands for requests spread until the next batch (see the module docstring)
        until = env.now if batch == 1 else min(t_next, wave.end)
        service.submit_attack(batch, wave.cost, until=until, rate=wave.rate_per_s)
        t = t_next
    yield env.timeout(wave.end - env.now)
    service.expire_attack()


def volumetric_flood(env: simpy.Environment, wave: Wave, link: EdgeLink):
    """Add the wave's traffic to `link` for its duration."""
    if wave.start > env.now:
        yield env.timeout(wave.start - env.now)
    if link.scrubber is not None:
        link.scrubber.attack(wave.start, wave.end)
    link.attack_gbps += wave.gbps
    yield env.timeout(wave.end - env.now)
    link.attack_gbps -= wave.gbps
