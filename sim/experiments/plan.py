"""Capacity planning: the smallest value of a parameter for which a target holds.

``sim plan`` answers "how many login servers do we need so that 95 % of pupils are in
class within two minutes?" without sweeping every value. It assumes the parameter is
*monotone*: more capacity never makes the target harder to meet. Then the candidate
values (an integer range, or a grid with a step) are split by one boundary. Each probe
is a few replications of the scenario with the parameter set to one value.

The top of the range is probed first. If even it fails, no value in the range can hold,
and the plan stops there, after one more probe at the bottom: if the metric is the same
at both ends, capacity is not what limits this target (more of it would not help), and
the plan says so instead of probing its way up to the end; if it moves, the range is too
narrow. If the top holds, a bisection below it finds the boundary in
``ceil(log2(values))`` more probes.

Deciding a probe with noise. The target holds at confidence ``c`` when the one-sided
confidence bound of the metric's mean is on the right side of it: for ``<=``,
``mean + t(c, n-1) * s / sqrt(n) <= value`` (``>=`` symmetrically). It clearly fails
when the opposite bound is on the wrong side. In between (the interval straddles the
target) the probe gets more replications, up to ``max_reps``; if it still straddles,
it counts as failing. That is the conservative choice: an unsure value is never the
answer, so the answer can only err towards more capacity. A metric that is None in a
replication (an infinite percentile: too many people never got in) counts as +inf.

Every probe runs replications ``0..n-1`` with the scenario's seed, so probes share
common random numbers: two neighbouring values differ by the change, not by luck.
Runs go through :func:`sim.experiments.execution.execute` and its run store, so probes already run
(by this plan, an interrupted one, or a rerun of the same command) are not rerun.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.config.scenario import Scenario
from sim.experiments.execution import Job, Outcome, Progress, Store, execute, t_quantile
from sim.measure.criteria import OPERATORS, Criterion, parse_criterion
from sim.measure.metrics import kind_of
from sim.measure.metrics import metric as metric_info

HOLDS, FAILS, UNSURE = "holds", "fails", "unsure"
Target = Criterion  # the condition a probe must meet, on the mean of its replications


def parse_target(text: str) -> Target:
    return parse_criterion(text, "--target")


@dataclass(frozen=True)
class Check:
    """One probe's evidence: n replications, their mean, the one-sided bounds, a verdict."""

    n: int
    mean: float
    low: float
    high: float
    verdict: str

    @property
    def holds(self) -> bool:
        return self.verdict == HOLDS


def decide(values: Sequence[float | None], target: Target, confidence: float) -> Check:
    """The verdict on `values` (one per replication) at one-sided `confidence`.

    `low` and `high` are the lower and upper one-sided bounds of the mean (together a
    two-sided interval at ``2c - 1``), within the metric's range (a share in [0, 1]); which
    one decides depends on the direction. A None is an infinite percentile for a time, and
    for another metric a value nobody has (pupils' share where there are none): the
    target then fails, it cannot be met by people who are not there.
    """
    n = len(values)
    if n == 0:
        raise ValueError("a probe needs at least one replication")
    if kind_of(target.metric) != "s" and any(v is None for v in values):
        return Check(n, math.nan, math.nan, math.nan, FAILS)
    x = np.array([math.inf if v is None else v for v in values], dtype=float)
    if not np.isfinite(x).all():  # an infinite percentile: the mean is +inf, surely
        mean = low = high = math.inf
    else:
        mean = float(x.mean())
        half = math.inf
        if n > 1:
            half = float(t_quantile(confidence, n - 1) * x.std(ddof=1) / math.sqrt(n))
        floor, ceiling = metric_info(target.metric).bounds
        low, high = max(mean - half, floor), min(mean + half, ceiling)
    ok = OPERATORS[target.op]
    upward = target.op in ("<=", "<")  # the bound that must be on the right side
    sure, other = (high, low) if upward else (low, high)
    if ok(sure, target.value):
        verdict = HOLDS
    elif not ok(other, target.value):
        verdict = FAILS
    else:
        verdict = UNSURE
    return Check(n, mean, low, high, verdict)


def assess(
    sample: Callable[[int], Sequence[float | None]],
    target: Target,
    confidence: float,
    reps: int,
    max_reps: int,
) -> Check:
    """Decide one probe: `reps` replications, more (up to `max_reps`) while unsure.

    ``sample(n)`` returns the metric of replications ``0..n-1`` (a sample that grows
    keeps its first values, as stored runs are reused). Batches grow by half, as with
    ``sim run --precision``. An unsure final verdict counts as failing (see module).
    """
    n = reps
    while True:
        check = decide(sample(n), target, confidence)
        if check.verdict != UNSURE or n >= max_reps:
            return check
        n = min(max_reps, n + max(2, n // 2))


def bisect(count: int, holds: Callable[[int], bool]) -> int | None:
    """The smallest index in ``range(count)`` where `holds` is true, or None if nowhere.

    Assumes `holds` is monotone (false, ..., false, true, ..., true). Probes at most
    ``ceil(log2(count + 1))`` indices; when the answer is ``i > 0``, both ``i`` and
    ``i - 1`` were probed, and when there is none, the last index was.
    """
    lo, hi = 0, count  # the answer is in [lo, hi]; hi == count stands for "none"
    while lo < hi:
        mid = (lo + hi) // 2
        if holds(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi if hi < count else None


def grid(lo: float, hi: float, step: float, integer: bool) -> list[Any]:
    """Candidate values from `lo` to `hi` by `step`; `hi` is always the last one."""
    if integer:
        values: list[Any] = list(range(int(lo), int(hi) + 1, int(step)))
    else:
        count = math.floor((hi - lo) / step + 1e-9)
        values = [float(f"{lo + i * step:.12g}") for i in range(count + 1)]
    if values[-1] < hi:
        values.append(hi if integer else float(hi))
    return values


MAX_CANDIDATES = 1_000_000  # values to bisect (20 probes); more is a typo, and a huge list


def candidates(current: Any, parameter: str, lo: Any, hi: Any, step: float | None) -> list[Any]:
    """The values of `parameter` to search, `lo` to `hi` by `step` (default: 1 for an
    integer field, a tenth of the range otherwise); `current` is the field's value in the
    scenario (:data:`MISSING` if it is not set). A ValueError in one line otherwise."""
    if not all(_number(v) for v in (lo, hi)):
        raise ValueError(f"--vary {parameter}: bounds must be numbers, got {lo!r}:{hi!r}")
    if lo > hi:
        raise ValueError(f"--vary {parameter}: lo ({lo}) is greater than hi ({hi})")
    if current is not MISSING and not _number(current):
        raise ValueError(f"--vary {parameter}: not a number field (it is {current!r})")
    integer = isinstance(current, int) or (current is MISSING and isinstance(lo + hi, int))
    if integer and not (isinstance(lo, int) and isinstance(hi, int)):
        raise ValueError(f"--vary {parameter}: an integer field needs whole bounds, got {lo}:{hi}")
    if step is None:
        step = 1 if integer else ((hi - lo) / 10 or 1.0)
    if not step > 0 or (integer and not float(step).is_integer()):
        kind = "a whole number above 0" if integer else "above 0"
        raise ValueError(f"--step must be {kind}, got {step}")
    count = (hi - lo) / step + 1
    if count > MAX_CANDIDATES:
        raise ValueError(
            f"--vary {parameter}: {lo}..{hi} by {step} is {count:,.0f} values, more than "
            f"{MAX_CANDIDATES:,}; use a larger --step"
        )
    return grid(lo, hi, step, integer)


MISSING = object()
"""The value of a path the scenario does not set."""


def lookup(data: Any, dotted: str) -> Any:
    """The value at `dotted` in resolved scenario data (list items by index or name), or
    :data:`MISSING`."""
    node = data
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list):
            names = [item.get("name") if isinstance(item, dict) else None for item in node]
            if part in names:
                node = node[names.index(part)]
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return MISSING
        else:
            return MISSING
    return node


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------- the plan itself


class UnknownMetric(ValueError):
    """The target names a metric the runs do not have (or one that is not a number)."""


class RunsFailed(RuntimeError):
    """Some runs of a probe failed: the probe cannot be decided."""

    def __init__(self, failures: list[tuple[Job, str]]) -> None:
        super().__init__(f"{len(failures)} run(s) failed")
        self.failures = failures


@dataclass
class Probe:
    value: Any
    check: Check
    records: list[dict[str, Any]]
    ran: int  # runs made for this probe by this invocation; the others were reused

    @property
    def reused(self) -> int:
        return len(self.records) - self.ran


@dataclass
class PlanResult:
    parameter: str
    values: list[Any]
    target: Target
    confidence: float
    probes: list[Probe] = field(default_factory=list)
    answer: Any = None
    stale: int = 0  # records of another version of sim found in the store and removed
    damaged: int = 0  # records that did not check out (sim.experiments.records), removed, rerun
    moves: bool | None = None  # without an answer: does the metric move from lo to hi?

    @property
    def found(self) -> bool:
        return self.answer is not None

    def probe_at(self, value: Any) -> Probe | None:
        return next((p for p in self.probes if p.value == value), None)

    def outcome(self) -> Outcome:
        """Every run of every probe (each once), as one :class:`Outcome` for the manifest."""
        records = {r["key"]: r for p in self.probes for r in p.records}
        ran = sum(p.ran for p in self.probes)
        reused = len(records) - ran
        return Outcome(
            list(records.values()), reused=reused, ran=ran, stale=self.stale, damaged=self.damaged
        )


def metric_of(record: dict[str, Any], metric: str) -> float | None:
    metrics = record["metrics"]
    if metric not in metrics:
        names = sorted(k for k, v in metrics.items() if _numeric(v))
        hint = ", ".join(n for n in names if n.startswith("kpi.")) or "(none)"
        raise UnknownMetric(f"no metric {metric!r} in the runs; KPIs: {hint}")
    value = metrics[metric]
    if not _numeric(value):
        raise UnknownMetric(f"metric {metric!r} is not a number (it is {value!r})")
    return value


def _numeric(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def plan(
    make: Callable[[Any], Scenario],
    parameter: str,
    values: Sequence[Any],
    target: Target,
    *,
    confidence: float = 0.95,
    reps: int = 5,
    max_reps: int = 20,
    store: Store | None = None,
    n_jobs: int | None = None,
    scheduler: str | None = None,
    on_probe: Callable[[Probe], None] | None = None,
    progress: Progress | None = None,
) -> PlanResult:
    """Find the smallest of `values` for which `target` holds; ``make(value)`` is the
    scenario with the parameter set to `value`. Raises :class:`RunsFailed` if runs
    fail and :class:`UnknownMetric` if the runs have no such metric."""
    result = PlanResult(parameter, list(values), target, confidence)
    decided: dict[int, bool] = {}

    def holds(index: int) -> bool:
        if index in decided:  # hi, probed first, may be the bisection's last probe too
            return decided[index]
        value = values[index]
        scenario = make(value)
        seen: dict[str, dict[str, Any]] = {}  # this probe's records so far, by key
        ran = 0

        def sample(n: int) -> list[float | None]:
            nonlocal ran
            variant = ((parameter, value),)
            jobs = [Job(scenario, k, scenario.seed, variant) for k in range(n)]
            outcome = execute(
                [j for j in jobs if j.key not in seen], store, n_jobs, scheduler, progress
            )
            if outcome.failures:
                raise RunsFailed(outcome.failures)
            ran += outcome.ran
            seen.update((r["key"], r) for r in outcome.records)
            return [metric_of(seen[j.key], target.metric) for j in jobs]

        check = assess(sample, target, confidence, reps, max(reps, max_reps))
        records = list(seen.values())[: check.n]
        probe = Probe(value, check, records, ran)
        result.probes.append(probe)
        if on_probe is not None:
            on_probe(probe)
        decided[index] = check.holds
        return check.holds

    last = len(values) - 1
    if holds(last):  # then bisect below it; else nothing in the range can hold
        index = bisect(last, holds)
        result.answer = values[last if index is None else index]
    elif last > 0:  # say whether the parameter changes the metric at all
        holds(0)
        lo, hi = result.probe_at(values[0]), result.probe_at(values[last])
        result.moves = moves(lo, hi, target.metric, confidence)
    result.stale = store.discarded if store is not None else 0
    result.damaged = store.damaged if store is not None else 0
    return result


def moves(lo: Probe, hi: Probe, metric: str, confidence: float) -> bool:
    """Whether the metric differs between the probes at both ends of the range: the
    paired differences (same replications, common random numbers) have a two-sided
    interval at `confidence` that excludes 0. If not, capacity is not what limits the
    target (and no value in a wider range would help either, by the same measure)."""
    by_rep = {r["replication"]: metric_of(r, metric) for r in lo.records}
    pairs = [
        (by_rep[r["replication"]], metric_of(r, metric))
        for r in hi.records
        if r["replication"] in by_rep
    ]
    if any(a is None or b is None for a, b in pairs):  # an infinite percentile
        return not all(a is None and b is None for a, b in pairs)
    diffs = np.array([b - a for a, b in pairs], dtype=float)
    if len(diffs) < 2 or not diffs.any():
        return bool(diffs.any())
    half = t_quantile(0.5 + confidence / 2, len(diffs) - 1) * diffs.std(ddof=1)
    return bool(abs(diffs.mean()) > half / math.sqrt(len(diffs)))


# ---------------------------------------------------------------- as plain data

PROBE_COLUMNS = ("value", "n", "mean", "low", "high", "verdict", "reused", "ran")
"""The columns of plan.csv: one row per probe, in the order probed."""


def plan_data(result: PlanResult, **extra: Any) -> dict[str, Any]:
    """The plan as JSON-able data (infinite or undefined numbers become None)."""
    probes = [
        {
            "value": p.value,
            "n": p.check.n,
            "mean": _finite(p.check.mean),
            "low": _finite(p.check.low),
            "high": _finite(p.check.high),
            "verdict": p.check.verdict,
            "holds": p.check.holds,
            "reused": p.reused,
            "ran": p.ran,
            "runs": [r["key"] for r in p.records],
        }
        for p in result.probes
    ]
    target = result.target
    return {
        **extra,
        "parameter": result.parameter,
        "range": [result.values[0], result.values[-1]],
        "candidates": len(result.values),
        "target": {"metric": target.metric, "op": target.op, "value": target.value},
        "target_text": str(target),
        "confidence": result.confidence,
        "answer": result.answer,
        "found": result.found,
        "metric_moves": result.moves,
        "probes": probes,
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
