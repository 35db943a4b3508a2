"""Schema of the platform side: behaviour of clients, services and their defences,
edge links, admission gates, attacks, journey steps."""

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
from sim.config.costs import Price

MAX_ATTEMPTS = 1000
"""Attempts of one person: with no backoff and no backlog, every attempt is at one
instant, and 10^6 of them per person made a run that never ended."""

# ---------------------------------------------------------------- behaviour


def _count(n: int) -> str:
    """An integer for a message: as is, or "more than 10^15" (it may have 400 digits)."""
    return str(n) if n < 10**15 else "more than 10^15"


class ConstantBackoff(Strict):
    """The same delay before every retry."""

    kind: Literal["constant"] = Field(description="which backoff")
    delay_s: NonNegFloat = Field(description="delay before every retry (s)")


class ExponentialBackoff(Strict):
    """Delay before retry k (k = 1, 2, ...) is ``min(max_s, base_s * factor**(k-1))``.

    ``factor ** (max_attempts - 1)`` must be a computable number (below about 1e308).
    """

    kind: Literal["exponential"] = Field(description="which backoff")
    base_s: PositiveFloat = Field(description="delay before the first retry (s)")
    factor: Annotated[float, Field(ge=1)] = Field(
        2.0, description="each delay is the previous one times this"
    )
    max_s: PositiveFloat = Field(300.0, description="the delay stops growing here (s)")


class JitterBackoff(Strict):
    """Full jitter: uniform between 0 and the exponential delay (AWS architecture blog),
    ``min(max_s, base_s * factor**(k-1))`` before retry k; ``factor ** (max_attempts - 1)``
    must be a computable number (below about 1e308)."""

    kind: Literal["exponential_jitter"] = Field(description="which backoff")
    base_s: PositiveFloat = Field(description="the first exponential delay (s)")
    factor: Annotated[float, Field(ge=1)] = Field(
        2.0, description="each exponential delay is the previous one times this"
    )
    max_s: PositiveFloat = Field(300.0, description="the exponential delay stops growing here (s)")


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

    tokens_per_s: PositiveFloat = Field(
        description="tokens (retries) that come back per second, for the whole cohort"
    )
    burst: count(MAX_COUNT, "tokens of burst", 1) = Field(3, description="tokens saved at most")


class CircuitBreaker(Strict):
    """After `failures` failed attempts in a row, the client stops for `open_s` seconds."""

    failures: count(MAX_COUNT, "failures in a row", 1) = Field(
        description="failed attempts in a row that open the breaker"
    )
    open_s: PositiveFloat = Field(description="least time before the next attempt once open (s)")


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
    """How people wait, give up and retry; every field acts per person, wherever it is set."""

    patience: DurationSpec = Field(
        LognormalSpec(kind="lognormal", mean_s=20.0, cv=1.0),
        description="client timeout of each request",
    )
    patience_covers: Literal["response", "wait"] = Field(
        "response",
        description=(
            '`"response"`: the timeout covers the wait and the service; `"wait"`: only the wait '
            "in queue (Erlang A)"
        ),
    )
    retry_probability: Probability = Field(0.9, description="chance to retry after a failure")
    max_attempts: Attempts = Field(
        6, description="attempts per step before giving up for the morning"
    )
    backoff: BackoffSpec = Field(
        JitterBackoff(kind="exponential_jitter", base_s=10.0), description="delay before retry k"
    )
    retry_budget: RetryBudget | None = Field(
        None,
        description=(
            "a token bucket in the client app, shared by the cohort: retries wait for a token"
        ),
    )
    circuit_breaker: CircuitBreaker | None = Field(
        None, description="after some failed attempts in a row, wait before the next one"
    )

    @model_validator(mode="after")
    def _backoff_computable(self) -> "Behaviour":
        factor = getattr(self.backoff, "factor", 1.0)
        if overflows(factor, self.max_attempts - 1):
            raise ValueError(
                f"backoff.factor ** (max_attempts - 1) = {factor:g} ** "
                f"{_count(self.max_attempts - 1)} is too large to compute; lower either "
                "(the delay stops growing at max_s anyway)"
            )
        return self


class BehaviourPatch(Strict):
    """A cohort's (or source's) own behaviour: only the fields that differ.

    Every field it leaves out is the scenario's `[behaviour]`, field by field, in a file as
    with `--set 'cohorts.teachers.behaviour={max_attempts=3}'` (teachers then give up
    after 3 attempts and keep everybody's patience and backoff). A field it sets replaces
    the scenario's whole: a `patience` or `backoff` table is one distribution. A cohort
    cannot remove a `retry_budget` or `circuit_breaker` set at the top level. The merged
    behaviour is checked as a whole; `sim show` prints each cohort's own fields only.
    """

    # The fields of Behaviour, each optional (tests/config/test_knobs.py checks they stay so);
    # Behaviour.over merges them.

    patience: DurationSpec | None = Field(None, description="client timeout of each request")
    patience_covers: Literal["response", "wait"] | None = Field(
        None,
        description=(
            '`"response"`: the timeout covers the wait and the service; `"wait"`: only the wait '
            "in queue (Erlang A)"
        ),
    )
    retry_probability: Probability | None = Field(
        None, description="chance to retry after a failure"
    )
    max_attempts: Attempts | None = Field(
        None,
        description="attempts per step before giving up for the morning",
    )
    backoff: BackoffSpec | None = Field(None, description="delay before retry k")
    retry_budget: RetryBudget | None = Field(
        None,
        description=(
            "a token bucket in the client app, shared by the cohort: retries wait for a token"
        ),
    )
    circuit_breaker: CircuitBreaker | None = Field(
        None,
        description="after some failed attempts in a row, wait before the next one",
    )

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

    kind: Literal["linear"] = Field(description="which slowdown")
    knee: count(MAX_COUNT, "requests at the knee", 1) = Field(
        description="requests in progress up to which the service time is normal"
    )
    slope: NonNegFloat = Field(
        description="growth of the service time per request in progress beyond the knee"
    )


class UslSlowdown(Strict):
    """Universal scalability law: service time x ``1 + alpha (n-1) + beta n (n-1)``."""

    kind: Literal["usl"] = Field(description="which slowdown")
    alpha: NonNegFloat = Field(description="contention: growth per other request in progress")
    beta: NonNegFloat = Field(0.0, description="coherency: growth per pair of requests in progress")


SlowdownSpec = Annotated[LinearSlowdown | UslSlowdown, Field(discriminator="kind")]


class Crash(Strict):
    """A server crashes when its backlog passes a threshold, and restarts later; its queued
    and in-progress requests fail."""

    backlog_above: count(MAX_COUNT, "requests of backlog") = Field(
        description="a server crashes when its backlog passes this"
    )
    restart: ServiceTimeSpec = Field(
        LognormalSpec(kind="lognormal", mean_s=180.0, cv=0.5),
        description="time for a crashed server to come back",
    )
    detection_s: NonNegFloat = Field(
        10.0, description="time before the load balancer stops sending it requests (s)"
    )
    while_undetected: Literal["refused", "hang"] = Field(
        "refused",
        description=(
            'requests sent to a dead server not yet detected fail at once (`"refused"`: '
            'connection refused) or hang until the client\'s timeout (`"hang"`)'
        ),
    )


class RateLimit(Strict):
    """A token bucket per source address in front of a service: excess requests are
    blocked (HTTP 429); pupils behind one NAT share it."""

    per_address_per_s: PositiveFloat = Field(
        description="requests per second allowed per source address"
    )
    burst: count(MAX_COUNT, "requests of burst", 1) = Field(
        20, description="requests an address may send at once (the bucket's size)"
    )


class Scrubbing(Strict):
    """Filtering that starts `detection_s` after an attack on its target begins and
    removes shares of the attack and of the legitimate traffic while any attack lasts
    (and `hold_s` after), or for the rest of the run once on (`stays_on`: protection an
    operator adds during the morning)."""

    detection_s: NonNegFloat = Field(
        300.0,
        description="the filter switches on this long after an attack on its target starts (s)",
    )
    attack_removed: Probability = Field(
        0.9, description="share of attack requests (or traffic) removed while on"
    )
    legit_removed: Probability = Field(
        0.0,
        description=(
            "share of legitimate requests removed while on (on a link: to every service behind it)"
        ),
    )
    hold_s: NonNegFloat = Field(
        600.0, description="the filter stays on this long after the attack ends (s)"
    )
    stays_on: bool = Field(False, description="once on, it stays on for the rest of the run")


class Priority(Strict):
    """Requests of these roles are served before the others during the window."""

    model_config = ConfigDict(populate_by_name=True)
    roles: Annotated[list[Role], Field(min_length=1)] = Field(
        description="roles whose requests are served first"
    )
    start: ClockTime = Field("00:00", alias="from", description="start of the window (clock time)")
    until: ClockTime = Field("23:59:59", description="end of the window (clock time)")


class Autoscale(Strict):
    """Every `period_s`, ask for enough servers to bring utilisation to the target."""

    target_utilization: Annotated[
        float,
        Field(le=1),
        at_least(0.01, "(1%)", "a lower target asks for more than 100 times the servers needed"),
    ] = Field(0.7, description="(in progress + queued) / workers to aim at")
    period_s: Annotated[
        float, at_least(1.0, "second", "the autoscaler looks at the load every period")
    ] = Field(60.0, description="the autoscaler looks at the load every period (s)")
    boot_s: NonNegFloat = Field(
        120.0,
        description="a server asked for is ready this long later (s); servers are never removed",
    )
    max_servers: count(MAX_SERVERS, "servers", 1) = Field(
        description="the most servers it may have"
    )


class Service(Strict):
    """A pool of identical servers behind a load balancer."""

    servers: count(MAX_SERVERS, "servers", 1) = Field(
        description="servers behind the load balancer"
    )
    workers_per_server: count(MAX_SERVERS, "workers per server", 1) = Field(
        1, description="requests a server works on at once"
    )
    backlog_per_server: count(MAX_COUNT, "requests of backlog per server") = Field(
        100, description="waiting places per server: a request that finds them full is rejected"
    )
    service_time: ServiceTimeSpec = Field(description="work per request")
    drop_abandoned: bool = Field(
        False,
        description=(
            "drop queued requests whose client gave up (otherwise their work is done, and wasted)"
        ),
    )
    dispatch: Literal["least_loaded", "round_robin", "random"] = Field(
        "least_loaded", description="how the load balancer chooses a server"
    )
    slowdown: SlowdownSpec | None = Field(
        None, description="service time grows with the requests in progress"
    )
    crash: Crash | None = Field(
        None, description="servers crash when their backlog passes a threshold"
    )
    link: str | None = Field(
        None, description="name of the edge link in front of the service (`links`)"
    )
    rate_limit: RateLimit | None = Field(None, description="a token bucket per source address")
    scrubbing: Scrubbing | None = Field(None, description="filtering against application floods")
    priority: Priority | None = Field(
        None, description="requests of some roles served first during a window"
    )
    autoscale: Autoscale | None = Field(
        None, description="servers added to meet a target utilisation"
    )
    error_probability: Probability = Field(
        0.0,
        description=(
            "chance that a request fails after its service (a flaky back end answering HTTP "
            "500): the work is done and wasted, the client gets a failure of cause `error` "
            "and may retry"
        ),
    )
    network_delay: ServiceTimeSpec | None = Field(
        None,
        description=(
            "round trip between client and service, added to every answer (no worker is held "
            "for it); it counts in the client's patience"
        ),
    )
    max_sessions: count(MAX_COUNT, "sessions", 1) | None = Field(
        None,
        description=(
            "sessions (`session` journey steps on this service) open at once: at the cap a "
            "new one is refused, a failure of cause `quota` the client may retry. Unlike a "
            "gate's `max_sessions` (held the whole morning, from the `gate` step on), a slot "
            "here is held for the session only"
        ),
    )
    session_timeout_s: PositiveFloat | None = Field(
        None,
        description=(
            "with `max_sessions`: people close the tab instead of logging out, and the "
            "server holds a slot this long after the session ends (none: freed at once, as "
            "at a logout)"
        ),
    )

    cost_per_server_hour: Price | None = Field(
        None,
        description=(
            "price of one of its servers for an hour, in the `[costs]` currency (needs "
            "`[costs]`; none: not priced)"
        ),
    )
    cost_per_instance_hour: Price | None = Field(
        None,
        description=(
            "with `autoscale`: price of a server the autoscaler added, for an hour (none: "
            "`cost_per_server_hour`)"
        ),
    )

    @model_validator(mode="after")
    def _timeout_needs_cap(self) -> "Service":
        if self.session_timeout_s is not None and self.max_sessions is None:
            raise ValueError(
                "session_timeout_s needs max_sessions: it says how long a slot stays held"
            )
        if self.cost_per_instance_hour is not None and self.autoscale is None:
            raise ValueError(
                "cost_per_instance_hour prices the servers an autoscaler adds: it needs "
                "autoscale (a fixed server's price is cost_per_server_hour)"
            )
        return self


class Link(Strict):
    """The edge link in front of some services: a volumetric flood saturates it.

    During a flood of A Gbit/s, a request to a service behind the link is lost (no
    answer: the client times out) with probability `max(0, 1 − capacity / (legit + A))`.
    """

    capacity_gbps: PositiveFloat = Field(description="capacity of the edge link (Gbit/s)")
    legit_gbps: NonNegFloat = Field(0.0, description="legitimate traffic on it (Gbit/s)")
    scrubbing: Scrubbing | None = Field(None, description="filtering of volumetric floods")


class Gate(Strict):
    """Admission control: a quota of sessions, and/or a waiting room admitting at a rate.

    A person passes the gate once per morning and holds a session until their journey
    ends. With ``when_full = "queue"`` they wait in a waiting room showing their position
    (and are `patience_factor` times more patient there); with ``"reject"`` they get a
    "quota reached, try again later" page (a failure: they may retry).
    """

    model_config = ConfigDict(populate_by_name=True)
    max_new_per_s: PositiveFloat | None = Field(
        None, description="at most this many new sessions per second"
    )
    max_sessions: count(MAX_COUNT, "sessions", 1) | None = Field(
        None,
        description=(
            "at most this many sessions at once (a session lasts until the person's journey ends)"
        ),
    )
    when_full: Literal["queue", "reject"] = Field(
        "queue",
        description=(
            '`"queue"`: wait in a FIFO waiting room; `"reject"`: a "quota reached, try later" '
            "failure"
        ),
    )
    patience_factor: Annotated[float, Field(ge=1)] = Field(
        3.0,
        description="people who see their position in the waiting room wait this many times longer",
    )
    blocked_roles: list[Role] = Field(
        [], description="roles refused during the window below (barred: told at once, no retry)"
    )
    blocked_from: ClockTime = Field("00:00", description="start of that window (clock time)")
    blocked_until: ClockTime = Field("23:59:59", description="end of that window (clock time)")

    @model_validator(mode="after")
    def _some_limit(self) -> "Gate":
        if self.max_new_per_s is None and self.max_sessions is None and not self.blocked_roles:
            raise ValueError("a gate needs max_new_per_s, max_sessions or blocked_roles")
        return self


FloodKind = Annotated[
    Literal["application", "volumetric"],
    Field(description='`"application"`: requests to a service; `"volumetric"`: traffic on a link'),
]
FloodTarget = Annotated[
    str, Field(description="service name (application) or link name (volumetric)")
]
Bots = Annotated[
    count(MAX_COUNT, "bots", 1),
    Field(description="distinct attacking addresses (application floods; matters for rate limits)"),
]
AttackCost = Annotated[
    PositiveFloat,
    Field(description="work of one attack request, in normal requests (application floods)"),
]
"""The fields an attack wave and a generator of waves share."""


def _check_flood_fields(attack: "AttackWave | AttackGenerator") -> None:
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
    """One attack: an application flood on a service or a volumetric flood on a link.

    `rate_per_s`, `bots` and `cost` belong to application floods and `gbps` to volumetric
    ones: set on the other kind, where they would do nothing, they are refused.
    """

    name: str = Field(description="name of the wave")
    kind: FloodKind
    target: FloodTarget
    start: ClockTime = Field(description="start of the wave (clock time)")
    duration_min: PositiveFloat = Field(description="length of the wave (min)")
    rate_per_s: NonNegFloat = Field(0.0, description="application flood: requests per second")
    gbps: NonNegFloat = Field(0.0, description="volumetric flood: traffic (Gbit/s)")
    bots: Bots = 1000
    cost: AttackCost = 1.0

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> "AttackWave":
        _check_flood_fields(self)
        return self


class AttackGenerator(Strict):
    """`waves` attacks with starts spread at random between `first` and `last`, durations
    drawn from `duration`, intensity multiplied by `growth` from one wave to the next."""

    name: str = Field(description="name of the generator (its waves are numbered)")
    kind: FloodKind
    target: FloodTarget
    waves: count(MAX_SERVERS, "waves", 1) = Field(description="number of waves to generate")
    first: ClockTime = Field(description="earliest wave start (clock time)")
    last: ClockTime = Field(description="latest wave start (clock time)")
    duration: ServiceTimeSpec = Field(
        LognormalSpec(kind="lognormal", mean_s=360.0, cv=1.0), description="length of each wave"
    )
    rate_per_s: NonNegFloat = Field(
        0.0, description="application flood: requests per second of the first wave"
    )
    gbps: NonNegFloat = Field(
        0.0, description="volumetric flood: traffic of the first wave (Gbit/s)"
    )
    growth: PositiveFloat = Field(
        1.0, description="wave i has intensity times growth^i (rising intensity)"
    )
    bots: Bots = 1000
    cost: AttackCost = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> "AttackGenerator":
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

    servers: count(MAX_SERVERS, "classroom servers", 1) = Field(description="classroom servers")
    seats_per_server: count(MAX_COUNT, "seats per server", 1) = Field(
        250, description="participants per server (Collaborate's default session limit)"
    )
    class_size: count(MAX_COUNT, "pupils per class", 1) = Field(
        25,
        description=(
            "pupils per class when their group has no teachers (a class is placed on one server: "
            "at most `seats_per_server`)"
        ),
    )

    cost_per_server_hour: Price | None = Field(
        None,
        description=(
            "price of one classroom server for an hour, in the `[costs]` currency (needs "
            "`[costs]`; none: not priced)"
        ),
    )

    @model_validator(mode="after")
    def _class_fits(self) -> "Classroom":
        if self.class_size > self.seats_per_server:
            raise ValueError(
                f"class_size ({self.class_size}) is more than seats_per_server "
                f"({self.seats_per_server}): a class is placed on one server and must fit"
            )
        return self


class RequestStep(Strict):
    """A request to a named service; written in a journey as just the service name
    (`"login"`)."""

    kind: Literal["request"] = Field("request", description="which step")
    service: str = Field(description="the service the request goes to")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"service": value} if isinstance(value, str) else value


class ClassStep(Strict):
    """A class: a request to the join service, then a seat on the classroom server where
    the class is placed (a full server is a failure, "this session is full"). Pupils who
    arrive before their teacher wait in the lobby until the teacher opens the class; in
    class, people make a request to `in_class_service` every think time until the lesson
    ends.
    """

    kind: Literal["class"] = Field(description="which step")
    classroom: str = Field(description="classroom where the class is placed")
    join_service: str = Field(description="service that handles the join request")
    lesson_min: PositiveFloat = Field(55.0, description="lesson length from the class start (min)")
    in_class_service: str | None = Field(
        None, description="service receiving requests from people in class (none: no requests)"
    )
    think_time: DurationSpec = Field(
        ExponentialSpec(kind="exponential", mean_s=300.0),
        description="time between requests in class (mean at least 1 ms)",
    )

    @model_validator(mode="after")
    def _thinks(self) -> "ClassStep":
        _check_think_time(self.think_time)
        return self


class GateStep(Strict):
    """Pass an admission gate (quota or waiting room); the session lasts the morning."""

    kind: Literal["gate"] = Field(description="which step")
    gate: str = Field(
        description="the gate to pass (`gates`); a refusal is a failed attempt of cause `quota`"
    )


class SessionStep(Strict):
    """Use a service for a while: a request every think time until the session ends.

    The person has got through once the session starts (they count as in class for
    journeys without a class step); the session's requests add load but their answers
    do not change the person's story.
    """

    kind: Literal["session"] = Field(description="which step")
    service: str = Field(description="the service used")
    duration: DurationSpec = Field(
        ExponentialSpec(kind="exponential", mean_s=720.0), description="how long the session lasts"
    )
    think_time: DurationSpec = Field(
        ExponentialSpec(kind="exponential", mean_s=60.0),
        description="time between requests (mean at least 1 ms)",
    )

    @model_validator(mode="after")
    def _thinks(self) -> "SessionStep":
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

    services: dict[str, Service] = Field(description="the template's services")
    classrooms: dict[str, Classroom] = Field({}, description="its classrooms")
    gates: dict[str, Gate] = Field({}, description="its admission gates")
    links: dict[str, Link] = Field({}, description="its edge links")
    journeys: dict[str, Annotated[list[Step], Field(min_length=1)]] = Field(
        {}, description="its journeys: lists of steps"
    )


class PlatformSpec(Strict):
    """One platform (a region's workspace, say) built from a template.

    Its services are named ``<platform>/<service>`` in results and in attack targets
    (platform ``occitanie``'s ``login`` is ``occitanie/login``); a cohort with
    ``platform = "occitanie"`` follows that platform's journey of its ``journey`` name.
    ``sim show`` prints the scenario as written; the results use the expanded names.
    """

    template: str = Field(description="template name (`templates`)")
    description: str = Field("", description="free text")
    # bounded: a factor is a planning what-if, and 1e308 x a template's servers is infinite
    capacity_factor: Annotated[float, Field(gt=0, le=1e6)] = Field(
        1.0,
        description=(
            "multiplies the servers (and autoscaling ceilings) of every service and classroom "
            "(rounded up)"
        ),
    )
    servers: dict[str, count(MAX_SERVERS, "servers", 1)] = Field(
        {}, description="servers of named services, e.g. `{login = 12}` (wins over the factor)"
    )
