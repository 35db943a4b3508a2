"""The folder of a sensitivity analysis (``sim sensitivity``): its tables, its data,
the base scenario, the manifest and the tornado chart, written all together or not at
all (the analysis itself is :mod:`sim.experiments.sensitivity`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.config import Scenario, to_toml
from sim.experiments.execution import Job, Outcome
from sim.experiments.sensitivity import (
    INDICES_TABLE,
    SAMPLES_TABLE,
    SENSITIVITY_JSON,
    Analysis,
    indices_table,
    samples_table,
    shown_metrics,
)
from sim.outputs import atomic
from sim.outputs.experiment_folder import MANIFEST, SCENARIO, write_table
from sim.outputs.figures import save_figure

TORNADO = "tornado.png"


@atomic.all_or_nothing()
def write_sensitivity(
    folder: Path,
    base: Scenario,
    ranges: Sequence[Any],
    analyses: Sequence[Analysis],
    jobs: Sequence[Job],
    outcome: Outcome,
    data: dict[str, Any],
    manifest_data: dict[str, Any],
    *,
    plots: bool = True,
) -> None:
    """scenario.toml (the base, without the points' values), sensitivity.csv (tidy
    indices), samples.csv (one row per point), sensitivity.json, manifest.json and,
    with `plots`, tornado.png (the first KPI's)."""
    atomic.write_text(folder / SCENARIO, to_toml(base))
    write_table(folder, INDICES_TABLE, *indices_table(analyses, ranges))
    analysed = [a.metric for a in analyses]
    write_table(
        folder, SAMPLES_TABLE, *samples_table(jobs, outcome, shown_metrics(analysed, outcome))
    )
    atomic.write_json(folder / SENSITIVITY_JSON, data)
    atomic.write_json(folder / MANIFEST, manifest_data)
    if plots and outcome.records:
        from sim.outputs.plots.sensitivity import tornado_figure  # matplotlib: only when drawing

        save_figure(tornado_figure(data), folder / TORNADO)
