"""The robust verdict of an options study: does each option meet the target not only at
the nominal values of the assumptions, but across the plausible ones?

An options study may list its main assumptions with ranges, in an ``[uncertain]``
table (:mod:`sim.config.uncertain`; the paths of the study's scenario). A Latin
hypercube of ``worlds`` points over those ranges, drawn from the study's seed, gives as
many *plausible worlds*; the same worlds are run for the baseline and every option
(the option's overrides on top of the world's values), each once, replication 0, with
the study's seed: common random numbers, so that two options in one world differ by
the option only.

Per option, the verdict is the share of worlds in which its run meets the target, with
its Wilson 95 % interval (a share of a few worlds is uncertain, and says so), and,
when it fails somewhere, *where*: the best rule of one or two threshold conditions on
the parameters ("retry probability > 0.9 and portal service time > 1.2 s") that tells
the failing worlds from the others, found by trying them all on the worlds (each
parameter's thresholds between two neighbouring values sampled), with how well it
separates them. A rule found on a few worlds is a pointer, not a law: it is reported
with its hits and misses.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from sim.config import Scenario, ScenarioError, read_raw, scenario_from_dict, to_dict
from sim.config.scale import scale as scale_scenario
from sim.config.uncertain import Uncertain, check_ranges, parameter_words
from sim.experiments.execution import Job, Outcome
from sim.experiments.options import BASELINE, MAX_WORLDS, Study, with_study_kpis
from sim.experiments.plan import metric_of
from sim.measure.criteria import Criterion

CONFIDENCE = 0.95
WORLDS_TABLE = "worlds"  # worlds.csv: one row per world and option
MAX_CONDITIONS = 2

World = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class RobustPlan:
    """The plausible worlds of a study, ready to run: the ranges, the worlds drawn and
    the jobs (per world, the baseline then each option)."""

    ranges: tuple[Uncertain, ...]
    worlds: tuple[World, ...]
    jobs: tuple[Job, ...]


def plan_robust(study: Study) -> RobustPlan | None:
    """The worlds of `study` (its ``[uncertain]`` table, ``worlds`` of them), every
    scenario built and checked; None when it has no table, no target (nothing to meet)
    or 0 worlds. A ScenarioError in one line for a bad range or a world that is not a
    valid scenario."""
    if not study.spec.uncertain or not study.spec.worlds or study.target is None:
        return None
    ranges = study_ranges(study)
    worlds = draw_worlds(ranges, study.spec.worlds, study.baseline.seed)
    return RobustPlan(tuple(ranges), tuple(worlds), tuple(world_jobs(study, ranges, worlds)))


def study_ranges(study: Study) -> list[Uncertain]:
    """The study's ``[uncertain]`` ranges (full-size values, scaled with each world's
    scenario), checked against its baseline scenario; a ScenarioError in one line
    naming the study file otherwise."""
    raw = study.spec.uncertain
    if not raw:
        return []
    base = _side_scenario(study, study.spec.scenario, [], "scenario")
    try:
        return check_ranges(to_dict(base), raw, Scenario, where=f"{study.path}: uncertain")
    except ValueError as err:
        raise ScenarioError(str(err)) from None


def draw_worlds(ranges: Sequence[Uncertain], n: int, seed: int) -> list[World]:
    """`n` worlds of a Latin hypercube over the ranges, from `seed` (the study's): each
    range cut into `n` strata, each hit once."""
    if not 1 <= n <= MAX_WORLDS:
        raise ValueError(f"--worlds must be 0 (off) or 1 to {MAX_WORLDS}, got {n}")
    from scipy.stats import qmc  # heavy (~1 s to import): only for a robust verdict

    rng = np.random.default_rng(seed)
    try:
        engine = qmc.LatinHypercube(d=len(ranges), rng=rng)
    except TypeError:  # scipy < 1.15 names the generator `seed`
        engine = qmc.LatinHypercube(d=len(ranges), seed=rng)
    units = engine.random(n)
    return [
        tuple((r.key, r.value(float(u))) for r, u in zip(ranges, row, strict=True)) for row in units
    ]


def world_jobs(study: Study, ranges: Sequence[Uncertain], worlds: Sequence[World]) -> list[Job]:
    """Per world, the baseline then every option, each its run with the study's seed
    (replication 0); the option's overrides come after the world's values, so an
    option that sets a field the world varies keeps its own value. A ScenarioError in
    one line (the option and the world named) if one is not a valid scenario."""
    paths = {r.key: r.paths for r in ranges}
    sides = [(BASELINE, study.spec.scenario, [])]
    sides += [(o.name, o.scenario or study.spec.scenario, list(o.set)) for o, _ in study.options]
    jobs = []
    for number, world in enumerate(worlds):
        values = [(path, value) for key, value in world for path in paths[key]]
        for name, file, sets in sides:
            where = f"option {name!r} in world {number}" if name != BASELINE else f"world {number}"
            scenario = _side_scenario(study, file, [*values, *sets], where)
            scenario = scenario.model_copy(update={"seed": study.baseline.seed})
            jobs.append(
                Job(scenario, 0, study.baseline.seed, variant=(("world", number), ("option", name)))
            )
    return jobs


_RAW: dict[Path, dict[str, Any]] = {}  # the study's scenario files, read once per process


def _side_scenario(study: Study, file: str, overrides: list[Any], where: str) -> Scenario:
    """One side of the study in one world: its file (read once), the study's own
    overrides, then `overrides`, scaled to the study's scale, without any [uncertain]
    table (it changes no run, and the runs' keys then do not depend on it)."""
    path = (study.path.parent / file).resolve()
    try:
        if path not in _RAW:
            _RAW[path] = read_raw(path)
        raw = {k: v for k, v in _RAW[path].items() if k != "uncertain"}
        common = [*study.spec.set]
        scenario = scenario_from_dict(raw, [*common, *overrides], str(path), path.parent)
        return scale_scenario(scenario, study.spec.scale)
    except ScenarioError as err:
        raise ScenarioError(f"{study.path}: {where}: {err}") from None
    except ValueError as err:  # scale() refuses a factor the scenario cannot take
        raise ScenarioError(f"{study.path}: {where}: scale {study.spec.scale:g}: {err}") from None


# ---------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class Condition:
    """``parameter op threshold``: op is ``>`` or ``<=``."""

    key: str
    op: str
    threshold: float

    def text(self) -> str:
        words, unit = parameter_words(self.key)
        op = ">" if self.op == ">" else "≤"
        return f"{words} {op} {self.threshold:g}" + (f" {unit}" if unit else "")


@dataclass(frozen=True)
class Rule:
    """The conditions that, all together, predict a failing world; and how well."""

    conditions: tuple[Condition, ...]
    correct: int  # worlds the rule classifies right
    worlds: int
    caught: int  # failing worlds it predicts
    failures: int
    false_alarms: int  # worlds it predicts failing that meet the target

    def text(self) -> str:
        return " and ".join(c.text() for c in self.conditions)

    def quality(self) -> str:
        """How well the rule separates, in words."""
        alarms = f", {self.false_alarms} false alarm{'s' * (self.false_alarms != 1)}"
        failures = "failure" if self.failures == 1 else "failures"
        return (
            f"right in {self.correct} of {self.worlds} worlds: it catches {self.caught} of "
            f"{self.failures} {failures}{alarms if self.false_alarms else ''}"
        )


@dataclass(frozen=True)
class Verdict:
    """An option across the plausible worlds."""

    name: str
    worlds: int
    meets: int
    low: float
    high: float
    rule: Rule | None
    missing: int = 0  # worlds whose run failed: not counted

    @property
    def share(self) -> float:
        return self.meets / self.worlds if self.worlds else math.nan

    @property
    def fails_when(self) -> str | None:
        """Where it fails, in words: None when it never does (or was never assessed)."""
        if not self.worlds or self.meets == self.worlds:
            return None
        if self.meets == 0:
            return "fails in every plausible world"
        if self.rule is None:
            return "fails in some worlds, with no one- or two-condition rule that tells them apart"
        return f"fails when {self.rule.text()} ({self.rule.quality()})"

    @property
    def fails_briefly(self) -> str | None:
        """:attr:`fails_when` without the rule's record, for a table cell (the brief)."""
        if not self.worlds or self.meets == self.worlds:
            return None
        if self.meets == 0 or self.rule is None:
            return "fails in every world" if self.meets == 0 else "fails in some worlds"
        return f"fails when {self.rule.text()}"

    def as_json(self) -> dict[str, Any]:
        """The ``robust`` entry of an option in options.json."""
        return {
            "worlds": self.worlds,
            "meets": self.meets,
            "share": None if math.isnan(self.share) else self.share,
            "low": None if math.isnan(self.low) else self.low,
            "high": None if math.isnan(self.high) else self.high,
            "fails_when": self.fails_when,
            "fails_briefly": self.fails_briefly,
            "rule": None if self.rule is None else _rule_json(self.rule),
            "failed_runs": self.missing,
        }


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "conditions": [
            {"parameter": c.key, "op": c.op, "threshold": c.threshold} for c in rule.conditions
        ],
        "correct": rule.correct,
        "caught": rule.caught,
        "false_alarms": rule.false_alarms,
    }


def verdicts(
    study: Study, worlds: Sequence[World], jobs: Sequence[Job], outcome: Outcome
) -> dict[str, Verdict]:
    """Per option (the baseline first), its verdict across `worlds` from the runs."""
    target = study.target
    if target is None:
        return {}
    found = {r["key"]: r for r in outcome.records}
    names = [BASELINE, *(o.name for o, _ in study.options)]
    meets: dict[str, dict[int, bool]] = {name: {} for name in names}
    for job in jobs:
        labels = dict(job.variant)
        record = found.get(job.key)
        if record is not None:
            value = metric_of(with_study_kpis(record), target.metric)
            meets[labels["option"]][labels["world"]] = target.holds(value)
    keys = [k for k, _ in worlds[0]] if worlds else []
    values = np.array([[float(v) for _, v in w] for w in worlds]) if worlds else np.empty((0, 0))
    return {name: _verdict(name, meets[name], keys, values, len(worlds)) for name in names}


def _verdict(
    name: str, meets: dict[int, bool], keys: list[str], values: np.ndarray, total: int
) -> Verdict:
    assessed = sorted(meets)
    n, k = len(assessed), sum(meets[w] for w in assessed)
    low, high = wilson(k, n)
    rule = None
    if 0 < k < n:
        failing = np.array([not meets[w] for w in assessed])
        rule = best_rule(keys, values[assessed], failing)
    return Verdict(name, n, k, low, high, rule, total - n)


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's interval of a share `k` of `n` (NaN for none): within [0, 1], and honest
    at 0 and n, where the normal approximation gives an interval of width 0."""
    if n == 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    return low, 1.0 if k == n else min(1.0, centre + half)


def best_rule(keys: Sequence[str], values: np.ndarray, failing: np.ndarray) -> Rule | None:
    """The rule of one or two conditions that classifies most worlds right (fewer
    conditions first, then fewer false alarms, then the order of the parameters), or
    None if none does better than saying "meets" everywhere."""
    conditions, predicted = _candidates(keys, values)
    if not conditions:
        return None
    right = (predicted == failing).sum(axis=1)
    best = (int(right.max()), 1, int(np.argmax(right)), -1)
    if len(conditions) > 1 and MAX_CONDITIONS >= 2:
        both = predicted[:, None, :] & predicted[None, :, :]  # c1 and c2, every pair
        pair_right = (both == failing).sum(axis=2)
        same = np.array([[c1.key == c2.key for c2 in conditions] for c1 in conditions])
        pair_right[same | np.tril(np.ones_like(same), 0)] = -1  # each pair once, two params
        i, j = np.unravel_index(int(np.argmax(pair_right)), pair_right.shape)
        if pair_right[i, j] > best[0]:
            best = (int(pair_right[i, j]), 2, int(i), int(j))
    correct, size, i, j = best
    if correct <= int((~failing).sum()):  # no better than "meets everywhere"
        return None
    chosen = (conditions[i],) if size == 1 else (conditions[i], conditions[j])
    says = predicted[i] if size == 1 else predicted[i] & predicted[j]
    return Rule(
        chosen,
        correct,
        len(failing),
        int((says & failing).sum()),
        int(failing.sum()),
        int((says & ~failing).sum()),
    )


def _candidates(keys: Sequence[str], values: np.ndarray) -> tuple[list[Condition], np.ndarray]:
    """Every condition ``parameter > t`` and ``parameter <= t``, `t` the roundest
    number between two neighbouring values sampled, and what each predicts per world."""
    conditions, predicted = [], []
    for column, key in enumerate(keys):
        x = values[:, column]
        distinct = np.unique(x)
        for below, above in itertools.pairwise(distinct):
            t = roundest(float(below), float(above))
            for op in (">", "<="):
                conditions.append(Condition(key, op, t))
                predicted.append(x > t if op == ">" else x <= t)
    return conditions, np.array(predicted, dtype=bool).reshape(len(conditions), len(values))


def roundest(low: float, high: float) -> float:
    """The number with the fewest significant digits in [low, high) (a threshold that
    splits the worlds between two neighbouring values as well as any other)."""
    for digits in range(1, 16):
        step = 10 ** (math.floor(math.log10(max(abs(low), abs(high), 1e-300))) - digits + 1)
        candidate = math.ceil(low / step) * step
        if low <= candidate < high:
            return float(f"{candidate:.{digits}g}")
    return low


# ---------------------------------------------------------------- tables


def worlds_table(
    plan: RobustPlan, outcome: Outcome, target: Criterion
) -> tuple[list[str], list[list[Any]]]:
    """One row per world and option: the world's values, the option, the target's
    metric in its run and whether it meets the target (empty where the run failed)."""
    found = {r["key"]: r for r in outcome.records}
    keys = [r.key for r in plan.ranges]
    header = ["world", *keys, "option", target.metric, "meets"]
    rows = []
    for job in plan.jobs:
        labels = dict(job.variant)
        row = [labels["world"], *(v for _, v in plan.worlds[labels["world"]]), labels["option"]]
        record = found.get(job.key)
        value = metric_of(with_study_kpis(record), target.metric) if record else None
        rows.append([*row, value, target.holds(value) if record else None])
    return header, rows
