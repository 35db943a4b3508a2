"""The experiment side of the ``sim`` command: replications (``sim run --reps``), and
the pieces the other experiment commands share: assertions, progress, tables.

Only printing and argument handling live here; the work is in :mod:`sim.experiments.execution`
and the files in :mod:`sim.outputs.experiment_folder`.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from sim.cli.common import (
    check_folder,
    command_line,
    err,
    experiment_failures,
    fail,
    out,
)
from sim.config.scenario import Scenario
from sim.experiments import execution as experiment
from sim.experiments import sweep
from sim.experiments.execution import Estimate, Job, Outcome, execute, last_line
from sim.measure import metrics
from sim.measure.criteria import Criterion, parse_criterion
from sim.measure.kpis import unknown_metric
from sim.measure.metrics import kind_of, missing_mean_text
from sim.outputs import experiment_folder
from sim.outputs.progress import PlainProgress
from sim.outputs.run_store import RunStore
from sim.outputs.tables import Column, interval_text, print_table, table_label, value_text

Assertion = Criterion  # an --assert check


def parse_assertion(text: str) -> Assertion:
    return parse_criterion(text, "--assert")


class JobReport:
    """What :func:`job_progress` yields: called with ``(done, total)`` as runs finish;
    :meth:`above` prints a line of results (a plan's probe) above the bar."""

    def __init__(self, update, bar: Progress | None = None) -> None:
        self._update = update
        self._bar = bar

    def __call__(self, done: int, total: int | None) -> None:
        self._update(done, total)

    def above(self, console: Console, text: str) -> None:
        """Print `text` on `console` (stdout). With a live bar on the same terminal, print
        it through the bar's console: the bar is cleared, the line printed, the bar drawn
        again below it (printed past it, the line would follow the bar's last frame)."""
        live = self._bar is not None and self._bar.live.is_started and console.is_terminal
        target = self._bar.console if live else console
        target.print(text, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def job_progress(console: Console, label: str):
    """Progress of finished runs: a bar with an ETA on a terminal, else a plain line per
    tenth of the runs (:mod:`sim.outputs.progress`), for logs, ``nohup`` and ``| tee``."""
    if not console.is_terminal:
        plain = PlainProgress(console, label)

        def report(done: int, total: int | None) -> None:
            if total:
                plain.update(done / total, f"{done} of {total} runs")

        yield JobReport(report)
        return
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs, ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(label, total=None)
    with bar:
        yield JobReport(lambda done, total: bar.update(task, completed=done, total=total), bar)


def run_replications(
    scenario: Scenario,
    reps: int,
    target: Path,
    *,
    precision: float | None,
    max_reps: int,
    n_jobs: int | None,
    scheduler: str | None,
    command: list[str],
    console: Console,
    err: Console,
) -> tuple[Outcome, dict[str, Estimate], bool]:
    from sim.api.experiments import replicate  # heavy (scipy, figures): only with --reps

    with job_progress(err, f"{scenario.name}") as progress:
        done = replicate(
            scenario,
            reps,
            precision=precision,
            max_reps=max_reps,
            jobs=n_jobs,
            scheduler=scheduler,
            folder=target,
            progress=progress,
            command=command,
        )
    return done.outcome, done.by_metric, done.precise


def print_discarded(console: Console, folder: Path, count: int) -> None:
    """Say that records made by another version of sim were found in `folder` (and not
    used): a rerun into an older folder must not look like a plain rerun."""
    _say_removed(
        console, folder, count, "",
        "made by another version of sim: not reused, removed; the runs asked for are made again",
    )  # fmt: skip


def print_damaged(console: Console, folder: Path, count: int) -> None:
    """Say (on `console`: stderr) that stored runs of `folder` did not check out and
    were made again (:mod:`sim.experiments.records`): an edited record must not pass silently."""
    _say_removed(
        console, folder, count, "stored ",
        "damaged or edited (checksum or content check failed): not reused, removed and made again",
    )  # fmt: skip


def _say_removed(console: Console, folder: Path, count: int, which: str, why: str) -> None:
    """``<count> <which>run(s) in <folder>/runs/ was (were) <why>``, if `count`."""
    if count:
        runs, was = ("run", "was") if count == 1 else ("runs", "were")
        console.print(
            f"{count} {which}{runs} in {folder}/runs/ {was} {why}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def print_estimates(
    console: Console, title: str, estimates: dict[str, Estimate], names: list[str]
) -> None:
    """Each KPI's mean and interval, in the words and units of every other table
    (:mod:`sim.outputs.tables`), readable at 80 columns and in a pipe."""
    columns = [Column("KPI"), Column("mean", right=True), Column("95 % CI", right=True)]
    rows = [
        [table_label(name), mean_text(name, est), _interval(name, est)]
        for name in names
        if (est := estimates.get(name)) is not None and _shown(name, est)
    ]
    print_table(console, title, columns, rows)
    console.print(INTERVAL_NOTE, highlight=False)


def mean_text(name: str, est: Estimate) -> str:
    """The mean of `est` in the words of every table; an unbounded one says in how many
    replications it was (one unbounded morning of three is not three)."""
    if math.isinf(est.mean) and est.mean > 0:
        return missing_mean_text(name, est.unbounded, est.n)
    return value_text(name, est.mean)


def _shown(name: str, est: Estimate) -> bool:
    """A row for every estimate with values (a role without people, pupils where there
    are none, has none) that is worth a row (:func:`sim.measure.metrics.shown`)."""
    return est.n > 0 and metrics.shown(name, est.mean)


INTERVAL_NOTE = "95 % CI: Student t, within what each metric can be (shares 0-100 %, others >= 0)"


def _interval(name: str, est: Estimate) -> str:
    """The estimate's interval, or why there is none."""
    if est.n < experiment.MIN_VALUES_FOR_INTERVAL:
        return "none from 1 run"
    return interval_text(name, est.low, est.high)


def check_assertions(
    console: Console, assertions: list[Assertion], values: dict[str, float | None]
) -> bool:
    """Print each assertion's verdict; True if all hold. An unknown metric fails."""
    ok = True
    for assertion in assertions:
        if assertion.metric not in values:
            console.print(f"assert {assertion}: FAIL (no metric {assertion.metric!r})")
            ok = False
            continue
        holds = assertion.holds(values[assertion.metric])
        verdict = "ok" if holds else "FAIL"
        observed = values[assertion.metric]
        shown = (
            "no value: nobody"
            if observed is None and kind_of(assertion.metric) != "s"
            else _num(observed)
        )
        console.print(f"assert {assertion}: {verdict} ({shown})")
        ok &= holds
    return ok


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return "inf"
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return f"{value:,.4g}"


def execute_jobs(jobs: list[Job], target: Path, label: str, n_jobs, scheduler) -> Outcome:
    """Run the jobs not yet in the run store, each saved as it finishes; on Ctrl-C, say
    what is kept and exit 130 (the finished runs are reused by the same command)."""
    check_folder(target)
    with experiment_failures(target), job_progress(err, label) as progress:
        return execute(jobs, RunStore(target), n_jobs, scheduler, progress)


def experiment_manifest(outcome: Outcome, extra: dict[str, Any], started: float) -> dict[str, Any]:
    elapsed = time.perf_counter() - started
    return experiment_folder.experiment_manifest(command_line(), outcome, extra, elapsed)


def print_written(target: Path, outcome: Outcome) -> None:
    print_discarded(out, target, outcome.stale)
    print_damaged(err, target, outcome.damaged)
    message = f"results written to {target}/ ({outcome.reused} reused, {outcome.ran} run)"
    out.print(message, highlight=False, soft_wrap=True)


def report_failures(failures: list[tuple[Job, str]]) -> None:
    """One line on stderr per failed run: which (its variant, its replication) and the
    last line of its error."""
    for job, error in failures:
        where = "".join(f"{p}={sweep.plain(v)}, " for p, v in job.variant)
        err.print(
            f"run {job.key} ({where}replication {job.replication}) failed: {last_line(error)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def plus_minus(est: Estimate | None, metric: str = "") -> str:
    """A mean and its interval, the unit of `metric` after each (``95.8 % (95.1 .. 96.4
    %)``): the interval stays within what the metric can be, so it need not be symmetric."""
    if est is None or est.n == 0:
        return "-"
    if not est.has_interval:
        return mean_text(metric, est)
    return f"{value_text(metric, est.mean)} ({interval_text(metric, est.low, est.high)})"


def parse_assertions(texts: list[str] | None, *scenarios: Scenario) -> list[Assertion]:
    """The --assert checks, each naming a metric that every one of `scenarios` reports."""
    try:
        checks = [parse_assertion(t) for t in texts or []]
    except ValueError as e:
        fail(str(e))
        raise
    for check in checks:
        for scenario in scenarios:
            problem = unknown_metric(check.metric, scenario.flat)
            if problem:
                fail(f"--assert {check}: {problem}")
    return checks
