"""One seed gives bit-identical results; another seed gives different ones."""

from __future__ import annotations

import json

from sim.config import load_scenario
from sim.outputs.run_folder import PEOPLE, PEOPLE_CSV, SUMMARY, TIMESERIES, write_results
from sim.simulation.runner import run
from tests.conftest import DEFAULT, SMALL_DEFAULT


def _files(tmp_path, name, seed):
    """The files of a run that must not vary, with the people table in both formats."""
    sc = load_scenario(DEFAULT, list(SMALL_DEFAULT))
    result = run(sc.flat, seed=seed)
    folder = write_results(result, tmp_path / name)
    as_csv = write_results(result, tmp_path / f"{name}-csv", people="csv")
    summary = json.loads((folder / SUMMARY).read_text())
    del summary["wall_s"], summary["speed"]
    return (
        (folder / TIMESERIES).read_bytes(),
        (folder / PEOPLE).read_bytes(),
        (as_csv / PEOPLE_CSV).read_bytes(),
        summary,
    )


def test_same_seed_same_bytes(tmp_path):
    first = _files(tmp_path, "a", seed=7)
    second = _files(tmp_path, "b", seed=7)
    assert first == second


def test_other_seed_other_results(tmp_path):
    assert _files(tmp_path, "a", seed=7)[0] != _files(tmp_path, "c", seed=8)[0]


def test_same_seed_same_results_when_servers_crash():
    """A crash fails the requests in progress in a fixed order (the order they started),
    not in an order that depends on memory addresses: same seed, same morning."""
    from tests.conftest import scenario

    crash = 'services.login.crash={backlog_above=40, restart={kind="deterministic", value_s=120}}'
    runs = [run(scenario("surge", crash).flat) for _ in range(3)]
    assert runs[0].service_summary["login"]["crashes"] > 0
    assert runs[0].service_summary["login"]["crash_lost"] > 0  # requests in progress lost
    for other in runs[1:]:
        assert other.kpi == runs[0].kpi and other.events == runs[0].events
        for name, column in runs[0].people.items():
            assert (other.people[name] == column).all() or name in ("reached", "ended")
