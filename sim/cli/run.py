"""`sim run`, `sim show` and `sim examples`: one morning, the scenario as resolved, the
shipped examples."""

from __future__ import annotations

import datetime as dt
import textwrap
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.common import (
    MAX_REPS,
    REPS,
    SCHEDULER_HELP,
    ScaleOption,
    ScenarioArg,
    SeedOption,
    SetOption,
    check_fits,
    command_line,
    err,
    experiment_failures,
    fail,
    folder_unwritten,
    interrupted,
    load_for_command,
    out,
    out_path,
    preflight_scheduler,
    print_kpis,
    results_folder,
    run_progress,
    scaled_and_seeded,
    scaled_title,
    warn_if_shaky,
    write_report_into,
)
from sim.config import ScenarioError, catalog
from sim.measure import metrics
from sim.measure.metrics import KEY_FIGURES
from sim.outputs import folders
from sim.outputs.folders import PEOPLE, PEOPLE_CSV, PEOPLE_FILES

if TYPE_CHECKING:  # a name for annotations: the schema imports pydantic
    from sim.config.scenario import Scenario

MAX_TRACED_PEOPLE = 1_000_000
"""sim.engine.trace.MAX_TRACED_PEOPLE, copied: --help shows it and the engine imports
numpy (tests/cli/test_startup.py: they agree)."""


class PeopleTable(StrEnum):
    """The choices of --people (the keys of :data:`sim.outputs.folders.PEOPLE_FILES`)."""

    parquet = "parquet"
    csv = "csv"
    none = "none"


assert [table.value for table in PeopleTable] == list(PEOPLE_FILES)


class LogFormat(StrEnum):
    """The formats of --access-log (sim.config.access_logs)."""

    nginx = "nginx"
    apache = "apache"
    csv = "csv"


DEFAULT_LOG_DAY = "2021-04-06"
"""sim.outputs.access_log.DEFAULT_DAY, copied: --help shows it and that module imports
numpy (tests/cli/test_startup.py: they agree)."""


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
        typer.Option(
            "--assert",
            metavar="CHECK",
            help='Exit 1 unless a KPI check holds, e.g. "gave_up<=100".',
        ),
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
    access_log: Annotated[
        Path | None,
        typer.Option(
            "--access-log",
            help="Also write the morning as a web server's access log, one line per request "
            "a person waited for: nginx's format, csv for a name ending .csv, gzip for .gz "
            f"(a path from the current folder; runs of at most {MAX_TRACED_PEOPLE:,} people).",
        ),
    ] = None,
    log_silent: Annotated[
        bool,
        typer.Option(
            "--log-silent",
            help="With --trace or --access-log: also the requests people make during a "
            "session or a lesson without waiting for the answer (one every think time; "
            "the trace's silent column says which).",
        ),
    ] = False,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            help="The --access-log's format [default: csv for .csv or .csv.gz, else nginx].",
            show_default=False,
        ),
    ] = None,
    log_date: Annotated[
        dt.datetime | None,
        typer.Option(
            "--log-date",
            formats=["%Y-%m-%d"],
            help=f"The day of the --access-log's timestamps [default: {DEFAULT_LOG_DAY}].",
            show_default=False,
        ),
    ] = None,
    arrivals: Annotated[
        Path | None,
        typer.Option(
            "--arrivals",
            help="Replay a real morning: the people and connect times of this access log "
            "(nginx, apache or csv; gzip too) replace the cohorts' drawn ones (the "
            "scenario's [replay] table, with this log).",
        ),
    ] = None,
    log_mapping: Annotated[
        Path | None,
        typer.Option(
            "--log-mapping",
            help="With --arrivals: a TOML file mapping the log's paths to services and its "
            "requests to roles [default: one service, everybody a pupil].",
        ),
    ] = None,
    people: Annotated[
        PeopleTable | None,
        typer.Option(
            "--people",
            help=f"The per-person table: {PEOPLE}, {PEOPLE_CSV} (gzip CSV, slower), or none "
            "(for runs that need only the KPIs and the minutes) [default: parquet].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Simulate one morning, print the KPIs and write the results folder.

    With --reps, run independent replications (in parallel) and report every KPI as a
    mean with a 95 % confidence interval.
    """
    # heavy (numpy, the model, the engine): only when running
    from sim.api.runs import run as run_morning
    from sim.cli.experiments import check_assertions, parse_assertions
    from sim.experiments.execution import flat_kpis
    from sim.outputs.run_folder import OutputError

    resolved = load_for_command(scenario, set_)
    if arrivals is not None or log_mapping is not None:
        resolved = _with_arrivals(resolved, arrivals, log_mapping)
    checks = parse_assertions(asserts, resolved)
    if precision is not None and reps is None:
        reps = 5
    resolved = scaled_and_seeded(resolved, scale_, seed)
    if log_silent and not (trace or access_log is not None):
        fail("--log-silent adds the silent requests to --trace and --access-log: give one too")
    if trace:
        _check_traceable(resolved, reps, "--trace", log_silent)
    if access_log is not None:
        _check_traceable(resolved, reps, "--access-log", log_silent)
    elif log_format is not None or log_date is not None:
        fail("--log-format and --log-date shape the --access-log: give --access-log too")
    if people is not None and reps is not None:
        fail("--people chooses the per-person table of one run: it cannot be combined with --reps")
    if reps is not None:
        target = results_folder(out_dir or Path("results") / f"{resolved.name}-reps", REPS)
        check_fits([resolved], reps, jobs, scheduler)
        preflight_scheduler(scheduler)
        warn_if_shaky(resolved)  # once the input is known good: before the runs
        _say_replayed(resolved)
        _replications(resolved, reps, target, precision, max_reps, jobs, scheduler, checks, report)
        return
    target = results_folder(out_dir or Path("results") / resolved.name, folders.SINGLE)
    if access_log is not None:
        _check_log_path(access_log, target)
    traced = trace or access_log is not None
    check_fits([resolved], 1, trace=("silent" if log_silent else "waited") if traced else "")
    warn_if_shaky(resolved)  # once the input is known good: before the run
    _say_replayed(resolved)
    try:
        with run_progress(resolved) as progress:
            morning = run_morning(
                resolved, progress=progress, trace=traced, trace_silent=log_silent
            )
        table = (people or PeopleTable.parquet).value
        kept = morning if trace or access_log is None else _without_trace(morning)
        kept.save(target, dashboard=dashboard, people=table, command=command_line())
    except MemoryError:  # the pre-flight estimate was too low, or was turned off
        fail(f"out of memory while simulating {resolved.name}; nothing was written")
    except OutputError as e:
        folder_unwritten(e)
    except folders.FolderError as e:  # the folder changed while the morning ran
        fail(str(e))
    except KeyboardInterrupt:
        interrupted("no half-written results")
    result = morning.result
    print_kpis(result)
    out.print(f"results written to {target}/", highlight=False)
    if access_log is not None:
        day = log_date.date() if log_date is not None else dt.date.fromisoformat(DEFAULT_LOG_DAY)
        _write_access_log(result, access_log, log_format, day)
    if report:
        write_report_into(target)
    values = flat_kpis(result.kpi)
    for name, summary in result.service_summary.items():
        values.update({f"services.{name}.{k}": v for k, v in summary.items()})
    if checks and not check_assertions(out, checks, values):
        raise typer.Exit(1)


def _check_traceable(
    scenario: Scenario, reps: int | None, option: str = "--trace", silent: bool = False
) -> None:
    """Refuse a trace that would not fit: it is kept in memory until the run ends (an
    access log is written from one); with `silent` (--log-silent), its silent requests
    too, which may outnumber the others many times."""
    # heavy (numpy): only with --trace
    from sim.engine.trace import BYTES_PER_SILENT_ROW, MAX_TRACED_SILENT, TRACE_BYTES_PER_PERSON
    from sim.model.population import expected_people
    from sim.simulation.resources import silent_requests

    if reps is not None:
        fail(f"{option} records one run: it cannot be combined with --reps")
    people = expected_people(scenario)
    if people > MAX_TRACED_PEOPLE:
        size = TRACE_BYTES_PER_PERSON * people / 1e9
        fail(
            f"{option}: {scenario.name} has about {people:,.0f} people, more than the "
            f"{MAX_TRACED_PEOPLE:,} a trace is kept for (~{size:.1f} GB in memory); "
            "trace a smaller run, e.g. with --scale"
        )
    requests = silent_requests(scenario.flat) if silent else 0.0
    if requests > MAX_TRACED_SILENT:
        size = BYTES_PER_SILENT_ROW * requests / 1e9
        fail(
            f"{option} --log-silent: {scenario.name} makes about {_count(requests)} silent "
            f"requests, more than the {MAX_TRACED_SILENT:,} a trace is kept for "
            f"(~{size:,.1f} GB in memory); trace a smaller run (--scale), or leave out "
            "--log-silent"
        )


def _count(n: float) -> str:
    return f"{n:,.0f}" if n < 1e15 else "more than 10^15"


def _with_arrivals(scenario: Scenario, log: Path | None, mapping: Path | None) -> Scenario:
    """`scenario` replaying `log` (and `mapping`), paths from the current folder: its
    [replay] table made or changed, then read (:func:`sim.config.replay.resolve_replay`)."""
    from sim.config import ScenarioError, scenario_from_dict, to_dict  # heavy (pydantic)

    if log is None and scenario.replay is None:
        fail("--log-mapping maps the log of --arrivals: give --arrivals too")
    data = to_dict(scenario)
    replay = {**data.get("replay", {}), **({"log": str(log)} if log is not None else {})}
    if mapping is not None:
        replay["mapping"] = str(mapping)
    replay.pop("digest", None)  # another log or mapping: hashed again
    data["replay"] = replay
    try:
        return scenario_from_dict(data, source="--arrivals")
    except ScenarioError as e:
        fail(str(e))
        raise  # unreachable: fail() exits


def _say_replayed(scenario: Scenario) -> None:
    """One line on a replayed morning: its people, and who the log left out."""
    if scenario.replay is None:
        return
    from sim.config.replay import replay_arrivals  # reads the log (once): only with replay
    from sim.engine.rng import Streams
    from sim.simulation.runner import replay_stream

    try:  # a scaled replay: the sample of the (first) run
        arrivals = replay_arrivals(scenario, replay_stream(scenario, Streams(scenario.seed)))
    except ScenarioError as e:
        fail(str(e))
    err.print(arrivals.summary(scenario.replay.log), markup=False, highlight=False,
              soft_wrap=True)  # fmt: skip


def _without_trace(morning):
    """The morning without its per-request trace: a run traced only for its access log
    writes no trace.csv.gz."""
    from dataclasses import replace

    from sim.api.runs import Run  # heavy (numpy): only when running

    return Run(replace(morning.result, trace=None, addresses=None))


def _check_log_path(path: Path, target: Path) -> None:
    """Refuse, before the run, an --access-log that cannot be written: empty, a folder,
    in an unwritable folder, or inside the results folder (replaced as a whole by the
    next run, which would refuse a file it does not know)."""
    if str(path) in ("", "."):
        fail("--access-log is empty: name a file, e.g. access.log.gz")
    if path.is_dir():
        fail(f"--access-log {path} is a folder: name a file, e.g. {path / 'access.log.gz'}")
    absolute, results = path.absolute(), target.absolute()
    if results == absolute or results in absolute.parents:
        fail(f"--access-log {path} is inside the results folder {target}: write it elsewhere")
    try:
        folders.check_writable(absolute.parent, path)
    except folders.FolderError as e:
        fail(str(e).replace("cannot write results to", "cannot write --access-log"))


def _write_access_log(result, path: Path, log_format: LogFormat | None, day: dt.date) -> None:
    from sim.outputs.access_log import write_access_log  # heavy (numpy): only when asked

    try:
        write_access_log(result, path, log_format.value if log_format else None, day)
    except OSError as e:
        fail(f"cannot write --access-log {path}: {e.strerror or e}", code=1)
    except KeyboardInterrupt:
        interrupted(f"the results folder is written; no half-written {path}")
    requests = f"{len(result.trace['service']):,} requests"
    if "silent" in result.trace:
        requests += f", {int(result.trace['silent'].sum()):,} of them silent"
    out.print(f"access log written to {path} ({requests})", highlight=False)


def _replications(resolved, reps, target, precision, max_reps, jobs, scheduler, checks, report):
    # heavy (numpy, scipy, the model): only when running replications
    from sim.cli.experiments import (
        check_assertions,
        print_damaged,
        print_discarded,
        print_estimates,
        report_failures,
        run_replications,
    )
    from sim.experiments.execution import imprecise

    with experiment_failures(target):
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
    n = len(outcome.records)
    title = f"{resolved.name}: {n} replications (seed {resolved.seed})"
    title = scaled_title(title, resolved.scale)
    with metrics.priced_in(metrics.currency_of(resolved)):  # the costs' rows, if any
        print_estimates(out, title, estimates, [*KEY_FIGURES, *metrics.COST_KPIS])
    if precision is not None:
        state = "reached" if precise else f"NOT reached after {n} replications (cap)"
        missed = imprecise(estimates, precision) if not precise else []
        if missed:
            state += "; missed by " + ", ".join(_missed(name, estimates[name]) for name in missed)
        out.print(f"precision {precision * 100:g} % of the mean: {state}", highlight=False)
    report_failures(outcome.failures)
    print_discarded(out, target, outcome.stale)
    print_damaged(err, target, outcome.damaged)
    out.print(
        f"results written to {target}/ ({outcome.reused} reused, {outcome.ran} run)",
        highlight=False,
    )
    if report:
        write_report_into(target)
    means = {name: e.mean for name, e in estimates.items()}
    ok = check_assertions(out, checks, means) if checks else True
    if outcome.failures or not ok:
        raise typer.Exit(1)


def _missed(name: str, est) -> str:
    """A KPI that missed --precision, with how far: ``gave_up (± 12 is 8.1 % of 148)``."""
    share = est.half_width / abs(est.mean)
    half, mean = f"{est.half_width:,.4g}", f"{est.mean:,.4g}"
    return f"{name.removeprefix('kpi.')} (± {half} is {share:.1%} of {mean})"


def show_command(scenario: ScenarioArg = None, set_: SetOption = None) -> None:
    """Print the fully resolved scenario (defaults filled, overrides applied) as TOML."""
    from sim.config import to_toml  # heavy (pydantic): only when showing

    typer.echo(to_toml(load_for_command(scenario, set_)), nl=False)


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
