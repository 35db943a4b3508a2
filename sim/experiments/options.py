"""Options studies: what went wrong in a scenario, and which option would have fixed it.

A decision maker does not ask "what is the p95 wait?" but "it broke at 9:00: what would
have held?". An *options study* answers that in one folder. It is a small TOML file
naming a scenario (the *baseline*, the morning as it was) and a few named *options*,
each a set of ``--set`` overrides or another scenario file (the morning as it could
have been), plus optionally a target such as ``share_in_class_5min_after_start>=0.95``::

    scenario = "2021-04-06.toml"
    target = "share_in_class_5min_after_start>=0.95"
    scale = 0.1
    reps = 3

    [[options]]
    name = "Twice the portal servers"
    set = ["templates.ent.services.portal.servers=32"]

Every option runs the same replications as the baseline with the baseline's seed
(common random numbers), so each option's effect is a paired difference with a tight
confidence interval (as in :mod:`sim.experiments.compare`), and the target's verdict per option uses
the one-sided bound of :func:`sim.experiments.plan.decide` (an unsure option does not count as
meeting it). Runs go through :func:`sim.experiments.execution.execute` and its run store, so an
interrupted study resumes where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.config import Scenario, ScenarioError, describe_error, load_scenario
from sim.config.base import Strict
from sim.config.scale import scale as scale_scenario
from sim.config.uncertain import UncertainRange
from sim.experiments import frontier
from sim.experiments.compare import Difference, paired
from sim.experiments.execution import Estimate, Job, Outcome, summarize
from sim.experiments.plan import Check, decide, metric_of
from sim.measure import metrics
from sim.measure.criteria import Criterion, parse_criterion
from sim.measure.kpis import unknown_metric
from sim.measure.metrics import COST_KPIS, OPTIONS_TABLE, STUDY_METRIC, WORST_UNAVAILABLE

BASELINE = "baseline"  # the option name of the scenario as it is, and its results subfolder
STUDY_JSON = "options.json"
TABLE = "options"  # options.csv, options.parquet: one row per option (baseline first)
RUNS_TABLE = "runs"
STUDY_KPIS = [f"kpi.{name}" for name in metrics.names(metrics.STUDY)]  # added to each run
MAX_OPTIONS = 20
DEFAULT_WORLDS = 16  # plausible worlds of a study with an [uncertain] table
MAX_WORLDS = 1000


class Option(Strict):
    """One way the morning could have gone: overrides of the baseline, or another file."""

    name: Annotated[str, Field(min_length=1, max_length=60)]
    description: str = ""
    set: list[str] = Field(default_factory=list)
    scenario: str | None = None  # another scenario file, relative to the study file

    @model_validator(mode="after")
    def _changes_something(self) -> Option:
        if not self.set and self.scenario is None:
            raise ValueError(f"option {self.name!r} changes nothing: give 'set' or 'scenario'")
        return self


class StudyFile(Strict):
    """The options study file, as written (see the module docstring)."""

    scenario: str
    name: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] = None
    description: str = ""
    target: str | None = None
    scale: Annotated[float, Field(gt=0)] = 1.0
    reps: Annotated[int, Field(ge=2, le=1000)] = 3
    confidence: Annotated[float, Field(ge=0.5, lt=1)] = 0.95
    set: list[str] = Field(default_factory=list)  # applied to the baseline and to every option
    options: Annotated[list[Option], Field(min_length=1, max_length=MAX_OPTIONS)]
    # the robust verdict (sim.experiments.robust): the main assumptions' ranges, and how
    # many plausible worlds drawn in them each option is run in (0: none)
    uncertain: dict[str, UncertainRange] = Field(default_factory=dict)
    worlds: Annotated[int, Field(ge=0, le=MAX_WORLDS)] = DEFAULT_WORLDS

    @field_validator("target")
    @classmethod
    def _target_parses(cls, text: str | None) -> str | None:
        if text is not None:
            parse_criterion(text, "target")
        return text

    @model_validator(mode="after")
    def _names_unique(self) -> StudyFile:
        names = [o.name for o in self.options]
        if BASELINE in names:
            raise ValueError(f"option name {BASELINE!r} is reserved for the scenario itself")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"option names must be unique; repeated: {', '.join(repeated)}")
        return self


@dataclass(frozen=True)
class Study:
    """A study ready to run: the resolved baseline and options, all with one seed."""

    path: Path
    spec: StudyFile
    name: str
    baseline: Scenario
    options: tuple[tuple[Option, Scenario], ...]
    target: Criterion | None

    @property
    def reps(self) -> int:
        return self.spec.reps


def load_study(
    path: Path | str,
    *,
    sets: Sequence[str] = (),
    scale: float | None = None,
    reps: int | None = None,
    seed: int | None = None,
    only: Sequence[str] = (),
    worlds: int | None = None,
) -> Study:
    """Read and resolve a study file; raise :class:`ScenarioError` with one line.

    `sets` (``--set``) change the baseline and every option; `scale`, `reps`, `seed` and
    `worlds` replace the file's values; `only` (``--only``) keeps these options (by name)
    and the baseline.
    """
    path = Path(path)
    spec = _read_spec(path)
    if only:
        spec = spec.model_copy(update={"options": _chosen(spec.options, only, path)})
    given = (("scale", scale), ("reps", reps), ("worlds", worlds))
    updates = {k: v for k, v in given if v is not None}
    if updates:
        spec = _validated({**spec.model_dump(), **updates}, path)
    common = [*spec.set, *sets]
    baseline = _scenario(path, spec.scenario, common, spec.scale, "scenario")
    if seed is not None:
        baseline = baseline.model_copy(update={"seed": seed})
    options = []
    for option in spec.options:
        where = f"option {option.name!r}"
        file = option.scenario or spec.scenario
        scenario = _scenario(path, file, [*common, *option.set], spec.scale, where)
        options.append((option, scenario.model_copy(update={"seed": baseline.seed})))
    name = spec.name or f"{baseline.name}-options"
    target = parse_criterion(spec.target, "target") if spec.target else None
    if target is not None:
        for scenario in [baseline, *(s for _, s in options)]:
            problem = unknown_metric(target.metric, scenario.flat, STUDY_KPIS)
            if problem:
                raise ScenarioError(f"{path}: target: {problem}")
    return Study(path, spec, name, baseline, tuple(options), target)


def _chosen(options: Sequence[Option], names: Sequence[str], path: Path) -> list[Option]:
    """The options named in `names`, in the file's order; an unknown name is refused."""
    known = [o.name for o in options]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ScenarioError(
            f"--only {unknown[0]!r}: {path} has no such option; its options: {', '.join(known)}"
        )
    return [o for o in options if o.name in names]


def _read_spec(path: Path) -> StudyFile:
    import tomllib

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM is accepted
    except FileNotFoundError:
        raise ScenarioError(f"options file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read options file {path}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: malformed TOML: {err}") from None
    return _validated(raw, path)


def _validated(raw: dict[str, Any], path: Path) -> StudyFile:
    try:
        return StudyFile.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(f"{path}: {describe_error(err, raw, root=Scenario)}") from None


def _scenario(path: Path, file: str, sets: list[str], factor: float, where: str) -> Scenario:
    """One side of the study, loaded relative to the study file and scaled."""
    try:
        return scale_scenario(load_scenario(path.parent / file, sets), factor)
    except ScenarioError as err:
        raise ScenarioError(f"{path}: {where}: {err}") from None
    except ValueError as err:  # scale() refuses a factor the scenario cannot take
        raise ScenarioError(f"{path}: {where}: scale {factor:g}: {err}") from None


def study_jobs(study: Study) -> list[Job]:
    """Replications 0..reps-1 of the baseline, then of each option, all with the
    baseline's seed (common random numbers). The variant label is the option's name."""
    sides = [(BASELINE, study.baseline), *((o.name, s) for o, s in study.options)]
    return [
        Job(scenario, k, study.baseline.seed, variant=(("option", name),))
        for name, scenario in sides
        for k in range(study.reps)
    ]


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class OptionResult:
    """One option (or the baseline): its estimates, its paired differences from the
    baseline, and the target's verdict."""

    name: str
    description: str
    changes: tuple[str, ...]
    n: int
    estimates: dict[str, Estimate]
    differences: dict[str, Difference]
    check: Check | None
    series: tuple[dict[str, Any], ...]  # per-run series, for the timeline figure
    robust: dict[str, Any] | None = None  # across plausible worlds (sim.experiments.robust)

    @property
    def meets_target(self) -> bool:
        return self.check is not None and self.check.holds


def analyse(
    study: Study,
    jobs: Sequence[Job],
    outcome: Outcome,
    robust: dict[str, dict[str, Any]] | None = None,
) -> list[OptionResult]:
    """The baseline then every option, from the finished runs; `robust`, each one's
    verdict across plausible worlds by name (:meth:`sim.experiments.robust.Verdict.as_json`)."""
    found = {r["key"]: r for r in outcome.records}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        if job.key in found:
            by_name.setdefault(dict(job.variant)["option"], []).append(found[job.key])
    base = [with_study_kpis(r) for r in by_name.get(BASELINE, [])]
    described = [(BASELINE, "the scenario as it is", ())] + [
        (o.name, o.description, _changes(o)) for o, _ in study.options
    ]
    results = []
    for name, description, changes in described:
        records = [with_study_kpis(r) for r in by_name.get(name, [])]
        check = None
        if study.target is not None and records:
            values = [metric_of(r, study.target.metric) for r in records]
            check = decide(values, study.target, study.spec.confidence)
        results.append(
            OptionResult(
                name=name,
                description=description,
                changes=changes,
                n=len(records),
                estimates=summarize(records) if records else {},
                differences=paired(base, records) if name != BASELINE else {},
                check=check,
                series=tuple(
                    {"bin_start_s": r["bin_start_s"], "bin_s": r["bin_s"], **r["series"]}
                    for r in records
                ),
                robust=(robust or {}).get(name),
            )
        )
    return results


def with_study_kpis(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the KPIs a study adds to each run (those of scope ``study`` in
    :mod:`sim.measure.metrics`): ``kpi.worst_unavailable_minutes``, the longest time any
    one service was unavailable, the plainest measure of "it broke"."""
    values = record["metrics"]
    down = [
        v or 0
        for k, v in values.items()
        if k.startswith("services.") and k.endswith(".unavailable_minutes")
    ]
    worst = max(down, default=0)
    return {**record, "metrics": {**values, WORST_UNAVAILABLE: worst}}


def _changes(option: Option) -> tuple[str, ...]:
    scenario = (f"scenario {option.scenario}",) if option.scenario else ()
    return (*scenario, *option.set)


def best(results: Sequence[OptionResult], target: Criterion | None) -> OptionResult | None:
    """The option to read first: among those meeting the target (every option, without
    one), the one with the best mean of the target metric."""
    options = [r for r in results if r.name != BASELINE]
    metric = target.metric if target else STUDY_METRIC
    if target is not None:
        options = [r for r in options if r.meets_target]
    ranked = [r for r in options if metric in r.estimates]
    if not ranked:
        return None
    higher = target is None or target.op in (">=", ">")
    return max(ranked, key=lambda r: r.estimates[metric].mean * (1 if higher else -1))


def study_table(results: Sequence[OptionResult]) -> tuple[list[str], list[list[Any]]]:
    """One row per option (baseline first): each key metric's mean and 95 % bounds, its
    difference from the baseline with bounds, and the target's verdict; the costs too
    when the runs have them (``[costs]``)."""
    columns = [*OPTIONS_TABLE, *(COST_KPIS if frontier.has_costs(results) else ())]
    header = ["option", "n", "verdict"]
    for m in columns:
        header += [f"{m}.mean", f"{m}.low", f"{m}.high"]
        header += [f"{m}.diff", f"{m}.diff_low", f"{m}.diff_high", f"{m}.significant"]
    rows = []
    for r in results:
        row: list[Any] = [r.name, r.n, r.check.verdict if r.check else ""]
        for m in columns:
            e, d = r.estimates.get(m), r.differences.get(m)
            row += [_finite(x) for x in ((e.mean, e.low, e.high) if e else (None,) * 3)]
            diff = (d.diff.mean, d.diff.low, d.diff.high) if d else (None,) * 3
            row += [*(_finite(x) for x in diff), d.significant if d else None]
        rows.append(row)
    return header, rows


def study_json(study: Study, results: Sequence[OptionResult]) -> dict[str, Any]:
    """options.json: what the report reads (see :mod:`sim.outputs.report.kinds`)."""
    winner = best(results, study.target)
    return {
        "name": study.name,
        "study_file": str(study.path),
        "scenario": study.baseline.name,
        "description": study.spec.description,
        "seed": study.baseline.seed,
        "scale": study.baseline.scale,  # with any scale of the scenario file itself
        "replications": study.reps,
        "confidence": study.spec.confidence,
        "target": _target_json(study),
        "best": winner.name if winner else None,
        **(frontier.frontier_json(study, results) if frontier.has_costs(results) else {}),
        "options": [_result_json(r) for r in results],
        **_uncertain_json(study, results),
    }


def _uncertain_json(study: Study, results: Sequence[OptionResult]) -> dict[str, Any]:
    """The plausible worlds the robust verdicts were made in, if any were."""
    if not any(r.robust for r in results):
        return {}
    return {"uncertain": {"ranges": study.spec.uncertain, "worlds": study.spec.worlds}}


def _target_json(study: Study) -> dict[str, Any] | None:
    t = study.target
    if t is None:
        return None
    return {"metric": t.metric, "op": t.op, "value": t.value, "text": study.spec.target}


def _result_json(r: OptionResult) -> dict[str, Any]:
    def est(e: Estimate) -> dict[str, Any]:
        values = {k: _finite(getattr(e, k)) for k in ("mean", "half_width", "low", "high")}
        return values | {"method": e.method}

    def diff(d: Difference) -> dict[str, Any]:
        values = {k: _finite(getattr(d.diff, k)) for k in ("mean", "low", "high")}
        return {**values, "significant": d.significant}

    check = None
    if r.check is not None:
        c = r.check
        check = {
            "verdict": c.verdict,
            **{k: _finite(getattr(c, k)) for k in ("mean", "low", "high")},
        }
    cost = frontier.cost_json(r.estimates)
    return {
        "name": r.name,
        "description": r.description,
        "changes": list(r.changes),
        "n": r.n,
        "target": check,
        **({"cost": cost} if cost else {}),  # with [costs] only
        "estimates": {m: est(e) for m, e in r.estimates.items()},
        "differences": {m: diff(d) for m, d in r.differences.items()},
        "robust": r.robust,
    }


def _finite(value: float | None) -> float | None:
    """A number for the tables and JSON: None for a missing or infinite one."""
    return value if value is not None and math.isfinite(value) else None
