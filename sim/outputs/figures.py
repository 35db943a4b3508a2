"""Figures to files: each as PNG (reports, screens) and SVG (print, slides), written
atomically and reproducibly: the same figure gives the same bytes.

Matplotlib stamps an SVG with the time it was saved, and names its clip paths and
markers by a hash of a random salt and of their coordinates at full precision, which
differ in the last bits from one drawing of the same figure to the next. Here the date
is left out and the names are numbered in order of appearance, so that a results folder
made twice from one seed is the same folder, figures included (a PNG carries no date).
Matplotlib is imported only when a figure is drawn: it is the slowest import of a command.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sim.outputs import atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.simulation.runner import RunResult

SVG_NAME = re.compile(rb'(?<=["#])([a-z])[0-9a-f]{10}(?=[")])')
"""A name matplotlib gives a clip path (p), marker (m) or hatch (h) of an SVG, where it
is defined (``id="p1a2b3c4d5e"``) or used (``url(#p1a2b3c4d5e)``, ``href="#m..."``)."""


def save_figure(figure: Figure, path: Path) -> None:
    """Save `figure` as PNG (`path`) and SVG (same name, ``.svg``), each atomically."""
    from sim.outputs.plots.style import DPI

    atomic.replace_with(path, lambda tmp: figure.savefig(tmp, format="png", dpi=DPI))
    atomic.write_bytes(path.with_suffix(".svg"), svg_bytes(figure))


def svg_bytes(figure: Figure) -> bytes:
    """`figure` as SVG, without a date, its names numbered in order of appearance."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    names: dict[bytes, bytes] = {}

    def numbered(match: re.Match[bytes]) -> bytes:
        kind = match.group(1)
        return names.setdefault(match.group(0), kind + b"%d" % len(names))

    return SVG_NAME.sub(numbered, buffer.getvalue())


def save_dashboard(result: RunResult, path: Path) -> None:
    """The dashboard of one run (:mod:`sim.outputs.plots.dashboard`) at `path`."""
    from sim.outputs.plots.dashboard import dashboard

    save_figure(dashboard(result), path)
