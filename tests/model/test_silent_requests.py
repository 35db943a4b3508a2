"""The requests people make every think time in a lesson or a session (silent requests).

With exponential think times the whole step makes them as one stream
(:class:`sim.model.people.Chorus`); otherwise each person keeps their own clock
(:class:`sim.model.people.OwnClocks`). Both must give every member Poisson requests of
rate 1/mean for as long as they stay, whoever else comes and goes: checked on the
components themselves, then on a whole morning, exponential against a gamma of cv 1
(the same distribution, run on per-person clocks).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config import load_scenario
from sim.config.scale import scale
from sim.engine.dists import Deterministic, Exponential, sampler, uniform_sampler
from sim.engine.kernel import Environment, later_on
from sim.engine.monitor import Recorder
from sim.engine.trace import Trace
from sim.model.people import Chorus, Habits, OwnClocks, Person
from sim.model.services import Service
from sim.simulation.runner import run
from tests.conftest import ROOT

MEAN_S = 60.0
PEOPLE = 2000


def _habits() -> Habits:
    """A patience of 30 s; silent requests are never retried."""
    return Habits(lambda: 30.0, 0.0, 1, None, None)


class Counter:
    """A service that notes who asked when: a real one, quick and never full, whose
    trace keeps its silent requests (their maker, and when they were sent)."""

    def __init__(self, env: Environment) -> None:
        record = Recorder(0.0, 100_000.0).add_service("s", 1000)
        quick = sampler(Deterministic(1e-3), np.random.default_rng(0))
        self.service = Service(env, "s", 1, 1000, 10**9, quick, record)
        self.service.trace, self.service.index = Trace(["s"], silent=True), 0

    @property
    def asked(self) -> list[tuple[float, int]]:
        """(time sent, maker) of every request answered so far."""
        rows = self.service.trace.to_numpy()
        assert rows["silent"].all()  # nobody waited for an answer
        return list(zip(rows["submitted"].tolist(), rows["person"].tolist(), strict=True))


def _stays(requests_of, seed: int = 7):
    """PEOPLE people join at random times over 1000 s and stay 100 to 2000 s; returns
    (join, leave, requests made by each, requests outside their maker's stay, requests
    in the first half of it)."""
    rng = np.random.default_rng(seed)
    env = Environment()
    service = Counter(env)
    requests = requests_of(env, service.service)
    joins = rng.uniform(0.0, 1000.0, PEOPLE)
    leaves = joins + rng.uniform(100.0, 2000.0, PEOPLE)
    later = later_on(env)
    habits = _habits()
    for pid in range(PEOPLE):
        person = Person(pid, "pupil", habits, -1, pid)
        later(joins[pid], lambda p, end=leaves[pid]: requests.join(p, end), person)
        later(leaves[pid], requests.leave, person)
    env.run(until=4000.0)
    counts = np.zeros(PEOPLE)
    outside = first_half = 0
    for t, address in service.asked:
        counts[address] += 1
        outside += not joins[address] <= t < leaves[address]
        first_half += t < (joins[address] + leaves[address]) / 2
    return joins, leaves, counts, outside, first_half


def _chorus(env, service):
    rng = np.random.default_rng(1)
    return Chorus(env, service, sampler(Exponential(MEAN_S), rng), uniform_sampler(rng))


def _own_clocks(env, service):
    return OwnClocks(env, service, sampler(Exponential(MEAN_S), np.random.default_rng(1)))


@pytest.mark.parametrize("requests_of", [_chorus, _own_clocks], ids=["chorus", "own clocks"])
def test_each_member_makes_poisson_requests_while_they_stay(requests_of):
    joins, leaves, counts, outside, first_half = _stays(requests_of)
    assert outside == 0  # nobody asks before joining or after leaving
    expected = (leaves - joins) / MEAN_S  # Poisson means, one per person
    # the total is Poisson: within 4 standard errors of its mean
    assert abs(counts.sum() - expected.sum()) < 4 * math.sqrt(expected.sum())
    # each count is Poisson of its own mean: the dispersion statistic is about a
    # chi-square with PEOPLE degrees of freedom (mean PEOPLE, sd sqrt(2 PEOPLE)); a stream
    # that favoured some seats, or people who stayed longer, would inflate it
    dispersion = (((counts - expected) ** 2) / expected).sum()
    assert abs(dispersion - PEOPLE) < 4 * math.sqrt(2 * PEOPLE)
    # and spread evenly over each stay, as a Poisson stream's: whether a request falls in
    # the first half of its maker's stay is a fair coin (not bunched at joining)
    total = counts.sum()
    assert abs(first_half - total / 2) < 4 * math.sqrt(total / 4)


def test_the_chorus_falls_silent_when_everyone_has_left():
    env = Environment()
    service = Counter(env)
    chorus = _chorus(env, service.service)
    person = Person(0, "pupil", _habits(), -1, 0)
    later = later_on(env)
    later(0.0, lambda p: chorus.join(p, 600.0), person)
    later(600.0, chorus.leave, person)
    env.run(until=100_000.0)
    assert service.asked and max(t for t, _ in service.asked) < 600.0
    assert env.pending() == 1  # only the run's own stop: no stream left for an empty room


@pytest.mark.parametrize("kind", ["exponential", "gamma"])
def test_a_morning_makes_one_request_per_think_time_in_class(kind):
    """The default morning at 1/20, the in-class think time exponential (one stream per
    step) or a gamma of cv 1 (the same distribution, a clock per person): the in-class
    service receives only those requests, a Poisson count whose mean is the time spent
    in class over the mean think time (measured by the run: people in class, minute by
    minute). Within 4 standard errors, about 2.4 % here."""
    think = {"exponential": "{kind='exponential', mean_s=600.0}",
             "gamma": "{kind='gamma', mean_s=600.0, cv=1.0}"}[kind]  # fmt: skip
    scenario = load_scenario(
        ROOT / "experiments/default.toml", [f"journeys.pupil.2.think_time={think}"]
    )
    result = run(scale(scenario, 0.05).flat)
    expected = result.in_lesson.sum() * 60.0 / 600.0  # person-seconds in class / mean
    made = result.services["visio"].arrivals.sum()
    assert expected > 10_000  # a real morning
    assert abs(made - expected) < 4 * math.sqrt(expected)
