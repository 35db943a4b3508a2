"""The pictures of an options study: each option against the target, and the morning
over clock time with and without each option.

``options``: one row per option (the baseline on top, in grey), the mean of the target
metric with its 95 % confidence interval, the target as a dashed line, and the verdict
written beside each bar (colour is never the only cue); a second panel gives the
longest time any service was unavailable, the plainest measure of "it broke".

``timeline``: people in class over the morning (mean over replications, with its band),
the baseline in black and each option in colour, class starts and attack windows
marked: the gap between two lines is the harm an option avoids, and where it opens
tells when.

Built on :class:`~matplotlib.figure.Figure` directly (no pyplot state); never saved here.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from scipy import stats

from sim.config import clock_to_s
from sim.engine.dists import from_spec
from sim.experiments.frontier import has_costs
from sim.measure.metrics import STUDY_METRIC, WORST_UNAVAILABLE, unit
from sim.measure.metrics import metric as metric_info
from sim.outputs.plots import style
from sim.outputs.plots.dashboard import (
    lesson_starts_s,
    mark_class_starts,
    shade_attacks,
)
from sim.outputs.plots.style import (
    BLACK,
    GREY,
    LEGEND_OUTSIDE,
    OKABE_ITO,
    VERDICT_COLOURS,
)

if TYPE_CHECKING:
    from sim.config.scenario import Scenario
    from sim.experiments.options import OptionResult, Study

VERDICT_TEXT = {"holds": "meets target", "fails": "misses target", "unsure": "unsure"}
INTENDED_LABEL = "meant to connect by then (baseline)"


def study_figures(study: Study, results: Sequence[OptionResult]) -> dict[str, Figure]:
    """The study's figures by file stem (``frontier`` with costs only)."""
    metric = study.target.metric if study.target else STUDY_METRIC
    target = study.target.value if study.target else None
    drawn = {
        "options": options_figure(results, metric, target),
        "timeline": timeline_figure(results, study.baseline),
    }
    if has_costs(results):  # a scenario with [costs]: the cost-risk frontier
        from sim.outputs.plots.frontier import frontier_figure

        drawn["frontier"] = frontier_figure(study, results)
    return drawn


def options_figure(
    results: Sequence[OptionResult], metric: str, target: float | None = None
) -> Figure:
    """Two panels sharing the option rows (a forest plot): `metric` with its interval
    and the target, and the longest unavailability of any service. Each row's label
    says its verdict, so the picture reads without colour."""
    rows = list(results)
    height = 0.6 * len(rows) + 1.8
    figure = style.figure(10.0, height)
    left, right = figure.subplots(1, 2, sharey=True, width_ratios=(3, 2))
    y = np.arange(len(rows))[::-1]  # first row (the baseline) on top
    _points(left, rows, y, metric)
    if target is not None:
        style.target_line(left, target, metric=metric, vertical=True)
        left.legend(loc="lower left", fontsize="small", framealpha=0.9)
    left.set_yticks(y, [_row_label(r) for r in rows])
    left.set_xlabel(f"mean and 95 % CI ({unit(metric)})")
    style.metric_axis(left, metric, which="x")
    left.set_title(textwrap.fill(_label(metric).capitalize(), 40))
    _points(right, rows, y, WORST_UNAVAILABLE)
    right.set_xlim(left=0.0)
    right.set_xlabel("mean and 95 % CI (min)")
    right.set_title("Longest unavailability\nof any service")
    for ax in (left, right):
        style.grid(ax, axis="x")
        ax.set_ylim(-0.6, len(rows) - 0.4)
    return figure


def _missing(metric: str) -> str:
    """What a missing or infinite mean of `metric` means, in words."""
    text = metric_info(metric).none_text
    return "undefined (infinite)" if text == "undefined" else text


def _points(ax, rows: Sequence[OptionResult], y: np.ndarray, metric: str) -> None:
    """Mean and 95 % interval of `metric` per row (the estimates' own bounds, which stay
    within what the metric can be: :class:`sim.experiments.execution.Estimate`); a mean without an
    interval is a bare dot; undefined means said in words."""
    for r, yy in zip(rows, y, strict=True):
        e = r.estimates.get(metric)
        if e is None or not math.isfinite(e.mean):
            ax.annotate(
                _missing(metric),
                (0.02, yy),
                xycoords=("axes fraction", "data"),
                va="center",
                fontsize="small",
                color=GREY,
            )
            continue
        colour = GREY if r.name == "baseline" else _colour(r)
        if e.has_interval:
            ax.plot([e.low, e.high], [yy, yy], color=colour, lw=2.5, solid_capstyle="butt")
        ax.plot(e.mean, yy, "o", color=colour, ms=8, mec=BLACK, mew=0.6)


def _row_label(r: OptionResult) -> str:
    if r.check is None:
        return r.name
    return f"{r.name}\n({VERDICT_TEXT[r.check.verdict]})"


def _colour(r: OptionResult) -> str:
    return VERDICT_COLOURS[r.check.verdict] if r.check is not None else OKABE_ITO[0]


def timeline_figure(results: Sequence[OptionResult], baseline: Scenario) -> Figure:
    """People who got in (cumulative, mean over replications with a 95 % band) per
    option, against the people who meant to connect by then in the baseline."""
    figure = style.figure(10.0, 4.6)
    ax = figure.add_subplot()
    for i, r in enumerate(results):
        if not r.series:
            continue
        t = np.asarray(r.series[0]["bin_start_s"], dtype=float) + r.series[0]["bin_s"]
        if i == 0:
            intended = np.cumsum([s["intended"] for s in r.series], axis=1).mean(axis=0)
            ax.plot(t, intended, color=GREY, ls="-.", lw=1.4, zorder=5, label=INTENDED_LABEL)
        through = np.cumsum([s["reached"] for s in r.series], axis=1)
        colour = BLACK if i == 0 else OKABE_ITO[(i - 1) % len(OKABE_ITO)]
        dashes = "-" if i == 0 else ("-", "--", ":")[(i - 1) // len(OKABE_ITO) % 3]
        mean = through.mean(axis=0)
        ax.plot(t, mean, color=colour, ls=dashes, lw=2.2 if i == 0 else 1.5, label=r.name)
        n = len(through)
        if n > 1:
            half = stats.t.ppf(0.975, n - 1) * through.std(axis=0, ddof=1) / math.sqrt(n)
            low = np.maximum(mean - half, 0.0)  # people who got in: never below 0
            ax.fill_between(t, low, mean + half, color=colour, alpha=0.15, lw=0)
    _mark_morning(ax, baseline)
    style.clock_axis(ax, clock_to_s(baseline.start), clock_to_s(baseline.end))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("clock time (HH:MM)")
    ax.set_ylabel("people (cumulative count)")
    ax.set_title("People who got in, with and without each option (mean, 95 % band)")
    style.grid(ax)
    ax.legend(**LEGEND_OUTSIDE)
    return figure


def _mark_morning(ax, scenario: Scenario) -> None:
    """Class starts (dashed) and the windows in which attacks were scheduled (shaded)."""
    mark_class_starts(ax, lesson_starts_s(scenario.flat), labelled=True)  # platforms
    shade_attacks(ax, attack_windows(scenario), labelled=True)


def attack_windows(scenario: Scenario) -> list[tuple[float, float]]:
    """When attacks can happen: each explicit wave, and the span of each generator, from
    its first start to its last plus a mean duration (its waves are drawn per
    replication, so only the span is common to all of them)."""
    windows = [
        (clock_to_s(a.start), clock_to_s(a.start) + 60.0 * a.duration_min) for a in scenario.attacks
    ]
    windows += [
        (clock_to_s(g.first), clock_to_s(g.last) + from_spec(g.duration).mean)
        for g in scenario.attack_generators
    ]
    return sorted(windows)


def _label(metric: str) -> str:
    from sim.outputs.report.html import label

    return label(metric)


def _is_share(metric: str) -> bool:
    return "share" in metric
