"""`sim run --log-silent`: the trace (and so the access log) keeps the requests people
make in a session or a lesson without waiting for the answer, one every think time;
off (the default), the trace and the run are what they were."""

from __future__ import annotations

import math
import tomllib
from collections import Counter

import numpy as np
import pytest

from sim.config import scenario_from_dict
from sim.engine.trace import OUTCOMES
from sim.simulation.resources import estimate_mb, event_terms, silent_requests
from sim.simulation.runner import run
from tests.robustness.conftest import invoke, one_error_line

PEOPLE, SESSION_S, THINK_S = 200, 600.0, 20.0
BROWSE = f"""
name = "browse"
seed = 11
start = "08:00"
end = "08:30"

[services.login]
servers = 1
workers_per_server = 8
service_time = {{ kind = "exponential", mean_s = 0.05 }}

[services.app]
servers = 1
workers_per_server = 4
backlog_per_server = 50
service_time = {{ kind = "exponential", mean_s = 0.05 }}

[journeys]
browse = ["login"]  # then the session (:data:`SESSION`)

[[cohorts]]
name = "pupils"
role = "pupil"
count = {PEOPLE}
journey = "browse"
class_starts = ["08:10"]
connect = {{ kind = "uniform", low_min = -5.0, high_min = 5.0 }}
"""
"""200 people log in between 08:05 and 08:15, then browse `app` for 10 min, a silent
request every 20 s (exponential): all sessions end well before 08:30."""


SESSION = {
    "kind": "session",
    "service": "app",
    "duration": {"kind": "deterministic", "value_s": SESSION_S},
    "think_time": {"kind": "exponential", "mean_s": THINK_S},
}


def browse(*overrides: tuple[str, object], think_time: dict | None = None):
    """The scenario, with `overrides` (dotted path, value) and another `think_time`."""
    data = tomllib.loads(BROWSE)
    think = think_time or SESSION["think_time"]
    data["journeys"]["browse"].append({**SESSION, "think_time": think})
    for path, value in overrides:
        *parents, leaf = path.split(".")
        table = data
        for key in parents:
            table = table[key]
        table[leaf] = value
    return scenario_from_dict(data).flat


@pytest.fixture(scope="module")
def both():
    scenario = browse()
    return run(scenario, trace=True), run(scenario, trace_silent=True)


def test_the_silent_requests_come_every_think_time_for_the_whole_session(both):
    _, silent = both
    t = silent.trace
    flagged = t["silent"]
    expected = PEOPLE * SESSION_S / THINK_S  # 6,000: a Poisson count, sd 77
    assert abs(flagged.sum() - expected) <= 4 * math.sqrt(expected)
    assert silent_requests(browse()) == expected
    assert {silent.trace_services[s] for s in t["service"][flagged]} == {"app"}
    people = silent.people
    who = t["person"][flagged]
    assert np.isin(np.arange(PEOPLE), who).mean() > 0.99  # everyone (~30 each)
    sent = t["submitted"][flagged]
    assert (sent >= people["reached"][who]).all()  # during their session
    assert (sent <= people["reached"][who] + SESSION_S).all()


def test_a_deterministic_think_time_gives_the_exact_count():
    """Each person on their own clock: a request at 20, 40, ... 580 s of the session."""
    scenario = browse(think_time={"kind": "deterministic", "value_s": THINK_S})
    t = run(scenario, trace_silent=True).trace
    assert np.bincount(t["person"][t["silent"]], minlength=PEOPLE).tolist() == [29] * PEOPLE


def test_off_nothing_changes_and_on_only_rows_are_added(both):
    waited, silent = both
    assert "silent" not in waited.trace
    assert waited.kpi == silent.kpi and waited.events == silent.events
    for name, column in waited.people.items():
        np.testing.assert_array_equal(column, silent.people[name])
    kept = ~silent.trace["silent"]
    for name, column in waited.trace.items():
        np.testing.assert_array_equal(column, silent.trace[name][kept])


def test_silent_outcomes_agree_with_the_services_counts():
    """A session service past capacity: silent requests are rejected, time out (the
    browser gives up after the person's patience) or are served, as counted."""
    scenario = browse(
        ("services.app.workers_per_server", 1),
        ("services.app.backlog_per_server", 5),
        ("services.app.service_time.mean_s", 0.8),
    )
    result = run(scenario, trace_silent=True)
    t, app = result.trace, result.service_summary["app"]
    mine = (t["service"] == result.trace_services.index("app")) & t["silent"]
    outcomes = Counter(OUTCOMES[code] for code in t["outcome"][mine].tolist())
    assert outcomes["rejected"] == app["rejected"] > 0
    assert outcomes["timeout"] == app["abandoned"] > 0
    assert outcomes["served"] == app["served"] - app["wasted"]
    still_queued = app["arrivals"] - sum(outcomes.values())
    assert 0 <= still_queued <= 60  # the requests in the system at the end


def test_the_estimates_count_the_silent_rows():
    scenario = browse()
    ticks = [value for value, what in event_terms(scenario) if "of session" in what]
    assert ticks == [2.0 * silent_requests(scenario)]  # the event budget's own count
    plain, waited, silent = (estimate_mb(scenario, trace) for trace in ("", "waited", "silent"))
    assert plain < waited < silent
    assert silent - waited == pytest.approx(80 * 6000 / 2**20)


# ---------------------------------------------------------------- the command line


def write(tmp_path, think_s: float = THINK_S):
    """The scenario as a file, its think time `think_s`."""
    path = tmp_path / "browse.toml"
    step = (
        f'{{ kind = "session", service = "app", think_time = {{ kind = "exponential", '
        f'mean_s = {think_s} }}, duration = {{ kind = "deterministic", value_s = {SESSION_S} }} }}'
    )
    path.write_text(BROWSE.replace('browse = ["login"]', f'browse = ["login", {step}]'))
    return path


def test_the_access_log_has_a_line_per_silent_request(tmp_path):
    path = write(tmp_path)
    counts = []
    for extra in ([], ["--log-silent"]):
        log = tmp_path / f"access{len(extra)}.log"
        out = tmp_path / f"out{len(extra)}"
        result = invoke("run", str(path), "--access-log", str(log), "--out", str(out),
                        "--no-dashboard", "--people", "none", *extra)  # fmt: skip
        assert result.exit_code == 0, result.output
        counts.append(len(log.read_text().splitlines()))
    plain, silent = counts
    said = " ".join(result.output.split())  # (wrapped at the terminal's width)
    assert f"({silent:,} requests, {silent - plain:,} of them silent)" in said
    assert abs(silent - plain - 6000) <= 4 * math.sqrt(6000)
    unsilent = [line for line in (tmp_path / "access1.log").read_text().splitlines()
                if '"GET /app ' not in line]  # fmt: skip
    assert unsilent == (tmp_path / "access0.log").read_text().splitlines()


def test_log_silent_alone_or_too_large_is_refused(tmp_path):
    path = write(tmp_path)
    alone = invoke("run", str(path), "--log-silent", "--out", str(tmp_path / "a"))
    assert alone.exit_code == 2
    assert one_error_line(alone.output).startswith("error: --log-silent ")
    busy = write(tmp_path, think_s=0.01)
    big = invoke("run", str(busy), "--trace", "--log-silent", "--out", str(tmp_path / "b"))
    assert big.exit_code == 2 and not (tmp_path / "b").exists()
    line = one_error_line(big.output)
    assert line.startswith("error: --trace --log-silent: browse makes about 12,000,000 silent")
    assert "leave out --log-silent" in line
