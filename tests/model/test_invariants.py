"""Invariants that must hold on every run, checked on a loaded, shrunken default morning."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.monitor import bucket_midpoints, bucket_of, quantile_from_histogram
from sim.measure.kpis import KPI_NAMES, SERVICE_METRIC_NAMES
from sim.model.people import Fate
from sim.simulation.runner import run


@pytest.fixture(scope="module")
def result(small_default):
    return run(small_default.flat)


def test_people_are_conserved(result):
    fate = result.people["fate"]
    counts = np.bincount(fate, minlength=len(Fate))
    assert counts.sum() == result.kpi["people"]
    k = result.kpi
    assert (
        k["in_class"] + k["gave_up"] + k["too_late"] + k["no_teacher"] + k["still_trying_at_end"]
        == k["arrived"]
    )
    # Everybody who reached class has a time, nobody else does.
    reached = result.people["reached"]
    assert np.all(np.isfinite(reached[fate == Fate.REACHED]))
    assert np.all(np.isnan(reached[(fate == Fate.GAVE_UP) | (fate == Fate.NOT_ARRIVED)]))


def test_the_metric_names_known_before_a_run_are_those_a_run_reports(result):
    """--assert and --target are checked against these names before anything runs."""
    assert list(result.kpi) == list(KPI_NAMES)
    for summary in result.service_summary.values():
        assert list(summary) == list(SERVICE_METRIC_NAMES)


def test_the_scenario_is_loaded(result):
    """The shrunken default must stay loaded, else the invariants below test little."""
    assert result.kpi["failed_attempts"] > 100
    assert result.kpi["gave_up"] > 0
    assert result.service_summary["login"]["wasted"] > 0


def test_requests_are_conserved(result):
    for name, s in result.service_summary.items():
        series = result.services[name]
        # Every arrival is rejected, served, or still queued / in service at the end.
        in_system_at_end = s["arrivals"] - s["rejected"] - s["served"]
        assert in_system_at_end >= 0, name
        assert s["abandoned"] <= s["arrivals"] - s["rejected"], name
        assert s["wasted"] <= min(s["served"], s["abandoned"]), name
        assert np.all(series.arrivals >= 0)
    attempts = result.counters["attempts"].sum()
    outcomes = sum(
        result.counters[k].sum()
        for k in ("successes", "fail_timeout", "fail_rejected", "fail_full")
    )
    assert attempts - outcomes == result.kpi["still_trying_at_end"] or attempts >= outcomes


def test_littles_law_holds_exactly_for_queue_and_busy_workers(result):
    """Area under the queue-length curve = total time requests spent queued, and area
    under busy workers = total service time, as long as no request is still queued."""
    duration = result.scenario.end_s - result.scenario.start_s
    for name, s in result.services.items():
        if s.arrivals.sum() - s.rejected.sum() - s.served.sum() > 0:
            continue  # requests still in the system at the end: the identity is partial
        queue_area = s.mean_queue.sum() * 60.0
        assert queue_area == pytest.approx(s.wait_sum, rel=1e-6, abs=1e-6), name
        busy_area = s.mean_busy.sum() * 60.0
        assert busy_area == pytest.approx(s.response_sum - s.wait_sum, rel=1e-6), name
        assert s.mean_busy.max() <= s.capacity + 1e-9, name
        assert busy_area <= s.capacity * duration


def test_waits_and_levels_are_never_negative(result):
    for s in result.services.values():
        assert s.wait_sum >= 0
        assert np.all(s.mean_queue >= -1e-9) and np.all(s.mean_busy >= -1e-9)
        assert np.all(s.latency_hist >= 0)
    assert np.all(result.in_lesson >= -1e-9)
    people = result.people
    reached = people["fate"] == Fate.REACHED
    assert np.all(
        people["reached"][reached]
        >= np.maximum(people["intended"][reached], result.scenario.start_s)
    )


def test_histogram_quantiles_are_within_one_bucket():
    rng = np.random.default_rng(5)
    values = rng.lognormal(0.0, 1.5, 100_000)
    counts = np.bincount([bucket_of(v) for v in values], minlength=len(bucket_midpoints()))
    for q in (0.5, 0.95, 0.99):
        exact = np.quantile(values, q)
        assert quantile_from_histogram(counts, q) == pytest.approx(exact, rel=0.13)
