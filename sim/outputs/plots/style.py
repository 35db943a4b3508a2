"""One look for every figure of ``sim``: palette, target lines, grids, axes in units.

A planner puts a dashboard, a sweep and a plan side by side in one report or one slide
deck; they must read as one family. So every figure module takes its colours, target
line, grid and size from here, and never sets them on its own:

- colours are Okabe-Ito's (distinguishable with the common colour-vision deficiencies),
  grey for the reference (a baseline, what people intended), vermillion for attacks;
  verdicts (holds, fails, unsure) keep one colour each, and are always written too;
- a target is a dashed black line labelled ``target <value>``, the value in the metric's
  unit as the tables write it (``target 90.0 %``, ``target 120 s``);
- a light grid behind the data; legends outside the data when they are long;
- shares on a percent axis, durations in s or min, clock times as HH:MM: the unit is
  in every axis label (:func:`sim.measure.metrics.axis_label`);
- a clock-time axis has 4 to 8 labels whatever its span (:func:`clock_axis`): a
  25-minute teaching run is labelled every 5 minutes, a 6-hour morning every hour.

Figures are :class:`~matplotlib.figure.Figure` objects built without pyplot; the I/O
layer saves them at :data:`DPI` (PNG) and as SVG.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogFormatter, MultipleLocator, PercentFormatter

from sim.measure.metrics import kind_of
from sim.outputs.tables import value_text

BLACK = "#000000"
GREY = "#666666"
OTHER_COLOUR = "#AAAAAA"  # lighter than GREY: what is left out or aggregated
GRID_COLOUR = "#DDDDDD"
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow (last: weak on white)
)
ATTACK_COLOUR = "#D55E00"  # vermillion, light as a band, full as the attack traffic line
VERDICT_COLOURS = {"holds": "#009E73", "fails": "#D55E00", "unsure": "#E69F00"}
ACCENT = OKABE_ITO[0]  # the one highlighted thing: an answer, a significant difference
PALETTE = frozenset({BLACK, GREY, OTHER_COLOUR, *OKABE_ITO, *VERDICT_COLOURS.values()})
"""Every colour a line, marker or bar of a figure may take (heatmaps use viridis)."""

DPI = 110
TARGET = {"color": BLACK, "linestyle": "--", "linewidth": 1.2, "gid": "target"}
LEGEND_OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": "small"}
TARGET_LABEL = "target"


def figure(width: float, height: float) -> Figure:
    """An empty figure of the house style (constrained layout: labels never clipped)."""
    return Figure(figsize=(width, height), layout="constrained")


def grid(ax: Axes, axis: str = "both") -> None:
    """A light grid behind the data."""
    ax.grid(True, axis=axis, color=GRID_COLOUR, linewidth=0.6)
    ax.set_axisbelow(True)


def target_line(ax: Axes, value: float, *, metric: str, vertical: bool = False) -> Line2D:
    """The target: a dashed black line labelled ``target <value>``, the value written in
    `metric`'s unit (:func:`sim.outputs.tables.value_text`): a share's target on a per
    cent axis reads "target 90.0 %", not "target 0.9"."""
    draw = ax.axvline if vertical else ax.axhline
    return draw(value, label=f"{TARGET_LABEL} {value_text(metric, value)}", **TARGET)


def metric_axis(ax: Axes, metric: str, which: str = "y") -> None:
    """Per cent ticks for a share (values are fractions): 0.95 reads 95 %."""
    if kind_of(metric) == "share":
        axis = ax.yaxis if which == "y" else ax.xaxis
        axis.set_major_formatter(PercentFormatter(1.0, decimals=None))


class PlainLogFormatter(LogFormatter):
    """Tick labels of a log axis as plain numbers, ``0.4``, ``2``, ``60``: matplotlib's
    default writes ``4×10⁻¹`` in mathtext, which a reader has to decode and which makes
    matplotlib look for the STIX fonts (a "findfont" line on stderr each, where they
    are missing)."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return plain_number(x)


def plain_number(x: float) -> str:
    """`x` without an exponent and without trailing zeros: 0.0001, 2, 15,000."""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return np.format_float_positional(x, precision=6, unique=True, trim="-")


def plain_log_axis(ax: Axes, which: str = "y") -> None:
    """Plain-number labels on a log (or symlog) axis, on major and minor ticks alike
    (matplotlib labels some minor ticks of an axis spanning less than a decade or two)."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_formatter(PlainLogFormatter(labelOnlyBase=False))
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


CLOCK_STEPS_MIN = (1, 2, 3, 5, 10, 15, 30, 60, 120, 180, 240, 360, 480, 720)
"""Steps of a clock axis's ticks, in minutes: round clock times, each at most twice the
one before, so that one of them always gives 4 to 8 labels."""
MAX_CLOCK_INTERVALS = 8  # fewer whole steps than this between the ends: at most 8 labels


def clock_step_s(span_s: float) -> float:
    """The tick step (s) of a clock axis spanning `span_s` seconds: the smallest step of
    :data:`CLOCK_STEPS_MIN` that fits fewer than 8 times in the span. Since each step is
    at most twice the one before, it fits at least 4 times: 4 to 8 labels for any span
    of 4 minutes to 2 days. (A fixed 30-minute step gave a 25-minute run one label.)"""
    for step in CLOCK_STEPS_MIN:
        if span_s / (60.0 * step) < MAX_CLOCK_INTERVALS:
            return 60.0 * step
    return 60.0 * CLOCK_STEPS_MIN[-1]


def hhmm(seconds: float, _pos: object = None) -> str:
    """``"HH:MM"`` for seconds since midnight; a tick formatter, so it takes a position."""
    minutes = round(seconds / 60.0)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def clock_axis(ax: Axes, start_s: float, end_s: float) -> None:
    """Span ``start_s``-``end_s`` (s since midnight) on the x axis, with HH:MM ticks at
    round clock times, 4 to 8 of them (:func:`clock_step_s`).

    Readers think in clock time ("the 09:00 surge"), not in seconds since midnight.
    """
    ax.set_xlim(start_s, end_s)
    ax.xaxis.set_major_locator(MultipleLocator(clock_step_s(end_s - start_s)))
    ax.xaxis.set_major_formatter(FuncFormatter(hhmm))
