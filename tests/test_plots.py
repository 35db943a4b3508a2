"""The dashboard of a small run: the right panels, axes, units and markers, and it saves."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.config import load_scenario
from sim.plots import CLASS_START_LABEL, dashboard, failure_rates, hhmm
from sim.runner import RunResult, run

DEFAULT = Path(__file__).resolve().parent.parent / "experiments" / "default.toml"
TINY = [
    "cohorts.college_pupils.count=5000",
    "cohorts.lycee_pupils.count=3000",
    "cohorts.teachers.count=600",
    "cohorts.parents.count=1000",
]
CLASS_STARTS_S = (8 * 3600.0, 9 * 3600.0)  # pupils' and teachers' lessons in default.toml
PARENTS_ANCHOR_S = 8.5 * 3600.0  # parents have a "class start" but no class
HHMM = re.compile(r"^\d\d:\d\d$")


@pytest.fixture(scope="module")
def result() -> RunResult:
    return run(load_scenario(DEFAULT, TINY))


@pytest.fixture(scope="module")
def fig(result: RunResult) -> Figure:
    figure = dashboard(result)
    figure.draw_without_rendering()  # lay out and fill in tick labels
    return figure


@pytest.fixture(scope="module")
def panels(fig: Figure) -> list:
    """The four panels, in order (the failure panel's twin comes after them)."""
    return fig.axes[:4]


def _is_class_start(line: Line2D) -> bool:
    x = np.asarray(line.get_xdata(), dtype=float)
    return line.get_linestyle() == "--" and len(x) == 2 and x[0] == x[1]


def _data_lines(ax) -> list[Line2D]:
    return [line for line in ax.get_lines() if not _is_class_start(line)]


def test_four_panels_with_data(fig: Figure, panels: list) -> None:
    assert len(fig.axes) >= 4
    for ax in panels:
        lines = _data_lines(ax)
        assert lines, ax.get_title()
        assert any(np.nanmax(np.asarray(line.get_ydata(), float)) > 0 for line in lines)


def test_titles(fig: Figure, result: RunResult, panels: list) -> None:
    suptitle = fig.get_suptitle()
    assert result.scenario.name in suptitle
    assert str(result.seed) in suptitle
    titles = [ax.get_title() for ax in panels]
    assert all(titles) and len(set(titles)) == 4


def test_x_ticks_are_clock_times_every_half_hour(panels: list, result: RunResult) -> None:
    bottom = panels[-1]
    labels = [t.get_text() for t in bottom.get_xticklabels() if t.get_text()]
    assert labels and all(HHMM.match(text) for text in labels), labels
    assert {"08:00", "08:30", "09:00"} <= set(labels)
    assert np.allclose(np.diff(bottom.get_xticks()), 1800.0)
    for ax in panels:  # shared axis: same span and formatter everywhere
        assert ax.get_xlim() == (result.scenario.start_s, result.scenario.end_s)
        assert ax.xaxis.get_major_formatter()(9 * 3600.0 + 30 * 60, 0) == "09:30"


def test_y_labels_have_units(fig: Figure) -> None:
    for ax in fig.axes:  # including the twin axis of the failure panel
        label = ax.get_ylabel()
        assert re.search(r"\(.*(/min|s|%|people|count).*\)", label), label
    assert "(s)" in fig.axes[1].get_ylabel()


def test_latency_panel_is_log_scale(panels: list) -> None:
    assert panels[1].get_yscale() == "log"
    assert [ax.get_yscale() for ax in (panels[0], panels[2], panels[3])] == ["linear"] * 3


def test_latency_gaps_are_nan_not_zero(panels: list) -> None:
    values = np.concatenate([np.asarray(ln.get_ydata(), float) for ln in _data_lines(panels[1])])
    assert np.isnan(values).any()  # some service has empty minutes
    assert (values[~np.isnan(values)] > 0).all()


def test_class_starts_marked_in_every_panel(panels: list) -> None:
    for ax in panels:
        marks = sorted(ln.get_xdata()[0] for ln in ax.get_lines() if _is_class_start(ln))
        assert marks == list(CLASS_STARTS_S), ax.get_title()
        assert PARENTS_ANCHOR_S not in marks


def test_class_start_in_one_legend_once(fig: Figure) -> None:
    texts = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]
    assert texts.count(CLASS_START_LABEL) == 1


def test_failure_rates_are_percent_and_zero_without_attempts(result: RunResult) -> None:
    attempts = result.counters["attempts"]
    for rate in failure_rates(result).values():
        assert (rate >= 0).all() and (rate <= 100).all()
        assert (rate[attempts == 0] == 0).all()


def test_hhmm() -> None:
    assert hhmm(7 * 3600 + 30 * 60) == "07:30"
    assert hhmm(10 * 3600, 3) == "10:00"


def test_saves_to_png(fig: Figure, tmp_path: Path) -> None:
    path = tmp_path / "d.png"
    fig.savefig(path)
    data = path.read_bytes()
    assert len(data) > 10_000
    assert data.startswith(b"\x89PNG")
