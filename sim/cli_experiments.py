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
from rich.table import Table

from sim import experiment
from sim.config import Scenario
from sim.criteria import Criterion, parse_criterion
from sim.experiment import Estimate, Outcome, RunStore
from sim.experiment_store import write_replications
from sim.labels import kind_of

Assertion = Criterion  # an --assert check


def parse_assertion(text: str) -> Assertion:
    return parse_criterion(text, "--assert")


@contextmanager
def job_progress(console: Console, label: str):
    """A progress bar of finished runs with an ETA, shown on a terminal."""
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs, ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
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


def print_estimates(
    console: Console, title: str, estimates: dict[str, Estimate], names: list[str]
) -> None:
    table = Table(title=title, caption=INTERVAL_CAPTION)
    table.add_column("KPI")
    table.add_column("mean", justify="right")
    table.add_column("95 % CI", justify="right")
    for name in names:
        est = estimates.get(name)
        if est is None or est.n == 0:  # no value in any run: pupils where there are none
            continue
        table.add_row(name.removeprefix("kpi."), _num(est.mean), _interval(est))
    console.print(table)


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


INTERVAL_CAPTION = "95 % CI: Student t, within each metric's range (shares 0-1, others >= 0)"


def _interval(est: Estimate) -> str:
    if est.n < experiment.MIN_VALUES_FOR_INTERVAL:
        return "no interval (1 run)"
    if not est.has_interval:
        return "-"
    return f"{_num(est.low)} .. {_num(est.high)}"


def command_line() -> list[str]:
    return ["sim", *sys.argv[1:]]
