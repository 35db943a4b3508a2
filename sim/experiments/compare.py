"""Paired comparison of two scenarios (A and B) under common random numbers.

Replication k of A and of B run with the same seed and replication number, so they see
the same people, patience and service times: B − A in replication k is the effect of
the change plus little noise. The mean of these paired differences with a Student-t
interval is far tighter than the difference of two independent means, so a few
replications tell a real effect from luck. A difference is *significant* when its 95 %
interval excludes 0. Its interval is kept within the differences the metric allows
(:func:`difference_bounds`): a share's within ±100 points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sim.config import Scenario
from sim.experiments.execution import Estimate, Job, Outcome, estimate, metric_names
from sim.measure.metrics import HEADLINE
from sim.measure.metrics import metric as metric_info

COMPARE = "compare"  # compare.csv, compare.json, compare.png
RUNS_TABLE = "runs"  # runs.csv, runs.parquet: both sides, one row per run
SIDES = ("A", "B")


@dataclass(frozen=True)
class Difference:
    """One metric: A's and B's means and the paired difference B − A."""

    mean_a: float
    mean_b: float
    diff: Estimate

    @property
    def significant(self) -> bool:
        d = self.diff
        return math.isfinite(d.half_width) and (d.low > 0 or d.high < 0)


def compare_jobs(
    a: Scenario, b: Scenario, reps: int, labels: Sequence[Sequence[tuple[str, Any]]] = ((), ())
) -> list[Job]:
    """Replications 0..reps-1 of A then of B, all with A's seed (common random numbers);
    `labels` are the overrides that made each side, kept in the records."""
    b = b.model_copy(update={"seed": a.seed})
    return [
        Job(scenario, k, a.seed, variant=(("side", side), *tuple(label)))
        for side, scenario, label in zip(SIDES, (a, b), labels, strict=True)
        for k in range(reps)
    ]


def paired(
    records_a: Sequence[dict[str, Any]],
    records_b: Sequence[dict[str, Any]],
    confidence: float = 0.95,
) -> dict[str, Difference]:
    """Paired differences B − A of every metric over the replications both sides finished;
    headline KPIs first, then the others by name. A difference involving an infinite
    percentile (None) is undefined (NaN)."""
    by_rep_a = {r["replication"]: r for r in records_a}
    by_rep_b = {r["replication"]: r for r in records_b}
    reps = sorted(by_rep_a.keys() & by_rep_b.keys())
    pairs = [(by_rep_a[k]["metrics"], by_rep_b[k]["metrics"]) for k in reps]
    names = set(metric_names(records_a)) & set(metric_names(records_b))
    out = {}
    for name in ordered(names):
        a = [p[0].get(name) for p in pairs]
        b = [p[1].get(name) for p in pairs]
        if any(v is None for v in (*a, *b)):
            diff = Estimate(len(pairs), math.nan, math.nan, confidence)
        else:
            diff = estimate([y - x for x, y in zip(a, b, strict=True)], confidence)
            diff = replace(diff, bounds=difference_bounds(name))
        out[name] = Difference(estimate(a).mean, estimate(b).mean, diff)
    return out


def difference_bounds(metric: str) -> tuple[float, float]:
    """The values the difference B − A of `metric`'s true means can take: from the
    metric's lowest value less its highest to the reverse, [−1, 1] for a share (±100
    points), unbounded for a count or a time.

    The difference's interval is intersected with this range, as an estimate's interval
    is with the metric's range (:class:`sim.experiments.execution.Estimate`): the true
    difference always lies in it, so whenever the Student-t interval covers the true
    difference, so does the intersection, and the coverage stays the t-interval's. A
    share's difference then never reads "−108.8 points", beyond anything possible.

    Not the narrower [−mean_a, 1 − mean_a]: the true difference lies in
    [−μ_A, 1 − μ_A], with μ_A A's *true* mean, not its sample mean. Where that clip would
    bite, B's share is near 0 (or 1), and there it breaks the coverage: when B has no
    failed attempts at all, B − A is −a_k in every replication, its interval is A's
    mirrored, and cutting it at −mean_a would claim μ_A ≤ mean_a, false about half the
    time. Significance is unchanged by the clip: the mean lies within the range, and an
    end only moves towards the mean, never across 0.
    """
    low, high = metric_info(metric).bounds
    return low - high, high - low


def ordered(names: Sequence[str] | set[str]) -> list[str]:
    """Headline KPIs in their order, then the other KPIs, then service metrics."""
    rest = sorted(n for n in names if n not in HEADLINE)
    return [n for n in HEADLINE if n in names] + rest


def compare_table(diffs: dict[str, Difference]) -> tuple[list[str], list[list[Any]]]:
    header = ["metric", "n", "mean_a", "mean_b", "difference", "low", "high", "significant"]
    return header, [_row(name, d) for name, d in diffs.items()]


def _row(name: str, d: Difference) -> list[Any]:
    return [
        name,
        d.diff.n,
        d.mean_a,
        d.mean_b,
        d.diff.mean,
        d.diff.low,
        d.diff.high,
        int(d.significant),
    ]


def compare_json(a: Scenario, b: Scenario, diffs: dict[str, Difference]) -> dict[str, Any]:
    return {
        "a": a.name,
        "b": b.name,
        "seed": a.seed,
        "confidence": 0.95,
        "differences": {
            name: {
                "n": d.diff.n,
                "mean_a": _finite(d.mean_a),
                "mean_b": _finite(d.mean_b),
                "difference": _finite(d.diff.mean),
                "half_width": _finite(d.diff.half_width),
                "low": _finite(d.diff.low),
                "high": _finite(d.diff.high),
                "significant": d.significant,
            }
            for name, d in diffs.items()
        },
    }


def sides(jobs: Sequence[Job], outcome: Outcome) -> tuple[list[dict], list[dict]]:
    """The finished records of side A and of side B."""
    found = {r["key"]: r for r in outcome.records}
    split: dict[str, list[dict]] = {side: [] for side in SIDES}
    for job in jobs:
        if job.key in found:
            split[dict(job.variant)["side"]].append(found[job.key])
    return split["A"], split["B"]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
