"""Schema of the population and of the whole scenario, with its consistency checks.

Two types of scenario: :class:`Scenario`, as written (platforms as templates, what
``sim show`` prints and a results folder's ``scenario.toml`` keeps), and
:class:`FlatScenario`, the same with every platform expanded (``occitanie/login``), the
only type the model, the runner and the resource estimates take. A scenario is expanded
once, when it is validated (its platforms are checked on their expansion), and keeps its
expansion: ``scenario.flat``.
"""

import datetime as dt
import math
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from sim.config.base import (
    MAX_PEOPLE,
    MAX_SERVERS,
    ClockTime,
    NonNegFloat,
    PositiveFloat,
    Probability,
    Strict,
    at_most,
    clock_to_s,
    count,
)
from sim.config.costs import Costs
from sim.config.expand import expand
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
from sim.config.schema_walk import error_line
from sim.config.uncertain import UNCERTAIN_DESCRIPTION, UncertainRange, check_ranges

MAX_SEED = 2**63 - 1
"""Seeds are written to records and tables as 64-bit integers (pandas, CSV)."""

# ---------------------------------------------------------------- population


class NormalOffset(Strict):
    """Intended connect time = class start + Normal(mean_min, sd_min) minutes."""

    kind: Literal["normal"] = Field(description="which offset")
    mean_min: float = Field(description="mean offset from the class start (min; negative: before)")
    sd_min: NonNegFloat = Field(description="standard deviation (min)")


class UniformOffset(Strict):
    """Intended connect time = class start + Uniform(low_min, high_min) minutes."""

    kind: Literal["uniform"] = Field(description="which offset")
    low_min: float = Field(
        description="earliest offset from the class start (min; negative: before)"
    )
    high_min: float = Field(description="latest offset (min)")

    @model_validator(mode="after")
    def _ordered(self) -> "UniformOffset":
        if self.high_min < self.low_min:
            raise ValueError("high_min must be >= low_min")
        return self


ConnectSpec = Annotated[NormalOffset | UniformOffset, Field(discriminator="kind")]


class Cohort(Strict):
    """People of one role who intend to connect around their class start: each person's
    intended connect time is their class start plus a random offset (`connect`)."""

    name: str = Field(description="unique name (of cohorts and sources)")
    role: Literal["pupil", "teacher", "other"] = Field(description="the role of its people")
    # the description in the annotation: a default here would hide the function count()
    # from the annotations below, which are read after the class body
    count: Annotated[
        int,
        Field(ge=0, description="people in the cohort"),
        at_most(MAX_PEOPLE, "people", "more than the world's population"),
    ]
    journey: str = Field(
        description="journey name (`journeys`; with `platform`, that platform's journey)"
    )
    class_starts: Annotated[list[ClockTime], Field(min_length=1)] = Field(
        ["09:00"], description="class start times"
    )
    class_start_shares: list[Probability] | None = Field(
        None, description="share of the cohort per class start, summing to 1 (none: equal shares)"
    )
    connect: ConnectSpec = Field(
        NormalOffset(kind="normal", mean_min=-5.0, sd_min=5.0),
        description="intended connect time relative to the class start",
    )
    class_group: str | None = Field(
        None,
        description=(
            "cohorts sharing a group share classes: each teacher opens one class, pupils are "
            "dealt to the classes in turn"
        ),
    )
    behaviour: BehaviourPatch | None = Field(
        None,
        description=(
            "own patience and retries: the fields it sets, over the scenario's `[behaviour]`"
        ),
    )
    people_per_address: count(MAX_SERVERS, "people per address", 1) = Field(
        1,
        description="people sharing one source address (a school or carrier NAT), for rate limits",
    )
    platform: str | None = Field(
        None, description="platform whose journey `journey` the cohort follows (`platforms`)"
    )

    @model_validator(mode="after")
    def _shares(self) -> "Cohort":
        shares = self.class_start_shares
        if shares is not None:
            if len(shares) != len(self.class_starts):
                raise ValueError("class_start_shares needs one share per class start")
            if not math.isclose(sum(shares), 1.0, abs_tol=1e-9):
                raise ValueError("class_start_shares must sum to 1")
        return self


class RatePiece(Strict):
    """One piece of a piecewise-constant arrival rate."""

    model_config = ConfigDict(populate_by_name=True)
    start: ClockTime = Field(alias="from", description="from this clock time on")
    rate_per_s: NonNegFloat = Field(description="arrivals per second until the next piece")


class OpenSource(Strict):
    """Poisson arrivals at a constant or piecewise-constant rate (textbook cases)."""

    name: str = Field(description="unique name (of cohorts and sources)")
    journey: str = Field(description="journey name (no class step: classes belong to cohorts)")
    role: Literal["pupil", "teacher", "other"] = Field(
        "other", description="role of the people it brings"
    )
    rate_per_s: NonNegFloat | None = Field(
        None, description="constant Poisson rate from the start (give this or `rates`)"
    )
    rates: Annotated[list[RatePiece], Field(min_length=1)] | None = Field(
        None,
        description=(
            'piecewise-constant rate, `[{from="08:00", rate_per_s=2.0}, ...]` (give this or '
            "`rate_per_s`)"
        ),
    )
    behaviour: BehaviourPatch | None = Field(
        None,
        description=(
            "own patience and retries: the fields it sets, over the scenario's `[behaviour]`"
        ),
    )

    @model_validator(mode="after")
    def _one_rate(self) -> "OpenSource":
        if (self.rate_per_s is None) == (self.rates is None):
            raise ValueError("give exactly one of rate_per_s or rates")
        if self.rates is not None:
            starts = [clock_to_s(p.start) for p in self.rates]
            if starts != sorted(starts) or len(set(starts)) != len(starts):
                raise ValueError("rates must be in increasing order of 'from'")
        return self


MAX_BIN_S = 3600
"""The widest time-series bin: an hour."""
MAX_SERVICE_BINS = 1_000_000
"""Bins x services a bin finer than a minute may make: each service keeps, per bin, its
counts, levels and a latency histogram (about 4.7 kB, see
:data:`sim.simulation.resources.BYTES_PER_SERVICE_BIN`), so a million is about 4.5 GB."""


def _whole_seconds(value: Any) -> Any:
    """A bin width is a whole number of seconds from 1 to :data:`MAX_BIN_S` (said so,
    rather than pydantic's "a valid integer" or "greater than or equal to 1")."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or not 1 <= value <= MAX_BIN_S:
        raise ValueError(f"a whole number of seconds from 1 to {MAX_BIN_S} (got {value!r})")
    return value


class Measure(Strict):
    """What the statistics leave out, and how finely the time series are binned."""

    warmup_min: NonNegFloat = Field(
        0.0,
        description=(
            "requests submitted before start + warm-up are left out of per-service waits (min)"
        ),
    )
    bin_s: Annotated[int, BeforeValidator(_whole_seconds), Field(ge=1, le=MAX_BIN_S)] = Field(
        60,
        description=(
            "width of the time-series bins (s): a whole number of seconds from 1 to 3600. "
            "Counts in `timeseries.csv` are per bin, levels are means over the bin, latency "
            "percentiles of the requests answered in it; a last bin cut short by `end` holds "
            "what happened until `end` (its levels are means over the whole bin width). "
            "Finer than a minute, bins x services may be at most 10^6 (memory)"
        ),
    )


def _check_day(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"a day must look like '2021-04-06', got {value!r}") from None
    if len(value) != 10:
        raise ValueError(f"a day must look like '2021-04-06', got {value!r}")
    return value


class Replay(Strict):
    """A real morning's people from a web server's access log: each person's first
    request of the day is when they intend to connect, in place of the cohorts' drawn
    offsets (docs/how-to/access-logs.md)."""

    log: Annotated[str, Field(min_length=1)] = Field(
        description="the access log (nginx, apache or csv; gzip too): a path relative to "
        "the scenario file's folder, recorded absolute in a results folder"
    )
    format: Literal["auto", "nginx", "apache", "csv"] = Field(
        "auto", description="the log's format; auto tells it from the first line"
    )
    mapping: Annotated[str, Field(min_length=1)] | None = Field(
        None,
        description="a TOML file mapping paths to services, requests to roles and people "
        "(relative like `log`; none: one service, everybody a pupil, people by user)",
    )
    day: Annotated[str, AfterValidator(_check_day)] | None = Field(
        None, description="which day of a log of several, `YYYY-MM-DD` (none: the first)"
    )
    digest: str | None = Field(
        None,
        description="the content hash of the log and mapping, filled when the scenario "
        "is loaded: a log changed since is refused, and stored runs are keyed by it",
    )


class Scenario(Strict):
    """A morning: who connects when, through which services, under which attacks."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] = Field(
        description="scenario name (letters, digits, `_.-`); names the results folder"
    )
    description: str = Field("", description="free text")
    seed: Annotated[
        int, Field(ge=0), at_most(MAX_SEED, "", "a seed is stored as a 64-bit integer")
    ] = Field(1, description="seed of every random stream (`--seed` overrides)")
    start: ClockTime = Field("07:00", description="simulation start (clock time)")
    end: ClockTime = Field("10:00", description="simulation end (clock time, after `start`)")
    scale: PositiveFloat = Field(
        1.0,
        description=(
            "the fraction of the original morning's people and capacities this scenario "
            "holds: set by `--scale` (scaling twice multiplies it), kept in a results "
            "folder's `scenario.toml`. A label shown with the results: the counts here are "
            "already scaled, and it scales nothing again"
        ),
    )
    behaviour: Behaviour = Field(
        Behaviour(),
        description="patience and retries of everybody (cohorts and sources may override)",
    )
    templates: dict[str, Template] = Field({}, description="platform templates")
    platforms: dict[str, PlatformSpec] = Field({}, description="platforms built from templates")
    services: dict[str, Service] = Field({}, description="the services")
    classrooms: dict[str, Classroom] = Field({}, description="virtual-classroom seat pools")
    journeys: dict[str, Annotated[list[Step], Field(min_length=1)]] = Field(
        {}, description="the steps people go through: a service name, or a step table"
    )
    cohorts: list[Cohort] = Field([], description="populations with class starts")
    sources: list[OpenSource] = Field([], description="open Poisson arrival sources")
    links: dict[str, Link] = Field({}, description="edge links")
    gates: dict[str, Gate] = Field({}, description="admission gates")
    attacks: list[AttackWave] = Field([], description="explicit attack waves")
    attack_generators: list[AttackGenerator] = Field([], description="generated attack waves")
    measure: Measure = Field(Measure(), description="what the statistics leave out")
    replay: Replay | None = Field(
        None,
        description="the cohorts' people and connect times from an access log: each "
        "cohort's count becomes the log's people dealt to it",
    )
    uncertain: dict[str, UncertainRange] = Field({}, description=UNCERTAIN_DESCRIPTION)
    costs: Costs | None = Field(
        None,
        description="what the morning costs (currency, defences per day, the value of "
        "lost lessons): turns on the cost KPIs; prices of servers are on the services "
        "and classrooms",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Scenario":
        if clock_to_s(self.end) <= clock_to_s(self.start):
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.uncertain:  # checked on the scenario as written (its expansion has none)
            data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
            check_ranges(data, self.uncertain, Scenario)
        if self.replay is not None and not self.cohorts:
            raise ValueError("replay: the log's people join cohorts, and there is none")
        for kind, groups in (("cohorts", self.cohorts), ("sources", self.sources)):
            for group in groups:
                try:
                    self.behaviour_of(group)
                except ValidationError as err:
                    reason = err.errors()[0]["msg"].removeprefix("Value error, ")
                    raise ValueError(
                        f"{kind}.{group.name}.behaviour over the scenario's [behaviour]: {reason}"
                    ) from None
        _check_priced(self)
        if self.platforms or self.templates:
            self._check_platforms()
            return self
        if not self.services:
            raise ValueError("a scenario needs at least one service")
        self._check_bins()
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
            if service.max_sessions is not None and name not in _session_services(self):
                raise ValueError(
                    f"services.{name}.max_sessions: no session step uses {name!r} (only "
                    "a journey's `session` steps open sessions)"
                )
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
    def bins(self) -> int:
        """Time-series bins of the run: the last one may be cut short by `end`."""
        return max(1, math.ceil((self.end_s - self.start_s) / self.measure.bin_s))

    def _check_bins(self) -> None:
        """Bins finer than a minute, times services, bounded (:data:`MAX_SERVICE_BINS`):
        memory grows with both, and a day at 1 s with many services would not fit."""
        bin_s, services = self.measure.bin_s, len(self.services)
        if bin_s >= 60 or self.bins * services <= MAX_SERVICE_BINS:
            return
        duration = self.end_s - self.start_s
        least = math.ceil(duration * services / MAX_SERVICE_BINS)
        while least < 60 and math.ceil(duration / least) * services > MAX_SERVICE_BINS:
            least += 1
        raise ValueError(
            f"measure.bin_s = {bin_s} makes {self.bins:,} bins x {services} services = "
            f"{self.bins * services:,} series bins, each with a latency histogram; at most "
            f"{MAX_SERVICE_BINS:,} (about 4.5 GB): use bin_s >= {least}"
        )

    def _check_platforms(self) -> None:
        """Platforms are checked on their expansion, kept for every later use."""
        self.flat  # noqa: B018 (computed and cached: the check)

    @cached_property
    def flat(self) -> "FlatScenario":
        """This scenario with every platform expanded: what the model runs. Made once
        (when the scenario is validated, if it has platforms) and kept with it; a copy
        with other values (``model_copy(update=...)``) makes its own."""
        return FlatScenario.expanded_from(self)

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any:
        """A copy of the scenario; with `update`, its expansion is made again from the
        copy (the kept one is of other values)."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy.__dict__.pop("flat", None)
        return copy

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


class FlatScenario(Scenario):
    """A scenario with every platform expanded and no template left: the only type the
    model, the runner and the resource estimates take, so that a scenario with platforms
    cannot reach them unexpanded. Made by :attr:`Scenario.flat`, which keeps it; a
    platform's service is named ``<platform>/<service>``. :attr:`source` is the
    scenario as written, which a results folder keeps."""

    _source: Scenario = PrivateAttr()

    @classmethod
    def expanded_from(cls, scenario: Scenario) -> "FlatScenario":
        """`scenario` expanded (:func:`sim.config.expand.expand`) and validated; a
        ValueError (one line) if the expansion is not a valid scenario."""
        if scenario.platforms or scenario.templates:
            data = expand(scenario)
            try:
                flat = cls.model_validate(data)
            except ValidationError as err:
                reason = error_line(err, data, root=cls)
                raise ValueError(f"with platforms expanded: {reason}") from None
        else:  # nothing to expand: the values, validated already, are shared
            flat = _same_values(cls, scenario)
        # the source without its expansion: a scenario and its expansion holding each
        # other would be a reference cycle (and == would chase it for ever)
        flat._source = _same_values(Scenario, scenario)
        return flat

    def _check_platforms(self) -> None:
        raise ValueError(
            "an expanded scenario has no templates or platforms (expand a scenario with "
            "Scenario.flat)"
        )

    @property
    def flat(self) -> "FlatScenario":  # type: ignore[override]
        """Itself: it is expanded."""
        return self

    @property
    def source(self) -> Scenario:
        """The scenario as written (platforms as templates), for ``scenario.toml``."""
        return self._source

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any:
        """A copy; never with other values, which would leave :attr:`source` behind:
        change the scenario as written (:attr:`source`) and expand that."""
        if update:
            raise TypeError(
                "an expanded scenario is not changed: copy the scenario as written "
                "(FlatScenario.source) with the update, then expand it (.flat)"
            )
        return super().model_copy(deep=deep)


def _same_values(cls: type[Scenario], scenario: Scenario) -> Any:
    """A `cls` holding `scenario`'s values (validated already: not again), nothing else."""
    values = {name: getattr(scenario, name) for name in Scenario.model_fields}
    return cls.model_construct(scenario.model_fields_set, **values)


def require_flat(scenario: object, needed_by: str) -> FlatScenario:
    """`scenario` if it is expanded; else a TypeError saying so (a scenario with platforms
    would reach `needed_by` with its templates unexpanded)."""
    if not isinstance(scenario, FlatScenario):
        raise TypeError(
            f"{needed_by} takes the expanded scenario (a FlatScenario: scenario.flat), "
            f"not a {type(scenario).__name__}"
        )
    return scenario


def _check_priced(scenario: Scenario) -> None:
    """A price on a service or classroom counts only with a ``[costs]`` table (which
    turns the cost KPIs on): without one it would do nothing, so it is refused."""
    if scenario.costs is not None:
        return
    parts = [("", scenario), *((f"templates.{n}.", t) for n, t in scenario.templates.items())]
    for prefix, part in parts:
        for kind in ("services", "classrooms"):
            for name, spec in getattr(part, kind).items():
                for field in ("cost_per_server_hour", "cost_per_instance_hour"):
                    if getattr(spec, field, None) is not None:
                        raise ValueError(
                            f"{prefix}{kind}.{name}.{field}: a price counts only with a "
                            "[costs] table, which turns the cost KPIs on; add [costs] "
                            '(e.g. currency = "EUR")'
                        )


def _session_services(scenario: Scenario) -> set[str]:
    """The services some journey's session step uses: where `max_sessions` acts."""
    steps = (step for steps in scenario.journeys.values() for step in steps)
    return {step.service for step in steps if isinstance(step, SessionStep)}


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
