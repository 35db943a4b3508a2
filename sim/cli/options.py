"""``sim options``: what went wrong in a scenario, and which option would have fixed it.

Only arguments, printing and exit codes live here; the study (files, statistics) is
:mod:`sim.experiments.options`. Nothing runs before the checks of every writing command: the folder
(and its ``baseline/``), the memory and the event budget of every option's runs. Then
the baseline's first replication runs, in this process, and its full results folder is
kept in ``<out>/baseline/`` (dashboard included): the report shows what went wrong from
it. The other runs then go to the pool (or Dask) like a sweep.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.common import (
    MAX_REPS,
    SeedOption,
    SetOption,
    cannot_write,
    check_fits,
    check_folder,
    command_line,
    err,
    experiment_failures,
    fail,
    find_scenario,
    folder_unwritten,
    out,
    out_path,
    preflight_scheduler,
    print_kpis,
    results_folder,
    run_progress,
    scaled_title,
    warn_if_shaky,
    write_report_into,
)
from sim.cli.sweep import Jobs, Plots, Scheduler
from sim.config import ScenarioError
from sim.measure import metrics
from sim.measure.metrics import OPTIONS_COLUMNS, STUDY_METRIC
from sim.outputs import folders
from sim.outputs.tables import Column, difference_text, print_table, table_label, value_text

if TYPE_CHECKING:  # names for annotations: these modules import numpy and the model
    from sim.experiments import options as study_mod
    from sim.experiments.execution import Job
    from sim.experiments.options import Study

BASELINE_DIR, SUMMARY_FILE = "baseline", "summary.json"  # where the baseline's run is kept

StudyArg = Annotated[
    Path,
    typer.Argument(
        help="Options study: a TOML file (see sim.experiments.options) or a shipped example's name "
        "(see sim examples).",
        show_default=False,
    ),
]


def options_command(
    study_file: StudyArg,
    set_: SetOption = None,
    scale_: Annotated[
        float | None,
        typer.Option("--scale", help="Fraction of the people to simulate [default: the file's]."),
    ] = None,
    reps: Annotated[
        int | None,
        typer.Option(min=2, max=MAX_REPS, help="Replications per option [default: the file's]."),
    ] = None,
    seed: SeedOption = None,
    jobs: Jobs = None,
    scheduler: Scheduler = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", parser=out_path, help="Results folder [default: results/<name>]."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="NAME",
            help="Run only this option (by name) and the baseline; repeat for several.",
            show_default=False,
        ),
    ] = None,
    plots: Plots = True,
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html (see sim report).")
    ] = False,
    worlds: Annotated[
        int | None,
        typer.Option(
            "--worlds",
            min=0,
            max=1000,
            help="Plausible worlds drawn in the study's [uncertain] ranges, in which the "
            "baseline and every option also run once: the share in which each meets the "
            "target, and where it fails (0: none) [default: the file's, else 16].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a scenario and each option of a study (same replications, common random
    numbers): what went wrong, what each option changes, and which meet the target;
    with an [uncertain] table, how robust each verdict is across plausible worlds."""
    # heavy (numpy, scipy, the model): only when a study runs
    from sim.api.experiments import load_study
    from sim.api.experiments import options as study_options
    from sim.cli.experiments import job_progress, print_written, report_failures
    from sim.experiments.options import study_jobs
    from sim.experiments.robust import plan_robust

    if scale_ is not None and not 0 < scale_ < float("inf"):
        fail(f"--scale must be a number greater than 0, got {scale_}")
    study_file = find_scenario(study_file)
    try:
        study = load_study(
            study_file,
            set=set_ or [],
            scale=scale_,
            reps=reps,
            seed=seed,
            only=only or [],
            worlds=worlds,
        )
        robust = plan_robust(study)  # every world's scenario checked, before any run
    except (ScenarioError, ValueError) as e:
        fail(str(e))
        raise
    target = results_folder(out_dir or Path("results") / study.name, folders.OPTIONS)
    preflight_scheduler(scheduler)
    jobs_list = study_jobs(study)
    in_worlds = list(robust.jobs) if robust is not None else []
    if study.spec.uncertain and study.spec.worlds and study.target is None:
        err.print(
            "warning: the study has no target: its [uncertain] worlds are not run (there "
            "is nothing to meet in them)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    _check_before_running(study, target, len(jobs_list) + len(in_worlds), jobs, scheduler)
    warn_if_shaky(study.baseline)  # once the input is known good: before the runs
    damaged = _baseline(study, jobs_list[0], target)
    check_folder(target)
    with experiment_failures(target), job_progress(err, study.name) as progress:
        done = study_options(
            study,
            jobs=jobs,
            scheduler=scheduler,
            only=only or [],
            folder=target,
            plots=plots,
            progress=progress,
            command=command_line(),
            robust=robust,
        )
    done.outcome.damaged += damaged
    _print_options(study, done.results)
    _print_robust(study, done.results)
    report_failures(done.failures)
    print_written(target, done.outcome)
    if report:
        write_report_into(target)
    if done.failures:
        raise typer.Exit(1)


def _check_before_running(
    study: Study, target: Path, runs: int, jobs: int | None, scheduler: str | None
) -> None:
    """Fail (exit 2, one line) before the baseline runs if its folder could not take its
    results (a file named ``baseline``, a folder of the user's), or if the runs would not
    fit in memory or not end (every option's scenario, as many at once as the pool
    holds; the baseline alone in this process, even when the others go to Dask)."""
    from sim.experiments.options import BASELINE  # heavy (numpy): only when a study runs

    results_folder(target / BASELINE, folders.SINGLE)
    scenarios = [study.baseline, *(scenario for _, scenario in study.options)]
    check_fits(scenarios, runs, jobs, scheduler)
    check_fits([study.baseline], 1)


def _baseline(study: Study, job: Job, target: Path) -> int:
    """Run the baseline's first replication here, keep its full results folder and its
    record (:func:`sim.api.experiments.run_baseline`), printing its KPIs; skipped when
    both exist (a rerun). Returns the number of damaged records found (its own, 0 or 1:
    it was made again)."""
    # heavy (numpy, the model): only when a study runs
    from sim.api.experiments import run_baseline
    from sim.experiments.plan import UnknownMetric
    from sim.outputs.run_folder import OutputError
    from sim.outputs.run_store import RunStore

    store = RunStore(target)
    if store.get(job.key) is None or not (target / BASELINE_DIR / SUMMARY_FILE).is_file():
        out.print(f"{study.name}: the baseline, replication 0, with its dashboard", highlight=False)
    try:
        with run_progress(job.scenario) as progress:
            morning = run_baseline(study, job, target, store, progress)
    except OutputError as e:
        folder_unwritten(e)
    except OSError as e:
        cannot_write(target, e)
    except UnknownMetric as e:
        fail(f"{study.path}: target: {e}")
    except RuntimeError as e:  # a fault of the model: a runtime failure
        err.print(f"error: {e}", markup=False)
        raise typer.Exit(1) from None
    if morning is not None:
        print_kpis(morning.result)
    return store.damaged


def _print_options(study: study_mod.Study, results: list[study_mod.OptionResult]) -> None:
    """One row per option (stacked per option where the grid would not fit the screen),
    in the words and units of every other table (:mod:`sim.outputs.tables`)."""
    from sim.experiments.frontier import has_costs  # heavy (numpy): only when a study ran
    from sim.experiments.options import best

    with metrics.priced_in(metrics.currency_of(study.baseline)):
        _print_table(study, results, has_costs(results))
    winner = best(results, study.target)
    if winner is not None:
        what = "meets the target best" if study.target else "does best"
        out.print(f"option that {what}: {winner.name}", highlight=False)
    elif study.target:
        out.print("no option meets the target", highlight=False)
    if has_costs(results):
        _print_cheapest(study, results)


def _print_table(
    study: study_mod.Study, results: list[study_mod.OptionResult], costs: bool
) -> None:
    """The options' table: the target's metric first, then the study's KPIs, the cost
    (with ``[costs]``), the difference from the baseline and the verdict."""
    from sim.cli.experiments import plus_minus  # heavy (numpy): only when a study ran

    goal = f", target {study.spec.target}" if study.target else ""
    title = (
        f"{study.name}: {len(results) - 1} options x {study.reps} replications "
        f"(seed {study.baseline.seed}{goal}); mean (95 % confidence interval)"
    )
    title = scaled_title(title, study.baseline.scale)
    metric = STUDY_METRIC
    first = study.target.metric if study.target else STUDY_METRIC
    priced = (metrics.STUDY_COST,) if costs else ()  # the cost beside the metric judged
    shown = tuple(dict.fromkeys((first, *priced, *OPTIONS_COLUMNS)))  # the target's first
    columns = [
        Column("option"),
        *(Column(table_label(m), right=True) for m in shown),
        Column(f"difference from the baseline: {table_label(metric)} (* significant)", right=True),
        *([Column("target")] if study.target else []),
    ]
    rows = []
    for r in results:
        d = r.differences.get(metric)
        delta = "-"
        if d:
            delta = difference_text(metric, d.diff.mean) + (" *" if d.significant else "")
        cells = [plus_minus(r.estimates.get(m), m) for m in shown]
        verdict = [r.check.verdict if r.check else "-"] if study.target else []
        rows.append([r.name, *cells, delta, *verdict])
    if any(r.robust for r in results):
        columns.append(Column("plausible worlds meeting the target", right=True))
        for row, r in zip(rows, results, strict=True):
            row.append(robust_cell(r.robust))
    print_table(out, title, columns, rows)


def robust_cell(robust: dict | None) -> str:
    """``14/16 (88 %)``: in how many plausible worlds an option met the target."""
    if not robust or not robust.get("worlds"):
        return "-"
    return f"{robust['meets']}/{robust['worlds']} ({robust['share'] * 100:.0f} %)"


def _print_robust(study: study_mod.Study, results: list[study_mod.OptionResult]) -> None:
    """Per option, its verdict across the plausible worlds: the share meeting the
    target with its Wilson interval, and where it fails (:mod:`sim.experiments.robust`);
    wrapped here, never between a number and its unit."""
    judged = [r for r in results if r.robust and r.robust.get("worlds")]
    if not judged:
        return
    n = judged[0].robust["worlds"]
    lines = [
        f"Across {n} plausible worlds (a Latin hypercube of the study's [uncertain] "
        f"ranges, seed {study.baseline.seed}; each option run once per world, common "
        "random numbers):"
    ]
    for r in judged:
        v = r.robust
        line = (
            f"- {r.name}: meets the target in {v['meets']} of {v['worlds']} "
            f"({v['share'] * 100:.0f} %, 95 % interval {v['low'] * 100:.0f}-"
            f"{v['high'] * 100:.0f} %)"
        )
        lines.append(line + (f"; {v['fails_when']}" if v.get("fails_when") else ""))
    for line in lines:
        kept = line.replace(" %", "\u00a0%").replace(" s ", "\u00a0s ")
        text = textwrap.fill(kept, width=out.width, subsequent_indent="  ")
        out.print(text.replace("\u00a0", " "), highlight=False, markup=False, soft_wrap=True)


def _print_cheapest(study: study_mod.Study, results: list[study_mod.OptionResult]) -> None:
    """The cheapest option that meets the target, with its mean cost, and the options
    on the cost-risk frontier (no other is both cheaper and better: frontier.png)."""
    from sim.experiments.frontier import cheapest_meeting_target, efficient_options

    if study.target is not None:
        cheapest = cheapest_meeting_target(results)
        if cheapest is None:
            out.print("no option meets the target, at any cost", highlight=False)
        else:
            with metrics.priced_in(metrics.currency_of(study.baseline)):
                mean = cheapest.estimates[metrics.STUDY_COST].mean
                cost = value_text(metrics.STUDY_COST, mean)
            kept = cost.replace(" ", "\u00a0")  # never wrapped between number and unit
            _wrapped(f"cheapest option that meets the target: {cheapest.name}, {kept} (mean)")
    efficient = "; ".join(efficient_options(study, results))
    _wrapped(f"on the cost-risk frontier (none cheaper and better): {efficient}")


def _wrapped(line: str) -> None:
    """A long line wrapped at the terminal's width, its continuation indented."""
    text = textwrap.fill(line, width=out.width, subsequent_indent="  ")
    out.print(text.replace("\u00a0", " "), highlight=False, markup=False, soft_wrap=True)
