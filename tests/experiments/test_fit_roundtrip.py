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


# ---------------------------------------------------------------- KPIs, round trip

SURGE = """
name = "surge"
seed = 7
start = "08:45"
end = "09:15"

[behaviour]
patience = { kind = "lognormal", mean_s = 20.0, cv = 1.0 }
retry_probability = 0.8
max_attempts = 4
backoff = { kind = "exponential_jitter", base_s = 5.0, factor = 2.0 }

[services.login]
servers = 2
workers_per_server = 4
backlog_per_server = 40
service_time = { kind = "lognormal", mean_s = 0.3, cv = 1.0 }

[journeys]
login = ["login"]

[[cohorts]]
name = "pupils"
role = "pupil"
count = 4000
journey = "login"
class_starts = ["09:00"]
connect = { kind = "normal", mean_min = -3.0, sd_min = 0.75 }

[[cohorts]]
name = "teachers"
role = "teacher"
count = 600
journey = "login"
class_starts = ["09:00"]
connect = { kind = "normal", mean_min = -10.0, sd_min = 4.0 }

[[cohorts]]
name = "parents"
role = "other"
count = 3000
journey = "login"
class_starts = ["09:00"]
connect = { kind = "uniform", low_min = -14.0, high_min = 14.0 }
"""
"""A login surge past capacity (pupils: 36 a second at 08:57 for 27 served), on a quiet
background (teachers, parents) that shows the service time."""
CAPACITY = {  # what the planner knows and no log shows
    "services.login.servers": 2,
    "services.login.workers_per_server": 4,
    "services.login.backlog_per_server": 40,
}
KPIS = {  # the main KPIs, and how wide (share of the value) their tolerance may be
    "kpi.share_in_class": 0.05,
    "services.login.mean_wait_s": 0.3,
    "attempts per person": 0.1,
}


def kpi_intervals(runs, reps, one_run=False):
    """Mean and 95 % half-width (t) of each of :data:`KPIS` over the `runs` (a ``runs``
    table of replications): of the mean, or with `one_run` of one more run (a
    prediction interval)."""
    from scipy import stats

    runs = runs.assign(**{"attempts per person": runs["kpi.attempts"] / runs["kpi.people"]})
    t = stats.t.ppf(0.975, reps - 1) * ((1 + 1 / reps) ** 0.5 if one_run else reps**-0.5)
    return {k: (runs[k].mean(), t * runs[k].std(ddof=1)) for k in KPIS}


def with_its_uncertainty(fitted, path, reps):
    """`reps` runs of the fitted scenario, each with the service time's mean at one of
    `reps` evenly spread quantiles of its fitted sampling distribution (normal, from its
    95 % interval): the replications then carry the fit's uncertainty too. The one that
    matters near capacity: 1 % of service time moves the share in class by 0.4 points,
    about the replications' own interval; a log's quiet requests pin it to 2-3 %."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    fitted.save(path)
    mean = fitted.result.services[0].fit.mean_s
    se = (mean.high - mean.low) / (2 * 1.96)
    runs = []
    for k in range(reps):
        draw = mean.value + se * stats.norm.ppf((k + 0.5) / reps)
        fitted_time = fitted.scenario.services["login"].service_time.model_dump(exclude_none=True)
        service_time = {**fitted_time, "mean_s": float(np.round(draw, 4))}
        variant = sim.load(path, set={"services.login.service_time": service_time,
                                                 "seed": 100 + k})  # fmt: skip
        runs.append(sim.replicate(variant, 1, jobs=1).runs)
    return pd.concat(runs)


def test_the_fitted_scenario_gives_the_originals_kpis(tmp_path):
    """Simulate, write the access log, fit it with the capacity given, replicate both:
    each main KPI agrees. The tolerance: A's 95 % interval (8 replications) and the
    fitted side's 95 % prediction interval over 8 runs that carry the fit's uncertainty
    of the service time (:func:`with_its_uncertainty`) overlap: |B - A| <= half-width A
    + half-width B; it is below :data:`KPIS`' share of the value (a test that can fail).
    Without the fit's uncertainty, 2 seeds in 6 missed by 20-30 % of the tolerance, each
    from a service time 4-5 % low, within its own interval (on csv logs too).
    Found on the way: the retry share was biased low by the failures the log's end cuts
    off (the surge is 15 min before it), and max_attempts was left at 6 for 4."""
    path = tmp_path / "surge.toml"
    path.write_text(SURGE)
    original = sim.load(path)
    log = write_access_log(sim.run(original, trace=True).result, tmp_path / "surge.log")
    fitted = sim.fit(log, MAPPING, class_starts=["09:00"], set=CAPACITY)
    assert fitted.scenario.behaviour.max_attempts == 4
    assert abs(fitted.scenario.behaviour.retry_probability - 0.8) < 0.03
    assert "servers = 2  # GIVEN" in fitted.text
    reps = 8
    a = kpi_intervals(sim.replicate(original, reps, jobs=1).runs, reps)
    b = kpi_intervals(with_its_uncertainty(fitted, tmp_path / "fitted.toml", reps), reps, True)
    for kpi, widest in KPIS.items():
        (mean_a, half_a), (mean_b, half_b) = a[kpi], b[kpi]
        assert abs(mean_b - mean_a) <= half_a + half_b, (kpi, a[kpi], b[kpi])
        assert half_a + half_b < widest * abs(mean_a), kpi
    assert a["kpi.share_in_class"][0] < 0.95  # the surge does turn people away


# ---------------------------------------------------------------- silent requests


def without_silent(result):
    """`result` with the trace's silent rows left out: the log ``--log-silent`` off
    writes (the same run: silent requests are simulated either way, only not traced)."""
    from dataclasses import replace

    kept = ~result.trace["silent"]
    trace = {name: column[kept] for name, column in result.trace.items() if name != "silent"}
    return replace(result, trace=trace)


def test_silent_lines_are_fitted_as_background_requests(tmp_path):
    """The default example with ``--log-silent`` and a flaky in-class service (1 answer
    in 5 an error): 27,000 silent lines, 1,600 of them failures, to ``/visio``. Mapped
    as a plain service, a silent request after a failed one (the next, a think time
    later) looks like its retry: the retry share and the backoff come out wrong, and the
    journeys gain a visio step. Mapped as ``[background]``, the fit is that of the log
    without them, plus visio's service time."""
    scenario = sim.load("default", scale=0.05, set={"services.visio.error_probability": 0.2})
    result = sim.run(scenario, trace_silent=True).result
    full = write_access_log(result, tmp_path / "silent.log.gz")
    plain = write_access_log(without_silent(result), tmp_path / "waited.log.gz")
    visio = {**MAPPING["services"], "visio": ["/visio"]}
    background = {**MAPPING, "services": visio, "background": {"services": ["visio"]}}
    fits = {
        "waited": sim.fit(plain, MAPPING, class_starts=["08:00", "09:00"]),
        "background": sim.fit(full, background, class_starts=["08:00", "09:00"]),
        "plain": sim.fit(full, {**MAPPING, "services": visio}, class_starts=["08:00", "09:00"]),
    }
    fitted = {name: fit.scenario for name, fit in fits.items()}
    assert fitted["plain"].behaviour.retry_probability < 0.6  # fooled
    for same in ("behaviour", "journeys", "cohorts"):
        assert getattr(fitted["background"], same) == getattr(fitted["waited"], same), same
    low, high = estimate(fits["background"], "services.visio.service_time.mean_s")
    assert low <= 0.05 <= high
