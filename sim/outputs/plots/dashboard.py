"""A one-page dashboard of one run: arrivals, latency, servers up, failures, people in class.

Everything is drawn on a :class:`matplotlib.figure.Figure` built directly (never through
pyplot), so plotting has no global state, works without a display and never writes a
file: the caller decides where (and whether) the figure is saved.

All panels share one clock-time x axis and mark each class start, because the story of a
morning is told relative to those instants: the surge just before, the failures during,
the class filling up after. Attack windows are shaded in every panel for the same reason:
an effect (slow answers, crashes, failures) reads best next to its cause. A national
morning has two dozen services: only the six in most trouble get a line of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sim.config import clock_to_s
from sim.config.scale import scale_words
from sim.engine.monitor import FAIL_CAUSES, quantile_from_histogram
from sim.measure import metrics
from sim.measure.kpis import service_summary
from sim.model.population import class_step_of
from sim.outputs.plots.style import (
    ATTACK_COLOUR,
    BLACK,
    GREY,
    LEGEND_OUTSIDE,
    OKABE_ITO,
    OTHER_COLOUR,
    grid,
    plain_log_axis,
)
from sim.outputs.plots.style import clock_axis as style_clock_axis
from sim.outputs.plots.style import figure as new_figure
from sim.outputs.plots.style import hhmm as hhmm  # the tick formatter, where it always was

if TYPE_CHECKING:
    from sim.config.scenario import Scenario
    from sim.simulation.runner import RunResult

# Colours from the house style (sim.outputs.plots.style). Services take the first Okabe-Ito
# colours; failure causes take vermillion, sky blue and black, which no service gets
# unless there are more than four of them.
CAUSE_COLOURS = {
    "timeout": "#D55E00",
    "rejected": "#56B4E9",
    "error": "#CC79A7",
    "blocked": "#009E73",
    "quota": "#E69F00",
    "full": BLACK,
}
PERCENTILES = ((0.50, "p50", "-"), (0.95, "p95", "-."), (0.99, "p99", ":"))
LEGEND = LEGEND_OUTSIDE
CLASS_START_LABEL = "class start"
ATTACK_WAVE_LABEL = "attack wave"
CRASH_LABEL = "crash"
CRASH_MARK = {"ls": "none", "marker": "x", "ms": 7, "mew": 1.8, "gid": CRASH_LABEL}
LOG_RATIO = 10.0  # attack peak over legitimate peak beyond which arrivals go symlog
SHOWN_LIMIT = 6  # services drawn per panel: past this, lines tangle and colours repeat
HIDDEN_NOTE = "hidden services"  # gid of the note saying how many services are left out
NOTE = {"ha": "right", "va": "top", "fontsize": "small", "color": GREY, "gid": HIDDEN_NOTE}
NOTE["bbox"] = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5}


def clock_axis(ax: Axes, result: RunResult) -> None:
    """Span the run on the x axis, with 4 to 8 HH:MM ticks
    (:func:`sim.outputs.plots.style.clock_axis`)."""
    style_clock_axis(ax, result.scenario.start_s, result.scenario.end_s)


def class_starts_s(result: RunResult) -> list[float]:
    """Distinct class starts (s since midnight) of the run: see :func:`lesson_starts_s`."""
    return lesson_starts_s(result.scenario)


def lesson_starts_s(scenario: Scenario) -> list[float]:
    """Distinct class starts (s since midnight) of pupils and teachers, or of any cohort
    whose journey has a class step.

    Parents (role "other") without a class step still have a ``class_starts`` anchor for
    their connect times, but no lesson begins then, so marking it would mislead; pupils
    who fetch their work on a workspace before a lesson do have one.
    """
    starts = {
        clock_to_s(start)
        for cohort in scenario.cohorts
        if cohort.role != "other" or class_step_of(scenario, cohort.journey) is not None
        for start in cohort.class_starts
    }
    return sorted(starts)


def mark_class_starts(ax: Axes, starts: list[float], labelled: bool = False) -> None:
    """Dashed grey verticals at the class starts; labelled only where the legend wants it."""
    for i, start in enumerate(starts):
        label = CLASS_START_LABEL if labelled and i == 0 else "_nolegend_"
        ax.axvline(start, color=GREY, linestyle="--", linewidth=1.0, label=label, zorder=1)


def shade_attacks(ax: Axes, windows: list[tuple[float, float]], labelled: bool = False) -> None:
    """A light band over each attack window (start, end), behind the data, in `ax`.

    Translucent so overlapping waves stay readable: their alpha stacks into a darker band.
    """
    for i, (start, end) in enumerate(windows):
        label = ATTACK_WAVE_LABEL if labelled and i == 0 else "_nolegend_"
        ax.axvspan(
            start,
            end,
            color=ATTACK_COLOUR,
            alpha=0.12,
            lw=0,
            zorder=0,
            label=label,
            gid=ATTACK_WAVE_LABEL,
        )


def bin_mids(result: RunResult) -> np.ndarray:
    """Middle of each time bin: a count per bin is plotted where it happened."""
    return result.bin_start_s + result.bin_s / 2


def bin_ends(result: RunResult) -> np.ndarray:
    """End of each time bin: a cumulative count is plotted where it is complete."""
    return result.bin_start_s + float(result.bin_s)


def per_bin(what: str, result: RunResult) -> str:
    """The unit of a count per bin of `result`: ``requests/min``, ``requests per 10 s``."""
    return metrics.per_bin(what, result.bin_s)


def shown_services(result: RunResult, limit: int = SHOWN_LIMIT) -> list[str]:
    """The services the panels draw: all of them if few, else the `limit` in most trouble.

    A national morning has two dozen services; drawn together they are a tangle in
    repeating colours. The reader wants those people suffered from, so services are
    ranked by minutes unavailable, then p95 wait, then load (the busiest of the healthy
    ones say most about demand). The chosen keep the scenario's order, so a service's
    colour does not depend on how badly it did.
    """
    names = list(result.services)
    if len(names) <= limit:
        return names
    return most_troubled(names, result.service_summary or service_summary(result), limit)


def most_troubled(
    names: list[str], summary: dict[str, dict[str, float]], limit: int = SHOWN_LIMIT
) -> list[str]:
    """The `limit` services of `names` in most trouble by their totals in `summary` (as in
    ``summary.json``), in the order of `names`: the ranking of :func:`shown_services`."""

    def trouble(name: str) -> tuple[float, ...]:
        return (*metrics.trouble(summary[name]), summary[name]["arrivals"])

    chosen = set(sorted(names, key=trouble, reverse=True)[:limit])
    return [name for name in names if name in chosen]


def service_colours(result: RunResult) -> dict[str, str]:
    """One fixed colour per shown service, so a service looks the same in every panel.

    Its keys are the shown services, in order: the panels draw exactly those.
    """
    names = shown_services(result)
    return {name: OKABE_ITO[i % len(OKABE_ITO)] for i, name in enumerate(names)}


def hidden_services(result: RunResult, colours: dict[str, str]) -> list[str]:
    """Services left out of the panels, in the scenario's order."""
    return [name for name in result.services if name not in colours]


def note_hidden(ax: Axes, hidden: int) -> None:
    """Say in the panel how many services it leaves out, so none seems to be missing."""
    if hidden:
        text = f"{hidden} more service{'s' if hidden > 1 else ''} in summary.json"
        ax.text(0.995, 0.96, text, transform=ax.transAxes, **NOTE)


def _arrivals_panel(ax: Axes, result: RunResult, colours: dict[str, str]) -> None:
    """People arriving versus requests reaching each service: the load the platform sees."""
    x, counters = bin_mids(result), result.counters
    requests, people = per_bin("requests", result), per_bin("people", result)
    ax.plot(x, counters["attempts"], color=GREY, lw=1.2, label=f"attempts, all steps ({requests})")
    for name in colours:
        arrivals = result.services[name].arrivals
        ax.plot(x, arrivals, color=colours[name], lw=1.0, label=f"{name} ({requests})")
    hidden, peak = hidden_services(result, colours), legitimate_peak(result)
    if hidden:  # their load still counts: one line for all of them
        other = other_arrivals(result, hidden)
        label = f"other {len(hidden)} services ({requests})"
        ax.plot(x, other, color=OTHER_COLOUR, lw=1.2, label=label)
        peak = max(peak, float(other.max()))
    # Dotted and on top: the first service usually sees exactly the intended connects.
    ax.plot(
        x,
        counters["intended"],
        color=BLACK,
        lw=1.6,
        ls=":",
        zorder=3,
        label=f"intended connects ({people})",
    )
    attack = attack_arrivals(result)
    if attack.any():
        ax.plot(
            x, attack, color=ATTACK_COLOUR, lw=1.2, ls="--", label=f"attack requests ({requests})"
        )
    scale = ""
    if attack.max() > LOG_RATIO * peak:
        # A flood can dwarf the people; symlog keeps both (and zero minutes) visible.
        ax.set_yscale("symlog", linthresh=10.0)
        plain_log_axis(ax)
        scale = ", symlog scale"
    ax.set_ylim(bottom=0.0)
    ax.set_title(f"Arrivals per {metrics.bin_noun(result.bin_s)}")
    ax.set_ylabel(f"arrivals{scale}\n({people}, {requests})")


def other_arrivals(result: RunResult, names: list[str]) -> np.ndarray:
    """Legitimate requests per bin summed over `names`: the load of the hidden services."""
    total = np.zeros(len(result.bin_start_s), dtype=np.int64)
    for name in names:
        total += result.services[name].arrivals
    return total


def attack_arrivals(result: RunResult) -> np.ndarray:
    """Attack requests per bin summed over services: the flood the platform receives."""
    total = np.zeros(len(result.bin_start_s), dtype=np.int64)
    for series in result.services.values():
        total += series.attack_arrivals
    return total


def legitimate_peak(result: RunResult) -> float:
    """The busiest bin of legitimate traffic, the yardstick an attack is compared to."""
    peaks = [result.counters["attempts"].max(), result.counters["intended"].max()]
    peaks += [series.arrivals.max() for series in result.services.values()]
    return float(max(peaks))


def _latency_panel(ax: Axes, result: RunResult, colours: dict[str, str]) -> None:
    """Response-time percentiles per service; empty bins stay gaps (nan), not zeros."""
    x = bin_mids(result)
    for name in colours:
        for q, _, style in PERCENTILES:
            values = quantile_from_histogram(result.services[name].latency_hist, q)
            ax.plot(x, values, color=colours[name], linestyle=style, lw=1.0)
    ax.set_yscale("log")
    plain_log_axis(ax)  # 0.4, 2, 60 s: not 4×10⁻¹
    ax.set_title("Response time percentiles per service")
    ax.set_ylabel("response time (s)")
    # Colour says which service, line style which percentile: 4 + 3 entries, not 4 x 3.
    handles = [Line2D([], [], color=c, lw=1.5, label=n) for n, c in colours.items()]
    handles += [Line2D([], [], color=BLACK, ls=s, lw=1.0, label=p) for _, p, s in PERCENTILES]
    ax.legend(handles=handles, **LEGEND)
    note_hidden(ax, len(hidden_services(result, colours)))


def changing_services(result: RunResult, names: list[str] | None = None) -> list[str]:
    """Services among `names` (default: all) whose servers crash or scale; all if none do.

    Flat lines of untouched services only crowd the panel, but an empty panel would look
    like a bug, so a run where nothing changes shows every service.
    """
    names = list(result.services) if names is None else names
    changing = [
        name
        for name in names
        if result.services[name].crashes.any()
        or np.ptp(result.services[name].mean_servers_up) > 1e-9
    ]
    return changing or names


def _servers_panel(ax: Axes, result: RunResult, colours: dict[str, str]) -> None:
    """Servers up per service, crashes marked on the line: the capacity a morning lost.

    The mark tells a crash from a scale-in, which would otherwise look the same.
    """
    x, handles, crashed_any, top = bin_mids(result), [], False, 1.0
    drawn = changing_services(result, list(colours))
    for name in drawn:
        series, colour = result.services[name], colours[name]
        up, crashed = series.mean_servers_up, series.crashes > 0
        label, top = f"{name} (servers up)", max(top, float(up.max()))
        handles += ax.plot(x, up, color=colour, lw=1.4, drawstyle="steps-mid", label=label)
        if crashed.any():  # one mark per bin with a crash, on the line, in its colour
            ax.plot(x[crashed], up[crashed], color=colour, zorder=3, **CRASH_MARK)
            crashed_any = True
    if crashed_any:  # colour already says which service: one black entry for all
        handles.append(Line2D([], [], color=BLACK, label=CRASH_LABEL, **CRASH_MARK))
    pad = 0.08 * top + 0.1  # below zero too: a crash mark at 0 stays clear of the axis
    ax.set_ylim(-pad, top + 2 * pad)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    noun = metrics.bin_noun(result.bin_s)
    ax.set_title(f"Servers up per service (mean per {noun}), and crashes")
    ax.set_ylabel("servers up (count)")
    ax.legend(handles=handles, **LEGEND)
    note_hidden(ax, len(result.services) - len(drawn))  # not drawn here, whatever the reason


def failure_rates(result: RunResult) -> dict[str, np.ndarray]:
    """Failed attempts by cause as % of that bin's attempts (0 where none were made)."""
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
    """Failure rates (left, %) and people giving up (right, people per bin) on a twin
    axis. The two have different units, so they get different axes; their legend is
    merged.
    """
    x, people = bin_mids(result), per_bin("people", result)
    twin = ax.twinx()
    # Bars, pale and behind: counts of people, unlike the rate lines drawn over them.
    twin.bar(
        x,
        result.counters["gave_up"],
        width=float(result.bin_s),
        color=OTHER_COLOUR,
        edgecolor="none",
        label=f"gave up ({people}, right axis)",
    )
    ax.set_zorder(twin.get_zorder() + 1)  # the rate lines over the bars ...
    ax.patch.set_visible(False)  # ... without hiding them behind the axes background
    for cause, rate in failure_rates(result).items():
        ax.plot(x, rate, color=CAUSE_COLOURS[cause], lw=1.2, label=f"{cause} (% of attempts)")
    ax.set_ylim(0.0, max(ax.get_ylim()[1], MIN_FAILED_PCT))
    ax.set_title("Failed attempts by cause, and people giving up")
    ax.set_ylabel("failed attempts (% of attempts)")
    twin.set_ylim(0.0, max(twin.get_ylim()[1], MIN_GAVE_UP))
    twin.yaxis.set_major_locator(MaxNLocator(integer=True))  # people: no 0.5
    twin.set_ylabel(f"gave up ({people})")
    note_nothing_failed(ax, result)
    handles, labels = ax.get_legend_handles_labels()
    twin_handles, twin_labels = twin.get_legend_handles_labels()
    legend = dict(LEGEND, bbox_to_anchor=(1.08, 1.0))  # clear the twin's tick labels
    ax.legend(handles + twin_handles, labels + twin_labels, **legend)
    return twin


MIN_FAILED_PCT = 1.0  # the failure axis spans at least 0-1 %: a flat zero reads as zero
MIN_GAVE_UP = 1.0  # and the giving-up axis at least 0-1 people per bin
NOTHING_FAILED = "nothing failed"  # gid of the note of a morning without failures


def note_nothing_failed(ax: Axes, result: RunResult) -> None:
    """Say it in words when no attempt failed (and, if so, nobody gave up): an empty panel
    on a 0-0.05 % axis looked like a plot that went wrong."""
    failed = sum(int(result.counters[f"fail_{cause}"].sum()) for cause in FAIL_CAUSES)
    if failed:
        return
    text = "no failed attempts"
    if not result.counters["gave_up"].any():
        text += ", nobody gave up"
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=GREY,
            gid=NOTHING_FAILED)  # fmt: skip


def _occupancy_panel(ax: Axes, result: RunResult) -> None:
    """People who got in (in class) against everyone who meant to be there by then: the gap
    is the harm. People seated in a lesson are drawn only where some journey has a class:
    elsewhere that line would sit at zero all morning and read as nobody getting in."""
    intended = np.cumsum(result.counters["intended"])
    ax.plot(
        bin_ends(result),
        intended,
        color=BLACK,
        lw=1.2,
        ls="-.",
        label="cumulative intended connects (people)",
    )
    ax.plot(
        bin_ends(result),
        np.cumsum(result.counters["reached"]),
        color=OKABE_ITO[2],
        lw=1.2,
        label="cumulative got in: in class (people)",
    )
    if result.counters["barred"].any():
        ax.plot(
            bin_ends(result),
            np.cumsum(result.counters["barred"]),
            color=GREY,
            lw=1.2,
            ls=":",
            label="cumulative barred by policy (people)",
        )
    if result.in_lesson.any():
        ax.plot(
            bin_mids(result),
            result.in_lesson,
            color=OKABE_ITO[0],
            lw=1.8,
            label=f"in a lesson now (people, mean per {metrics.bin_noun(result.bin_s)})",
        )
    ax.set_ylim(bottom=0.0)
    ax.set_title("People who meant to connect, and who got in")
    ax.set_ylabel("people (count)")
    ax.set_xlabel("clock time (HH:MM)")


def dashboard(result: RunResult) -> Figure:
    """The five-panel dashboard of one run, ready for ``fig.savefig``.

    Servers come right after latency: slow answers, then crashes, then failed attempts.
    """
    fig = new_figure(12, 13.5)
    axes = fig.subplots(5, 1, sharex=True)
    colours = service_colours(result)
    _arrivals_panel(axes[0], result, colours)
    _latency_panel(axes[1], result, colours)
    _servers_panel(axes[2], result, colours)
    backs = list(axes)  # the axes drawn furthest back in each panel, to shade behind all
    backs[3] = _failures_panel(axes[3], result)  # its twin, drawn behind it
    _occupancy_panel(axes[4], result)
    starts = class_starts_s(result)
    for i, ax in enumerate(axes):
        shade_attacks(backs[i], [(w.start, w.end) for w in result.attack_waves], i == 0)
        mark_class_starts(ax, starts, labelled=i == 0)
        clock_axis(ax, result)
        grid(ax)
        if ax.get_legend() is None:
            ax.legend(**LEGEND)
    title = f"Scenario {result.scenario.name!r}: seed {result.seed}"
    if result.replication:
        title += f", replication {result.replication}"
    if scaled := scale_words(result.scenario.scale):
        title += f", {scaled}"
    fig.suptitle(title, fontsize="large")
    return fig
