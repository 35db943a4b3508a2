"""A one-page dashboard of one run: arrivals, latency, failures and people in class.

Everything is drawn on a :class:`matplotlib.figure.Figure` built directly (never through
pyplot), so plotting has no global state, works without a display and never writes a
file: the caller decides where (and whether) the figure is saved.

All panels share one clock-time x axis and mark each class start, because the story of a
morning is told relative to those instants: the surge just before, the failures during,
the class filling up after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MultipleLocator

from sim.config import clock_to_s
from sim.model.population import class_step_of
from sim.monitor import FAIL_CAUSES, quantile_from_histogram

if TYPE_CHECKING:
    from sim.runner import RunResult

# Okabe-Ito: distinguishable with the common colour-vision deficiencies. Services take
# the first colours; failure causes take vermillion, sky blue and black, which no service
# gets unless there are more than four of them.
BLACK = "#000000"
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow (last: weak on white)
)
CAUSE_COLOURS = {
    "timeout": "#D55E00",
    "rejected": "#56B4E9",
    "error": "#CC79A7",
    "blocked": "#009E73",
    "quota": "#E69F00",
    "full": BLACK,
}
GREY = "#666666"
TICK_STEP_S = 1800.0  # one x tick every 30 minutes
PERCENTILES = ((0.50, "p50", "-"), (0.95, "p95", "-."), (0.99, "p99", ":"))
LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": "small"}
CLASS_START_LABEL = "class start"


def hhmm(seconds: float, _pos: object = None) -> str:
    """``"HH:MM"`` for seconds since midnight; a tick formatter, so it takes a position."""
    minutes = round(seconds / 60.0)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def clock_axis(ax: Axes, result: RunResult) -> None:
    """Span the run on the x axis with a HH:MM tick every 30 min.

    Readers think in clock time ("the 09:00 surge"), not in seconds since midnight.
    """
    ax.set_xlim(result.scenario.start_s, result.scenario.end_s)
    ax.xaxis.set_major_locator(MultipleLocator(TICK_STEP_S))
    ax.xaxis.set_major_formatter(FuncFormatter(hhmm))


def class_starts_s(result: RunResult) -> list[float]:
    """Distinct class starts (s since midnight) of cohorts whose journey has a class.

    A cohort without a class step (parents) still has a ``class_starts`` anchor for its
    connect times, but no class begins then, so marking it would mislead.
    """
    scenario = result.scenario
    starts = {
        clock_to_s(start)
        for cohort in scenario.cohorts
        if class_step_of(scenario, cohort.journey) is not None
        for start in cohort.class_starts
    }
    return sorted(starts)


def mark_class_starts(ax: Axes, starts: list[float], labelled: bool = False) -> None:
    """Dashed grey verticals at the class starts; labelled only where the legend wants it."""
    for i, start in enumerate(starts):
        label = CLASS_START_LABEL if labelled and i == 0 else "_nolegend_"
        ax.axvline(start, color=GREY, linestyle="--", linewidth=1.0, label=label, zorder=1)


def minute_mids(result: RunResult) -> np.ndarray:
    """Middle of each per-minute bin: a per-minute count is plotted where it happened."""
    return result.minute_start_s + 30.0


def service_colours(result: RunResult) -> dict[str, str]:
    """One fixed colour per service, so a service looks the same in every panel."""
    return {name: OKABE_ITO[i % len(OKABE_ITO)] for i, name in enumerate(result.services)}


def _arrivals_panel(ax: Axes, result: RunResult, colours: dict[str, str]) -> None:
    """People arriving versus requests reaching each service: the load the platform sees."""
    x, counters = minute_mids(result), result.counters
    ax.plot(x, counters["attempts"], color=GREY, lw=1.2, label="attempts, all steps (requests/min)")
    for name, series in result.services.items():
        ax.plot(x, series.arrivals, color=colours[name], lw=1.0, label=f"{name} (requests/min)")
    # Dotted and on top: the first service usually sees exactly the intended connects.
    ax.plot(
        x,
        counters["intended"],
        color=BLACK,
        lw=1.6,
        ls=":",
        zorder=3,
        label="intended connects (people/min)",
    )
    ax.set_title("Arrivals per minute")
    ax.set_ylabel("arrivals\n(people/min, requests/min)")


def _latency_panel(ax: Axes, result: RunResult, colours: dict[str, str]) -> None:
    """Response-time percentiles per service; empty minutes stay gaps (nan), not zeros."""
    x = minute_mids(result)
    for name, series in result.services.items():
        for q, _, style in PERCENTILES:
            values = quantile_from_histogram(series.latency_hist, q)
            ax.plot(x, values, color=colours[name], linestyle=style, lw=1.0)
    ax.set_yscale("log")
    ax.set_title("Response time percentiles per service")
    ax.set_ylabel("response time (s)")
    # Colour says which service, line style which percentile: 4 + 3 entries, not 4 x 3.
    handles = [Line2D([], [], color=c, lw=1.5, label=n) for n, c in colours.items()]
    handles += [Line2D([], [], color=BLACK, ls=s, lw=1.0, label=p) for _, p, s in PERCENTILES]
    ax.legend(handles=handles, **LEGEND)


def failure_rates(result: RunResult) -> dict[str, np.ndarray]:
    """Failed attempts by cause as % of that minute's attempts (0 where none were made)."""
    counters = result.counters
    attempts = counters["attempts"].astype(float)
    rates = {}
    for cause in FAIL_CAUSES:
        failed = counters[f"fail_{cause}"].astype(float)
        rates[cause] = 100.0 * np.divide(
            failed, attempts, out=np.zeros_like(failed), where=attempts > 0
        )
    return rates


def _failures_panel(ax: Axes, result: RunResult) -> Axes:
    """Failure rates (left, %) and people giving up (right, people/min) on a twin axis.

    The two have different units, so they get different axes; their legend is merged.
    """
    x = minute_mids(result)
    twin = ax.twinx()
    # Bars, pale and behind: counts of people, unlike the rate lines drawn over them.
    twin.bar(
        x,
        result.counters["gave_up"],
        width=60.0,
        color="#BBBBBB",
        edgecolor="none",
        label="gave up (people/min, right axis)",
    )
    ax.set_zorder(twin.get_zorder() + 1)  # the rate lines over the bars ...
    ax.patch.set_visible(False)  # ... without hiding them behind the axes background
    for cause, rate in failure_rates(result).items():
        ax.plot(x, rate, color=CAUSE_COLOURS[cause], lw=1.2, label=f"{cause} (% of attempts)")
    ax.set_ylim(bottom=0.0)
    ax.set_title("Failed attempts by cause, and people giving up")
    ax.set_ylabel("failed attempts (% of attempts)")
    twin.set_ylim(bottom=0.0)
    twin.set_ylabel("gave up (people/min)")
    handles, labels = ax.get_legend_handles_labels()
    twin_handles, twin_labels = twin.get_legend_handles_labels()
    legend = dict(LEGEND, bbox_to_anchor=(1.08, 1.0))  # clear the twin's tick labels
    ax.legend(handles + twin_handles, labels + twin_labels, **legend)
    return twin


def _occupancy_panel(ax: Axes, result: RunResult) -> None:
    """People in class against everyone who meant to be there by then: the gap is the harm."""
    intended = np.cumsum(result.counters["intended"])
    ax.plot(
        result.minute_start_s + 60.0,
        intended,
        color=BLACK,
        lw=1.2,
        ls="-.",
        label="cumulative intended connects (people)",
    )
    ax.plot(
        minute_mids(result),
        result.in_class,
        color=OKABE_ITO[0],
        lw=1.8,
        label="in class (people, mean per minute)",
    )
    ax.set_ylim(bottom=0.0)
    ax.set_title("People in class")
    ax.set_ylabel("people (count)")
    ax.set_xlabel("clock time (HH:MM)")


def dashboard(result: RunResult) -> Figure:
    """The four-panel dashboard of one run, ready for ``fig.savefig``."""
    fig = Figure(figsize=(12, 11), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    colours = service_colours(result)
    _arrivals_panel(axes[0], result, colours)
    _latency_panel(axes[1], result, colours)
    _failures_panel(axes[2], result)
    _occupancy_panel(axes[3], result)
    starts = class_starts_s(result)
    for i, ax in enumerate(axes):
        mark_class_starts(ax, starts, labelled=i == 0)
        clock_axis(ax, result)
        ax.grid(True, which="major", color="#dddddd", lw=0.6)
        if ax.get_legend() is None:
            ax.legend(**LEGEND)
    title = f"Scenario {result.scenario.name!r}: seed {result.seed}"
    if result.replication:
        title += f", replication {result.replication}"
    fig.suptitle(title, fontsize="large")
    return fig
