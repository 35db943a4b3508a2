"""The ``sim`` command: a thin layer over :mod:`sim.config`, :mod:`sim.runner` and
:mod:`sim.store`. Only this module prints.

Errors the user can fix (a bad scenario, an unwritable folder) are printed as one line on
stderr with exit code 2 and no traceback.
"""

from __future__ import annotations

import errno
import os
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sim import catalog, folders
from sim.analysis import KEY_FIGURES, unknown_metric
from sim.cli_experiments import (
    Assertion,
    check_assertions,
    command_line,
    parse_assertion,
    print_damaged,
    print_discarded,
    print_estimates,
    run_replications,
)
from sim.config import Scenario, ScenarioError, load_scenario, s_to_clock, to_toml
from sim.experiment import MAX_REPS, SchedulerError, flat_kpis, imprecise
from sim.interruption import INTERRUPTED
from sim.interruption import exit_code as interrupted_code
from sim.labels import metric as metric_info
from sim.model.population import expected_people
from sim.model.trace import MAX_TRACED_PEOPLE, TRACE_BYTES_PER_PERSON
from sim.platforms import flatten
from sim.progress import PlainProgress
from sim.resources import MemoryCheckError, check_events, check_memory
from sim.runner import RunResult, run
from sim.scale import scale
from sim.scheduler import SCHEDULER_ENV, check_scheduler, chosen_scheduler
from sim.store import (
    DASHBOARD,
    PEOPLE,
    SCENARIO,
    SUMMARY,
    TIMESERIES,
    TRACE,
    OutputError,
    write_results,
)
from sim.tables import Column, print_table, table_label, value_text

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
    typer.Option("--set", help="Override a scenario field: dotted.path=value (repeatable)."),
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
    check_scale(factor)
    try:
        scenario = scale(scenario, factor)
    except ValueError as e:
        fail(f"--scale {factor}: {e}")
    return scenario if seed is None else scenario.model_copy(update={"seed": seed})


RESULT_FILES = folders.SINGLE_FILES
assert {SCENARIO, SUMMARY, TIMESERIES, PEOPLE, DASHBOARD, TRACE} <= RESULT_FILES


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


def find_scenario(scenario: Path | None) -> Path:
    """The file a scenario argument names: a file that exists, else a shipped example's
    name (:mod:`sim.catalog`), the ``default`` example if none; else exit 2 in one line
    that lists the examples."""
    try:
        return catalog.find(scenario)
    except ScenarioError as e:
        fail(str(e))
        raise  # unreachable: fail() exits


def _load(scenario: Path | None, overrides: list[str] | None) -> Scenario:
    try:
        return load_scenario(find_scenario(scenario), overrides or [])
    except ScenarioError as e:
        fail(str(e))
        raise  # unreachable: fail() exits


@app.command("run")
def run_command(
    scenario: ScenarioArg = None,
    set_: SetOption = None,
    seed: SeedOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", parser=out_path, help="Results folder [default: results/<name>]."),
    ] = None,
    dashboard: Annotated[bool, typer.Option(help="Draw dashboard.png.")] = True,
    scale_: ScaleOption = 1.0,
    reps: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_REPS,
            help="Independent replications: KPIs with 95 % confidence intervals.",
        ),
    ] = None,
    precision: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="With --reps: add replications until every headline KPI's 95 % half-width "
            "is within this share of its mean.",
        ),
    ] = None,
    max_reps: Annotated[int, typer.Option(min=1, max=MAX_REPS, help="Cap for --precision.")] = 100,
    jobs: Annotated[
        int | None, typer.Option("--jobs", min=1, help="Local processes [default: all cores].")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help=SCHEDULER_HELP),
    ] = None,
    asserts: Annotated[
        list[str] | None,
        typer.Option("--assert", help='Exit 1 unless a KPI check holds, e.g. "gave_up<=100".'),
    ] = None,
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html (see sim report).")
    ] = False,
    trace: Annotated[
        bool,
        typer.Option(
            "--trace",
            help="Also write trace.csv.gz: one row per request a person waited for "
            f"(runs of at most {MAX_TRACED_PEOPLE:,} people).",
        ),
    ] = False,
) -> None:
    """Simulate one morning, print the KPIs and write the results folder.

    With --reps, run independent replications (in parallel) and report every KPI as a
    mean with a 95 % confidence interval.
    """
    resolved = _load(scenario, set_)
    checks = _assertions(asserts, resolved)
    if precision is not None and reps is None:
        reps = 5
    resolved = scaled_and_seeded(resolved, scale_, seed)
    if trace:
        _check_traceable(resolved, reps)
    if reps is not None:
        target = results_folder(out_dir or Path("results") / f"{resolved.name}-reps", REPS)
        check_fits([resolved], reps, jobs, scheduler)
        preflight_scheduler(scheduler)
        _replications(resolved, reps, target, precision, max_reps, jobs, scheduler, checks, report)
        return
    target = results_folder(out_dir or Path("results") / resolved.name, folders.SINGLE)
    check_fits([resolved], 1)
    try:
        with _progress(resolved) as progress:
            result = run(resolved, progress=progress, trace=trace)
        extra = {DASHBOARD: lambda path: _save_dashboard(result, path)} if dashboard else {}
        write_results(result, target, extra)
    except MemoryError:  # the pre-flight estimate was too low, or was turned off
        fail(f"out of memory while simulating {resolved.name}; nothing was written")
    except OutputError as e:
        folder_unwritten(e)
    except KeyboardInterrupt:
        interrupted("no half-written results")
    _print_kpis(result)
    out.print(f"results written to {target}/", highlight=False)
    if report:
        _write_report(target)
    values = flat_kpis(result.kpi)
    for name, summary in result.service_summary.items():
        values.update({f"services.{name}.{k}": v for k, v in summary.items()})
    if checks and not check_assertions(out, checks, values):
        raise typer.Exit(1)


def _check_traceable(scenario: Scenario, reps: int | None) -> None:
    """Refuse a trace that would not fit: it is kept in memory until the run ends."""
    if reps is not None:
        fail("--trace records one run: it cannot be combined with --reps")
    people = expected_people(scenario)
    if people > MAX_TRACED_PEOPLE:
        size = TRACE_BYTES_PER_PERSON * people / 1e9
        fail(
            f"--trace: {scenario.name} has about {people:,.0f} people, more than the "
            f"{MAX_TRACED_PEOPLE:,} a trace is kept for (~{size:.1f} GB in memory); "
            "trace a smaller run, e.g. with --scale"
        )


def _assertions(texts: list[str] | None, *scenarios: Scenario) -> list[Assertion]:
    """The --assert checks, each naming a metric that every one of `scenarios` reports."""
    try:
        checks = [parse_assertion(t) for t in texts or []]
    except ValueError as e:
        fail(str(e))
        raise
    for check in checks:
        for scenario in scenarios:
            problem = unknown_metric(check.metric, flatten(scenario))
            if problem:
                fail(f"--assert {check}: {problem}")
    return checks


def check_fits(
    scenarios: list[Scenario], runs: int, jobs: int | None = None, scheduler: str | None = None
) -> None:
    """Fail (exit 2) before running if `runs` runs of the largest of `scenarios`, as many
    at once as the local process pool would hold, cannot fit in memory (see
    :mod:`sim.resources`). Runs on a Dask cluster are not checked: its memory is not
    known here. Then the event budget (a run that would not end), wherever runs go."""
    try:
        if not chosen_scheduler(scheduler):
            at_once = min(runs, jobs or os.cpu_count() or 1)
            check_memory(scenarios, max(1, at_once))
        check_events(scenarios)
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


def _replications(resolved, reps, target, precision, max_reps, jobs, scheduler, checks, report):
    try:
        outcome, estimates, precise = run_replications(
            resolved,
            reps,
            target,
            precision=precision,
            max_reps=max(max_reps, reps),
            n_jobs=jobs,
            scheduler=scheduler,
            command=command_line(),
            console=out,
            err=err,
        )
    except SchedulerError as e:
        fail(str(e), e.exit_code)
        raise
    except OSError as e:
        cannot_write(target, e)
        raise
    except KeyboardInterrupt:
        interrupted(resume_hint(target))
        raise
    n = len(outcome.records)
    title = f"{resolved.name}: {n} replications (seed {resolved.seed})"
    print_estimates(out, title, estimates, list(KEY_FIGURES))
    if precision is not None:
        state = "reached" if precise else f"NOT reached after {n} replications (cap)"
        missed = imprecise(estimates, precision) if not precise else []
        if missed:
            state += "; missed by " + ", ".join(_missed(name, estimates[name]) for name in missed)
        out.print(f"precision {precision * 100:g} % of the mean: {state}", highlight=False)
    for job, error in outcome.failures:
        last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        err.print(
            f"run {job.key} (replication {job.replication}) failed: {last}",
            markup=False,
            highlight=False,
        )
    print_discarded(out, target, outcome.stale)
    print_damaged(err, target, outcome.damaged)
    out.print(
        f"results written to {target}/ ({outcome.reused} reused, {outcome.ran} run)",
        highlight=False,
    )
    if report:
        _write_report(target)
    means = {name: e.mean for name, e in estimates.items()}
    ok = check_assertions(out, checks, means) if checks else True
    if outcome.failures or not ok:
        raise typer.Exit(1)


def _missed(name: str, est) -> str:
    """A KPI that missed --precision, with how far: ``gave_up (± 12 is 8.1 % of 148)``."""
    share = est.half_width / abs(est.mean)
    half, mean = f"{est.half_width:,.4g}", f"{est.mean:,.4g}"
    return f"{name.removeprefix('kpi.')} (± {half} is {share:.1%} of {mean})"


def _write_report(target: Path) -> None:
    """report.html in the results folder; the command line is passed because a single
    run's folder does not record it (and so cannot name the original scenario file)."""
    from sim.report import ReportError, write_report

    try:
        path = write_report(target, command=command_line())
    except (ReportError, OSError) as e:
        fail(f"cannot write the report in {target}: {e}")
        raise
    out.print(f"report written to {path}", highlight=False, soft_wrap=True)


@app.command("show")
def show_command(scenario: ScenarioArg = None, set_: SetOption = None) -> None:
    """Print the fully resolved scenario (defaults filled, overrides applied) as TOML."""
    typer.echo(to_toml(_load(scenario, set_)), nl=False)


@app.command("examples")
def examples_command() -> None:
    """List the example and teaching scenarios shipped with sim: each runs by its name,
    e.g. sim run teaching/single_queue (a file path of the same name wins)."""
    shipped = catalog.examples()
    if not shipped:
        fail(f"no examples installed (looked in {catalog.EXAMPLES})")
    width = max(40, min(out.width, 100))
    out.print("shipped scenarios: sim run NAME (options studies: sim options NAME)\n")
    for name, path in shipped.items():  # a name, then what it is, wrapped: never cut
        text = textwrap.fill(catalog.describe(path), width, initial_indent="    ",
                             subsequent_indent="    ")  # fmt: skip
        out.print(f"{name}\n{text}", highlight=False, soft_wrap=True)


REPS = folders.REPLICATIONS


def results_folder(target: Path, kind: str) -> Path:
    """The folder a command of `kind` (:mod:`sim.folders`) will write, checked before
    anything runs: missing, empty or a results folder of this kind, and writable; fail
    (exit 2, one line) otherwise. A symbolic link gives the folder it points to.
    Temporary folders left there by writers that are gone (``kill -9``) are removed."""
    try:
        folder = folders.check_out(target, kind)
    except folders.FolderError as e:
        fail(str(e))
        raise
    if kind == folders.SINGLE:  # written beside, then renamed into place
        _check_writable(folder.absolute().parent, folder)
    else:  # written into
        _check_writable(folder.absolute(), folder)
    folders.clean_stale(folder)
    return folder


def check_folder(target: Path) -> None:
    """Fail before running if the experiment folder `target` (runs, tables) cannot be
    written: it, or the nearest folder above it that exists, must be a writable folder."""
    if target.exists() and not target.is_dir():
        fail(f"cannot write results to {target}: it exists and is not a folder")
    _check_writable(target.absolute(), target)


def _check_writable(folder: Path, target: Path) -> None:
    while not folder.exists():  # the folders still to be created
        folder = folder.parent
    if not folder.is_dir():
        fail(f"cannot write results to {target}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        fail(f"cannot write results to {target}: {folder} is not writable")


def _save_dashboard(result: RunResult, path: Path) -> None:
    from sim.plot_style import DPI
    from sim.plots import dashboard  # matplotlib is slow to import: only when drawing

    figure = dashboard(result)
    figure.savefig(path, dpi=DPI)
    figure.savefig(path.with_suffix(".svg"))  # for print and slides


@contextmanager
def _progress(scenario: Scenario):
    """Progress of simulated clock time, once a run lasts a few seconds: a bar on a
    terminal, else a plain line per tenth of the morning (:mod:`sim.progress`)."""
    started = time.perf_counter()
    state: dict[str, object] = {}

    def report(now: float, start: float, end: float) -> None:
        if not state:
            if time.perf_counter() - started < PROGRESS_AFTER_S:
                return
            if not err.is_terminal:  # a log, nohup, | tee: lines, not a redrawn bar
                state["plain"] = PlainProgress(err, f"simulating {scenario.name}", started)
            else:
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
        return metric_info("kpi.share_in_class").none_text
    return value_text(metric, value)


def _print_kpis(result: RunResult) -> None:
    """The KPIs, then the services in the most trouble, in the words and units of every
    other table (:mod:`sim.tables`): readable at 80 columns and in a pipe."""
    k = flat_kpis(result.kpi)
    title = f"{result.scenario.name} (seed {result.seed})"
    rows = [[table_label(m), _kpi_text(m, k)] for m in KEY_FIGURES if _shown(m, k[m])]
    print_table(out, title, [Column("KPI"), Column("value", right=True)], rows)
    services = sorted(result.service_summary.items(), key=lambda kv: -_trouble(kv[1]))
    columns = [Column("service"), *(Column(h, right=True) for h in SERVICE_COLUMNS.values())]
    rows = [
        [name, *(value_text(f"services.{name}.{m}", s[m]) for m in SERVICE_COLUMNS)]
        for name, s in services[:MAX_SERVICE_ROWS]
    ]
    many = len(services) > MAX_SERVICE_ROWS
    title = f"the {MAX_SERVICE_ROWS} services in the most trouble" if many else "services"
    print_table(out, title, columns, rows)
    if len(services) > MAX_SERVICE_ROWS:
        more = len(services) - MAX_SERVICE_ROWS
        out.print(f"... {more} more services in summary.json", highlight=False)
    out.print(f"{result.events:,} simulated events in {result.wall_s:.1f} s", highlight=False)


def _shown(metric: str, value: object) -> bool:
    """Whether a key figure has a row: a role's figure only where the role has people
    with a lesson, and the barred only where a gate barred someone."""
    if metric.startswith("kpi.by_role."):
        return value is not None
    return metric != "kpi.barred" or bool(value)


MAX_SERVICE_ROWS = 8
SERVICE_COLUMNS = {  # per service, in the words of the report
    "utilization": "utilisation",
    "p95_wait_s": "wait, 95th percentile",
    "unavailable_minutes": "unavailable",
}


def _trouble(service: dict) -> float:
    """Sort key: services in the most trouble first (downtime, then waits)."""
    return service["unavailable_minutes"] * 1e6 + service["p95_wait_s"]


# The other commands register themselves on `app` (their modules import it from here).
from sim import (  # noqa: E402, F401
    cli_animate,
    cli_options,
    cli_plan,
    cli_report,
    cli_sweep,
    cli_validate,
)


def main() -> None:
    """Console-script entry point. Usage errors (an unknown option, a value out of range)
    are one line on stderr with exit code 2, like every other input error."""
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        _interrupted()
    except Exception as e:  # Typer vendors its own click: recognise its errors by shape
        if type(e).__name__ == "Abort":
            _interrupted()
        if getattr(e, "exit_code", None) != 2 or not hasattr(e, "format_message"):
            raise
        if type(e).__name__ == "NoArgsIsHelpError":  # plain `sim`: the help, as is
            err.print(e.format_message(), markup=False, highlight=False)
            sys.exit(2)
        ctx = getattr(e, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err.print(
            f"error: {e.format_message()}{where}", markup=False, highlight=False, soft_wrap=True
        )
        sys.exit(2)
    if code == INTERRUPTED and not _said:  # Typer's silent exit after a Ctrl-C
        _interrupted()
    sys.exit(code if isinstance(code, int) else 0)


def _interrupted() -> None:
    err.print("interrupted: no half-written results (finished runs are kept)")
    sys.exit(interrupted_code())
