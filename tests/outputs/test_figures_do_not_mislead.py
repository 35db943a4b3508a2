"""Figures that say what the data say: every variant of a sweep on its axis (an
unbounded one marked, not dropped) with its interval; a comparison named in the
registry's words and titled with what A and B are; a dashboard without failures on a
readable axis that says so, log axes in plain numbers; a target in its metric's unit;
a band's meaning said once, not in every legend entry."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from sim.config import load_scenario
from sim.experiments.compare import Difference, difference_bounds, paired
from sim.experiments.execution import Estimate
from sim.measure.metrics import label
from sim.outputs.plots import style
from sim.outputs.plots.dashboard import NOTHING_FAILED, dashboard
from sim.outputs.plots.experiments import (
    NO_BAND,
    UNBOUNDED_GID,
    Line,
    compare_figure,
    kpi_figure,
    series_bands_figure,
)
from sim.simulation.runner import run
from tests.conftest import ROOT, sim_env

P95 = "kpi.time_to_class_p95_s"
SHARE = "kpi.share_in_class"
INF = math.inf
SINGLE_QUEUE = ROOT / "experiments" / "teaching" / "single_queue.toml"
FAILURES, TWIN = 3, 5  # the failure panel and its twin (gave up) in dashboard.axes
LATENCY = 1


def drawn(figure: Figure) -> Figure:
    figure.draw_without_rendering()  # lay out and fill in tick labels
    return figure


@pytest.fixture(scope="module")
def sweep_p95() -> Figure:
    """The sweep of the brief: servers 1, 2, 3; only 3 gets a finite p95."""
    line = Line("", [1, 2, 3], [INF, INF, 1.303], [INF, INF, 1.198], [INF, INF, 1.408])
    return drawn(kpi_figure([line], "services.login.servers", P95))


def test_a_sweep_keeps_every_variant_on_a_whole_number_axis(sweep_p95: Figure) -> None:
    ax = sweep_p95.axes[0]
    low, high = ax.get_xlim()
    assert low < 1 and high > 3  # not 2.84 .. 3.16 around the one finite point
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]


def test_a_sweep_marks_its_unbounded_variants(sweep_p95: Figure) -> None:
    ax = sweep_p95.axes[0]
    marks = [ln for ln in ax.get_lines() if ln.get_gid() == UNBOUNDED_GID]
    assert sorted(x for ln in marks for x in ln.get_xdata()) == [1.0, 2.0]
    words = [t for t in ax.texts if t.get_gid() == UNBOUNDED_GID]
    assert [t.get_text() for t in words] == ["unbounded", "unbounded"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "unbounded: more than 5 % never got in" in legend


def test_a_sweep_draws_the_interval_of_a_point_a_band_cannot_show(sweep_p95: Figure) -> None:
    ax = sweep_p95.axes[0]
    bars = [c for c in ax.collections if c.get_gid() == "interval"]
    assert bars, "no interval drawn"
    (segment,) = [s for c in bars for s in c.get_segments()]
    assert np.allclose(segment, [[3, 1.198], [3, 1.408]])


def records(*shares: float) -> list[dict]:
    return [
        {"replication": k, "metrics": {"kpi.failed_attempts_share": v}}
        for k, v in enumerate(shares)
    ]


def test_a_share_difference_stays_within_what_is_possible() -> None:
    """A at 34.7 % failed attempts, B at 0: the t-interval reached −108.8 points."""
    a = records(0.9, 0.04, 0.101)
    b = records(0.0, 0.0, 0.0)
    d = paired(a, b)["kpi.failed_attempts_share"].diff
    assert d.low >= -1.0 and d.high <= 1.0
    assert d.low == -1.0  # the clip bit
    assert difference_bounds("kpi.share_in_class") == (-1.0, 1.0)
    assert difference_bounds("kpi.gave_up") == (-INF, INF)


@pytest.fixture(scope="module")
def comparison() -> Figure:
    rows = [(SHARE, Estimate(3, 0.047, 0.1), False), ("kpi.gave_up", Estimate(3, -234, 500), False)]
    title = "B − A, paired replications\nA: surge\nB: surge, with services.login.servers=3"
    return drawn(compare_figure(rows, title))


def test_compare_names_each_kpi_in_the_registrys_words(comparison: Figure) -> None:
    names = [ax.get_yticklabels()[0].get_text().replace("\n", " ") for ax in comparison.axes]
    assert names == ["share who got in (points)", f"{label('kpi.gave_up')} (people)"]
    assert not any("share_in_class" in n or "kpi." in n for n in names)


def test_compare_title_names_a_and_b() -> None:
    from sim.experiments.compare import compare_jobs
    from sim.outputs.study_folders import compare_title

    a = load_scenario(SINGLE_QUEUE)
    b = load_scenario(SINGLE_QUEUE, ["services.login.servers=3"])
    labels = ((), (("services.login.servers", 3),))
    title = compare_title(a, b, compare_jobs(a, b, 2, labels))
    assert title.splitlines()[1:] == [
        f"A: {a.name}",
        f"B: {b.name}, with services.login.servers=3",
    ]


@pytest.fixture(scope="module")
def quiet_morning() -> Figure:
    return drawn(dashboard(run(load_scenario(SINGLE_QUEUE).flat)))


def test_a_morning_without_failures_says_so_on_a_readable_axis(quiet_morning: Figure) -> None:
    ax = quiet_morning.axes[FAILURES]
    assert ax.get_ylim()[1] >= 1.0  # not 0-0.05 %
    notes = [t.get_text() for t in ax.texts if t.get_gid() == NOTHING_FAILED]
    assert notes == ["no failed attempts, nobody gave up"]


def test_log_axes_read_as_plain_numbers(quiet_morning: Figure) -> None:
    ax = quiet_morning.axes[LATENCY]
    assert ax.get_yscale() == "log"
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and not any("$" in t or "times" in t or "^" in t for t in ticks), ticks
    assert all(float(t.replace(",", "")) > 0 for t in ticks), ticks


def test_a_dashboard_prints_no_font_warnings(tmp_path) -> None:
    """mathtext's 10⁻¹ made matplotlib look for STIX fonts: 21 "findfont" lines."""
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(SINGLE_QUEUE), "--out", str(tmp_path / "r")],
        cwd=ROOT, env=sim_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "findfont" not in done.stderr, done.stderr


def test_a_target_is_written_in_its_metrics_unit() -> None:
    figure = Figure()
    ax = figure.add_subplot()
    assert style.target_line(ax, 0.9, metric=SHARE).get_label() == "target 90.0 %"
    assert style.target_line(ax, 120, metric=P95).get_label() == "target 120 s"


def series(banded: bool) -> dict[str, np.ndarray]:
    t = np.arange(8 * 3600.0, 8 * 3600.0 + 600, 60.0)
    table = {"minute_start_s": t}
    for name in ("intended", "reached", "gave_up", "in_lesson"):
        table[f"{name}.mean"] = np.full(len(t), 10.0)
        table[f"{name}.low"] = np.full(len(t), 8.0 if banded else math.nan)
        table[f"{name}.high"] = np.full(len(t), 12.0 if banded else math.nan)
    return table


def test_the_bands_meaning_is_said_once_not_in_every_legend_entry() -> None:
    title = "surge: 3 replications (seed 1)\nper minute: mean and 95 % band"
    figure = drawn(series_bands_figure(series(True), title))
    for ax in figure.axes:
        entries = [t.get_text() for t in ax.get_legend().get_texts()]
        said = [e.split(" (mean per minute)")[0] for e in entries]  # a level: its average
        assert said and not any(re.search(r"\b(mean|band)\b", e) for e in said), entries
    one = drawn(series_bands_figure(series(False), "surge: 1 replication"))
    assert one.axes[0].get_legend().get_title().get_text() == NO_BAND


def test_difference_of_a_share_is_in_points_in_every_table() -> None:
    from sim.outputs.tables import difference_interval_text, difference_text

    d = Difference(0.347, 0.0, Estimate(3, -0.347, 0.7, bounds=(-1.0, 1.0)))
    assert difference_text(SHARE, d.diff.mean) == "\u221234.7 points"
    assert difference_interval_text(SHARE, d.diff.low, d.diff.high).endswith(" points")
