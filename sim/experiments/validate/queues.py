"""The queue cases of `sim validate`: steady-state formulas of single queues.

``mm1``, ``mmc``, ``mmck``, ``mmc_abandon`` and ``mg1`` are one Poisson source, one
service and no retries. Their formulas are compared with statistics measured after a
warm-up (waits of requests submitted after it, shares from the per-minute series after
it), so the empty start biases nothing measurable. Defaults are chosen so that every
case together runs in under a minute on two cores at 10 replications, with intervals a
few per cent wide.
"""

from __future__ import annotations

import math
from typing import Any

from sim.config.scenario import Scenario
from sim.engine.dists import from_spec
from sim.experiments.validate import theory
from sim.experiments.validate.checks import (
    WARMUP_MIN,
    Case,
    Check,
    Param,
    Runs,
    Value,
    minutes_param,
    mmc_params,
    one_queue,
    share_and_wait,
    wait_probe,
)


def _exp(mean_s: float) -> dict[str, Any]:
    return {"kind": "exponential", "mean_s": mean_s}


def _minutes(default: int) -> Param:
    """Run length: at least a minute measured after the warm-up."""
    return minutes_param(default, least=WARMUP_MIN + 1)


def _queue(name: str, p: dict[str, Value], **spec: Any) -> list[dict[str, Any]]:
    """The case's one scenario: `p`'s arrival rate ``lam`` for ``minutes``, statistics
    after the warm-up; `spec` the service and behaviour (:func:`one_queue`)."""
    return [one_queue(name, minutes=p["minutes"], rate=p["lam"], warmup_min=WARMUP_MIN, **spec)]


def _stable(p: dict[str, Value]) -> str | None:
    load = p["lam"] / (p["c"] * p["mu"])
    return None if load < 1 else f"unstable: lam / (c mu) = {load:.3g} must be < 1"


# ---------------------------------------------------------------- M/M/c (and M/M/1)


def _mmc_scenarios(p: dict[str, Value]) -> list[dict[str, Any]]:
    return _queue("mmc", p, workers=p["c"], service=_exp(1 / p["mu"]), behaviour=wait_probe())


def _mmc_checks(p: dict[str, Value], _sc: list[Scenario], runs: Runs) -> list[Check]:
    lam, mu, c = p["lam"], p["mu"], p["c"]
    return share_and_wait(
        runs,
        (
            "P(wait) = rho" if c == 1 else "P(wait) (Erlang C)",
            theory.mmc_wait_probability(lam, mu, c),
        ),
        ("mean wait W_q (s)", theory.mmc_mean_wait(lam, mu, c)),
    )


MMC = Case(
    "mmc",
    "M/M/c: Erlang C probability of waiting and mean wait",
    (
        *mmc_params(8.0, 1.0, 10),
        _minutes(120),
    ),
    _mmc_scenarios,
    _mmc_checks,
    _stable,
)

MM1 = Case(
    "mm1",
    "M/M/1: P(wait) = rho and W_q = rho / (mu - lam)",
    (
        Param("lam", 6.0, "arrival rate (1/s)"),
        Param("mu", 10.0, "service rate (1/s)"),
        _minutes(60),
    ),
    lambda p: _mmc_scenarios({**p, "c": 1}),
    lambda p, sc, runs: _mmc_checks({**p, "c": 1}, sc, runs),
    lambda p: _stable({**p, "c": 1}),
)


# ---------------------------------------------------------------- M/M/c/K


def _mmck_checks(p: dict[str, Value], _sc: list[Scenario], runs: Runs) -> list[Check]:
    lam, mu, c, k = p["lam"], p["mu"], p["c"], p["K"]
    return share_and_wait(
        runs,
        ("P(blocked)", theory.mmck_blocking(lam, mu, c, k)),
        ("mean wait of admitted (s)", theory.mmck_mean_wait(lam, mu, c, k)),
    )


MMCK = Case(
    "mmck",
    "M/M/c/K: blocking (a full backlog rejects), wait of the admitted",
    (
        *mmc_params(3.0, 1.0, 2),
        Param("K", 5, "system capacity: workers + waiting places"),
        _minutes(60),
    ),
    lambda p: _queue("mmck", p, workers=p["c"], backlog=p["K"] - p["c"], service=_exp(1 / p["mu"])),
    _mmck_checks,
    lambda p: None if p["K"] >= p["c"] else "K (workers + waiting places) must be >= c",
)


# ---------------------------------------------------------------- Erlang A


def _abandon_checks(p: dict[str, Value], _sc: list[Scenario], runs: Runs) -> list[Check]:
    a = theory.erlang_a(p["lam"], p["mu"], p["c"], 1 / p["patience"])
    return share_and_wait(
        runs,
        ("P(abandon) (Erlang A)", a.p_abandon),
        ("mean wait of served (s)", a.mean_wait_served),
    )


MMC_ABANDON = Case(
    "mmc_abandon",
    "M/M/c+M (Erlang A): abandonment and wait of the served",
    (
        *mmc_params(12.0, 1.0, 10),
        Param("patience", 2.0, "mean patience (s), theta = 1 / patience"),
        _minutes(40),
    ),
    lambda p: _queue(
        "mmc_abandon",
        p,
        workers=p["c"],
        service=_exp(1 / p["mu"]),
        behaviour={"patience": _exp(p["patience"]), "patience_covers": "wait", "max_attempts": 1},
        drop_abandoned=True,  # those who left leave the queue: the Erlang A model
    ),
    _abandon_checks,
)


# ---------------------------------------------------------------- M/G/1


def _service_spec(p: dict[str, Value]) -> dict[str, Any]:
    dist, mean, cv = p["dist"], p["mean"], p["cv"]
    if dist == "deterministic":
        return {"kind": "deterministic", "value_s": mean}
    if dist == "exponential":
        return _exp(mean)
    if dist == "uniform":
        half = mean * cv * math.sqrt(3)
        return {"kind": "uniform", "low_s": mean - half, "high_s": mean + half}
    return {"kind": dist, "mean_s": mean, "cv": cv}


def _mg1_checks(p: dict[str, Value], scenarios: list[Scenario], runs: Runs) -> list[Check]:
    service = from_spec(scenarios[0].services["queue"].service_time)
    lam = p["lam"]
    return share_and_wait(
        runs,
        ("P(wait) = rho", lam * service.mean),
        (
            "mean wait W_q (s) (Pollaczek-Khinchine)",
            theory.pk_mean_wait(lam, service.mean, service.variance),
        ),
    )


def _mg1_constraints(p: dict[str, Value]) -> str | None:
    if p["lam"] * p["mean"] >= 1:
        return f"unstable: rho = lam mean = {p['lam'] * p['mean']:.3g} must be < 1"
    if p["dist"] == "uniform" and p["cv"] > 1 / math.sqrt(3):
        return "a uniform service time has cv <= 0.577"
    return None


MG1 = Case(
    "mg1",
    "M/G/1: Pollaczek-Khinchine mean wait (service mean and variance)",
    (
        Param("lam", 7.0, "arrival rate (1/s)"),
        Param("mean", 0.1, "mean service time (s)"),
        Param(
            "dist",
            "lognormal",
            "service time distribution",
            choices=("deterministic", "exponential", "lognormal", "gamma", "uniform"),
        ),
        Param("cv", 1.5, "sd / mean (lognormal, gamma, uniform)"),
        _minutes(90),
    ),
    lambda p: _queue("mg1", p, workers=1, service=_service_spec(p), behaviour=wait_probe()),
    _mg1_checks,
    _mg1_constraints,
)


QUEUE_CASES = (MM1, MMC, MMCK, MMC_ABANDON, MG1)
