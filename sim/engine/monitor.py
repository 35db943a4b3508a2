"""Streaming measurement: time bins, time-weighted levels, latency histograms.

A one-to-one morning has millions of requests, so nothing here keeps a per-request list.
Counts go into time bins (``measure.bin_s`` seconds wide, a minute by default); levels
(queue length, busy workers, people in class) are integrated over time into per-bin
areas, so their per-bin means are exact; latencies go into log-bucketed histograms
(:data:`BUCKETS_PER_DECADE` buckets per factor of ten), which give any percentile to
within a few percent in O(1) memory.

The recorder is plain Python lists on the hot path (indexing a list is several times
cheaper than indexing a numpy array from Python) and turns into numpy arrays once, at the
end, in :meth:`Recorder.finish`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

try:  # the literal import Cython compiles by; without Cython, its names as no-ops
    import cython
except ModuleNotFoundError:
    from sim.engine import cython_shim as cython

if cython.compiled:  # C's log10 (Python's math.log10 calls it too: the same values)
    from cython.cimports.libc.math import log10
else:
    from math import log10

BUCKETS_PER_DECADE = 20
MIN_LATENCY_S = 1e-4  # bucket 0 holds everything up to 0.1 ms
N_BUCKETS = BUCKETS_PER_DECADE * 9  # up to 1e5 s, beyond any morning
_LOG_MIN = math.log10(MIN_LATENCY_S)


@cython.locals(index=cython.Py_ssize_t, per_decade=cython.Py_ssize_t, last=cython.Py_ssize_t)
def bucket_of(seconds: float) -> int:
    """Index of the log bucket holding a latency of `seconds`."""
    if seconds <= MIN_LATENCY_S:
        return 0
    per_decade, last = BUCKETS_PER_DECADE, N_BUCKETS - 1  # compiled, C numbers
    index = int((log10(seconds) - _LOG_MIN) * per_decade) + 1
    return index if index < last else last


def bucket_upper_edges() -> np.ndarray:
    """Upper edge (s) of every bucket; the last one is open-ended (inf)."""
    k = np.arange(N_BUCKETS, dtype=float)
    edges = 10 ** (_LOG_MIN + k / BUCKETS_PER_DECADE)
    edges[-1] = math.inf
    return edges


def bucket_midpoints() -> np.ndarray:
    """Geometric middle (s) of every bucket, used as the value a bucket stands for."""
    k = np.arange(N_BUCKETS, dtype=float)
    mid = 10 ** (_LOG_MIN + (k - 0.5) / BUCKETS_PER_DECADE)
    mid[0] = MIN_LATENCY_S
    return mid


def quantile_from_histogram(counts: np.ndarray, q: float) -> float:
    """The q-quantile (0..1) of a histogram over the log buckets; nan if it is empty.

    Counts may be 1-D (one histogram) or have buckets on the last axis.
    """
    counts = np.asarray(counts, dtype=float)
    total = counts.sum(axis=-1, keepdims=True)
    cum = np.cumsum(counts, axis=-1)
    with np.errstate(invalid="ignore"):
        index = (cum < q * total).sum(axis=-1)
    index = np.minimum(index, N_BUCKETS - 1)
    values = bucket_midpoints()[index]
    return np.where(total[..., 0] > 0, values, np.nan)


@cython.cclass
class Level:
    """A quantity that changes at instants, integrated over time into per-bin areas
    (bins `width` seconds wide from `origin`)."""

    __slots__ = ("areas", "last_t", "level", "origin", "peak", "width", "zero_time")

    def __init__(self, origin: float, n_bins: int, width: float = 60.0) -> None:
        self.origin = origin
        self.width = width
        self.areas = [0.0] * n_bins
        self.last_t = origin
        self.level = 0
        self.peak = 0
        self.zero_time = 0.0  # total time spent at level 0

    @cython.locals(
        last=cython.double, origin=cython.double, width=cython.double, m=cython.Py_ssize_t
    )
    def change(self, now: float, delta: cython.long) -> None:
        last = self.last_t
        if now > last:
            if self.level:
                origin, width = self.origin, self.width
                m = int((last - origin) // width)
                if m == int((now - origin) // width):  # within one bin: the usual case
                    if m < len(self.areas):
                        self.areas[m] += self.level * (now - last)
                else:
                    self._accumulate(last, now)
            else:
                self.zero_time += now - last
        self.last_t = now
        self.level += delta
        if self.level > self.peak:
            self.peak = self.level

    @cython.locals(
        level=cython.long,
        origin=cython.double,
        width=cython.double,
        m0=cython.Py_ssize_t,
        m1=cython.Py_ssize_t,
        n=cython.Py_ssize_t,
        m=cython.Py_ssize_t,
        areas=list,
    )
    def _accumulate(self, t0: float, t1: float) -> None:
        areas, level, origin, width = self.areas, self.level, self.origin, self.width
        m0 = int((t0 - origin) // width)
        m1 = int((t1 - origin) // width)
        n = len(areas)
        if m0 == m1:
            if m0 < n:
                areas[m0] += level * (t1 - t0)
            return
        edge = origin + width * (m0 + 1)
        areas[m0] += level * (edge - t0)
        for m in range(m0 + 1, min(m1, n)):
            areas[m] += level * width
        if m1 < n:
            areas[m1] += level * (t1 - (origin + width * m1))

    def close(self, end: float) -> np.ndarray:
        """Per-bin mean level up to `end`: each bin's area over the bin's width (a last
        bin cut short by `end` too, so that mean x width is always the bin's area)."""
        self.change(end, 0)
        return np.asarray(self.areas) / self.width


@cython.cclass
class ServiceRecord:
    """Streaming statistics of one service."""

    __slots__ = (
        "abandoned",
        "arrivals",
        "attack_arrivals",
        "attack_blocked",
        "attack_lost",
        "attack_rejected",
        "attack_served",
        "bin_s",
        "blocked",
        "busy",
        "capacity",
        "crash_lost",
        "crashes",
        "dropped",
        "errors",
        "latency",
        "lost",
        "name",
        "origin",
        "queue",
        "refused",
        "rejected",
        "response_sum",
        "served",
        "servers_down",
        "servers_up",
        "sessions",
        "sessions_refused",
        "up_workers",
        "wait_count",
        "wait_hist",
        "wait_sum",
        "warmup_end",
        "wasted",
    )

    def __init__(
        self,
        name: str,
        capacity: int,
        origin: float,
        n_bins: int,
        warmup_end: float,
        bin_s: float = 60.0,
    ):
        self.name = name
        self.capacity = capacity
        self.origin = origin
        self.bin_s = bin_s
        self.warmup_end = warmup_end
        zeros = [0] * n_bins
        self.arrivals = list(zeros)
        self.served = list(zeros)
        self.abandoned = list(zeros)
        self.rejected = list(zeros)
        self.wasted = list(zeros)  # served after the client had given up
        self.refused = list(zeros)  # sent to a dead server, or no server up
        self.crash_lost = list(zeros)  # queued or in progress when the server crashed
        self.dropped = list(zeros)  # dropped from the backlog when the client gave up
        self.blocked = list(zeros)  # refused by a defence (rate limit, filtering)
        self.lost = list(zeros)  # dropped on a saturated edge link
        self.errors = list(zeros)  # served, answered with an error (error_probability)
        self.sessions_refused = list(zeros)  # sessions refused at max_sessions
        self.crashes = list(zeros)
        self.attack_arrivals = list(zeros)
        self.attack_served = list(zeros)
        self.attack_rejected = list(zeros)
        self.attack_blocked = list(zeros)  # removed by defences before the servers
        self.attack_lost = list(zeros)  # in progress or queued when the server crashed
        self.queue = Level(origin, n_bins, bin_s)  # backlog places taken
        self.busy = Level(origin, n_bins, bin_s)  # workers busy
        self.up_workers = Level(origin, n_bins, bin_s)  # workers of servers that are up
        self.servers_up = Level(origin, n_bins, bin_s)
        self.servers_down = Level(origin, n_bins, bin_s)  # crashed, restarting
        self.sessions = Level(origin, n_bins, bin_s)  # session slots held (with max_sessions)
        self.latency = [[0] * N_BUCKETS for _ in range(n_bins)]
        self.wait_hist = [0] * N_BUCKETS
        self.wait_sum = 0.0
        self.wait_count = 0
        self.response_sum = 0.0


@dataclass
class ServiceSeries:
    """Final per-bin arrays and totals of one service."""

    name: str
    capacity: int
    arrivals: np.ndarray
    served: np.ndarray
    abandoned: np.ndarray
    rejected: np.ndarray
    wasted: np.ndarray
    refused: np.ndarray
    crash_lost: np.ndarray
    dropped: np.ndarray
    blocked: np.ndarray
    lost: np.ndarray
    crashes: np.ndarray
    attack_arrivals: np.ndarray
    attack_served: np.ndarray
    attack_rejected: np.ndarray
    attack_blocked: np.ndarray
    attack_lost: np.ndarray
    mean_queue: np.ndarray
    mean_busy: np.ndarray
    mean_capacity: np.ndarray
    mean_servers_up: np.ndarray
    mean_servers_down: np.ndarray
    downtime_s: float  # time with no server up
    peak_queue: int
    latency_hist: np.ndarray  # bins x buckets
    wait_hist: np.ndarray
    wait_sum: float
    wait_count: int
    response_sum: float
    # measures added later, left out of digests while zero (runner.LATER_MEASURES)
    errors: np.ndarray  # served but answered with an error (error_probability)
    sessions_refused: np.ndarray  # sessions refused at the service's max_sessions
    mean_sessions: np.ndarray  # session slots held (services with max_sessions)
    peak_sessions: int
    in_system_at_end: tuple[int, int] = (0, 0)  # (legitimate, attack) requests


FAIL_CAUSES = ("timeout", "rejected", "error", "blocked", "quota", "full")
"""Why an attempt failed: no answer in time, backlog full, server down or answering an
error, refused by a defence, admission quota or waiting room (or a service's session
cap), class full."""

PEOPLE_COUNTERS = (
    "intended",
    "attempts",
    "successes",
    *(f"fail_{cause}" for cause in FAIL_CAUSES),
    "reached",
    "gave_up",
    "barred",
    "classes_opened",
)


@cython.final
@cython.cclass
class Recorder:
    """Everything the model measures during one run, in bins of `bin_s` seconds from
    `start`; the last bin may be cut short by `end`, and holds what happens until then."""

    __slots__ = (
        "_last_bin",
        "bin_s",
        "counters",
        "end",
        "in_lesson",
        "n_bins",
        "services",
        "start",
        "warmup_end",
    )

    def __init__(
        self, start: float, end: float, warmup_s: float = 0.0, bin_s: float = 60.0
    ) -> None:
        self.start = start
        self.end = end
        self.bin_s = bin_s
        self.n_bins = max(1, math.ceil((end - start) / bin_s))
        self._last_bin = self.n_bins - 1
        self.warmup_end = start + warmup_s
        self.services: dict[str, ServiceRecord] = {}
        self.counters = {name: [0] * self.n_bins for name in PEOPLE_COUNTERS}
        self.in_lesson = Level(start, self.n_bins, bin_s)

    @cython.locals(m=cython.Py_ssize_t)
    def bin_of(self, now: float) -> int:
        """The bin of time `now` (the last bin for later times)."""
        m = int((now - self.start) // self.bin_s)
        return m if m < self._last_bin else self._last_bin

    def bin_starts(self) -> np.ndarray:
        """The start of every bin (s since midnight)."""
        return self.start + self.bin_s * np.arange(self.n_bins)

    def add_service(self, name: str, capacity: int) -> ServiceRecord:
        record = ServiceRecord(name, capacity, self.start, self.n_bins, self.warmup_end, self.bin_s)
        self.services[name] = record
        return record

    def count(self, counter: str, now: float, n: cython.long = 1) -> None:
        self.counters[counter][self.bin_of(now)] += n

    def finish(self) -> dict[str, ServiceSeries]:
        """Close every level at the end time and freeze the service series."""
        out = {}
        for name, rec in self.services.items():
            out[name] = ServiceSeries(
                name=name,
                capacity=rec.capacity,
                arrivals=np.asarray(rec.arrivals),
                served=np.asarray(rec.served),
                abandoned=np.asarray(rec.abandoned),
                rejected=np.asarray(rec.rejected),
                wasted=np.asarray(rec.wasted),
                refused=np.asarray(rec.refused),
                crash_lost=np.asarray(rec.crash_lost),
                dropped=np.asarray(rec.dropped),
                blocked=np.asarray(rec.blocked),
                lost=np.asarray(rec.lost),
                crashes=np.asarray(rec.crashes),
                attack_arrivals=np.asarray(rec.attack_arrivals),
                attack_served=np.asarray(rec.attack_served),
                attack_rejected=np.asarray(rec.attack_rejected),
                attack_blocked=np.asarray(rec.attack_blocked),
                attack_lost=np.asarray(rec.attack_lost),
                mean_queue=rec.queue.close(self.end),
                mean_busy=rec.busy.close(self.end),
                mean_capacity=rec.up_workers.close(self.end),
                mean_servers_up=rec.servers_up.close(self.end),
                mean_servers_down=rec.servers_down.close(self.end),
                downtime_s=rec.servers_up.zero_time,
                peak_queue=rec.queue.peak,
                latency_hist=np.asarray(rec.latency, dtype=np.int64),
                wait_hist=np.asarray(rec.wait_hist, dtype=np.int64),
                wait_sum=rec.wait_sum,
                wait_count=rec.wait_count,
                response_sum=rec.response_sum,
                errors=np.asarray(rec.errors),
                sessions_refused=np.asarray(rec.sessions_refused),
                mean_sessions=rec.sessions.close(self.end),
                peak_sessions=rec.sessions.peak,
            )
        return out
