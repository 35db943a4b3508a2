"""The folders of sweeps, comparisons and options studies: their tables, manifest,
scenarios and figures, written all together or not at all (the experiments compute
them: :mod:`sim.experiments.sweep`, :mod:`sim.experiments.compare`,
:mod:`sim.experiments.options`)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.config import Scenario, to_toml
from sim.experiments.compare import COMPARE, Difference, compare_json, compare_table, paired, sides
from sim.experiments.execution import Estimate, Job, Outcome
from sim.experiments.options import (
    STUDY_JSON,
    TABLE,
    OptionResult,
    Study,
    analyse,
    study_json,
    study_table,
)
from sim.experiments.plan import PROBE_COLUMNS, PlanResult, plan_data
from sim.experiments.sweep import (
    RUNS_TABLE,
    VARIANTS_TABLE,
    Point,
    aggregate_table,
    runs_table,
    variant_estimates,
)
from sim.measure.metrics import HEADLINE
from sim.outputs import atomic
from sim.outputs.experiment_folder import (
    MANIFEST,
    SCENARIO,
    csv_text,
    manifest,
    write_table,
)
from sim.outputs.experiment_folder import runs_table as reps_runs_table
from sim.outputs.figures import save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@atomic.all_or_nothing()
def write_compare(
    folder: Path,
    a: Scenario,
    b: Scenario,
    jobs: Sequence[Job],
    outcome: Outcome,
    manifest_data: dict[str, Any],
    *,
    plots: bool = True,
) -> dict[str, Difference]:
    """Write compare.csv/.json (and .png), both scenarios, the runs table and the
    manifest; return the differences."""
    diffs = paired(*sides(jobs, outcome))

    def figures() -> dict[str, Figure]:
        return {f"{COMPARE}.png": compare_figure(a, b, diffs, jobs)}

    texts = {
        "scenario_a.toml": to_toml(a),
        "scenario_b.toml": to_toml(b.model_copy(update={"seed": a.seed})),
        f"{COMPARE}.csv": csv_text(*compare_table(diffs)),
    }
    jsons = {f"{COMPARE}.json": compare_json(a, b, diffs)}
    drawn = figures if plots and diffs else None
    _write_experiment(folder, jobs, outcome, manifest_data, texts=texts, jsons=jsons, figures=drawn)
    return diffs


def compare_figure(
    a: Scenario, b: Scenario, diffs: dict[str, Difference], jobs: Sequence[Job] = ()
) -> Figure:
    """The headline KPIs' differences B − A, each with its interval, titled with what A
    and B are (:func:`compare_title`)."""
    from sim.outputs.plots import experiments as plots  # matplotlib: only when drawing

    shown = [(n, d.diff, d.significant) for n, d in diffs.items() if n in HEADLINE]
    return plots.compare_figure(shown, compare_title(a, b, jobs))


TITLE_WIDTH = 90  # characters of a line of a figure's title


def compare_title(a: Scenario, b: Scenario, jobs: Sequence[Job] = ()) -> str:
    """What B − A is a difference of: each side's scenario and the overrides of that
    side alone (``--set-a``, ``--set-b``, read from the `jobs`), one line each; "B − A"
    alone says nothing when both sides are one scenario."""
    overrides = {dict(job.variant)["side"]: job.variant[1:] for job in jobs}

    def side(name: str, scenario: Scenario) -> str:
        changes = ", ".join(f"{path}={value}" for path, value in overrides.get(name, ()))
        text = f"{name}: {scenario.name}" + (f", with {changes}" if changes else "")
        return textwrap.shorten(text, TITLE_WIDTH, placeholder=" ...")

    return f"B − A, paired replications\n{side('A', a)}\n{side('B', b)}"


@atomic.all_or_nothing()
def write_sweep(
    folder: Path,
    base: Scenario,
    jobs: Sequence[Job],
    outcome: Outcome,
    manifest_data: dict[str, Any],
    *,
    plots: bool = True,
    targets: dict[str, float] | None = None,
) -> list[tuple[Point, dict[str, Estimate]]]:
    """Write the tables (``runs``, ``variants``: CSV and Parquet), the base scenario, the
    manifest and the figures; return the per-variant estimates."""
    estimates = variant_estimates(jobs, outcome)

    def figures() -> dict[str, Figure]:
        from sim.outputs.plots.experiments import sweep_figures  # matplotlib: only when drawing

        return sweep_figures(estimates, targets)

    _write_experiment(
        folder,
        jobs,
        outcome,
        manifest_data,
        texts={SCENARIO: to_toml(base)},
        tables={VARIANTS_TABLE: aggregate_table(estimates)},
        figures=figures if plots and outcome.records else None,
    )
    return estimates


@atomic.all_or_nothing()
def write_study(
    folder: Path,
    study: Study,
    jobs: Sequence[Job],
    outcome: Outcome,
    manifest_data: dict[str, Any],
    *,
    plots: bool = True,
    robust: tuple[dict[str, Any], tuple[list[str], list[list[Any]]]] | None = None,
) -> list[OptionResult]:
    """Write the study's tables, scenarios, figures and manifest; return the results.
    `robust`: the verdicts across plausible worlds (by option) and the table of those
    runs (``worlds.csv``), when the study has them (:mod:`sim.experiments.robust`)."""
    results = analyse(study, jobs, outcome, robust[0] if robust else None)

    def figures() -> dict[str, Figure]:
        from sim.outputs.plots import options as plots_options  # matplotlib: only when drawing

        drawn = plots_options.study_figures(study, results)
        return {f"{stem}.png": figure for stem, figure in drawn.items()}

    texts = {SCENARIO: to_toml(study.baseline), "study.toml": study.path.read_text("utf-8")}
    for i, (_, scenario) in enumerate(study.options, start=1):
        texts[f"scenarios/option_{i}.toml"] = to_toml(scenario)
    _write_experiment(
        folder,
        jobs,
        outcome,
        manifest_data,
        texts=texts,
        tables={TABLE: study_table(results), **({"worlds": robust[1]} if robust else {})},
        jsons={STUDY_JSON: study_json(study, results)},
        figures=figures if plots and any(r.n for r in results) else None,
    )
    return results


def _write_experiment(
    folder: Path,
    jobs: Sequence[Job],
    outcome: Outcome,
    manifest_data: dict[str, Any],
    *,
    texts: dict[str, str],
    tables: dict[str, tuple[list[str], list[list[Any]]]] | None = None,
    jsons: dict[str, Any] | None = None,
    figures: Callable[[], dict[str, Figure]] | None = None,
) -> None:
    """What every experiment folder holds: its own files (`texts`, by path in the
    folder), the runs table, its own tables (CSV and Parquet) and JSON files, the
    manifest, and the figures, drawn only when asked for (matplotlib is slow to load).
    The caller is :func:`sim.outputs.atomic.all_or_nothing`: all of it, or none."""
    for name, text in texts.items():
        atomic.write_text(folder / name, text)
    write_table(folder, RUNS_TABLE, *runs_table(jobs, outcome))
    for stem, (header, rows) in (tables or {}).items():
        write_table(folder, stem, header, rows)
    for name, data in (jsons or {}).items():
        atomic.write_json(folder / name, data)
    atomic.write_json(folder / MANIFEST, manifest_data)
    for name, figure in (figures() if figures else {}).items():
        save_figure(figure, folder / name)


PLAN_CSV, PLAN_JSON, PLAN_PNG = "plan.csv", "plan.json", "plan.png"


@atomic.all_or_nothing()
def write_plan(
    folder: Path, base: Scenario, result: PlanResult, extra: dict[str, Any], command: list[str]
) -> None:
    """scenario.toml (the scenario before the parameter is set), plan.csv, plan.json,
    replications.csv, plan.png and manifest.json; all of them, or none."""
    from sim.outputs.plots.plan import plan_figure  # matplotlib: only when drawing

    outcome = result.outcome()
    data = plan_data(result, **extra)
    rows = [[i, *(p[c] for c in PROBE_COLUMNS)] for i, p in enumerate(data["probes"], 1)]
    atomic.write_text(folder / SCENARIO, to_toml(base))
    atomic.write_text(folder / PLAN_CSV, csv_text(["order", *PROBE_COLUMNS], rows))
    atomic.write_text(folder / PLAN_JSON, json.dumps(data, indent=2) + "\n")
    atomic.write_text(folder / "replications.csv", csv_text(*reps_runs_table(outcome.records)))
    save_figure(plan_figure(data), folder / PLAN_PNG)
    meta = manifest(command, outcome, {"seeds": [base.seed], **extra})
    atomic.write_text(folder / MANIFEST, json.dumps(meta, indent=2) + "\n")
