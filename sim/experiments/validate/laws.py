"""The other cases of `sim validate`: a law on a run, the arrival process, retries and
the collapse of a slowing server under a client timeout.

``little`` checks Little's law where it is an identity (a run that drains), ``poisson``
the open source's piecewise-constant Poisson process, ``retry`` the people layer's retry
loop against the geometric formulas, and ``collapse`` the threshold derived in
:func:`sim.experiments.validate.theory.collapse_rate`.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from sim.config.scenario import Scenario
from sim.experiments.validate import theory
from sim.experiments.validate.checks import (
    BIG,
    WARMUP_MIN,
    Case,
    Check,
    Param,
    Runs,
    Value,
    metric,
    minutes_param,
    mmc_params,
    one_queue,
    series_total,
)

LITTLE_DRAIN_MIN = 5
IDENTITY_TOLERANCE = 1e-9
"""Relative slack of an exact identity: sums of floating-point time-weighted areas."""


# ---------------------------------------------------------------- Little's law


def _little_scenarios(p: dict[str, Value]) -> list[dict[str, Any]]:
    """M/M/c whose arrivals stop `LITTLE_DRAIN_MIN` minutes before the end."""
    minutes = p["minutes"]
    return [
        one_queue(
            "little",
            minutes=minutes + LITTLE_DRAIN_MIN,
            rates=[(0, p["lam"]), (minutes, 0.0)],
            workers=p["c"],
            service={"kind": "exponential", "mean_s": 1 / p["mu"]},
        )
    ]


def _little_checks(p: dict[str, Value], _sc: list[Scenario], runs: Runs) -> list[Check]:
    """L_q = lambda W_q on each run, and the utilisation law (Little on the workers).

    Every request arrives after the (empty) start and has left before the end, so the
    area under the queue length equals the sum of the waits: on each run,
    ``mean_queue = (arrivals / T) * mean_wait`` exactly (T the run length), which the
    first check verifies to 1e-9. The second is statistical: the mean number of busy
    workers is lambda' E[S] with lambda' the arrival rate averaged over the run.
    """
    (reps,) = runs
    total_s = 60.0 * (p["minutes"] + LITTLE_DRAIN_MIN)
    ratios = []
    for r in reps:
        m = r["metrics"]
        lam_hat = m["services.queue.arrivals"] / total_s
        ratios.append(m["services.queue.mean_queue"] / (lam_hat * m["services.queue.mean_wait_s"]))
    busy = [u * p["c"] for u in metric(reps, "services.queue.utilization")]
    share = p["minutes"] / (p["minutes"] + LITTLE_DRAIN_MIN)
    return [
        Check("L_q / (lambda W_q), per run", 1.0, ratios, tolerance=IDENTITY_TOLERANCE),
        Check("mean busy workers = lambda E[S]", p["lam"] * share / p["mu"], busy),
    ]


LITTLE = Case(
    "little",
    "Little's law on a run: mean queue = arrival rate x mean wait",
    (
        *mmc_params(8.0, 1.0, 10),
        minutes_param(30, f"minutes of arrivals (then {LITTLE_DRAIN_MIN} minutes to drain)"),
    ),
    _little_scenarios,
    _little_checks,
    lambda p: None if p["lam"] < p["c"] * p["mu"] else "the queue must drain: lam < c mu",
)


# ---------------------------------------------------------------- Poisson arrivals


def _poisson_checks(p: dict[str, Value], _sc: list[Scenario], runs: Runs) -> list[Check]:
    """Counts per piece, and the dispersion of per-minute counts within a piece.

    Given the total N of a piece of m minutes, Poisson counts per minute are multinomial
    with equal cells, whose sample variance has expectation exactly N / m, the sample
    mean: the ratio variance / mean averages to 1 (a deterministic or bursty stream with
    the right rate would give 0 or much more).
    """
    (reps,) = runs
    m = p["minutes"]
    checks = []
    bounds = [(i * m, (i + 1) * m) for i in range(len(p["rates"]))]
    for i, (rate, (lo, hi)) in enumerate(zip(p["rates"], bounds, strict=True)):
        counts = [float(sum(r["series"]["intended"][lo:hi])) for r in reps]
        checks.append(Check(f"arrivals in piece {i + 1} ({rate:g}/s)", rate * 60 * m, counts))
    dispersion = []
    for r in reps:
        pieces = [r["series"]["intended"][lo:hi] for lo, hi in bounds]
        ratios = [statistics.variance(x) / statistics.mean(x) for x in pieces if sum(x) > 0]
        dispersion.append(statistics.mean(ratios))
    checks.append(Check("per-minute count variance / mean", 1.0, dispersion))
    return checks


POISSON = Case(
    "poisson",
    "piecewise-constant Poisson arrivals: counts per piece, dispersion",
    (
        Param("rates", (2.0, 10.0, 0.5), "rate of each piece (1/s)", strict=False),
        minutes_param(20, "minutes per piece", least=2),
    ),
    lambda p: [
        one_queue(
            "poisson",
            minutes=p["minutes"] * len(p["rates"]),
            rates=[(i * p["minutes"], r) for i, r in enumerate(p["rates"])],
            workers=BIG,
            service={"kind": "deterministic", "value_s": 0.0},
        )
    ],
    _poisson_checks,
    lambda p: None if any(p["rates"]) else "need a rate > 0",
)


# ---------------------------------------------------------------- retries


SERVICE_S = 1.0
RETRY_TAIL_MIN = 2  # minutes after the last arrival: every retry loop has ended


def _retry_scenarios(p: dict[str, Value]) -> list[dict[str, Any]]:
    """Each attempt fails with probability p, independently.

    The service has unlimited workers and a deterministic 1 s service, so every response
    takes exactly 1 s; each attempt draws an exponential patience with mean
    ``-1 / ln(1 - p)``, so ``P(patience < 1 s) = p``: the attempt times out. Patience
    draws are independent, hence so are the failures.
    """
    return [
        one_queue(
            "retry",
            minutes=p["minutes"] + RETRY_TAIL_MIN,
            rates=[(0, p["lam"]), (p["minutes"], 0.0)],
            workers=BIG,
            service={"kind": "deterministic", "value_s": SERVICE_S},
            behaviour={
                "patience": {
                    "kind": "exponential",
                    "mean_s": theory.patience_mean_for_failure(p["p"], SERVICE_S),
                },
                "retry_probability": 1.0,
                "max_attempts": p["attempts"],
                "backoff": {"kind": "constant", "delay_s": 1.0},
            },
        )
    ]


def _retry_checks(p: dict[str, Value], _sc: list[Scenario], runs: Runs) -> list[Check]:
    (reps,) = runs
    fail, retries = p["p"], p["attempts"] - 1
    people = metric(reps, "kpi.arrived")
    ok = metric(reps, "kpi.in_class")
    attempts = metric(reps, "kpi.attempts")
    return [
        Check(
            "success share 1 - p^(n+1)",
            theory.retry_success(fail, retries),
            [s / n for s, n in zip(ok, people, strict=True)],
        ),
        Check(
            "attempts per request (1 - p^(n+1)) / (1 - p)",
            theory.retry_attempts(fail, retries),
            [a / n for a, n in zip(attempts, people, strict=True)],
        ),
        Check("failed share of attempts = p", fail, metric(reps, "kpi.failed_attempts_share")),
    ]


RETRY = Case(
    "retry",
    "retry amplification when each attempt fails with probability p",
    (
        Param("p", 0.5, "probability that an attempt fails"),
        Param("attempts", 4, "max attempts (n = attempts - 1 retries)"),
        Param("lam", 10.0, "requests per second"),
        minutes_param(15, f"minutes of arrivals (then {RETRY_TAIL_MIN} to finish)"),
    ),
    _retry_scenarios,
    _retry_checks,
    lambda p: None if p["p"] < 1 else "--p must be < 1",
)


# ---------------------------------------------------------------- collapse

GOODPUT_HIGH = 0.9
GOODPUT_LOW = 0.1


def _collapse_scenarios(p: dict[str, Value]) -> list[dict[str, Any]]:
    """The same slowing server fed at `below` and at `above` times lambda*.

    The setting of :func:`sim.experiments.validate.theory.collapse_rate`: unlimited
    workers and no backlog (so nothing queues and concurrency is free to grow), a
    deterministic unloaded service time s0 stretched by the linear slowdown, and a
    deterministic client timeout on the whole response. A late request is not cancelled:
    its work goes on (wasted), which is what keeps the concurrency, and the slowdown,
    high above lambda*.
    """
    lam_star, _ = theory.collapse_rate(p["s0"], p["knee"], p["slope"], p["timeout"])
    return [
        one_queue(
            f"collapse-{side}",
            minutes=p["minutes"],
            rate=p[side] * lam_star,
            workers=BIG,
            backlog=0,
            service={"kind": "deterministic", "value_s": p["s0"]},
            slowdown={"kind": "linear", "knee": p["knee"], "slope": p["slope"]},
            behaviour={
                "patience": {"kind": "deterministic", "value_s": p["timeout"]},
                "max_attempts": 1,
            },
        )
        for side in ("below", "above")
    ]


def _collapse_checks(p: dict[str, Value], _sc: list[Scenario], runs: Runs) -> list[Check]:
    """Goodput on each side of lambda*: of the requests resolved after the warm-up
    (answered, or timed out: the person gives up), the share answered in time. Both are
    counted when they happen, so the share lies in [0, 1] whatever the horizon."""
    lam_star, _ = theory.collapse_rate(p["s0"], p["knee"], p["slope"], p["timeout"])
    below, above = ([_goodput(r) for r in reps] for reps in runs)
    return [
        Check(
            f"goodput at {p['below']:g} x lambda* = {p['below'] * lam_star:.3g}/s",
            1.0,
            below,
            "above",
            GOODPUT_HIGH,
        ),
        Check(
            f"goodput at {p['above']:g} x lambda* = {p['above'] * lam_star:.3g}/s",
            0.0,
            above,
            "below",
            GOODPUT_LOW,
        ),
    ]


def _goodput(record: dict[str, Any]) -> float:
    ok = series_total(record, "successes", WARMUP_MIN)
    late = series_total(record, "gave_up", WARMUP_MIN)
    return ok / (ok + late) if ok + late else math.nan


def _collapse_constraints(p: dict[str, Value]) -> str | None:
    if not p["below"] < 1 < p["above"]:
        return "need --below < 1 < --above"
    if p["timeout"] <= p["s0"]:
        return "the timeout must exceed the unloaded service time s0"
    return None


COLLAPSE = Case(
    "collapse",
    "goodput around lambda*: a server slowing under load, timeouts",
    (
        Param("s0", 1.0, "unloaded service time (s)"),
        Param("knee", 4, "requests in progress before the slowdown starts"),
        Param("slope", 0.05, "time x (1 + slope (n - knee)) above the knee"),
        Param("timeout", 3.0, "client timeout on the response (s)"),
        Param("below", 0.8, "arrival rate below, as a share of lambda*"),
        Param("above", 1.2, "arrival rate above, as a multiple of lambda*"),
        minutes_param(12, least=WARMUP_MIN + 1),
    ),
    _collapse_scenarios,
    _collapse_checks,
    _collapse_constraints,
)

LAW_CASES = (LITTLE, POISSON, RETRY, COLLAPSE)
