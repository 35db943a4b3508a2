"""``sim plan``: the search as pure functions on fake metrics, then real plans on the
surge scenario (login servers 1..6, ~0.3 s a run, serial), the files they write, reuse
on a rerun, exit codes, one-line errors and the plot."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from sim.cli import app
from sim.experiments.plan import (
    FAILS,
    HOLDS,
    UNSURE,
    Target,
    assess,
    bisect,
    decide,
    grid,
    parse_target,
)
from sim.outputs.plots.plan import plan_figure
from sim.outputs.plots.style import TARGET_LABEL
from tests.conftest import SCENARIOS

SURGE = SCENARIOS / "surge.toml"
AT_MOST_10 = Target("kpi.x_s", "<=", 10.0)  # a time: None is an infinite percentile

# ---------------------------------------------------------------- pure search logic


def test_parse_target():
    assert parse_target("gave_up<=100") == Target("kpi.gave_up", "<=", 100.0)
    assert parse_target(" services.login.p95_wait_s < 2.5 ") == Target(
        "services.login.p95_wait_s", "<", 2.5
    )
    for bad in ("gave_up=100", "gave_up<=", "<=3", "gave_up<=ten"):
        with pytest.raises(ValueError, match="--target"):
            parse_target(bad)


def test_decide_uses_the_one_sided_t_bound():
    bound = 2 + stats.t.ppf(0.95, 2) * 1 / math.sqrt(3)  # mean 2, s 1, n 3
    check = decide([1, 2, 3], Target("m", "<=", 3.7), 0.95)
    assert check.verdict == HOLDS and check.high == pytest.approx(bound)
    assert decide([1, 2, 3], Target("m", "<=", 3.6), 0.95).verdict == UNSURE
    assert decide([1, 2, 3], Target("m", "<=", 0.3), 0.95).verdict == FAILS
    assert decide([1, 2, 3], Target("m", ">=", 0.3), 0.95).verdict == HOLDS
    assert decide([1, 2, 3], Target("m", ">=", 3.7), 0.95).verdict == FAILS
    assert decide([1, 2, 3], Target("m", "<=", 3.6), 0.80).verdict == HOLDS  # less sure
    assert decide([5, 5], Target("m", "<=", 5), 0.95).verdict == HOLDS  # no spread
    assert decide([5, 5], Target("m", "<", 5), 0.95).verdict == FAILS


def test_an_infinite_percentile_fails_an_upper_target():
    check = decide([1.0, None, 2.0], AT_MOST_10, 0.95)
    assert check.verdict == FAILS and check.mean == math.inf
    assert decide([1.0, None], Target("m_s", ">=", 5), 0.95).verdict == HOLDS


def test_a_share_of_nobody_meets_no_target():
    """None for a share is a share of nobody (pupils where there are none): no target on
    people who are not there is met, whichever way it points."""
    for op in (">=", "<="):
        check = decide([0.9, None], Target("kpi.by_role.pupil.share_in_class", op, 0.5), 0.95)
        assert check.verdict == FAILS


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 100, 1000])
def test_bisect_finds_the_boundary_in_log_probes(count):
    for boundary in {0, 1, count // 3, count - 1, count}:  # count: nothing holds
        probed = []

        def holds(i, boundary=boundary, probed=probed):
            probed.append(i)
            return i >= boundary

        answer = bisect(count, holds)
        assert answer == (boundary if boundary < count else None)
        assert len(probed) <= math.ceil(math.log2(count + 1))
        if answer is None:
            assert count - 1 in probed  # even the largest value was tried
        elif answer > 0:
            assert {answer, answer - 1} <= set(probed)  # holds here, not just below


def test_grid():
    assert grid(1, 6, 1, True) == [1, 2, 3, 4, 5, 6]
    assert grid(10, 25, 5, True) == [10, 15, 20, 25]
    assert grid(10, 27, 5, True) == [10, 15, 20, 25, 27]  # hi is always a candidate
    assert grid(3, 3, 1, True) == [3]
    assert grid(0.1, 0.5, 0.1, False) == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert grid(1.0, 2.0, 0.3, False) == [1.0, 1.3, 1.6, 1.9, 2.0]


def noisy(mean_at, sd: float):
    """A fake metric: replication k of value v is mean_at(v) + the k-th draw of one
    stream (common random numbers, and growing samples keep their first values)."""
    draws = np.random.default_rng(3).normal(0.0, sd, 200)

    def sample(value):
        return lambda n: list(mean_at(value) + draws[:n])

    return sample


def test_noisy_search_is_conservative_and_extends_unsure_probes():
    values = list(range(31))
    sample = noisy(lambda v: 100.0 - 5.0 * v, sd=6.0)  # true mean <= 10 from v = 18 on
    answers = {}
    for max_reps in (3, 30):
        checks = {}

        def holds(i, max_reps=max_reps, checks=checks):
            checks[values[i]] = assess(sample(values[i]), AT_MOST_10, 0.95, 3, max_reps)
            return checks[values[i]].holds

        answers[max_reps] = values[bisect(len(values), holds)]
        for check in checks.values():
            assert check.holds == (check.high <= 10.0)  # the one-sided bound decided
            assert check.verdict != UNSURE or check.n == max_reps  # extended to the cap
        assert any(c.n > 3 for c in checks.values()) == (max_reps > 3)
    assert 18 <= answers[30] < answers[3]  # more replications: closer to the truth
    unsure = assess(sample(19), AT_MOST_10, 0.95, 3, 3)
    assert unsure.verdict == UNSURE and not unsure.holds  # unsure counts as failing


# ---------------------------------------------------------------- real plans


def invoke(*args):
    return CliRunner().invoke(app, ["plan", *[str(a) for a in args]])


PLAN_ARGS = (
    SURGE,
    "--vary",
    "services.login.servers=1:6",
    "--target",
    "gave_up<=10",
    "--reps",
    "3",
    "--max-reps",
    "3",
    "--jobs",
    "1",
)


@pytest.fixture(scope="module")
def surge_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "surge-plan"
    first = invoke(*PLAN_ARGS, "--out", out)
    assert first.exit_code == 0, first.output
    return out, first


def test_plan_finds_the_boundary_on_surge(surge_plan):
    out, result = surge_plan
    data = json.loads((out / "plan.json").read_text())
    answer = data["answer"]
    verdicts = {p["value"]: p["holds"] for p in data["probes"]}
    assert data["found"] and verdicts[answer] and verdicts[answer - 1] is False
    assert len(data["probes"]) <= 3  # ceil(log2(7))
    assert all(p["n"] == 3 for p in data["probes"])
    assert f"answer: services.login.servers = {answer}" in result.stdout
    for probe in data["probes"]:  # every probe printed as a row as it completed
        assert any(
            line.split()[:2] == [str(probe["value"]), "3"] for line in result.stdout.splitlines()
        )
    rows = (out / "plan.csv").read_text().splitlines()
    assert rows[0].startswith("order,value,n,mean,low,high,verdict")
    assert len(rows) == 1 + len(data["probes"])
    runs = (out / "replications.csv").read_text().splitlines()
    assert "services.login.servers" in runs[0] and len(runs) == 1 + 3 * len(data["probes"])
    assert (out / "plan.png").stat().st_size > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"] == manifest["ran_now"] == 3 * len(data["probes"])


def test_a_rerun_reuses_every_run(surge_plan):
    out, _ = surge_plan
    before = json.loads((out / "plan.json").read_text())
    again = invoke(*PLAN_ARGS, "--out", out)
    assert again.exit_code == 0, again.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["reused"] == manifest["runs"] > 0 and manifest["ran_now"] == 0
    after = json.loads((out / "plan.json").read_text())
    assert after["answer"] == before["answer"]
    assert [p["reused"] for p in after["probes"]] == [3] * len(before["probes"])
    for probe in [*before["probes"], *after["probes"]]:
        del probe["reused"], probe["ran"]
    assert after == before  # same probes, same numbers, same runs
    assert "0 run," in again.stdout


def test_exit_1_when_even_hi_fails(tmp_path):
    out = tmp_path / "nope"
    result = invoke(
        SURGE, "--vary", "services.login.servers=1:1", "--target", "gave_up<=10",
        "--reps", "2", "--max-reps", "2", "--jobs", "1", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "even 1 does not hold" in result.stdout
    assert json.loads((out / "plan.json").read_text())["answer"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--vary", "services.login.servers", "--target", "gave_up<=1"), "--vary expects"),
        (("--vary", "services.login.servers=1-6", "--target", "gave_up<=1"), "--vary expects"),
        (("--vary", "services.login.servers=a:b", "--target", "gave_up<=1"), "must be numbers"),
        (("--vary", "services.login.servers=6:1", "--target", "gave_up<=1"), "greater than hi"),
        (("--vary", "services.login.servers=1.5:4", "--target", "gave_up<=1"), "whole bounds"),
        (("--vary", "services.login.servers=1:6", "--target", "gave_up<=1", "--step", "0.5"),
         "--step"),
        (("--vary", "services.login.servers=0:6", "--target", "gave_up<=1"), "servers"),
        (("--vary", "services.login.serverz=1:6", "--target", "gave_up<=1"), "unknown key"),
        (("--vary", "services.login.service_time=1:6", "--target", "gave_up<=1"), "not a number"),
        (("--vary", "services.login.servers=1:6", "--target", "gave_up=1"), "--target expects"),
        (("--vary", "services.login.servers=1:6", "--target", "services.x.arrivals<=1"),
         "no service 'x'"),
        (("--vary", "services.login.servers=1:6", "--target", "gave_up<=1", "--reps", "1"),
         "--reps"),
        (("--vary", "services.login.servers=1:6"), "needs --vary"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "plan"
    result = invoke(SURGE, *args, "--out", out)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not out.exists()


def test_an_unknown_kpi_is_one_line_exit_2_before_any_run(tmp_path):
    result = invoke(
        SURGE, "--vary", "services.login.servers=3:3", "--target", "gave_upp<=1",
        "--reps", "2", "--jobs", "1", "--out", tmp_path / "p",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no metric 'kpi.gave_upp'" in lines[0] and "kpi.gave_up" in lines[0]
    assert not (tmp_path / "p").exists()  # checked before the first probe: nothing ran


def test_a_float_field_is_searched_on_a_grid(tmp_path):
    result = invoke(
        SURGE, "--vary", "behaviour.retry_probability=0.5:0.9", "--step", "0.2",
        "--target", "share_in_class<=2", "--reps", "2", "--jobs", "1", "--out", tmp_path / "p",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "p" / "plan.json").read_text())
    assert data["answer"] == 0.5 and data["candidates"] == 3  # 0.5, 0.7, 0.9


def test_the_plot_shows_the_target_and_every_probe():
    data = {
        "scenario": "s",
        "parameter": "services.login.servers",
        "range": [1, 8],
        "target": {"metric": "kpi.gave_up", "op": "<=", "value": 10.0},
        "target_text": "kpi.gave_up<=10",
        "confidence": 0.95,
        "answer": 4,
        "found": True,
        "probes": [
            {"value": 4, "n": 5, "mean": 2.0, "low": 1.0, "high": 3.0, "verdict": "holds"},
            {"value": 2, "n": 5, "mean": None, "low": None, "high": None, "verdict": "fails"},
            {"value": 3, "n": 9, "mean": 9.0, "low": 7.0, "high": 11.0, "verdict": "unsure"},
        ],
    }
    ax = plan_figure(data).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines[f"{TARGET_LABEL} 10"].get_ydata()) == [10.0, 10.0]
    assert list(lines["answer = 4"].get_xdata()) == [4, 4]
    plotted = {x for line in ax.get_lines() for x in np.atleast_1d(line.get_xdata())}
    assert {2, 3, 4} <= plotted
    labels = ax.get_legend_handles_labels()[1]
    assert {"holds", "unsure", f"{TARGET_LABEL} 10"} <= set(labels)
