"""Who intends to connect when, and which class each person belongs to.

Pure numpy, computed once before the simulation starts. Within a cohort, class starts
are handed out in proportion to their shares (deterministically, so a cohort of 1000 with
shares 0.5/0.5 has exactly 500 at each start); the intended connect time is the class
start plus a random offset. Within a class group and a class start, each teacher opens
one class and pupils are dealt to the classes in turn; a group without teachers gets
classes of the classroom's ``class_size`` that are open from the start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.config import clock_to_s
from sim.config.platform_schema import ClassStep
from sim.config.scenario import Cohort, FlatScenario, NormalOffset, Scenario

if TYPE_CHECKING:
    from sim.config.replay import Arrivals

ROLES = ("pupil", "teacher", "other")


@dataclass
class Population:
    """One row per cohort member, sorted by intended connect time."""

    group: np.ndarray  # index of the cohort in scenario.cohorts
    intended: np.ndarray  # s since midnight
    class_start: np.ndarray  # s since midnight
    klass: np.ndarray  # global class index, -1 when the journey has no class
    address: np.ndarray  # source address; people of a cohort share them in groups
    n_addresses: int
    n_classes: int
    class_needs_teacher: np.ndarray  # bool per class


def class_step_of(scenario: FlatScenario, journey: str) -> ClassStep | None:
    for step in scenario.journeys[journey]:
        if isinstance(step, ClassStep):
            return step
    return None


def groups_with_lesson(scenario: FlatScenario) -> np.ndarray:
    """Per group (cohorts, then sources): whether its class start is a lesson (pupils,
    teachers, or any cohort with a class step), rather than a parent's mere anchor for
    connect times. The KPIs of time in class and the lost class-hours read it."""
    lesson = [
        cohort.role != "other" or class_step_of(scenario, cohort.journey) is not None
        for cohort in scenario.cohorts
    ]
    return np.array(lesson + [False] * len(scenario.sources), dtype=bool)


def build_population(
    scenario: FlatScenario, rng: np.random.Generator, given: Arrivals | None = None
) -> Population:
    """The cohorts' people; their intended connect times drawn (class start plus an
    offset), or `given` (a replayed log: :mod:`sim.config.replay`), then no draw."""
    groups, intended, starts, start_index, addresses = [], [], [], [], []
    n_addresses = 0
    for index, cohort in enumerate(scenario.cohorts):
        addresses.append(n_addresses + np.arange(cohort.count) // cohort.people_per_address)
        n_addresses += math.ceil(cohort.count / cohort.people_per_address)
        if given is None:
            cohort_starts, cohort_start_index = _class_starts(cohort)
            cohort_intended = cohort_starts + _offsets(cohort, rng)
        else:
            cohort_starts, cohort_start_index, cohort_intended = _given(cohort, given, index)
        groups.append(np.full(cohort.count, index, dtype=np.int32))
        starts.append(cohort_starts)
        start_index.append(cohort_start_index)
        intended.append(cohort_intended)
    group = np.concatenate(groups) if groups else np.zeros(0, np.int32)
    intended_all = np.concatenate(intended) if intended else np.zeros(0)
    start_all = np.concatenate(starts) if starts else np.zeros(0)
    start_idx_all = np.concatenate(start_index) if start_index else np.zeros(0, np.int32)
    address = np.concatenate(addresses) if addresses else np.zeros(0, np.int64)
    klass, needs_teacher = _assign_classes(scenario, group, start_idx_all)
    order = np.argsort(intended_all, kind="stable")
    return Population(
        group=group[order],
        intended=intended_all[order],
        class_start=start_all[order],
        klass=klass[order],
        address=address[order],
        n_addresses=n_addresses,
        n_classes=len(needs_teacher),
        class_needs_teacher=needs_teacher,
    )


def _given(cohort: Cohort, given: Arrivals, index: int) -> tuple[np.ndarray, ...]:
    """Class start, its index and intended time of each member, as the log gave them."""
    seconds = np.array([clock_to_s(t) for t in cohort.class_starts])
    starts = np.asarray(given.class_start[index], dtype=float)
    times = np.asarray(given.intended[index], dtype=float)
    if len(times) != cohort.count:
        raise ValueError(f"cohort {cohort.name}: {cohort.count} people, {len(times)} given")
    first_of = {start: i for i, start in reversed(list(enumerate(seconds.tolist())))}
    start_index = np.array([first_of[s] for s in starts.tolist()], dtype=np.int32)
    return starts, start_index, times


def _class_starts(cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
    """Class start (s) and its index for every member, split by the shares."""
    k = len(cohort.class_starts)
    shares = cohort.class_start_shares or [1.0 / k] * k
    bounds = np.floor(np.cumsum([0.0, *shares]) * cohort.count + 0.5).astype(int)
    bounds[-1] = cohort.count
    index = np.zeros(cohort.count, dtype=np.int32)
    for i in range(k):
        index[bounds[i] : bounds[i + 1]] = i
    seconds = np.array([clock_to_s(t) for t in cohort.class_starts])
    return seconds[index], index


def _offsets(cohort: Cohort, rng: np.random.Generator) -> np.ndarray:
    connect = cohort.connect
    if isinstance(connect, NormalOffset):
        return 60.0 * rng.normal(connect.mean_min, connect.sd_min, cohort.count)
    return 60.0 * rng.uniform(connect.low_min, connect.high_min, cohort.count)


def _assign_classes(
    scenario: FlatScenario, group: np.ndarray, start_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Global class index per person, and whether each class waits for a teacher."""
    klass = np.full(len(group), -1, dtype=np.int64)
    needs_teacher: list[bool] = []
    cohorts = scenario.cohorts
    members: dict[tuple[str, int], dict[str, list[np.ndarray]]] = {}
    for index, cohort in enumerate(cohorts):
        step = class_step_of(scenario, cohort.journey)
        if step is None:
            continue
        group_name = cohort.class_group or f"cohort:{cohort.name}"
        rows = np.flatnonzero(group == index)
        for s in range(len(cohort.class_starts)):
            key = (group_name, s)
            bucket = members.setdefault(key, {"teacher": [], "other": [], "size": []})
            role = "teacher" if cohort.role == "teacher" else "other"
            bucket[role].append(rows[start_index[rows] == s])
            bucket["size"].append(scenario.classrooms[step.classroom].class_size)
    for bucket in members.values():
        teachers = np.concatenate(bucket["teacher"]) if bucket["teacher"] else np.zeros(0, int)
        others = np.concatenate(bucket["other"]) if bucket["other"] else np.zeros(0, int)
        first = len(needs_teacher)
        if len(teachers):
            n = len(teachers)
            klass[teachers] = first + np.arange(n)
            needs_teacher.extend([True] * n)
        else:
            n = max(1, math.ceil(len(others) / bucket["size"][0]))
            needs_teacher.extend([False] * n)
        klass[others] = first + np.arange(len(others)) % n
    return klass, np.asarray(needs_teacher, dtype=bool)


def expected_people(scenario: Scenario) -> float:
    """People a run will have: every cohort member, and the expected arrivals of the
    open sources (piecewise-constant Poisson rates over the run). Known before the run,
    for size checks (``sim run --trace``)."""
    total = float(sum(cohort.count for cohort in scenario.cohorts))
    start, end = scenario.start_s, scenario.end_s
    for source in scenario.sources:
        if source.rate_per_s is not None:
            total += source.rate_per_s * (end - start)
            continue
        starts = [max(clock_to_s(p.start), start) for p in source.rates]
        ends = [*starts[1:], end]
        for piece, a, b in zip(source.rates, starts, ends, strict=True):
            total += piece.rate_per_s * max(0.0, min(b, end) - a)
    return total
