"""What each option of a study costs against what it achieves: the cheapest option that
meets the target, and the cost-risk frontier.

A decision maker who knows which options meet the target asks next which is the
cheapest. Each option's cost is the mean over its replications of
:data:`sim.measure.metrics.STUDY_COST` (what the option costs to run: servers and
defences, ``[costs]`` in the scenario); what it achieves is the study's metric (the
target's, or :data:`sim.measure.metrics.STUDY_METRIC` without a target).

An option is *Pareto-efficient* when no other costs as little or less and does as well
or better, one of the two strictly: the options worth considering at all. The others
are *dominated*: some option is cheaper and no worse, or better and no dearer. The
frontier is drawn (:mod:`sim.outputs.plots.frontier`) from the means, each with its
two intervals; the verdicts on the target are the study's own (its one-sided bound),
so an option "meets the target" here exactly when the study says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sim.measure import metrics
from sim.measure.metrics import STUDY_COST, STUDY_METRIC

if TYPE_CHECKING:
    from sim.experiments.execution import Estimate
    from sim.experiments.options import OptionResult, Study

COST_NAMES = tuple(f"kpi.{name}" for name in metrics.names(metrics.COST))
"""The cost KPIs an option's entry of ``options.json`` gathers under ``cost``."""


def pareto(points: Sequence[tuple[str, float, float]], higher_is_better: bool) -> list[str]:
    """The names of the Pareto-efficient points among `points` (name, cost, value), in
    their order: none other has a cost as low or lower and a value as good or better,
    one of the two strictly. A point whose cost or value is not a finite number
    (undefined, or an infinite percentile) is never efficient, and dominates nothing."""

    def better_or_equal(a: float, b: float) -> bool:
        return a >= b if higher_is_better else a <= b

    finite = [(n, c, v) for n, c, v in points if math.isfinite(c) and math.isfinite(v)]
    efficient = []
    for name, cost, value in finite:
        dominated = any(
            c <= cost and better_or_equal(v, value) and (c < cost or v != value)
            for other, c, v in finite
            if other != name
        )
        if not dominated:
            efficient.append(name)
    return efficient


def has_costs(results: Sequence[OptionResult]) -> bool:
    """Whether the study's runs report costs (its scenario has ``[costs]``)."""
    return any(STUDY_COST in r.estimates for r in results)


def study_metric(study: Study) -> tuple[str, bool]:
    """The metric the study judges options by, and whether higher is better."""
    if study.target is None:
        return STUDY_METRIC, True
    return study.target.metric, study.target.op in (">=", ">")


def cheapest_meeting_target(results: Sequence[OptionResult]) -> OptionResult | None:
    """Of the options that meet the target (not the baseline, first of `results` as
    :func:`sim.experiments.options.analyse` gives them), the one of lowest mean cost
    (the first of equals, in the study's order); None if none meets it, or the study
    has no target or no costs."""
    meeting = [
        r for r in results[1:] if r.meets_target and _finite_mean(r.estimates.get(STUDY_COST))
    ]
    if not meeting:
        return None
    return min(meeting, key=lambda r: r.estimates[STUDY_COST].mean)


def efficient_options(study: Study, results: Sequence[OptionResult]) -> list[str]:
    """The Pareto-efficient options of the study, the baseline among them (doing
    nothing is a choice too), by mean cost against the mean of the study's metric."""
    metric, higher = study_metric(study)
    points = [
        (r.name, _mean(r.estimates.get(STUDY_COST)), _mean(r.estimates.get(metric)))
        for r in results
    ]
    return pareto(points, higher)


def frontier_json(study: Study, results: Sequence[OptionResult]) -> dict[str, Any]:
    """What ``options.json`` says of costs at the level of the study (with costs only):
    the cost it compares by, its currency, the cheapest option meeting the target, and
    the Pareto-efficient options."""
    cheapest = cheapest_meeting_target(results)
    return {
        "cost_metric": STUDY_COST,
        "currency": metrics.currency_of(study.baseline) or metrics.metric(STUDY_COST).unit,
        "cheapest_meeting_target": cheapest.name if cheapest is not None else None,
        "pareto": efficient_options(study, results),
    }


def cost_json(estimates: dict[str, Estimate]) -> dict[str, dict[str, Any]]:
    """An option's cost estimates for ``options.json``: per cost KPI, its mean, interval
    and number of replications (None for what is not a finite number)."""
    return {
        name: {
            "mean": _finite(e.mean),
            "low": _finite(e.low),
            "high": _finite(e.high),
            "n": e.n,
        }
        for name, e in estimates.items()
        if name in COST_NAMES
    }


def _mean(e: Estimate | None) -> float:
    return math.nan if e is None else e.mean


def _finite_mean(e: Estimate | None) -> bool:
    return e is not None and math.isfinite(e.mean)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
