"""`sim run --trace`: one row per request a person waited for, consistent with the
streaming statistics of the same run; refused for runs too large to keep in memory."""

from __future__ import annotations

import csv
import gzip
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.config import load_scenario
from sim.config.scale import scale
from sim.engine.trace import MAX_TRACED_PEOPLE, OUTCOMES
from sim.model.population import expected_people
from sim.simulation.runner import run
from tests.conftest import DEFAULT, SCENARIOS, scenario

runner = CliRunner()
CRASH = 'services.login.crash={backlog_above=40, restart={kind="deterministic", value_s=120}}'


@pytest.fixture(scope="module")
def traced():
    return run(scenario("surge", CRASH).flat, trace=True)


def test_every_attempt_is_traced_once_with_its_outcome(traced):
    t, k = traced.trace, traced.kpi
    outcomes = Counter(OUTCOMES[code] for code in t["outcome"].tolist())
    still_waiting = k["attempts"] - len(t["service"])
    assert 0 <= still_waiting <= k["still_trying_at_end"]
    login = traced.service_summary["login"]
    assert outcomes["served"] == login["served"] - login["wasted"]  # answered in time
    assert outcomes["rejected"] == login["rejected"]
    assert outcomes["timeout"] == login["abandoned"]
    # refused by a dead server, or lost in a crash while the client still waited (a
    # client who had timed out already got its answer: the timeout)
    assert login["refused"] < outcomes["error"] <= login["refused"] + login["crash_lost"]
    people = t["person"]
    assert people.min() >= 0 and people.max() < k["people"]
    attempts = np.bincount(people, minlength=k["people"])
    np.testing.assert_array_less(attempts - 1, traced.people["attempts"])  # at most theirs


def test_times_are_ordered_and_served_requests_started(traced):
    t = traced.trace
    served = t["outcome"] == OUTCOMES.index("served")
    started = ~np.isnan(t["started"])
    assert started[served].all()
    assert (t["started"][started] >= t["submitted"][started]).all()
    assert (t["ended"] >= t["submitted"]).all()
    assert (np.diff(t["ended"]) >= 0).all()  # rows in the order the answers came


def test_the_trace_is_off_by_default_and_does_not_change_the_run(traced):
    plain = run(scenario("surge", CRASH).flat)
    assert plain.trace is None
    assert plain.kpi == traced.kpi and plain.events == traced.events


def test_cli_writes_trace_csv_byte_identical_for_a_seed(tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        args = [
            "run",
            str(SCENARIOS / "surge.toml"),
            "--trace",
            "--no-dashboard",
            "--out",
            str(out),
        ]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    data = [(out / "trace.csv.gz").read_bytes() for out in outs]
    assert data[0] == data[1]
    with gzip.open(outs[0] / "trace.csv.gz", "rt", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["service", "person", "submitted_s", "started_s", "ended_s", "outcome"]
    assert {r[0] for r in rows[1:]} == {"login"}
    assert {r[5] for r in rows[1:]} <= set(OUTCOMES)
    decimals = [len(r[2].partition(".")[2]) for r in rows[1:]]
    assert max(decimals) == 3 and sum(d == 3 for d in decimals) > 0.8 * len(decimals)  # ms


def test_too_large_a_trace_or_one_with_replications_is_refused(tmp_path):
    big = tmp_path / "big"
    result = runner.invoke(
        app, ["run", str(DEFAULT), "--trace", "--scale", "10", "--out", str(big)]
    )
    people = expected_people(scale(load_scenario(DEFAULT), 10))
    assert people > MAX_TRACED_PEOPLE
    assert result.exit_code == 2
    assert result.output.startswith("error: --trace: ") and f"{people:,.0f}" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not big.exists()
    reps = runner.invoke(app, ["run", str(SCENARIOS / "surge.toml"), "--trace", "--reps", "2"])
    assert reps.exit_code == 2 and "cannot be combined with --reps" in reps.output
