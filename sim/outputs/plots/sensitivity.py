"""The tornado chart of a sensitivity analysis: one bar per uncertain parameter, the one
that matters most on top.

Morris: each parameter's mu* (how much the KPI moves, on average, across the
parameter's range), with its 95 % bootstrap interval as a whisker, and sigma (the
spread of the effects: interactions or a bent response) as a lighter bar beside it.
Sobol: S1 (the share of the KPI's variance the parameter explains alone) and ST (with
its interactions), each with its interval. Labels are the parameters' short names
(:func:`sim.config.uncertain.parameter_label`) and the KPI's words from the registry.

Drawn from sensitivity.json's data (:func:`sim.experiments.sensitivity.sensitivity_data`),
so a saved analysis can be drawn again.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sim.measure.metrics import kind_of, label, unit
from sim.outputs.plots import style
from sim.outputs.plots.style import ACCENT, OTHER_COLOUR

LABEL_WIDTH = 34  # characters of a parameter's label per line
BARS = {
    "morris": (("mu_star", "mu_star_conf", "mu* (mean effect, step of 2/3 range)", ACCENT),
               ("sigma", None, "sigma (spread of the effects)", OTHER_COLOUR)),
    "sobol": (("ST", "ST_conf", "ST (total, with interactions)", ACCENT),
              ("S1", "S1_conf", "S1 (first order, alone)", OTHER_COLOUR)),
}  # fmt: skip


def tornado_figure(data: dict[str, Any], metric: str | None = None) -> Figure:
    """The chart of `metric` (default: the first analysed) in sensitivity.json's `data`."""
    entry = next(m for m in data["metrics"] if metric in (None, m["metric"]))
    method = data["method"]
    labels = {p["key"]: p["label"] for p in data["parameters"]}
    keys = list(reversed(entry["ranking"]))  # barh draws from the bottom: largest on top
    figure = style.figure(8, 1.6 + 0.55 * len(keys))
    ax = figure.add_subplot()
    y = np.arange(len(keys))
    height = 0.38
    name = entry["metric"]
    factor = 100.0 if method == "sobol" or kind_of(name) == "share" else 1.0  # % or points
    for offset, (index, conf, words, colour) in zip(
        (height / 2, -height / 2), BARS[method], strict=True
    ):
        values = np.array([_number(entry["indices"][k].get(index)) for k in keys]) * factor
        halves = np.array([_number(entry["indices"][k].get(conf)) for k in keys]) * factor
        # an index is never below 0: its whisker stops there (SALib's is symmetric)
        below = np.minimum(halves, np.maximum(values, 0.0))
        ax.barh(
            y + offset,
            np.maximum(values, 0.0),
            height=height,
            color=colour,
            xerr=[below, halves] if conf else None,
            error_kw={"ecolor": style.BLACK, "capsize": 3, "linewidth": 1},
            label=words,
        )
    ax.set_yticks(y, [textwrap.fill(labels.get(k, k), LABEL_WIDTH) for k in keys])
    ax.set_ylim(-0.7, len(keys) - 0.3)
    ax.axvline(0, color=style.GREY, linewidth=0.8)
    style.grid(ax, "x")
    if method == "sobol":
        ax.set_xlabel(f"share of the variance of {label(name)} (%, 95 % interval)")
        ax.set_xlim(0, max(100.0, ax.get_xlim()[1]))
    else:
        ax.set_xlabel(_effect_axis(name))
        ax.set_xlim(left=0)
    scale = f", scale {data['scale']:g}" if data.get("scale", 1) != 1 else ""
    ax.set_title(
        f"What moves {label(name)}\n{method.capitalize()}, {data['points']} points "
        f"(each run once, seed {data['seed']}{scale})",
        fontsize="medium",
    )
    ax.legend(loc="lower right", fontsize="small")
    return figure


def _effect_axis(metric: str) -> str:
    """The axis of Morris' effects: a share's effect is in percentage points."""
    if kind_of(metric) == "share":
        return f"effect on {label(metric)} (percentage points, 95 % interval)"
    return f"effect on {label(metric)} ({unit(metric)}, 95 % interval)"


def _number(value: float | None) -> float:
    return 0.0 if value is None else float(value)
