"""The login surge of ``simpy_login_surge.py`` as a hand-written heapq loop: the lean limit.

What a careful Python programmer writes for this one workload when speed is all that
matters (no C, no framework): one ``while`` loop over a binary heap of ``(time, seq,
kind, data)`` events, a ``deque`` as the FIFO queue, plain lists and local variables on
the hot path. Issue 21 measures the engine against it (``bench_commands.py`` times the
simulation alone of ``sim``, of idiomatic SimPy and of this loop, interleaved).
Standalone (NumPy and the standard library, through ``login_surge_workload.py``), with
the SimPy script's command line and output::

    python benchmarks/lean_login_surge.py --users 45000 --seed 1
    python benchmarks/lean_login_surge.py --users 180000 --seed 1 --json

The same model as the SimPy script: NHPP arrivals in 5-second bins, ``c`` FIFO workers,
exponential service, patience on the wait only (a user whose request is taken stays
until served; one who gives up leaves the queue), a retry with probability ``p`` after a
full-jitter exponential backoff, at most ``k`` attempts.

**The same random numbers, in the same order.** The arrival times and the generator of
every other draw come from ``login_surge_workload.random_streams`` (as in the SimPy
script), and each draw is made at the same moment of the same user's story and by the
same arithmetic as ``random.Random.expovariate`` and ``.uniform`` (inlined, not called):
the patience when an attempt starts (also for a request taken at once, which never uses
it), the service time when a worker takes the request, and, when the patience runs out,
the retry's ``random()`` (not on the last attempt) then the backoff. Events fall at the
same floating-point times too (``now + delay``; SimPy's arrival at ``now + (t - now)``
is ``t`` exactly, the subtraction of two times within a factor 2 being exact). Events
are processed in time order, and (bar a coincidence of floating-point times) no two
fall on the same instant except within one chain of causes (an attempt taken at once; a
worker freed and taken by the next in the queue), so the draws come in the SimPy
script's order and the two give **the same statistics, to the last bit**, seed for seed
(tests/experiments/test_lean_agreement.py checks it). Nothing is drawn in batches: the
four kinds of draw interleave in event order, so a batch per kind would change which
number goes where; one batch of the whole stream (NumPy's MT19937 given the generator's
state) would keep the order, but a ``random()`` call is not where the time goes. Nor is
the heap's pop-then-push of an event that causes another replaced by ``heapreplace``:
measured, no faster.

**Where it is leaner than SimPy** (the work, not the model): the arrivals are a sorted
list merged with the heap (not one pending event each), a request taken at once puts
no patience event on the heap, and a request taken from the queue leaves its patience
event behind (skipped when it comes up: lazy deletion; SimPy's patience timeout too
stays scheduled and fires to no effect), as is a request that gave up in the queue
(skipped when the queue reaches it).
"""

from __future__ import annotations

import heapq
import sys
import time
from collections import deque
from math import log

from login_surge_workload import (
    BACKOFF_BASE_S,
    BACKOFF_FACTOR,
    BACKOFF_MAX_S,
    END_S,
    MAX_ATTEMPTS,
    MEAN_PATIENCE_S,
    MEAN_SERVICE_S,
    RETRY_PROBABILITY,
    command_line,
    random_streams,
    statistics,
    workers_for,
)

# the kinds of event on the heap, with their data
DONE = 0  # a service ends (None)
GIVE_UP = 1  # a waiting request's patience runs out (its request)
RETRY = 2  # a backoff ends (the attempt it starts)


def backoff_caps() -> list[float]:
    """The full-jitter backoff's upper bound after attempt a (index a), as the SimPy
    script computes it."""
    return [0.0] + [
        min(BACKOFF_MAX_S, BACKOFF_BASE_S * BACKOFF_FACTOR ** (attempt - 1))
        for attempt in range(1, MAX_ATTEMPTS + 1)
    ]


def login_surge(users: int, seed: int, *, max_attempts: int = MAX_ATTEMPTS) -> dict:
    """Simulate the surge for `users` expected users; its statistics and timing.
    (`max_attempts` other than the workload's: a different model, for the tests to see
    that their agreement check notices one.)

    A request is a list ``[asked, attempt, waiting]``: ``waiting`` turns False when a
    worker takes it or its patience runs out, whichever comes first, so that the other
    finds it settled (lazy deletion from the heap and from the queue)."""
    wall0 = time.perf_counter()
    times, draw = random_streams(users, seed)
    times.append(float("inf"))  # a sentinel: no arrival left
    rnd = draw.random
    service_rate = 1.0 / MEAN_SERVICE_S  # expovariate's argument, as in the SimPy script
    patience_rate = 1.0 / MEAN_PATIENCE_S
    caps = backoff_caps()
    heap: list = []
    push, pop = heapq.heappush, heapq.heappop
    queue: deque = deque()
    enqueue, dequeue = queue.append, queue.popleft
    free = workers_for(users)
    seq = arrived = served = attempts = waits = 0
    wait_sum = 0.0
    next_arrival = times[0]
    while True:
        if heap and heap[0][0] < next_arrival:
            now, _, kind, data = pop(heap)
            if now >= END_S:
                break
            if kind == DONE:
                served += 1
                while queue:
                    request = dequeue()
                    if request[2]:  # still waiting: the worker takes it
                        request[2] = False
                        waits += 1
                        wait_sum += now - request[0]
                        seq += 1
                        push(heap, (now + -log(1.0 - rnd()) / service_rate, seq, DONE, None))
                        break
                else:
                    free += 1
                continue
            if kind == GIVE_UP:
                if not data[2]:  # a worker took it before
                    continue
                data[2] = False  # out of the queue (skipped when the queue reaches it)
                attempt = data[1]
                if attempt >= max_attempts or rnd() >= RETRY_PROBABILITY:
                    continue
                seq += 1
                push(heap, (now + caps[attempt] * rnd(), seq, RETRY, attempt + 1))
                continue
            attempt = data  # RETRY: falls through to the attempt below
        elif next_arrival < END_S:
            now = next_arrival
            arrived += 1
            next_arrival = times[arrived]
            attempt = 1
        else:
            break
        # an attempt at `now`
        attempts += 1
        patience = -log(1.0 - rnd()) / patience_rate
        seq += 1
        if free:
            free -= 1
            waits += 1  # a wait of 0.0
            push(heap, (now + -log(1.0 - rnd()) / service_rate, seq, DONE, None))
        else:
            request = [now, attempt, True]
            enqueue(request)
            push(heap, (now + patience, seq, GIVE_UP, request))
    return statistics(
        users, seed, arrived, served, attempts, waits, wait_sum, time.perf_counter() - wall0
    )


def main(argv: list[str] | None = None) -> int:
    return command_line(login_surge, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
