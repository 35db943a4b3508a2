"""The engine against queueing theory, run as scenario files through ``sim.simulation.runner.run``.

Each check runs independent replications and compares the replication mean with the
formula. The tolerance is derived from the standard error of that mean: the test fails
if theory is outside mean +- t(0.999, n-1) * SE (false alarm 1 in 1000 for a correct
engine with a different seed; the seed is fixed, so the test is deterministic). A wrong
number of workers, a mis-scaled service time or a queue that serves out of order moves
the estimate by many standard errors.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

from sim.experiments.validate import theory
from sim.simulation.runner import run
from tests.conftest import scenario

REPLICATIONS = 12


@functools.cache
def _runs(name: str) -> tuple:
    sc = scenario(name)
    return tuple(run(sc.flat, replication=k) for k in range(REPLICATIONS))


def _replicate(name: str, metric) -> np.ndarray:
    return np.array([metric(r) for r in _runs(name)])


def _assert_within_ci(samples: np.ndarray, expected: float) -> None:
    mean = samples.mean()
    se = samples.std(ddof=1) / np.sqrt(len(samples))
    half_width = stats.t.ppf(0.9995, len(samples) - 1) * se
    assert abs(mean - expected) <= half_width, (
        f"theory {expected:.5f} outside {mean:.5f} +- {half_width:.5f} (SE {se:.5f})"
    )
    # The check must be able to fail: the interval is narrow relative to the value
    # (one worker more or less moves the M/M/10 mean wait by more than 50 %).
    assert half_width < 0.2 * expected


def test_mmc_mean_wait_matches_erlang_c():
    expected = theory.mmc_mean_wait(lam=8.0, mu=1.0, c=10)
    waits = _replicate("mmc", lambda r: r.service_summary["queue"]["mean_wait_s"])
    _assert_within_ci(waits, expected)


def test_mmc_utilization_is_offered_load_per_worker():
    util = _replicate("mmc", lambda r: r.service_summary["queue"]["utilization"])
    _assert_within_ci(util, 8.0 / 10)


def test_mmck_blocking_probability():
    expected = theory.mmck_blocking(lam=3.0, mu=1.0, c=2, capacity=5)
    share = _replicate(
        "mmck",
        lambda r: r.service_summary["queue"]["rejected"] / r.service_summary["queue"]["arrivals"],
    )
    _assert_within_ci(share, expected)


def test_mmck_mean_wait_of_admitted():
    expected = theory.mmck_mean_wait(lam=3.0, mu=1.0, c=2, capacity=5)
    waits = _replicate("mmck", lambda r: r.service_summary["queue"]["mean_wait_s"])
    _assert_within_ci(waits, expected)


def test_theory_formulas_on_known_values():
    # Erlang B(2, 1) = 0.2; Erlang C(2, 1) = 1/3 (textbook values).
    assert theory.erlang_b(2, 1.0) == pytest.approx(0.2)
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # M/M/1: W_q = rho / (mu - lambda)
    assert theory.mmc_mean_wait(0.5, 1.0, 1) == pytest.approx(1.0)
