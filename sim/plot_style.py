"""One look for every figure of ``sim``: palette, target lines, grids, axes in units.

A planner puts a dashboard, a sweep and a plan side by side in one report or one slide
deck; they must read as one family. So every figure module takes its colours, target
line, grid and size from here, and never sets them on its own:

- colours are Okabe-Ito's (distinguishable with the common colour-vision deficiencies),
  grey for the reference (a baseline, what people intended), vermillion for attacks;
  verdicts (holds, fails, unsure) keep one colour each, and are always written too;
- a target is a dashed black line labelled ``target <value>``;
- a light grid behind the data; legends outside the data when they are long;
- shares on a percent axis, durations in s or min, clock times as HH:MM: the unit is
  in every axis label (:func:`sim.labels.axis_label`).

Figures are :class:`~matplotlib.figure.Figure` objects built without pyplot; the I/O
layer saves them at :data:`DPI` (PNG) and as SVG.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from sim.labels import kind_of

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


def target_line(ax: Axes, value: float, *, vertical: bool = False) -> Line2D:
    """The target: a dashed black line labelled ``target <value>``."""
    draw = ax.axvline if vertical else ax.axhline
    return draw(value, label=f"{TARGET_LABEL} {value:g}", **TARGET)


def metric_axis(ax: Axes, metric: str, which: str = "y") -> None:
    """Per cent ticks for a share (values are fractions): 0.95 reads 95 %."""
    if kind_of(metric) == "share":
        axis = ax.yaxis if which == "y" else ax.xaxis
        axis.set_major_formatter(PercentFormatter(1.0, decimals=None))
