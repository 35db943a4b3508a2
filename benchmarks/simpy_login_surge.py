"""A login surge around 9:00 in idiomatic SimPy: the baseline of ``bench_commands.py``.

Standalone (SimPy, NumPy and the standard library only), run as a whole process the way
a user runs a SimPy script::

    python benchmarks/simpy_login_surge.py --users 45000 --seed 1
    python benchmarks/simpy_login_surge.py --users 180000 --seed 1 --json

The workload, written independently of ``sim`` (``benchmarks/scenarios/login_surge.toml``
is the same workload as a ``sim`` scenario; ``bench_commands.py`` checks that the two
agree statistically and that the scenario's rates are the ones below):

- **arrivals**: a non-homogeneous Poisson process, a bell around 9:00 (normal, mean
  08:57, sd 6 min, cut to 08:30-09:30) as a piecewise-constant rate in 5-second bins:
  each bin's count is Poisson, its arrival times uniform within the bin;
- **the service**: ``c`` FIFO workers (a ``simpy.Resource``), exponential service times
  of mean 0.5 s; ``c`` = 320 at 720,000 users, scaled with the users (20 at 45,000);
- **a user**: one process per user; each attempt is ``with server.request() as req:
  result = yield req | env.timeout(patience)``. The patience (exponential, mean 20 s)
  covers the wait only: a user whose request is taken stays until served. A user who
  gives up retries with probability ``p`` = 0.8 after an exponential backoff with full
  jitter (``uniform(0, min(60, 5 * 2 ** (failures - 1)))`` seconds), at most ``k`` = 5
  attempts.

Printed: users, share served (users who got a worker on some attempt), mean attempts
per user, mean wait (in the queue, of the requests that got a worker), and the seconds
the simulation took (building and running the model, not Python's start-up).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time
from dataclasses import dataclass

import numpy as np
import simpy

# ---------------------------------------------------------------- the workload

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


# ---------------------------------------------------------------- the model


@dataclass
class Tally:
    users: int = 0
    served: int = 0
    attempts: int = 0
    waits: int = 0
    wait_sum: float = 0.0


def arrival_times(users: int, rng: np.random.Generator) -> np.ndarray:
    """The users' arrival times: a Poisson count per bin, uniform times within it."""
    factor = users / FULL_USERS
    rates = np.array(full_rates_per_s()) * factor
    starts = START_S + BIN_S * np.arange(len(rates))
    counts = rng.poisson(rates * BIN_S)
    times = np.repeat(starts, counts) + rng.uniform(0.0, BIN_S, counts.sum())
    return np.sort(times)


def source(env: simpy.Environment, server: simpy.Resource, times, draw, tally: Tally):
    """Starts one user process at each arrival time."""
    for t in times:
        yield env.timeout(t - env.now)
        tally.users += 1
        env.process(user(env, server, draw, tally))


def user(env: simpy.Environment, server: simpy.Resource, draw, tally: Tally):
    """One user: asks for a worker, gives up after their patience, retries or leaves."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        tally.attempts += 1
        with server.request() as req:
            asked = env.now
            result = yield req | env.timeout(draw.expovariate(1.0 / MEAN_PATIENCE_S))
            if req in result:  # a worker took it: the user stays until served
                tally.waits += 1
                tally.wait_sum += env.now - asked
                yield env.timeout(draw.expovariate(1.0 / MEAN_SERVICE_S))
                tally.served += 1
                return
        # leaving the `with` block cancelled the request: out of the queue
        if attempt == MAX_ATTEMPTS or draw.random() >= RETRY_PROBABILITY:
            return
        cap = min(BACKOFF_MAX_S, BACKOFF_BASE_S * BACKOFF_FACTOR ** (attempt - 1))
        yield env.timeout(draw.uniform(0.0, cap))


def login_surge(users: int, seed: int) -> dict:
    """Simulate the surge for `users` expected users; its statistics and timing."""
    wall0 = time.perf_counter()
    arrivals_seed, draws_seed = np.random.SeedSequence(seed).spawn(2)
    times = arrival_times(users, np.random.default_rng(arrivals_seed)).tolist()
    draw = random.Random(int(draws_seed.generate_state(1)[0]))
    env = simpy.Environment(initial_time=START_S)
    server = simpy.Resource(env, capacity=workers_for(users))
    tally = Tally()
    env.process(source(env, server, times, draw, tally))
    env.run(until=END_S)
    return {
        "users_expected": users,
        "workers": server.capacity,
        "seed": seed,
        "users": tally.users,
        "share_served": tally.served / tally.users if tally.users else math.nan,
        "mean_attempts": tally.attempts / tally.users if tally.users else math.nan,
        "mean_wait_s": tally.wait_sum / tally.waits if tally.waits else math.nan,
        "simulation_s": time.perf_counter() - wall0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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


if __name__ == "__main__":
    sys.exit(main())
