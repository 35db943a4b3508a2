"""The experiment commands alike (issue 15, item 10): ``sweep`` and ``compare`` take
``--scale`` and ``--seed`` as ``run``, ``plan`` and ``options`` do; a second what-if
of ``compare`` gets its own folder; ``run --precision`` counts its own runs as run and
names the KPIs that missed; ``plan`` says when capacity is not what limits the target.
"""

from __future__ import annotations

import csv
import json
import tomllib

from typer.testing import CliRunner

from sim.cli import app
from sim.cli.experiments import report_failures
from sim.config import load_scenario
from sim.experiments.execution import Job
from tests.conftest import SCENARIOS

SURGE = str(SCENARIOS / "surge.toml")  # 6,000 pupils and 1,500 parents
PEOPLE = 7500


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_sweep_takes_scale_and_seed(tmp_path):
    out = tmp_path / "sweep"
    result = invoke(
        "sweep", SURGE, "--vary", "services.login.servers=2,4", "--reps", "1",
        "--scale", "0.5", "--seed", "7", "--jobs", "1", "--no-plots", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _rows(out / "runs.csv")
    assert len(rows) == 2
    assert {float(r["kpi.people"]) for r in rows} <= {PEOPLE / 2 - 1, PEOPLE / 2, PEOPLE / 2 + 1}
    assert {int(r["seed"]) for r in rows} == {7}
    assert "(seed 7)" in " ".join(result.output.split())


def test_compare_takes_scale_and_seed(tmp_path):
    out = tmp_path / "compare"
    result = invoke(
        "compare", SURGE, "--set-b", "services.login.servers=3", "--reps", "2",
        "--scale", "0.5", "--seed", "7", "--jobs", "1", "--no-plots", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for side in ("a", "b"):
        scenario = tomllib.loads((out / f"scenario_{side}.toml").read_text())
        assert scenario["seed"] == 7
        assert sum(c["count"] for c in scenario["cohorts"]) == PEOPLE / 2
    assert json.loads((out / "compare.json").read_text())["seed"] == 7


def test_a_second_what_if_does_not_replace_the_first_ones_folder(tmp_path, monkeypatch):
    """``compare A --set-b X`` then ``--set-b Y``: two folders, each named after its
    change; the first one's tables are still the first comparison's."""
    monkeypatch.chdir(tmp_path)
    common = ["--reps", "2", "--jobs", "1", "--no-plots"]
    first = invoke("compare", SURGE, "--set-b", "services.login.servers=3", *common)
    assert first.exit_code == 0, first.output
    three = tmp_path / "results" / "surge-compare-services.login.servers-3"
    table = (three / "compare.csv").read_bytes()
    second = invoke("compare", SURGE, "--set-b", "services.login.servers=4", *common)
    assert second.exit_code == 0, second.output
    four = tmp_path / "results" / "surge-compare-services.login.servers-4"
    assert (four / "compare.csv").read_bytes() != table
    assert (three / "compare.csv").read_bytes() == table
    assert f"results written to {four.relative_to(tmp_path)}/" in " ".join(second.output.split())


def test_the_compare_folder_is_named_after_what_changes():
    from sim.cli.sweep import compare_folder_name

    assert compare_folder_name("a", "b", None, None) == "a-vs-b"
    assert compare_folder_name("a", "a", None, ["x.y=2"]) == "a-compare-x.y-2"
    name = compare_folder_name("a", "a", ["p=1"], ['x={kind="exponential", mean_s=0.3}', "z=1"])
    assert name == "a-compare-a-p-1-x-kind-exponential-mean_s-0.3+z-1"
    long = compare_folder_name("a", "a", None, [f"services.s{i}.servers=10" for i in range(9)])
    other = compare_folder_name("a", "a", None, [f"services.s{i}.servers=11" for i in range(9)])
    assert len(long) <= len("a-compare-") + 60 and long != other  # a hash tells them apart


def test_precision_counts_its_own_batches_as_run_and_names_what_missed(tmp_path):
    """--precision adds batches (2, then 4, then the cap 5): all 5 runs were made by this
    command; it gives up at the cap and names the KPIs that missed."""
    out = tmp_path / "reps"
    args = ["run", SURGE, "--reps", "2", "--precision", "0.0001", "--max-reps", "5"]
    result = invoke(*args, "--jobs", "1", "--out", out)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "(0 reused, 5 run)" in text
    assert "NOT reached after 5 replications (cap); missed by " in text
    assert "gave_up (± " in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["reused"], manifest["ran_now"]) == (0, 5)
    again = invoke(*args, "--jobs", "1", "--out", out)
    assert "(5 reused, 0 run)" in " ".join(again.output.split())


def test_plan_says_when_capacity_is_not_what_limits_the_target(tmp_path):
    """The number of people does not depend on the login servers: the plan probes both
    ends of the range, sees the same figure, says so, and stops (2 probes, not 4)."""
    out = tmp_path / "plan"
    result = invoke(
        "plan", SURGE, "--vary", "services.login.servers=1:8", "--target", "people>=10000",
        "--reps", "2", "--jobs", "1", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert (
        "capacity is not what limits this target: kpi.people is 7,500 at both ends of the "
        "range (1: 7,500, 8: 7,500; no significant difference)"
    ) in text
    data = json.loads((out / "plan.json").read_text())
    assert [p["value"] for p in data["probes"]] == [8, 1]
    assert data["metric_moves"] is False and data["answer"] is None


def test_plan_says_the_metric_moves_when_the_range_is_too_narrow(tmp_path):
    out = tmp_path / "plan"
    result = invoke(
        "plan", SURGE, "--vary", "services.login.servers=1:2", "--target", "gave_up<=0",
        "--reps", "2", "--max-reps", "2", "--jobs", "1", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "even 2 does not hold" in text and "kpi.gave_up moves (1: " in text
    assert "a wider range may" in text
    assert json.loads((out / "plan.json").read_text())["metric_moves"] is True


def test_a_failed_run_is_one_line_naming_its_variant_if_any(capsys):
    """run --reps, sweep, plan and options say a failed run alike (one helper): its key,
    its variant when it has one, its replication and the last line of its error."""
    scenario = load_scenario(SURGE)
    alone, varied = Job(scenario, 3, 1), Job(scenario, 0, 1, variant=(("servers", 4),))
    report_failures([(alone, "Traceback ...\nValueError: boom\n"), (varied, "")])
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"run {alone.key} (replication 3) failed: ValueError: boom",
        f"run {varied.key} (servers=4, replication 0) failed: unknown error",
    ]
