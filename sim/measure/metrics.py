"""The one registry of metrics: each name's words, unit, kind and range, so that a KPI is
called the same thing, written in the same unit and given the same kind of interval in
the terminal tables, CSV files, figures and reports.

A metric is ``kpi.<name>``, ``kpi.by_role.<role>.<name>``, ``kpi.by_cohort.<cohort>.<name>``
or ``services.<service>.<name>``. Per role and per cohort, the KPI keeps its words and the
group is named after them ("in class by class start + 5 min, pupils").

Words used once and for all (the glossary of docs/explanation/concepts.md says the same):

- *in class* (``in_class``, ``share_in_class*``, ``time_to_class*``): got in, that is
  seated in a lesson, or through every step of a journey that has no class (a portal,
  a session): the platform did its job for that person.
- *in a lesson* (the per-bin ``in_lesson`` series): seated in a virtual class during
  that time bin; zero all morning where journeys have no class step.
- *barred*: refused by a policy gate (parents in school hours): neither a failure of the
  platform nor giving up, and left out of every share and percentile.
- *gave up*: stopped trying after failures, never got in.
- *unavailable* (a service's ``unavailable_minutes``): the time, in minutes, of the time
  bins (``measure.bin_s``, a minute by default) in which at least half of its requests
  got no useful answer, or no server was up. Not the same as *availability*,
  the share of server-time its servers were up: an overloaded service with every server
  up has availability 1 and can still be unavailable for many minutes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

ROLE_WORDS = {"pupil": "pupils", "teacher": "teachers", "other": "others (parents...)"}

SHARE, TIME, NUM, CLOCK = "share", "s", "num", "clock"
"""The kinds of metric: a fraction (written in per cent), a duration in seconds, a count
or another number, and a clock time (``HH:MM``, not a number: in summary.json only)."""

PEOPLE, RUN, SERVICE, STUDY, COST = "people", "run", "service", "study", "cost"
"""Where a metric comes from: a KPI of a set of people (``kpi.<name>``, and the same per
role and per cohort), a KPI of the whole run only (``kpi.<name>``), a total of one
service (``services.<service>.<name>``), a KPI an options study adds to each run, or a
KPI of what a run cost (only with a ``[costs]`` table: :mod:`sim.measure.costs`)."""

MONEY = "¤"
"""The unit of a cost in the registry: the currency sign, which :func:`metric` writes as
the currency of the scenario being shown (:func:`priced_in`; ``EUR`` by default)."""
_CURRENCY: ContextVar[str] = ContextVar("currency", default="EUR")


@contextmanager
def priced_in(currency: str | None) -> Iterator[None]:
    """Within the block, costs are written in `currency` (a scenario's
    ``costs.currency``; None: unchanged): every table, figure and page that shows a
    cost reads its unit from :func:`metric`, and a scenario says its currency once."""
    if currency is None:
        yield
        return
    token = _CURRENCY.set(currency)
    try:
        yield
    finally:
        _CURRENCY.reset(token)


def currency_of(scenario: object) -> str | None:
    """The currency of a scenario's ``[costs]``; None without one."""
    costs = getattr(scenario, "costs", None)
    return None if costs is None else costs.currency


@dataclass(frozen=True)
class Metric:
    """What a metric is called, in which unit it is written, which values it can take and
    what it counts.

    `kind` is ``share`` (a fraction, written in per cent), ``s`` (a duration), ``num``
    (a count or another number) or ``clock`` (a clock time); `low` and `high` bound its
    possible values, which bound its confidence intervals too
    (:func:`sim.experiments.execution.estimate`). In the registry, `name` is the name
    under its `scope` (``gave_up``); :func:`metric` gives it in full
    (``kpi.by_role.pupil.gave_up``), with the group or service in its label.
    """

    name: str
    label: str
    kind: str
    unit: str
    low: float = 0.0
    high: float = math.inf
    none_text: str = "undefined"  # what a missing value (null in JSON) means
    meaning: str = ""
    scope: str = ""

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    @property
    def pattern(self) -> str:
        """The metric's full name, its group or service as a placeholder:
        ``kpi.gave_up``, ``services.<service>.p95_wait_s``."""
        return f"services.<service>.{self.name}" if self.scope == SERVICE else f"kpi.{self.name}"


def _count(scope: str, name: str, counts: str, label: str, meaning: str) -> Metric:
    """A count (or a mean of counts) of `counts`: people, attempts, requests..."""
    return Metric(name, label, NUM, counts, meaning=meaning, scope=scope)


def _share(scope: str, name: str, label: str, meaning: str, none: str = "undefined") -> Metric:
    return Metric(name, label, SHARE, "%", 0.0, 1.0, none, meaning, scope)


def _time(scope: str, name: str, label: str, meaning: str, none: str = "undefined") -> Metric:
    return Metric(name, label, TIME, "s", none_text=none, meaning=meaning, scope=scope)


def _clock(scope: str, name: str, label: str, meaning: str) -> Metric:
    return Metric(name, label, CLOCK, "", meaning=meaning, scope=scope)


_P = "people"
_SERVICE_COUNT = "count"

REGISTRY: dict[str, Metric] = {
    m.pattern: m
    for m in (
        # ---- the KPIs of a set of people: of everybody, of a role, of a cohort (in the
        # order of the keys of sim.measure.kpis.kpis(); a test keeps them in step)
        _count(PEOPLE, "people", _P, "people",
               "people in the scenario (cohort members, and the arrivals drawn for sources)"),
        _count(PEOPLE, "arrived", _P, "meant to connect during the run",
               "people whose intended connect time fell within the run"),
        _count(PEOPLE, "in_class", _P, "got in (in class)",
               "people who got in: seated in a lesson, or through every step of a journey "
               "without a class step"),
        _count(PEOPLE, "barred", _P, "barred by policy (not counted as failing)",
               "people a policy gate refused (a gate's blocked_roles): told so at once, no "
               "retry; left out of every share and percentile"),
        _count(PEOPLE, "gave_up", _P, "gave up for the morning",
               "people who stopped trying after failures and never got in"),
        _count(PEOPLE, "too_late", _P, "got in after their lesson ended",
               "people who got in after their lesson had ended"),
        _count(PEOPLE, "no_teacher", _P, "waited in the lobby until the end",
               "people who waited in the lobby until their lesson ended, no teacher came"),
        _count(PEOPLE, "still_trying_at_end", _P, "still trying when the run ended",
               "people still on their way when the run ended"),
        _share(PEOPLE, "share_in_class", "share who got in",
               "in_class over the people who tried (arrived and not barred)",
               none="nobody tried"),
        _share(PEOPLE, "share_in_class_5min_after_start", "in class by class start + 5 min",
               "of the people with a lesson (not parents, whose class start only anchors their "
               "connect time), the share in class by their class start + 5 min",
               none="nobody has a class"),
        _time(PEOPLE, "time_to_class_p50_s", "time to class, median",
              "median time from the intended connect time (or the run start) to in class, "
              "less any wait for the teacher; people who never got in count as infinitely late",
              none="unbounded: more than half never got in"),
        _time(PEOPLE, "time_to_class_p95_s", "time to class, 95th percentile",
              "95th percentile of the same times",
              none="unbounded: more than 5 % never got in"),
        _count(PEOPLE, "attempts", "attempts", "attempts",
               "attempts of people on their way (requests whose answer they wait for)"),
        _count(PEOPLE, "failed_attempts", "attempts", "failed attempts",
               "attempts that failed: timeout, backlog full, server down or an error answer, "
               "blocked, quota or session cap, class full"),
        _share(PEOPLE, "failed_attempts_share", "share of attempts that failed",
               "failed_attempts over attempts", none="no attempt"),
        # ---- the KPIs of the whole run
        _count(RUN, "peak_in_lesson", _P, "most people in a lesson at once",
               "most people seated in lessons in any time bin (the mean over the bin, "
               "measure.bin_s)"),
        _count(RUN, "classes_opened", "classes", "classes opened", "classes opened in the run"),
        _count(RUN, "attack_waves", "waves", "attack waves",
               "attack waves in the run (explicit and generated)"),
        _count(RUN, "attack_requests", "requests", "attack requests",
               "attack requests sent to services (application floods)"),
        _share(RUN, "attack_blocked_share", "share of attack requests blocked",
               "share of attack requests that defences blocked"),
        _count(RUN, "legit_blocked_by_defence", "requests",
               "legitimate requests blocked by defences",
               "legitimate requests blocked by a rate limit or scrubbing"),
        _count(RUN, "legit_lost_on_links", "requests", "legitimate requests lost on flooded links",
               "legitimate requests lost on a flooded edge link"),
        # ---- added to each run's record by an options study (sim.experiments.options)
        _count(STUDY, "worst_unavailable_minutes", "min",
               "longest unavailability of any service (min)",
               "(options studies) the unavailable_minutes of the service that was unavailable "
               "longest"),
        # ---- what the run cost, with a [costs] table only (sim.measure.costs)
        Metric("lost_class_hours", "class-hours lost", NUM, "h", scope=COST,
               none_text="no lesson",
               meaning="person-hours of lesson lost by the people with a lesson: from their "
               "class start (or connect time, if later) to getting in, at most the lesson; "
               "the rest of the lesson for whoever never got in"),
        Metric("cost.infrastructure", "cost of the infrastructure", NUM, MONEY, scope=COST,
               meaning="priced servers over the clock (autoscaled ones while in the pool), "
               "classroom servers, and a day of each priced defence"),
        Metric("cost.lost_class_hours", "value of the class-hours lost", NUM, MONEY,
               scope=COST, none_text="not valued (no costs.lost_class_hour)",
               meaning="the class-hours lost times the value of one (costs.lost_class_hour)"),
        Metric("cost.pupils_never_in", "value of the pupils who never got in", NUM, MONEY,
               scope=COST, none_text="not valued (no costs.pupil_never_in)",
               meaning="pupils who tried and never got in times the value of one "
               "(costs.pupil_never_in)"),
        Metric("cost.total", "total cost", NUM, MONEY, scope=COST,
               meaning="the infrastructure and the values of the lost teaching that are given"),
        # ---- per service (in the order of the keys of sim.measure.kpis.service_summary())
        _count(SERVICE, "capacity_workers", _SERVICE_COUNT, "capacity workers",
               "workers of the service at the start (servers x workers per server)"),
        _count(SERVICE, "arrivals", _SERVICE_COUNT, "arrivals",
               "requests that reached the service (people's attempts and the requests of "
               "sessions and lessons; attack traffic apart)"),
        _count(SERVICE, "served", _SERVICE_COUNT, "served",
               "requests the service worked on to the end"),
        _count(SERVICE, "abandoned", _SERVICE_COUNT, "abandoned",
               "requests whose client's patience ran out before the answer (a timeout)"),
        _count(SERVICE, "rejected", _SERVICE_COUNT, "rejected",
               "requests refused because the server's backlog was full"),
        _count(SERVICE, "wasted", _SERVICE_COUNT, "wasted",
               "requests served after their client had given up: work for nobody"),
        _count(SERVICE, "refused", _SERVICE_COUNT, "refused",
               "requests sent to a server that was down (connection refused)"),
        _count(SERVICE, "crash_lost", _SERVICE_COUNT, "crash lost",
               "requests queued or in progress on a server when it crashed"),
        _count(SERVICE, "dropped", _SERVICE_COUNT, "dropped",
               "queued requests removed because their client left (drop_abandoned)"),
        _count(SERVICE, "blocked", _SERVICE_COUNT, "blocked",
               "legitimate requests blocked by a defence (rate limit, scrubbing)"),
        _count(SERVICE, "lost", _SERVICE_COUNT, "lost",
               "legitimate requests lost on a flooded edge link (no answer)"),
        _count(SERVICE, "errors", _SERVICE_COUNT, "errors",
               "requests served but answered with an error (the service's error_probability)"),
        _count(SERVICE, "sessions_refused", _SERVICE_COUNT, "sessions refused",
               "sessions refused because the service's max_sessions were open"),
        _count(SERVICE, "peak_sessions", _SERVICE_COUNT, "peak sessions",
               "most session slots held at once (services with max_sessions; 0 elsewhere)"),
        _time(SERVICE, "mean_wait_s", "mean queue wait",
              "mean queue wait of the requests that started service (after the warm-up)"),
        _time(SERVICE, "p95_wait_s", "95 % of queue waits under",
              "95th percentile of those queue waits"),
        _share(SERVICE, "utilization", "utilisation (busy share of workers)",
               "busy worker-time over the capacity of the servers"),
        _count(SERVICE, "mean_queue", _SERVICE_COUNT, "mean queue",
               "time-averaged number of requests waiting in the backlogs"),
        _count(SERVICE, "peak_queue", _SERVICE_COUNT, "peak queue",
               "most requests waiting at once"),
        _share(SERVICE, "availability", "availability (share of server-time up)",
               "share of server-time the servers were up"),
        _count(SERVICE, "crashes", _SERVICE_COUNT, "crashes", "server crashes"),
        _time(SERVICE, "downtime_s", "downtime s", "time with no server up"),
        _count(SERVICE, "unavailable_minutes", "min",
               "unavailable (min with half the requests failing)",
               "minutes of the time bins (measure.bin_s) in which at least half the requests "
               "got no useful answer, or no server was up"),
        _clock(SERVICE, "unavailable_from", "unavailable from",
               "clock time of the start of the first such bin (null if none)"),
        _clock(SERVICE, "unavailable_until", "unavailable until",
               "clock time of the end of the last such bin (null if none)"),
        _count(SERVICE, "attack_requests", _SERVICE_COUNT, "attack requests",
               "attack requests sent to the service"),
        _count(SERVICE, "attack_blocked", _SERVICE_COUNT, "attack blocked",
               "attack requests blocked by a defence"),
        _count(SERVICE, "attack_rejected", _SERVICE_COUNT, "attack rejected",
               "attack requests refused because the backlog was full"),
        _count(SERVICE, "attack_served", _SERVICE_COUNT, "attack served",
               "attack requests the service worked on to the end"),
    )
}  # fmt: skip
"""Every metric, once: its name, words, kind, unit, range, what a missing value means and
what it counts. Adding a metric is adding its line here (and computing it)."""


def names(scope: str, kind: str | None = None) -> tuple[str, ...]:
    """The names of the metrics of `scope` (of `kind`, if given), in the registry's order:
    ``gave_up``, ``p95_wait_s``..."""
    return tuple(m.name for m in REGISTRY.values() if m.scope == scope and kind in (None, m.kind))


# ---------------------------------------------------------------- time series
# The columns of timeseries.csv (``Run.timeseries``), in their order. Their bins are
# ``measure.bin_s`` seconds wide (a minute by default): a count is a count per bin (never
# a rate: the bins of a column add up to the run's total), a level a mean over the bin.

PER_BIN, LEVEL, SECONDS, CLOCK_TEXT = "per bin", "level", "seconds", "clock"
"""The kinds of series: a count per bin, a time-weighted mean over the bin, a duration or
a time in seconds, a clock time (text)."""


@dataclass(frozen=True)
class Series:
    """A column of the time series: its name (a service's without ``<service>.``), what
    it counts or measures (``people``, ``requests``), its kind and its meaning."""

    name: str
    what: str
    kind: str
    meaning: str
    service: bool = False

    def unit(self, bin_s: int) -> str:
        """The unit of its values with bins `bin_s` seconds wide: ``requests/min``,
        ``requests per 10 s``, ``people`` (a level), ``s``."""
        return per_bin(self.what, bin_s) if self.kind == PER_BIN else self.what


def _series(kind: str, what: str, *columns: tuple[str, str], service: bool = False):
    return [Series(name, what, kind, meaning, service) for name, meaning in columns]


SERIES: dict[str, Series] = {
    s.name: s
    for s in (
        *_series(CLOCK_TEXT, "", ("clock", "the bin's start as a clock time, `HH:MM` "
                                  "(`HH:MM:SS` for bins that do not start on a minute)")),
        *_series(SECONDS, "s", ("bin_start_s", "the bin's start in seconds since midnight"),
                 ("bin_s", "the width of the bins (`measure.bin_s`, s); the last one may be "
                  "cut short by the run's end")),
        *_series(PER_BIN, "people",
                 ("intended", "people whose intended connect time fell in this bin")),
        *_series(PER_BIN, "attempts",
            ("attempts", "attempts of people on their way (requests whose answer they wait for)"),
            ("successes", "attempts answered in time"),
            ("fail_timeout", "attempts failed: no answer within the client's patience"),
            ("fail_rejected", "attempts failed: the server's backlog was full"),
            ("fail_error", "attempts failed: the server was down (a crash, connection refused) "
             "or answered an error (`error_probability`)"),
            ("fail_blocked", "attempts failed: refused by a defence (rate limit, scrubbing)"),
            ("fail_quota", "attempts failed: refused by an admission gate (quota, waiting room) "
             "or a service's session cap (`max_sessions`)"),
            ("fail_full", "attempts failed: the class's classroom server was full")),
        *_series(PER_BIN, "people",
            ("reached", "people who got in (in class, or through a journey without a class)"),
            ("gave_up", "people who gave up for the morning"),
            ("barred", "people refused by a policy gate (not counted as failing)")),
        *_series(PER_BIN, "classes",
            ("classes_opened", "classes a teacher opened (or that opened without a teacher)")),
        *_series(LEVEL, "people", ("in_lesson", "people seated in a lesson, mean over the bin "
                                   "(zero where no journey has a class)")),
        *_series(PER_BIN, "requests",
            ("arrivals", "requests that reached the service (people's attempts and the "
             "requests of sessions and lessons; attack traffic apart)"),
            ("served", "requests the service worked on to the end"),
            ("abandoned", "requests whose client's patience ran out before the answer"),
            ("rejected", "requests refused because the server's backlog was full"),
            ("wasted", "requests served after their client had given up: work for nobody"),
            ("refused", "requests sent to a server that was down (connection refused)"),
            ("crash_lost", "requests queued or in progress on a server when it crashed"),
            ("blocked", "legitimate requests blocked by a defence (rate limit, scrubbing)"),
            ("lost", "legitimate requests lost on a flooded edge link (no answer)"),
            ("errors", "requests served but answered with an error (`error_probability`)"),
            ("sessions_refused", "sessions refused because `max_sessions` were open"),
            service=True),
        *_series(PER_BIN, "crashes", ("crashes", "server crashes"), service=True),
        *_series(PER_BIN, "requests",
            ("attack_arrivals", "attack requests that reached the service"),
            ("attack_served", "attack requests the service worked on to the end"),
            service=True),
        *_series(LEVEL, "requests",
                 ("mean_queue", "requests waiting in the backlogs, mean over the bin"),
                 service=True),
        *_series(LEVEL, "workers", ("mean_busy", "busy workers, mean over the bin"),
                 service=True),
        *_series(LEVEL, "servers", ("mean_servers_up", "servers up, mean over the bin"),
                 service=True),
        *_series(LEVEL, "sessions", ("mean_sessions", "session slots held, mean over the bin "
                                     "(services with `max_sessions`)"), service=True),
        *_series(SECONDS, "s",
            ("latency_p50_s", "median response time of the requests answered in the bin, "
             "network delay included"),
            ("latency_p95_s", "95th percentile of those response times"),
            ("latency_p99_s", "99th percentile of those response times"),
            service=True),
    )
}  # fmt: skip
"""Every column of the time series, once: what it counts, its kind and meaning."""


def bin_words(bin_s: int) -> str:
    """A bin's width in words for a unit: ``min``, ``h``, ``5 min``, ``10 s``."""
    if bin_s == 60:
        return "min"
    if bin_s == 3600:
        return "h"
    return f"{bin_s // 60} min" if bin_s % 60 == 0 else f"{bin_s} s"


def bin_noun(bin_s: int) -> str:
    """A bin's width in words after "per" or "each": ``minute``, ``hour``, ``10 s``."""
    return {60: "minute", 3600: "hour"}.get(bin_s) or bin_words(bin_s)


def per_bin(what: str, bin_s: int) -> str:
    """A count per bin as a unit: ``requests/min`` (one-minute bins), ``requests/h``,
    ``requests per 10 s``: never ``/min`` for another bin."""
    words = bin_words(bin_s)
    return f"{what}/{words}" if " " not in words else f"{what} per {words}"


def series_unit(column: str, bin_s: int) -> str:
    """The unit of the column `column` of the time series (``login.arrivals`` or
    ``arrivals``) with bins `bin_s` seconds wide."""
    return SERIES[column.rpartition(".")[2]].unit(bin_s)


# ---------------------------------------------------------------- selections
# Which metrics a table, a figure or a sentence shows, and in which order: each a choice
# made once, here, and read by every output that makes it.

KEY_FIGURES = (
    "kpi.people",
    "kpi.in_class",
    "kpi.share_in_class",
    "kpi.share_in_class_5min_after_start",
    "kpi.by_role.pupil.share_in_class_5min_after_start",
    "kpi.by_role.teacher.share_in_class_5min_after_start",
    "kpi.gave_up",
    "kpi.barred",
    "kpi.time_to_class_p50_s",
    "kpi.time_to_class_p95_s",
    "kpi.attempts",
    "kpi.failed_attempts_share",
)
"""The KPIs every table of one run's results (and of replications, and the report's key
figures) shows first, in reading order."""

HEADLINE = (
    "kpi.share_in_class",
    "kpi.share_in_class_5min_after_start",
    "kpi.time_to_class_p50_s",
    "kpi.time_to_class_p95_s",
    "kpi.failed_attempts_share",
    "kpi.gave_up",
)
"""The KPIs that ``--precision`` brings within the requested relative half-width, that a
comparison lists first and that a sweep draws one figure each of."""

ANSWER = ("kpi.share_in_class", "kpi.share_in_class_5min_after_start", "kpi.gave_up")
"""The KPIs the first sentence of a report states: who got in, in time, who gave up."""

ATTACK_KPIS = (
    "kpi.attack_waves",
    "kpi.attack_requests",
    "kpi.attack_blocked_share",
    "kpi.legit_blocked_by_defence",
    "kpi.legit_lost_on_links",
)
"""The KPIs of attacks and defences: shown after the key figures when there were any."""

SWEEP_COLUMNS = (
    "kpi.share_in_class",
    "kpi.share_in_class_5min_after_start",
    "kpi.time_to_class_p95_s",
    "kpi.gave_up",
)
"""The KPIs shown per variant of a sweep (``sim sweep``, its report), headed by labels."""

REPS_FIGURE = (
    "kpi.share_in_class",
    "kpi.share_in_class_5min_after_start",
    "kpi.by_role.pupil.share_in_class_5min_after_start",
    "kpi.by_role.teacher.share_in_class_5min_after_start",
    "kpi.failed_attempts_share",
    "kpi.time_to_class_p50_s",
    "kpi.time_to_class_p95_s",
    "kpi.gave_up",
)
"""The KPIs of the figure of replications (kpis.png), one panel per kind."""

COST_KPIS = (
    "kpi.cost.infrastructure",
    "kpi.lost_class_hours",
    "kpi.cost.lost_class_hours",
    "kpi.cost.pupils_never_in",
    "kpi.cost.total",
)
"""The KPIs of what a run cost, in reading order: shown after the key figures when the
scenario has a ``[costs]`` table (a value that is not valued is left out)."""

STUDY_COST = "kpi.cost.infrastructure"
"""What an options study compares its options' costs by (the cheapest option that meets
the target, the cost-risk frontier): what the option costs to run, not the value of
the teaching it loses, which is the risk side of the frontier."""

WORST_UNAVAILABLE = "kpi.worst_unavailable_minutes"
"""The KPI an options study adds to each run: how long the worst service was down."""

STUDY_METRIC = "kpi.share_in_class_5min_after_start"
"""The KPI an options study ranks its options by without a target, and states first."""

SENSITIVITY_METRIC = STUDY_METRIC
"""The KPI ``sim sensitivity`` analyses by default: the one an options study leads with."""
SENSITIVITY_FALLBACK = "kpi.share_in_class"
"""... and in a morning without lessons, where that one has no value."""

OPTIONS_COLUMNS = {
    STUDY_METRIC: REGISTRY[STUDY_METRIC].label,
    "kpi.share_in_class": "got in",
    "kpi.gave_up": "gave up",
    "kpi.barred": "barred",
    WORST_UNAVAILABLE: "longest unavailability (min)",
}
"""The KPIs shown per option, after the target's: in ``sim options`` headed by their
labels, in its report by these headers (the difference from the baseline after the first)."""

OPTIONS_TABLE = (
    STUDY_METRIC,
    "kpi.share_in_class",
    "kpi.gave_up",
    "kpi.barred",
    "kpi.time_to_class_p50_s",
    "kpi.time_to_class_p95_s",
    "kpi.by_role.pupil.time_to_class_p95_s",
    "kpi.by_role.teacher.time_to_class_p95_s",
    "kpi.failed_attempts_share",
    "kpi.attempts",
    WORST_UNAVAILABLE,
)
"""The columns of an options study's table (options.csv), in reading order."""

GROUP_COLUMNS = {
    "people": "people",
    "share_in_class": "got in",
    "share_in_class_5min_after_start": "in class by start + 5 min",
    "gave_up": "gave up",
    "barred": "barred",
}
"""The KPIs of the report's tables by role and by cohort, with their column headers."""

SERVICE_COLUMNS = {
    "utilization": "utilisation",
    "p95_wait_s": "wait, 95th percentile",
    "unavailable_minutes": "unavailable",
}
"""The metrics of the services table of ``sim run``, with their column headers."""

REPORT_SERVICE_COLUMNS = {
    "utilization": "utilisation",
    "p95_wait_s": "95 % of waits under",
    "unavailable_minutes": "unavailable",
    "crashes": "crashes",
    "wasted": "wasted",
}
"""The metrics of the report's services table of one run, with their column headers."""

REPORT_SERVICE_ESTIMATES = {
    "utilization": "utilisation",
    "p95_wait_s": "95 % of waits under",
    "unavailable_minutes": "unavailable (min)",
    "crashes": "crashes",
}
"""The metrics of the report's services table of replications (means and intervals)."""

TROUBLE = ("unavailable_minutes", "p95_wait_s")
"""What puts a service among those in the most trouble, first to last: minutes it was
unavailable, then its 95th percentile queue wait."""


def trouble(service: dict[str, float]) -> tuple[float, ...]:
    """Sort key of a service's totals (a row of ``summary.json``'s ``services``), higher
    in more trouble (:data:`TROUBLE`); a missing value counts as 0."""
    return tuple(service.get(name) or 0 for name in TROUBLE)


def shown(name: str, value: float | None) -> bool:
    """Whether a key figure is worth a row: a role's figure only where the role has people
    it is about (not None), and the barred only where a gate barred someone."""
    if name.startswith("kpi.by_role."):
        return value is not None
    return name != "kpi.barred" or bool(value)


# ---------------------------------------------------------------- any metric's entry


def metric(name: str) -> Metric:
    """The registry's entry for `name` in full (any metric a run, an experiment or a
    command reports; an unknown name gets words made from the name itself)."""
    if name.startswith(("kpi.by_role.", "kpi.by_cohort.")):
        kind, _, rest = name.removeprefix("kpi.").partition(".")
        group, _, base = rest.rpartition(".")
        entry = metric(f"kpi.{base}")
        who = ROLE_WORDS.get(group, group) if kind == "by_role" else group
        return replace(entry, name=name, label=f"{entry.label}, {who}")
    if name.startswith("services."):
        service, _, base = name.removeprefix("services.").rpartition(".")
        entry = REGISTRY.get(f"services.<service>.{base}") or _unknown(base)
        return replace(entry, name=name, label=f"{service}: {entry.label}")
    entry = REGISTRY.get(name) or _unknown(name.removeprefix("kpi."))
    if entry.unit == MONEY:
        return replace(entry, name=name, unit=_CURRENCY.get())
    return replace(entry, name=name)


def _unknown(name: str) -> Metric:
    """Words, kind and unit guessed from a name the registry lacks (a results folder of
    another version of sim may hold one)."""
    words = name.replace("_", " ")
    if "share" in name:
        return Metric(name, words, SHARE, "%", 0.0, 1.0)
    if name.endswith("_s"):
        return Metric(name, words, TIME, "s")
    return Metric(name, words, NUM, "min" if name.endswith("_minutes") else "count")


def label(name: str) -> str:
    """A metric's name for people: ``kpi.gave_up`` is "gave up for the morning"."""
    return metric(name).label


def kind_of(name: str) -> str:
    """How a metric is written: ``share`` (per cent), ``s`` (duration), ``num`` or ``clock``."""
    return metric(name).kind


def unit(name: str) -> str:
    """The unit of a metric's values, for an axis: ``%``, ``s``, ``min`` or what it counts."""
    return metric(name).unit


def missing_mean_text(name: str, unbounded: int | None, runs: int) -> str:
    """What a mean over `runs` replications without a value says, when `unbounded` of
    them had none (an infinite percentile: too many never got in). One unbounded morning
    makes the mean unbounded, and the reader must see that the others were not:
    ``unbounded in 2 of 3 replications: more than 5 % never got in``. Without a count
    (older results), the metric's own words."""
    text = metric(name).none_text
    if not unbounded:
        return text
    where = f"in {unbounded} of {runs} replications"
    head, colon, rest = text.partition(": ")
    return f"{head} {where}{colon}{rest}" if colon else f"{text} {where}"


def axis_label(name: str) -> str:
    """``label (unit)``, the unit left out where the label already ends with it."""
    text, what = label(name), unit(name)
    return text if text.endswith(f"({what})") else f"{text} ({what})"


def interval_method(name: str) -> str:
    """How the confidence interval of `name`'s mean over replications is made, in words
    for the tables and the report (see :func:`sim.experiments.execution.estimate`)."""
    low, high = metric(name).bounds
    if math.isfinite(low) and math.isfinite(high):
        return f"Student t, within [{low:g}, {high:g}]"
    if math.isfinite(low):
        return f"Student t, at least {low:g}"
    return "Student t"


def meaning(name: str, default: str | None = None) -> str:
    """What the metric `name` counts, in a sentence (per role or cohort: the KPI's own);
    `default` for a name the registry does not define, else KeyError."""
    found = metric(name).meaning
    if found:
        return found
    if default is None:
        raise KeyError(f"no meaning for the metric {name!r} in sim.measure.metrics")
    return default
