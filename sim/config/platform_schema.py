"""Schema of the platform side: behaviour of clients, services and their defences,
edge links, admission gates, attacks, journey steps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from sim.config.base import (
    MAX_COUNT,
    MAX_SERVERS,
    MIN_THINK_S,
    ClockTime,
    DurationSpec,
    ExponentialSpec,
    LognormalSpec,
    NonNegFloat,
    PositiveFloat,
    Probability,
    ServiceTimeSpec,
    Strict,
    at_least,
    at_most,
    clock_to_s,
    count,
    overflows,
    spec_mean,
)

MAX_ATTEMPTS = 1000
"""Attempts of one person: with no backoff and no backlog, every attempt is at one
instant, and 10^6 of them per person made a run that never ended."""

# ---------------------------------------------------------------- behaviour


def _count(n: int) -> str:
    """An integer for a message: as is, or "more than 10^15" (it may have 400 digits)."""
    return str(n) if n < 10**15 else "more than 10^15"


class ConstantBackoff(Strict):
    kind: Literal["constant"]
    delay_s: NonNegFloat


class ExponentialBackoff(Strict):
    """Delay before retry k (k = 1, 2, ...) is ``min(max_s, base_s * factor**(k-1))``."""

    kind: Literal["exponential"]
    base_s: PositiveFloat
    factor: Annotated[float, Field(ge=1)] = 2.0
    max_s: PositiveFloat = 300.0


class JitterBackoff(Strict):
    """Full jitter: uniform between 0 and the exponential delay (AWS architecture blog)."""

    kind: Literal["exponential_jitter"]
    base_s: PositiveFloat
    factor: Annotated[float, Field(ge=1)] = 2.0
    max_s: PositiveFloat = 300.0


BackoffSpec = Annotated[
    ConstantBackoff | ExponentialBackoff | JitterBackoff, Field(discriminator="kind")
]


class RetryBudget(Strict):
    """A retry budget in the client app, shared by everybody of the cohort (or source).

    A token bucket: each retry spends a token, tokens come back at `tokens_per_s`, at most
    `burst` are saved. A retry that finds no token waits for the next one (the app holds
    it back), so retries can never add more than `tokens_per_s` requests per second,
    however often attempts fail: this is what breaks a retry storm.
    """

    tokens_per_s: PositiveFloat
    burst: count(MAX_COUNT, "tokens of burst", 1) = 3


class CircuitBreaker(Strict):
    """After `failures` failed attempts in a row, the client stops for `open_s` seconds."""

    failures: count(MAX_COUNT, "failures in a row", 1)
    open_s: PositiveFloat


Attempts = Annotated[
    int,
    Field(ge=1),
    at_most(
        MAX_ATTEMPTS,
        "attempts per person",
        "a person who tries more is a bot, and each attempt is events to simulate",
    ),
]
"""Attempts per step: of the scenario's behaviour and of a cohort's own."""


class Behaviour(Strict):
    """How people wait, give up and retry."""

    patience: DurationSpec = LognormalSpec(kind="lognormal", mean_s=20.0, cv=1.0)
    patience_covers: Literal["response", "wait"] = "response"
    retry_probability: Probability = 0.9
    max_attempts: Attempts = 6
    backoff: BackoffSpec = JitterBackoff(kind="exponential_jitter", base_s=10.0)
    retry_budget: RetryBudget | None = None
    circuit_breaker: CircuitBreaker | None = None

    @model_validator(mode="after")
    def _backoff_computable(self) -> Behaviour:
        factor = getattr(self.backoff, "factor", 1.0)
        if overflows(factor, self.max_attempts - 1):
            raise ValueError(
                f"backoff.factor ** (max_attempts - 1) = {factor:g} ** "
                f"{_count(self.max_attempts - 1)} is too large to compute; lower either "
                "(the delay stops growing at max_s anyway)"
            )
        return self


class BehaviourPatch(Strict):
    """A cohort's (or source's) own behaviour: only the fields it sets.

    Every field it leaves out is the scenario's ``[behaviour]``, field by field (see
    :meth:`over`), so a cohort that retries less keeps everybody's patience, in a file
    as with ``--set 'cohorts.teachers.behaviour={max_attempts=3}'``. A field set here
    replaces the scenario's whole: a ``patience`` or ``backoff`` table is one
    distribution (its fields mean nothing under another ``kind``). The fields are those
    of :class:`Behaviour`, each optional (tests/test_knobs.py checks they stay so).
    """

    patience: DurationSpec | None = None
    patience_covers: Literal["response", "wait"] | None = None
    retry_probability: Probability | None = None
    max_attempts: Attempts | None = None
    backoff: BackoffSpec | None = None
    retry_budget: RetryBudget | None = None
    circuit_breaker: CircuitBreaker | None = None

    def over(self, base: Behaviour) -> Behaviour:
        """The behaviour of the group: these fields over `base`, validated together
        (a patch's factor may be too large with the scenario's max_attempts)."""
        own = {name: getattr(self, name) for name in self.model_fields_set}
        own = {name: value for name, value in own.items() if value is not None}
        if not own:
            return base
        return Behaviour.model_validate({**dict(base), **own})


# ---------------------------------------------------------------- platform


Role = Literal["pupil", "teacher", "other"]


class LinearSlowdown(Strict):
    """Service time x ``1 + slope * (n - knee)`` when n > knee requests are in progress."""

    kind: Literal["linear"]
    knee: count(MAX_COUNT, "requests at the knee", 1)
    slope: NonNegFloat


class UslSlowdown(Strict):
    """Universal scalability law: service time x ``1 + alpha (n-1) + beta n (n-1)``."""

    kind: Literal["usl"]
    alpha: NonNegFloat
    beta: NonNegFloat = 0.0


SlowdownSpec = Annotated[LinearSlowdown | UslSlowdown, Field(discriminator="kind")]


class Crash(Strict):
    """A server crashes when its backlog passes a threshold, and restarts later."""

    backlog_above: count(MAX_COUNT, "requests of backlog")
    restart: ServiceTimeSpec = LognormalSpec(kind="lognormal", mean_s=180.0, cv=0.5)
    detection_s: NonNegFloat = 10.0
    while_undetected: Literal["refused", "hang"] = "refused"


class RateLimit(Strict):
    """Per-address token bucket in front of a service (excess requests are blocked)."""

    per_address_per_s: PositiveFloat
    burst: count(MAX_COUNT, "requests of burst", 1) = 20


class Scrubbing(Strict):
    """Filtering that starts `detection_s` after an attack on its target begins and
    removes shares of the attack and of the legitimate traffic while any attack lasts
    (and `hold_s` after), or for the rest of the run once on (`stays_on`: protection an
    operator adds during the morning)."""

    detection_s: NonNegFloat = 300.0
    attack_removed: Probability = 0.9
    legit_removed: Probability = 0.0
    hold_s: NonNegFloat = 600.0
    stays_on: bool = False


class Priority(Strict):
    """Requests of these roles are served before the others during the window."""

    model_config = ConfigDict(populate_by_name=True)
    roles: Annotated[list[Role], Field(min_length=1)]
    start: ClockTime = Field("00:00", alias="from")
    until: ClockTime = "23:59:59"


class Autoscale(Strict):
    """Every `period_s`, ask for enough servers to bring utilisation to the target."""

    target_utilization: Annotated[
        float,
        Field(le=1),
        at_least(0.01, "(1%)", "a lower target asks for more than 100 times the servers needed"),
    ] = 0.7
    period_s: Annotated[
        float, at_least(1.0, "second", "the autoscaler looks at the load every period")
    ] = 60.0
    boot_s: NonNegFloat = 120.0
    max_servers: count(MAX_SERVERS, "servers", 1)


class Service(Strict):
    """A pool of identical servers behind a load balancer."""

    servers: count(MAX_SERVERS, "servers", 1)
    workers_per_server: count(MAX_SERVERS, "workers per server", 1) = 1
    backlog_per_server: count(MAX_COUNT, "requests of backlog per server") = 100
    service_time: ServiceTimeSpec
    drop_abandoned: bool = False
    dispatch: Literal["least_loaded", "round_robin", "random"] = "least_loaded"
    slowdown: SlowdownSpec | None = None
    crash: Crash | None = None
    link: str | None = None
    rate_limit: RateLimit | None = None
    scrubbing: Scrubbing | None = None
    priority: Priority | None = None
    autoscale: Autoscale | None = None


class Link(Strict):
    """The edge link in front of some services: a volumetric flood saturates it."""

    capacity_gbps: PositiveFloat
    legit_gbps: NonNegFloat = 0.0
    scrubbing: Scrubbing | None = None


class Gate(Strict):
    """Admission control: a quota of sessions, and/or a waiting room admitting at a rate.

    A person passes the gate once per morning and holds a session until their journey
    ends. With ``when_full = "queue"`` they wait in a waiting room showing their position
    (and are `patience_factor` times more patient there); with ``"reject"`` they get a
    "quota reached, try again later" page (a failure: they may retry).
    """

    model_config = ConfigDict(populate_by_name=True)
    max_new_per_s: PositiveFloat | None = None
    max_sessions: count(MAX_COUNT, "sessions", 1) | None = None
    when_full: Literal["queue", "reject"] = "queue"
    patience_factor: Annotated[float, Field(ge=1)] = 3.0
    blocked_roles: list[Role] = []
    blocked_from: ClockTime = "00:00"
    blocked_until: ClockTime = "23:59:59"

    @model_validator(mode="after")
    def _some_limit(self) -> Gate:
        if self.max_new_per_s is None and self.max_sessions is None and not self.blocked_roles:
            raise ValueError("a gate needs max_new_per_s, max_sessions or blocked_roles")
        return self


def _check_flood_fields(attack: AttackWave | AttackGenerator) -> None:
    """Refuse a field its kind of flood ignores: a volumetric flood is Gbit/s on a link
    (no requests, no addresses, no cost per request), an application flood is requests
    to a service (no Gbit/s). Set there, it would read as an effect that never comes."""
    if attack.kind == "application" and attack.gbps:
        raise ValueError(
            "gbps is for volumetric floods (on a link); an application flood sends rate_per_s"
        )
    if attack.kind == "volumetric":
        ignored = [
            name
            for name, default in (("rate_per_s", 0.0), ("bots", 1000), ("cost", 1.0))
            if getattr(attack, name) != default
        ]
        if ignored:
            raise ValueError(
                f"{', '.join(ignored)}: only for application floods (requests to a service); "
                "a volumetric flood sends gbps"
            )


class AttackWave(Strict):
    """One attack: an application flood on a service or a volumetric flood on a link."""

    name: str
    kind: Literal["application", "volumetric"]
    target: str
    start: ClockTime
    duration_min: PositiveFloat
    rate_per_s: NonNegFloat = 0.0
    gbps: NonNegFloat = 0.0
    bots: count(MAX_COUNT, "bots", 1) = 1000
    cost: PositiveFloat = 1.0

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> AttackWave:
        _check_flood_fields(self)
        return self


class AttackGenerator(Strict):
    """`waves` attacks with starts spread at random between `first` and `last`, durations
    drawn from `duration`, intensity multiplied by `growth` from one wave to the next."""

    name: str
    kind: Literal["application", "volumetric"]
    target: str
    waves: count(MAX_SERVERS, "waves", 1)
    first: ClockTime
    last: ClockTime
    duration: ServiceTimeSpec = LognormalSpec(kind="lognormal", mean_s=360.0, cv=1.0)
    rate_per_s: NonNegFloat = 0.0
    gbps: NonNegFloat = 0.0
    growth: PositiveFloat = 1.0
    bots: count(MAX_COUNT, "bots", 1) = 1000
    cost: PositiveFloat = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> AttackGenerator:
        _check_flood_fields(self)
        if clock_to_s(self.last) < clock_to_s(self.first):
            raise ValueError("last must not be before first")
        if overflows(self.growth, self.waves - 1):
            raise ValueError(
                f"growth ** (waves - 1) = {self.growth:g} ** {_count(self.waves - 1)} is too "
                "large to compute; lower either"
            )
        return self


class Classroom(Strict):
    """Virtual-classroom servers: each class is placed on one server and uses its seats."""

    servers: count(MAX_SERVERS, "classroom servers", 1)
    seats_per_server: count(MAX_COUNT, "seats per server", 1) = 250
    class_size: count(MAX_COUNT, "pupils per class", 1) = 25

    @model_validator(mode="after")
    def _class_fits(self) -> Classroom:
        if self.class_size > self.seats_per_server:
            raise ValueError(
                f"class_size ({self.class_size}) is more than seats_per_server "
                f"({self.seats_per_server}): a class is placed on one server and must fit"
            )
        return self


class RequestStep(Strict):
    """A request to a named service; written in a journey as just the service name."""

    kind: Literal["request"] = "request"
    service: str

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"service": value} if isinstance(value, str) else value


class ClassStep(Strict):
    kind: Literal["class"]
    classroom: str
    join_service: str
    lesson_min: PositiveFloat = 55.0
    in_class_service: str | None = None
    think_time: DurationSpec = ExponentialSpec(kind="exponential", mean_s=300.0)

    @model_validator(mode="after")
    def _thinks(self) -> ClassStep:
        _check_think_time(self.think_time)
        return self


class GateStep(Strict):
    """Pass an admission gate (quota or waiting room); the session lasts the morning."""

    kind: Literal["gate"]
    gate: str


class SessionStep(Strict):
    """Use a service for a while: a request every think time until the session ends.

    The person has got through once the session starts (they count as in class for
    journeys without a class step); the session's requests add load but their answers
    do not change the person's story.
    """

    kind: Literal["session"]
    service: str
    duration: DurationSpec = ExponentialSpec(kind="exponential", mean_s=720.0)
    think_time: DurationSpec = ExponentialSpec(kind="exponential", mean_s=60.0)

    @model_validator(mode="after")
    def _thinks(self) -> SessionStep:
        _check_think_time(self.think_time)
        return self


def _check_think_time(spec: Any) -> None:
    """A think time of mean 0 makes requests without end at one instant, and one of
    1e-300 s as good as: the guard is a minimum, not just "not zero"."""
    if not spec_mean(spec) >= MIN_THINK_S:
        raise ValueError(
            f"think_time must have a mean of at least {MIN_THINK_S:g} s (1 ms): below, a "
            "person's requests are an endless burst"
        )


def _kind_defaults_to_request(value: Any) -> Any:
    """A step written without a kind is a request; one written as a name, a request to
    that service."""
    if isinstance(value, str):
        return {"kind": "request", "service": value}
    if isinstance(value, dict) and "kind" not in value:
        return {**value, "kind": "request"}
    return value


# The tag is read by name, not by a Python function: pydantic calls a function
# discriminator when it serializes too, and swallows whatever it raises, Ctrl-C
# included (a sweep's worker interrupted there printed a serializer warning).
Step = Annotated[
    RequestStep | ClassStep | GateStep | SessionStep,
    Field(discriminator="kind"),
    BeforeValidator(_kind_defaults_to_request),
]


class Template(Strict):
    """The services, classrooms, gates, links and journeys of one kind of platform.

    Journeys name the template's own services first; a name the template does not have
    refers to a top-level service of the scenario (a shared login federation).
    """

    services: dict[str, Service]
    classrooms: dict[str, Classroom] = {}
    gates: dict[str, Gate] = {}
    links: dict[str, Link] = {}
    journeys: dict[str, Annotated[list[Step], Field(min_length=1)]] = {}


class PlatformSpec(Strict):
    """One platform (a region's workspace, say) built from a template.

    Its services are named ``<platform>/<service>`` in results and in attack targets.
    """

    template: str
    description: str = ""
    # bounded: a factor is a planning what-if, and 1e308 x a template's servers is infinite
    capacity_factor: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    servers: dict[str, count(MAX_SERVERS, "servers", 1)] = {}
