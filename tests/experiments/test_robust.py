"""The robust verdict of an options study (sim/experiments/robust.py): a known answer in
plausible worlds, the rule search, Wilson's interval, and a bad range refused early."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sim
from sim.api.experiments import load_study
from sim.config import ScenarioError
from sim.experiments import robust
from tests.conftest import SCENARIOS
from tests.robustness.conftest import invoke, one_error_line

STUDY = SCENARIOS / "sensitivity-options.toml"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("robust") / "out"
    return sim.options(STUDY, jobs=1, folder=folder, plots=False), folder


def test_each_option_gets_its_share_of_worlds_and_where_it_fails(study):
    """The baseline (2 servers) meets the target only in worlds of 5 servers or more:
    the rule found names the servers and nothing else, and separates every world; 8
    servers set on top of every world meet it everywhere, and say no failure."""
    found, folder = study
    base, eight = found.robust["baseline"], found.robust["Eight login servers"]
    worlds = [dict(w)["services.login.servers"] for w in found.worlds.worlds]
    assert base.worlds == 8 and base.meets == sum(n >= 5 for n in worlds)
    assert 0 < base.meets < 8
    (condition,) = base.rule.conditions
    assert (condition.key, condition.op, condition.threshold) == ("services.login.servers", "<=", 4)
    assert base.rule.correct == 8 and base.rule.false_alarms == 0
    assert base.fails_when.startswith("fails when login servers ≤ 4 (right in 8 of 8")
    assert (eight.meets, eight.fails_when, eight.rule) == (8, None, None)
    data = json.loads((folder / "options.json").read_text())
    entry = next(o for o in data["options"] if o["name"] == "Eight login servers")
    assert set(entry["robust"]) >= {"worlds", "meets", "share", "low", "high", "fails_when"}
    assert (
        entry["robust"]["share"] == 1.0 and entry["robust"]["low"] < 1.0 == entry["robust"]["high"]
    )
    assert (folder / "worlds.csv").is_file()


def test_the_report_says_how_robust_each_verdict_is(study):
    from sim.outputs.report.page import build_report

    _, folder = study
    page = build_report(folder)
    assert "plausible worlds" in page
    assert "fails when login servers ≤ 4" in page


def test_the_same_worlds_for_every_option():
    """Common random numbers: one seed, one world per row, every side in each."""
    plan = robust.plan_robust(load_study(STUDY))
    sides = {}
    for job in plan.jobs:
        labels = dict(job.variant)
        sides.setdefault(labels["world"], []).append(labels["option"])
        assert job.seed == 7 and job.replication == 0
    assert len(sides) == 8 and all(len(names) == 2 for names in sides.values())


def test_the_best_rule_of_two_conditions():
    """Failing worlds where x > 0.5 and y > 0.5: no single condition separates them,
    the pair does, with thresholds as round as the samples allow."""
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, size=(40, 3))
    failing = (values[:, 0] > 0.5) & (values[:, 1] > 0.5)
    rule = robust.best_rule(["x", "y", "z"], values, failing)
    assert sorted(c.key for c in rule.conditions) == ["x", "y"]
    assert rule.correct == 40 and all(c.op == ">" for c in rule.conditions)
    assert robust.best_rule(["x"], values[:, :1], np.zeros(40, dtype=bool)) is None


def test_wilson_interval():
    low, high = robust.wilson(8, 8)
    assert high == 1.0 and low == pytest.approx(0.676, abs=1e-3)
    low, high = robust.wilson(0, 10)
    assert low == 0.0 and 0.2 < high < 0.35
    assert robust.roundest(0.61, 0.7) == 0.61 and robust.roundest(4, 5) == 4


def test_a_bad_range_in_a_study_is_refused_before_any_run(tmp_path):
    bad = tmp_path / "bad-options.toml"
    text = STUDY.read_text().replace("[1, 8]", "[0, 8]")
    bad.write_text(
        text.replace('scenario = "sensitivity.toml"', f'scenario = "{SCENARIOS}/sensitivity.toml"')
    )
    out = tmp_path / "out"
    result = invoke("options", bad, "--out", out)
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "services.login.servers" in line and "greater than or equal to 1" in line
    assert not out.exists()
    with pytest.raises(ScenarioError, match="uncertain"):
        robust.plan_robust(load_study(bad))
