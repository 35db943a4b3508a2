"""What the KPIs mean: barred people apart, figures per role and per cohort, shares of
nobody, intervals within what a metric can be, and one word for one thing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config import load_scenario
from sim.experiments import execution as experiment
from sim.experiments.execution import Estimate, estimate, flat_kpis
from sim.experiments.plan import FAILS, decide
from sim.measure import kpis as analysis
from sim.measure import metrics as labels
from sim.measure.criteria import parse_criterion
from sim.model.people import Fate
from sim.simulation.runner import run
from tests.conftest import DEFAULT, SMALL_DEFAULT

PARENTS_BARRED = (
    'gates.school_hours={blocked_roles=["other"], blocked_from="07:00", blocked_until="17:30"}',
    'journeys.parent=[{kind="gate", gate="school_hours"}, "login", "portal"]',
)


@pytest.fixture(scope="module")
def barred_morning():
    scenario = load_scenario(DEFAULT, [*SMALL_DEFAULT, *PARENTS_BARRED])
    return run(scenario.flat)


@pytest.fixture(scope="module")
def open_morning():
    return run(load_scenario(DEFAULT, list(SMALL_DEFAULT)).flat)


def test_barred_parents_are_barred_not_gave_up(barred_morning):
    """Every parent who came during the barred hours is barred: none gave up, none is
    counted against the platform; they made one attempt each, and none failed."""
    k = barred_morning.kpi
    parents = k["by_cohort"]["parents"]
    assert parents["barred"] == parents["arrived"] > 0
    assert parents["gave_up"] == 0
    assert parents["share_in_class"] is None  # nobody tried who was not barred
    assert parents["failed_attempts"] == 0
    assert parents["attempts"] == parents["barred"]
    assert k["barred"] == parents["barred"]
    fates = barred_morning.people["fate"][barred_morning.people["group"] == 3]
    assert set(np.unique(fates)) <= {Fate.BARRED, Fate.NOT_ARRIVED}


def test_barred_people_are_out_of_shares_and_percentiles(barred_morning):
    """The shares and percentiles of everybody are those of the people who were not
    barred: the same as computed over pupils and teachers alone."""
    k = barred_morning.kpi
    tried = k["arrived"] - k["barred"]
    assert k["share_in_class"] == pytest.approx(k["in_class"] / tried)
    assert k["gave_up"] == sum(k["by_role"][r]["gave_up"] for r in ("pupil", "teacher"))
    assert k["barred"] == barred_morning.counters["barred"].sum()


def test_barring_parents_helps_the_others(barred_morning, open_morning):
    """Parents barred from the login leave it to the pupils: their failures cannot grow."""
    barred = barred_morning.kpi["by_role"]["pupil"]
    free = open_morning.kpi["by_role"]["pupil"]
    assert barred["barred"] == free["barred"] == 0
    assert barred["failed_attempts"] <= free["failed_attempts"]


def test_kpis_per_role_and_cohort_add_up(open_morning):
    k = open_morning.kpi
    for key in ("people", "arrived", "in_class", "gave_up", "attempts", "failed_attempts"):
        assert sum(g[key] for g in k["by_role"].values()) == k[key], key
        assert sum(g[key] for g in k["by_cohort"].values()) == k[key], key
    assert set(k["by_role"]) == set(analysis.ROLES)
    assert list(k["by_cohort"]) == ["college_pupils", "lycee_pupils", "teachers", "parents"]
    assert list(k["by_role"]["pupil"]) == list(analysis.PEOPLE_KPI_NAMES)


def test_parents_have_no_share_in_class_by_start(open_morning):
    """Parents' class starts only anchor their connect times: no lesson, so no share of
    them is "in class by start" (null, not 0 %, which would read as all failing)."""
    k = open_morning.kpi
    assert k["by_role"]["other"]["share_in_class_5min_after_start"] is None
    assert k["by_role"]["pupil"]["share_in_class_5min_after_start"] is not None


def test_per_role_metrics_are_flat_in_records_and_checked_by_name(open_morning):
    metrics = flat_kpis(open_morning.kpi)
    name = "kpi.by_role.pupil.share_in_class_5min_after_start"
    assert metrics[name] == open_morning.kpi["by_role"]["pupil"][name.rpartition(".")[2]]
    assert "kpi.by_cohort.teachers.gave_up" in metrics
    scenario = open_morning.scenario
    assert analysis.unknown_metric(name, scenario) is None
    assert analysis.unknown_metric("kpi.by_cohort.teachers.gave_up", scenario) is None
    assert "roles: pupil" in analysis.unknown_metric("kpi.by_role.pupils.gave_up", scenario)
    assert "parents" in analysis.unknown_metric("kpi.by_cohort.nobody.gave_up", scenario)
    assert "per role" in analysis.unknown_metric("kpi.by_role.pupil.bogus", scenario)
    assert parse_criterion("by_role.pupil.gave_up<=3", "--assert").metric == (
        "kpi.by_role.pupil.gave_up"
    )


def test_a_target_on_people_who_are_not_there_is_not_met():
    """A share of nobody (None) meets no target; an infinite percentile fails a bound."""
    share = parse_criterion("by_role.other.share_in_class_5min_after_start>=0.5", "--target")
    assert not share.holds(None)
    assert decide([None, None], share, 0.95).verdict == FAILS
    late = parse_criterion("time_to_class_p95_s<=120", "--target")
    assert not late.holds(None)
    assert parse_criterion("time_to_class_p95_s>=120", "--target").holds(None)


@pytest.mark.parametrize(
    ("metric", "values", "low_bound", "high_bound"),
    [
        ("kpi.time_to_class_p95_s", [2.0, 3.0, 4000.0], 0.0, math.inf),
        ("kpi.gave_up", [0, 0, 900], 0.0, math.inf),
        ("services.login.unavailable_minutes", [0, 0, 30], 0.0, math.inf),
        ("kpi.share_in_class", [0.99, 1.0, 0.5], 0.0, 1.0),
        ("kpi.by_role.pupil.share_in_class", [0.02, 0.0, 0.4], 0.0, 1.0),
    ],
)
def test_intervals_stay_within_what_the_metric_can_be(metric, values, low_bound, high_bound):
    """Skewed replications whose t-interval crosses the metric's bound (the options
    study's time to class reached -4,000 s): the interval stops at the bound, and still
    holds the mean; the t half-width itself is kept for precision and significance."""
    plain = estimate(values)
    assert plain.low < low_bound or plain.high > high_bound  # the case the bound is for
    bounded = estimate(values, metric=metric)
    assert bounded.mean == plain.mean and bounded.half_width == plain.half_width
    assert low_bound <= bounded.low <= bounded.mean <= bounded.high <= high_bound
    assert bounded.low == max(plain.low, low_bound)
    assert bounded.high == min(plain.high, high_bound)
    assert bounded.method == labels.interval_method(metric)


def test_one_run_has_no_interval():
    one = estimate([0.7], metric="kpi.share_in_class")
    assert one.mean == 0.7 and not one.has_interval
    assert math.isnan(one.low) and math.isnan(one.high)


def test_a_share_of_nobody_is_left_out_of_the_mean():
    """None for a share means "nobody": left out, not an infinite mean (as a time's is)."""
    assert estimate([None, 0.5, 0.7], metric="kpi.share_in_class").mean == pytest.approx(0.6)
    assert estimate([None, None], metric="kpi.share_in_class").n == 0
    assert math.isinf(estimate([None, 3.0], metric="kpi.time_to_class_p95_s").mean)


def test_series_bands_never_go_below_zero():
    records = [
        {"series": {name: [0, 0, 0, 9] for name in (*experiment.SERIES, "in_lesson")}},
        {"series": {name: [0, 0, 5, 0] for name in (*experiment.SERIES, "in_lesson")}},
    ]
    bands = experiment.series_bands(records)
    for band in bands.values():
        assert (band["low"] >= 0).all()
        assert (band["low"] <= band["mean"]).all() and (band["mean"] <= band["high"]).all()


def test_estimate_is_a_frozen_record():
    e = Estimate(3, 1.0, 0.5, bounds=(0.0, math.inf))
    assert (e.low, e.high) == (0.5, 1.5)


def test_in_lesson_is_not_in_class(open_morning):
    """*In class* is getting in; *in a lesson* is being seated in one now: pupils whose
    journey ends at the portal (6 April's workspaces) get in, and are never in a lesson."""
    assert open_morning.in_lesson.max() > 0
    portal_only = load_scenario(DEFAULT, [*SMALL_DEFAULT, 'journeys.pupil=["login", "portal"]'])
    result = run(portal_only.flat)
    assert result.kpi["in_class"] > 0
    assert result.in_lesson.max() == 0
    assert result.kpi["peak_in_lesson"] == 0
    assert 0 < result.kpi["share_in_class_5min_after_start"] <= 1


def test_share_by_start_is_null_when_nobody_has_a_class():
    nobody = ("cohorts.college_pupils.count=0", "cohorts.lycee_pupils.count=0",
              "cohorts.teachers.count=0")  # fmt: skip
    result = run(load_scenario(DEFAULT, [*SMALL_DEFAULT, *nobody]).flat)
    assert result.kpi["in_class"] > 0  # parents got in
    assert result.kpi["share_in_class_5min_after_start"] is None


def test_validate_intervals_stay_at_or_above_zero():
    """`sim validate collapse` showed goodput below 0: every quantity it checks (waits,
    rates, counts, shares, ratios) is at least 0, and so is its interval."""
    from sim.experiments.validate.checks import Check, _judge

    row = _judge("collapse", {}, Check("goodput", 1.0, [0.0, 0.0, 9.0]), 0.95)
    assert row.ci_low == 0.0 and row.ci_high > row.sim_mean > 0


def _sim(*args: str, cwd=None):
    import subprocess
    import sys

    from tests.conftest import ROOT

    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd or ROOT
    )


def test_per_role_and_cohort_kpis_reach_files_and_checks(tmp_path):
    """summary.json carries them, --assert takes them, and a wrong role or cohort is one
    line and exit 2 before any run."""
    import json

    from tests.conftest import SCENARIOS

    surge = str(SCENARIOS / "surge.toml")
    pupils = "by_role.pupil.share_in_class_5min_after_start"
    ok = _sim("run", surge, "--no-dashboard", "--out", str(tmp_path / "a"),
              "--assert", f"{pupils}>=0", "--assert", "by_cohort.parents.gave_up>=0")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert f"kpi.{pupils}>=0: ok" in ok.stdout
    kpi = json.loads((tmp_path / "a" / "summary.json").read_text())["kpi"]
    assert kpi["by_role"]["pupil"]["people"] == kpi["by_cohort"]["pupils"]["people"] > 0
    assert kpi["by_role"]["teacher"]["share_in_class"] is None  # no teacher in the surge
    never = _sim("run", surge, "--no-dashboard", "--out", str(tmp_path / "b"),
                 "--assert", "by_role.teacher.share_in_class>=0")  # fmt: skip
    assert never.returncode == 1 and "no value: nobody" in never.stdout
    wrong = _sim(
        "run", surge, "--out", str(tmp_path / "c"), "--assert", "by_role.pupils.gave_up<=1"
    )
    assert wrong.returncode == 2 and "roles: pupil, teacher, other" in wrong.stderr
    assert not (tmp_path / "c").exists()


def test_replication_tables_carry_per_role_figures(tmp_path):
    import csv
    import json

    from tests.conftest import SCENARIOS

    out = tmp_path / "reps"
    proc = _sim("run", str(SCENARIOS / "surge.toml"), "--reps", "2", "--jobs", "1",
                "--set", "cohorts.pupils.count=600", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    header = next(csv.reader((out / "replications.csv").open()))
    assert "kpi.by_role.pupil.time_to_class_p95_s" in header
    assert "kpi.by_cohort.parents.share_in_class" in header
    estimates = json.loads((out / "summary.json").read_text())["estimates"]
    share = estimates["kpi.by_role.pupil.share_in_class"]
    assert 0 <= share["low"] <= share["mean"] <= share["high"] <= 1
    assert share["method"] == "Student t, within [0, 1]"


def test_bands_figure_draws_people_in_a_lesson_only_where_there_are_lessons():
    """A flat zero line of people in a lesson read as "nobody got in" (issue 15, item 4)."""
    from sim.outputs.plots.experiments import series_bands_figure

    def table(in_lesson: float) -> dict:
        t = {"minute_start_s": np.array([0.0, 60.0])}
        for name in (*experiment.SERIES, "in_lesson"):
            value = in_lesson if name == "in_lesson" else 5.0
            for part in ("mean", "low", "high"):
                t[f"{name}.{part}"] = np.array([value, value])
        return t

    assert len(series_bands_figure(table(0.0), "no lesson").axes) == 1
    assert len(series_bands_figure(table(3.0), "lessons").axes) == 2
