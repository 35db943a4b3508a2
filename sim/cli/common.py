"""What the commands of ``sim`` share: the Typer app, the consoles, the common options,
loading a scenario, the pre-flight checks, the one-line errors and the KPI table.
Only the :mod:`sim.cli` package prints.

Errors the user can fix (a bad scenario, an unwritable folder) are printed as one line on
stderr with exit code 2 and no traceback.

Start-up: ``sim --help``, ``sim --version``, ``sim show`` and ``sim examples`` must start
at once, so this module, and every module of :mod:`sim.cli` at its top, imports only
typer, rich and the light layers (the scenario's schema, folders, tables). The machinery
(numpy, the model, the runs, scipy, matplotlib) is imported inside the command that uses
it, with a comment "heavy: only when ..."; tests/cli/test_startup.py keeps it so.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from sim.config import ScenarioError, catalog
from sim.experiments.scheduler import (
    SCHEDULER_ENV,
    SchedulerError,
    check_scheduler,
    chosen_scheduler,
)
from sim.interruption import exit_code as interrupted_code
from sim.measure import metrics
from sim.outputs import folders
from sim.outputs.progress import PlainProgress
from sim.outputs.tables import Column, print_table, table_label, value_text

if TYPE_CHECKING:  # names for annotations: the schema (pydantic), numpy and the model
    from sim.config.scenario import Scenario
    from sim.outputs.run_folder import OutputError
    from sim.simulation.runner import RunResult

MAX_REPS = 100_000
"""sim.experiments.execution.MAX_REPS, the bound of every --reps, copied: --help shows it
and that module imports numpy and the model (tests/cli/test_startup.py: they agree)."""

SCHEDULER_HELP = (
    "Dask scheduler address: tls://host:port, or tcp://host:port on this machine "
    "[env: SIM_SCHEDULER]."
)

PROGRESS_AFTER_S = 2.0  # show a progress bar only for runs longer than this

app = typer.Typer(
    help="Simulate a remote-learning platform on the morning everyone logs in at once.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "[default: ...]" must stay visible
)
out = Console(emoji=False)  # scenario text such as "a:b:c" must print as written
err = Console(stderr=True, emoji=False)

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override a scenario field: dotted.path=value (repeatable).",
    ),
]
ScenarioArg = Annotated[
    Path | None,
    typer.Argument(
        help="Scenario: a TOML file, or the name of a shipped example (see sim examples) "
        f"[default: {catalog.DEFAULT}].",
        show_default=False,
    ),
]


SeedOption = Annotated[int | None, typer.Option(min=0, help="Seed [default: the scenario's].")]
ScaleOption = Annotated[
    float,
    typer.Option(
        "--scale",
        help="Simulate this fraction of the people, with capacities scaled alike.",
    ),
]
"""--seed and --scale, the same in every command that simulates (run, sweep, compare,
plan; options has its own --scale default, the study file's)."""


def check_scale(factor: float) -> None:
    if not 0 < factor < float("inf"):
        fail(f"--scale must be a number greater than 0, got {factor}")


def scaled_and_seeded(scenario: Scenario, factor: float, seed: int | None) -> Scenario:
    """`scenario` at --scale `factor` with --seed `seed` (both recorded in the results'
    scenario files, so that a folder reruns as it ran); a bad --scale exits 2."""
    from sim.api.scenarios import scaled  # heavy (pydantic, the API): only with a scenario

    check_scale(factor)
    try:
        scenario = scaled(scenario, factor)
    except ScenarioError as e:
        fail(f"--{e}")  # "scale 0.5: ..."
    return scenario if seed is None else scenario.model_copy(update={"seed": seed})


def warn_if_shaky(scenario: Scenario) -> None:
    """One line on stderr when `scenario` is scaled so far down that its results can be
    far from the full morning's (:func:`sim.config.scale.scale_warning`): a rerun of a
    scaled folder's scenario.toml warns too, since it is the same small morning."""
    from sim.config.scale import scale_warning  # heavy (pydantic): only with a scenario

    warning = scale_warning(scenario.scale)
    if warning:
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)


def scaled_title(title: str, scale: float) -> str:
    """A table's `title`, with the scale when the runs were scaled."""
    from sim.config.scale import scale_words  # heavy (pydantic): only with a scenario

    return " ".join(filter(None, (title, scale_words(scale))))


def out_path(text: str) -> Path:
    """The --out of every command, as given; an empty one is refused here, before any
    run, because ``Path("")`` would silently be the current folder."""
    if text == "":
        raise typer.BadParameter("it is empty: name a folder (. for the current one)")
    return Path(text)


def fail(message: str, code: int = 2) -> None:
    """Print one line for the user and exit with `code` (2: bad input; 1: a failure
    met while running)."""
    line = " ".join(message.splitlines())
    err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


_said: list[str] = []  # the line interrupted() printed, if it did


def interrupted(what_is_kept: str) -> None:
    """After Ctrl-C or SIGTERM (both a ``KeyboardInterrupt``, see :mod:`sim.entry`): say
    in one line what is kept, and exit with code 130 (143 after SIGTERM). (Typer turns
    a KeyboardInterrupt that reaches it into a silent exit 130: commands catch it, and
    :func:`main` says the line for those that reach Typer, e.g. while loading.)"""
    _said.append(what_is_kept)
    err.print(f"interrupted: {what_is_kept}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(interrupted_code())


def said_interrupted() -> bool:
    """Whether :func:`interrupted` has said its line (Typer's own exit 130 says none)."""
    return bool(_said)


def resume_hint(folder: Path) -> str:
    return f"finished runs are saved in {folder}/runs; run the same command again to complete it"


FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
"""The errors of a disk (or quota, or file size limit) that is full: the user's next
step is to free space and run the same command again."""


FULL_HINT = "free some space and run it again (earlier results in the folder are untouched)"


def folder_unwritten(error: OutputError) -> None:
    """One line for a results folder written as a whole (``sim run``) that could not be."""
    fail(f"{error}; {FULL_HINT}" if error.errno in FULL else str(error))


def cannot_write(target: Path, error: OSError) -> None:
    """One line for results that could not be written (exit 2): why, and, when the disk
    is full, that the finished runs are kept and reused by a rerun. The experiment
    commands save each run as it finishes (``runs/``), so only the tables are missing."""
    line = f"cannot write results to {target}: {error.strerror or error}"
    if error.errno in FULL:
        kept = len(list((target / "runs").glob("*.json"))) if (target / "runs").is_dir() else 0
        line += (
            f"; the {kept} finished runs in {target}/runs are kept: free some space and run "
            "the same command again to complete it"
            if kept
            else "; free some space and run the same command again"
        )
    fail(line)


@contextmanager
def experiment_failures(target: Path) -> Iterator[None]:
    """What stops an experiment's runs into `target`, said in one line: Ctrl-C (what is
    kept, and that the same command completes it), a Dask scheduler that cannot be used
    (exit 2), results that cannot be written (:func:`cannot_write`)."""
    try:
        yield
    except KeyboardInterrupt:
        interrupted(resume_hint(target))
        raise
    except SchedulerError as e:
        fail(str(e), e.exit_code)
        raise
    except OSError as e:
        cannot_write(target, e)
        raise


def find_scenario(scenario: Path | None) -> Path:
    """The file a scenario argument names: a file that exists, else a shipped example's
    name (:mod:`sim.config.catalog`), the ``default`` example if none; else exit 2 in one line
    that lists the examples."""
    try:
        return catalog.find(scenario)
    except ScenarioError as e:
        fail(str(e))
        raise  # unreachable: fail() exits


def load_for_command(scenario: Path | None, overrides: list[str] | None) -> Scenario:
    """The scenario a command names (:func:`sim.api.load`); exit 2 in one line if none."""
    from sim.api.scenarios import load  # heavy (pydantic, the API): only to load one

    try:
        return load(scenario, set=overrides)
    except ScenarioError as e:
        fail(str(e))
        raise  # unreachable: fail() exits


def check_fits(
    scenarios: list[Scenario],
    runs: int,
    jobs: int | None = None,
    scheduler: str | None = None,
    trace: str = "",
) -> None:
    """Fail (exit 2) before running if `runs` runs of the largest of `scenarios`, as many
    at once as the local process pool would hold, cannot fit in memory (see
    :mod:`sim.simulation.resources`; `trace`: ``"waited"`` or ``"silent"`` for a run that
    keeps a trace). Runs on a Dask cluster are not checked: its memory is not known
    here. Then the event budget (a run that would not end), wherever runs go."""
    # heavy (numpy): only before runs
    from sim.simulation.resources import MemoryCheckError, check_events, check_memory

    try:
        if not chosen_scheduler(scheduler):
            at_once = min(runs, jobs or os.cpu_count() or 1)
            check_memory([s.flat for s in scenarios], max(1, at_once), trace)
        check_events([s.flat for s in scenarios])
    except MemoryCheckError as e:
        fail(str(e))


def preflight_scheduler(option: str | None) -> None:
    """Before any run, when runs go to a Dask scheduler (`option`, else SIM_SCHEDULER):
    one line, exit 2, for what cannot work (Dask not installed, a bad address, TLS
    settings or timeout); a one-line warning for plain tcp:// to another machine."""
    address = chosen_scheduler(option)
    if address is None:
        return
    try:
        warning = check_scheduler(address, "--scheduler" if option else SCHEDULER_ENV)
    except SchedulerError as e:
        fail(str(e), e.exit_code)
        raise
    if warning:
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)


def write_report_into(target: Path) -> None:
    """report.html in the results folder; the command line is passed too, for a single
    run's folder written by an older version (its folder did not record it)."""
    from sim.outputs.report.page import ReportError, write_report

    try:
        path = write_report(target, command=command_line())
    except (ReportError, OSError) as e:
        fail(f"cannot write the report in {target}: {e}")
        raise
    out.print(f"report written to {path}", highlight=False, soft_wrap=True)


REPS = folders.REPLICATIONS


def results_folder(target: Path, kind: str) -> Path:
    """The folder a command of `kind` (:mod:`sim.outputs.folders`) will write, checked before
    anything runs (:func:`sim.outputs.folders.prepare`); fail (exit 2, one line) otherwise."""
    try:
        return folders.prepare(target, kind)
    except folders.FolderError as e:
        fail(str(e))
        raise


def check_folder(target: Path) -> None:
    """Fail before running if the experiment folder `target` (runs, tables) cannot be
    written: it, or the nearest folder above it that exists, must be a writable folder."""
    if target.exists() and not target.is_dir():
        fail(f"cannot write results to {target}: it exists and is not a folder")
    try:
        folders.check_writable(target.absolute(), target)
    except folders.FolderError as e:
        fail(str(e))


@contextmanager
def run_progress(scenario: Scenario):
    """Progress of simulated clock time, once a run lasts a few seconds: a bar on a
    terminal, else a plain line per tenth of the morning (:mod:`sim.outputs.progress`)."""
    from sim.config import s_to_clock  # heavy (pydantic): only when running

    started = time.perf_counter()
    state: dict[str, object] = {}

    def report(now: float, start: float, end: float) -> None:
        if not state:
            if time.perf_counter() - started < PROGRESS_AFTER_S:
                return
            if not err.is_terminal:  # a log, nohup, | tee: lines, not a redrawn bar
                state["plain"] = PlainProgress(err, f"simulating {scenario.name}", started)
            else:
                from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

                bar = Progress(
                    TextColumn("simulating {task.fields[clock]}"),
                    BarColumn(),
                    TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(),
                    console=err,
                    transient=True,
                )
                bar.start()
                state["bar"] = bar
                state["task"] = bar.add_task("run", total=end - start, clock=s_to_clock(start))
        if "plain" in state:
            fraction = (now - start) / (end - start) if end > start else 1.0
            state["plain"].update(fraction, f"simulated clock {s_to_clock(now)}")
            return
        bar = state["bar"]
        bar.update(state["task"], completed=now - start, clock=s_to_clock(now))

    try:
        yield report
    finally:
        if "bar" in state:
            state["bar"].stop()


def _kpi_text(metric: str, kpis: dict[str, Any]) -> str:
    """A KPI's cell. A missing percentile of time to class means "too many never got
    in", unless nobody tried at all (0 people, or none connecting in the morning): then
    it says so, like the share who got in (a run of 0 people reported "never")."""
    value = kpis[metric]
    nobody = kpis.get("kpi.share_in_class") is None
    if value is None and nobody and metric.startswith("kpi.time_to_class_p"):
        return metrics.metric("kpi.share_in_class").none_text
    return value_text(metric, value)


def print_kpis(result: RunResult) -> None:
    """The KPIs, then the services (of many, those in trouble: :func:`services_shown`), in
    the words and units of every other table (:mod:`sim.outputs.tables`): readable at 80
    columns and in a pipe."""
    from sim.experiments.execution import flat_kpis  # heavy (numpy): only after a run

    k = flat_kpis(result.kpi)
    title = scaled_title(f"{result.scenario.name} (seed {result.seed})", result.scenario.scale)
    shown = [m for m in metrics.KEY_FIGURES if metrics.shown(m, k[m])]
    shown += [m for m in metrics.COST_KPIS if k.get(m) is not None]  # with [costs] only
    with metrics.priced_in(metrics.currency_of(result.scenario)):
        rows = [[table_label(m), _kpi_text(m, k)] for m in shown]
    print_table(out, title, [Column("KPI"), Column("value", right=True)], rows)
    title, services, more = services_shown(result.service_summary)
    headers = metrics.SERVICE_COLUMNS
    columns = [Column("service"), *(Column(h, right=True) for h in headers.values())]
    rows = [
        [name, *(value_text(f"services.{name}.{m}", totals[m]) for m in headers)]
        for name, totals in services
    ]
    print_table(out, title, columns, rows)
    if more:
        out.print(f"... {more}", highlight=False)
    out.print(f"{result.events:,} simulated events in {result.wall_s:.1f} s", highlight=False)


MAX_SERVICE_ROWS = 8


def services_shown(
    summary: dict[str, dict[str, Any]], limit: int = MAX_SERVICE_ROWS
) -> tuple[str, list[tuple[str, dict[str, Any]]], str]:
    """The services table's title, rows and what it leaves out, in words.

    A few services are all shown, in most trouble first (:func:`sim.measure.metrics.trouble`).
    Of many, only those that were unavailable for a minute or more are "in trouble":
    the `limit` unavailable longest (an idle service listed under "the 8 in the most
    trouble" said it was in trouble); if none was, the `limit` busiest, called so.
    """
    ranked = sorted(summary.items(), key=lambda kv: metrics.trouble(kv[1]), reverse=True)
    if len(ranked) <= limit:
        return "services", ranked, ""
    troubled = [kv for kv in ranked if (kv[1].get("unavailable_minutes") or 0) > 0]
    if not troubled:
        busiest = sorted(
            summary.items(), key=lambda kv: kv[1].get("utilization") or 0, reverse=True
        )
        more = _more(len(ranked) - limit)
        return f"the {limit} busiest services (none was unavailable)", busiest[:limit], more
    shown = troubled[:limit]
    more = _more(len(ranked) - len(shown))
    if len(troubled) > limit:
        return f"the {limit} services unavailable longest", shown, more
    return f"the {_services(len(shown))} that were unavailable", shown, f"{more}, none unavailable"


def _more(count: int) -> str:
    return f"{count} more service{'' if count == 1 else 's'} in summary.json"


def _services(count: int) -> str:
    return f"{count} service" if count == 1 else f"{count} services"


def command_line() -> list[str]:
    return ["sim", *sys.argv[1:]]
