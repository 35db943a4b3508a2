"""The engine's fast paths give exactly the results of the plain ones.

- The calendar environment only changes where pending events wait, so it is checked
  against a plain :class:`simpy.Environment`: the order of events of a random workload
  (ties, priorities, events scheduled from callbacks, far and infinite times, runs in
  slices), and whole scenarios through the runner, bit for bit.
- The least-loaded heap of a service with many servers must pick the server a scan
  picks (least loaded, then lowest index; never one known to be down): whole scenarios
  with crashes and autoscaling, heap against scan, bit for bit.
- The calendar's entries and the services' requests are made without ``__init__``
  (``_entry``, ``_request``): they must hold what ``__init__`` would put in them.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import simpy

import sim.engine.kernel
import sim.model.services
import sim.simulation.runner
from sim.config import load_scenario
from sim.config.scale import scale
from sim.engine.kernel import Environment
from tests.conftest import ROOT, scenario


class PlainEnvironment(simpy.Environment):
    """SimPy's own environment, with the three methods the runner adds."""

    def scheduled(self) -> int:
        return next(self._eid)  # SimPy's insertion numbers: one taken per event

    def pending(self) -> int:
        return len(self._queue)

    def clear(self) -> None:
        self._queue.clear()


def _workload(env: simpy.Environment, seed: int) -> list[tuple[float, int]]:
    """Timeouts that spawn timeouts: returns the (time, id) of every event processed."""
    rnd = random.Random(seed)
    seen: list[tuple[float, int]] = []
    ids = iter(range(10**9))

    def fire(event: simpy.Event) -> None:
        seen.append((env.now, event.value))
        for _ in range(rnd.choice((0, 1, 1, 2))):
            delay = rnd.choice(
                (0.0, 0.0, 0.25, 1.0, 0.999, 3.0, rnd.expovariate(0.5), rnd.uniform(0, 90))
            )
            if len(seen) < 3000:
                env.timeout(delay, next(ids)).callbacks.append(fire)

    def process():
        for _ in range(40):
            yield env.timeout(rnd.choice((0.0, 0.5, 2.0, 7.3)))
            seen.append((env.now, -1))
            event = env.event()
            event.callbacks.append(fire)
            event.succeed(next(ids))  # scheduled now, after the timeouts already due

    for _ in range(50):
        env.timeout(rnd.uniform(0, 30), next(ids)).callbacks.append(fire)
    env.timeout(math.inf, next(ids)).callbacks.append(fire)  # never comes
    env.timeout(2.0**60, next(ids)).callbacks.append(fire)  # beyond every slot
    env.process(process())
    for until in (5.0, 5.5, 17.0, 400.0, 2.0**61):
        env.run(until=until)
    return seen


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("slot_s", [1.0, 0.125, 64.0])
def test_events_come_in_simpys_order(seed, slot_s):
    plain = _workload(simpy.Environment(initial_time=3.7), seed)
    calendar = _workload(Environment(initial_time=3.7, slot_s=slot_s), seed)
    assert len(plain) > 1000
    assert calendar == plain


def test_peek_pending_and_an_empty_schedule():
    env = Environment(initial_time=10.0)
    assert env.peek() == math.inf and env.pending() == 0
    env.timeout(0.5)
    env.timeout(30.0)
    env.timeout(12.25)
    assert env.pending() == 3 and env.peek() == 10.5
    env.step()
    assert env.peek() == 22.25  # parked in a later slot
    env.run()
    assert env.now == 40.0 and env.pending() == 0
    with pytest.raises(simpy.core.EmptySchedule):
        env.step()


def test_run_until_an_event_and_failures_as_in_simpy():
    env = Environment()
    done = env.timeout(5.0, "done")
    assert env.run(until=done) == "done" and env.now == 5.0

    def fails():
        yield env.timeout(3.0)
        raise KeyError("boom")

    env.process(fails())
    with pytest.raises(KeyError):
        env.run()


@pytest.mark.parametrize("slot_s", [0, -1.0, 0.3, 3.0])
def test_slot_width_must_be_a_power_of_two(slot_s):
    with pytest.raises(ValueError, match="slot_s"):
        Environment(slot_s=slot_s)


def _same_results(monkeypatch, scenario_obj, patches=None):
    """Run `scenario_obj` under each setting of `patches` (attribute name -> (module,
    plain value, fast value)); the two runs must agree bit for bit."""
    patches = patches or {"Environment": (sim.simulation.runner, PlainEnvironment, Environment)}
    results = []
    for which in (1, 2):
        for name, (module, *values) in patches.items():
            monkeypatch.setattr(module, name, values[which - 1])
        results.append(sim.simulation.runner.run(scenario_obj.flat))
    plain, calendar = results
    assert calendar.events == plain.events
    assert calendar.kpi == plain.kpi
    for name, column in plain.people.items():
        np.testing.assert_array_equal(calendar.people[name], column)
    for name, counts in plain.counters.items():
        np.testing.assert_array_equal(calendar.counters[name], counts)
    for name, series in plain.services.items():
        other = calendar.services[name]
        for field, value in vars(series).items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(getattr(other, field), value)
            else:
                assert getattr(other, field) == value, (name, field)
    return plain


def test_a_morning_with_crashes_and_attacks_is_bit_identical(monkeypatch):
    """6 April at 1/500: crashes, DDoS waves, defences, sessions, classes."""
    april = scale(load_scenario(ROOT / "experiments" / "2021-04-06.toml"), 0.002)
    plain = _same_results(monkeypatch, april)
    assert sum(s["crashes"] for s in plain.service_summary.values()) > 0
    assert plain.attack_waves


def test_a_metastable_surge_is_bit_identical(monkeypatch):
    _same_results(monkeypatch, scenario("metastable"))


SCAN = {"SCAN_AT_MOST": (sim.model.services, 10**9, 0)}  # scan always, then heap always


def test_least_loaded_heap_picks_what_the_scan_picks(monkeypatch):
    """6 April at 1/500 (crashes, attacks, autoscaled portals), heap against scan."""
    april = scale(load_scenario(ROOT / "experiments" / "2021-04-06.toml"), 0.002)
    plain = _same_results(monkeypatch, april, SCAN)
    assert sum(s["crashes"] for s in plain.service_summary.values()) > 0


def test_least_loaded_heap_on_a_crashing_pool(monkeypatch):
    """A pool of servers that crash and restart: the heap must skip dead servers."""
    many = scenario(
        "surge",
        "services.login.servers=6",
        "services.login.workers_per_server=1",
        'services.login.service_time={kind="exponential", mean_s=1.0}',
        'services.login.crash={backlog_above=5, restart={kind="deterministic", value_s=90}}',
    )
    plain = _same_results(monkeypatch, many, SCAN)
    assert plain.service_summary["login"]["crashes"] > 3


def _fields(thing: object) -> dict[str, object]:
    return {name: getattr(thing, name) for name in type(thing).__slots__}


def _factory(module, name: str):
    made = getattr(module, name, None)
    if made is None:
        pytest.skip(f"compiled, {name} is a C function (the source is checked interpreted)")
    return made


def test_an_entry_made_without_init_is_the_one_init_makes():
    entry = _factory(sim.engine.kernel, "_entry")
    Entry = sim.engine.kernel.Entry
    callback = print
    assert _fields(entry(2.5, 1, 7, callback, "v")) == _fields(Entry(2.5, 1, 7, callback, "v"))


def test_a_request_made_without_init_is_the_one_init_makes():
    request = _factory(sim.model.services, "_request")
    Request = sim.model.services.Request
    reply = object()
    made, initialised = request(reply, 3.0, 33.0, 12), Request(reply, 3.0, 33.0, client=12)
    nan = {name for name, value in _fields(initialised).items() if value != value}
    assert nan == {"began"}  # NaN is not equal to itself: compared apart
    assert all(math.isnan(getattr(made, name)) for name in nan)
    assert {k: v for k, v in _fields(made).items() if k not in nan} == {
        k: v for k, v in _fields(initialised).items() if k not in nan
    }
