"""Tiny deterministic cases whose every event is computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from sim.engine.dists import Deterministic, Sequence, sampler
from sim.engine.monitor import Recorder
from sim.model.outcome import Outcome
from sim.model.people import Fate
from sim.model.services import Service
from sim.simulation.runner import run
from tests.conftest import scenario

T0 = 8 * 3600.0  # 08:00


def test_three_people_one_worker_hand_trace():
    """08:00:00 A served 0-1; B queued, gives up at 1.5 (served anyway 1-2: wasted);
    C rejected at 0 (backlog full). C retries at 5, served 5-6; B retries at 6.5,
    served 6.5-7.5."""
    result = run(scenario("trace").flat)
    p = result.people
    assert p["fate"].tolist() == [Fate.REACHED] * 3
    np.testing.assert_allclose(p["reached"] - T0, [1.0, 7.5, 6.0])
    assert p["attempts"].tolist() == [1, 2, 2]
    assert p["failures"].tolist() == [0, 1, 1]
    login = result.service_summary["login"]
    assert (login["arrivals"], login["served"], login["abandoned"]) == (5, 4, 1)
    assert (login["rejected"], login["wasted"]) == (1, 1)
    # Only B waited (1 s, behind A); B's retry and C's retry found the server idle.
    assert login["mean_wait_s"] == pytest.approx(1.0 / 4)  # 4 requests started service
    c = result.counters
    assert (c["fail_timeout"].sum(), c["fail_rejected"].sum()) == (1, 1)
    assert result.kpi["time_to_class_p50_s"] == pytest.approx(6.0)


def test_give_up_after_max_attempts():
    """With one attempt allowed, B and C give up at their first failure."""
    result = run(scenario("trace", "behaviour.max_attempts=1").flat)
    p = result.people
    assert p["fate"].tolist() == [Fate.REACHED, Fate.GAVE_UP, Fate.GAVE_UP]
    np.testing.assert_allclose(p["ended"] - T0, [1.0, 1.5, 0.0])
    assert result.kpi["gave_up"] == 2


@pytest.mark.parametrize(
    ("drop", "served", "wasted", "busy_area"), [(False, 2, 1, 3.0), (True, 1, 0, 2.0)]
)
def test_drop_abandoned_saves_the_queued_work(drop, served, wasted, busy_area):
    """Client 2 gives up while still queued: served anyway unless dropped."""
    env = simpy.Environment()
    service, record = _service(env, workers=1, backlog=5, times=[2.0, 1.0], drop=drop)

    def client(patience, delay):
        yield env.timeout(delay)
        yield service.submit(patience)

    env.process(client(10.0, 0.0))  # served 0-2
    env.process(client(1.0, 0.5))  # queued; gives up at 1.5
    env.run()
    assert (sum(record.served), sum(record.wasted)) == (served, wasted)
    assert sum(record.busy.areas) == pytest.approx(busy_area)
    assert service.queued == 0 and service.busy == 0


def test_patience_covering_wait_only_lets_b_through():
    """If the timeout covers only the wait, B starts at 1.0 < 1.5 and is served at 2."""
    result = run(scenario("trace", 'behaviour.patience_covers="wait"').flat)
    np.testing.assert_allclose(result.people["reached"] - T0, [1.0, 2.0, 6.0])


def _service(env, workers, backlog, times, servers=1, drop=False):
    recorder = Recorder(0.0, 100.0)
    record = recorder.add_service("s", servers * workers)
    draw = sampler(Sequence(tuple(times)), np.random.default_rng(0))
    service = Service(
        env,
        "s",
        servers,
        workers,
        backlog,
        draw,
        record,
        drop_abandoned=drop,
    )
    return service, record


def test_service_outcomes_and_wasted_work():
    env = simpy.Environment()
    service, record = _service(env, workers=1, backlog=5, times=[2.0, 1.0, 1.0])
    replies = []

    def client(patience, delay):
        yield env.timeout(delay)
        outcome = yield service.submit(patience)
        replies.append((env.now, outcome))

    env.process(client(10.0, 0.0))  # served 0-2
    env.process(client(1.0, 0.5))  # queued; gives up at 1.5; served 2-3 (wasted)
    env.process(client(10.0, 0.6))  # queued; served 3-4
    env.run()
    assert replies == [(1.5, Outcome.TIMEOUT), (2.0, Outcome.SERVED), (4.0, Outcome.SERVED)]
    assert sum(record.wasted) == 1
    assert sum(record.served) == 3
    # Queue length: 1 on [0.5, 0.6), 2 on [0.6, 2), 1 on [2, 3): area 0.1 + 2.8 + 1 = 3.9
    assert sum(record.queue.areas) == pytest.approx(3.9)
    assert sum(record.busy.areas) == pytest.approx(4.0)


def test_least_loaded_dispatch_fills_idle_servers_first():
    env = simpy.Environment()
    service, _ = _service(env, workers=1, backlog=0, times=[5.0], servers=3)
    replies = [service.submit(100.0) for _ in range(4)]
    env.run()
    assert [r.value for r in replies] == [Outcome.SERVED] * 3 + [Outcome.REJECTED]
    assert all(s.busy == 0 for s in service.servers)


def test_deterministic_sampler_is_constant():
    draw = sampler(Deterministic(0.25), np.random.default_rng(1), block=4)
    assert [draw() for _ in range(10)] == [0.25] * 10
