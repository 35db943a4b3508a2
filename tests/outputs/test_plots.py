"""The dashboard of a small run: the right panels, axes, units and markers, and it saves;
of a run with an attack and crashes: shaded waves, crash marks, servers up; and of a
national morning with two dozen services: only those in most trouble are drawn."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.config import load_scenario
from sim.config.scale import scale
from sim.outputs.plots.dashboard import (
    ATTACK_WAVE_LABEL,
    CLASS_START_LABEL,
    CRASH_LABEL,
    HIDDEN_NOTE,
    OKABE_ITO,
    bin_mids,
    changing_services,
    dashboard,
    failure_rates,
    hhmm,
    shown_services,
)
from sim.simulation.runner import RunResult, run

DEFAULT = Path(__file__).resolve().parents[2] / "experiments" / "default.toml"
TINY = [
    "cohorts.college_pupils.count=5000",
    "cohorts.lycee_pupils.count=3000",
    "cohorts.teachers.count=600",
    "cohorts.parents.count=1000",
]
CLASS_STARTS_S = (8 * 3600.0, 9 * 3600.0)  # pupils' and teachers' lessons in default.toml
PARENTS_ANCHOR_S = 8.5 * 3600.0  # parents have a "class start" but no class
HHMM = re.compile(r"^\d\d:\d\d$")
SURGE = Path(__file__).resolve().parents[1] / "scenarios" / "surge.toml"
FLOOD = [
    'attacks=[{name="flood", kind="application", target="login", start="08:50",'
    " duration_min=8, rate_per_s=40.0, bots=50}]",
    'services.login.crash={backlog_above=40, restart={kind="deterministic", value_s=120}}',
]
FLOOD_S = (8 * 3600.0 + 50 * 60, 8 * 3600.0 + 58 * 60)
ATTACK_LINE = "attack requests (requests/min)"
ARRIVALS, LATENCY, SERVERS, FAILURES, OCCUPANCY = range(5)
ROOT_EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
APRIL_6 = ROOT_EXPERIMENTS / "2021-04-06.toml"
OTHER = re.compile(r"^other (\d+) services \(requests/min\)$")


@pytest.fixture(scope="module")
def result() -> RunResult:
    return run(load_scenario(DEFAULT, TINY).flat)


@pytest.fixture(scope="module")
def fig(result: RunResult) -> Figure:
    figure = dashboard(result)
    figure.draw_without_rendering()  # lay out and fill in tick labels
    return figure


@pytest.fixture(scope="module")
def panels(fig: Figure) -> list:
    """The five panels, in order (the failure panel's twin comes after them)."""
    return fig.axes[:5]


@pytest.fixture(scope="module")
def attacked() -> RunResult:
    """A surge on login with an 8-minute flood at 08:50 and crashes (well under 1 s)."""
    return run(load_scenario(SURGE, FLOOD).flat)


@pytest.fixture(scope="module")
def attacked_fig(attacked: RunResult) -> Figure:
    figure = dashboard(attacked)
    figure.draw_without_rendering()
    return figure


def _is_class_start(line: Line2D) -> bool:
    x = np.asarray(line.get_xdata(), dtype=float)
    return line.get_linestyle() == "--" and len(x) == 2 and x[0] == x[1]


def _data_lines(ax) -> list[Line2D]:
    return [line for line in ax.get_lines() if not _is_class_start(line)]


def test_five_panels_with_data(fig: Figure, panels: list) -> None:
    assert len(fig.axes) == 6  # five panels and the failure panel's twin
    for ax in panels:
        lines = _data_lines(ax)
        assert lines, ax.get_title()
        assert any(np.nanmax(np.asarray(line.get_ydata(), float)) > 0 for line in lines)


def test_titles(fig: Figure, result: RunResult, panels: list) -> None:
    suptitle = fig.get_suptitle()
    assert result.scenario.name in suptitle
    assert str(result.seed) in suptitle
    titles = [ax.get_title() for ax in panels]
    assert all(titles) and len(set(titles)) == 5


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
    assert "(s)" in fig.axes[LATENCY].get_ylabel()
    assert fig.axes[SERVERS].get_ylabel() == "servers up (count)"


def test_latency_panel_is_log_scale(panels: list) -> None:
    assert panels[LATENCY].get_yscale() == "log"
    others = [ax.get_yscale() for i, ax in enumerate(panels) if i != LATENCY]
    assert others == ["linear"] * 4


def test_latency_gaps_are_nan_not_zero(panels: list) -> None:
    values = np.concatenate(
        [np.asarray(ln.get_ydata(), float) for ln in _data_lines(panels[LATENCY])]
    )
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


def _legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]


def _spans(fig: Figure, panel) -> list[tuple[float, float]]:
    """x extent of the attack bands of a panel, including those on its twin axes."""
    box = panel.get_position().bounds
    patches = [p for ax in fig.axes if ax.get_position().bounds == box for p in ax.patches]
    spans = []
    for patch in patches:
        if patch.get_gid() == ATTACK_WAVE_LABEL:
            xs = patch.get_patch_transform().transform(patch.get_path().vertices)[:, 0]
            spans.append((float(xs.min()), float(xs.max())))
    return spans


def test_attack_window_shaded_in_every_panel(attacked_fig: Figure) -> None:
    for panel in attacked_fig.axes[:5]:
        assert _spans(attacked_fig, panel) == [FLOOD_S], panel.get_title()


def test_attack_wave_in_one_legend_once(attacked_fig: Figure, fig: Figure) -> None:
    assert _legend_texts(attacked_fig).count(ATTACK_WAVE_LABEL) == 1
    assert ATTACK_WAVE_LABEL not in _legend_texts(fig)
    assert all(not _spans(fig, panel) for panel in fig.axes[:5])


def test_crash_marked_at_each_crash_minute(attacked_fig: Figure, attacked: RunResult) -> None:
    login = attacked.services["login"]
    crashed = login.crashes > 0
    assert crashed.sum() >= 2  # the scenario is meant to crash
    marks = [ln for ln in attacked_fig.axes[SERVERS].get_lines() if ln.get_gid() == CRASH_LABEL]
    assert len(marks) == 1 and marks[0].get_marker() == "x"
    assert np.array_equal(marks[0].get_xdata(), bin_mids(attacked)[crashed])
    assert np.array_equal(marks[0].get_ydata(), login.mean_servers_up[crashed])
    assert _legend_texts(attacked_fig).count(CRASH_LABEL) == 1


def test_servers_up_lines_are_the_means(attacked_fig: Figure, attacked: RunResult) -> None:
    lines = {ln.get_label(): ln for ln in _data_lines(attacked_fig.axes[SERVERS])}
    line = lines["login (servers up)"]
    assert np.array_equal(line.get_ydata(), attacked.services["login"].mean_servers_up)
    assert line.get_drawstyle() == "steps-mid"


def test_servers_panel_never_empty(fig: Figure, result: RunResult) -> None:
    """Nothing crashes or scales in the default run: every service is drawn, flat."""
    assert changing_services(result) == list(result.services)
    lines = [ln for ln in _data_lines(fig.axes[SERVERS]) if ln.get_gid() != CRASH_LABEL]
    assert len(lines) == len(result.services)
    assert CRASH_LABEL not in _legend_texts(fig)


def test_attack_line_only_with_attack_traffic(
    attacked_fig: Figure, attacked: RunResult, fig: Figure
) -> None:
    lines = {ln.get_label(): ln for ln in attacked_fig.axes[ARRIVALS].get_lines()}
    assert lines[ATTACK_LINE].get_linestyle() == "--"
    total = sum(series.attack_arrivals for series in attacked.services.values())
    assert np.array_equal(lines[ATTACK_LINE].get_ydata(), total)
    assert ATTACK_LINE not in [ln.get_label() for ln in fig.axes[ARRIVALS].get_lines()]
    # The flood peaks below ten times the people's peak: the scale stays linear.
    assert attacked_fig.axes[ARRIVALS].get_yscale() == "linear"


def test_arrivals_go_symlog_when_the_flood_dwarfs_people(attacked: RunResult) -> None:
    heavy = copy.copy(attacked)
    heavy.services = {
        name: dataclasses.replace(series, attack_arrivals=100 * series.attack_arrivals)
        for name, series in attacked.services.items()
    }
    arrivals = dashboard(heavy).axes[ARRIVALS]
    assert arrivals.get_yscale() == "symlog"
    assert "symlog" in arrivals.get_ylabel()


@pytest.fixture(scope="module")
def national() -> RunResult:
    """6 April 2021 at 0.3 % scale: 24 services, crashes and DDoS waves (a few seconds)."""
    return run(scale(load_scenario(APRIL_6), 0.003).flat)


@pytest.fixture(scope="module")
def national_fig(national: RunResult) -> Figure:
    figure = dashboard(national)
    figure.draw_without_rendering()
    return figure


def _trouble(result: RunResult, name: str) -> tuple:
    row = result.service_summary[name]
    return (row["unavailable_minutes"], row["p95_wait_s"], row["arrivals"])


def _notes(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == HIDDEN_NOTE]


def test_few_services_are_all_shown(result: RunResult, attacked: RunResult) -> None:
    assert shown_services(result) == list(result.services)
    assert shown_services(attacked) == list(attacked.services)


def test_shown_are_the_most_troubled_in_scenario_order(national: RunResult) -> None:
    shown = shown_services(national)
    assert len(national.services) > 6 and len(shown) == 6
    assert shown == [name for name in national.services if name in shown]
    hidden = [name for name in national.services if name not in shown]
    worst_hidden = max(_trouble(national, name) for name in hidden)
    assert all(_trouble(national, name) >= worst_hidden for name in shown)
    assert national.service_summary["cned_join"]["unavailable_minutes"] > 0
    assert "cned_join" in shown


def test_limit_ranks_small_runs_too(result: RunResult) -> None:
    two = shown_services(result, limit=2)
    rest = [name for name in result.services if name not in two]
    assert len(two) == 2 and two == [name for name in result.services if name in two]
    assert min(_trouble(result, n) for n in two) >= max(_trouble(result, n) for n in rest)


def test_at_most_six_services_per_panel(national_fig: Figure, national: RunResult) -> None:
    services = set(national.services)
    for panel in (ARRIVALS, LATENCY, SERVERS):
        lines = _data_lines(national_fig.axes[panel])
        colours = {ln.get_color() for ln in lines if ln.get_color() in OKABE_ITO}
        assert len(colours) <= 6
        labelled = {ln.get_label().split(" (")[0] for ln in lines} & services
        assert len(labelled) <= 6
    latency = _data_lines(national_fig.axes[LATENCY])
    assert len(latency) == 3 * 6  # three percentiles of each shown service


def test_one_colour_per_service_across_panels(national_fig: Figure, national: RunResult) -> None:
    def colours(panel: int, suffix: str) -> dict[str, str]:
        lines = _data_lines(national_fig.axes[panel])
        return {
            ln.get_label().removesuffix(suffix): ln.get_color()
            for ln in lines
            if ln.get_label().endswith(suffix)
        }

    arrivals = colours(ARRIVALS, " (requests/min)")
    servers = colours(SERVERS, " (servers up)")
    shown = shown_services(national)
    assert [arrivals[name] for name in shown] == list(OKABE_ITO[:6])
    assert servers and all(servers[name] == arrivals[name] for name in servers)


def test_other_line_sums_the_hidden_services(national_fig: Figure, national: RunResult) -> None:
    hidden = [name for name in national.services if name not in shown_services(national)]
    others = [ln for ln in national_fig.axes[ARRIVALS].get_lines() if OTHER.match(ln.get_label())]
    assert len(others) == 1
    assert OTHER.match(others[0].get_label()).group(1) == str(len(hidden))
    total = sum(national.services[name].arrivals for name in hidden)
    assert np.array_equal(others[0].get_ydata(), total)


def test_note_names_the_hidden_count(national_fig: Figure, national: RunResult) -> None:
    note = f"{len(national.services) - 6} more services in summary.json"
    assert _notes(national_fig.axes[LATENCY]) == [note]


def test_servers_note_counts_every_service_not_drawn(
    national_fig: Figure, national: RunResult
) -> None:
    """The servers panel draws only the shown services whose servers changed: its note
    counts all the others ("18 more" was said beside 2 lines of 24)."""
    lines = _data_lines(national_fig.axes[SERVERS])
    drawn = {ln.get_label().removesuffix(" (servers up)") for ln in lines} & set(national.services)
    assert 0 < len(drawn) < 6  # the case of the bug: some shown services are not drawn
    note = f"{len(national.services) - len(drawn)} more services in summary.json"
    assert _notes(national_fig.axes[SERVERS]) == [note]


def test_small_runs_have_no_note_and_no_other_line(fig: Figure, attacked_fig: Figure) -> None:
    for figure in (fig, attacked_fig):
        assert not any(_notes(ax) for ax in figure.axes)
        labels = [ln.get_label() for ln in figure.axes[ARRIVALS].get_lines()]
        assert not any(OTHER.match(label) for label in labels)


def test_a_25_minute_teaching_run_gets_several_clock_labels() -> None:
    """The retry storm runs 00:00-00:25: a fixed 30-minute step labelled it once."""
    storm = run(load_scenario(ROOT_EXPERIMENTS / "teaching" / "retry_storm.toml").flat)
    figure = dashboard(storm)
    figure.draw_without_rendering()
    start, end = storm.scenario.start_s, storm.scenario.end_s
    labelled = [  # the labels of the ticks within the axis (matplotlib keeps one beyond)
        [
            label.get_text()
            for tick, label in zip(ax.get_xticks(), ax.get_xticklabels(), strict=False)
            if label.get_text() and start <= tick <= end
        ]
        for ax in figure.axes
    ]
    labelled = [labels for labels in labelled if labels]  # panels above share the bottom's
    assert labelled
    for labels in labelled:
        assert labels == ["00:00", "00:05", "00:10", "00:15", "00:20", "00:25"]
