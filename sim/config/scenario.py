"""Schema of the population and of the whole scenario, with its consistency checks."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from sim.config.base import (
    MAX_PEOPLE,
    MAX_SERVERS,
    ClockTime,
    NonNegFloat,
    Probability,
    Strict,
    at_most,
    clock_to_s,
    count,
)
from sim.config.expand import flatten
from sim.config.platform_schema import (
    AttackGenerator,
    AttackWave,
    Behaviour,
    BehaviourPatch,
    Classroom,
    ClassStep,
    Gate,
    GateStep,
    Link,
    PlatformSpec,
    RequestStep,
    Service,
    SessionStep,
    Step,
    Template,
)

MAX_SEED = 2**63 - 1
"""Seeds are written to records and tables as 64-bit integers (pandas, CSV)."""

# ---------------------------------------------------------------- population


class NormalOffset(Strict):
    """Intended connect time = class start + Normal(mean_min, sd_min) minutes."""

    kind: Literal["normal"]
    mean_min: float
    sd_min: NonNegFloat


class UniformOffset(Strict):
    """Intended connect time = class start + Uniform(low_min, high_min) minutes."""

    kind: Literal["uniform"]
    low_min: float
    high_min: float

    @model_validator(mode="after")
    def _ordered(self) -> UniformOffset:
        if self.high_min < self.low_min:
            raise ValueError("high_min must be >= low_min")
        return self


ConnectSpec = Annotated[NormalOffset | UniformOffset, Field(discriminator="kind")]


class Cohort(Strict):
    """People of one role who intend to connect around their class start."""

    name: str
    role: Literal["pupil", "teacher", "other"]
    count: Annotated[
        int, Field(ge=0), at_most(MAX_PEOPLE, "people", "more than the world's population")
    ]
    journey: str
    class_starts: Annotated[list[ClockTime], Field(min_length=1)] = ["09:00"]
    class_start_shares: list[Probability] | None = None
    connect: ConnectSpec = NormalOffset(kind="normal", mean_min=-5.0, sd_min=5.0)
    class_group: str | None = None
    behaviour: BehaviourPatch | None = None
    people_per_address: count(MAX_SERVERS, "people per address", 1) = 1
    platform: str | None = None

    @model_validator(mode="after")
    def _shares(self) -> Cohort:
        shares = self.class_start_shares
        if shares is not None:
            if len(shares) != len(self.class_starts):
                raise ValueError("class_start_shares needs one share per class start")
            if not math.isclose(sum(shares), 1.0, abs_tol=1e-9):
                raise ValueError("class_start_shares must sum to 1")
        return self


class RatePiece(Strict):
    model_config = ConfigDict(populate_by_name=True)
    start: ClockTime = Field(alias="from")
    rate_per_s: NonNegFloat


class OpenSource(Strict):
    """Poisson arrivals at a constant or piecewise-constant rate (textbook cases)."""

    name: str
    journey: str
    role: Literal["pupil", "teacher", "other"] = "other"
    rate_per_s: NonNegFloat | None = None
    rates: Annotated[list[RatePiece], Field(min_length=1)] | None = None
    behaviour: BehaviourPatch | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> OpenSource:
        if (self.rate_per_s is None) == (self.rates is None):
            raise ValueError("give exactly one of rate_per_s or rates")
        if self.rates is not None:
            starts = [clock_to_s(p.start) for p in self.rates]
            if starts != sorted(starts) or len(set(starts)) != len(starts):
                raise ValueError("rates must be in increasing order of 'from'")
        return self


class Measure(Strict):
    warmup_min: NonNegFloat = 0.0
    """Requests submitted before start + warmup are left out of per-service waits."""


class Scenario(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    description: str = ""
    seed: Annotated[
        int, Field(ge=0), at_most(MAX_SEED, "", "a seed is stored as a 64-bit integer")
    ] = 1
    start: ClockTime = "07:00"
    end: ClockTime = "10:00"
    behaviour: Behaviour = Behaviour()
    templates: dict[str, Template] = {}
    platforms: dict[str, PlatformSpec] = {}
    services: dict[str, Service] = {}
    classrooms: dict[str, Classroom] = {}
    journeys: dict[str, Annotated[list[Step], Field(min_length=1)]] = {}
    cohorts: list[Cohort] = []
    sources: list[OpenSource] = []
    links: dict[str, Link] = {}
    gates: dict[str, Gate] = {}
    attacks: list[AttackWave] = []
    attack_generators: list[AttackGenerator] = []
    measure: Measure = Measure()

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if clock_to_s(self.end) <= clock_to_s(self.start):
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        for kind, groups in (("cohorts", self.cohorts), ("sources", self.sources)):
            for group in groups:
                try:
                    self.behaviour_of(group)
                except ValidationError as err:
                    reason = err.errors()[0]["msg"].removeprefix("Value error, ")
                    raise ValueError(
                        f"{kind}.{group.name}.behaviour over the scenario's [behaviour]: {reason}"
                    ) from None
        if self.platforms or self.templates:
            flatten(self)  # platforms are checked on their expansion
            return self
        if not self.services:
            raise ValueError("a scenario needs at least one service")
        if not self.cohorts and not self.sources:
            raise ValueError("a scenario needs at least one cohort or source")
        for name, steps in self.journeys.items():
            for step in steps:
                _check_step(self, name, step)
        names = [c.name for c in self.cohorts] + [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError("cohort and source names must be unique")
        for source in self.sources:
            steps = self.journeys.get(source.journey, [])
            if any(isinstance(step, ClassStep) for step in steps):
                raise ValueError(
                    f"source {source.name!r}: open arrivals cannot take a class step "
                    "(classes belong to cohorts)"
                )
        for name, service in self.services.items():
            if service.link is not None and service.link not in self.links:
                raise ValueError(
                    f"services.{name}.link: {service.link!r} is not one of {sorted(self.links)}"
                )
            if service.autoscale and service.autoscale.max_servers < service.servers:
                raise ValueError(f"services.{name}.autoscale.max_servers is below servers")
        for attack in [*self.attacks, *self.attack_generators]:
            targets = self.services if attack.kind == "application" else self.links
            if attack.target not in targets:
                what = "service" if attack.kind == "application" else "link"
                raise ValueError(
                    f"attack {attack.name!r}: target {attack.target!r} is not a {what}; "
                    f"one of {sorted(targets)}"
                )
        for group in self.cohorts + self.sources:
            if group.journey not in self.journeys:
                raise ValueError(
                    f"{group.name}: journey {group.journey!r} is not one of {sorted(self.journeys)}"
                )
        return self

    def behaviour_of(self, group: Cohort | OpenSource) -> Behaviour:
        """How the people of `group` behave: its own fields over the scenario's."""
        if group.behaviour is None:
            return self.behaviour
        return group.behaviour.over(self.behaviour)

    @property
    def start_s(self) -> float:
        return clock_to_s(self.start)

    @property
    def end_s(self) -> float:
        return clock_to_s(self.end)


def _check_step(scenario: Scenario, journey: str, step: Any) -> None:
    services = sorted(scenario.services)
    if isinstance(step, SessionStep) and step.service not in scenario.services:
        raise ValueError(f"journey {journey!r}: service {step.service!r} is not one of {services}")
    if isinstance(step, SessionStep):
        return
    if isinstance(step, GateStep):
        if step.gate not in scenario.gates:
            raise ValueError(
                f"journey {journey!r}: gate {step.gate!r} is not one of {sorted(scenario.gates)}"
            )
        return
    wanted = [step.service] if isinstance(step, RequestStep) else [step.join_service]
    if isinstance(step, ClassStep):
        if step.in_class_service is not None:
            wanted.append(step.in_class_service)
        if step.classroom not in scenario.classrooms:
            raise ValueError(
                f"journey {journey!r}: classroom {step.classroom!r} is not one of "
                f"{sorted(scenario.classrooms)}"
            )
    for service in wanted:
        if service not in scenario.services:
            raise ValueError(f"journey {journey!r}: service {service!r} is not one of {services}")
