"""`sim run --access-log`: the simulated morning as a web server's access log, one line
per traced request, that sim's own reader reads back to the same requests."""

from __future__ import annotations

import datetime as dt
import gzip
from collections import Counter

import numpy as np
import pytest

from sim.config.access_logs import ReadStats, read_records
from sim.engine.trace import OUTCOMES
from sim.outputs.access_log import DEFAULT_DAY, STATUS, format_of, ipv4, write_access_log
from sim.simulation.runner import run
from tests.conftest import SCENARIOS, scenario
from tests.robustness.conftest import invoke, one_error_line, sim

CRASH = 'services.login.crash={backlog_above=40, restart={kind="deterministic", value_s=120}}'
SURGE = SCENARIOS / "surge.toml"


@pytest.fixture(scope="module")
def traced():
    return run(scenario("surge", CRASH).flat, trace=True)


@pytest.mark.parametrize("name", ["access.log", "access.apache.gz", "access.csv.gz"])
def test_the_log_holds_every_traced_request_as_the_reader_reads_it(traced, tmp_path, name):
    format = "apache" if "apache" in name else None
    path = write_access_log(traced, tmp_path / name, format)
    stats = ReadStats()
    records = list(read_records(path, stats=stats))
    t = traced.trace
    assert stats.malformed == 0 and len(records) == len(t["service"])
    outcomes = Counter(OUTCOMES[code] for code in t["outcome"].tolist())
    assert Counter(r.status for r in records) == {STATUS[k]: n for k, n in outcomes.items()}
    assert {r.day for r in records} == {DEFAULT_DAY} and {r.path for r in records} == {"/login"}
    people = np.array([int(r.user.removeprefix("p")) for r in records])
    roles = np.asarray(traced.group_roles)[traced.people["group"][people]]
    assert [r.client for r in records] == [ipv4(a) for a in traced.addresses[people].tolist()]
    if name.endswith(".csv.gz"):  # a role column, no user agent
        assert [r.role for r in records] == roles.tolist()
    else:
        assert [r.user_agent.rpartition("=")[2] for r in records] == [f"{x})" for x in roles]
    received = np.array([r.time_s for r in records])
    duration = np.array([r.duration_s for r in records])
    written = received + duration if format_of(path) == "nginx" and not format else received
    assert (np.diff(np.floor(np.round(written, 3))) >= 0).all()  # in the order written
    assert sorted(received) == pytest.approx(sorted(t["submitted"].tolist()), abs=1.001)
    assert sorted(duration) == pytest.approx(np.sort(t["ended"] - t["submitted"]), abs=1e-3)


def test_people_behind_one_address_share_a_client():
    assert [ipv4(a) for a in (0, 255, 2**24 - 1)] == ["10.0.0.1", "10.0.1.0", "11.0.0.0"]


def test_the_format_follows_the_name():
    assert [format_of(n) for n in ("a.csv", "A.CSV.gz", "a.log", "a.log.gz", "csv")] == [
        "csv",
        "csv",
        "nginx",
        "nginx",
        "nginx",
    ]


def test_cli_writes_the_log_byte_identical_without_a_trace_in_the_folder(tmp_path):
    logs = [tmp_path / "a.log.gz", tmp_path / "b" / "a.log.gz"]
    for index, log in enumerate(logs):
        out = tmp_path / f"r{index}"
        args = ["run", SURGE, "--access-log", log, "--no-dashboard", "--out", out]
        result = invoke(*args, "--log-date", "2020-03-16")
        assert result.exit_code == 0, result.output
        assert not (out / "trace.csv.gz").exists()
    assert logs[0].read_bytes() == logs[1].read_bytes()
    with gzip.open(logs[0], "rt") as fh:
        assert "[16/Mar/2020:" in fh.readline()
    assert {r.day for r in read_records(logs[0])} == {dt.date(2020, 3, 16)}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--log-format", "csv"], "give --access-log too"),
        (["--access-log", "x.log", "--reps", "2"], "cannot be combined with --reps"),
        (["--access-log", "{out}/x.log", "--out", "{out}"], "inside the results folder"),
        (["--access-log", "x.log", "--scale", "1000"], "--access-log: "),
        (["--access-log", "{out}"], "is a folder"),
    ],
)
def test_bad_access_log_options_are_one_line_before_any_run(tmp_path, args, expected):
    out = tmp_path / "r"
    out.mkdir()
    args = [a.replace("{out}", str(out)) for a in args]
    result = invoke("run", SURGE, *args)
    assert result.exit_code == 2
    assert expected in one_error_line(result.output)
    assert not any(out.iterdir())


def test_a_bad_format_or_date_is_one_line_from_the_command(tmp_path):
    result = sim("run", SURGE, "--access-log", tmp_path / "x.log", "--log-date", "2021-02-30")
    assert result.returncode == 2
    assert "--log-date" in one_error_line(result.stderr)
    assert not (tmp_path / "x.log").exists()
