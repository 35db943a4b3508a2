"""`sim fit`: the command, registered in :mod:`sim.cli`.

Only arguments, printing and exit codes live here; the fit is :func:`sim.api.fit.fit`.
An unreadable, empty or unmappable log, a bad mapping or option is one line on stderr
and exit code 2, with nothing written.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from sim.cli.common import PROGRESS_AFTER_S, err, fail, out, out_path
from sim.config import ScenarioError
from sim.outputs.progress import PlainProgress


def fit_command(
    logs: Annotated[
        list[Path],
        typer.Argument(
            help="Access logs (nginx or Apache with the request time, or csv; gzip accepted), "
            "read in the order given.",
            metavar="LOG",
            show_default=False,
        ),
    ],
    out_file: Annotated[
        Path,
        typer.Option(
            "--out", parser=out_path, help="The scenario file to write (TOML).", show_default=False
        ),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="Mapping file (TOML): services by path, roles, people [default: one service "
            "'web', everybody a pupil].",
            show_default=False,
        ),
    ] = None,
    log_format: Annotated[
        str, typer.Option("--format", help="Log format: auto, nginx, apache or csv.")
    ] = "auto",
    class_start: Annotated[
        list[str] | None,
        typer.Option(
            "--class-start",
            metavar="HH:MM",
            help="A class start (HH:MM) the connect offsets are measured from (repeatable) "
            "[default: the mapping's [classes] starts, else 09:00].",
            show_default=False,
        ),
    ] = None,
    retry_window: Annotated[
        float,
        typer.Option(
            "--retry-window",
            help="A request to the same service within this many seconds after a failure is "
            "a retry.",
        ),
    ] = 300.0,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="PATH=VALUE",
            help="A value the planner knows and the log does not show (capacity above all), "
            "as in sim run: dotted.path=value (repeatable); written marked GIVEN.",
            show_default=False,
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            parser=out_path,
            help="Also write an HTML fit report (figures, estimates.csv) into this folder.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Fit a scenario to a platform's access logs: arrivals per role, service times (on
    quiet periods), patience and retries, each value marked FITTED (method, interval, n)
    or ASSUMPTION; capacity hints as comments."""
    # heavy (numpy, scipy, pydantic): only when fitting
    from sim.api.fit import fit
    from sim.outputs.fit_report import FitReportError, check_report_folder

    if out_file.is_dir():
        fail(f"--out {out_file}: it is a folder; name the scenario file to write")
    if not retry_window > 0:
        fail(f"--retry-window must be a number of seconds above 0, got {retry_window:g}")
    try:
        if report is not None:
            check_report_folder(report)
        with reading_progress(logs) as progress:
            fitted = fit(
                logs,
                mapping,
                class_starts=class_start or None,
                format=log_format,
                name=out_file.stem,
                on_progress=progress,
                retry_window_s=retry_window,
                set=overrides,
            )
        target = report and fitted.report(report)
        fitted.save(out_file)
    except (ScenarioError, FitReportError) as e:
        fail(str(e))
        raise
    except OSError as e:
        fail(f"cannot write {e.filename or out_file}: {e.strerror or e}")
        raise
    print_summary(fitted.result, fitted.given)
    out.print(f"scenario written to {out_file}", highlight=False, soft_wrap=True)
    if target:
        out.print(f"fit report written to {target}", highlight=False, soft_wrap=True)


def print_summary(result, given: list[str] | None = None) -> None:
    """The estimates a planner reads first, and what stayed an assumption."""
    from sim.outputs.fit_summary import summary
    from sim.outputs.tables import print_table, wrap_words

    tables, assumed = summary(result, given or [])
    out.print(
        f"{result.records:,} requests, {len(result.roles)} role(s), "
        f"{len(result.services)} service(s), {result.days} day(s)",
        highlight=False,
        soft_wrap=True,
    )
    for title, columns, rows in tables:
        print_table(out, title, columns, rows)
    for line in assumed:
        for part in wrap_words(line, out.width):
            out.print(part, highlight=False, soft_wrap=True)


class reading_progress:
    """Progress of the bytes read, once reading lasts a few seconds: a bar on a terminal,
    else a plain line per tenth (:mod:`sim.outputs.progress`)."""

    def __init__(self, logs: list[Path]) -> None:
        self.total = sum(p.stat().st_size for p in logs if p.is_file()) or 1
        self.done = 0
        self.started = time.perf_counter()
        self.plain: PlainProgress | None = None
        self.bar: Progress | None = None

    def __enter__(self) -> reading_progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, read: int) -> None:
        self.done += read
        if self.plain is None and self.bar is None:
            if time.perf_counter() - self.started < PROGRESS_AFTER_S:
                return
            self.start()
        if self.plain is not None:
            self.plain.update(self.done / self.total, f"{self.done / 2**20:,.0f} MiB read")
        else:
            self.bar.update(self.task, completed=self.done)

    def start(self) -> None:
        if not err.is_terminal:
            self.plain = PlainProgress(err, "reading logs", self.started)
            return
        self.bar = Progress(
            TextColumn("reading logs"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("read", total=self.total)
