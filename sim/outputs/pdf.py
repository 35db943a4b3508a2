"""An HTML page printed to PDF by headless Chromium (``sim report --pdf``).

The report's pages carry their own print style sheet (A4, margins: see
:data:`sim.outputs.report.html.PRINT_CSS`), so a browser's "print to PDF" lays them out
as the page intends, fonts and figures included, with no PDF library to install or keep
in step with the HTML. Chromium is found on the PATH; without one, the caller says so
(the HTML is written all the same). The PDF is written to a temporary file beside its
target and renamed onto it once Chromium has finished: never half a PDF.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sim.outputs import atomic

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 180  # a hang, not a slow machine: printing one page takes seconds
PDF_MAGIC = b"%PDF-"


class NoBrowserError(RuntimeError):
    """No Chromium on this machine: the PDF cannot be printed."""


class PdfError(RuntimeError):
    """Chromium ran but wrote no PDF; the message is one line for the user."""


def find_browser() -> str | None:
    """The first of :data:`BROWSERS` on the PATH."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def _as_root() -> list[str]:
    """Chromium refuses to run as root with its sandbox (containers, CI): only then is it
    turned off. It renders one local page that sim wrote, nothing from the network."""
    return ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def print_to_pdf(html_file: Path | str, pdf_file: Path | str) -> Path:
    """Print `html_file` to `pdf_file` (atomically) with headless Chromium."""
    browser = find_browser()
    if browser is None:
        raise NoBrowserError(
            f"no Chromium found to print the PDF (looked for {', '.join(BROWSERS)}); "
            "install one, e.g. apt-get install chromium"
        )
    url = Path(html_file).resolve().as_uri()

    def write(tmp: str) -> None:
        with atomic.scratch_folder("sim-pdf-") as profile:
            command = [
                browser, "--headless", *_as_root(), "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={profile}", "--no-pdf-header-footer",
                f"--print-to-pdf={tmp}", url,
            ]  # fmt: skip
            try:
                run = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise PdfError(f"{browser} did not finish printing in {TIMEOUT_S} s") from None
        with open(tmp, "rb") as fh:
            if fh.read(len(PDF_MAGIC)) != PDF_MAGIC:
                said = run.stderr.decode(errors="replace").strip().splitlines()
                why = f": {said[-1]}" if said else ""
                raise PdfError(f"{browser} wrote no PDF (exit code {run.returncode}){why}")

    return atomic.replace_with(pdf_file, write, suffix=".pdf", now=True)
