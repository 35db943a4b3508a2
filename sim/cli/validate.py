"""`sim validate`: the command, registered in :mod:`sim.cli`.

Only arguments, printing and exit codes live here; cases, runs and verdicts are in
:mod:`sim.experiments.validate.checks`. Case parameters are not declared to the argument
parser (each case has its own), so they arrive as extra arguments and are checked by
:func:`sim.experiments.validate.checks.parse_params` before anything runs: an unknown
case or parameter is one line on stderr and exit code 2; a failed check is exit code 1.
"""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from sim.cli.common import MAX_REPS, err, fail, out
from sim.config import ScenarioError
from sim.outputs.tables import Column, print_table

if TYPE_CHECKING:  # a name for annotations: the checks import numpy and the model
    from sim.experiments.validate.checks import Row

DEFAULT_REPS = 10  # sim.experiments.validate.checks.DEFAULT_REPS, copied for --help
DEFAULT_SEED = 1  # and DEFAULT_SEED (they import the engine; tests/cli/test_startup.py)


def _value(v: Any) -> str:
    if isinstance(v, tuple):
        return ",".join(f"{x:g}" for x in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


class WithCases(TyperCommand):
    """``sim validate``, whose --help ends with the cases and their parameters
    (:func:`epilog`), made only when that help is shown: the cases import the engine,
    and ``sim --help`` builds every command."""

    def format_epilog(self, ctx, formatter) -> None:
        self.epilog = epilog()
        super().format_epilog(ctx, formatter)


def epilog() -> str:
    """The cases and their parameters, for --help (\b keeps click from rewrapping)."""
    from sim.experiments.validate.cases import all_cases  # heavy (numpy): validate --help

    lines = ["\b", "Cases, with their parameters and defaults:"]
    for case in all_cases().values():
        lines.append(f"{case.name:<12} {case.summary}")
        for p in case.params:
            option = f"--{p.name} {_value(p.default)}"
            lines.append(f"    {option:<22} {p.help}")
    return "\n".join(lines)


def validate_command(
    ctx: typer.Context,
    case: Annotated[
        str | None,
        typer.Argument(
            help="Case to run [default: every case at its default parameters].", show_default=False
        ),
    ] = None,
    reps: Annotated[
        int, typer.Option(min=2, max=MAX_REPS, help="Replications per scenario.")
    ] = DEFAULT_REPS,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the rows as JSON instead of a table.")
    ] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", min=1, help="Local processes [default: all cores].")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the replications.")] = DEFAULT_SEED,
    confidence: Annotated[
        float, typer.Option(min=0.5, max=0.9999, help="Confidence level of the intervals.")
    ] = 0.95,
) -> None:
    """Check the engine against queueing theory: each case runs a textbook scenario
    through the engine and compares theory with the simulated mean and its confidence
    interval. Case parameters follow the case: sim validate mmc --lam 47 --mu 5 --c 10.

    Exit code 1 if any check fails, 2 for an unknown case or a bad parameter.
    """
    # heavy (numpy, scipy, the model): only when validating
    from sim.cli.experiments import job_progress
    from sim.experiments.validate.cases import all_cases
    from sim.experiments.validate.checks import ValidationInputError, parse_params, validate

    cases = all_cases()
    extra = list(ctx.args)
    if (case is None and extra) or (case or "").startswith("-"):
        given = " ".join([case or "", *extra]).strip()
        fail(f"parameters ({given}) need a case first: one of {', '.join(cases)}")
    if case is not None and case not in cases:
        fail(f"unknown case {case!r}; one of {', '.join(cases)}")
    try:
        chosen = [cases[case]] if case else list(cases.values())
        requests = [(c, parse_params(c, extra if case else [])) for c in chosen]
    except ValidationInputError as e:
        fail(str(e))
        raise  # unreachable: fail() exits
    started = time.perf_counter()
    try:
        with job_progress(err, "validating") as progress:
            rows = validate(
                requests, reps, seed=seed, confidence=confidence, n_jobs=jobs, progress=progress
            )
    except (ValidationInputError, ScenarioError) as e:
        fail(str(e))
        raise
    except RuntimeError as e:
        err.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if json_out:
        typer.echo(json.dumps([_finite(row.as_json()) for row in rows], indent=1))
    else:
        _print_rows(rows, reps, confidence, time.perf_counter() - started)
    if not all(row.passed for row in rows):
        raise typer.Exit(1)


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN or infinity: such values become null."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


def _print_rows(rows: list[Row], reps: int, confidence: float, wall_s: float) -> None:
    """One table per case, titled with its parameters, laid out like every other table
    (:func:`sim.outputs.tables.print_table`: stacked where a grid would not fit, a metric's
    name never wrapped); each row's numbers to the same decimals (:func:`row_numbers`)."""
    by_case: dict[str, list[Row]] = {}
    for row in rows:
        by_case.setdefault(row.case, []).append(row)
    level = f"{confidence * 100:g} % CI"
    columns = [
        Column("metric"),
        Column("theory", right=True),
        Column("simulated", right=True),
        Column(level, right=True),
        Column("verdict"),
    ]
    for case, case_rows in by_case.items():
        params = " ".join(f"--{k} {_value(v)}" for k, v in case_rows[0].params.items())
        cells = []
        for row in case_rows:
            verdict = "pass" if row.passed else "FAIL"
            if row.check != "theory in CI":  # a threshold, or an identity's float slack
                verdict += f" ({row.check.removeprefix('theory in CI ')})"
            theory, mean, low, high = row_numbers(row.theory, row.sim_mean, row.ci_low, row.ci_high)
            cells.append([row.metric, theory, mean, f"{low} .. {high}", verdict])
        print_table(out, f"{case} {params}", columns, cells)
    failed = sum(not row.passed for row in rows)
    summary = "all checks pass" if not failed else f"{failed} of {len(rows)} checks FAIL"
    out.print(f"{summary} ({reps} replications each, {wall_s:.1f} s)", highlight=False)


SIGNIFICANT = 5  # digits of a row's largest number: the intervals are read to 4 decimals


def row_numbers(*values: float) -> list[str]:
    """`values` (theory, mean, interval) all to the same decimals, enough for
    :data:`SIGNIFICANT` digits of the largest: ``0.60000 0.60624 0.57900 .. 0.63349``,
    not ``0.6 0.60624 0.579 .. 0.63349``, where the digits seemed to come and go."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    largest = max(finite, default=0.0)
    decimals = 0 if largest == 0 else max(0, SIGNIFICANT - 1 - math.floor(math.log10(largest)))
    return [f"{v:,.{decimals}f}" if math.isfinite(v) else str(v) for v in values]
