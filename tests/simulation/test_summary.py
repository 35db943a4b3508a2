"""The typed shape of summary.json (sim/simulation/summary.py): what the writer writes is what
the readers read, field by field, and a file that is not a run's summary is told apart."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from sim.outputs.run_folder import SUMMARY, write_results
from sim.simulation.runner import run
from sim.simulation.summary import Speed, Summary, SummaryError
from tests.conftest import scenario


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    result = run(scenario("mmck").flat)
    folder = write_results(result, tmp_path_factory.mktemp("summary") / "run")
    return result, json.loads((folder / SUMMARY).read_text(encoding="utf-8"))


def test_summary_json_is_the_summary_field_by_field(written):
    result, data = written
    assert set(data) == {f.name for f in fields(Summary)}
    assert set(data["speed"]) == {f.name for f in fields(Speed)}
    read = Summary.from_json(data)
    assert read == Summary.of(result)  # JSON keeps every value as it was
    assert (read.scenario, read.seed, read.services) == ("mmck", result.seed, data["services"])


def test_a_summary_of_older_code_has_no_fingerprint(written):
    _, data = written
    older = {k: v for k, v in data.items() if k != "fingerprint"}
    assert Summary.from_json(older).fingerprint is None


@pytest.mark.parametrize(
    "data",
    [None, [], {"kpi": {}, "seed": 1}, {"estimates": {}, "seed": 1}],
    ids=["null", "list", "not sim's", "replications"],
)
def test_what_is_not_a_runs_summary_is_refused(data):
    assert not Summary.recognises(data)
    with pytest.raises(SummaryError):
        Summary.from_json(data)


def test_a_damaged_summary_says_what_it_lacks(written):
    _, data = written
    with pytest.raises(SummaryError, match="lacks events"):
        Summary.from_json({k: v for k, v in data.items() if k != "events"})


def test_a_summary_of_older_code_has_no_scale(written):
    """summary.json records the scenario's --scale (1: not scaled); older ones did not."""
    _, data = written
    assert data["scale"] == 1.0
    older = {k: v for k, v in data.items() if k != "scale"}
    assert Summary.from_json(older).scale is None
