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
from rich import box
from rich.table import Table
from typer.core import TyperCommand

from sim.cli.common import MAX_REPS, err, fail, out
from sim.config import ScenarioError

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
    """One table per case, titled with its parameters."""
    by_case: dict[str, list[Row]] = {}
    for row in rows:
        by_case.setdefault(row.case, []).append(row)
    for case, case_rows in by_case.items():
        params = " ".join(f"--{k} {_value(v)}" for k, v in case_rows[0].params.items())
        table = Table(title=f"{case} {params}", title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("metric")
        table.add_column("theory", justify="right")
        table.add_column("simulated", justify="right")
        table.add_column(f"{confidence:.0%} CI", justify="right", no_wrap=True)
        table.add_column("verdict", no_wrap=True)
        for row in case_rows:
            verdict = "pass" if row.passed else "FAIL"
            if row.check != "theory in CI":  # a threshold, or an identity's float slack
                verdict += f" ({row.check.removeprefix('theory in CI ')})"
            table.add_row(
                row.metric,
                _num(row.theory),
                _num(row.sim_mean),
                f"{_num(row.ci_low)} .. {_num(row.ci_high)}",
                verdict,
            )
        out.print(table)
    failed = sum(not row.passed for row in rows)
    summary = "all checks pass" if not failed else f"{failed} of {len(rows)} checks FAIL"
    out.print(f"{summary} ({reps} replications each, {wall_s:.1f} s)", highlight=False)


def _num(x: float) -> str:
    return f"{x:.5g}" if math.isfinite(x) else str(x)
