"""measure.bin_s: the width of the time-series bins (issue 19).

The bins change how the series are cut, never the morning: a run at 10 s has the same
people, KPIs and totals as at 60 s, and its 10-s counts add up to the per-minute ones.
A tiny deterministic morning checks the per-bin counts by hand; the outputs are checked
to say their bin (a column, the index's frequency, the figures' units).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.api.runs import Run
from sim.config import ScenarioError, scenario_from_dict, to_toml
from sim.engine.monitor import Recorder
from sim.measure import metrics
from sim.outputs.run_folder import timeseries_rows
from sim.simulation.runner import run
from tests.conftest import scenario
from tests.robustness.conftest import invoke, one_error_line

START = 8 * 3600.0


def tiny(bin_s: int, end: str = "08:01:05") -> dict:
    """Five people at 08:00:15 and three at 08:00:42 (no spread), each one request of
    exactly 1 s to a service with room for all: every count is known in advance."""
    login = {
        "servers": 1,
        "workers_per_server": 10,
        "service_time": {"kind": "deterministic", "value_s": 1.0},
    }

    def cohort(name: str, count: int, offset_s: float) -> dict:
        connect = {"kind": "normal", "mean_min": offset_s / 60, "sd_min": 0.0}
        return {"name": name, "role": "other", "count": count, "journey": "login",
                "class_starts": ["08:00"], "connect": connect}  # fmt: skip

    return {
        "name": "tiny", "start": "08:00", "end": end, "measure": {"bin_s": bin_s},
        "services": {"login": login}, "journeys": {"login": ["login"]},
        "cohorts": [cohort("a", 5, 15.0), cohort("b", 3, 42.0)],
    }  # fmt: skip


def run_tiny(bin_s: int, end: str = "08:01:05"):
    return run(scenario_from_dict(tiny(bin_s, end)).flat)


def test_the_bins_and_their_edges_the_last_one_cut_short_by_the_end():
    recorder = Recorder(START, START + 65, bin_s=10.0)
    assert recorder.n_bins == 7  # 6 whole bins and 5 s of a seventh
    assert list(recorder.bin_starts() - START) == [0, 10, 20, 30, 40, 50, 60]
    assert [recorder.bin_of(START + t) for t in (0, 9.999, 10, 59.5, 60, 64.9)] == [
        0, 0, 1, 5, 6, 6,
    ]  # fmt: skip
    assert Recorder(START, START + 60, bin_s=60.0).n_bins == 1
    assert Recorder(START, START + 3 * 3600, bin_s=1.0).n_bins == 3 * 3600


def test_per_10_s_counts_of_a_deterministic_morning_are_known_by_hand():
    result = run_tiny(10)
    login = result.services["login"]
    assert list(result.bin_start_s - START) == [0, 10, 20, 30, 40, 50, 60]
    assert list(result.counters["intended"]) == [0, 5, 0, 0, 3, 0, 0]
    assert list(login.arrivals) == [0, 5, 0, 0, 3, 0, 0]
    assert list(login.served) == [0, 5, 0, 0, 3, 0, 0]  # answered 1 s later, same bin
    # 5 workers busy for 1 s of a 10-s bin: a mean of 0.5; 3 for 1 s: 0.3
    assert login.mean_busy == pytest.approx([0, 0.5, 0, 0, 0.3, 0, 0])
    assert login.latency_hist.sum(axis=1).tolist() == [0, 5, 0, 0, 3, 0, 0]
    assert result.kpi["in_class"] == 8


def test_the_partial_last_bin_holds_what_happened_until_the_end():
    """08:00 to 08:00:45 at 20 s: bins at 0, 20 and 40 s, the last only 5 s long; the
    three people of 08:00:42 are counted in it, its level over the whole 20 s."""
    result = run_tiny(20, end="08:00:45")
    login = result.services["login"]
    assert list(result.counters["intended"]) == [5, 0, 3]
    assert login.mean_busy == pytest.approx([5 / 20, 0, 3 / 20])


def test_10_s_counts_add_up_to_the_per_minute_counts_and_the_kpis_do_not_move():
    """The bins cut the series, not the morning: same people, same totals, the 10-s
    counts summed by six are the minute's, and every KPI taken from people or from
    histograms is equal (utilisation and mean queue sum the same areas otherwise cut)."""
    minute = run(scenario("surge").flat)
    ten = run(scenario("surge", "measure.bin_s=10").flat)
    assert len(ten.bin_start_s) == 6 * len(minute.bin_start_s)
    for name, counts in minute.counters.items():
        assert ten.counters[name].reshape(-1, 6).sum(axis=1).tolist() == counts.tolist(), name
    for name, series in minute.services.items():
        fine = ten.services[name]
        for field in ("arrivals", "served", "rejected", "abandoned", "crashes"):
            got = getattr(fine, field).reshape(-1, 6).sum(axis=1)
            assert got.tolist() == getattr(series, field).tolist(), (name, field)
        hist = fine.latency_hist.reshape(-1, 6, fine.latency_hist.shape[1]).sum(axis=1)
        assert np.array_equal(hist, series.latency_hist)
        assert fine.mean_busy.reshape(-1, 6).mean(axis=1) == pytest.approx(series.mean_busy)
    for column in minute.people:
        assert np.array_equal(minute.people[column], ten.people[column], equal_nan=True)
    binned = ("peak_in_lesson",)  # a maximum of per-bin means: the bins' resolution
    assert {k: v for k, v in ten.kpi.items() if k not in binned} == {
        k: v for k, v in minute.kpi.items() if k not in binned
    }
    resolution = ("utilization", "mean_queue", "availability")  # areas summed otherwise
    binned_service = ("unavailable_minutes", "unavailable_from", "unavailable_until")
    for name, row in minute.service_summary.items():
        fine = ten.service_summary[name]
        for key, value in row.items():
            if key in resolution:
                assert fine[key] == pytest.approx(value, rel=1e-9), (name, key)
            elif key not in binned_service:
                assert fine[key] == value, (name, key)


def test_the_table_and_the_dataframe_say_their_bin():
    result = run_tiny(10)
    header, rows = timeseries_rows(result)
    assert header[:3] == ["clock", "bin_start_s", "bin_s"]
    assert [row[0] for row in rows[:2]] == ["08:00", "08:00:10"]
    assert {row[2] for row in rows} == {"10"}
    frame = Run(result).timeseries
    assert frame.index.freq == "10s"
    assert frame["intended"].sum() == 8


def test_counts_per_bin_are_never_labelled_per_minute():
    assert metrics.series_unit("login.arrivals", 60) == "requests/min"
    assert metrics.series_unit("login.arrivals", 10) == "requests per 10 s"
    assert metrics.series_unit("intended", 300) == "people per 5 min"
    assert metrics.series_unit("in_lesson", 10) == "people"  # a level: a mean, no rate
    assert metrics.series_unit("login.latency_p95_s", 10) == "s"
    header, _ = timeseries_rows(run_tiny(10))
    assert all(column.rpartition(".")[2] in metrics.SERIES for column in header)


def test_the_dashboard_labels_its_axes_in_the_bins_unit():
    from sim.outputs.plots.dashboard import dashboard

    figure = dashboard(run_tiny(5))
    texts = [ax.get_ylabel() for ax in figure.axes] + [ax.get_title() for ax in figure.axes]
    texts += [t.get_text() for ax in figure.axes if ax.get_legend() for t in ax.get_legend().texts]
    assert any("requests per 5 s" in text for text in texts)
    assert any("Arrivals per 5 s" in text for text in texts)
    assert not [text for text in texts if "/min" in text or "per minute" in text]


def test_the_animation_takes_its_bins_from_the_table(tmp_path):
    from sim.outputs.animate import frame_figure, frame_minutes, load_morning

    folder = Run(run_tiny(10)).save(tmp_path / "tiny", dashboard=False, people="none")
    morning = load_morning(folder)
    assert morning.bin_s == 10
    assert frame_minutes(morning) == [0, 6]  # a frame a minute: every sixth bin
    assert frame_minutes(morning, step_min=1, until="08:01") == [0]
    titles = [ax.get_title() for ax in frame_figure(morning, 1).axes]
    assert "How full each service is (mean over the 10 s)" in titles


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0", "a whole number of seconds from 1 to 3600 (got 0)"),
        ("2.5", "a whole number of seconds from 1 to 3600 (got 2.5)"),
        ("3601", "a whole number of seconds from 1 to 3600 (got 3601)"),
    ],
)
def test_a_bin_that_is_not_whole_seconds_from_1_to_3600_is_refused(value, words):
    with pytest.raises(ScenarioError, match=r"measure\.bin_s") as err:
        scenario("surge", f"measure.bin_s={value}")
    assert words in str(err.value)


def test_bins_that_would_not_fit_in_memory_are_refused_in_one_line(tmp_path):
    """A day at 1 s with 24 services: 2 million bins of series, each with a histogram."""
    data = tiny(60, end="23:59")
    data["start"] = "00:00"
    data["services"] = {f"s{i}": data["services"]["login"] for i in range(23)} | {
        "login": data["services"]["login"]
    }
    with pytest.raises(ScenarioError, match=r"measure\.bin_s = 1 makes 86,340 bins x 24 "):
        scenario_from_dict({**data, "measure": {"bin_s": 1}})
    scenario_from_dict({**data, "measure": {"bin_s": 60}})  # a minute: as it always was
    path = tmp_path / "day.toml"
    path.write_text(to_toml(scenario_from_dict(data)), encoding="utf-8")
    result = invoke("run", path, "--set", "measure.bin_s=1", "--out", tmp_path / "out")
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "measure.bin_s = 1" in line and "use bin_s >= 3" in line
    assert not (tmp_path / "out").exists()
