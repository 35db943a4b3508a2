"""One style for every figure: each figure function, given small data, draws only with
the house palette, marks a target the same way, keeps a light grid behind the data and
puts a unit (or clock time) on its value axes. A figure module that picks its own
colour, target line or unitless axis fails here."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex, to_rgba
from matplotlib.figure import Figure

from sim.config import load_scenario
from sim.experiments.execution import Estimate
from sim.experiments.plan import Check
from sim.outputs.plots import style
from sim.outputs.plots.dashboard import dashboard
from sim.outputs.plots.experiments import Line, compare_figure, heatmap_figure, kpi_figure
from sim.outputs.plots.options import options_figure, timeline_figure
from sim.outputs.plots.plan import plan_figure
from sim.simulation.runner import run
from tests.conftest import SCENARIOS

SURGE = SCENARIOS / "surge.toml"
FLOOD = (
    'attacks=[{name="flood", kind="application", target="login", start="08:50",'
    " duration_min=8, rate_per_s=40.0, bots=50}]"
)
UNIT = ("(%", "(s", "(min", "(people", "(count", "(attempts", "(HH:MM", "(points", "(requests")


def option(name: str, share: float, verdict: str | None, series: dict) -> object:
    from sim.experiments.options import OptionResult

    est = {
        "kpi.share_in_class_5min_after_start": Estimate(3, share, 0.02),
        "kpi.worst_unavailable_minutes": Estimate(3, 10.0, 4.0),
    }
    check = Check(3, share, share - 0.02, share + 0.02, verdict) if verdict else None
    return OptionResult(name, "", (), 3, est, {}, check, (series,) * 3)


def figures() -> dict[str, Figure]:
    scenario = load_scenario(SURGE, [FLOOD])
    result = run(scenario.flat)
    t = list(np.arange(scenario.start_s, scenario.end_s, 60.0))
    series = {"bin_start_s": t, "bin_s": 60, "intended": [10] * len(t), "reached": [9] * len(t)}
    options = [
        option("baseline", 0.8, "fails", series),
        option("More servers", 0.97, "holds", series),
        option("Fewer retries", 0.94, "unsure", series),
    ]
    plan = {
        "scenario": "surge",
        "parameter": "services.login.servers",
        "range": [1, 4],
        "target": {"metric": "kpi.share_in_class", "op": ">=", "value": 0.9},
        "target_text": "share_in_class>=0.9",
        "confidence": 0.95,
        "answer": 3,
        "found": True,
        "probes": [
            {"value": 2, "n": 5, "mean": 0.8, "low": 0.7, "high": 0.85, "verdict": "fails"},
            {"value": 3, "n": 5, "mean": 0.95, "low": 0.93, "high": 0.97, "verdict": "holds"},
        ],
    }
    line = Line("", [1, 2, 3], [0.5, 0.8, 0.95], [0.45, 0.75, 0.93], [0.55, 0.85, 0.97])
    diff = Estimate(4, 0.03, 0.01)
    share, gave_up, ones = "kpi.share_in_class", "kpi.gave_up", np.ones((2, 2))
    return {
        "dashboard": dashboard(result),
        "kpi": kpi_figure([line], "services.login.servers (count)", share, target=0.9),
        "heatmap": heatmap_figure([1, 2], [3, 4], ones, "a (count)", "b (count)", gave_up),
        "compare": compare_figure([(share, diff, True), (gave_up, diff, False)], "B − A"),
        "plan": plan_figure(plan),
        "options": options_figure(options, "kpi.share_in_class_5min_after_start", 0.95),
        "timeline": timeline_figure(options, scenario),
    }  # fmt: skip


@pytest.fixture(scope="module")
def drawn() -> dict[str, Figure]:
    made = figures()
    for figure in made.values():
        figure.draw_without_rendering()
    return made


def colours_of(ax) -> set[str]:
    """Colours of the data: lines, markers, bars, bands and spans (not the frame)."""
    found = set()
    for line in ax.get_lines():
        if line.get_gid() in ("target",) or not line.get_visible():
            continue
        found.add(to_hex(line.get_color()))
    for patch in ax.patches:
        if to_rgba(patch.get_facecolor())[3] > 0:
            found.add(to_hex(patch.get_facecolor()))
    for collection in ax.collections:
        if collection.get_array() is not None:  # a colour map (the heatmap): viridis
            continue
        found |= {to_hex(c) for c in collection.get_facecolors() if c[3] > 0}
        found |= {to_hex(c) for c in collection.get_edgecolors() if c[3] > 0}
    return found


@pytest.mark.parametrize(
    "name", ["dashboard", "kpi", "heatmap", "compare", "plan", "options", "timeline"]
)
def test_every_figure_draws_with_the_house_palette_and_units(drawn, name):
    figure = drawn[name]
    palette = {c.lower() for c in style.PALETTE}
    for ax in figure.axes:
        if ax.get_label() == "<colorbar>":
            assert ax.get_ylabel().endswith(")"), "a colour bar says its unit"
            continue
        assert colours_of(ax) <= palette, (name, colours_of(ax) - palette)
        gridlines = [g for g in ax.get_xgridlines() + ax.get_ygridlines() if g.get_visible()]
        assert all(to_hex(g.get_color()) == style.GRID_COLOUR.lower() for g in gridlines), name
        labels = [ax.get_xlabel(), ax.get_ylabel()]
        categorical = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        with_unit = [text for text in labels if any(u in text for u in UNIT)]
        value_axes = sum(1 for text in labels if text) or len(categorical)
        assert (
            with_unit
            or (categorical and any(u in " ".join(categorical) for u in UNIT))
            or (value_axes == 0)
        ), (name, labels, categorical)


@pytest.mark.parametrize("name", ["kpi", "plan", "options"])
def test_a_target_is_the_same_dashed_black_line_everywhere(drawn, name):
    targets = [
        line for ax in drawn[name].axes for line in ax.get_lines() if line.get_gid() == "target"
    ]
    assert len(targets) == 1
    line = targets[0]
    assert to_hex(line.get_color()) == style.BLACK.lower()
    assert line.get_linestyle() == "--"
    assert line.get_label().startswith(f"{style.TARGET_LABEL} ")


def test_shares_read_as_per_cent(drawn):
    for name in ("kpi", "plan"):
        ax = drawn[name].axes[0]
        ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert ticks and all(t.endswith("%") for t in ticks), (name, ticks)


def visible_clock_ticks(start_s: float, end_s: float) -> list[float]:
    ax = Figure().add_subplot()
    style.clock_axis(ax, start_s, end_s)
    return [t for t in ax.get_xticks() if start_s - 1e-6 <= t <= end_s + 1e-6]


@pytest.mark.parametrize("start_min", [0, 7 * 60, 8 * 60 + 13, 8 * 60 + 40])
@pytest.mark.parametrize(
    "span_min",
    [5, 7, 9, 12, 16, 19, 25, 31, 40, 47, 60, 90, 150, 200, 360, 420, 600, 721, 1000, 1440],
)
def test_a_clock_axis_has_four_to_eight_round_labels_for_any_span(start_min, span_min) -> None:
    """Spans from a 5-minute close-up to a whole day: 4 to 8 labels at round clock times
    (a multiple of the step, itself one of CLOCK_STEPS_MIN)."""
    start_s, end_s = 60.0 * start_min, 60.0 * (start_min + span_min)
    ticks = visible_clock_ticks(start_s, end_s)
    assert 4 <= len(ticks) <= 8, (span_min, [style.hhmm(t) for t in ticks])
    step = style.clock_step_s(end_s - start_s)
    assert step / 60 in style.CLOCK_STEPS_MIN
    assert all(t % step == 0 for t in ticks)


def test_a_teaching_run_and_a_morning_are_labelled_like_a_reader_expects() -> None:
    assert style.clock_step_s(25 * 60.0) == 5 * 60.0  # 00:00, 00:05, ..., 00:25
    assert len(visible_clock_ticks(0.0, 25 * 60.0)) == 6
    assert style.clock_step_s(6 * 3600.0) == 3600.0  # 07:00, 08:00, ..., 13:00
    assert style.clock_step_s(150 * 60.0) == 1800.0  # the default morning, every 30 min
