"""The figures of a ``sim run --reps`` folder: the key KPIs with their intervals
(kpis.png) and the per-minute bands of timeseries_ci.csv (timeseries_ci.png).

An interval is drawn exactly as the estimate gives it (its ``low`` and ``high``, however
they were computed, asymmetric or not, never clipped), and a band exactly as the CSV
says, so that a figure cannot tell a different story from the tables beside it.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from sim.cli import app
from sim.measure.metrics import KEY_FIGURES, label, metric
from sim.outputs.experiment_folder import KPIS_FIGURE, SERIES_CI, SERIES_FIGURE
from sim.outputs.plots.experiments import read_series_csv, replications_figure, series_bands_figure
from tests.conftest import SCENARIOS

SURGE = SCENARIOS / "surge.toml"


def est(mean: float, low: float, high: float) -> SimpleNamespace:
    half_width = (high - low) / 2
    return SimpleNamespace(n=5, mean=mean, low=low, high=high, half_width=half_width, unbounded=0)


def test_each_kpi_is_a_dot_and_its_interval_as_given() -> None:
    estimates = {
        "kpi.share_in_class": est(0.9, 0.85, 0.99),  # asymmetric
        "kpi.time_to_class_p50_s": est(3.0, 1.0, 4.0),
        "kpi.time_to_class_p95_s": est(float("inf"), float("nan"), float("nan")),
        "kpi.gave_up": est(40.0, -47.0, 125.0),  # below 0 as given: not clipped here
    }
    figure = replications_figure(estimates, "title")
    figure.draw_without_rendering()
    drawn = {}
    for ax in figure.axes:
        names = [t.get_text() for t in ax.get_yticklabels()]
        rows = list(ax.get_yticks())
        for line in ax.get_lines():
            if line.get_gid() == "interval":
                row = line.get_ydata()[0]
                drawn[names[rows.index(row)]] = list(line.get_xdata())
    assert drawn == {
        label("kpi.share_in_class"): [0.85, 0.99],
        label("kpi.time_to_class_p50_s"): [1.0, 4.0],
        label("kpi.gave_up"): [-47.0, 125.0],
    }
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert metric("kpi.time_to_class_p95_s").none_text in texts  # written, not drawn


def test_one_replication_is_a_dot_without_a_whisker_and_says_so() -> None:
    estimates = {"kpi.share_in_class": est(0.9, float("nan"), float("nan"))}
    figure = replications_figure(estimates, "title")
    assert not [line for ax in figure.axes for line in ax.get_lines() if line.get_gid()]
    assert "too few replications" in figure.get_suptitle()


SERIES = ("intended", "reached", "gave_up", "in_lesson")
HEADER = ",".join(
    ["clock", "minute_start_s"] + [f"{s}.{k}" for s in SERIES for k in ("mean", "low", "high")]
)
CSV = f"""{HEADER}
08:00,28800,10,8,12,9,7,11,0,-1,1,5,4,6
08:01,28860,12,9,15,11,8,14,1,-2,4,15,13,17
"""


def test_the_bands_are_those_of_the_csv() -> None:
    table = read_series_csv(CSV)
    figure = series_bands_figure(table, "title")
    bands = [c for ax in figure.axes for c in ax.collections if c.get_gid() == "band"]
    assert len(bands) == 4  # meant to connect, got through, gave up; in class
    lows = sorted(tuple(np.round(b.get_paths()[0].vertices[1:3, 1], 6)) for b in bands)
    assert lows == sorted([(8, 9), (7, 8), (-1, -2), (4, 13)])


@pytest.fixture(scope="module")
def reps_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("reps") / "surge"
    args = ["run", str(SURGE), "--reps", "3", "--jobs", "1", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--set", "cohorts.pupils.count=1500"])
    assert result.exit_code == 0, result.output
    return out


def test_a_reps_folder_gets_both_figures(reps_folder) -> None:
    for name in (KPIS_FIGURE, SERIES_FIGURE):
        with Image.open(reps_folder / name) as image:
            assert image.format == "PNG" and image.size[0] > 500
        assert (reps_folder / name).with_suffix(".svg").is_file()
    summary = json.loads((reps_folder / "summary.json").read_text())
    assert set(KEY_FIGURES) <= set(summary["estimates"])
    assert (reps_folder / SERIES_CI).is_file()
