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
from sim.outputs.folders import BRIEF, REPORT


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
            "--out",
            parser=out_path,
            help=f"The HTML file [default: RESULTS_DIR/{REPORT}, or {BRIEF} with --brief].",
        ),
    ] = None,
    brief: Annotated[
        bool,
        typer.Option(
            "--brief",
            help="Write only the one-page brief of an options study, for non-experts.",
        ),
    ] = False,
    pdf: Annotated[
        bool,
        typer.Option(
            "--pdf",
            help="Also print the page to PDF beside it (same name, .pdf) with headless Chromium.",
        ),
    ] = False,
) -> None:
    """Write a self-contained HTML report of a results folder for decision makers: the
    answer in plain words, the key figures (with 95 % confidence intervals when there
    are replications), the figures, the assumptions and how to reproduce the results.
    An options study's report opens with a one-page brief (--brief: that page alone).
    """
    # heavy (pydantic): only when writing a report (it reads the scenario through the schema)
    from sim.outputs.report.page import ReportError, write_brief, write_report

    where = out_file or results_dir / (BRIEF if brief else REPORT)
    try:
        folders.check_source(results_dir, folders.KINDS, "sim report")
        folders.check_report_file(where)
        if pdf:
            folders.check_pdf_file(where.with_suffix(".pdf"))
    except folders.FolderError as e:
        fail(str(e))
    try:
        target = (
            write_brief(results_dir, out_file) if brief else write_report(results_dir, out_file)
        )
    except ReportError as e:
        fail(str(e))
        raise
    except OSError as e:
        fail(f"cannot write the report to {where}: {e.strerror or e}")
        raise
    what = "brief" if brief else "report"
    out.print(f"{what} written to {target}", highlight=False, soft_wrap=True)
    if pdf:
        _print_pdf(target)


def _print_pdf(page: Path) -> None:
    """The page printed to PDF beside it; no browser is bad input (exit 2: install one),
    a browser that fails a runtime failure (exit 1)."""
    from sim.outputs.pdf import NoBrowserError, PdfError, print_to_pdf

    try:
        written = print_to_pdf(page, page.with_suffix(".pdf"))
    except NoBrowserError as e:
        fail(f"--pdf: {e}; the HTML is written")
        raise
    except (PdfError, OSError) as e:
        fail(f"--pdf: {e}", code=1)
        raise
    out.print(f"PDF written to {written}", highlight=False, soft_wrap=True)
