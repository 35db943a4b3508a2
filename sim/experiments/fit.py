"""``sim fit``: from access-log records to the estimates a scenario needs, in one pass.

The records stream by once (:class:`LogPass`); what is kept is bounded whatever the
length of the log, except one table:

- per person and day, their first connection (time, role, the services in the order
  they first used them): about 200 bytes per person-day, the one table that grows with
  the log (a month of a regional platform's 500,000 daily users is a few GB: fit a few
  days at a time);
- per service, the starts minus ends per second (8 bytes per second the log spans), the
  starts and ends of the last :data:`REORDER_S` seconds (16 bytes a request: the exact
  in-progress counts, :class:`InProgress`) and the served requests per minute;
- per service, a reservoir of at most :data:`RESERVOIR` served requests (a uniform
  sample, fixed seed): the service-time fits;
- reservoirs of client-closed (499) and served durations (patience) and of retry gaps;
- the failures still waiting for a retry (those older than the retry window are
  settled as each batch passes).

Then :func:`estimate` fits each quantity (:mod:`sim.experiments.fit_estimators`) and
:mod:`sim.experiments.fit_scenario` writes the scenario. Numbers are batched into NumPy
arrays of :data:`BATCH` records; the per-record work is the mapping and two dicts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sim.config import clock_to_s
from sim.experiments import fit_estimators as est

BATCH = 50_000
CACHED = 100_000  # distinct paths (and path, agent, role) whose mapping is remembered
RESERVOIR = 200_000
"""Served requests kept per service for the service-time fits (a uniform sample)."""
SMALL_RESERVOIR = 50_000  # patience durations and retry gaps
DAY_S = 86_400
STAMP_SLACK_S = 1.0
"""nginx and Apache stamp whole seconds, so a retry sent right after a failure can seem
to start up to a second before the failure ended: still its retry (left out, 1 % of the
retries of the default example went missing and biased the retry share low)."""
ROLES = ("pupil", "teacher", "other")


def is_served(status: int) -> bool:
    return 200 <= status < 300


def is_failure(status: int) -> bool:
    """A failure the client may retry: any 5xx, a client-closed request (499), a rate
    limit (429): the status conventions of sim's access logs."""
    return status >= 500 or status in (499, 429)


@dataclass(frozen=True)
class FitOptions:
    """The choices of a fit, each reported with its results."""

    class_starts: tuple[str, ...] = ("09:00",)
    class_starts_from: str = ""
    """Where the class starts come from (``--class-start``, the mapping's ``[classes]``),
    written beside them; empty: the default, an ASSUMPTION."""
    quiet_min_samples: int = 500
    """The quiet threshold is the lowest concurrency holding at least this many requests."""
    retry_window_s: float = 300.0
    """A request to the same service by the same person within this time after a failure
    is a retry."""
    min_events: int = 30
    """Fewer client-closed requests (or failures) than this: patience (or retries) stay
    the scenario's defaults, marked ASSUMPTION."""
    max_ks_distance: float = 0.05
    """A role's connect offsets further than this from their fitted normal (largest gap
    between the CDFs) are written as piecewise rates instead."""
    reservoir: int = RESERVOIR
    rate_piece_min: int = 5


# ---------------------------------------------------------------- bounded samples


class Reservoir:
    """A uniform sample without replacement of at most `size` rows, whatever the number
    added: each row gets a random key and the `size` smallest keys are kept (bottom-k
    sampling), batch by batch, from a fixed seed."""

    def __init__(self, size: int, columns: int, seed: int) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.keys = np.zeros(0)
        self.rows = np.zeros((0, columns))
        self.seen = 0

    def add(self, rows: np.ndarray) -> None:
        if rows.shape[0] == 0:
            return
        self.seen += rows.shape[0]
        keys = np.concatenate([self.keys, self.rng.random(rows.shape[0])])
        rows = np.concatenate([self.rows, rows])
        if keys.size > self.size:
            keep = np.argpartition(keys, self.size - 1)[: self.size]
            keep.sort()
            keys, rows = keys[keep], rows[keep]
        self.keys, self.rows = keys, rows


class Bins:
    """Counts per time bin (s or min) from the log's first day on, grown as needed."""

    def __init__(self, width_s: int) -> None:
        self.width = width_s
        self.origin: int | None = None  # first bin, absolute
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, bins: np.ndarray, weights: np.ndarray) -> None:
        if bins.size == 0:
            return
        low, high = int(bins.min()), int(bins.max())
        if self.origin is None:
            self.origin = low
        if low < self.origin:
            self.counts = np.concatenate([np.zeros(self.origin - low, np.int64), self.counts])
            self.origin = low
        need = high - self.origin + 1
        if need > self.counts.size:
            grown = max(need, self.counts.size * 2)
            self.counts = np.concatenate(
                [self.counts, np.zeros(grown - self.counts.size, np.int64)]
            )
        np.add.at(self.counts, bins - self.origin, weights)


REORDER_S = 600
"""Log lines come roughly in time order (nginx writes a request when it ends, Apache and
csv when it was received): every request that starts or ends in a second is taken to be
read within this many seconds (of the latest start read) after it."""


def stamp_slack(start: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """1 s for requests stamped to the whole second (nginx writes the end, Apache the
    start, truncated: the true times lie up to a second later), 0 for the others (csv's
    microseconds)."""
    end = start + duration
    whole = (np.abs(start - np.round(start)) < 1e-6) | (np.abs(end - np.round(end)) < 1e-6)
    return whole.astype(float)


class InProgress:
    """The number of requests in progress on a service when each sampled request
    started, exact to the log's resolution: ``#(starts before s) - #(ends before s)``;
    for a request stamped to the second, every request that may have been in progress
    at its true start: ``#(starts before s + 1) - #(ends before s - 1)``, itself left
    out (counted as written, nginx's ends pile up on each second, the longest request
    ending in a second starts first and looks alone, and the quiet filter picks long
    ones: login 0.31 s for 0.2 on the default example).

    Each count ``#(values before x)`` is split into whole seconds (per-second counts of
    starts and of ends, 16 bytes per second the log spans) and the part of x's second
    (the starts and ends of the last :data:`REORDER_S` seconds, kept until the rows
    that need them are settled)."""

    MARGIN = 3  # seconds: a row's counts look up to 1 s (the slack) into its neighbours

    def __init__(self) -> None:
        self.start_bins = Bins(1)
        self.end_bins = Bins(1)
        self.starts = np.zeros(0)
        self.ends = np.zeros(0)
        self.kept_from = -math.inf  # starts and ends before this are forgotten
        self.late = 0  # requests read after their second was forgotten (counted to the second)

    def add(self, start: np.ndarray, end: np.ndarray) -> None:
        ones = np.ones(start.size, np.int64)
        self.start_bins.add(np.floor(start).astype(np.int64), ones)
        self.end_bins.add(np.floor(end).astype(np.int64), ones)
        self.late += int(np.count_nonzero(start < self.kept_from))
        self.starts = np.concatenate([self.starts, start])
        self.ends = np.concatenate([self.ends, end])

    def settle(self, rows: np.ndarray, before: float) -> None:
        """Fill the within-second counts (column 2 of `rows`, NaN until then) of the
        rows that started before `before` - :data:`MARGIN`, then forget the starts and
        ends that no later row can need."""
        todo = np.isnan(rows[:, 2]) & (rows[:, 0] < before - self.MARGIN)
        if todo.any():
            s, slack = rows[todo, 0], rows[todo, 3]
            rows[todo, 2] = (
                within(np.sort(self.starts), s + slack)
                - within(np.sort(self.ends), s - slack)
                - (slack > 0)  # itself (its start is before s + slack)
            )
        keep = before - 2 * self.MARGIN
        self.starts = self.starts[self.starts >= keep]
        self.ends = self.ends[self.ends >= keep]
        self.kept_from = max(self.kept_from, keep)

    def at(self, rows: np.ndarray) -> np.ndarray:
        """Requests in progress at the start of each (settled) row."""
        slack = rows[:, 3]
        whole = below(self.start_bins, rows[:, 0] + slack) - below(
            self.end_bins, rows[:, 0] - slack
        )
        return np.maximum(whole + rows[:, 2], 0).astype(np.int64)

    def peak(self, sampled: np.ndarray) -> int:
        """The most requests in progress seen: at a second's start, or as a sampled
        request started (itself included)."""
        starts, ends = self.start_bins, self.end_bins
        if starts.origin is None:
            return 0
        seconds = np.arange(starts.origin, starts.origin + starts.counts.size + 1)
        at_seconds = below(starts, seconds) - below(ends, seconds)
        return int(max(at_seconds.max(initial=0), sampled.max(initial=-1) + 1))


def within(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """How many of the sorted `values` lie in ``[floor(x), x)``, for each x."""
    return np.searchsorted(values, x) - np.searchsorted(values, np.floor(x))


def below(bins: Bins, x: np.ndarray) -> np.ndarray:
    """How many values counted in `bins` (per second) lie in seconds before x's."""
    if bins.origin is None:
        return np.zeros(np.shape(x), np.int64)
    cumulative = np.concatenate([[0], np.cumsum(bins.counts)])
    second = np.floor(x).astype(np.int64) - bins.origin
    return cumulative[np.clip(second, 0, cumulative.size - 1)]


@dataclass
class ServiceTally:
    """What the pass keeps of one service."""

    in_progress: InProgress = field(default_factory=InProgress)
    served_per_min: Bins = field(default_factory=lambda: Bins(60))
    served: Reservoir = field(default_factory=lambda: Reservoir(RESERVOIR, 4, est.SEED))
    """(start, duration, in progress at the start: the part within its second, slack)."""
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)


# ---------------------------------------------------------------- the pass


class LogPass:
    """One pass over records (``LogRecord`` of :mod:`sim.config.access_logs`, or any
    object with its fields), with a mapping (``LogMapping``: ``service_of(path)``,
    ``role_of(record)``, ``person_of(record)``)."""

    def __init__(self, mapping: Any, options: FitOptions) -> None:
        self.mapping = mapping
        self.background = frozenset(mapping.background.services)
        self.options = options
        self.people: dict[tuple[int, str], list[Any]] = {}
        self.services: dict[str, ServiceTally] = {}
        self.unmapped = 0
        self.records = 0
        self.pending: dict[tuple[str, str], tuple[float, int]] = {}  # failure end, its attempt
        self.failures = 0
        self.retried = 0
        self.attempts_reached: Counter[int] = Counter()  # attempt number -> requests
        self.failed: dict[tuple[int, int], list[int]] = {}  # (attempt, second) -> [failed, retried]
        self.day_last_start: dict[int, float] = {}
        self.gaps = Reservoir(SMALL_RESERVOIR, 2, est.SEED + 1)  # (retry number, gap)
        self.gave_up = Reservoir(SMALL_RESERVOIR, 1, est.SEED + 2)
        self.served_all = Reservoir(SMALL_RESERVOIR, 1, est.SEED + 3)
        self.dither = np.random.default_rng(est.SEED + 4)
        self.services_by_path: dict[str, str | None] = {}
        self.roles_by_request: dict[tuple[Any, ...], str | None] = {}
        self.ordinals: dict[Any, int] = {}
        self.served_time = 0.0
        self.batch: list[tuple[str, float, float, int]] = []
        self.new_gaps: list[tuple[int, float]] = []
        self.now = -math.inf
        self.last_end = -math.inf

    def add(self, records: Iterable[Any]) -> None:
        for record in records:
            self.add_one(record)
            if len(self.batch) >= BATCH:
                self.flush()
        self.flush()

    def add_one(self, record: Any) -> None:
        service = self.service_of(record.path)
        if service is None:
            self.unmapped += 1
            return
        self.records += 1
        day = self.ordinal(record.day)
        start = (day * DAY_S) + record.time_s
        if service not in self.background:  # (nobody waits for those: see the mapping)
            person = self.mapping.person_of(record)
            self.remember_person(day, person, record, service)
            self.track_retry(person, service, start, record.duration_s, record.status)
        self.batch.append((service, start, record.duration_s, record.status))
        self.now = max(self.now, start)
        if start > self.day_last_start.get(day, -math.inf):
            self.day_last_start[day] = start

    def service_of(self, path: str) -> str | None:
        """The mapping's service of `path`, remembered (a log has few distinct paths
        and many lines: the patterns are matched once a path; at most :data:`CACHED`)."""
        try:
            return self.services_by_path[path]
        except KeyError:
            service = self.mapping.service_of(path)
            if len(self.services_by_path) < CACHED:
                self.services_by_path[path] = service
            return service

    def role_of(self, record: Any) -> str | None:
        """The mapping's role of `record`, remembered by what it can depend on."""
        key = (record.path, record.user_agent, record.role)
        try:
            return self.roles_by_request[key]
        except KeyError:
            role = self.mapping.role_of(record)
            if len(self.roles_by_request) < CACHED:
                self.roles_by_request[key] = role
            return role

    def ordinal(self, day: Any) -> int:
        ordinal = self.ordinals.get(day)
        if ordinal is None:
            ordinal = self.ordinals[day] = day.toordinal()
        return ordinal

    def remember_person(self, day: int, person: str, record: Any, service: str) -> None:
        entry = self.people.get((day, person))
        if entry is None:
            self.people[(day, person)] = [record.time_s, self.role_of(record), [service]]
            return
        if record.time_s < entry[0]:
            entry[0] = record.time_s
        if entry[1] is None:
            entry[1] = self.role_of(record)
        if service not in entry[2]:
            entry[2].append(service)

    def track_retry(
        self, person: str, service: str, start: float, duration: float, status: int
    ) -> None:
        """Which attempt of its person's chain on `service` this request is (a chain: a
        request, and each request to the same service within the retry window after a
        failure); its failure, if any, is counted by attempt number and by the minute it
        ended, so that :func:`retry_estimates` can leave out the failures after which no
        retry could be seen (the last allowed attempt, the log's end)."""
        key = (person, service)
        before = 0  # failed attempts of the chain before this one
        waiting = self.pending.get(key)
        if waiting is not None:
            failed_at, failed_attempt = waiting
            gap = start - failed_at
            if gap >= -STAMP_SLACK_S:  # (sent well before the failed one ended: not its retry)
                del self.pending[key]
                if gap <= self.options.retry_window_s:
                    before = failed_attempt
                    self.retried += 1
                    self.failed[(failed_attempt, int(failed_at))][1] += 1
                    self.new_gaps.append((failed_attempt, max(gap, 0.0)))
        attempt = before + 1
        self.attempts_reached[attempt] += 1
        if is_failure(status):
            end = start + duration
            self.failures += 1
            self.failed.setdefault((attempt, int(end)), [0, 0])[0] += 1
            self.pending[key] = (end, attempt)

    def flush(self) -> None:
        """The numbers of the batch into the histograms and reservoirs."""
        if not self.batch:
            return
        names = np.array([b[0] for b in self.batch], dtype=object)
        start = np.array([b[1] for b in self.batch])
        duration = np.maximum(np.array([b[2] for b in self.batch]), 0.0)
        status = np.array([b[3] for b in self.batch], dtype=np.int64)
        self.batch = []
        served = (status >= 200) & (status < 300)
        for name in sorted(set(names.tolist())):  # (in order: the draws are reproducible)
            mine = names == name
            self.tally(name, start[mine], duration[mine], status[mine], served[mine])
        self.patience_sample(duration, status, served)
        self.gaps.add(np.array(self.new_gaps, dtype=float).reshape(-1, 2))
        self.new_gaps = []
        self.last_end = max(self.last_end, float((start + duration).max()))
        self.settle(self.now - self.options.retry_window_s)
        self.settle_in_progress(math.floor(self.now) - REORDER_S)

    def settle_in_progress(self, before: float) -> None:
        for tally in self.services.values():
            tally.in_progress.settle(tally.served.rows, before)

    def tally(
        self,
        name: str,
        start: np.ndarray,
        duration: np.ndarray,
        status: np.ndarray,
        served: np.ndarray,
    ) -> None:
        tally = self.services.setdefault(
            name, ServiceTally(served=Reservoir(self.options.reservoir, 4, est.SEED))
        )
        tally.requests += start.size
        tally.statuses.update(status.tolist())
        end_min = np.floor((start + duration)[served] / 60).astype(np.int64)
        tally.served_per_min.add(end_min, np.ones(end_min.size, np.int64))
        slack = stamp_slack(start, duration)
        start = start + slack * self.dither.random(start.size)  # (for the counts only)
        tally.in_progress.add(start, start + duration)
        unsettled = np.full(np.count_nonzero(served), np.nan)
        tally.served.add(
            np.column_stack([start[served], duration[served], unsettled, slack[served]])
        )

    def patience_sample(self, duration: np.ndarray, status: np.ndarray, served: np.ndarray) -> None:
        self.gave_up.add(duration[status == 499][:, None])
        self.served_all.add(duration[served][:, None])
        self.served_time += float(duration[served].sum())

    def settle(self, before: float) -> None:
        """Failures that ended before `before` and saw no retry in the window: settled
        as not retried (bounds the table of pending failures)."""
        stale = [key for key, (failed_at, _) in self.pending.items() if failed_at < before]
        for key in stale:
            del self.pending[key]


# ---------------------------------------------------------------- estimates


@dataclass
class ServiceEstimate:
    name: str
    requests: int
    statuses: dict[int, int]
    fit: est.DurationFit | None
    quiet_threshold: int
    quiet_n: int
    served_n: int
    peak_concurrency: int
    peak_served_per_min: float
    late: int
    """Requests read more than :data:`REORDER_S` after their start: their in-progress
    counts are exact to the second only."""
    """Highest served-per-minute count sustained over :data:`SUSTAINED_MIN` minutes."""
    all_durations: np.ndarray = field(repr=False)


SUSTAINED_MIN = 5


@dataclass
class RoleEstimate:
    role: str
    people_per_day: float
    days: int
    class_starts: list[str]
    shares: list[float]
    offsets_min: np.ndarray = field(repr=False)
    normal: est.NormalFit | None
    per_minute: np.ndarray = field(repr=False)  # first connections per minute of the day, per day
    journey: list[str]


@dataclass
class FitResult:
    """Everything a fit found, for the scenario, the estimates table and the report."""

    options: FitOptions
    sources: list[str]
    records: int
    unmapped: int
    days: int
    start_s: float
    end_s: float
    roles: list[RoleEstimate]
    services: list[ServiceEstimate]
    patience: est.PatienceFit | None
    gave_up_n: int
    retry_probability: est.Estimate | None
    backoff: est.BackoffFit | None
    failures: int
    max_attempts: AttemptsFit

    def estimates(self) -> list[dict[str, Any]]:
        """One row per fitted number: quantity, value, low, high, n, method."""
        rows = []

        def row(quantity: str, e: est.Estimate) -> None:
            rows.append(
                {
                    "quantity": quantity,
                    "value": e.value,
                    "low": e.low,
                    "high": e.high,
                    "n": e.n,
                    "method": e.method,
                }
            )

        for role in self.roles:
            n = int(role.offsets_min.size)
            rows.append(
                {
                    "quantity": f"cohorts.{role.role}.count",
                    "value": role.people_per_day,
                    "low": math.nan,
                    "high": math.nan,
                    "n": n,
                    "method": f"distinct people per day, mean of {role.days} day(s)",
                }
            )
            if role.normal is not None:
                row(f"cohorts.{role.role}.connect.mean_min", role.normal.mean_min)
                row(f"cohorts.{role.role}.connect.sd_min", role.normal.sd_min)
        for service in self.services:
            if service.fit is not None:
                row(f"services.{service.name}.service_time.mean_s", service.fit.mean_s)
                row(f"services.{service.name}.service_time.cv", service.fit.cv)
        if self.patience is not None:
            row("behaviour.patience.mean_s", self.patience.mean_s)
            row("behaviour.patience.cv", self.patience.cv)
        if self.retry_probability is not None:
            row("behaviour.retry_probability", self.retry_probability)
        if self.max_attempts.fitted:
            value = float(self.max_attempts.value)
            row("behaviour.max_attempts", est.Estimate(value, value, value, *self.max_attempts.n))
        if self.backoff is not None:
            row(
                f"behaviour.backoff.{'delay_s' if self.backoff.kind == 'constant' else 'base_s'}",
                self.backoff.base_s,
            )
        return rows


def fit_records(
    records: Iterable[Any],
    mapping: Any,
    options: FitOptions | None = None,
    sources: Sequence[str] = (),
) -> FitResult:
    """Every estimate of :mod:`sim.experiments.fit` from `records` (one pass)."""
    options = options or FitOptions()
    log = LogPass(mapping, options)
    log.add(records)
    if not log.people:
        raise ValueError(
            "no request of the log maps to a service"
            + (
                f" ({log.unmapped:,} requests unmapped: check the mapping's [services])"
                if log.unmapped
                else ""
            )
        )
    return estimate(log, options, list(sources))


def estimate(log: LogPass, options: FitOptions, sources: list[str]) -> FitResult:
    log.flush()
    log.settle_in_progress(math.inf)
    days = len({day for day, _ in log.people})
    roles = role_estimates(log, options, days)
    services = [
        service_estimate(name, tally, options) for name, tally in sorted(log.services.items())
    ]
    patience, backoff = behaviour_estimates(log, options)
    retry, attempts = retry_estimates(log, options)
    first = min(entry[0] for entry in log.people.values())
    last_end = log.last_end % DAY_S if log.last_end % DAY_S > first else DAY_S - 60
    return FitResult(
        options=options,
        sources=sources,
        records=log.records,
        unmapped=log.unmapped,
        days=days,
        start_s=first,
        end_s=max(last_end, first + 60),
        roles=roles,
        services=services,
        patience=patience,
        gave_up_n=log.gave_up.seen,
        retry_probability=retry,
        backoff=backoff,
        failures=log.failures,
        max_attempts=attempts,
    )


def role_estimates(log: LogPass, options: FitOptions, days: int) -> list[RoleEstimate]:
    by_role: dict[str, list[tuple[float, tuple[str, ...]]]] = {}
    for time_s, role, services in log.people.values():
        by_role.setdefault(role or "pupil", []).append((time_s, tuple(services)))
    starts = np.array(sorted(clock_to_s(s) for s in options.class_starts))
    out = []
    for role in sorted(by_role, key=lambda r: (ROLES.index(r) if r in ROLES else 3, r)):
        times = np.array([t for t, _ in by_role[role]])
        nearest = np.abs(times[:, None] - starts[None, :]).argmin(axis=1)
        used = sorted(set(nearest.tolist()))
        counts = np.bincount(nearest, minlength=starts.size)
        offsets = (times - starts[nearest]) / 60
        journey = Counter(services for _, services in by_role[role]).most_common(1)[0][0]
        per_minute = np.bincount((times // 60).astype(np.int64), minlength=1440)[:1440] / days
        out.append(
            RoleEstimate(
                role=role,
                people_per_day=times.size / days,
                days=days,
                class_starts=[_clock(starts[i]) for i in used],
                shares=[counts[i] / times.size for i in used],
                offsets_min=offsets,
                normal=est.fit_normal(offsets) if times.size >= 2 else None,
                per_minute=per_minute,
                journey=list(journey),
            )
        )
    return out


def _clock(seconds: float) -> str:
    from sim.config import s_to_clock

    return s_to_clock(seconds)


def service_estimate(name: str, tally: ServiceTally, options: FitOptions) -> ServiceEstimate:
    rows = tally.served.rows
    concurrency = tally.in_progress.at(rows)  # (settled: see estimate)
    threshold = est.quiet_threshold(concurrency, options.quiet_min_samples)
    quiet = rows[concurrency <= threshold, 1] if rows.size else np.zeros(0)
    fit = est.fit_durations(quiet) if quiet.size >= 2 else None
    per_min = tally.served_per_min.counts.astype(float)
    window = min(SUSTAINED_MIN, max(per_min.size, 1))
    sustained = (
        np.convolve(per_min, np.ones(window) / window, mode="valid")
        if per_min.size
        else np.zeros(1)
    )
    return ServiceEstimate(
        name=name,
        requests=tally.requests,
        statuses=dict(sorted(tally.statuses.items())),
        fit=fit,
        quiet_threshold=threshold,
        quiet_n=int(quiet.size),
        served_n=tally.served.seen,
        peak_concurrency=tally.in_progress.peak(concurrency),
        late=tally.in_progress.late,
        peak_served_per_min=float(sustained.max()) if sustained.size else 0.0,
        all_durations=rows[:, 1] if rows.size else np.zeros(0),
    )


def behaviour_estimates(
    log: LogPass, options: FitOptions
) -> tuple[est.PatienceFit | None, est.BackoffFit | None]:
    patience = None
    if log.gave_up.seen >= options.min_events and log.served_all.seen:
        patience = est.fit_patience(
            log.gave_up.rows[:, 0],
            log.served_all.rows[:, 0],
            gave_up_total=log.gave_up.seen,
            served_total=log.served_all.seen,
            served_time_total=log.served_time,
        )
    if log.failures < options.min_events:
        return patience, None
    gaps = log.gaps.rows
    first, second = gaps[gaps[:, 0] == 1, 1], gaps[gaps[:, 0] == 2, 1]
    backoff = est.fit_backoff(first, second) if first.size >= options.min_events else None
    return patience, backoff


@dataclass(frozen=True)
class AttemptsFit:
    """``max_attempts``: the longest chain of attempts of one person on one service in
    the log, FITTED when enough chains stopped there to tell a cap from chance."""

    value: int
    longest: int
    reached: int
    """Failures at the longest attempt (inside the log's retry windows): none retried."""
    chance_uncapped: float
    """The chance that none of them would have retried had people been allowed more
    attempts: ``(1 - retry_probability) ** reached``."""
    fitted: bool

    @property
    def n(self) -> tuple[int, str]:
        return self.reached, (
            f"the longest chain of attempts ({self.longest}); none of the {self.reached:,} "
            f"failures at it retried (chance {self.chance_uncapped:.2g} without a cap)"
        )


DEFAULT_MAX_ATTEMPTS = 6  # the schema's default
CAP_EVIDENCE = 0.05
"""The longest chain is a cap (FITTED) when the chance that none of its failures would
have retried without one is below this."""


def at_risk(log: LogPass, options: FitOptions) -> dict[int, list[float]]:
    """Per attempt number, [failures, retried, failures weighted by the chance that their
    retry, had there been one, would be in the log]: a failure shortly before the log
    stops (the day's last request) could have been retried unseen. The weight is the
    share of the seen retries of that attempt (all attempts, with fewer than
    ``min_events``) whose gap is shorter than the time the log still runs: so a surge
    near the log's end keeps its failures, counted for what they can show."""
    gaps = log.gaps.rows
    window = options.retry_window_s
    out: dict[int, list[float]] = {}
    for (attempt, second), (failed, retried) in log.failed.items():
        last = log.day_last_start.get(second // DAY_S, -math.inf)
        room = min(last - (second + 0.5), window)
        cell = out.setdefault(attempt, [0, 0, 0.0])
        cell[0] += failed
        cell[1] += retried
        cell[2] += failed * seen_share(gaps, attempt, room, options.min_events)
    return out


def seen_share(gaps: np.ndarray, attempt: int, room: float, min_events: int) -> float:
    """The share of the retry gaps after failed attempt `attempt` shorter than `room`."""
    if room <= 0:
        return 0.0
    mine = gaps[gaps[:, 0] == attempt, 1]
    pool = mine if mine.size >= min_events else gaps[:, 1]
    return float(np.mean(pool <= room)) if pool.size else 1.0


def retry_estimates(log: LogPass, options: FitOptions) -> tuple[est.Estimate | None, AttemptsFit]:
    """The retry probability from the failures after which a retry could be seen, and
    ``max_attempts``. A failure at the last allowed attempt cannot be retried, nor one
    whose retry the log's end cuts off: counted as "did not retry" they bias the share
    low (0.86 for 0.9 on the default example, 0.64 for 0.7 in the tests). So the retries
    are counted against the failures weighted by the chance a retry would be seen
    (:func:`at_risk`), and the longest chain is the cap when the silence of its failures
    is unlikely by chance (:data:`CAP_EVIDENCE`): its failures are then left out."""
    counts = at_risk(log, options)
    longest = max(log.attempts_reached, default=1)
    below = [cell for attempt, cell in counts.items() if attempt < longest]
    retried, exposed = sum(c[1] for c in below), sum(c[2] for c in below)
    share = min(retried / exposed, 1.0) if exposed else 0.0
    at_longest = counts.get(longest, [0, 0, 0.0])
    chance = (1 - share) ** at_longest[2]
    capped = at_longest[2] >= 1 and chance < CAP_EVIDENCE
    if not capped:
        exposed += at_longest[2]
    attempts = AttemptsFit(
        longest if capped else max(DEFAULT_MAX_ATTEMPTS, longest),
        longest,
        int(at_longest[0]),
        chance,
        capped,
    )
    trials = round(exposed)
    if trials < options.min_events:
        return None, attempts
    retry = est.wilson(min(retried, trials), trials)
    return replace(retry, method=retry.method + ", failures weighted by the chance a retry "
                   "would be in the log"), attempts  # fmt: skip
