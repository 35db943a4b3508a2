"""Sweeps: the grid and the Latin hypercube as pure functions, the tables a sweep writes,
common random numbers with ``sim run`` and bad input (resuming an interrupted sweep: see
tests/robustness/test_interruptions.py)."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.experiments import execution as experiment
from sim.experiments.sweep import Factor, grid, latin_hypercube, parse_vary, with_field_types
from sim.measure.metrics import HEADLINE
from tests.conftest import SCENARIOS, scenario

SURGE = SCENARIOS / "surge.toml"
SERVERS = "services.login.servers"
ATTEMPTS = "behaviour.max_attempts"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- designs


def test_grid_is_the_factorial_product_first_factor_slowest():
    points = grid([Factor("a", (1, 2)), Factor("b", ("x", "y", "z"))])
    assert [tuple(v for _, v in p) for p in points] == [
        (1, "x"), (1, "y"), (1, "z"), (2, "x"), (2, "y"), (2, "z"),
    ]  # fmt: skip
    assert all([path for path, _ in p] == ["a", "b"] for p in points)


def test_ranges_are_exact_and_keep_their_type():
    assert parse_vary("p=1:7:2").values == (1, 3, 5, 7)
    assert all(isinstance(v, int) for v in parse_vary("p=1:7:2").values)
    assert parse_vary("p=0.1:0.3:0.1").values == (0.1, 0.2, 0.3)  # no float drift
    assert parse_vary("p=0:1:0.3").values == (0.0, 0.3, 0.6, 0.9)
    assert parse_vary("p=2:2:1").values == (2,)


def test_lists_are_read_like_set_values():
    assert parse_vary("start=08:00,08:30").values == ("08:00", "08:30")  # clock times
    assert parse_vary("p=1, 2.5 ,true").values == (1, 2.5, True)
    tables = parse_vary('p={kind="exponential", mean_s=0.2},{kind="deterministic", value_s=1}')
    assert tables.values == (
        {"kind": "exponential", "mean_s": 0.2},
        {"kind": "deterministic", "value_s": 1},
    )
    assert parse_vary('p=["09:00", "09:15"]').values == (["09:00", "09:15"],)


@pytest.mark.parametrize(
    "text", ["servers", "=1,2", "p=", "p=1:", "p=5:1:1", "p=1:5:0", "p=1:5:-1", "p=1,,2"]
)
def test_bad_vary_is_refused(text):
    with pytest.raises(ValueError, match="--vary"):
        parse_vary(text)


def test_a_range_without_step_is_only_for_sampling():
    with pytest.raises(ValueError, match="needs a step"):
        grid([parse_vary("p=1:5")])


def test_latin_hypercube_stays_in_range_integer_and_is_reproducible():
    factors = [parse_vary("i=1:6"), parse_vary("x=0.5:2.0"), parse_vary("c=a,b,c")]
    n = 20
    points = latin_hypercube(factors, n, seed=3)
    assert points == latin_hypercube(factors, n, seed=3)
    assert points != latin_hypercube(factors, n, seed=4)
    ints = [p[0][1] for p in points]
    floats = [p[1][1] for p in points]
    assert all(isinstance(v, int) and 1 <= v <= 6 for v in ints)
    assert all(0.5 <= v <= 2.0 for v in floats)
    assert {p[2][1] for p in points} <= {"a", "b", "c"}
    # one point in each of the n strata of every axis
    assert sorted(int((v - 0.5) / 1.5 * n) for v in floats) == list(range(n))
    assert all(n // 6 - 1 <= ints.count(v) <= n // 6 + 2 for v in range(1, 7))


def test_a_range_over_an_integer_field_stays_integer():
    factors = with_field_types([parse_vary(f"{SERVERS}=1.0:4.0")], scenario("surge"))
    assert factors[0].integer
    values = {p[0][1] for p in latin_hypercube(factors, 12, seed=1)}
    assert values == {1, 2, 3, 4} and all(isinstance(v, int) for v in values)


# ---------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """surge, servers 2 or 3 x at most 2 or 4 attempts, 2 replications, with plots."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    result = invoke(
        "sweep", SURGE, "--vary", f"{SERVERS}=2,3", "--vary", f"{ATTEMPTS}=2:4:2",
        "--reps", 2, "--jobs", 1, "--out", out, "--assert", "people>=7500",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_a_sweep_writes_tidy_tables_in_csv_and_parquet(small_sweep):
    rows = _rows(small_sweep / "runs.csv")
    assert len(rows) == 8
    header = list(rows[0])
    assert header[:6] == ["run_id", "variant", "replication", "seed", SERVERS, ATTEMPTS]
    assert all(name in header for name in HEADLINE)
    assert [(r[SERVERS], r[ATTEMPTS], r["replication"]) for r in rows[:3]] == [
        ("2", "2", "0"), ("2", "2", "1"), ("2", "4", "0"),
    ]  # fmt: skip
    assert {r["seed"] for r in rows} == {"1"}
    table = pq.read_table(small_sweep / "runs.parquet")
    assert table.num_rows == 8 and table.column_names == header
    assert table.column(SERVERS).to_pylist() == [2, 2, 2, 2, 3, 3, 3, 3]
    assert table.column("kpi.gave_up").to_pylist() == [int(r["kpi.gave_up"]) for r in rows]

    variants = _rows(small_sweep / "variants.csv")
    assert len(variants) == 4
    assert list(variants[0])[:4] == ["variant", SERVERS, ATTEMPTS, "n"]
    for row in variants:
        assert row["n"] == "2"
        low, mean, high = (float(row[f"kpi.share_in_class.{p}"]) for p in ("low", "mean", "high"))
        assert low <= mean <= high
    assert pq.read_table(small_sweep / "variants.parquet").num_rows == 4
    manifest = json.loads((small_sweep / "manifest.json").read_text())
    assert manifest["runs"] == 8 and manifest["design"] == "grid" and manifest["failed"] == []
    names = {p.name for p in small_sweep.glob("*.png")}
    assert "kpi_share_in_class.png" in names and "heatmap_gave_up.png" in names


def test_a_variant_of_the_sweep_is_what_sim_run_gives(small_sweep, tmp_path):
    """Common random numbers: the sweep's runs of a variant are the runs of ``sim run
    --set ... --reps`` (same keys, seeds, replications and KPIs)."""
    out = tmp_path / "reps"
    sets = ["--set", f"{SERVERS}=3", "--set", f"{ATTEMPTS}=4"]
    result = invoke("run", SURGE, *sets, "--reps", 2, "--jobs", 1, "--out", out)
    assert result.exit_code == 0, result.output
    swept = [r for r in _rows(small_sweep / "runs.csv") if (r[SERVERS], r[ATTEMPTS]) == ("3", "4")]
    ran = _rows(out / "replications.csv")
    assert len(swept) == len(ran) == 2
    common = (set(swept[0]) & set(ran[0])) - {"scenario"}
    assert {"run_id", "replication", "seed", *HEADLINE} <= common
    for a, b in zip(swept, ran, strict=True):
        assert {k: a[k] for k in common} == {k: b[k] for k in common}


def test_an_assertion_fails_if_any_variant_misses_it(small_sweep):
    args = ["--vary", f"{SERVERS}=2,3", "--vary", f"{ATTEMPTS}=2:4:2", "--reps", 2, "--jobs", 1]
    result = invoke(
        "sweep", SURGE, *args, "--out", small_sweep, "--no-plots", "--assert", "gave_up<=0"
    )
    assert result.exit_code == 1
    assert "FAIL in" in result.stdout and "(8 reused, 0 run)" in result.stdout


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    real = experiment.run_job

    def flaky(job):
        if job.scenario.services["login"].servers == 3:
            raise RuntimeError("disk on fire")
        return real(job)

    monkeypatch.setattr(experiment, "run_job", flaky)
    out = tmp_path / "out"
    args = ["sweep", SURGE, "--vary", f"{SERVERS}=2,3", "--reps", 1, "--jobs", 1, "--no-plots"]
    result = invoke(*args, "--out", out)
    assert result.exit_code == 1
    assert "disk on fire" in result.stderr
    assert len(_rows(out / "runs.csv")) == 1
    assert [r["n"] for r in _rows(out / "variants.csv")] == ["1", "0"]
    (failed,) = json.loads((out / "manifest.json").read_text())["failed"]
    assert failed["variant"] == {SERVERS: 3} and "disk on fire" in failed["error"]
    assert (out / "runs" / f"{failed['key']}.error.json").is_file()
    monkeypatch.setattr(experiment, "run_job", real)
    again = invoke(*args, "--out", out)
    assert again.exit_code == 0 and "(1 reused, 1 run)" in again.stdout


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        ("services.login.servers", "--vary expects path="),
        ("services.login.servers=4:1:1", "low end 4 is above"),
        ("services.login.servers=1:4:0", "step must be greater than 0"),
        ("services.login.serverz=1,2", "unknown key 'services.login.serverz'"),
        ("services.login.servers=0,1", "greater than or equal to 1"),
    ],
)
def test_bad_vary_gives_one_line_exit_2_and_writes_nothing(tmp_path, vary, message):
    out = tmp_path / "out"
    result = invoke("sweep", SURGE, "--vary", vary, "--reps", 1, "--out", out)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not out.exists()


# Interrupted sweeps (SIGINT, SIGKILL, then the same command again) are tested with
# ``sim run --reps`` and ``sim plan`` in tests/robustness/test_interruptions.py.
