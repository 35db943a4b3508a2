"""Figures of experiments: a KPI against a varied parameter, a KPI over two parameters,
the differences of a paired comparison, and a ``--reps`` folder's KPIs with their
intervals and per-minute bands.

Every estimate is drawn with its 95 % confidence interval, because the point of
replicating is to know which differences are real: two lines whose bands overlap are not
shown to differ. Figures are built on :class:`matplotlib.figure.Figure` directly (no
pyplot state) and never saved here: the I/O layer decides where.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter
from matplotlib.transforms import blended_transform_factory

from sim.experiments.execution import Estimate
from sim.measure.metrics import (
    HEADLINE,
    NUM,
    REPS_FIGURE,
    SHARE,
    TIME,
    axis_label,
    bin_noun,
    kind_of,
    label,
    missing_mean_text,
    per_bin,
    unit,
)
from sim.measure.metrics import metric as metric_info
from sim.outputs.plots import style
from sim.outputs.plots.style import ACCENT, GREY, OKABE_ITO
from sim.outputs.tables import value_text, wrap_words

BRIGHT_CELL = 0.6  # viridis is light above ~60 % of its range: dark text there
MAX_LEGEND = 10  # more lines than this are not labelled one by one


@dataclass(frozen=True)
class Line:
    """One curve: a KPI's means and confidence bounds at the x positions."""

    label: str
    x: Sequence[float]
    mean: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]


def kpi_figure(
    lines: Sequence[Line],
    xlabel: str,
    kpi: str,
    *,
    target: float | None = None,
    connect: bool = True,
    xticks: Sequence[str] | None = None,
) -> Figure:
    """A KPI against one parameter: each line with its 95 % band, or (unconnected points,
    e.g. a Latin hypercube where the other parameters vary too) with error bars; a
    dashed target line if given.

    Every variant keeps its place on the x axis, whatever its value: one whose mean is
    infinite (more people never got in than the percentile allows) is a triangle near
    the top, above the data, marked "unbounded", not left out; a point without a finite
    neighbour, which a band cannot show, gets its interval as an error bar.
    """
    figure = style.figure(7.0, 4.2)
    ax = figure.add_subplot()
    top = blended_transform_factory(ax.transData, ax.transAxes)
    unbounded_at: set[float] = set()
    for i, line in enumerate(lines):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        x = np.asarray(line.x, dtype=float)
        mean, low, high = (_finite(v) for v in (line.mean, line.low, line.high))
        label = line.label if len(lines) <= MAX_LEGEND else "_nolegend_"
        if connect:
            ax.plot(x, mean, marker="o", color=colour, label=label)
            ax.fill_between(x, low, high, color=colour, alpha=0.2, lw=0, gid="band")
            alone = _isolated(mean)
            _error_bars(ax, x[alone], mean[alone], low[alone], high[alone], colour)
        else:
            _error_bars(ax, x, mean, low, high, colour, label=label)
        unbounded = np.isposinf(np.asarray(line.mean, dtype=float))
        if unbounded.any():
            marks = [UNBOUNDED_Y] * int(unbounded.sum())
            ax.plot(x[unbounded], marks, transform=top, color=colour, **UNBOUNDED_MARK)
            unbounded_at |= set(x[unbounded].tolist())
    if target is not None:
        style.target_line(ax, target, metric=kpi)
    if unbounded_at:  # after everything that sets the y range
        _mark_unbounded(ax, top, sorted(unbounded_at))
    _x_axis(ax, lines, xticks)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(axis_label(kpi))
    style.metric_axis(ax, kpi)
    ax.set_title(f"{axis_label(kpi).capitalize()}: mean and 95 % confidence interval")
    style.grid(ax)
    handles, labels = ax.get_legend_handles_labels()
    if unbounded_at:
        handles.append(Line2D([], [], color=GREY, **UNBOUNDED_MARK))
        labels.append(metric_info(kpi).none_text)
    if labels:
        ax.legend(handles, labels, fontsize="small")
    return figure


UNBOUNDED_TEXT = "unbounded"
UNBOUNDED_Y = 0.93  # height of an unbounded mark, in axes fraction
HEADROOM = 0.18  # share of the y axis kept above the data for the marks
UNBOUNDED_GID = "unbounded"
UNBOUNDED_MARK = {"marker": "^", "ms": 9, "ls": "none", "gid": UNBOUNDED_GID}
MAX_X_TICKS = 12  # more values than this: a tick where the locator puts one


def _mark_unbounded(ax, top, xs: Sequence[float]) -> None:
    """Room above the data for the unbounded marks, and the word under each."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + HEADROOM / (1 - HEADROOM) * (high - low))
    for x in xs:
        ax.annotate(UNBOUNDED_TEXT, (x, UNBOUNDED_Y), xycoords=top, xytext=(0, -8),
                    textcoords="offset points", ha="center", va="top", fontsize="x-small",
                    color=GREY, gid=UNBOUNDED_GID)  # fmt: skip


def _isolated(mean: np.ndarray) -> np.ndarray:
    """The finite points whose neighbours are not: a band has no width there."""
    finite = np.isfinite(mean)
    before = np.concatenate(([False], finite[:-1]))
    after = np.concatenate((finite[1:], [False]))
    return finite & ~before & ~after


def _error_bars(ax, x, mean, low, high, colour: str, label: str = "_nolegend_") -> None:
    """Each mean with its interval as an error bar, where the interval is known."""
    shown = np.isfinite(mean)
    if not shown.any():
        return
    below = np.where(np.isfinite(low), mean - low, 0.0)[shown]
    above = np.where(np.isfinite(high), high - mean, 0.0)[shown]
    ax.errorbar(x[shown], mean[shown], yerr=np.abs(np.vstack([below, above])), fmt="o",
                color=colour, label=label, capsize=3, gid="interval")  # fmt: skip


def _x_axis(ax, lines: Sequence[Line], xticks: Sequence[str] | None) -> None:
    """The x axis spans every variant's value, drawn or not; a tick at each when they
    are few (whole values stay whole: no 2.5 servers)."""
    xs = sorted({float(v) for line in lines for v in line.x})
    if not xs:
        return
    margin = 0.05 * (xs[-1] - xs[0]) or 0.5
    ax.set_xlim(xs[0] - margin, xs[-1] + margin)
    if xticks is not None:
        ax.set_xticks(range(len(xticks)), list(xticks))
    elif len(xs) <= MAX_X_TICKS:
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
    elif all(v.is_integer() for v in xs):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # servers, attempts: no 1.5


def heatmap_figure(
    xs: Sequence[Any], ys: Sequence[Any], values: np.ndarray, xlabel: str, ylabel: str, kpi: str
) -> Figure:
    """A KPI's mean over two parameters (rows: `ys`, columns: `xs`), each cell labelled
    with its value in the KPI's unit; cells without a finite mean are left blank and say
    why ("unbounded", or "-" without a value)."""
    figure = style.figure(1.2 * len(xs) + 3.0, 0.6 * len(ys) + 2.2)
    ax = figure.add_subplot()
    data = np.ma.masked_invalid(np.asarray(values, dtype=float))
    image = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis")
    for (row, col), value in np.ndenumerate(np.asarray(values, dtype=float)):
        text = _cell_text(kpi, value)
        bright = math.isfinite(value) and image.norm(value) > BRIGHT_CELL
        colour = "black" if bright else "white"  # readable on viridis' yellow end too
        ax.text(col, row, text, ha="center", va="center", color=colour, fontsize="small")
    ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.set_yticks(range(len(ys)), [str(y) for y in ys])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{axis_label(kpi).capitalize()}: mean of each variant")
    bar = figure.colorbar(image, ax=ax)
    bar.set_label(axis_label(kpi))
    if unit(kpi) == "%":
        bar.formatter = PercentFormatter(1.0, decimals=None)
    return figure


def compare_figure(rows: Sequence[tuple[str, Estimate, bool]], title: str) -> Figure:
    """Mean difference B − A of each KPI with its confidence interval, one panel per KPI
    (each on its own scale: a share and a count cannot share an axis) and a zero line;
    significant differences in colour, the others grey. Each KPI is named in the words of
    the metrics registry, with its difference's unit (a share's in points); `title` says
    what A and B are. The whisker goes from the interval's low to its high end, as the
    estimate gives them (within the differences the metric allows, so not always
    symmetric)."""
    figure = style.figure(7.5, 0.8 * len(rows) + 1.3)
    axes = figure.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, (name, diff, significant) in zip(axes, rows, strict=True):
        colour = ACCENT if significant else GREY
        if math.isfinite(diff.mean):
            k = 100.0 if unit(name) == "%" else 1.0  # a share's difference in points
            mean = k * diff.mean
            low, high = (k * v if math.isfinite(v) else mean for v in (diff.low, diff.high))
            ax.barh(0, mean, height=0.6, color=colour, alpha=0.5)
            whisker = [[mean - low], [high - mean]]
            ax.errorbar(mean, 0, xerr=whisker, fmt="o", color=colour, capsize=4, gid="interval")
            reach = max(abs(low), abs(high), abs(mean), 1e-12)
            ax.set_xlim(-1.15 * reach, 1.15 * reach)
        else:  # an infinite percentile on a side: no difference to draw
            ax.text(
                0.5,
                0.5,
                "undefined (infinite on a side)",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color=GREY,
                fontsize="small",
            )
            ax.set_xticks([])
        ax.axvline(0.0, color=style.BLACK, linewidth=0.8)
        ax.set_ylim(-0.5, 0.5)  # the name in the middle, drawn or not
        ax.set_yticks([0], [difference_label(name)])
        ax.tick_params(axis="x", labelsize="small")
        style.grid(ax, axis="x")
    figure.suptitle(title, fontsize="medium")
    axes[-1].set_xlabel("difference B − A (mean, 95 % CI); coloured: significant")
    return figure


DIFFERENCE_LABEL_WIDTH = 30  # characters of a KPI's name per line, left of its panel


def difference_label(metric: str) -> str:
    """A KPI's name (:func:`sim.measure.metrics.label`) and its difference's unit, a
    share's in percentage points: "share who got in (points)"."""
    what = "points" if unit(metric) == "%" else unit(metric)
    name = label(metric).removesuffix(f" ({unit(metric)})")
    return "\n".join(wrap_words(f"{name} ({what})", DIFFERENCE_LABEL_WIDTH))


def _cell_text(kpi: str, value: float) -> str:
    """A heatmap cell's value in the KPI's unit, as the tables write it: ``94.9 %``, not
    ``0.9486``; an infinite mean is "unbounded", a missing one "-"."""
    if math.isfinite(value):
        return value_text(kpi, value)
    return UNBOUNDED_TEXT if value > 0 else "-"


# ---------------------------------------------------------------- a sweep's figures


def sweep_figures(
    estimates: Sequence[tuple[tuple[tuple[str, Any], ...], dict[str, Estimate]]],
    targets: dict[str, float] | None = None,
) -> dict[str, Figure]:
    """The figures a sweep writes: each headline KPI against the first varied parameter
    (one line per combination of the others on a grid; points on a sample), and a
    heatmap of each headline KPI when exactly two parameters vary on a grid."""
    if not estimates or not estimates[0][0]:
        return {}
    points = [point for point, _ in estimates]
    paths = [path for path, _ in points[0]]
    axes = [list(dict.fromkeys(_key(p[i][1]) for p in points)) for i in range(len(paths))]
    is_grid = len(points) == math.prod(len(a) for a in axes)
    kpis = [k for k in HEADLINE if k in estimates[0][1]]
    figures = {}
    for kpi in kpis:
        lines, xticks = _lines(estimates, kpi, is_grid)
        target = (targets or {}).get(kpi)
        figure = kpi_figure(lines, paths[0], kpi, target=target, connect=is_grid, xticks=xticks)
        figures[f"kpi_{kpi.removeprefix('kpi.')}.png"] = figure
        if is_grid and len(paths) == 2:
            cells = {(_key(p[0][1]), _key(p[1][1])): e[kpi].mean for p, e in estimates}
            values = np.array([[cells[(x, y)] for x in axes[0]] for y in axes[1]], dtype=float)
            figures[f"heatmap_{kpi.removeprefix('kpi.')}.png"] = heatmap_figure(
                axes[0], axes[1], values, paths[0], paths[1], kpi
            )
    return figures


def _lines(estimates, kpi: str, is_grid: bool) -> tuple[list[Line], list[str] | None]:
    """Lines of `kpi` against the first parameter, grouped by the other parameters."""
    firsts = list(dict.fromkeys(_key(p[0][1]) for p, _ in estimates))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in firsts)
    position = {v: (v if numeric else i) for i, v in enumerate(firsts)}
    groups: dict[str, list[tuple[float, Estimate]]] = {}
    for point, ests in estimates:
        label = ", ".join(f"{path}={value}" for path, value in point[1:]) if is_grid else ""
        groups.setdefault(label, []).append((position[_key(point[0][1])], ests[kpi]))
    lines = []
    for label, items in groups.items():
        items.sort(key=lambda item: item[0])
        x = [i[0] for i in items]
        lines.append(Line(label, x, *([getattr(i[1], a) for i in items] for a in _BOUNDS)))
    return lines, None if numeric else [str(v) for v in firsts]


_BOUNDS = ("mean", "low", "high")


def _key(value: Any) -> Any:
    """A hashable stand-in for a parameter value (tables and lists become text)."""
    return str(value) if isinstance(value, list | dict) else value


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return np.where(np.isfinite(array), array, np.nan)


# ---------------------------------------------------------------- replications (run --reps)

REPS_KPI_GROUPS = tuple(
    tuple(m for m in REPS_FIGURE if kind_of(m) == kind) for kind in (SHARE, TIME, NUM)
)
"""The KPIs of kpis.png, one panel per kind: a share and a duration cannot share an axis."""
SERIES_BANDS = (  # per-bin people-level series of timeseries_ci.csv, in the dashboard's words
    ("intended", "meant to connect"),
    ("reached", "got in (in class)"),
    ("gave_up", "gave up"),
)
IN_CLASS_BAND = ("in_lesson", "in a lesson now (mean per {bin})")


def replications_figure(estimates: dict[str, Estimate], title: str) -> Figure:
    """The key KPIs of a ``--reps`` folder: each mean (dot) with its 95 % interval
    (whisker), one panel per unit, so that a reader sees at once which figures are
    pinned down and which are still loose.

    The whiskers go from the estimate's ``low`` to its ``high``, as the estimate gives
    them (however its interval was computed): not clipped, not made symmetric. A mean
    without an interval (one replication) is a dot alone, said in the title; an infinite
    mean (more people never got in than the percentile allows) is written, not drawn.
    """
    groups = [
        [m for m in group if m in estimates and estimates[m].n > 0] for group in REPS_KPI_GROUPS
    ]
    groups = [g for g in groups if g]
    heights = [len(g) + 0.8 for g in groups]
    figure = style.figure(7.5, 0.45 * sum(heights) + 1.4)
    axes = figure.subplots(len(groups), 1, squeeze=False, height_ratios=heights)[:, 0]
    alone = False  # a mean without an interval (one replication)
    for ax, group in zip(axes, groups, strict=True):
        rows = list(range(len(group)))[::-1]  # the first KPI on top
        for row, metric in zip(rows, group, strict=True):
            est = estimates[metric]
            if not math.isfinite(est.mean):  # written where the dot would be
                where = blended_transform_factory(ax.transAxes, ax.transData)
                text = missing_mean_text(metric, est.unbounded, est.n)
                ax.text(0.5, row, text, transform=where, ha="center", va="center", color=GREY)
                continue
            if math.isfinite(est.low) and math.isfinite(est.high):
                ends = [est.low, est.high]
                ax.plot(ends, [row, row], color=ACCENT, lw=2.0, marker="|", ms=10, gid="interval")
            else:
                alone = True
            ax.plot([est.mean], [row], marker="o", ms=7, color=style.BLACK, ls="none")
        ax.set_yticks(rows, [label(m) for m in group])
        ax.set_ylim(-0.7, len(group) - 0.3)
        ax.set_xlabel(_unit_label(group[0]))
        style.metric_axis(ax, group[0], which="x")
        style.grid(ax, axis="x")
    if alone:
        title += " (a dot alone: too few replications for an interval)"
    figure.suptitle(title)
    return figure


def _unit_label(metric: str) -> str:
    what = unit(metric)
    return {"%": "share (%)", "s": "time (s)"}.get(what, f"{what} (count)")


def series_bands_figure(table: dict[str, np.ndarray], title: str) -> Figure:
    """The people-level series of ``timeseries_ci.csv`` per time bin (its ``bin_s``
    column; a table of older versions, without it, has one-minute bins): each mean as a
    line and its 95 % band (the ``low``-``high`` columns as written, not clipped), on a
    clock axis; people in a lesson apart, below (a level, not a flow per bin), where some
    journey has a lesson: elsewhere it would be a flat zero that reads as nobody in.

    `title` says once what every line and band is (the mean, the 95 % band); the legend
    names the series only, so that it stays narrow beside the data. Without a band (one
    replication) the legend's title says so."""
    name, text = IN_CLASS_BAND
    lessons = bool(np.nan_to_num(np.asarray(table[f"{name}.mean"], dtype=float)).any())
    figure = style.figure(9.0, 6.0 if lessons else 4.0)
    if lessons:
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    else:
        top = bottom = figure.subplots(1, 1)
    t, width = bin_starts(table)
    colours = (GREY, OKABE_ITO[0], OKABE_ITO[5])
    banded = False
    for (series, words), colour in zip(SERIES_BANDS, colours, strict=True):
        banded |= _band(top, t + width / 2, table, series, words, colour)
    top.set_ylabel(f"people per {bin_noun(width)} ({per_bin('people', width)})")
    top.set_title(title)
    legend_title = None if banded else NO_BAND
    top.legend(title=legend_title, **style.LEGEND_OUTSIDE)
    if lessons:
        _band(bottom, t + width / 2, table, name, text.format(bin=bin_noun(width)), OKABE_ITO[2])
        bottom.set_ylabel("people in a lesson (people)")
        bottom.legend(title=legend_title, **style.LEGEND_OUTSIDE)
    for ax in {top, bottom}:
        style.grid(ax)
    end = t[-1] + width if len(t) else float(width)
    style.clock_axis(bottom, float(t[0]) if len(t) else 0.0, float(end))
    bottom.set_xlabel("clock time (HH:MM)")
    return figure


NO_BAND = "mean only: one replication"


def bin_starts(table: dict[str, np.ndarray]) -> tuple[np.ndarray, int]:
    """The bins' starts (s since midnight) and width (s) of a ``timeseries_ci.csv``;
    a table of older versions has ``minute_start_s`` and one-minute bins."""
    if "bin_start_s" not in table:
        return np.asarray(table["minute_start_s"], dtype=float), 60
    widths = np.asarray(table["bin_s"], dtype=float)
    return np.asarray(table["bin_start_s"], dtype=float), int(widths[0]) if len(widths) else 60


def _band(ax, x, table, name: str, text: str, colour: str) -> bool:
    """Draw one series' mean at `x` (each bin's middle) and, where it has one, its band;
    True if it has one."""
    mean = np.asarray(table[f"{name}.mean"], dtype=float)
    low = np.asarray(table[f"{name}.low"], dtype=float)
    high = np.asarray(table[f"{name}.high"], dtype=float)
    banded = bool(np.isfinite(low).any())  # one replication: no band
    ax.plot(x, mean, color=colour, lw=1.6, label=text)
    if banded:
        ax.fill_between(x, low, high, color=colour, alpha=0.2, lw=0, gid="band")
    return banded


def read_series_csv(text: str) -> dict[str, np.ndarray]:
    """``timeseries_ci.csv``'s numeric columns (empty cells are NaN), by header."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(text)))
    names = [n for n in (rows[0].keys() if rows else []) if n != "clock"]
    return {n: np.array([float(r[n]) if r[n] else math.nan for r in rows]) for n in names}
