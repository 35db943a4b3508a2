"""Parameter sweeps: many variants of one scenario, each replicated, in one tidy table.

A sweep is described by *factors*, one per ``--vary path=...``: a list of values
(``path=1,2,4``) or a range (``path=lo:hi:step``, or ``lo:hi`` when sampling). The
variants are either the full factorial grid of the factors (:func:`grid`, first factor
slowest, like nested loops in the order given) or a Latin hypercube of ``n`` points
over them (:func:`latin_hypercube`), which covers many parameters with few runs.

Both are pure functions of the factors, so a sweep is reproducible from its command
line. Replication k of every variant uses the same seed and replication number (common
random numbers): differences between variants are due to the parameters, not luck.
The tables are derived from the run records only (no wall-clock values), so an
interrupted sweep completed later writes exactly the bytes of an uninterrupted one.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from sim.config import Scenario, ScenarioError, parse_value, scenario_from_dict, to_dict
from sim.experiments.execution import Estimate, Job, Outcome, estimate, metric_names

Point = tuple[tuple[str, Any], ...]
"""One variant's parameters: ``((path, value), ...)`` in the order of the factors."""

RUNS_TABLE = "runs"  # runs.csv, runs.parquet: one row per run
VARIANTS_TABLE = "variants"  # variants.csv, variants.parquet: one row per variant, with CIs
SAMPLE_DIGITS = 6  # sampled floats keep 6 significant digits: readable, reproducible keys
MAX_VARIANTS = 10_000  # a larger design is a typo (a step too small), not a plan: refused


@dataclass(frozen=True)
class Factor:
    """One varied parameter: explicit values, or a range ``low..high`` (with `step`,
    the range is the list of its steps; without, it can only be sampled)."""

    path: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    integer: bool = False


def parse_vary(text: str) -> Factor:
    """``path=v1,v2,...`` or ``path=lo:hi[:step]``; raise ValueError with a clear message.

    Values are read like ``--set`` values (TOML, else a string); commas inside brackets,
    braces or quotes do not split. A range is two or three plain numbers separated by
    colons (so ``08:00`` stays a clock time); its steps are computed in decimal
    arithmetic, so ``0.1:0.3:0.1`` is exactly 0.1, 0.2 and 0.3.
    """
    path, sep, spec = text.partition("=")
    path, spec = path.strip(), spec.strip()
    if not sep or not path or not spec:
        raise ValueError(f"--vary expects path=v1,v2,... or path=lo:hi:step, got {text!r}")
    pieces = _split_top_level(spec)
    if len(pieces) == 1 and _is_range(pieces[0]):
        return _range_factor(path, pieces[0], text)
    if any(not p.strip() for p in pieces):
        raise ValueError(f"--vary {text!r}: empty value in the list")
    return Factor(path, tuple(parse_value(p) for p in pieces))


def _split_top_level(spec: str) -> list[str]:
    """Split on commas that are not inside [...], {...} or quotes."""
    pieces, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(spec):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append(spec[start:i])
            start = i + 1
    return [*pieces, spec[start:]]


def _is_range(piece: str) -> bool:
    """Two or three TOML numbers (``08`` is not one: ``08:00`` is a clock time)."""
    parts = [p for p in piece.split(":") if p.strip()]
    return 1 < len(piece.split(":")) < 4 and all(map(_is_number, parts))


def _is_number(text: str) -> bool:
    value = parse_value(text)
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _range_factor(path: str, piece: str, text: str) -> Factor:
    parts = [p.strip() for p in piece.split(":")]
    if not all(parts):
        raise ValueError(f"--vary {text!r}: a range is lo:hi:step (lo:hi when sampling)")
    try:
        bounds = [Decimal(p) for p in parts]
    except InvalidOperation:
        raise ValueError(f"--vary {text!r}: {piece!r} is not a range of numbers") from None
    low, high = bounds[0], bounds[1]
    if low > high:
        raise ValueError(f"--vary {text!r}: the range's low end {low} is above its high end")
    integer = all(isinstance(parse_value(p), int) for p in parts)
    values: tuple[Any, ...] = ()
    if len(bounds) == 3:
        step = bounds[2]
        if step <= 0:
            raise ValueError(f"--vary {text!r}: the step must be greater than 0")
        count = int((high - low) / step) + 1
        if count > MAX_VARIANTS:
            raise ValueError(
                f"--vary {text!r}: the range has {count:,} values, more than a sweep's "
                f"{MAX_VARIANTS:,} variants; use a larger step, or lo:hi with --sample"
            )
        steps = [low + i * step for i in range(count)]
        values = tuple(int(v) if integer else float(v) for v in steps)
    return Factor(path, values, float(low), float(high), integer)


def with_field_types(factors: Sequence[Factor], base: Scenario) -> list[Factor]:
    """Mark ranges over integer fields (in `base`) as integer, so they stay integers."""
    data = to_dict(base)
    typed = []
    for factor in factors:
        current = _lookup(data, factor.path)
        if factor.low is not None and isinstance(current, int) and not isinstance(current, bool):
            if math.ceil(factor.low) > math.floor(factor.high):
                raise ValueError(f"--vary {factor.path}: no integer between the range's ends")
            ints = tuple(dict.fromkeys(round(v) for v in factor.values))
            factor = replace(factor, values=ints, integer=True)
        typed.append(factor)
    return typed


def _lookup(data: Any, path: str) -> Any:
    """The value at a dotted path (list entries by index or name), or None."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            named = [e for e in node if isinstance(e, dict) and e.get("name") == part]
            index = int(part) if part.isdigit() and int(part) < len(node) else None
            node = named[0] if named else (node[index] if index is not None else None)
        else:
            return None
    return node


def check_factors(factors: Sequence[Factor]) -> None:
    """Each path varied once: a second --vary of a path would silently win."""
    paths = [factor.path for factor in factors]
    twice = [p for p in paths if paths.count(p) > 1]
    if twice:
        raise ValueError(f"--vary {twice[0]}: the path is varied twice")


def design(
    base: Scenario, factors: Sequence[Factor], sample: int | None = None
) -> tuple[list[Point], list[Scenario]]:
    """The variants of `base` over `factors`: their points and scenarios, the full grid or
    a Latin hypercube of `sample` points (seeded by `base`'s seed). Any bad input raises
    ValueError (:class:`ScenarioError` included) in one line, before anything runs."""
    if not factors:
        raise ValueError("a sweep needs at least one varied field: path=v1,v2,... (or lo:hi:step)")
    check_factors(factors)
    factors = with_field_types(factors, base)
    points = latin_hypercube(factors, sample, base.seed) if sample else grid(factors)
    return points, variants(base, points)


def grid(factors: Sequence[Factor]) -> list[Point]:
    """The full factorial grid, first factor slowest (nested loops in the order given)."""
    for factor in factors:
        if not factor.values:
            raise ValueError(
                f"--vary {factor.path}: a range needs a step for a grid (lo:hi:step), "
                "or use --sample to draw points in it"
            )
    count = math.prod(len(f.values) for f in factors)
    if count > MAX_VARIANTS:
        raise ValueError(
            f"the --vary grid has {count:,} variants, more than {MAX_VARIANTS:,}; "
            "vary fewer values, or draw some of them with --sample"
        )
    axes = [[(f.path, v) for v in f.values] for f in factors]
    return [tuple(point) for point in itertools.product(*axes)]


def latin_hypercube(factors: Sequence[Factor], n: int, seed: int) -> list[Point]:
    """`n` points of a seeded Latin hypercube over the factors.

    Each factor's axis is cut into `n` equal strata, each hit once: one-dimensional
    coverage as good as a grid of `n` values, whatever the number of factors. A list
    (or a stepped range) is sampled among its values, an integer range among its
    integers, a float range continuously (rounded to 6 significant digits).
    """
    if not 1 <= n <= MAX_VARIANTS:
        raise ValueError(f"--sample must be between 1 and {MAX_VARIANTS:,}, got {n:,}")
    units = _lhs(len(factors), n, seed)
    return [
        tuple((f.path, _place(f, u)) for f, u in zip(factors, row, strict=True)) for row in units
    ]


def _lhs(dims: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc  # heavy (~1 s to import): only for a Latin hypercube

    rng = np.random.default_rng(seed)
    try:
        engine = qmc.LatinHypercube(d=dims, rng=rng)
    except TypeError:  # scipy < 1.15 names the generator `seed`
        engine = qmc.LatinHypercube(d=dims, seed=rng)
    return engine.random(n)


def _place(factor: Factor, u: float) -> Any:
    if factor.values:
        return factor.values[min(int(u * len(factor.values)), len(factor.values) - 1)]
    low, high = factor.low, factor.high
    assert low is not None and high is not None
    if factor.integer:
        lo, hi = math.ceil(low), math.floor(high)
        return lo + min(int(u * (hi - lo + 1)), hi - lo)
    return float(f"{low + u * (high - low):.{SAMPLE_DIGITS}g}")


def variants(base: Scenario, points: Sequence[Point]) -> list[Scenario]:
    """Each point applied to `base` with the ``--set`` machinery (paths must exist, values
    must validate); raise :class:`sim.config.ScenarioError` on the first bad one."""
    data = to_dict(base)
    return [_variant(data, point) for point in points]


def _variant(data: dict[str, Any], point: Point) -> Scenario:
    overrides = [f"{path}={toml_value(value)}" for path, value in point]
    try:
        return scenario_from_dict(data, overrides, source="--vary")
    except ScenarioError as e:  # name the variant, not the --set machinery
        detail = re.sub(r"^(--vary with --set|--set [^:]*): ", "", str(e))
        raise ScenarioError(f"--vary {', '.join(overrides)}: {detail}") from None


def toml_value(value: Any) -> str:
    """`value` as TOML text, so that :func:`sim.config.parse_value` reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # inf and nan are TOML too
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    return json.dumps(str(value))


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def sweep_jobs(scenarios: Sequence[Scenario], points: Sequence[Point], reps: int) -> list[Job]:
    """Replications 0..reps-1 of every variant, each with its scenario's seed (the base
    seed unless ``seed`` itself is varied): common random numbers across variants."""
    return [
        Job(sc, k, sc.seed, variant=point)
        for sc, point in zip(scenarios, points, strict=True)
        for k in range(reps)
    ]


# ---------------------------------------------------------------- tables


def metric_columns(records: Sequence[dict[str, Any]]) -> list[str]:
    """Numeric metrics in a canonical order: records read back from the run store have
    their keys sorted, fresh ones do not, and the tables must not depend on which."""
    return sorted(metric_names(records))


def runs_table(jobs: Sequence[Job], outcome: Outcome) -> tuple[list[str], list[list[Any]]]:
    """One row per finished run: run id, variant number, replication, seed, every varied
    parameter, every metric. Parameters come from the jobs, not from the stored records
    (a record reused from another command may carry other labels)."""
    found = {r["key"]: r for r in outcome.records}
    params = list(dict.fromkeys(path for job in jobs for path, _ in job.variant))
    metrics = metric_columns(outcome.records)
    header = ["run_id", "variant", "replication", "seed", *params, *metrics]
    rows = [
        [job.key, number, job.replication, job.seed]
        + [plain(dict(job.variant).get(p)) for p in params]
        + [found[job.key]["metrics"].get(m) for m in metrics]
        for job, number in zip(jobs, _variant_numbers(jobs), strict=True)
        if job.key in found
    ]
    return header, rows


def _variant_numbers(jobs: Sequence[Job]) -> list[int]:
    numbers: dict[str, int] = {}
    return [numbers.setdefault(_point_key(job.variant), len(numbers)) for job in jobs]


def _point_key(point: Point) -> str:
    """A hashable stand-in for a point (its values may be tables)."""
    return toml_value(dict(point))


def plain(value: Any) -> Any:
    """A parameter value for a table cell: scalars as they are, tables and lists as TOML."""
    return toml_value(value) if isinstance(value, list | dict) else value


def variant_estimates(
    jobs: Sequence[Job], outcome: Outcome, confidence: float = 0.95
) -> list[tuple[Point, dict[str, Estimate]]]:
    """Per variant (in order), every metric's mean and confidence interval."""
    found = {r["key"]: r for r in outcome.records}
    metrics = metric_columns(outcome.records)
    groups: dict[str, tuple[Point, list[dict[str, Any]]]] = {}
    for job in jobs:
        _, bucket = groups.setdefault(_point_key(job.variant), (job.variant, []))
        if job.key in found:
            bucket.append(found[job.key])
    return [
        (point, {m: estimate([r["metrics"].get(m) for r in recs], confidence, m) for m in metrics})
        for point, recs in groups.values()
    ]


def aggregate_table(estimates: Sequence[tuple[Point, dict[str, Estimate]]]) -> tuple[list, list]:
    """One row per variant: its parameters, the number of runs, and for every metric the
    mean and the low and high ends of its confidence interval."""
    params = [path for path, _ in estimates[0][0]] if estimates else []
    metrics = list(estimates[0][1]) if estimates else []
    header = ["variant", *params, "n"]
    header += [f"{m}.{part}" for m in metrics for part in ("mean", "low", "high")]
    rows = []
    for number, (point, ests) in enumerate(estimates):
        n = max((e.n for e in ests.values()), default=0)
        row: list[Any] = [number, *(plain(v) for _, v in point), n]
        for m in metrics:
            row += [ests[m].mean, ests[m].low, ests[m].high] if n else [None] * 3
        rows.append(row)
    return header, rows


# ---------------------------------------------------------------- files
