"""Paired comparisons: the differences are those of the paired replications, with a
Student-t interval; a clear effect is significant; the command's files and checks."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from sim.cli import app
from sim.experiments.compare import paired
from sim.measure.metrics import HEADLINE
from tests.conftest import SCENARIOS

SURGE = SCENARIOS / "surge.toml"
SERVERS = "services.login.servers"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _record(replication: int, **metrics):
    return {"replication": replication, "metrics": metrics}


def test_paired_differences_are_b_minus_a_per_replication():
    a = [_record(k, x=v, p=1.0) for k, v in enumerate([10.0, 12.0, 11.0, 15.0])]
    b = [_record(k, x=v, p=None if k == 2 else 2.0) for k, v in enumerate([9.0, 10.5, 10.0, 13.0])]
    diffs = paired(a, b)
    d = [-1.0, -1.5, -1.0, -2.0]
    half = stats.t.ppf(0.975, 3) * np.std(d, ddof=1) / 2
    assert diffs["x"].diff.mean == pytest.approx(np.mean(d))
    assert diffs["x"].diff.half_width == pytest.approx(half)
    assert (diffs["x"].mean_a, diffs["x"].mean_b) == (12.0, 10.625)
    assert diffs["x"].significant  # the interval excludes 0
    assert math.isnan(diffs["p"].diff.mean) and not diffs["p"].significant  # an inf side


def test_only_replications_both_sides_finished_are_paired():
    a = [_record(k, x=float(k)) for k in range(3)]
    b = [_record(k, x=float(k) + 1) for k in (0, 2)]
    diff = paired(a, b)["x"].diff
    assert (diff.n, diff.mean, diff.half_width) == (2, 1.0, 0.0)


@pytest.fixture(scope="module")
def servers_1_vs_4(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "out"
    args = [
        "compare", SURGE, "--set-a", f"{SERVERS}=1", "--set-b", f"{SERVERS}=4",
        "--reps", 3, "--jobs", 1, "--out", out,
    ]  # fmt: skip
    result = invoke(*args, "--assert", "gave_up<0")
    assert result.exit_code == 0, result.output
    return out, args, result


def test_compare_writes_the_paired_differences_of_the_runs(servers_1_vs_4):
    out, _, result = servers_1_vs_4
    with open(out / "runs.csv", newline="", encoding="utf-8") as fh:
        runs = list(csv.DictReader(fh))
    assert [(r["side"], r[SERVERS], r["replication"]) for r in runs] == [
        ("A", "1", "0"), ("A", "1", "1"), ("A", "1", "2"),
        ("B", "4", "0"), ("B", "4", "1"), ("B", "4", "2"),
    ]  # fmt: skip
    assert {r["seed"] for r in runs} == {"1"}
    report = json.loads((out / "compare.json").read_text())["differences"]
    for name in ("kpi.gave_up", "kpi.share_in_class", "services.login.mean_wait_s"):
        a = [float(r[name]) for r in runs[:3]]
        b = [float(r[name]) for r in runs[3:]]
        d = np.subtract(b, a)
        assert report[name]["difference"] == pytest.approx(d.mean())
        half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
        assert report[name]["half_width"] == pytest.approx(half)
    gave_up = report["kpi.gave_up"]
    assert gave_up["significant"] and gave_up["high"] < 0  # 4 servers: nobody gives up
    assert not report["kpi.arrived"]["significant"]  # the same people on both sides
    with open(out / "compare.csv", newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [r["metric"] for r in table[: len(HEADLINE)]] == list(HEADLINE)
    assert (out / "compare.png").is_file()
    assert "gave_up" in result.stdout and "assert kpi.gave_up<0: ok" in result.stdout


def test_an_assertion_on_the_difference_needs_the_whole_interval(servers_1_vs_4):
    _, args, _ = servers_1_vs_4
    result = invoke(*args, "--no-plots", "--assert", "gave_up<-1000000")
    assert result.exit_code == 1 and "FAIL" in result.stdout
    assert "(6 reused, 0 run)" in result.stdout


def test_two_scenario_files_run_with_the_seed_of_a(tmp_path):
    b = tmp_path / "b.toml"
    b.write_text(f'extends = "{SURGE}"\nname = "surge4"\nseed = 7\n[services.login]\nservers = 4\n')
    out = tmp_path / "out"
    result = invoke("compare", SURGE, b, "--reps", 2, "--jobs", 1, "--out", out, "--no-plots")
    assert result.exit_code == 0, result.output
    report = json.loads((out / "compare.json").read_text())
    assert (report["a"], report["b"], report["seed"]) == ("surge", "surge4", 1)
    assert "seed = 1" in (out / "scenario_b.toml").read_text()


def test_nothing_to_compare_is_one_line_and_exit_2(tmp_path):
    result = invoke("compare", SURGE, "--reps", 2, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: nothing to compare: give scenario B or --set-b path=value"
    ]
    assert not (tmp_path / "out").exists()
