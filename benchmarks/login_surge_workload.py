"""The login surge of ``bench_commands.py``, shared by its two standalone implementations.

``simpy_login_surge.py`` (idiomatic SimPy) and ``lean_login_surge.py`` (a hand-written
heapq loop) import from here what must be the same in both, so that they cannot drift:
the workload's constants, the arrival times, the seeding of the two random streams, and
the command line with its printed and JSON output. NumPy and the standard library only
(no SimPy: the lean loop runs without it). The workload itself is described in
``simpy_login_surge.py``'s docstring.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
from collections.abc import Callable

import numpy as np

FULL_USERS = 720_000  # the users the rates and the workers below are written for
FULL_WORKERS = 320
START_S = 8.5 * 3600  # 08:30: the simulation and the first bin start
END_S = 10 * 3600  # 10:00: the simulation ends (everybody is done long before)
SURGE_END_S = 9.5 * 3600  # 09:30: the last bin ends, nobody arrives after
BIN_S = 5.0
PEAK_S = 8 * 3600 + 57 * 60  # 08:57
SPREAD_S = 6 * 60.0
RATE_DECIMALS = 4  # the rates as written in the scenario file

MEAN_SERVICE_S = 0.5
MEAN_PATIENCE_S = 20.0
RETRY_PROBABILITY = 0.8
MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 5.0
BACKOFF_FACTOR = 2.0
BACKOFF_MAX_S = 60.0


def full_rates_per_s() -> list[float]:
    """Arrivals per second in each 5-second bin from 08:30 to 09:30, for FULL_USERS users
    expected: the normal bell's mass in the bin, over its mass in the window."""

    def cdf(t: float) -> float:
        return 0.5 * (1.0 + math.erf((t - PEAK_S) / (SPREAD_S * math.sqrt(2.0))))

    bins = round((SURGE_END_S - START_S) / BIN_S)
    edges = [START_S + i * BIN_S for i in range(bins + 1)]
    window = cdf(SURGE_END_S) - cdf(START_S)
    return [
        round(FULL_USERS * (cdf(hi) - cdf(lo)) / window / BIN_S, RATE_DECIMALS)
        for lo, hi in itertools.pairwise(edges)
    ]


def workers_for(users: int) -> int:
    """The workers for `users` expected users: FULL_WORKERS scaled alike (at least one),
    rounded as ``sim --scale`` rounds them."""
    return max(1, round(FULL_WORKERS * (users / FULL_USERS)))


def arrival_times(users: int, rng: np.random.Generator) -> np.ndarray:
    """The users' arrival times: a Poisson count per bin, uniform times within it."""
    factor = users / FULL_USERS
    rates = np.array(full_rates_per_s()) * factor
    starts = START_S + BIN_S * np.arange(len(rates))
    counts = rng.poisson(rates * BIN_S)
    times = np.repeat(starts, counts) + rng.uniform(0.0, BIN_S, counts.sum())
    return np.sort(times)


def random_streams(users: int, seed: int) -> tuple[list[float], random.Random]:
    """The arrival times (sorted) and the generator of every other draw, for `seed`: two
    independent streams spawned from one seed, so that a model consuming the second one
    differently still sees the same arrivals."""
    arrivals_seed, draws_seed = np.random.SeedSequence(seed).spawn(2)
    times = arrival_times(users, np.random.default_rng(arrivals_seed)).tolist()
    return times, random.Random(int(draws_seed.generate_state(1)[0]))


def statistics(
    users_expected: int,
    seed: int,
    users: int,
    served: int,
    attempts: int,
    waits: int,
    wait_sum: float,
    simulation_s: float,
) -> dict:
    """The result of one run, as both scripts print it (``--json``)."""
    return {
        "users_expected": users_expected,
        "workers": workers_for(users_expected),
        "seed": seed,
        "users": users,
        "share_served": served / users if users else math.nan,
        "mean_attempts": attempts / users if users else math.nan,
        "mean_wait_s": wait_sum / waits if waits else math.nan,
        "simulation_s": simulation_s,
    }


def command_line(
    login_surge: Callable[[int, int], dict], description: str, argv: list[str] | None
) -> int:
    """``--users N --seed K [--json]``: run `login_surge` once and print its statistics."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--users", type=int, default=45_000, help="expected users")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random numbers")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    if args.seed < 0:
        parser.error("--seed must be at least 0")
    result = login_surge(args.users, args.seed)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"users {result['users']:,} ({result['workers']} workers, seed {args.seed})\n"
            f"share served {result['share_served']:.4f}\n"
            f"mean attempts per user {result['mean_attempts']:.4f}\n"
            f"mean wait {result['mean_wait_s']:.3f} s\n"
            f"simulation {result['simulation_s']:.2f} s"
        )
    return 0
