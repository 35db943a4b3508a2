"""`sim plan`: the command, registered in :mod:`sim.cli`.

Only argument checking, printing and the files of a plan live here; the search is
:func:`sim.experiments.plan.plan`. Every input error (a malformed ``--vary`` or ``--target``,
``lo > hi``, fractional bounds for an integer field, a path the scenario has not) is
found before anything runs, reported as one line, exit code 2, nothing written.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from sim.cli.common import (
    SCHEDULER_HELP,
    ScaleOption,
    ScenarioArg,
    SeedOption,
    SetOption,
    cannot_write,
    check_fits,
    check_scale,
    command_line,
    err,
    experiment_failures,
    fail,
    find_scenario,
    out,
    out_path,
    preflight_scheduler,
    results_folder,
    scaled_title,
    warn_if_shaky,
)
from sim.cli.experiments import job_progress, print_damaged, print_discarded, report_failures
from sim.config import ScenarioError, load_scenario, parse_value, to_dict, to_toml
from sim.config.scale import scale
from sim.config.scenario import Scenario
from sim.experiments.execution import MAX_REPS
from sim.experiments.plan import (
    PROBE_COLUMNS,
    PlanResult,
    Probe,
    RunsFailed,
    UnknownMetric,
    grid,
    parse_target,
    plan,
    plan_data,
)
from sim.measure.kpis import unknown_metric
from sim.outputs import atomic, folders
from sim.outputs.experiment_folder import (
    csv_text,
    manifest,
    runs_table,
)
from sim.outputs.figures import save_figure
from sim.outputs.run_store import RunStore

PLAN_CSV, PLAN_JSON, PLAN_PNG = "plan.csv", "plan.json", "plan.png"
MISSING = object()
MAX_CANDIDATES = 1_000_000  # values to bisect (20 probes); more is a typo, and a huge list


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

    def make(value: Any) -> Scenario:
        resolved = scale(load_scenario(path, [*sets, f"{parameter}={value!r}"]), scale_)
        return resolved if seed is None else resolved.model_copy(update={"seed": seed})

    try:
        first, last = make(values[0]), make(values[-1])
    except (ScenarioError, ValueError) as e:
        fail(str(e))
    _check_metric(goal.metric, last)
    check_fits([first, last], reps, jobs, scheduler)
    preflight_scheduler(scheduler)
    base = _base(path, sets, scale_, seed)
    folder = results_folder(out_dir or Path("results") / f"{base.name}-plan", folders.PLAN)
    warn_if_shaky(base)
    _header(base, parameter, values, goal, confidence, reps, max(reps, max_reps))
    started = time.perf_counter()
    with experiment_failures(folder):
        try:
            with job_progress(err, "probing") as progress:
                result = plan(
                    make,
                    parameter,
                    values,
                    goal,
                    confidence=confidence,
                    reps=reps,
                    max_reps=max_reps,
                    store=RunStore(folder),
                    n_jobs=jobs,
                    scheduler=scheduler,
                    on_probe=_row_printer(),
                    progress=progress,
                )
        except UnknownMetric as e:
            fail(str(e))
        except RunsFailed as e:
            report_failures(e.failures)
            err.print(
                f"a probe could not be decided; the errors are in {folder}/runs/", markup=False
            )
            raise typer.Exit(1) from None
    extra = {"scenario": base.name, "seed": base.seed, "scale": base.scale, "reps": reps}
    try:
        _write(folder, base, result, {**extra, "max_reps": max(reps, max_reps)})
    except OSError as e:
        cannot_write(folder, e)
    _answer(result)
    outcome = result.outcome()
    elapsed = time.perf_counter() - started
    print_discarded(out, folder, outcome.stale)
    print_damaged(err, folder, outcome.damaged)
    out.print(
        f"results written to {folder}/ ({outcome.reused} runs reused, {outcome.ran} run, "
        f"{elapsed:.1f} s)",
        highlight=False,
        soft_wrap=True,
    )
    if not result.found:
        raise typer.Exit(1)


def _values(path: Path, sets: list[str], vary: str, step: float | None) -> tuple[str, list]:
    """The parameter's path and the grid of values to search, or a one-line failure."""
    parameter, sep, bounds = vary.partition("=")
    lo_text, colon, hi_text = bounds.partition(":")
    parameter = parameter.strip()
    if not sep or not colon or not parameter:
        fail(f"--vary expects dotted.path=lo:hi, got {vary!r}")
    lo, hi = parse_value(lo_text), parse_value(hi_text)
    if not all(_number(v) for v in (lo, hi)):
        fail(f"--vary {parameter}: bounds must be numbers, got {lo_text!r}:{hi_text!r}")
    if lo > hi:
        fail(f"--vary {parameter}: lo ({lo}) is greater than hi ({hi})")
    try:
        current = _lookup(to_dict(load_scenario(path, sets)), parameter)
    except ScenarioError as e:
        fail(str(e))
    if current is not MISSING and not _number(current):
        fail(f"--vary {parameter}: not a number field (it is {current!r})")
    integer = isinstance(current, int) or (current is MISSING and isinstance(lo + hi, int))
    if integer and not (isinstance(lo, int) and isinstance(hi, int)):
        fail(f"--vary {parameter}: an integer field needs whole bounds, got {lo_text}:{hi_text}")
    if step is None:
        step = 1 if integer else ((hi - lo) / 10 or 1.0)
    if not step > 0 or (integer and not float(step).is_integer()):
        kind = "a whole number above 0" if integer else "above 0"
        fail(f"--step must be {kind}, got {step}")
    count = (hi - lo) / step + 1
    if count > MAX_CANDIDATES:
        fail(
            f"--vary {parameter}: {lo}..{hi} by {step} is {count:,.0f} values, more than "
            f"{MAX_CANDIDATES:,}; use a larger --step"
        )
    return parameter, grid(lo, hi, step, integer)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _lookup(data: Any, dotted: str) -> Any:
    """The value at `dotted` in resolved scenario data (list items by index or name)."""
    node = data
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list):
            names = [item.get("name") if isinstance(item, dict) else None for item in node]
            if part in names:
                node = node[names.index(part)]
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return MISSING
        else:
            return MISSING
    return node


def _check_metric(metric: str, scenario: Scenario) -> None:
    """The target must name a metric the runs will report (checked before any run)."""
    problem = unknown_metric(metric, scenario.flat)
    if problem:
        fail(f"--target {metric}: {problem}")


def _base(path: Path, sets: list[str], factor: float, seed: int | None) -> Scenario:
    resolved = scale(load_scenario(path, sets), factor)
    return resolved if seed is None else resolved.model_copy(update={"seed": seed})


def _header(base, parameter, values, goal, confidence, reps, max_reps) -> None:
    level = f"{confidence * 100:g} %"
    plan = scaled_title(f"plan {base.name} (seed {base.seed})", base.scale)
    out.print(
        f"{plan}: smallest {parameter} in {values[0]}..{values[-1]} ({len(values)} values) "
        f"with {goal} at {level} confidence",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"{reps} replications per probe, up to {max_reps} while unsure (then it counts as failing)",
        highlight=False,
        soft_wrap=True,
    )
    bounds = f"{level} one-sided bounds"
    out.print(
        f"{'value':>10} {'reps':>5} {'mean':>11} {bounds:>25}  verdict  runs", highlight=False
    )


def _row_printer():
    """Print each probe as a row; with --scale, neighbouring values can round to the same
    scaled scenario, hence the same runs: the row says so."""
    seen: dict[str, Any] = {}  # the key of replication 0 identifies the scenario

    def show(probe: Probe) -> None:
        c = probe.check
        interval = f"{_num(c.low)} .. {_num(c.high)}"
        runs = f"{probe.ran} run" + (f", {probe.reused} reused" if probe.reused else "")
        key = probe.records[0]["key"]
        if key in seen:
            runs += f" (same scenario as {seen[key]})"
        seen.setdefault(key, probe.value)
        out.print(
            f"{probe.value!s:>10} {c.n:>5} {_num(c.mean):>11} {interval:>25}  {c.verdict:<7}  "
            f"{runs}",
            highlight=False,
            soft_wrap=True,
        )

    return show


def _answer(result: PlanResult) -> None:
    values, name = result.values, result.parameter
    if not result.found:
        metric = result.target.metric
        lo, hi = result.probe_at(values[0]), result.probe_at(values[-1])
        ends = ""
        if lo is not None and hi is not None and lo is not hi:
            ends = f"{lo.value}: {_num(lo.check.mean)}, {hi.value}: {_num(hi.check.mean)}"
        if result.moves is False:
            text = (
                f"capacity is not what limits this target: {metric} is {_num(hi.check.mean)} "
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
        out.print(text, highlight=False, soft_wrap=True)
        return
    index = values.index(result.answer)
    if index == 0:
        note = "the lower bound: a lower one may do too"
    else:
        below = next(p for p in result.probes if p.value == values[index - 1])
        note = f"{below.value} {'is unsure' if below.check.verdict == 'unsure' else 'fails'}"
    out.print(f"answer: {name} = {result.answer} ({note})", highlight=False, soft_wrap=True)


@atomic.all_or_nothing()
def _write(folder: Path, base: Scenario, result: PlanResult, extra: dict[str, Any]) -> None:
    """scenario.toml (the scenario before the parameter is set), plan.csv, plan.json,
    replications.csv, plan.png and manifest.json; each file written atomically."""
    from sim.outputs.plots.plan import plan_figure  # matplotlib is slow to import

    outcome = result.outcome()
    data = plan_data(result, **extra)
    atomic.write_text(folder / "scenario.toml", to_toml(base))
    rows = [[i, *(p[c] for c in PROBE_COLUMNS)] for i, p in enumerate(data["probes"], 1)]
    atomic.write_text(folder / PLAN_CSV, csv_text(["order", *PROBE_COLUMNS], rows))
    atomic.write_text(folder / PLAN_JSON, json.dumps(data, indent=2) + "\n")
    atomic.write_text(folder / "replications.csv", csv_text(*runs_table(outcome.records)))
    save_figure(plan_figure(data), folder / PLAN_PNG)
    meta = manifest(command_line(), outcome, {"seeds": [base.seed], **extra})
    atomic.write_text(folder / "manifest.json", json.dumps(meta, indent=2) + "\n")


def _num(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return "-" if math.isnan(value) else f"{value:,.4g}"
