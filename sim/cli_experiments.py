"""The experiment side of the ``sim`` command: replications (``sim run --reps``), and
the pieces the other experiment commands share: assertions, progress, tables.

Only printing and argument handling live here; the work is in :mod:`sim.experiment`
and the files in :mod:`sim.experiment_store`.
"""

from __future__ import annotations

import math
import sys
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sim import experiment
from sim.config import Scenario
from sim.criteria import Criterion, parse_criterion
from sim.experiment import Estimate, Outcome, RunStore
from sim.experiment_store import write_replications
from sim.labels import kind_of
from sim.progress import PlainProgress
from sim.tables import Column, interval_text, print_table, table_label, value_text

Assertion = Criterion  # an --assert check


def parse_assertion(text: str) -> Assertion:
    return parse_criterion(text, "--assert")


@contextmanager
def job_progress(console: Console, label: str):
    """Progress of finished runs: a bar with an ETA on a terminal, else a plain line per
    tenth of the runs (:mod:`sim.progress`), for logs, ``nohup`` and ``| tee``."""
    if not console.is_terminal:
        plain = PlainProgress(console, label)

        def report(done: int, total: int | None) -> None:
            if total:
                plain.update(done / total, f"{done} of {total} runs")

        yield report
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
        yield lambda done, total: bar.update(task, completed=done, total=total)


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
    store = RunStore(target)
    with job_progress(err, f"{scenario.name}") as progress:
        outcome, precise = experiment.replicate(
            scenario,
            reps,
            store,
            precision=precision,
            max_reps=max_reps,
            n_jobs=n_jobs,
            scheduler=scheduler,
            progress=progress,
        )
    estimates = experiment.summarize(outcome.records)
    write_replications(target, scenario, outcome, estimates, precision, precise, command)
    return outcome, estimates, precise


def print_discarded(console: Console, folder: Path, count: int) -> None:
    """Say that records made by another version of sim were found in `folder` (and not
    used): a rerun into an older folder must not look like a plain rerun."""
    if count:
        runs = "run" if count == 1 else "runs"
        was = "was" if count == 1 else "were"
        console.print(
            f"{count} {runs} in {folder}/runs/ {was} made by another version of sim: "
            "not reused, removed; the runs asked for are made again",
            highlight=False,
            soft_wrap=True,
        )


def print_damaged(console: Console, folder: Path, count: int) -> None:
    """Say (on `console`: stderr) that stored runs of `folder` did not check out and
    were made again (:mod:`sim.run_records`): an edited record must not pass silently."""
    if count:
        runs = "run" if count == 1 else "runs"
        was = "was" if count == 1 else "were"
        console.print(
            f"{count} stored {runs} in {folder}/runs/ {was} damaged or edited (checksum or "
            "content check failed): not reused, removed and made again",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def print_estimates(
    console: Console, title: str, estimates: dict[str, Estimate], names: list[str]
) -> None:
    """Each KPI's mean and interval, in the words and units of every other table
    (:mod:`sim.tables`), readable at 80 columns and in a pipe."""
    columns = [Column("KPI"), Column("mean", right=True), Column("95 % CI", right=True)]
    rows = [
        [table_label(name), value_text(name, est.mean), _interval(name, est)]
        for name in names
        if (est := estimates.get(name)) is not None and _shown(name, est)
    ]
    print_table(console, title, columns, rows)
    console.print(INTERVAL_NOTE, highlight=False)


def _shown(name: str, est: Estimate) -> bool:
    """A row for every estimate with values, but the barred only where someone was (a
    role without people, pupils where there are none, has no values)."""
    return est.n > 0 and (name != "kpi.barred" or est.mean > 0)


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


def command_line() -> list[str]:
    return ["sim", *sys.argv[1:]]
