"""`sim report`: the command, registered in :mod:`sim.cli`.

Only arguments, printing and exit codes live here; the report itself is
:func:`sim.outputs.report.page.write_report`. A folder that is not a results folder, or a report
that cannot be written, is one line on stderr and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import fail, out, out_path
from sim.outputs import folders
from sim.outputs.folders import REPORT


def report_command(
    results_dir: Annotated[
        Path,
        typer.Argument(
            help="A results folder of sim run, run --reps, sweep, compare, plan, options or "
            "sensitivity.",
            metavar="RESULTS_DIR",
            show_default=False,
        ),
    ],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", parser=out_path, help=f"The HTML file [default: RESULTS_DIR/{REPORT}]."
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML report of a results folder for decision makers: the
    answer in plain words, the key figures (with 95 % confidence intervals when there
    are replications), the figures, the assumptions and how to reproduce the results.
    """
    # heavy (pydantic): only when writing a report (it reads the scenario through the schema)
    from sim.outputs.report.page import ReportError, write_report

    try:
        folders.check_source(results_dir, folders.KINDS, "sim report")
        folders.check_report_file(out_file or results_dir / REPORT)
    except folders.FolderError as e:
        fail(str(e))
    try:
        target = write_report(results_dir, out_file)
    except ReportError as e:
        fail(str(e))
        raise
    except OSError as e:
        where = out_file or results_dir / REPORT
        fail(f"cannot write the report to {where}: {e.strerror or e}")
        raise
    out.print(f"report written to {target}", highlight=False, soft_wrap=True)
