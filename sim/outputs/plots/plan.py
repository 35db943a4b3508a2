"""The picture of a capacity plan: what each probe measured against the target.

One point per probed value (its mean, with the one-sided confidence bounds the verdict
was made on as an error bar), coloured by verdict, the target as a horizontal line and
the answer as a vertical one. Read it to judge the monotonicity the search assumed and
how close the neighbours of the answer came to the target. Probes whose mean is
infinite (a percentile of people who never got in) sit on the top edge as triangles.

The function takes the plan as plain data (``plan.json``, see
:func:`sim.experiments.plan.plan_data`) so a saved plan can be drawn again; like
:mod:`sim.outputs.plots.dashboard` it builds a :class:`~matplotlib.figure.Figure`
directly and never writes a file.
"""

from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.measure.metrics import axis_label
from sim.outputs.plots import style
from sim.outputs.plots.style import ACCENT, GREY, VERDICT_COLOURS

ANSWER_COLOUR = ACCENT
MAX_TICKS = 12
INFINITE_LABEL = "mean infinite (too many never got in)"


def plan_figure(data: dict[str, Any]) -> Figure:
    """Mean and bounds of the metric at each probed value, the target, the answer."""
    target = data["target"]
    probes = sorted(data["probes"], key=lambda p: p["value"])
    figure = style.figure(8, 4.8)
    ax = figure.add_subplot()
    finite = [p for p in probes if p["mean"] is not None]
    top = _top(finite, target["value"])
    for verdict, colour in VERDICT_COLOURS.items():
        mine = [p for p in finite if p["verdict"] == verdict]
        if not mine:
            continue
        means = [p["mean"] for p in mine]
        below = [p["mean"] - (p["low"] if p["low"] is not None else p["mean"]) for p in mine]
        above = [(p["high"] if p["high"] is not None else top) - p["mean"] for p in mine]
        ax.errorbar(
            [p["value"] for p in mine],
            means,
            yerr=[below, above],
            fmt="o",
            color=colour,
            capsize=4,
            label=verdict,
        )
    for p in probes:
        y = top if p["mean"] is None else p["mean"]
        ax.annotate(
            f"n={p['n']}",
            (p["value"], y),
            xytext=(6, 4),
            textcoords="offset points",
            fontsize="x-small",
            color=GREY,
        )
    infinite = [p for p in probes if p["mean"] is None]
    if infinite:
        ax.plot(
            [p["value"] for p in infinite],
            [top] * len(infinite),
            "^",
            color=VERDICT_COLOURS["fails"],
            label=INFINITE_LABEL,
        )
    style.target_line(ax, target["value"], metric=target["metric"])
    if data["answer"] is not None:
        ax.axvline(
            data["answer"], color=ANSWER_COLOUR, linestyle=":", label=f"answer = {data['answer']}"
        )
    lo, hi = data["range"]
    margin = 0.05 * ((hi - lo) or 1)
    ax.set_xlim(lo - margin, hi + margin)  # the whole range searched, probed or not
    ticks = sorted({lo, hi, *(p["value"] for p in probes)})
    if len(ticks) <= MAX_TICKS:  # the values probed, where the evidence is
        ax.set_xticks(ticks)
    elif all(isinstance(v, int) for v in (lo, hi)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"{data['parameter']} (searched {lo}..{hi})")
    ax.set_ylabel(axis_label(target["metric"]))
    style.metric_axis(ax, target["metric"])
    confidence = data["confidence"]
    verdict = f"{data['answer']}" if data["found"] else "none in range"
    ax.set_title(
        f"{data.get('scenario', '')}: smallest value with {data['target_text']} "
        f"at {confidence * 100:g} % confidence: {verdict}",
        fontsize="medium",
    )
    ax.legend(fontsize="small", loc="best")
    style.grid(ax)
    return figure


def _top(finite: list[dict[str, Any]], target: float) -> float:
    """A height above every finite mean and bound, for infinite means and open bars."""
    heights = [target]
    for p in finite:
        heights += [v for v in (p["mean"], p["high"]) if v is not None and math.isfinite(v)]
    highest = max(heights)
    return highest + 0.1 * (abs(highest) or 1.0)
