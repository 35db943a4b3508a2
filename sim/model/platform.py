"""Wire the platform side of a scenario: services with their defences, edge links,
admission gates, autoscalers, and the attackers aimed at them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.config import Service as ServiceSpec
from sim.config import clock_to_s
from sim.config.platform_schema import UslSlowdown
from sim.config.scenario import FlatScenario
from sim.engine.dists import Exponential, from_spec, sampler, uniform_sampler
from sim.engine.monitor import Recorder
from sim.engine.rng import Stream, Streams
from sim.model import attacks
from sim.model.classrooms import Classroom
from sim.model.defences import EdgeLink, Gate, RateLimiter, Scrubber, SessionCap, autoscaler
from sim.model.policies import CrashPolicy, Guards, Priority, linear_slowdown, usl_slowdown
from sim.model.services import Service


@dataclass
class Platform:
    services: dict[str, Service]
    classrooms: dict[str, Classroom]
    links: dict[str, EdgeLink]
    gates: dict[str, Gate]
    waves: list[attacks.Wave]
    session_caps: dict[str, SessionCap]


def build_platform(
    env: simpy.Environment, scenario: FlatScenario, streams: Streams, recorder: Recorder
) -> Platform:
    links = {
        name: EdgeLink(
            spec.capacity_gbps,
            spec.legit_gbps,
            Scrubber(env, spec.scrubbing) if spec.scrubbing else None,
        )
        for name, spec in scenario.links.items()
    }
    services = {}
    for index, (name, spec) in enumerate(scenario.services.items()):
        services[name] = _service(env, index, name, spec, scenario, streams, recorder, links)
        if spec.autoscale is not None:
            autoscaler(env, services[name], spec.autoscale)
    classrooms = {
        name: Classroom(name, spec.servers, spec.seats_per_server)
        for name, spec in scenario.classrooms.items()
    }
    gates = {name: Gate(env, name, spec) for name, spec in scenario.gates.items()}
    waves = attacks.waves_of(scenario, streams.get(Stream.ATTACKS, 0))
    _launch(env, waves, services, links, streams)
    session_caps = {
        name: SessionCap(env, name, spec.max_sessions, spec.session_timeout_s, recorder)
        for name, spec in scenario.services.items()
        if spec.max_sessions is not None
    }
    return Platform(services, classrooms, links, gates, waves, session_caps)


def _service(
    env: simpy.Environment,
    index: int,
    name: str,
    spec: ServiceSpec,
    scenario: FlatScenario,
    streams: Streams,
    recorder: Recorder,
    links: dict[str, EdgeLink],
) -> Service:
    record = recorder.add_service(name, spec.servers * spec.workers_per_server)
    return Service(
        env,
        name,
        spec.servers,
        spec.workers_per_server,
        spec.backlog_per_server,
        sampler(from_spec(spec.service_time), streams.get(Stream.SERVICE, index)),
        record,
        drop_abandoned=spec.drop_abandoned,
        dispatch=spec.dispatch,
        routing=uniform_sampler(streams.get(Stream.ROUTING, index)),
        slowdown=_slowdown(spec),
        crash=_crash(spec, streams, index),
        guards=_guards(env, spec, links, streams, index),
        attack_gaps=sampler(Exponential(1.0), streams.get(Stream.ATTACKS, 2, index)),
        priority=Priority(
            set(spec.priority.roles),
            clock_to_s(spec.priority.start),
            clock_to_s(spec.priority.until),
        )
        if spec.priority
        else None,
        **_flakiness(spec, streams, index),
    )


def _flakiness(spec: ServiceSpec, streams: Streams, index: int) -> dict[str, Any]:
    """The error draws and network round trips of a service, each from its own stream,
    and only where asked for: at their defaults, nothing is drawn."""
    knobs: dict[str, Any] = {}
    if spec.error_probability > 0:
        knobs["errors"] = uniform_sampler(streams.get(Stream.ERRORS, index))
        knobs["error_probability"] = spec.error_probability
    if spec.network_delay is not None:
        delay = from_spec(spec.network_delay)
        knobs["network"] = sampler(delay, streams.get(Stream.NETWORK, index))
    return knobs


def _slowdown(spec: ServiceSpec):
    if spec.slowdown is None:
        return None
    if isinstance(spec.slowdown, UslSlowdown):
        return usl_slowdown(spec.slowdown.alpha, spec.slowdown.beta)
    return linear_slowdown(spec.slowdown.knee, spec.slowdown.slope)


def _crash(spec: ServiceSpec, streams: Streams, index: int) -> CrashPolicy | None:
    if spec.crash is None:
        return None
    restart = sampler(from_spec(spec.crash.restart), streams.get(Stream.SERVICE, index, 1))
    return CrashPolicy(
        spec.crash.backlog_above,
        restart,
        spec.crash.detection_s,
        refuse_while_down=spec.crash.while_undetected == "refused",
    )


def _guards(
    env: simpy.Environment,
    spec: ServiceSpec,
    links: dict[str, EdgeLink],
    streams: Streams,
    index: int,
) -> Guards | None:
    link = links[spec.link] if spec.link else None
    if link is None and spec.scrubbing is None and spec.rate_limit is None:
        return None
    rng = streams.get(Stream.DEFENCES, index)
    limiter = (
        RateLimiter(spec.rate_limit.per_address_per_s, spec.rate_limit.burst)
        if spec.rate_limit
        else None
    )
    return Guards(
        uniform_sampler(rng),
        link=link,
        scrubber=Scrubber(env, spec.scrubbing) if spec.scrubbing else None,
        limiter=limiter,
        binomial=np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]).binomial,
    )


def _launch(
    env: simpy.Environment,
    waves: list[attacks.Wave],
    services: dict[str, Service],
    links: dict[str, EdgeLink],
    streams: Streams,
) -> None:
    for index, wave in enumerate(waves):
        if wave.kind == "application":
            service = services[wave.target]
            scrubber = service.guards.scrubber if service.guards else None
            rng = streams.get(Stream.ATTACKS, 1, index)
            env.process(attacks.application_flood(env, wave, service, scrubber, rng))
        else:
            env.process(attacks.volumetric_flood(env, wave, links[wave.target]))
