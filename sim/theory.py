"""Textbook queueing formulas, to check the engine against (and to teach with).

All rates are per second; ``c`` is the number of workers, ``K`` the system capacity
(workers plus waiting places).
"""

from __future__ import annotations

import math


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
