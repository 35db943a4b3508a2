"""The cost-risk frontier of an options study (``frontier.png``): what each option
costs against what it achieves.

One point per option (the baseline too): its mean cost (x, :data:`STUDY_COST`) and the
mean of the study's metric (y: the target's), each with its 95 % confidence interval as
an error bar. Each point is numbered, and a key beside the plot names it. The
Pareto-efficient options (:mod:`sim.experiments.frontier`: no other is both cheaper and
better) are filled, named in bold and joined by the frontier line; the dominated ones
are hollow and grey. The target is a dashed line, and the cheapest option that meets
it is ringed (shape and weight say it all: colour is never the only cue). An option
whose metric is not a finite number (an unbounded percentile: too many never got in)
cannot be placed: the key says so.

Built on :class:`~matplotlib.figure.Figure` directly (no pyplot state); never saved here.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.config.scale import scale_words
from sim.experiments.frontier import cheapest_meeting_target, efficient_options, study_metric
from sim.measure import metrics
from sim.measure.metrics import STUDY_COST, axis_label
from sim.outputs.plots import style
from sim.outputs.plots.style import ACCENT, BLACK, GREY, OTHER_COLOUR

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sim.experiments.execution import Estimate
    from sim.experiments.options import OptionResult, Study

LABEL_WIDTH = 28  # characters per line of a point's label


def frontier_figure(study: Study, results: Sequence[OptionResult]) -> Figure:
    """Cost against the study's metric, one point per option with both intervals; the
    points are numbered, and a key beside the plot names them (names are long, and
    options of similar cost and effect would write over each other's)."""
    metric, _ = study_metric(study)
    efficient = set(efficient_options(study, results))
    scale = study.baseline.scale or 1.0
    results = full_size(results, scale)
    cheapest = cheapest_meeting_target(results)
    figure = style.figure(10.5, 6.0)
    ax, key = figure.subplots(1, 2, width_ratios=(3.0, 1.1))
    with metrics.priced_in(metrics.currency_of(study.baseline)):
        placed = _points(ax, results, metric, efficient)
        _frontier_line(ax, results, metric, efficient)
        if cheapest is not None:
            _ring(ax, cheapest, metric)
        if study.target is not None:
            style.target_line(ax, study.target.value, metric=metric)
        whole = f", full size (the run's / {scale:g})" if scale < 1 else ""
        ax.set_xlabel(f"{axis_label(STUDY_COST)}{whole}: mean and 95 % CI")
        ax.set_ylabel(textwrap.fill(f"{axis_label(metric)}: mean and 95 % CI", 60))
    style.metric_axis(ax, metric)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: style.plain_number(v)))
    scaled = scale_words(study.baseline.scale)  # a scaled platform's costs: said so
    ax.set_title(f"Cost and effect of each option {scaled}".strip())
    style.grid(ax)
    ax.legend(loc="best", fontsize="small", framealpha=0.9)
    _key(key, results, placed, efficient)
    return figure


def full_size(results: Sequence[OptionResult], scale: float) -> list[OptionResult]:
    """The options with their costs for the whole platform: a study run at a scale pays
    for that share of the servers and of the defences (sim.measure.costs), so its costs
    are divided by it; the order of the options and the frontier do not change."""
    if scale >= 1:
        return list(results)
    return [
        replace(r, estimates={**r.estimates, STUDY_COST: _divided(r.estimates[STUDY_COST], scale)})
        if STUDY_COST in r.estimates
        else r
        for r in results
    ]


def _divided(e: Estimate, by: float) -> Estimate:
    return replace(e, mean=e.mean / by, half_width=e.half_width / by)


def _points(
    ax: Axes, results: Sequence[OptionResult], metric: str, efficient: set[str]
) -> dict[str, int]:
    """Each option's point with its two error bars and its number; returns the numbers
    of the options placed (one whose cost or metric is not a finite number is not)."""
    placed, labelled = {}, {"efficient": False, "dominated": False}
    for number, r in enumerate(results, start=1):
        cost, value = r.estimates.get(STUDY_COST), r.estimates.get(metric)
        if not (_finite(cost) and _finite(value)):
            continue
        placed[r.name] = number
        good = r.name in efficient
        kind = "efficient" if good else "dominated"
        ax.errorbar(
            cost.mean,
            value.mean,
            xerr=_bar(cost),
            yerr=_bar(value),
            fmt="o",
            ms=9 if good else 7,
            color=ACCENT if good else OTHER_COLOUR,
            mfc=ACCENT if good else "white",
            mec=BLACK if good else GREY,
            ecolor=ACCENT if good else OTHER_COLOUR,
            elinewidth=1.4,
            capsize=3,
            zorder=4 if good else 3,
            label=None if labelled[kind] else _legend(kind),
        )
        labelled[kind] = True
        ax.annotate(
            str(number),
            (cost.mean, value.mean),
            xytext=(7, 5),
            textcoords="offset points",
            fontweight="bold" if good else "normal",
            color=BLACK if good else GREY,
            zorder=5,
        )
    return placed


def _key(
    ax: Axes, results: Sequence[OptionResult], placed: dict[str, int], efficient: set[str]
) -> None:
    """The points' numbers and names, the efficient ones in bold; the options that
    could not be placed said so."""
    ax.set_axis_off()
    lines = [("options (bold: on the frontier)", False)]
    for number, r in enumerate(results, start=1):
        name = textwrap.fill(r.name, LABEL_WIDTH, subsequent_indent="    ")
        if r.name not in placed:
            name += "\n    (not placed: its metric is\n    not a finite number)"
        lines.append((f"{number}  {name}", r.name in efficient))
    y = 1.0
    for text, bold in lines:
        ax.text(
            0.0,
            y,
            text,
            transform=ax.transAxes,
            va="top",
            fontsize="small",
            fontweight="bold" if bold else "normal",
            color=BLACK if bold else GREY,
        )
        y -= 0.032 * (text.count("\n") + 1) + 0.025


def _frontier_line(
    ax: Axes, results: Sequence[OptionResult], metric: str, efficient: set[str]
) -> None:
    """The efficient options joined in order of cost: the frontier."""
    points = sorted(
        (r.estimates[STUDY_COST].mean, r.estimates[metric].mean)
        for r in results
        if r.name in efficient
    )
    if len(points) > 1:
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, color=ACCENT, lw=1.2, ls="-", alpha=0.6, zorder=2, label="frontier")


def _ring(ax: Axes, r: OptionResult, metric: str) -> None:
    ax.plot(
        r.estimates[STUDY_COST].mean,
        r.estimates[metric].mean,
        "o",
        ms=18,
        mfc="none",
        mec=BLACK,
        mew=1.5,
        zorder=6,
        label="cheapest that meets the target",
    )


def _legend(kind: str) -> str:
    if kind == "efficient":
        return "no other option cheaper and better (Pareto-efficient)"
    return "another option is cheaper and no worse, or better and no dearer"


def _bar(e: Estimate) -> list[list[float]] | None:
    """An error bar from the estimate's own interval (within the metric's range)."""
    if not e.has_interval:
        return None
    return [[e.mean - e.low], [e.high - e.mean]]


def _finite(e: Estimate | None) -> bool:
    return e is not None and math.isfinite(e.mean)
