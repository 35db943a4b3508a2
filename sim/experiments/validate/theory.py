"""Textbook queueing formulas, to check the engine against (and to teach with).

All rates are per second; ``c`` is the number of workers, ``K`` the system capacity
(workers plus waiting places).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(c: int, offered: float) -> float:
    """Blocking probability of M/M/c/c with offered load ``a = lambda / mu`` (stable recursion)."""
    b = 1.0
    for k in range(1, c + 1):
        b = offered * b / (k + offered * b)
    return b


def erlang_c(c: int, offered: float) -> float:
    """Probability that an arrival waits in M/M/c (``offered = lambda / mu < c``)."""
    if offered >= c:
        return 1.0
    b = erlang_b(c, offered)
    rho = offered / c
    return b / (1 - rho + rho * b)


def mmc_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue W_q of M/M/c."""
    offered = lam / mu
    if offered >= c:
        return math.inf
    return erlang_c(c, offered) / (c * mu - lam)


def mmck_state_probabilities(lam: float, mu: float, c: int, capacity: int) -> list[float]:
    """Stationary distribution P_0..P_K of M/M/c/K."""
    weights = [1.0]
    for n in range(1, capacity + 1):
        weights.append(weights[-1] * lam / (mu * min(n, c)))
    total = sum(weights)
    return [w / total for w in weights]


def mmck_blocking(lam: float, mu: float, c: int, capacity: int) -> float:
    """Probability that an arrival to M/M/c/K finds the system full (PASTA)."""
    return mmck_state_probabilities(lam, mu, c, capacity)[-1]


def mmck_mean_wait(lam: float, mu: float, c: int, capacity: int) -> float:
    """Mean time in queue of *admitted* customers of M/M/c/K (Little's law on L_q)."""
    p = mmck_state_probabilities(lam, mu, c, capacity)
    lq = sum((n - c) * pn for n, pn in enumerate(p) if n > c)
    return lq / (lam * (1 - p[-1]))


def mmc_wait_probability(lam: float, mu: float, c: int) -> float:
    """Probability that an arrival to M/M/c has to wait (Erlang C; 1 when unstable)."""
    return erlang_c(c, lam / mu)


# ---------------------------------------------------------------- Erlang A (M/M/c+M)


@dataclass(frozen=True)
class ErlangA:
    """Steady state of M/M/c+M: Poisson arrivals, c exponential workers, an unlimited
    FIFO queue whose customers leave after an exponential patience (rate theta).

    `mean_wait` is over every arrival (an abandoning customer counts the time until it
    left), `mean_wait_served` over those who reached a worker: the engine measures the
    latter (a wait is recorded when service starts).
    """

    p_wait: float
    p_abandon: float
    mean_wait: float
    mean_wait_served: float


def erlang_a(lam: float, mu: float, c: int, theta: float, n_max: int = 1_000_000) -> ErlangA:
    """M/M/c+M by its birth-death chain truncated at `n_max` customers.

    In state n the death rate is ``min(n, c) mu + max(n - c, 0) theta``; with theta > 0
    the chain is stable at any load and its tail decays faster than geometrically, so the
    default truncation (far beyond where the weights underflow) is exact in floating
    point (the loop stops once the weights fall below double precision). theta = 0 is
    M/M/c (Erlang C; needs lam < c mu).

    Arrivals see the stationary state (PASTA). A customer who finds k others waiting
    moves up one place at rate ``c mu + j theta`` while j are ahead of it and leaves at
    rate theta, so it reaches a worker with probability ``prod_{j=0..k} (c mu + j theta)
    / (c mu + (j+1) theta)``; the time spent at each place is exponential and independent
    of which event ends it, hence ``E[W | served, k] = sum_{j=0..k} 1 / (c mu + (j+1)
    theta)``.
    """
    if theta <= 0:
        return _erlang_a_as_c(lam, mu, c)
    log_w = [0.0]  # log of the unnormalised P_n, in logs: a^c / c! overflows for big c
    top = 0.0
    for n in range(1, n_max + 1):
        log_w.append(log_w[-1] + math.log(lam / (min(n, c) * mu + max(n - c, 0) * theta)))
        top = max(top, log_w[-1])
        if n > c and log_w[-1] < top - 750:  # past the peak and below double precision
            break
    weights = [math.exp(x - top) for x in log_w]
    total = sum(weights)
    p = [w / total for w in weights]
    p_wait = served = wait_served = 0.0
    lq = sum((n - c) * pn for n, pn in enumerate(p) if n > c)
    reach, stage_sum = 1.0, 0.0  # P(served | k ahead) and E[W | served, k], built up in k
    for k, pn in enumerate(p[c:]):
        stage = c * mu + (k + 1) * theta
        reach *= (c * mu + k * theta) / stage
        stage_sum += 1.0 / stage
        p_wait += pn
        served += pn * reach
        wait_served += pn * reach * stage_sum
    served += 1.0 - p_wait  # customers who find a free worker are served at once
    return ErlangA(
        p_wait=p_wait,
        p_abandon=theta * lq / lam,  # abandonment rate theta L_q over arrival rate
        mean_wait=lq / lam,  # Little's law on the queue
        mean_wait_served=wait_served / served,
    )


def _erlang_a_as_c(lam: float, mu: float, c: int) -> ErlangA:
    p_wait = erlang_c(c, lam / mu)
    wait = mmc_mean_wait(lam, mu, c)
    return ErlangA(p_wait=p_wait, p_abandon=0.0, mean_wait=wait, mean_wait_served=wait)


# ---------------------------------------------------------------- M/G/1


def pk_mean_wait(lam: float, mean_s: float, variance_s2: float) -> float:
    """Pollaczek-Khinchine: mean time in queue of M/G/1, ``lam E[S^2] / (2 (1 - rho))``.

    Only the service time's mean and variance matter (``E[S^2] = var + mean^2``): a
    deterministic service halves the M/M/1 wait at the same load.
    """
    rho = lam * mean_s
    if rho >= 1:
        return math.inf
    return lam * (variance_s2 + mean_s**2) / (2 * (1 - rho))


# ---------------------------------------------------------------- retries


def retry_success(p_fail: float, retries: int) -> float:
    """Share of requests that succeed when each of ``retries + 1`` independent attempts
    fails with probability `p_fail`: ``1 - p^(n+1)``."""
    return 1.0 - p_fail ** (retries + 1)


def retry_attempts(p_fail: float, retries: int) -> float:
    """Mean attempts per request: ``sum_{k=0..n} p^k = (1 - p^(n+1)) / (1 - p)``, the
    load amplification of retries (n + 1 when every attempt fails)."""
    if p_fail == 1:
        return retries + 1.0
    return (1.0 - p_fail ** (retries + 1)) / (1.0 - p_fail)


def patience_mean_for_failure(p_fail: float, service_s: float) -> float:
    """Mean of an exponential patience that runs out before a deterministic response of
    `service_s` with probability `p_fail`: ``P(Exp(m) < s) = 1 - exp(-s/m) = p``."""
    return -service_s / math.log1p(-p_fail)


# ---------------------------------------------------------------- collapse


def slowdown_factor(n: float, knee: float, slope: float) -> float:
    """Linear slowdown: service time x ``1 + slope (n - knee)`` above the knee."""
    return 1.0 + slope * (n - knee) if n > knee else 1.0


def collapse_rate(s0: float, knee: float, slope: float, timeout_s: float) -> tuple[float, float]:
    """Arrival rate above which a slowing server under a client timeout serves nobody
    in time, and the concurrency n* at which that happens: ``(lambda*, n*)``.

    Fluid argument, for a server with unlimited workers whose requests take
    ``s(n) = s0 (1 + slope (n - knee))`` when n are in progress (the engine fixes each
    request's time when it starts). Its throughput at concurrency n is
    ``X(n) = n / s(n)``; at arrival rate lambda the concurrency settles where
    ``X(n) = lambda`` (Little's law, ``n = lambda s(n)``), and every response takes s(n).
    Clients wait `timeout_s` = tau: responses stay in time while ``s(n) <= tau``, i.e.
    up to ``n* = knee + (tau / s0 - 1) / slope``. The largest rate served in time is
    the largest throughput at a concurrency up to n*: ``lambda* = max_{n <= n*} X(n)``,
    which is ``X(n*) = n* / tau`` when X grows with n (``slope knee < 1``) and
    ``knee / s0`` otherwise. Above lambda* the concurrency passes n*, every response is
    late, the clients have left but the server still does the work: goodput collapses
    to zero while the server is fully busy.
    """
    if timeout_s < s0:
        return 0.0, 0.0
    if slope == 0:
        return math.inf, math.inf
    n_star = knee + (timeout_s / s0 - 1.0) / slope
    return max(n_star / timeout_s, knee / s0), n_star
