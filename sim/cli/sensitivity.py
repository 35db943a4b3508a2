"""``sim sensitivity``: which of a scenario's uncertain assumptions move a KPI most.

Only arguments, printing and exit codes live here; the design and the indices are in
:mod:`sim.experiments.sensitivity`, the files in :mod:`sim.outputs.sensitivity_folder`.
Every input (the ranges, the method and its sample size, the KPIs, each point's
scenario, the folder, the memory) is checked before anything runs: a bad one is one
line on stderr and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.common import (
    ScaleOption,
    ScenarioArg,
    SeedOption,
    SetOption,
    check_fits,
    check_folder,
    check_scale,
    command_line,
    err,
    experiment_failures,
    fail,
    load_for_command,
    out,
    out_path,
    preflight_scheduler,
    results_folder,
    scaled_title,
    warn_if_shaky,
    write_report_into,
)
from sim.cli.sweep import Jobs, Plots, Scheduler
from sim.outputs import folders
from sim.outputs.tables import Column, print_table

if TYPE_CHECKING:  # names for annotations: these modules import numpy and the model
    from sim.api.sensitivity import Sensitivity

METHODS = ("morris", "sobol")  # sim.experiments.sensitivity.METHODS (that one imports numpy)


def sensitivity_command(
    scenario: ScenarioArg = None,
    uncertain: Annotated[
        list[str] | None,
        typer.Option(
            "--uncertain",
            metavar="PATH=[LOW,HIGH]",
            help="An uncertain field and its range: 'dotted.path=[low, high]' (repeatable; "
            "replaces the scenario's [uncertain] table).",
            show_default=False,
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(help="morris (screening, cheap) or sobol (indices S1 and ST)."),
    ] = "morris",
    samples: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Morris trajectories (runs: samples x (parameters + 1)) or Sobol base "
            "samples, a power of 2 (runs: samples x (parameters + 2)) [default: 10 for "
            "morris, 32 for sobol].",
            show_default=False,
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            metavar="KPI",
            help="A KPI to analyse, e.g. by_role.pupil.time_to_class_p95_s (repeatable; the "
            "chart shows the first) [default: share_in_class_5min_after_start].",
            show_default=False,
        ),
    ] = None,
    set_: SetOption = None,
    seed: SeedOption = None,
    scale_: ScaleOption = 1.0,
    jobs: Jobs = None,
    scheduler: Scheduler = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", parser=out_path, help="Results folder (default: results/<name>-sensitivity)."
        ),
    ] = None,
    plots: Plots = True,
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html (see sim report).")
    ] = False,
) -> None:
    """Rank the scenario's uncertain assumptions by how much they move a KPI: Morris
    screening or Sobol indices (SALib), every point run once with the same seed
    (common random numbers). Ranges come from --uncertain or the scenario's [uncertain]
    table; with --scale, they are full-size values, scaled with the scenario. Integer
    fields (servers) take the sampled values rounded."""
    # heavy (numpy, scipy, SALib, the model): only when an analysis runs
    from sim.api.sensitivity import plan_sensitivity, sensitivity
    from sim.cli.experiments import job_progress, print_written, report_failures
    from sim.config import ScenarioError
    from sim.experiments.sensitivity import parse_uncertain

    check_scale(scale_)
    if method not in METHODS:
        fail(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    base = load_for_command(scenario, set_)
    try:
        given = dict(parse_uncertain(text) for text in uncertain or [])
        plan = plan_sensitivity(
            base,
            given,
            method=method,
            samples=samples,
            metrics=metric or [],
            scale=scale_,
            seed=seed,
        )
    except (ValueError, ScenarioError) as e:
        fail(str(e))
        raise
    name = plan.base.name
    target = results_folder(out_dir or Path("results") / f"{name}-sensitivity", folders.SENSITIVITY)
    check_fits(list(plan.scenarios), len(plan.points), jobs, scheduler)
    preflight_scheduler(scheduler)
    check_folder(target)
    warn_if_shaky(plan.base)
    with experiment_failures(target), job_progress(err, f"{name} sensitivity") as progress:
        done = sensitivity(
            plan,
            jobs=jobs,
            scheduler=scheduler,
            folder=target,
            plots=plots,
            progress=progress,
            command=command_line(),
        )
    _print_ranking(done)
    report_failures(done.failures)
    print_written(target, done.outcome)
    if report:
        write_report_into(target)
    if done.failures:
        raise typer.Exit(1)


def _print_ranking(done: Sensitivity) -> None:
    """Per KPI, the parameters ranked (a table readable at 80 columns), then the answer
    in words, as the report says it (:mod:`sim.outputs.sensitivity_words`)."""
    from sim.measure.metrics import label
    from sim.outputs.sensitivity_words import ranking_rows, ranking_sentences

    data = done.data
    for entry in data["metrics"]:
        title = (
            f"{data['scenario']}: what moves {label(entry['metric'])} "
            f"({data['method']}, {data['points']} points)"
        )
        header, rows = ranking_rows(data, entry)
        columns = [
            Column(header[0]),
            Column(header[1]),
            *(Column(h, right=True) for h in header[2:]),
        ]
        print_table(out, scaled_title(title, data["scale"]), columns, rows, keys=2)
        for sentence in ranking_sentences(data, entry):
            out.print(sentence, highlight=False, markup=False)
