"""Named random streams spawned from one seed.

Every random source in the model (arrival times, patience, service times, ...) draws
from its own stream, so that changing one part of a scenario does not shift the draws
of another. A stream is identified by (replication, stream id) and spawned from the
experiment's single integer seed::

    np.random.default_rng(SeedSequence(seed, spawn_key=(replication, stream_id)))

The scenario is deliberately *not* part of the key: replication k of every variant of a
scenario sees the same draws (common random numbers), which makes paired comparisons
sharp. Stream ids are append-only: never renumber an existing member.

Services and cohorts are many, so their streams get a sub-key (the index of the
service or cohort in the scenario) after the stream id.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """Append-only registry of random streams. Never renumber."""

    ARRIVALS = 1  # intended connect times of cohorts, open-arrival gaps
    PATIENCE = 2  # client timeouts
    SERVICE = 3  # service times, one sub-stream per service
    RETRY = 4  # retry decisions and backoff delays
    THINK = 5  # per step: lesson think times or session durations; sub-key 1: session
    # think times; sub-key 2: the seat of the next silent request (people.Chorus)
    ROUTING = 6  # load-balancer tie breaks and random dispatch
    ATTACKS = 7  # attack wave times, durations and request arrivals
    DEFENCES = 8  # packet loss on links, filtering of legitimate requests
    ERRORS = 9  # per service: which answers are errors (error_probability)
    NETWORK = 10  # per service: network round trips (network_delay)
    REPLAY = 11  # a scaled replay: which of the log's people are kept (sim.config.replay)


class Streams:
    """Factory of independent generators for one replication of one seed."""

    def __init__(self, seed: int, replication: int = 0) -> None:
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be >= 0")
        self.seed = seed
        self.replication = replication

    def get(self, stream: Stream, *sub: int) -> np.random.Generator:
        """Return a fresh generator for `stream` (and optional sub-keys)."""
        key = (self.replication, int(stream), *sub)
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))
