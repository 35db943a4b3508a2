"""The loop closed: a known scenario simulated, written as an access log (``sim run
--access-log``), fitted (``sim fit``): the fitted intervals cover the scenario's own
values, and the fitted scenario runs.

The default example at --scale 0.05: pupils connect 5 min before 08:00 (40 %) and 09:00
(60 %) with sd 5 min, login takes lognormal 0.2 s (cv 1), visio_join gamma 0.3 s (cv 1:
an exponential), patience is lognormal 20 s, people retry 9 times in 10.
"""

from __future__ import annotations

import pytest

import sim
from sim.outputs.access_log import write_access_log

MAPPING = {
    "services": {"login": ["/login"], "portal": ["/portal"], "visio_join": ["/visio_join"]},
    "roles": {"by": "user_agent", "pupil": ["*role=pupil*"], "teacher": ["*role=teacher*"],
              "other": ["*role=other*"]},
}  # fmt: skip


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    scenario = sim.load("default", scale=0.05)
    morning = sim.run(scenario, trace=True)
    log = write_access_log(morning.result, tmp_path_factory.mktemp("loop") / "morning.log.gz")
    return scenario, sim.fit(log, MAPPING, class_starts=["08:00", "09:00"])


def estimate(fitted, quantity):
    row = fitted.estimates.set_index("quantity").loc[quantity]
    return row["low"], row["high"]


def test_the_fitted_intervals_cover_the_scenarios_values(roundtrip):
    scenario, fitted = roundtrip
    pupils = sum(c.count for c in scenario.cohorts if c.role == "pupil")
    assert next(c.count for c in fitted.scenario.cohorts if c.role == "pupil") == pupils
    low, high = estimate(fitted, "cohorts.pupil.connect.mean_min")
    assert low <= -5.0 <= high
    low, high = estimate(fitted, "cohorts.pupil.connect.sd_min")
    assert low <= 5.0 <= high
    for service, mean in (("login", 0.2), ("visio_join", 0.3)):
        low, high = estimate(fitted, f"services.{service}.service_time.mean_s")
        assert low <= mean <= high, service
    low, high = estimate(fitted, "behaviour.patience.mean_s")
    assert low <= 20.0 <= high
    shares = next(c for c in fitted.scenario.cohorts if c.role == "pupil").class_start_shares
    assert shares == pytest.approx([0.4, 0.6], abs=0.01)


def test_the_fitted_scenario_runs(roundtrip):
    scenario, fitted = roundtrip
    morning = sim.run(fitted.scenario)  # cohorts as counted, the parents as Poisson rates
    assert morning.kpi["arrived"] == pytest.approx(sum(c.count for c in scenario.cohorts), rel=0.1)
