"""A morning makes no reference cycles while it runs, so the runner can keep Python's
cyclic garbage collector off (:func:`sim.simulation.runner.cycle_collector_off`): reference
counting alone frees everything the model drops. A cycle made per request or per
person would otherwise pile up for the whole run (gigabytes on a national morning)."""

from __future__ import annotations

import gc
from contextlib import contextmanager

import pytest

import sim.simulation.runner
from sim.config import load_scenario
from sim.config.scale import scale
from sim.simulation.runner import run
from tests.conftest import ROOT
from tests.engine.test_compiled import CASES

MORNINGS = [*CASES, ("experiments/default.toml", 0.05)]


@pytest.mark.parametrize(("path", "factor"), MORNINGS, ids=[p for p, _ in MORNINGS])
def test_a_morning_leaves_nothing_for_the_cycle_collector(monkeypatch, path, factor):
    unreachable = []
    collector_off = sim.simulation.runner.cycle_collector_off

    @contextmanager
    def and_then_collect():
        with collector_off():
            yield
            unreachable.append(gc.collect())  # only what the run made: the rest is frozen

    monkeypatch.setattr(sim.simulation.runner, "cycle_collector_off", and_then_collect)
    result = run(scale(load_scenario(ROOT / path), factor).flat, trace=True)
    assert result.events > 1000  # a real morning ran
    assert unreachable == [0]
