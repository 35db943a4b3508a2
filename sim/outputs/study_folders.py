"""The folders of sweeps, comparisons and options studies: their tables, manifest,
scenarios and figures, written all together or not at all (the experiments compute
them: :mod:`sim.experiments.sweep`, :mod:`sim.experiments.compare`,
:mod:`sim.experiments.options`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    save_figure,
    write_table,
)


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
    atomic.write_text(folder / "scenario_a.toml", to_toml(a))
    atomic.write_text(folder / "scenario_b.toml", to_toml(b.model_copy(update={"seed": a.seed})))
    write_table(folder, RUNS_TABLE, *runs_table(jobs, outcome))
    atomic.write_text(folder / f"{COMPARE}.csv", csv_text(*compare_table(diffs)))
    atomic.write_json(folder / f"{COMPARE}.json", compare_json(a, b, diffs))
    atomic.write_json(folder / MANIFEST, manifest_data)
    if plots and diffs:
        from sim.outputs.plots.experiments import compare_figure  # matplotlib: only when drawing

        shown = [(n, d.diff, d.significant) for n, d in diffs.items() if n in HEADLINE]
        title = f"{b.name} − {a.name}" if a.name != b.name else "B − A"
        save_figure(compare_figure(shown, title), folder / f"{COMPARE}.png")
    return diffs


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
    atomic.write_text(folder / SCENARIO, to_toml(base))
    write_table(folder, RUNS_TABLE, *runs_table(jobs, outcome))
    write_table(folder, VARIANTS_TABLE, *aggregate_table(estimates))
    atomic.write_json(folder / MANIFEST, manifest_data)
    if plots and outcome.records:
        from sim.outputs.plots.experiments import sweep_figures  # matplotlib: only when drawing

        for name, figure in sweep_figures(estimates, targets).items():
            save_figure(figure, folder / name)
    return estimates


def write_study(
    folder: Path,
    study: Study,
    jobs: Sequence[Job],
    outcome: Outcome,
    manifest_data: dict[str, Any],
    *,
    plots: bool = True,
) -> list[OptionResult]:
    """Write the study's tables, scenarios, figures and manifest; return the results."""
    results = analyse(study, jobs, outcome)
    atomic.write_text(folder / SCENARIO, to_toml(study.baseline))
    for i, (_, scenario) in enumerate(study.options, start=1):
        atomic.write_text(folder / "scenarios" / f"option_{i}.toml", to_toml(scenario))
    atomic.write_text(folder / "study.toml", study.path.read_text(encoding="utf-8"))
    write_table(folder, RUNS_TABLE, *runs_table(jobs, outcome))
    write_table(folder, TABLE, *study_table(results))
    atomic.write_json(folder / STUDY_JSON, study_json(study, results))
    atomic.write_json(folder / MANIFEST, manifest_data)
    if plots and any(r.n for r in results):
        from sim.outputs.plots import options as plots_options  # matplotlib: only when drawing

        for stem, figure in plots_options.study_figures(study, results).items():
            save_figure(figure, folder / f"{stem}.png")
    return results
