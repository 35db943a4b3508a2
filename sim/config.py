"""Scenario schema, loading and ``--set`` overrides.

A scenario is a TOML file validated by the pydantic models below (``extra="forbid"``, so
a misspelt key is an error, not a silent default). Units are explicit in field names
(``mean_s``, ``lesson_min``, ``rate_per_s``) and clock times are written ``"08:00"``.
This module is the only place where raw user input becomes typed data: everything after
it receives a validated :class:`Scenario` and never re-checks it.
"""

from __future__ import annotations

import datetime
import math
import re
import tomllib
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import tomli_w
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from sim import dists


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line meant for the user."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------- clock times

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def _check_clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError(f"clock time must look like '08:00' or '08:00:30', got {value!r}")
    return value


ClockTime = Annotated[str, AfterValidator(_check_clock)]


def clock_to_s(value: str) -> float:
    """Seconds since midnight of a clock time such as ``"08:30"``."""
    hours, minutes, seconds = _CLOCK.match(value).groups()  # type: ignore[union-attr]
    return 3600.0 * int(hours) + 60.0 * int(minutes) + float(seconds or 0)


def s_to_clock(seconds: float) -> str:
    """``"HH:MM"`` (or ``"HH:MM:SS"``) for seconds since midnight."""
    whole = round(seconds)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}" if s == 0 else f"{h:02d}:{m:02d}:{s:02d}"


PositiveFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]

# ---------------------------------------------------------------- distributions (seconds)


class ExponentialSpec(Strict):
    kind: Literal["exponential"]
    mean_s: PositiveFloat


class DeterministicSpec(Strict):
    kind: Literal["deterministic"]
    value_s: NonNegFloat


class LognormalSpec(Strict):
    kind: Literal["lognormal"]
    mean_s: PositiveFloat
    cv: PositiveFloat


class GammaSpec(Strict):
    kind: Literal["gamma"]
    mean_s: PositiveFloat
    cv: PositiveFloat


class UniformSpec(Strict):
    kind: Literal["uniform"]
    low_s: NonNegFloat
    high_s: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self) -> UniformSpec:
        if self.high_s <= self.low_s:
            raise ValueError("high_s must be greater than low_s")
        return self


class SequenceSpec(Strict):
    kind: Literal["sequence"]
    values_s: Annotated[list[NonNegFloat], Field(min_length=1)]


class NeverSpec(Strict):
    kind: Literal["never"]


ServiceTimeSpec = Annotated[
    ExponentialSpec | DeterministicSpec | LognormalSpec | GammaSpec | UniformSpec | SequenceSpec,
    Field(discriminator="kind"),
]
DurationSpec = Annotated[
    ExponentialSpec
    | DeterministicSpec
    | LognormalSpec
    | GammaSpec
    | UniformSpec
    | SequenceSpec
    | NeverSpec,
    Field(discriminator="kind"),
]


def make_dist(spec: Any) -> dists.Distribution:
    """The runtime distribution (in seconds) described by a validated spec."""
    match spec:
        case ExponentialSpec():
            return dists.Exponential(spec.mean_s)
        case DeterministicSpec():
            return dists.Deterministic(spec.value_s)
        case LognormalSpec():
            return dists.Lognormal(spec.mean_s, spec.cv)
        case GammaSpec():
            return dists.Gamma(spec.mean_s, spec.cv)
        case UniformSpec():
            return dists.Uniform(spec.low_s, spec.high_s)
        case SequenceSpec():
            return dists.Sequence(tuple(spec.values_s))
        case NeverSpec():
            return dists.Never()
    raise TypeError(f"not a distribution spec: {spec!r}")


# ---------------------------------------------------------------- behaviour


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
    burst: Annotated[int, Field(ge=1)] = 3


class CircuitBreaker(Strict):
    """After `failures` failed attempts in a row, the client stops for `open_s` seconds."""

    failures: Annotated[int, Field(ge=1)]
    open_s: PositiveFloat


class Behaviour(Strict):
    """How people wait, give up and retry."""

    patience: DurationSpec = LognormalSpec(kind="lognormal", mean_s=20.0, cv=1.0)
    patience_covers: Literal["response", "wait"] = "response"
    retry_probability: Probability = 0.9
    max_attempts: Annotated[int, Field(ge=1)] = 6
    backoff: BackoffSpec = JitterBackoff(kind="exponential_jitter", base_s=10.0)
    retry_budget: RetryBudget | None = None
    circuit_breaker: CircuitBreaker | None = None


# ---------------------------------------------------------------- platform


Role = Literal["pupil", "teacher", "other"]


class LinearSlowdown(Strict):
    """Service time x ``1 + slope * (n - knee)`` when n > knee requests are in progress."""

    kind: Literal["linear"]
    knee: Annotated[int, Field(ge=1)]
    slope: NonNegFloat


class UslSlowdown(Strict):
    """Universal scalability law: service time x ``1 + alpha (n-1) + beta n (n-1)``."""

    kind: Literal["usl"]
    alpha: NonNegFloat
    beta: NonNegFloat = 0.0


SlowdownSpec = Annotated[LinearSlowdown | UslSlowdown, Field(discriminator="kind")]


class Crash(Strict):
    """A server crashes when its backlog passes a threshold, and restarts later."""

    backlog_above: Annotated[int, Field(ge=0)]
    restart: ServiceTimeSpec = LognormalSpec(kind="lognormal", mean_s=180.0, cv=0.5)
    detection_s: NonNegFloat = 10.0
    while_undetected: Literal["refused", "hang"] = "refused"


class RateLimit(Strict):
    """Per-address token bucket in front of a service (excess requests are blocked)."""

    per_address_per_s: PositiveFloat
    burst: Annotated[int, Field(ge=1)] = 20


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

    target_utilization: Annotated[float, Field(gt=0, le=1)] = 0.7
    period_s: PositiveFloat = 60.0
    boot_s: NonNegFloat = 120.0
    max_servers: Annotated[int, Field(ge=1)]


class Service(Strict):
    """A pool of identical servers behind a load balancer."""

    servers: Annotated[int, Field(ge=1)]
    workers_per_server: Annotated[int, Field(ge=1)] = 1
    backlog_per_server: Annotated[int, Field(ge=0)] = 100
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
    max_sessions: Annotated[int, Field(ge=1)] | None = None
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


class AttackWave(Strict):
    """One attack: an application flood on a service or a volumetric flood on a link."""

    name: str
    kind: Literal["application", "volumetric"]
    target: str
    start: ClockTime
    duration_min: PositiveFloat
    rate_per_s: NonNegFloat = 0.0
    gbps: NonNegFloat = 0.0
    bots: Annotated[int, Field(ge=1)] = 1000
    cost: PositiveFloat = 1.0


class AttackGenerator(Strict):
    """`waves` attacks with starts spread at random between `first` and `last`, durations
    drawn from `duration`, intensity multiplied by `growth` from one wave to the next."""

    name: str
    kind: Literal["application", "volumetric"]
    target: str
    waves: Annotated[int, Field(ge=1)]
    first: ClockTime
    last: ClockTime
    duration: ServiceTimeSpec = LognormalSpec(kind="lognormal", mean_s=360.0, cv=1.0)
    rate_per_s: NonNegFloat = 0.0
    gbps: NonNegFloat = 0.0
    growth: PositiveFloat = 1.0
    bots: Annotated[int, Field(ge=1)] = 1000
    cost: PositiveFloat = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> AttackGenerator:
        if clock_to_s(self.last) < clock_to_s(self.first):
            raise ValueError("last must not be before first")
        return self


class Classroom(Strict):
    """Virtual-classroom servers: each class is placed on one server and uses its seats."""

    servers: Annotated[int, Field(ge=1)]
    seats_per_server: Annotated[int, Field(ge=1)] = 250
    class_size: Annotated[int, Field(ge=1)] = 25


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


def _step_kind(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("kind", "request")
    return getattr(value, "kind", "request")


Step = Annotated[
    Annotated[RequestStep, Tag("request")]
    | Annotated[ClassStep, Tag("class")]
    | Annotated[GateStep, Tag("gate")]
    | Annotated[SessionStep, Tag("session")],
    Discriminator(_step_kind),
]


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
    count: Annotated[int, Field(ge=0)]
    journey: str
    class_starts: Annotated[list[ClockTime], Field(min_length=1)] = ["09:00"]
    class_start_shares: list[Probability] | None = None
    connect: ConnectSpec = NormalOffset(kind="normal", mean_min=-5.0, sd_min=5.0)
    class_group: str | None = None
    behaviour: Behaviour | None = None
    people_per_address: Annotated[int, Field(ge=1)] = 1
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
    rates: list[RatePiece] | None = None
    behaviour: Behaviour | None = None

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
    capacity_factor: PositiveFloat = 1.0
    servers: dict[str, Annotated[int, Field(ge=1)]] = {}


class Scenario(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 1
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
        if self.platforms or self.templates:
            from sim.platforms import flatten  # platforms are checked on their expansion

            flatten(self)
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


# ---------------------------------------------------------------- loading


def load_scenario(path: Path | str, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, override and validate a scenario file; raise :class:`ScenarioError`."""
    path = Path(path)
    return scenario_from_dict(read_raw(path), overrides, source=str(path))


MAX_EXTENDS_DEPTH = 8


def read_raw(path: Path, depth: int = 0) -> dict[str, Any]:
    """The TOML content of `path`, merged over the file it ``extends`` (if any).

    ``extends = "other.toml"`` (relative to this file) starts from that scenario: tables
    are merged key by key, every other value (arrays included: cohorts, attacks)
    replaces the base's. A variant then states only what differs.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {path}") from None
    except IsADirectoryError:
        raise ScenarioError(f"scenario {path} is a folder, not a TOML file") from None
    except OSError as err:
        raise ScenarioError(f"cannot read scenario file {path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: malformed TOML: {err}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    base = raw.pop("extends", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ScenarioError(f"{path}: field 'extends' must be a file name (a string)")
    if depth >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"{path}: 'extends' goes more than {MAX_EXTENDS_DEPTH} files deep")
    return _merge(read_raw(path.parent / base, depth + 1), raw)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def scenario_from_dict(
    raw: dict[str, Any], overrides: list[str] | tuple[str, ...] = (), source: str = "scenario"
) -> Scenario:
    """Validate `raw`, apply ``dotted.path=value`` overrides, validate again."""
    scenario = _validate(raw, source)
    if not overrides:
        return scenario
    resolved = to_dict(scenario)
    for override in overrides:
        apply_override(resolved, override)
    return _validate(resolved, f"{source} with --set")


def _validate(raw: dict[str, Any], source: str) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(f"{source}: {describe_error(err, raw)}") from None


# ---------------------------------------------------------------- error messages


def describe_error(err: ValidationError, data: Any = None) -> str:
    """One line naming the offending field and what is allowed there.

    An unknown key is reported before anything else (a misspelt key usually also makes a
    required one missing, and the misspelling is the real mistake); otherwise the first
    error. `data` is the validated input: given, list elements with a name (cohorts,
    sources) are shown by name, as ``--set`` addresses them.
    """
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc, kind, got = first["loc"], first["type"], first.get("input")
    where, schema = _follow(loc, data)
    if kind == "extra_forbidden":
        _, parent = _follow(loc[:-1], data)
        allowed = f"; allowed keys: {', '.join(_keys(parent))}" if _is_model(parent) else ""
        return f"unknown key '{where}'{allowed}"
    if kind == "missing":
        return f"missing required field '{where}'"
    tags = _union_members(schema)
    if kind == "union_tag_invalid" and tags:
        tag = first.get("ctx", {}).get("tag")
        return f"field '{_join(where, 'kind')}': Input should be {_one_of(tags)} (got {tag!r})"
    if tags and not isinstance(got, dict):
        return f"field '{where}': Input should be a table with kind = {_one_of(tags)}{_got(got)}"
    if kind == "union_tag_not_found":
        return f"missing required field '{_join(where, 'kind')}': one of {_one_of(tags)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "Input should be a table"
    else:
        message = first["msg"].removeprefix("Value error, ")
    shown = "" if repr(got) in message else _got(got)
    return f"field '{where}': {message}{shown}" if where else f"{message}{shown}"


def _got(value: Any) -> str:
    """`` (got 3)`` for a scalar input; nothing for a table or array."""
    if isinstance(value, dict | list) or value is None:
        return ""
    shown = repr(value)
    return f" (got {shown if len(shown) <= 60 else shown[:56] + ' ...'})"


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _one_of(values: Any) -> str:
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _follow(loc: tuple[Any, ...], data: Any = None) -> tuple[str, Any]:
    """Follow a pydantic error location down from :class:`Scenario`.

    Returns the dotted path as the user writes it (union tags such as 'exponential'
    left out, named list elements shown by name when `data` is given) and the schema
    type found there (None where the schema does not go).
    """
    schema: Any = Scenario
    node, shown = data, []
    for part in loc:
        schema = _strip(schema)
        members = _union_members(schema)
        if part in members:  # pydantic's tag of a union member: not written by the user
            schema = members[part]
            continue
        schema = _child(schema, part)
        label = str(part)
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str) and name and not name.isdigit():
                label = name
        else:
            node = node.get(part) if isinstance(node, dict) else None
        shown.append(label)
    return ".".join(shown), _strip(schema)


def _strip(tp: Any) -> Any:
    """`tp` without ``Annotated[...]`` and without the None of ``X | None``."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if _is_union(tp):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _union_members(tp: Any) -> dict[str, Any]:
    """The members of a tagged union by tag (a ``Tag`` or their ``kind`` literal)."""
    if not _is_union(tp):
        return {}
    members: dict[str, Any] = {}
    for arg in get_args(tp):
        metadata = get_args(arg)[1:] if get_origin(arg) is Annotated else ()
        tags = [m.tag for m in metadata if isinstance(m, Tag)]
        member = _strip(arg)
        if not tags and _is_model(member) and "kind" in member.model_fields:
            tags = list(get_args(member.model_fields["kind"].annotation))
        members.update(dict.fromkeys(tags, member))
    return members


def _child(tp: Any, key: Any) -> Any:
    """The schema type one level below `tp` at `key` (a field, dict key or list index)."""
    if _is_model(tp):
        for name, field in tp.model_fields.items():
            if key in (name, field.alias):
                return field.annotation
        return None
    if get_origin(tp) is dict:
        return get_args(tp)[1]
    if get_origin(tp) is list:
        return get_args(tp)[0]
    return None


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys a table of `model` may hold, in declaration order."""
    return [field.alias or name for name, field in model.model_fields.items()]


# ---------------------------------------------------------------- --set overrides


def apply_override(data: dict[str, Any], override: str) -> None:
    """Apply one ``dotted.path=value`` to the resolved scenario `data` in place.

    The path must exist in `data`, except that its last key may be an optional field
    of that table that is not set (``cohorts.teachers.class_group``) or a new entry of a
    named map (``gates.room={max_new_per_s=10}``). The value is read
    as a TOML value (``3``, ``0.5``, ``true``, ``"08:00"``, ``{kind="exponential",
    mean_s=1}``); anything that is not valid TOML is taken as a plain string, so
    ``--set start=08:00`` works without quotes. A list element may be addressed by its
    index or, for lists of named tables (cohorts, sources), by its name.
    """
    path, sep, text = override.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ScenarioError(f"--set expects dotted.path=value, got {override!r}")
    parts = path.split(".")
    node: Any = data
    schema: Any = Scenario
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        schema = _strip(schema)
        if isinstance(node, dict):
            members = _union_members(schema)
            schema = members.get(node.get("kind"), schema) if members else schema
            keys = _keys(schema) if _is_model(schema) else sorted(node)
            new_entry = last and get_origin(schema) is dict  # a new service, gate, ...
            if part not in node and not (last and part in keys) and not new_entry:
                if part in keys:
                    raise ScenarioError(
                        f"--set {path}: '{where}' is not set; set the whole table "
                        f"with --set {where}={{...}}"
                    )
                allowed = ", ".join(keys) or "(none)"
                raise ScenarioError(f"--set {path}: unknown key '{where}'; allowed keys: {allowed}")
            key: Any = part
        elif isinstance(node, list):
            key = _list_index(node, part, path, where)
        else:
            raise ScenarioError(f"--set {path}: '{'.'.join(parts[:depth])}' has no sub-fields")
        if last:
            node[key] = parse_value(text)
            return
        node = node[key]
        schema = _child(schema, key)


def _list_index(node: list[Any], part: str, path: str, where: str) -> int:
    """The index in `node` addressed by `part`: an index, or a name of a named table."""
    if part.isdigit() and int(part) < len(node):
        return int(part)
    names = [item.get("name") for item in node if isinstance(item, dict)]
    if part in names:
        return names.index(part)
    allowed = f"an index 0..{len(node) - 1}" if node else "no index (the list is empty)"
    named = [str(n) for n in names if n]
    or_names = f" or a name: {', '.join(named)}" if named else ""
    raise ScenarioError(f"--set {path}: no element '{where}'; use {allowed}{or_names}")


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML if it is exactly one TOML value, else the raw string.

    TOML dates and times come back as their text: the schema has none, and a clock time
    with seconds (``08:00:30``) is TOML's local time.
    """
    text = text.strip()
    try:
        document = tomllib.loads(f"v = {text}")
    except (tomllib.TOMLDecodeError, RecursionError):
        return text
    if list(document) != ["v"]:  # more than one value, e.g. "3\nservers = 5"
        return text
    return _plain(document["v"])


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_dict(scenario: Scenario) -> dict[str, Any]:
    """The fully resolved scenario as plain data (defaults filled, no None values)."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)


def to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML text."""
    return tomli_w.dumps(to_dict(scenario))
