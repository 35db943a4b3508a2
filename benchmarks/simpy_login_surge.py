"""A login surge around 9:00 in idiomatic SimPy: the baseline of ``bench_commands.py``.

Standalone (SimPy, NumPy and the standard library only; the workload's constants, arrival
times, seeding and command line are in ``login_surge_workload.py`` next to it, shared
with the lean loop ``lean_login_surge.py``), run as a whole process the way a user runs
a SimPy script::

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

import sys
import time
from dataclasses import dataclass

import simpy
from login_surge_workload import (
    BACKOFF_BASE_S,
    BACKOFF_FACTOR,
    BACKOFF_MAX_S,
    END_S,
    MAX_ATTEMPTS,
    MEAN_PATIENCE_S,
    MEAN_SERVICE_S,
    RETRY_PROBABILITY,
    START_S,
    command_line,
    random_streams,
    statistics,
    workers_for,
)


@dataclass
class Tally:
    users: int = 0
    served: int = 0
    attempts: int = 0
    waits: int = 0
    wait_sum: float = 0.0


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
    times, draw = random_streams(users, seed)
    env = simpy.Environment(initial_time=START_S)
    server = simpy.Resource(env, capacity=workers_for(users))
    tally = Tally()
    env.process(source(env, server, times, draw, tally))
    env.run(until=END_S)
    return statistics(
        users,
        seed,
        tally.users,
        tally.served,
        tally.attempts,
        tally.waits,
        tally.wait_sum,
        time.perf_counter() - wall0,
    )


def main(argv: list[str] | None = None) -> int:
    return command_line(login_surge, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
