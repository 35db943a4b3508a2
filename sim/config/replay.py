"""Replay: a real morning's people, read from an access log, in place of drawn offsets.

A scenario's ``[replay]`` table (:class:`sim.config.scenario.Replay`) names a log. Each
person of the chosen day (:meth:`LogMapping.person_of`) intends to connect at their first
request to a mapped service; their role is the first one their requests tell
(:meth:`LogMapping.role_of`). People are dealt to the cohorts of their role: to the
cohort with the class start nearest their first request (the first such cohort on a
tie), and within it to that nearest class start. Each cohort's count becomes the number
of people dealt to it. Left out, and counted: people whose first request falls outside
[start, end) of the scenario, whose requests tell no role, or whose role no cohort has.

A scaled replay (``scale`` below 1, ``--scale``) keeps each of the log's people with
probability ``scale``, drawn per run from the run's own named stream (``Stream.REPLAY``
of its seed and replication, which the runner passes): one seed keeps the same people,
serial or parallel, and replications differ in who is kept as they differ in any draw.
Its cohorts' counts are then the expected numbers (the log's, times ``scale``,
rounded); a run's results have the counts it kept.

Reading happens here, at the edge: when a scenario is loaded (:func:`resolve_replay`,
which makes the paths absolute, fills the content ``digest`` and the counts), and when a
run starts (:func:`replay_arrivals`, which checks the digest and gives the model the
times). A log is read once per process and content (a cache keyed by its digest).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sim.config.access_logs import AccessLogError, ReadStats, read_records
from sim.config.base import clock_to_s, s_to_clock
from sim.config.log_mapping import load_mapping
from sim.config.scenario import Replay, Scenario

if TYPE_CHECKING:  # numpy is heavy: cheap commands load a scenario without it
    import numpy as np

DIGEST_LENGTH = 20
"""Hex digits of a log's digest kept in the scenario: 80 bits."""


@dataclass(frozen=True)
class FirstRequests:
    """The people of one day of a log: (first request's time in s since midnight, role)
    in the order they first appear."""

    day: dt.date
    people: tuple[tuple[float, str | None], ...]
    stats: ReadStats
    unmapped: int  # requests to paths no service's pattern matches, ignored
    other_days: int  # requests of other days, ignored
    not_sampled: int = 0  # people a scaled replay did not keep (:func:`sample`)


@dataclass
class Arrivals:
    """Who connects when, per cohort of the scenario (in its order), and who was left
    out; what the population builder takes instead of drawing offsets."""

    intended: list[list[float]]  # per cohort: intended connect times, ascending
    class_start: list[list[float]]  # per cohort: each person's class start (s)
    day: dt.date
    left_out: Counter[str] = field(default_factory=Counter)
    read: FirstRequests | None = None

    def summary(self, log: str) -> str:
        """One line: how many people, from which log and day, and who was left out."""
        people = sum(len(times) for times in self.intended)
        text = f"replay: {people:,} people from {log} ({self.day.isoformat()})"
        left = ", ".join(f"{n:,} {why}" for why, n in sorted(self.left_out.items()) if n)
        if left:
            text += f"; left out: {left}"
        if self.read is not None and self.read.unmapped:
            text += f"; {self.read.unmapped:,} requests of unmapped paths ignored"
        if self.read is not None and self.read.stats.malformed:
            text += f"; {self.read.stats.malformed:,} malformed lines skipped"
        return text


def resolve_replay(scenario: Scenario, base: Path | str | None = None) -> Scenario:
    """`scenario` with its replay resolved: the log and mapping paths made absolute
    (relative ones from `base`, the scenario file's folder, default the current one),
    their content ``digest`` filled (or checked, if the scenario had one) and each
    cohort's count set to the people dealt to it. Unchanged without ``[replay]``."""
    replay = scenario.replay
    if replay is None:
        return scenario
    base = Path(base) if base is not None else Path.cwd()
    log = _absolute(replay.log, base)
    mapping = _absolute(replay.mapping, base) if replay.mapping else None
    digest = content_digest(log, mapping)
    if replay.digest is not None and replay.digest != digest:
        raise AccessLogError(
            f"replay.digest: {log} (or its mapping) is not the content this scenario was "
            f"made with ({replay.digest}, now {digest}); remove replay.digest to use it"
        )
    resolved = replay.model_copy(update={"log": log, "mapping": mapping, "digest": digest})
    _check_scale(scenario.scale)
    arrivals = deal(scenario, first_requests(resolved))
    cohorts = [
        cohort.model_copy(update={"count": expected_count(len(times), scenario.scale)})
        for cohort, times in zip(scenario.cohorts, arrivals.intended, strict=True)
    ]
    return scenario.model_copy(update={"replay": resolved, "cohorts": cohorts})


def expected_count(people: int, scale: float) -> int:
    """A cohort's count in a replay at `scale`: what ``--scale`` makes of the count the
    log gives (:func:`sim.config.scale.scale` rounds alike), so a scaled scenario and the
    ``scenario.toml`` of its results load with the same counts."""
    return people if scale == 1 else round(people * scale)


def check_replay_scale(scale: float) -> None:
    """A ValueError (one line) for a replay's scale above 1: a log's people can be kept
    or left out, not multiplied."""
    if scale > 1:
        raise ValueError(
            f"a replay keeps a part of its log's people: its scale is at most 1, not "
            f"{scale:g} (more people: replay a longer log)"
        )


def _check_scale(scale: float) -> None:
    try:
        check_replay_scale(scale)
    except ValueError as err:
        raise AccessLogError(f"scale: {err}") from None


def replay_arrivals(scenario: Scenario, rng: np.random.Generator | None = None) -> Arrivals | None:
    """The people of a resolved replay (None without one), for the run: the log must
    still have the content it was loaded with, and the cohorts the counts it gave. A
    scaled replay keeps a sample of them drawn from `rng` (the run's ``Stream.REPLAY``);
    its cohorts' counts are then expected numbers, and the run takes the arrivals'."""
    replay = scenario.replay
    if replay is None:
        return None
    if replay.digest is None or not Path(replay.log).is_absolute():
        raise AccessLogError(
            "replay: the scenario's log was not read when it was loaded (load it with "
            "sim.load or load_scenario, which resolve [replay])"
        )
    digest = content_digest(replay.log, replay.mapping)
    if digest != replay.digest:
        raise AccessLogError(
            f"replay: {replay.log} (or its mapping) changed since the scenario was loaded"
        )
    _check_scale(scenario.scale)
    read = first_requests(replay)
    if scenario.scale != 1:
        if rng is None:
            raise TypeError("replay_arrivals: a scaled replay needs the run's random stream")
        return deal(scenario, sample(read, scenario.scale, rng))
    arrivals = deal(scenario, read)
    for cohort, times in zip(scenario.cohorts, arrivals.intended, strict=True):
        if cohort.count != len(times):
            raise AccessLogError(
                f"cohorts.{cohort.name}.count: {cohort.count}, but the log deals it "
                f"{len(times)} people; a replayed cohort's count comes from its log"
            )
    return arrivals


def _absolute(path: str, base: Path) -> str:
    return str((base / Path(path).expanduser()).absolute())


def content_digest(log: str | Path, mapping: str | Path | None) -> str:
    """A hash of the log's bytes and the mapping's: what a replayed run depends on."""
    digest = hashlib.sha256()
    for path, what in ((log, "access log"), (mapping, "log mapping")):
        digest.update(b"%s:" % (_file_digest(str(path), what).encode() if path else b"-"))
    return digest.hexdigest()[:DIGEST_LENGTH]


def _file_digest(path: str, what: str) -> str:
    """The SHA-256 of a file, kept per size and modification time: a gigabyte log is
    hashed once per process, not at each validation."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        raise AccessLogError(f"{what} not found: {path}") from None
    except OSError as err:
        raise AccessLogError(f"cannot read {what} {path}: {err.strerror}") from None
    if not Path(path).is_file():
        raise AccessLogError(f"{what} {path} is a folder, not a file")
    return _hash_file(path, stat.st_size, stat.st_mtime_ns, what)


@cache
def _hash_file(path: str, size: int, mtime_ns: int, what: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError as err:
        raise AccessLogError(f"cannot read {what} {path}: {err.strerror}") from None
    return digest.hexdigest()


def first_requests(replay: Replay) -> FirstRequests:
    """The people of the replay's day and their first requests (read once per digest)."""
    day = dt.date.fromisoformat(replay.day) if replay.day else None
    return _first_requests(replay.log, replay.format, replay.mapping, day, replay.digest)


@cache
def _first_requests(
    log: str, format: str, mapping_path: str | None, day: dt.date | None, digest: str | None
) -> FirstRequests:
    """Stream the log: each person's first mapped request of `day` (default: the day of
    the first record) and the first role their requests tell. `digest` keys the cache."""
    mapping = load_mapping(mapping_path)
    stats = ReadStats()
    people: dict[str, list] = {}  # person -> [first time, role]
    unmapped = other_days = 0
    for record in read_records(log, format, stats=stats):
        day = day or record.day
        if record.day != day:
            other_days += 1
            continue
        if mapping.service_of(record.path) is None:
            unmapped += 1
            continue
        person = people.setdefault(mapping.person_of(record), [record.time_s, None])
        person[0] = min(person[0], record.time_s)
        if person[1] is None:
            person[1] = mapping.role_of(record)
    if day is None or not people:
        raise AccessLogError(
            f"replay: {log} has no request"
            + (f" of {day.isoformat()}" if day else "")
            + (" to a mapped service" if unmapped else "")
        )
    return FirstRequests(
        day, tuple((t, role) for t, role in people.values()), stats, unmapped, other_days
    )


def sample(read: FirstRequests, fraction: float, rng: np.random.Generator) -> FirstRequests:
    """`read` with each person kept with probability `fraction`: one uniform draw per
    person of the log, in the order they first appear (so a smaller fraction with the
    same stream keeps a part of the larger one's people)."""
    keep = rng.random(len(read.people)) < fraction
    people = tuple(person for person, kept in zip(read.people, keep.tolist(), strict=True) if kept)
    return replace(read, people=people, not_sampled=len(read.people) - len(people))


def deal(scenario: Scenario, read: FirstRequests) -> Arrivals:
    """The people of `read` dealt to the cohorts of their role (see the module)."""
    starts = [[clock_to_s(t) for t in cohort.class_starts] for cohort in scenario.cohorts]
    by_role: dict[str, list[int]] = {}
    for index, cohort in enumerate(scenario.cohorts):
        by_role.setdefault(cohort.role, []).append(index)
    begin, end = scenario.start_s, scenario.end_s
    intended: list[list[float]] = [[] for _ in scenario.cohorts]
    class_start: list[list[float]] = [[] for _ in scenario.cohorts]
    left_out: Counter[str] = Counter()
    if read.not_sampled:
        left_out[f"not in the --scale {scenario.scale:g} sample"] = read.not_sampled
    for time_s, role in sorted(read.people, key=lambda person: person[0]):
        if time_s < begin:
            left_out[f"before {s_to_clock(begin)}"] += 1
        elif time_s >= end:
            left_out[f"at or after {s_to_clock(end)}"] += 1
        elif role is None:
            left_out["whose requests tell no role"] += 1
        elif role not in by_role:
            left_out[f"{role}s (no {role} cohort)"] += 1
        else:
            best, nearest = _nearest(time_s, by_role[role], starts)
            intended[best].append(time_s)
            class_start[best].append(nearest)
    return Arrivals(intended, class_start, read.day, left_out, read)


def _nearest(time_s: float, cohorts: list[int], starts: list[list[float]]) -> tuple[int, float]:
    """The cohort (of `cohorts`) with the class start nearest `time_s`, and that start."""
    best, nearest, gap = cohorts[0], starts[cohorts[0]][0], math.inf
    for index in cohorts:
        for start in starts[index]:
            if abs(time_s - start) < gap:
                best, nearest, gap = index, start, abs(time_s - start)
    return best, nearest
