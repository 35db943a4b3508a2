"""The cost side of an options study (sim/experiments/frontier.py): the Pareto set of
cost against effect, and a tiny study with costs whose cheapest option meeting the
target is known (tests/scenarios/costs-options.toml)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.experiments.frontier import pareto
from tests.conftest import SCENARIOS

STUDY = SCENARIOS / "costs-options.toml"
COST = "kpi.cost.infrastructure"
BASE_COST = 3 * 2 * 0.5 + (2.0 + 2 * (119 / 60) * 2.0) + 150.0 + 1 * 2 * 1.0  # costs.toml
EXTRA = {"baseline": 0.0, "Fix it on five servers": 8.0, "Six web servers": 3.0}
EXTRA["Fix the service"] = 2.0


def test_pareto_keeps_the_options_no_other_beats_on_both():
    points = [
        ("cheap, poor", 1.0, 0.5),
        ("dear, good", 5.0, 0.99),
        ("dear, poor", 6.0, 0.5),  # dominated by "cheap, poor": dearer, no better
        ("middle", 3.0, 0.9),
        ("middle, worse", 3.0, 0.8),  # as dear as "middle", worse
        ("twin", 3.0, 0.9),  # the same as "middle": neither dominates the other
        ("undefined", math.nan, 0.99),
        ("unbounded", 0.5, math.inf),  # not a finite number: never efficient
    ]
    higher = pareto(points, higher_is_better=True)
    assert higher == ["cheap, poor", "dear, good", "middle", "twin"]
    lower = pareto([("a", 1.0, 10.0), ("b", 2.0, 5.0), ("c", 2.0, 20.0)], higher_is_better=False)
    assert lower == ["a", "b"]
    assert pareto([], higher_is_better=True) == []


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    target = tmp_path_factory.mktemp("frontier") / "study"
    result = CliRunner().invoke(
        app, ["options", str(STUDY), "--jobs", "1", "--out", str(target)], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    return target, result.stdout


def test_the_study_names_the_cheapest_option_meeting_the_target(study):
    folder, stdout = study
    data = json.loads((folder / "options.json").read_text())
    assert data["cheapest_meeting_target"] == "Fix the service"
    assert data["best"] != data["cheapest_meeting_target"]  # as good, dearer: not the cheapest
    assert data["pareto"] == ["baseline", "Fix the service"]
    assert (data["cost_metric"], data["currency"]) == (COST, "EUR")
    for option in data["options"]:
        cost = option["cost"][COST]
        expected = BASE_COST + EXTRA[option["name"]]
        assert cost["mean"] == pytest.approx(expected, rel=1e-9), option["name"]
        assert cost["n"] == 2 and cost["low"] <= cost["mean"] <= cost["high"]
    assert "cheapest option that meets the target: Fix the service, 167 EUR" in stdout
    with open(folder / "options.csv", newline="", encoding="utf-8") as fh:
        rows = {r["option"]: r for r in csv.DictReader(fh)}
    assert float(rows["Six web servers"][f"{COST}.diff"]) == pytest.approx(3.0)


def test_the_frontier_is_drawn(study):
    folder, _ = study
    assert (folder / "frontier.png").stat().st_size > 10_000


def test_the_brief_gives_each_options_cost_for_the_whole_platform(study, tmp_path):
    """The brief reads the study's own cost metric (options.json as written), and a
    study run at a scale is priced for the whole platform: its costs divided by it."""
    from sim.outputs.report.brief import options_table
    from sim.outputs.report.words import money_words

    folder, _ = study
    data = json.loads((folder / "options.json").read_text())
    text = options_table(data)
    for name, extra in EXTRA.items():
        assert money_words(BASE_COST + extra, "EUR") in text, name
    halved = {**data, "scale": 0.5}
    assert money_words(2 * (BASE_COST + EXTRA["Six web servers"]), "EUR") in options_table(halved)
    assert "cost, full size" in options_table(halved) and "full size" not in text
