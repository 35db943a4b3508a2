"""The ``sim`` command: every command registered here, explicitly, on one Typer app.

Each command is a plain function in a module of its own (arguments, printing and exit
codes only); this module puts them on :data:`app` in the order ``sim --help`` lists
them, as Hatch registers its commands on its group. Shared options and printing are in
:mod:`sim.cli.common`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sim import __version__
from sim.cli import animate, fit, options, plan, report, run, sensitivity, sweep, validate
from sim.cli.common import app, err, out, said_interrupted
from sim.engine import compiled
from sim.interruption import INTERRUPTED
from sim.interruption import exit_code as interrupted_code


def _print_version(asked: bool) -> None:
    if asked:
        out.print(version_line(), soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit()


def version_line() -> str:
    """``sim 0.2.0 (compiled: sim.engine.kernel, ...)``: the version, and which modules
    of the hot path run compiled (:mod:`sim.engine.compiled`), since the same version
    runs about twice as fast compiled as interpreted."""
    return f"sim {__version__} ({compiled.describe()})"


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and which modules run compiled, then exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    # the options of `sim` itself, before any command (Typer's app callback); no
    # docstring: the app's help stays the one of sim.cli.common.app
    pass


app.command("run")(run.run_command)
app.command("show")(run.show_command)
app.command("examples")(run.examples_command)
app.command("animate")(animate.animate_command)
app.command("sweep")(sweep.sweep_command)
app.command("compare")(sweep.compare_command)
app.command("options")(options.options_command)
app.command("plan")(plan.plan_command)
app.command("sensitivity")(sensitivity.sensitivity_command)
app.command("report")(report.report_command)
app.command("fit")(fit.fit_command)
app.command(
    "validate",
    cls=validate.WithCases,  # the cases at the end of its --help
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)(validate.validate_command)


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
    if code == INTERRUPTED and not said_interrupted():  # Typer's silent exit after a Ctrl-C
        _interrupted()
    sys.exit(code if isinstance(code, int) else 0)


def _interrupted() -> None:
    err.print("interrupted: no half-written results (finished runs are kept)")
    sys.exit(interrupted_code())
