"""Sensitivity analysis: which of the uncertain assumptions move a KPI most
(``sim sensitivity``).

The uncertain parameters are ranges of numeric fields (:mod:`sim.config.uncertain`).
SALib draws the points to run: Morris' elementary effects (``morris``: cheap screening,
``r (D + 1)`` runs for ``r`` trajectories of ``D`` parameters, each on a grid of
:data:`MORRIS_LEVELS` levels) or Saltelli's extension of the Sobol' sequence
(``sobol``: first-order and total indices, ``N (D + 2)`` runs, ``N`` a power of two).
Each point is the base scenario with the point's values set, run once with the base
seed: common random numbers, so that two points differ by their parameters only, not by
luck (a parameter that does nothing gives exactly the same runs, hence an index of 0).
An integer field takes the sampled value rounded; the indices are computed on the
sampled (unrounded) design, as SALib expects.

The indices, for each KPI asked for:

- Morris: ``mu_star``, the mean absolute elementary effect, in the KPI's unit: how much
  the KPI changes, on average, when the parameter takes one Morris step, two thirds of
  its range (:data:`MORRIS_STEP`; SALib divides by the step, giving a slope over the
  whole range that can exceed what a share can move: it is multiplied back here), with
  ``mu_star_conf``, the half-width of its bootstrap 95 % interval; ``sigma``, the
  effects' spread (large: the effect depends on the other parameters, or is not
  linear); ``mu``, their signed mean;
- Sobol: ``S1``, the share of the KPI's variance the parameter explains alone, and
  ``ST``, with all its interactions, each with the half-width of its 95 % interval.

A percentile of time to class that is unbounded (too many never got in) counts as the
length of the run, the latest anyone could have got in (censored: their number is
said); a KPI without a value at some point (nobody had a class) has no indices.

Everything here is computed from the runs' records, never from wall-clock values, so a
resumed analysis writes the bytes of an uninterrupted one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config import Scenario, ScenarioError, scenario_from_dict, to_dict
from sim.config.uncertain import Uncertain, check_ranges
from sim.experiments.execution import Job, Outcome
from sim.measure import metrics
from sim.measure.kpis import unknown_metric
from sim.measure.metrics import SENSITIVITY_FALLBACK, SENSITIVITY_METRIC

METHODS = ("morris", "sobol")
DEFAULT_SAMPLES = {"morris": 10, "sobol": 32}
"""Trajectories (Morris) or base samples ``N`` (Sobol) when none are asked for."""
MORRIS_LEVELS = 4
MORRIS_STEP = MORRIS_LEVELS / (2 * (MORRIS_LEVELS - 1))
"""A Morris step, as a share of a parameter's range (SALib's ``delta``): 2/3 with 4 levels."""
RESAMPLES = 1000  # bootstrap resamples of the confidence intervals
CONFIDENCE = 0.95
MAX_POINTS = 10_000  # more is a typo (a sample size too large), not an analysis
INDICES = {
    "morris": ("mu_star", "mu_star_conf", "sigma", "mu"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
}
RANKED_BY = {"morris": "mu_star", "sobol": "ST"}
INDICES_TABLE = "sensitivity"  # sensitivity.csv: one row per KPI and parameter
SAMPLES_TABLE = "samples"  # samples.csv: one row per point
SENSITIVITY_JSON = "sensitivity.json"

Point = tuple[tuple[str, Any], ...]


def parse_uncertain(text: str) -> tuple[str, list[float]]:
    """``dotted.path=[low, high]`` (``--uncertain``) as a key and a range; a ValueError
    in one line otherwise (the range itself is checked against the scenario later)."""
    from sim.config import parse_value

    key, sep, spec = text.partition("=")
    key = key.strip()
    pair = parse_value(spec) if sep else None
    numbers = isinstance(pair, list) and len(pair) == 2
    if not key or not numbers or not all(_is_number(v) for v in pair):
        raise ValueError(f"--uncertain expects dotted.path=[low, high], got {text!r}")
    return key, [float(v) for v in pair]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def uncertain_ranges(
    base: Scenario, given: dict[str, list[float]] | None = None, where: str = "--uncertain"
) -> list[Uncertain]:
    """The uncertain parameters: `given` (the command line's, checked against `base`
    here), else `base`'s own ``[uncertain]`` table; a ValueError in one line if there
    are none or one is bad."""
    if given:
        return check_ranges(to_dict(base), given, Scenario, where)
    if not base.uncertain:
        raise ValueError(
            f"scenario {base.name} has no [uncertain] table: give the ranges with "
            "--uncertain 'dotted.path=[low, high]' (repeatable)"
        )
    return check_ranges(to_dict(base), base.uncertain, Scenario)


def without_ranges(scenario: Scenario) -> Scenario:
    """`scenario` without its ``[uncertain]`` table: what the results folder keeps as
    the base (its runs are the points, each with its own values)."""
    return scenario.model_copy(update={"uncertain": {}}) if scenario.uncertain else scenario


def metric_name(text: str) -> str:
    """A KPI as ``--metric`` takes it: a bare name is a ``kpi.`` one (as in ``--assert``)."""
    text = text.strip()
    return text if text.startswith(("kpi.", "services.")) else f"kpi.{text}"


def check_metric(metric: str, scenario: Scenario) -> None:
    """A ValueError in one line if no run of `scenario` reports `metric`, or it is not
    a number."""
    problem = unknown_metric(metric, scenario.flat)
    if problem:
        raise ValueError(f"--metric {metric}: {problem}")


def problem(ranges: Sequence[Uncertain]) -> dict[str, Any]:
    """SALib's description of the parameters."""
    return {
        "num_vars": len(ranges),
        "names": [r.key for r in ranges],
        "bounds": [[r.low, r.high] for r in ranges],
    }


def check_samples(method: str, samples: int, parameters: int) -> int:
    """The number of points `samples` gives; a ValueError if it is not allowed."""
    if method not in METHODS:
        raise ValueError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if samples < 2:
        raise ValueError(f"--samples must be at least 2, got {samples}")
    if method == "sobol" and samples & (samples - 1):
        raise ValueError(
            f"--samples for sobol must be a power of 2 (Saltelli's scheme), got {samples}"
        )
    points = samples * (parameters + (1 if method == "morris" else 2))
    if points > MAX_POINTS:
        raise ValueError(
            f"--samples {samples} with {parameters} parameters makes {points:,} runs, more "
            f"than {MAX_POINTS:,}"
        )
    return points


def sample_matrix(ranges: Sequence[Uncertain], method: str, samples: int, seed: int) -> np.ndarray:
    """The design, one row per point (the parameters' values as sampled, unrounded)."""
    check_samples(method, samples, len(ranges))
    spec = problem(ranges)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib's notes on its own defaults
        if method == "morris":
            from SALib.sample import morris  # heavy (SALib, scipy): only for an analysis

            return morris.sample(spec, samples, num_levels=MORRIS_LEVELS, seed=seed)
        from SALib.sample import sobol  # heavy (SALib, scipy): only for an analysis

        return sobol.sample(spec, samples, calc_second_order=False, seed=seed)


def points_of(ranges: Sequence[Uncertain], matrix: np.ndarray) -> list[Point]:
    """Each row as the values the fields take (integers rounded)."""
    return [
        tuple((r.key, r.at(float(x))) for r, x in zip(ranges, row, strict=True)) for row in matrix
    ]


def point_scenarios(
    base: Scenario, ranges: Sequence[Uncertain], points: Sequence[Point]
) -> list[Scenario]:
    """`base` with each point's values set (every field a key names), without its
    ``[uncertain]`` table (it changes no run, and the runs' keys then do not depend on
    the ranges written); a ScenarioError naming the point if one is not a valid scenario."""
    data = to_dict(base)
    data.pop("uncertain", None)
    paths = {r.key: r.paths for r in ranges}
    scenarios = []
    for point in points:
        overrides = [(path, value) for key, value in point for path in paths[key]]
        try:
            scenarios.append(scenario_from_dict(data, overrides, source="--uncertain"))
        except ScenarioError as e:
            where = ", ".join(f"{k}={v}" for k, v in point)
            detail = str(e).removeprefix("--uncertain with --set: ")
            raise ScenarioError(f"uncertain point {where}: {detail}") from None
    return scenarios


def sensitivity_jobs(
    scenarios: Sequence[Scenario], points: Sequence[Point], seed: int
) -> list[Job]:
    """One run per point, replication 0 and the same seed: common random numbers."""
    return [Job(sc, 0, seed, variant=point) for sc, point in zip(scenarios, points, strict=True)]


# ---------------------------------------------------------------- the KPI at each point


def default_metric(outcome: Outcome) -> str:
    """The KPI analysed when none is asked for: the one an options study leads with
    (:data:`sim.measure.metrics.SENSITIVITY_METRIC`), or, in a morning without lessons
    (it has no value there), the share who got in."""
    have = any(r["metrics"].get(SENSITIVITY_METRIC) is not None for r in outcome.records)
    return SENSITIVITY_METRIC if have or not outcome.records else SENSITIVITY_FALLBACK


@dataclass(frozen=True)
class Values:
    """A KPI at every point: the values analysed, and how many were censored (an
    unbounded percentile counted as the run's length) or missing (no value)."""

    metric: str
    y: np.ndarray
    censored: int
    missing: int


def values_at_points(
    jobs: Sequence[Job], outcome: Outcome, metric: str, run_length_s: float
) -> Values:
    """`metric` at each point, in job order; NaN where a run failed or has no value."""
    found = {r["key"]: r for r in outcome.records}
    time = metrics.kind_of(metric) == metrics.TIME
    y, censored, missing = [], 0, 0
    for job in jobs:
        record = found.get(job.key)
        value = record["metrics"].get(metric) if record else None
        if value is None and record is not None and time and metric in record["metrics"]:
            value, censored = run_length_s, censored + 1
        if value is None:
            missing += 1
        y.append(math.nan if value is None else float(value))
    return Values(metric, np.asarray(y, dtype=float), censored, missing)


# ---------------------------------------------------------------- indices


@dataclass(frozen=True)
class Analysis:
    """The indices of every parameter for one KPI, ranked (largest effect first)."""

    metric: str
    method: str
    indices: dict[str, dict[str, float]]  # by parameter key: index name -> value
    ranking: tuple[str, ...]
    censored: int = 0
    missing: int = 0
    note: str = ""

    @property
    def ranked_by(self) -> str:
        return RANKED_BY[self.method]


def analyse(
    method: str,
    ranges: Sequence[Uncertain],
    matrix: np.ndarray,
    values: Values,
    seed: int,
) -> Analysis:
    """SALib's indices of `values` over the design `matrix`; NaN indices (and a note)
    when some point has no value, zeros when the KPI is the same at every point."""
    keys = [r.key for r in ranges]
    names = INDICES[method]
    y = values.y
    if values.missing:
        nan = {k: dict.fromkeys(names, math.nan) for k in keys}
        note = f"no value at {values.missing} of {len(y)} points: no indices"
        return Analysis(
            values.metric, method, nan, tuple(keys), values.censored, values.missing, note
        )
    if np.ptp(y) == 0:
        zeros = {k: dict.fromkeys(names, 0.0) for k in keys}
        note = "the same value at every point: no parameter moves it"
        return Analysis(values.metric, method, zeros, tuple(keys), values.censored, 0, note)
    raw = salib_indices(method, ranges, matrix, y, seed)
    per = MORRIS_STEP if method == "morris" else 1.0  # an effect per step, not per range
    indices = {k: {n: float(raw[n][i]) * per for n in names} for i, k in enumerate(keys)}
    by = RANKED_BY[method]
    ranking = sorted(keys, key=lambda k: (-_finite(indices[k][by]), keys.index(k)))
    return Analysis(values.metric, method, indices, tuple(ranking), values.censored)


def salib_indices(
    method: str, ranges: Sequence[Uncertain], matrix: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, Any]:
    """SALib's analysis of outputs `y` of the design `matrix` (quietly: its warnings
    on small samples are the confidence intervals' business)."""
    spec = problem(ranges)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "morris":
            from SALib.analyze import morris  # heavy (SALib, scipy): only for an analysis

            return morris.analyze(
                spec,
                matrix,
                y,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                num_levels=MORRIS_LEVELS,
                seed=seed,
            )
        from SALib.analyze import sobol  # heavy (SALib, scipy): only for an analysis

        return sobol.analyze(
            spec,
            y,
            calc_second_order=False,
            num_resamples=RESAMPLES,
            conf_level=CONFIDENCE,
            seed=seed,
        )


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


# ---------------------------------------------------------------- tables and data


def indices_table(
    analyses: Sequence[Analysis], ranges: Sequence[Uncertain]
) -> tuple[list[str], list[list[Any]]]:
    """Tidy: one row per KPI and parameter (ranked), with the method's indices."""
    by_key = {r.key: r for r in ranges}
    method = analyses[0].method if analyses else "morris"
    header = ["metric", "parameter", "label", "low", "high", "rank", *INDICES[method]]
    rows = []
    for a in analyses:
        for rank, key in enumerate(a.ranking, start=1):
            r = by_key[key]
            row = [a.metric, key, r.label, r.low, r.high, rank]
            rows.append(row + [_plain(a.indices[key][n]) for n in INDICES[method]])
    return header, rows


def samples_table(
    jobs: Sequence[Job], outcome: Outcome, shown: Sequence[str]
) -> tuple[list[str], list[list[Any]]]:
    """One row per point: its number, its parameters' values and the KPIs `shown`."""
    found = {r["key"]: r for r in outcome.records}
    keys = [k for k, _ in jobs[0].variant] if jobs else []
    header = ["point", *keys, *shown]
    rows = []
    for number, job in enumerate(jobs):
        values = found[job.key]["metrics"] if job.key in found else {}
        rows.append([number, *(v for _, v in job.variant), *(values.get(m) for m in shown)])
    return header, rows


def shown_metrics(analysed: Sequence[str], outcome: Outcome) -> list[str]:
    """The KPIs of the samples table: those analysed, then every ``kpi.*`` a run has."""
    names = sorted({k for r in outcome.records for k in r["metrics"] if k.startswith("kpi.")})
    return list(dict.fromkeys([*analysed, *names]))


def sensitivity_data(
    base: Scenario,
    ranges: Sequence[Uncertain],
    analyses: Sequence[Analysis],
    *,
    method: str,
    samples: int,
    points: int,
    seed: int,
) -> dict[str, Any]:
    """sensitivity.json: what the report reads (nothing is recomputed there)."""
    return {
        "scenario": base.name,
        "method": method,
        "samples": samples,
        "points": points,
        "seed": seed,
        "scale": base.scale,
        "confidence": CONFIDENCE,
        "ranked_by": RANKED_BY[method],
        "parameters": [
            {
                "key": r.key,
                "label": r.label,
                "low": r.low,
                "high": r.high,
                "integer": r.integer,
                "fields": list(r.paths),
            }
            for r in ranges
        ],
        "metrics": [
            {
                "metric": a.metric,
                "label": metrics.label(a.metric),
                "ranking": list(a.ranking),
                "indices": {k: {n: _plain(v) for n, v in i.items()} for k, i in a.indices.items()},
                "censored": a.censored,
                "missing": a.missing,
                "note": a.note,
            }
            for a in analyses
        ],
    }


def _plain(value: float) -> float | None:
    """A number for CSV and JSON: None for NaN (no index)."""
    return value if math.isfinite(value) else None
