"""`sim validate`: the formulas against textbook values, every case through the engine,
proof that a check can fail, and the command line.

The cases run through :func:`sim.experiments.validate.checks.validate`, the function the
command calls, with fewer replications and shorter horizons than the command's defaults,
and 99.9 % intervals instead of 95 %: the seed is fixed, so the test is deterministic,
but a change anywhere in the engine reshuffles the random draws, and with ~20 checks at
95 % one of them would then fail by chance most of the time. The checks that must fail
do so by a wide margin even at 99.9 %.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from scipy import stats
from typer.testing import CliRunner

from sim.cli import app
from sim.experiments.validate import theory
from sim.experiments.validate.cases import all_cases
from sim.experiments.validate.checks import (
    Case,
    Check,
    ValidationInputError,
    metric,
    parse_params,
    validate,
)
from sim.experiments.validate.queues import MG1, MMC, _mmc_checks

REPS = 10
CONFIDENCE = 0.999
SHORTER = {  # minutes per case: enough for narrow intervals, ~10 s on two cores in all
    "mm1": 15,
    "mmc": 30,
    "mmck": 15,
    "mmc_abandon": 12,
    "mg1": 25,
    "little": 10,
    "poisson": 6,
    "retry": 5,
    "collapse": 5,
}


# ---------------------------------------------------------------- formulas


def test_erlang_b_and_c_match_tables():
    assert theory.erlang_b(2, 1.0) == pytest.approx(0.2)
    assert theory.erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)  # Erlang B table
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert theory.erlang_c(10, 8.0) == pytest.approx(0.40918, abs=1e-5)
    for c, a in [(1, 0.5), (5, 4.0), (20, 15.0)]:  # the closed form of Erlang C
        top = a**c / math.factorial(c) * c / (c - a)
        direct = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
        assert theory.erlang_c(c, a) == pytest.approx(direct)
    assert theory.mmc_wait_probability(0.6, 1.0, 1) == pytest.approx(0.6)  # M/M/1: rho
    assert theory.mmc_mean_wait(0.5, 1.0, 1) == pytest.approx(1.0)  # rho / (mu - lambda)


def test_mmck_limits():
    # K = c is Erlang B's loss system; M/M/1/K has a closed form.
    assert theory.mmck_blocking(5.0, 1.0, 10, 10) == pytest.approx(theory.erlang_b(10, 5.0))
    rho, k = 0.8, 4
    closed = (1 - rho) * rho**k / (1 - rho ** (k + 1))
    assert theory.mmck_blocking(rho, 1.0, 1, k) == pytest.approx(closed)


def test_erlang_a_limits():
    lam, mu, c = 8.0, 1.0, 10
    patient = theory.erlang_a(lam, mu, c, theta=1e-7)  # patience -> infinity: Erlang C
    assert patient.p_wait == pytest.approx(theory.erlang_c(c, lam / mu), rel=1e-5)
    assert patient.mean_wait_served == pytest.approx(theory.mmc_mean_wait(lam, mu, c), rel=1e-4)
    assert patient.p_abandon < 1e-6
    hasty = theory.erlang_a(lam, mu, c, theta=1e7)  # no patience: the Erlang B loss system
    assert hasty.p_abandon == pytest.approx(theory.erlang_b(c, lam / mu), rel=1e-4)
    # theta = mu: people leave at the same rate whether waiting or served, so the number
    # in system is that of M/M/infinity, Poisson(a), even in overload.
    lam = 12.0
    same = theory.erlang_a(lam, mu, c, theta=mu)
    n = range(c, 200)
    assert same.p_wait == pytest.approx(stats.poisson.sf(c - 1, lam))
    excess = sum((k - c) * stats.poisson.pmf(k, lam) for k in n)
    assert same.p_abandon == pytest.approx(excess / lam)


def test_erlang_a_waits_agree_with_littles_law():
    """The stage argument (waits of those served) against Little's law (everybody)."""
    lam, mu, c, theta = 60.0, 5.0, 10, 2.5
    a = theory.erlang_a(lam, mu, c, theta)
    # Recompute P(served) and E[W] of all arrivals stage by stage, from the same P_n.
    p = [1.0]
    for k in range(1, 400):
        p.append(p[-1] * lam / (min(k, c) * mu + max(k - c, 0) * theta))
    total = sum(p)
    p = [x / total for x in p]
    served, wait = 1 - sum(p[c:]), 0.0
    for k, pn in enumerate(p[c:]):
        reach = 1.0
        for j in range(k, -1, -1):  # j customers ahead
            rate = c * mu + (j + 1) * theta
            wait += pn * reach / rate
            reach *= (c * mu + j * theta) / rate
        served += pn * reach
    assert 1 - served == pytest.approx(a.p_abandon)
    assert wait == pytest.approx(a.mean_wait)
    assert a.mean_wait_served * served < a.mean_wait  # those who left also waited


def test_pollaczek_khinchine():
    lam, mean = 0.7, 1.0
    mm1 = theory.mmc_mean_wait(lam, 1 / mean, 1)
    assert theory.pk_mean_wait(lam, mean, mean**2) == pytest.approx(mm1)  # exponential
    assert theory.pk_mean_wait(lam, mean, 0.0) == pytest.approx(mm1 / 2)  # deterministic
    assert theory.pk_mean_wait(1.0, 1.0, 1.0) == math.inf


def test_retry_formulas():
    assert theory.retry_success(0.5, 3) == pytest.approx(0.9375)
    assert theory.retry_attempts(0.5, 3) == pytest.approx(1.875)
    assert theory.retry_attempts(0.0, 5) == 1.0 and theory.retry_success(0.0, 5) == 1.0
    assert theory.retry_attempts(1.0, 3) == 4.0 and theory.retry_success(1.0, 3) == 0.0
    assert theory.retry_attempts(0.3, 0) == 1.0 and theory.retry_success(0.3, 0) == 0.7
    m = theory.patience_mean_for_failure(0.2, 1.5)
    assert 1 - math.exp(-1.5 / m) == pytest.approx(0.2)


def test_collapse_threshold():
    s0, knee, slope, tau = 1.0, 4, 0.05, 3.0
    lam_star, n_star = theory.collapse_rate(s0, knee, slope, tau)
    assert n_star == pytest.approx(44.0)
    assert s0 * theory.slowdown_factor(n_star, knee, slope) == pytest.approx(tau)
    assert lam_star == pytest.approx(n_star / (s0 * theory.slowdown_factor(n_star, knee, slope)))
    # Throughput falling past the knee (slope knee >= 1): the knee is the best point.
    assert theory.collapse_rate(1.0, 20, 0.1, 3.0)[0] == pytest.approx(20.0)
    assert theory.collapse_rate(1.0, 4, 0.05, 0.5)[0] == 0.0  # timeout below service time


# ---------------------------------------------------------------- through the engine


def _wrong(case: Case, checks) -> Case:
    """The same scenarios (so the same runs: jobs are shared by key) with wrong theory."""
    return dataclasses.replace(case, name=f"{case.name}_wrong", checks=checks)


WRONG = {
    "mmc with theory for c - 1 workers": _wrong(
        MMC, lambda p, sc, runs: _mmc_checks({**p, "c": p["c"] - 1}, sc, runs)
    ),
    "mg1 with the exponential's variance (the M/M/1 wait)": _wrong(
        MG1,
        lambda p, _sc, runs: [
            Check(
                "M/M/1 wait",
                theory.mmc_mean_wait(p["lam"], 1 / p["mean"], 1),
                metric(runs[0], "services.queue.mean_wait_s"),
            )
        ],
    ),
}


@pytest.fixture(scope="module")
def rows():
    cases = all_cases()
    requests = [(c, {**c.defaults(), "minutes": SHORTER[name]}) for name, c in cases.items()]
    for wrong in WRONG.values():  # same parameters as the right case: no extra runs
        right = wrong.name.removesuffix("_wrong")
        requests.append((wrong, {**wrong.defaults(), "minutes": SHORTER[right]}))
    return validate(requests, REPS, confidence=CONFIDENCE)


@pytest.mark.parametrize("name", list(SHORTER))
def test_case_passes_at_default_parameters(rows, name):
    mine = [r for r in rows if r.case == name]
    assert mine, f"no rows for {name}"
    for row in mine:
        assert row.passed, row
        assert row.reps == REPS


@pytest.mark.parametrize("label", list(WRONG))
def test_a_wrong_theory_fails(rows, label):
    wrong = [r for r in rows if r.case == WRONG[label].name]
    assert wrong and not any(r.passed for r in wrong), wrong


def test_parse_params():
    mmc = all_cases()["mmc"]
    params = parse_params(mmc, ["--lam", "47", "--mu=5", "--c", "12"])
    assert params == {"lam": 47.0, "mu": 5.0, "c": 12, "minutes": 120}
    poisson = all_cases()["poisson"]
    assert parse_params(poisson, ["--rates", "1,0,3"])["rates"] == (1.0, 0.0, 3.0)
    for bad in (["--lamb", "3"], ["--lam", "x"], ["--c", "2.5"], ["--lam"], ["--lam", "-1"]):
        with pytest.raises(ValidationInputError):
            parse_params(mmc, bad)
    with pytest.raises(ValidationInputError, match="unstable"):
        parse_params(mmc, ["--lam", "10"])


# ---------------------------------------------------------------- command line


def invoke(*args: str):
    return CliRunner().invoke(app, ["validate", *map(str, args)])


def test_cli_json_rows():
    result = invoke("poisson", "--minutes", 3, "--reps", 3, "--jobs", 1, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 4
    for row in rows:
        assert {
            "case",
            "params",
            "metric",
            "theory",
            "sim_mean",
            "ci_low",
            "ci_high",
            "pass",
        } <= set(row)
        assert row["case"] == "poisson" and row["params"]["minutes"] == 3
        assert row["ci_low"] <= row["sim_mean"] <= row["ci_high"] and row["pass"] is True


def test_cli_exits_1_when_a_check_fails():
    # Just below the collapse threshold the goodput is no longer high: the check fails.
    result = invoke("collapse", "--below", 0.99, "--minutes", 4, "--reps", 3, "--jobs", 1)
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["nope"],
        ["mmc", "--lamb", "3"],
        ["mmc", "--lam", "x"],
        ["mmc", "--lam", "10"],  # unstable
        ["mmc", "7"],
        ["--lam", "3"],  # parameters without a case
        ["mg1", "--dist", "weibull"],
    ],
)
def test_cli_bad_input_exits_2(args):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("error:")
