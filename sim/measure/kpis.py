"""KPIs and per-service summaries computed from one run's results.

Definitions (also in docs/explanation/concepts.md):

- *time to class*: from the intended connect time to the moment the person is in class
  (seated in an open class), or has finished a journey without a class step, less any
  time spent in the lobby waiting for the teacher (that wait is not the platform's; people
  who intended to connect before the run starts count from the start). People who
  never get there count as infinitely late: percentiles are taken over everybody who
  arrived, so a p95 is finite only if at least 95 % got in. An infinite percentile is
  written as ``null`` in JSON.
- *in class 5 min after start*: share of pupils and teachers (and of any cohort with a
  class step) who were in class, or through their journey, by their class start + 5
  minutes; parents' class starts only anchor their connect times and do not count.
- *failed attempts share*: failed attempts (timeouts, rejections, full sessions) over
  all attempts of people (requests made in class are not attempts).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.engine.monitor import FAIL_CAUSES, quantile_from_histogram
from sim.measure import metrics
from sim.model.people import Fate

if TYPE_CHECKING:
    from sim.config.scenario import Scenario
    from sim.model.attacks import Wave


class RunData(Protocol):
    """What the KPIs read of one run: the shape of :class:`sim.simulation.runner.RunResult`,
    stated here so that measuring a run does not depend on how it was run."""

    scenario: Scenario
    bin_start_s: np.ndarray  # clock time (s since midnight) of each time bin's start
    counters: dict[str, np.ndarray]  # per-bin people-level counts
    in_lesson: np.ndarray  # per-bin mean number of people seated in a lesson
    services: dict[str, Any]  # per service: its per-bin series and histograms
    people: dict[str, np.ndarray]  # one row per person
    group_names: list[str]
    group_roles: list[str]
    attack_waves: list[Wave]


FIVE_MINUTES_S = 300.0

ROLES = ("pupil", "teacher", "other")
"""The roles people have (a scenario's cohorts and sources each have one)."""

PEOPLE_KPI_NAMES = metrics.names(metrics.PEOPLE)
"""The KPIs of a set of people: of everybody, of a role, of a cohort."""
KPI_NAMES = (*PEOPLE_KPI_NAMES, *metrics.names(metrics.RUN), "by_role", "by_cohort")
"""The keys of :func:`kpis`, known before any run (a test keeps them in step)."""
COST_KPI_NAMES = metrics.names(metrics.COST)
"""The KPIs of a run of a scenario with ``[costs]`` (``lost_class_hours``,
``cost.total``...): after the run's, before ``by_role``."""
SERVICE_METRIC_NAMES = metrics.names(metrics.SERVICE)
"""The keys of :func:`service_summary`'s rows, likewise."""
CLOCK_TIMES = metrics.names(metrics.SERVICE, metrics.CLOCK)
"""The service metrics that are clock times, not numbers."""


def unknown_metric(metric: str, scenario: Scenario, extra: Iterable[str] = ()) -> str | None:
    """Why `metric` names nothing a run of `scenario` (platforms expanded) reports, or None
    if it names something.

    `metric` is ``kpi.<name>``, ``kpi.by_role.<role>.<name>``, ``kpi.by_cohort.<cohort or
    source>.<name>`` or ``services.<service>.<name>``; `extra` are further ``kpi.`` names a
    command adds. Asked before running, so that a typo in a check costs a one-line error,
    not a morning of runs.
    """
    if metric.startswith(("kpi.by_role.", "kpi.by_cohort.")):
        return _unknown_group_metric(metric, scenario)
    kpi_names = [f"kpi.{n}" for n in KPI_NAMES if not n.startswith("by_")] + list(extra)
    costs = [f"kpi.{n}" for n in COST_KPI_NAMES]
    if metric.startswith("kpi."):
        if metric in kpi_names or (metric in costs and scenario.costs is not None):
            return None
        if metric in costs:
            return f"no metric {metric!r}: the cost KPIs need a [costs] table in the scenario"
        return (
            f"no metric {metric!r}; KPIs: {', '.join(kpi_names)}, and per role or cohort "
            "kpi.by_role.<role>.<name>, kpi.by_cohort.<cohort>.<name>"
            + (f"; costs: {', '.join(costs)}" if scenario.costs is not None else "")
        )
    services = scenario.services
    service, _, name = metric.removeprefix("services.").rpartition(".")
    if not metric.startswith("services.") or not service:
        return f"no metric {metric!r}: metrics are kpi.<name> or services.<service>.<name>"
    if service not in services:
        return f"no service {service!r} in {metric!r}; services: {', '.join(sorted(services))}"
    numeric = [n for n in SERVICE_METRIC_NAMES if n not in CLOCK_TIMES]
    if name not in numeric:
        return f"no number {metric!r}; service metrics: {', '.join(numeric)}"
    return None


def _unknown_group_metric(metric: str, scenario: Scenario) -> str | None:
    """:func:`unknown_metric` for ``kpi.by_role.<role>.<name>`` and
    ``kpi.by_cohort.<cohort>.<name>`` (a cohort's name may hold dots: the KPI is last)."""
    kind, _, rest = metric.removeprefix("kpi.").partition(".")
    group, _, name = rest.rpartition(".")
    cohorts = [g.name for g in (*scenario.cohorts, *scenario.sources)]
    groups = ROLES if kind == "by_role" else cohorts
    what = "role" if kind == "by_role" else "cohort or source"
    if group not in groups:
        return f"no {what} {group!r} in {metric!r}; {what}s: {', '.join(groups)}"
    if name not in PEOPLE_KPI_NAMES:
        return f"no metric {name!r} in {metric!r}; per {what}: {', '.join(PEOPLE_KPI_NAMES)}"
    return None


def kpis(result: RunData) -> dict[str, Any]:
    """The run's KPIs: of everybody (flat keys), then the same per role (``by_role``) and
    per cohort or source (``by_cohort``), so that a target can name "pupils" alone."""
    people = result.people
    counters = result.counters
    everybody = np.ones(len(people["fate"]), dtype=bool)
    attempts = int(counters["attempts"].sum())
    failed = int(sum(counters[f"fail_{cause}"].sum() for cause in FAIL_CAUSES))
    lesson = _has_lesson(result)[people["group"]]
    roles = np.asarray(result.group_roles, dtype=object)[people["group"]]
    return {
        **_people_kpis(result, everybody, lesson, attempts, failed),
        "peak_in_lesson": float(result.in_lesson.max()) if len(result.in_lesson) else 0.0,
        "classes_opened": int(counters["classes_opened"].sum()),
        **_attack_kpis(result),
        **_cost_kpis(result),
        "by_role": {role: _people_kpis(result, roles == role, lesson) for role in ROLES},
        "by_cohort": {
            name: _people_kpis(result, people["group"] == index, lesson)
            for index, name in enumerate(result.group_names)
        },
    }


def _people_kpis(
    result: RunData,
    mine: np.ndarray,
    lesson: np.ndarray,
    attempts: int | None = None,
    failed: int | None = None,
) -> dict[str, Any]:
    """The people KPIs (:data:`PEOPLE_KPI_NAMES`) of the people selected by `mine`.

    People a gate barred by policy are counted as ``barred`` and left out of every share
    and percentile: the platform did not fail them. `attempts` and `failed` default to
    the people's own counts (everybody's come from the per-bin counters, which agree).
    """
    people = result.people
    fate = people["fate"][mine]
    arrived = fate != Fate.NOT_ARRIVED
    barred = fate == Fate.BARRED
    tried = arrived & ~barred
    reached = fate == Fate.REACHED
    began = np.maximum(people["intended"][mine], result.scenario.start_s)
    ends = people["reached"][mine]
    through = ends - people["lobby"][mine] - began
    time_to_class = np.where(reached, np.maximum(through, 0.0), np.inf)[tried]
    class_start = people["class_start"][mine]
    with_class = np.isfinite(class_start) & lesson[mine] & ~barred
    by_five = reached & (ends <= class_start + FIVE_MINUTES_S)
    if attempts is None:
        attempts = int(people["attempts"][mine].sum())
    if failed is None:
        failed = int(people["failures"][mine].sum())
    return {
        "people": len(fate),
        "arrived": int(arrived.sum()),
        "in_class": int(reached.sum()),
        "barred": int(barred.sum()),
        "gave_up": int((fate == Fate.GAVE_UP).sum()),
        "too_late": int((fate == Fate.TOO_LATE).sum()),
        "no_teacher": int((fate == Fate.NO_TEACHER).sum()),
        "still_trying_at_end": int((fate == Fate.IN_PROGRESS).sum()),
        "share_in_class": _share_or_none(reached.sum(), tried.sum()),
        "share_in_class_5min_after_start": _share_or_none(
            by_five[with_class].sum(), with_class.sum()
        ),
        "time_to_class_p50_s": _finite_or_none(_quantile(time_to_class, 0.50)),
        "time_to_class_p95_s": _finite_or_none(_quantile(time_to_class, 0.95)),
        "attempts": attempts,
        "failed_attempts": failed,
        "failed_attempts_share": _share_or_none(failed, attempts),
    }


def _cost_kpis(result: RunData) -> dict[str, Any]:
    """The cost KPIs (:mod:`sim.measure.costs`), for a scenario with ``[costs]`` only:
    without, the KPIs (and every output) are what they were before costs existed."""
    if result.scenario.costs is None:
        return {}
    from sim.measure.costs import cost_kpis  # only with [costs]

    return cost_kpis(result)


def _attack_kpis(result: RunData) -> dict[str, Any]:
    """Attack traffic sent, the share stopped by defences, legitimate requests they stopped."""
    services = result.services.values()
    sent = int(sum(s.attack_arrivals.sum() for s in services))
    blocked = int(sum(s.attack_blocked.sum() for s in services))
    return {
        "attack_waves": len(result.attack_waves),
        "attack_requests": sent,
        "attack_blocked_share": _share(blocked, sent),
        "legit_blocked_by_defence": int(sum(s.blocked.sum() for s in services)),
        "legit_lost_on_links": int(sum(s.lost.sum() for s in services)),
    }


def service_summary(result: RunData) -> dict[str, dict[str, float]]:
    """Each service's totals over the run. The levels' means are per bin, so a sum of
    them times the bin width (``measure.bin_s``) is the level's area over the run."""
    duration = float(result.scenario.end_s - result.scenario.start_s)
    width = float(result.scenario.measure.bin_s)
    out = {}
    for name, s in result.services.items():
        capacity_area = s.mean_capacity.sum() * width
        up, down = s.mean_servers_up.sum(), s.mean_servers_down.sum()
        out[name] = {
            "capacity_workers": s.capacity,
            "arrivals": int(s.arrivals.sum()),
            "served": int(s.served.sum()),
            "abandoned": int(s.abandoned.sum()),
            "rejected": int(s.rejected.sum()),
            "wasted": int(s.wasted.sum()),
            "refused": int(s.refused.sum()),
            "crash_lost": int(s.crash_lost.sum()),
            "dropped": int(s.dropped.sum()),
            "blocked": int(s.blocked.sum()),
            "lost": int(s.lost.sum()),
            "errors": int(s.errors.sum()),
            "sessions_refused": int(s.sessions_refused.sum()),
            "peak_sessions": int(s.peak_sessions),
            "mean_wait_s": s.wait_sum / s.wait_count if s.wait_count else 0.0,
            "p95_wait_s": _nan_to_zero(quantile_from_histogram(s.wait_hist, 0.95)),
            "utilization": float(s.mean_busy.sum() * width / capacity_area)
            if capacity_area
            else 0.0,
            "mean_queue": float(s.mean_queue.sum() * width / duration),
            "peak_queue": int(s.peak_queue),
            "availability": float(up / (up + down)) if up + down else 0.0,
            "crashes": int(s.crashes.sum()),
            "downtime_s": float(s.downtime_s),
            **_unavailability(result, s),
            "attack_requests": int(s.attack_arrivals.sum()),
            "attack_blocked": int(s.attack_blocked.sum()),
            "attack_rejected": int(s.attack_rejected.sum()),
            "attack_served": int(s.attack_served.sum()),
        }
    return out


UNAVAILABLE_SHARE = 0.5
"""A time bin in which at least half the requests failed counts as unavailable."""


def failed_share_per_bin(s: Any) -> np.ndarray:
    """Share of a service's requests per time bin that got no useful answer."""
    failed = s.rejected + s.refused + s.abandoned + s.crash_lost + s.blocked + s.lost + s.errors
    return np.divide(failed, s.arrivals, out=np.zeros(len(failed)), where=s.arrivals > 0)


def _unavailability(result: RunData, s: Any) -> dict[str, Any]:
    """How long the service was effectively down (in minutes: the unavailable bins times
    their width, to the bins' resolution), and when the first such bin began and the
    last one ended."""
    from sim.config import s_to_clock

    width = result.scenario.measure.bin_s
    down = (failed_share_per_bin(s) >= UNAVAILABLE_SHARE) | (s.mean_servers_up == 0)
    bins = np.flatnonzero(down)
    first = s_to_clock(result.bin_start_s[bins[0]]) if len(bins) else None
    last = s_to_clock(result.bin_start_s[bins[-1]] + width) if len(bins) else None
    return {
        "unavailable_minutes": _minutes(len(bins) * width),
        "unavailable_from": first,
        "unavailable_until": last,
    }


def _minutes(seconds: int) -> int | float:
    """Whole seconds in minutes: an int when whole (as always with one-minute bins),
    else to 4 decimals (10 s is 0.1667 min)."""
    whole, rest = divmod(seconds, 60)
    return whole if rest == 0 else round(seconds / 60, 4)


def _has_lesson(result: RunData) -> np.ndarray:
    """Per group: whether its class start is a lesson (pupils, teachers, or any cohort
    with a class step), rather than a parent's mere anchor for connect times."""
    from sim.model.population import groups_with_lesson

    return groups_with_lesson(result.scenario)


def _quantile(values: np.ndarray, q: float) -> float:
    if len(values) == 0:
        return math.nan
    return float(np.quantile(values, q, method="inverted_cdf"))


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else 0.0


def _share_or_none(part: float, whole: float) -> float | None:
    """A share of people, or None when there is nobody to take it of (no pupil in a
    scenario without pupils has a share of anything: 0 would read as "all failed")."""
    return float(part) / float(whole) if whole else None


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _nan_to_zero(value: Any) -> float:
    value = float(value)
    return 0.0 if math.isnan(value) else value
