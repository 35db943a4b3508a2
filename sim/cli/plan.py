"""`sim plan`: the command, registered in :mod:`sim.cli`.

Only argument checking, printing and the files of a plan live here; the search is
:func:`sim.experiments.plan.plan`. Every input error (a malformed ``--vary`` or ``--target``,
``lo > hi``, fractional bounds for an integer field, a path the scenario has not) is
found before anything runs, reported as one line, exit code 2, nothing written.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli.common import (
    MAX_REPS,
    SCHEDULER_HELP,
    ScaleOption,
    ScenarioArg,
    SeedOption,
    SetOption,
    check_fits,
    check_scale,
    command_line,
    err,
    experiment_failures,
    fail,
    find_scenario,
    load_for_command,
    out,
    out_path,
    preflight_scheduler,
    results_folder,
    scaled_and_seeded,
    scaled_title,
    warn_if_shaky,
)
from sim.config import ScenarioError
from sim.measure.metrics import kind_of
from sim.outputs import folders
from sim.outputs.tables import Column, StreamedTable, interval_text, value_text

if TYPE_CHECKING:  # names for annotations: these modules import pydantic, numpy, the model
    from sim.config.scenario import Scenario
    from sim.experiments.plan import PlanResult, Probe


def plan_command(
    scenario: ScenarioArg = None,
    vary: Annotated[
        str | None, typer.Option(help="The capacity parameter and its range: dotted.path=lo:hi.")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help='What must hold, on the mean: e.g. "time_to_class_p95_s<=120".'),
    ] = None,
    confidence: Annotated[float, typer.Option(help="One-sided confidence of a verdict.")] = 0.95,
    reps: Annotated[
        int, typer.Option(max=MAX_REPS, help="Replications per probe (at least 2).")
    ] = 5,
    max_reps: Annotated[
        int, typer.Option(max=MAX_REPS, help="Cap for a probe that is still unsure.")
    ] = 20,
    step: Annotated[
        float | None,
        typer.Option(help="Grid step [default: 1 for integers, a tenth of the range otherwise]."),
    ] = None,
    set_: SetOption = None,
    seed: SeedOption = None,
    scale_: ScaleOption = 1.0,
    jobs: Annotated[int | None, typer.Option(min=1, help="Local processes [default: all].")] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help=SCHEDULER_HELP),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", parser=out_path, help="Folder [default: results/<name>-plan]."),
    ] = None,
) -> None:
    """The smallest value of a capacity parameter for which a KPI target holds.

    Bisection over lo..hi, assuming more capacity never hurts; every probe is a set of
    replications (common random numbers), decided on the one-sided confidence bound of
    the mean. Exit 0 with an answer, 1 if even hi fails, 2 on bad input.
    """
    # heavy (pydantic, numpy, scipy, the model): only when planning
    from sim.api import public as api
    from sim.cli.experiments import job_progress, print_damaged, print_discarded, report_failures
    from sim.experiments.plan import RunsFailed, UnknownMetric, parse_target
    from sim.experiments.sweep import variants

    if not vary or not target:
        fail("sim plan needs --vary dotted.path=lo:hi and --target metric<=value")
    try:
        goal = parse_target(target)
    except ValueError as e:
        fail(str(e))
    if not 0.5 <= confidence < 1:
        fail(f"--confidence must be at least 0.5 and below 1, got {confidence}")
    if reps < 2:
        fail(f"--reps must be at least 2 (a confidence bound needs two runs), got {reps}")
    check_scale(scale_)
    path = find_scenario(scenario)
    sets = list(set_ or [])
    parameter, values = _values(path, sets, vary, step)

    unscaled = load_for_command(path, sets)
    if seed is not None:
        unscaled = unscaled.model_copy(update={"seed": seed})
    try:
        first, last = (
            scaled_and_seeded(variants(unscaled, [((parameter, v),)])[0], scale_, None)
            for v in (values[0], values[-1])
        )
    except ScenarioError as e:
        fail(str(e))
    _check_metric(goal.metric, last)
    check_fits([first, last], reps, jobs, scheduler)
    preflight_scheduler(scheduler)
    base = scaled_and_seeded(unscaled, scale_, None)
    folder = results_folder(out_dir or Path("results") / f"{base.name}-plan", folders.PLAN)
    warn_if_shaky(base)
    table = _probe_table(goal.metric, values, max(reps, max_reps), confidence)
    _header(base, parameter, values, goal, confidence, reps, max(reps, max_reps), table)
    started = time.perf_counter()
    with experiment_failures(folder):
        try:
            with job_progress(err, "probing") as progress:
                done = api.plan(
                    unscaled,
                    parameter,
                    values[0],
                    values[-1],
                    target,
                    step=step,
                    scale=scale_,
                    confidence=confidence,
                    reps=reps,
                    max_reps=max_reps,
                    jobs=jobs,
                    scheduler=scheduler,
                    folder=folder,
                    on_probe=_row_printer(table, goal.metric, progress),
                    progress=progress,
                    command=command_line(),
                )
        except UnknownMetric as e:
            fail(str(e))
        except RunsFailed as e:
            report_failures(e.failures)
            err.print(
                f"a probe could not be decided; the errors are in {folder}/runs/", markup=False
            )
            raise typer.Exit(1) from None
    result = done.search
    _answer(result)
    outcome = result.outcome()
    elapsed = time.perf_counter() - started
    print_discarded(out, folder, outcome.stale)
    print_damaged(err, folder, outcome.damaged)
    out.print(
        f"results written to {folder}/ ({outcome.reused} reused, {outcome.ran} run, "
        f"{elapsed:.1f} s)",
        highlight=False,
        soft_wrap=True,
    )
    if not result.found:
        raise typer.Exit(1)


def _values(path: Path, sets: list[str], vary: str, step: float | None) -> tuple[str, list]:
    """The parameter's path and the grid of values to search, or a one-line failure."""
    from sim.config import load_scenario, parse_value, to_dict  # heavy: only when planning
    from sim.experiments.plan import candidates, lookup

    parameter, sep, bounds = vary.partition("=")
    lo_text, colon, hi_text = bounds.partition(":")
    parameter = parameter.strip()
    if not sep or not colon or not parameter:
        fail(f"--vary expects dotted.path=lo:hi, got {vary!r}")
    try:
        current = lookup(to_dict(load_scenario(path, sets)), parameter)
        lo, hi = parse_value(lo_text), parse_value(hi_text)
        return parameter, candidates(current, parameter, lo, hi, step)
    except ValueError as e:  # ScenarioError included
        fail(str(e))
        raise


def _check_metric(metric: str, scenario: Scenario) -> None:
    """The target must name a metric the runs will report (checked before any run)."""
    from sim.measure.kpis import unknown_metric  # heavy (the model): only when planning

    problem = unknown_metric(metric, scenario.flat)
    if problem:
        fail(f"--target {metric}: {problem}")


RUNS_WIDTH = 24  # "5 runs, 15 reused (same scenario as 16)" wraps below this


def _probe_table(metric: str, values: list, max_reps: int, confidence: float) -> StreamedTable:
    """The layout of the probes' rows, fixed before the first probe (rows are printed as
    probes finish): each column as wide as the widest value it can hold."""
    widest = max(values, key=lambda v: len(str(v)))
    top = 1.0 if kind_of(metric) == "share" else 99_999.0  # a share at 100 %, else 5 digits
    widths = [
        len(str(widest)),
        len(str(max_reps)),
        len(value_text(metric, top)),
        len(interval_text(metric, top, top)),
        len("unsure"),
        RUNS_WIDTH,
    ]
    columns = [
        Column("value", right=True),
        Column("reps", right=True),
        Column("mean", right=True),
        Column(f"{confidence * 100:g} % one-sided bounds", right=True),
        Column("verdict"),
        Column("runs"),
    ]
    return StreamedTable(out.width, columns, widths)


def _header(base, parameter, values, goal, confidence, reps, max_reps, table) -> None:
    level = f"{confidence * 100:g} %"
    plan = scaled_title(f"plan {base.name} (seed {base.seed})", base.scale)
    out.print(
        f"{plan}: smallest {parameter} in {values[0]}..{values[-1]} ({len(values)} values) "
        f"with {_goal(goal)} at {level} confidence",
        highlight=False,
        markup=False,
    )
    out.print(
        f"{reps} replications per probe, up to {max_reps} while unsure (then it counts as failing)",
        highlight=False,
    )
    for line in table.header():
        out.print(line, highlight=False, markup=False, soft_wrap=True)


def _goal(goal) -> str:
    """The target as given, and its value in the metric's unit where that differs:
    ``kpi.share_in_class>=0.9 (90.0 %)``."""
    text = value_text(goal.metric, goal.value)
    return f"{goal}" if text == f"{goal.value:g}" else f"{goal} ({text})"


def _row_printer(table: StreamedTable, metric: str, progress):
    """Print each probe as a row, above the progress bar; with --scale, neighbouring
    values can round to the same scaled scenario, hence the same runs: the row says so."""
    seen: dict[str, Any] = {}  # the key of replication 0 identifies the scenario

    def show(probe: Probe) -> None:
        c = probe.check
        runs = _runs(probe.ran) + (f", {probe.reused} reused" if probe.reused else "")
        key = probe.records[0]["key"]
        if key in seen:
            runs += f" (same scenario as {seen[key]})"
        seen.setdefault(key, probe.value)
        cells = [
            str(probe.value),
            str(c.n),
            _mean_text(metric, c.mean),
            interval_text(metric, c.low, c.high),
            c.verdict,
            runs,
        ]
        for line in table.row(cells):
            progress.above(out, line)

    return show


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def _mean_text(metric: str, value: float) -> str:
    """A probe's mean in the metric's unit; an infinite one (people who never got in) in
    one word, to keep the row on its line."""
    if math.isinf(value) and value > 0:
        return "unbounded"
    return "-" if math.isnan(value) else value_text(metric, value)


def _answer(result: PlanResult) -> None:
    values, name = result.values, result.parameter
    if not result.found:
        metric = result.target.metric
        lo, hi = result.probe_at(values[0]), result.probe_at(values[-1])
        ends = ""
        if lo is not None and hi is not None and lo is not hi:
            ends = (
                f"{lo.value}: {_mean_text(metric, lo.check.mean)}, "
                f"{hi.value}: {_mean_text(metric, hi.check.mean)}"
            )
        if result.moves is False:
            text = (
                f"capacity is not what limits this target: {metric} is "
                f"{_mean_text(metric, hi.check.mean)} "
                f"at both ends of the range ({ends}; no significant difference), so no "
                f"value of {name} meets {result.target}"
            )
        else:
            text = (
                f"no value in {values[0]}..{values[-1]} meets {result.target}: even "
                f"{values[-1]} does not hold (at {result.confidence * 100:g} % confidence)"
            )
            if result.moves:
                text += f"; {metric} moves ({ends}): a wider range may"
        out.print(text, highlight=False, markup=False)
        return
    index = values.index(result.answer)
    if index == 0:
        note = "the lower bound: a lower one may do too"
    else:
        below = next(p for p in result.probes if p.value == values[index - 1])
        note = f"{below.value} {'is unsure' if below.check.verdict == 'unsure' else 'fails'}"
    out.print(f"answer: {name} = {result.answer} ({note})", highlight=False, soft_wrap=True)
