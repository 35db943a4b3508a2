"""`sim sweep` and `sim compare`: commands, registered in :mod:`sim.cli`.

Only arguments, printing and exit codes live here; the designs, statistics and files are
in :mod:`sim.experiments.sweep` and :mod:`sim.experiments.compare`. Every input is
checked before anything runs or is written: a bad ``--vary`` or ``--set`` is one line on
stderr and exit code 2.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
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
    scaled_and_seeded,
    scaled_title,
    warn_if_shaky,
)
from sim.measure.metrics import HEADLINE, SWEEP_COLUMNS
from sim.outputs import folders
from sim.outputs.tables import (
    Column,
    difference_interval_text,
    difference_text,
    print_table,
    table_label,
    value_text,
)

if TYPE_CHECKING:  # names for annotations: these modules import pydantic, numpy, the model
    from sim.cli.experiments import Assertion
    from sim.config.scenario import Scenario
    from sim.experiments import compare as cmp

SHOWN_VARIANTS = 40  # variants printed; the tables hold them all
SHOWN_OTHER_DIFFERENCES = 8  # significant non-headline differences printed

Reps = Annotated[int, typer.Option(min=1, max=MAX_REPS, help="Replications of each variant.")]
Jobs = Annotated[
    int | None, typer.Option("--jobs", min=1, help="Local processes (default: all cores).")
]
Scheduler = Annotated[
    str | None,
    typer.Option(help=SCHEDULER_HELP),
]
Asserts = Annotated[
    list[str] | None,
    typer.Option("--assert", metavar="CHECK", help='A KPI check, e.g. "gave_up<=100".'),
]
SweepOut = Annotated[
    Path | None,
    typer.Option("--out", parser=out_path, help="Results folder (default: results/<name>-sweep)."),
]
CompareOut = Annotated[
    Path | None,
    typer.Option(
        "--out",
        parser=out_path,
        help="Results folder (default: results/<A>-vs-<B> or results/<A>-compare, then "
        "the --set-a/--set-b overrides, e.g. <A>-compare-services.login.servers-6).",
    ),
]
Plots = Annotated[bool, typer.Option(help="Draw the PNG figures.")]


def sweep_command(
    scenario: ScenarioArg = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            metavar="PATH=VALUES",
            help="A varied field: path=v1,v2,... or path=lo:hi:step (repeatable).",
        ),
    ] = None,
    set_: SetOption = None,
    reps: Reps = 5,
    sample: Annotated[
        int | None,
        typer.Option(min=1, help="Draw this many variants (Latin hypercube) instead of a grid."),
    ] = None,
    seed: SeedOption = None,
    scale_: ScaleOption = 1.0,
    jobs: Jobs = None,
    scheduler: Scheduler = None,
    asserts: Asserts = None,
    out_dir: SweepOut = None,
    plots: Plots = True,
) -> None:
    """Run every variant of a grid (or a Latin hypercube sample) of parameters, each
    replicated, and write one tidy table of runs and one of variants with 95 % CIs.

    Each variant's mean must satisfy every --assert, else the exit code is 1. With
    --scale, the varied values are full-size ones, scaled with the scenario (as in plan).
    """
    # heavy (numpy, scipy, the model): only when a sweep runs
    from sim.api import public as api
    from sim.cli.experiments import job_progress, parse_assertions, print_written, report_failures

    check_scale(scale_)
    base = load_for_command(scenario, set_)
    if seed is not None:
        base = base.model_copy(update={"seed": seed})
    checks = parse_assertions(asserts, base)
    points, variants = _design(base, vary or [], sample)
    variants = [scaled_and_seeded(v, scale_, None) for v in variants]
    scaled_base = scaled_and_seeded(base, scale_, None)
    name = scaled_base.name
    target = results_folder(out_dir or Path("results") / f"{name}-sweep", folders.SWEEP)
    check_fits(variants, len(points) * reps, jobs, scheduler)
    preflight_scheduler(scheduler)
    check_folder(target)
    warn_if_shaky(scaled_base)  # once the input is known good: before the runs
    with experiment_failures(target), job_progress(err, f"{name} sweep") as progress:
        done = api.sweep(
            base,
            {text.partition("=")[0].strip(): text.partition("=")[2].strip() for text in vary or []},
            reps=reps,
            sample=sample,
            scale=scale_,
            jobs=jobs,
            scheduler=scheduler,
            folder=target,
            targets={c.metric: c.value for c in checks},
            plots=plots,
            progress=progress,
            command=command_line(),
        )
    _print_variants(done.base, done.by_variant, reps)
    report_failures(done.failures)
    print_written(target, done.outcome)
    ok = all(_check_variants(check, done.by_variant) for check in checks)
    if done.failures or not ok:
        raise typer.Exit(1)


def _design(base: Scenario, vary: list[str], sample: int | None):
    """The variants' points and scenarios; any bad input fails here, before running."""
    from sim.experiments import sweep  # heavy (numpy): only when a sweep runs

    if not vary:
        fail("sim sweep needs at least one --vary path=v1,v2,... (or path=lo:hi:step)")
    try:
        return sweep.design(base, [sweep.parse_vary(text) for text in vary], sample)
    except ValueError as e:  # ScenarioError included
        fail(str(e))
        raise


def _print_variants(base: Scenario, estimates, reps: int) -> None:
    """One row per variant: its values, then each headline KPI's mean ± half-width in
    the words and units of every other table (:mod:`sim.outputs.tables`); stacked per variant
    where the grid would not fit the screen."""
    from sim.cli.experiments import plus_minus  # heavy (numpy): only when a sweep ran
    from sim.experiments.sweep import plain

    title = f"{base.name}: {len(estimates)} variants x {reps} replications (seed {base.seed})"
    title = scaled_title(title, base.scale)
    paths = [path for path, _ in estimates[0][0]] if estimates else []
    columns = [
        Column("#"),
        *(Column(path.rsplit(".", 1)[-1]) for path in paths),
        *(Column(table_label(name), right=True) for name in SWEEP_COLUMNS),
    ]
    rows = [
        [
            str(number),
            *(str(plain(v)) for _, v in point),
            *(plus_minus(ests.get(name), name) for name in SWEEP_COLUMNS),
        ]
        for number, (point, ests) in enumerate(estimates[:SHOWN_VARIANTS])
    ]
    print_table(out, title, columns, rows, keys=1 + len(paths))
    if len(estimates) > SHOWN_VARIANTS:
        out.print(f"... {len(estimates) - SHOWN_VARIANTS} more variants in variants.csv")


def _check_variants(check: Assertion, estimates) -> bool:
    """True if every variant's mean satisfies `check`; print the verdict."""
    failing = [
        number
        for number, (_, ests) in enumerate(estimates)
        if check.metric not in ests or not check.holds(ests[check.metric].mean)
    ]
    if not failing:
        out.print(f"assert {check}: ok in all {len(estimates)} variants")
        return True
    shown = ", ".join(f"#{n}" for n in failing[:10]) + (" ..." if len(failing) > 10 else "")
    out.print(f"assert {check}: FAIL in {len(failing)} of {len(estimates)} variants ({shown})")
    return False


def compare_command(
    a: Annotated[
        Path,
        typer.Argument(
            help="Scenario A (the reference): a file or an example's name.", show_default=False
        ),
    ],
    b: Annotated[
        Path | None,
        typer.Argument(help="Scenario B (default: A, changed by --set-b).", show_default=False),
    ] = None,
    set_: SetOption = None,
    set_a: Annotated[
        list[str] | None,
        typer.Option("--set-a", metavar="PATH=VALUE", help="Override for A only: path=value."),
    ] = None,
    set_b: Annotated[
        list[str] | None,
        typer.Option("--set-b", metavar="PATH=VALUE", help="Override for B only: path=value."),
    ] = None,
    reps: Reps = 10,
    seed: SeedOption = None,
    scale_: ScaleOption = 1.0,
    jobs: Jobs = None,
    scheduler: Scheduler = None,
    asserts: Asserts = None,
    out_dir: CompareOut = None,
    plots: Plots = True,
) -> None:
    """Compare B with A replication by replication (common random numbers): the mean
    difference B − A of every KPI with its 95 % CI, and whether it is significant.

    --assert checks the difference and holds only if its whole 95 % interval does,
    e.g. "gave_up<0": B has significantly fewer people giving up than A.
    """
    # heavy (numpy, scipy, the model): only when a comparison runs
    from sim.api import public as api
    from sim.cli.experiments import job_progress, parse_assertions, print_written, report_failures

    if b is None and not set_b:
        fail("nothing to compare: give scenario B or --set-b path=value")
    sa = scaled_and_seeded(load_for_command(a, [*(set_ or []), *(set_a or [])]), scale_, seed)
    sb = scaled_and_seeded(load_for_command(b or a, [*(set_ or []), *(set_b or [])]), scale_, seed)
    checks = parse_assertions(asserts, sa, sb)
    labels = [_labels(set_a), _labels(set_b)]
    name = compare_folder_name(sa.name, sb.name, set_a, set_b)
    target = results_folder(out_dir or Path("results") / name, folders.COMPARE)
    check_fits([sa, sb], 2 * reps, jobs, scheduler)
    preflight_scheduler(scheduler)
    check_folder(target)
    warn_if_shaky(sa)  # once the input is known good: before the runs
    with experiment_failures(target), job_progress(err, name) as progress:
        done = api.compare(
            sa,
            sb,
            reps=reps,
            labels=labels,
            jobs=jobs,
            scheduler=scheduler,
            folder=target,
            plots=plots,
            progress=progress,
            command=command_line(),
            sources=(str(a), str(b or a)),
        )
    _print_differences(sa, sb, done.by_metric)
    report_failures(done.failures)
    print_written(target, done.outcome)
    ok = _check_differences(checks, done.by_metric) if checks else True
    if done.failures or not ok:
        raise typer.Exit(1)


MAX_SLUG = 60  # characters of overrides in a folder name; longer ones end with a hash


def compare_folder_name(
    a: str, b: str, set_a: Sequence[str] | None, set_b: Sequence[str] | None
) -> str:
    """The default folder of a comparison, named after what changes: ``<A>-vs-<B>`` for
    two scenarios, ``<A>-compare`` plus the overrides of each side (``--set-b
    services.login.servers=6`` gives ``default-compare-services.login.servers-6``), so
    that a second what-if gets a folder of its own instead of replacing the first one's
    tables. (Runs are reused by content in either case; only the tables would clash.)"""
    name = f"{a}-vs-{b}" if a != b else f"{a}-compare"
    for side, overrides in (("a-", set_a), ("", set_b)):
        if overrides:
            name += f"-{side}{_slug(overrides)}"
    return name


def _slug(overrides: Sequence[str]) -> str:
    """``path=value`` overrides as one file-name-safe word: ``+`` between overrides."""
    words = [re.sub(r"[^\w.-]+", "-", text).strip("-") for text in overrides]
    slug = "+".join(words)
    if len(slug) > MAX_SLUG:
        digest = hashlib.sha256("\n".join(overrides).encode()).hexdigest()[:8]
        slug = f"{slug[: MAX_SLUG - 9]}-{digest}"
    return slug


def _labels(overrides: Sequence[str] | None) -> tuple[tuple[str, Any], ...]:
    """``path=value`` overrides as (path, value) pairs, the variant's label in the tables."""
    from sim.config import parse_value  # heavy (pydantic): only when comparing

    pairs = (text.partition("=") for text in overrides or [])
    return tuple((path.strip(), parse_value(value)) for path, _, value in pairs)


def _print_differences(a: Scenario, b: Scenario, diffs: dict[str, cmp.Difference]) -> None:
    """Headline KPIs, then every other metric whose difference is significant; each
    difference signed, a share's in percentage points (as in the report)."""
    n = max((d.diff.n for d in diffs.values()), default=0)
    title = f"A = {a.name}, B = {b.name}: B − A over {n} paired replications (seed {a.seed})"
    title = scaled_title(title, a.scale)
    columns = [
        Column("metric"),
        *(Column(h, right=True) for h in ("A", "B", "B − A", "95 % CI of B − A", "significant")),
    ]
    shown = [n for n, d in diffs.items() if n in HEADLINE or d.significant]
    rows = []
    for name in shown[: len(HEADLINE) + SHOWN_OTHER_DIFFERENCES]:
        d = diffs[name]
        rows.append(
            [
                table_label(name),
                value_text(name, d.mean_a),
                value_text(name, d.mean_b),
                difference_text(name, d.diff.mean),
                difference_interval_text(name, d.diff.low, d.diff.high),
                "yes" if d.significant else "no",
            ]
        )
    print_table(out, title, columns, rows)
    if len(shown) > len(HEADLINE) + SHOWN_OTHER_DIFFERENCES:
        more = len(shown) - len(HEADLINE) - SHOWN_OTHER_DIFFERENCES
        out.print(f"... {more} more significant differences in compare.csv")


def _check_differences(checks: list[Assertion], diffs: dict[str, cmp.Difference]) -> bool:
    """Each check on B − A holds if the whole interval does: for <= and < its high end,
    for >= and > its low end, must satisfy it."""
    from sim.cli.experiments import check_assertions  # heavy (numpy): only when comparing

    out.print("assertions on B − A (the whole 95 % interval must satisfy them):")
    ok = True
    for check in checks:
        d = diffs.get(check.metric)
        values = {}
        if d is not None:
            values[check.metric] = d.diff.high if check.op in ("<", "<=") else d.diff.low
        ok &= check_assertions(out, [check], values)
    return ok
