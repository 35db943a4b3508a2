"""The typed shape of a replications folder's summary.json
(sim/experiments/replications.py): what the writer writes is what the readers read,
field by field; numbers that are not finite are nulls; a file that is not one is told
apart and a damaged one says what it lacks."""

from __future__ import annotations

import json
import math
from dataclasses import fields

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.experiments.execution import Estimate, estimate
from sim.experiments.replications import (
    Interval,
    ReplicationsSummary,
    ReplicationsSummaryError,
)
from sim.simulation.summary import Summary
from tests.conftest import SCENARIOS

SURGE = SCENARIOS / "surge.toml"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("reps") / "out"
    args = ["run", str(SURGE), "--reps", "3", "--jobs", "1", "--precision", "0.0001"]
    args += ["--max-reps", "3", "--set", "cohorts.pupils.count=300", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_summary_json_is_the_summary_field_by_field(written):
    assert set(written) == {f.name for f in fields(ReplicationsSummary)}
    read = ReplicationsSummary.from_json(written)
    assert read.to_json() == written  # JSON keeps every value as it was
    assert (read.replications, read.confidence, read.precision) == (3, 0.95, 0.0001)
    assert read.precision_reached is False  # 0.01 % is not reached in 3 mornings
    share = read.estimates["kpi.share_in_class"]
    assert set(written["estimates"]["kpi.share_in_class"]) == {f.name for f in fields(Interval)}
    assert share.n == 3 and 0 <= share.low <= share.mean <= share.high <= 1
    assert not Summary.recognises(written)  # not mistaken for one run's


def test_numbers_that_are_not_finite_are_null():
    late = Interval.of(estimate([10.0, None, 12.0], metric="kpi.p95_time_to_class_s"))
    assert (late.mean, late.low, late.high, late.half_width) == (None, None, None, None)
    one = Interval.of(estimate([0.5], metric="kpi.share_in_class"))
    assert one.mean == 0.5 and one.low is None and one.half_width is None
    kept = Interval.of(Estimate(4, 0.5, 0.1, bounds=(0.0, 1.0)))
    assert (kept.low, kept.high) == (0.4, 0.6) and math.isclose(kept.half_width, 0.1)


@pytest.mark.parametrize("data", [None, [], {"kpi": {}}, {"estimates": []}])
def test_what_is_not_a_summary_of_replications_is_refused(data):
    assert not ReplicationsSummary.recognises(data)
    with pytest.raises(ReplicationsSummaryError, match="not the summary of replications"):
        ReplicationsSummary.from_json(data)


def test_a_damaged_summary_says_what_it_lacks(written):
    with pytest.raises(ReplicationsSummaryError, match="lacks replications"):
        ReplicationsSummary.from_json({k: v for k, v in written.items() if k != "replications"})
    damaged = {**written, "estimates": {"kpi.gave_up": {"mean": 1.0}}}
    with pytest.raises(ReplicationsSummaryError, match=r"estimate of kpi\.gave_up lacks"):
        ReplicationsSummary.from_json(damaged)


def test_unbounded_replications_are_counted():
    """A percentile of time to class is infinite in a replication where too many never got
    in: the mean is then unbounded, and the summary says in how many of them it was."""
    late = estimate([None, 10.0, None], metric="kpi.time_to_class_p95_s")
    assert (late.n, late.unbounded) == (3, 2) and math.isinf(late.mean)
    assert Interval.of(late).unbounded == 2
    assert Interval.of(estimate([1.0, 2.0], metric="kpi.time_to_class_p95_s")).unbounded == 0


def test_a_summary_of_older_versions_has_no_scale_nor_unbounded(written):
    assert written["scale"] == 1.0
    older = {k: v for k, v in written.items() if k != "scale"}
    older["estimates"] = {
        m: {k: v for k, v in e.items() if k != "unbounded"} for m, e in written["estimates"].items()
    }
    read = ReplicationsSummary.from_json(older)
    assert read.scale is None and read.estimates["kpi.gave_up"].unbounded is None
