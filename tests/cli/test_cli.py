"""The ``sim`` command: the files a run writes, ``sim show``, and one-line errors.

Runs use the default scenario shrunk by ``SMALL_DEFAULT``; only two full runs are made
(module-scoped fixtures), every error case fails before simulating.
"""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from xml.etree import ElementTree

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sim import __version__
from sim.cli import app
from sim.config import load_scenario
from sim.config.scenario import Scenario
from sim.engine import compiled
from sim.outputs.progress import without_progress
from sim.outputs.tables import table_label
from tests.conftest import DEFAULT, INSTALLED, ROOT, SCENARIOS, SMALL_DEFAULT

SMALL_SETS = [arg for override in SMALL_DEFAULT for arg in ("--set", override)]
RESULT_FILES = [
    "scenario.toml",
    "summary.json",
    "manifest.json",
    "timeseries.csv",
    "people.parquet",
    "dashboard.png",
    "dashboard.svg",
]
SEED = 7
KPI_KEYS = [
    "people",
    "in_class",
    "gave_up",
    "share_in_class_5min_after_start",
    "time_to_class_p50_s",
    "time_to_class_p95_s",
    "attempts",
    "failed_attempts_share",
]
SERVICE_KEYS = [
    "arrivals",
    "served",
    "abandoned",
    "rejected",
    "mean_wait_s",
    "p95_wait_s",
    "utilization",
    "mean_queue",
]


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


# ---------------------------------------------------------------- a full run


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "small"
    result = invoke("run", DEFAULT, *SMALL_SETS, "--seed", SEED, "--out", out)
    assert result.exit_code == 0, result.output
    return result, out


def test_run_writes_every_result_file(full_run):
    _, out = full_run
    assert sorted(p.name for p in out.iterdir()) == sorted(RESULT_FILES)
    assert all((out / name).stat().st_size > 0 for name in RESULT_FILES)
    assert (out / "dashboard.png").read_bytes().startswith(b"\x89PNG")
    svg = ElementTree.parse(out / "dashboard.svg").getroot()
    assert svg.tag.endswith("svg") and len(list(svg.iter())) > 100
    assert not list(out.parent.glob(".*")), "temporary folder left behind"


def test_summary_has_kpis_services_and_the_seed(full_run):
    _, out = full_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "default"
    assert summary["seed"] == SEED
    assert set(KPI_KEYS) <= set(summary["kpi"])
    assert sorted(summary["services"]) == ["login", "portal", "visio", "visio_join"]
    for name, service in summary["services"].items():
        assert set(SERVICE_KEYS) <= set(service), name
    assert summary["events"] > 0
    assert summary["wall_s"] >= 0


def test_timeseries_has_one_row_per_minute(full_run):
    _, out = full_run
    scenario = load_scenario(out / "scenario.toml")
    with open(out / "timeseries.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["clock", "bin_start_s", "bin_s"]
    assert "login.arrivals" in header
    assert len(body) == (scenario.end_s - scenario.start_s) / 60
    assert body[0][0] == scenario.start
    assert float(body[-1][1]) == scenario.end_s - 60
    assert all(len(row) == len(header) for row in body)


def test_people_file_has_one_row_per_person(full_run):
    _, out = full_run
    summary = json.loads((out / "summary.json").read_text())
    table = pq.read_table(out / "people.parquet")
    assert table.column_names[:3] == ["person", "group", "role"]
    assert table.num_rows == summary["kpi"]["people"] > 0


@pytest.mark.parametrize(("choice", "written"), [("csv", "people.csv.gz"), ("none", None)])
def test_people_option_chooses_the_table(tmp_path, choice, written):
    """--people csv writes the gzip CSV of earlier versions instead, --people none no
    table; the rest of the folder is the same."""
    out = tmp_path / choice
    result = invoke("run", SCENARIOS / "mmc.toml", "--people", choice, "--no-dashboard",
                    "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    rest = {"scenario.toml", "summary.json", "manifest.json", "timeseries.csv"}
    tables = {p.name for p in out.iterdir()} - rest
    assert tables == ({written} if written else set())
    if written:
        with gzip.open(out / written, "rt", newline="") as fh:
            header, *rows = list(csv.reader(fh))
        assert header[:3] == ["person", "group", "role"]
        assert len(rows) == json.loads((out / "summary.json").read_text())["kpi"]["people"]


def test_written_scenario_reloads_as_the_one_that_ran(full_run):
    _, out = full_run
    ran = load_scenario(DEFAULT, [*SMALL_DEFAULT, f"seed={SEED}"])
    assert load_scenario(out / "scenario.toml") == ran


def test_kpi_table_is_printed(full_run):
    result, out = full_run
    words = ("kpi.people", "kpi.share_in_class_5min_after_start", "kpi.time_to_class_p95_s")
    for label in (*(table_label(w) for w in words), "login"):
        assert label in result.stdout
    assert f"seed {SEED}" in result.stdout
    assert f"results written to {out}" in result.stdout
    assert without_progress(result.stderr) == ""  # progress lines only, if the run was slow


def test_rerun_replaces_an_older_results_folder(tmp_path):
    out = tmp_path / "again"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    (out / "dashboard.png").write_bytes(b"old")
    (out / "people.csv.gz").write_bytes(b"old")  # written by sim before people.parquet
    result = invoke("run", DEFAULT, *SMALL_SETS, "--out", out, "--no-dashboard")
    assert result.exit_code == 0, result.output
    drawings = {"dashboard.png", "dashboard.svg"}
    assert sorted(p.name for p in out.iterdir()) == sorted(set(RESULT_FILES) - drawings)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == load_scenario(DEFAULT).seed
    assert [p.name for p in tmp_path.iterdir()] == ["again"]


# ---------------------------------------------------------------- sim show


def test_show_prints_the_resolved_scenario_as_toml():
    sets = ["services.login.servers=7", "behaviour.max_attempts=3", "start=08:00"]
    result = invoke("show", DEFAULT, *(a for s in sets for a in ("--set", s)))
    assert result.exit_code == 0, result.output
    data = tomllib.loads(result.stdout)
    assert data["services"]["login"]["servers"] == 7
    assert data["behaviour"]["max_attempts"] == 3
    assert data["start"] == "08:00"
    assert "drop_abandoned = false" in result.stdout  # a default, filled in
    assert data["services"]["login"]["dispatch"] == "least_loaded"
    assert data["measure"] == {"warmup_min": 0.0, "bin_s": 60}
    assert Scenario.model_validate(data) == load_scenario(DEFAULT, sets)


def test_show_of_a_test_scenario_round_trips():
    result = invoke("show", SCENARIOS / "mmc.toml")
    assert result.exit_code == 0, result.output
    data = tomllib.loads(result.stdout)
    assert data["sources"][0]["role"] == "other"
    assert Scenario.model_validate(data) == load_scenario(SCENARIOS / "mmc.toml")


# ---------------------------------------------------------------- python -m sim


def test_python_dash_m_sim_help():
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "run" in proc.stdout and "show" in proc.stdout


def test_sim_version_says_which_modules_run_compiled():
    """The version, and how the hot path runs: the same version is about twice as fast
    compiled (pip install .) as interpreted (the source tree, an editable install)."""
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"sim {__version__} ({compiled.describe()})\n"
    if not INSTALLED:  # the source tree: nothing compiled
        assert result.output.endswith(f"(interpreted: {', '.join(compiled.MODULES)})\n")


def test_python_dash_m_sim_error_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(tmp_path / "nope.toml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: scenario file not found: {tmp_path}/nope.toml")


# ---------------------------------------------------------------- bad input


def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / f"bad_{source.name}"
    path.write_text(text.replace(old, new))
    return path


def _file(old: str, new: str, source: Path = DEFAULT):
    return lambda tmp_path: [_edited(tmp_path, source, old, new)]


def _sets(*overrides: str):
    return lambda tmp_path: [DEFAULT, *(a for s in overrides for a in ("--set", s))]


BAD_INPUT = {
    "unknown top-level key": (
        _file('name = "default"', 'nmae = "default"'),
        ["unknown key 'nmae'", "allowed keys: name, description, seed, start, end"],
    ),
    "unknown nested key": (
        _file("[services.login]\nservers = 3", "[services.login]\nsrevers = 3"),
        ["unknown key 'services.login.srevers'", "allowed keys: servers, workers_per_server, "],
    ),
    "unknown key in a distribution": (
        _file(
            'service_time = { kind = "lognormal", mean_s = 0.2, cv = 1.0 }',
            'service_time = {kind="exponential", mean=1}',
        ),
        ["unknown key 'services.login.service_time.mean'", "allowed keys: kind, mean_s"],
    ),
    "negative rate": (
        _file("rate_per_s = 8.0", "rate_per_s = -1", SCENARIOS / "mmc.toml"),
        ["field 'sources.poisson.rate_per_s'", "greater than or equal to 0", "(got -1)"],
    ),
    "wrong role": (
        _file('role = "teacher"', 'role = "student"'),
        ["field 'cohorts.teachers.role'", "'pupil', 'teacher' or 'other'", "'student'"],
    ),
    "wrong distribution kind": (
        _file('kind = "lognormal", mean_s = 0.2', 'kind = "logn", mean_s = 0.2'),
        [
            "field 'services.login.service_time.kind'",
            "'exponential', 'deterministic', 'lognormal', 'gamma', 'uniform' or 'sequence'",
            "(got 'logn')",
        ],
    ),
    "malformed TOML": (
        _file("[services.login]\n", "[services.login\n"),
        ["bad_default.toml: malformed TOML:", "line 31"],
    ),
    "missing scenario file": (
        lambda tmp_path: [tmp_path / "nope.toml"],
        ["scenario file not found:", "nope.toml"],
    ),
    "--set path that does not exist": (
        _sets("services.login.srevers=3"),
        [
            "--set services.login.srevers: unknown key 'services.login.srevers'",
            "allowed keys: servers, workers_per_server, backlog_per_server, service_time, "
            "drop_abandoned, dispatch",
        ],
    ),
    "--set of a cohort that does not exist": (
        _sets("cohorts.pupils.count=3"),
        ["no element 'cohorts.pupils'", "0..3", "college_pupils, lycee_pupils, teachers"],
    ),
    "--set without =": (
        _sets("services.login.servers"),
        ["--set expects dotted.path=value, got 'services.login.servers'"],
    ),
    "--set of a wrong-typed value": (
        _sets("services.login.servers=abc"),
        ["field 'services.login.servers'", "valid integer", "(got 'abc')"],
    ),
    "end before start": (
        _sets("end=07:00"),
        ["end (07:00) must be after start (07:30)"],
    ),
    "journey naming an unknown service": (
        _sets('journeys.parent=["login", "nope"]'),
        ["journey 'parent'", "service 'nope'", "'login', 'portal', 'visio', 'visio_join'"],
    ),
    "--people with --reps": (
        lambda tmp_path: [DEFAULT, "--people", "csv", "--reps", "2"],
        ["--people", "cannot be combined with --reps"],
    ),
    "results folder under a file": (
        lambda tmp_path: [DEFAULT, "--out", _a_file(tmp_path) / "results"],
        ["cannot write results to", "a_file is a file, not a folder"],
    ),
}


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a folder\n")
    return path


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_gives_one_line_and_exit_2(tmp_path, case):
    make_args, expected = BAD_INPUT[case]
    args = make_args(tmp_path)
    out = args[args.index("--out") + 1] if "--out" in args else tmp_path / "out"
    if "--out" not in args:
        args += ["--out", out]
    result = invoke("run", *args, "--no-dashboard")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for text in expected:
        assert text in lines[0]
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert not Path(out).exists()
    assert not [p for p in tmp_path.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name]


def test_show_reports_a_bad_set_in_one_line():
    result = invoke("show", DEFAULT, "--set", 'behaviour.backoff={kind="constant", delay=1}')
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {DEFAULT} with --set: unknown key 'behaviour.backoff.delay'; "
        "allowed keys: kind, delay_s"
    ]
    assert result.stdout == ""


def test_a_folder_that_is_not_a_results_folder_is_never_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious\n")
    result = invoke("run", DEFAULT, "--out", out, "--no-dashboard")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "not a results folder (it holds notes.txt)" in lines[0]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--bogus"], "No such option: --bogus"),
        (["run", "--reps", "0"], "'--reps'"),
        (["run", "--people", "xml"], "'xml' is not one of 'parquet', 'csv', 'none'"),
        (["nosuch"], "No such command 'nosuch'"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(args, expected):
    """Typer's own usage errors, through the console entry point, read like ours."""
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- a scaled run


def test_a_scaled_run_says_so_everywhere_and_reruns_as_it_ran(tmp_path):
    """--scale 0.05: one warning line on stderr (it is below 0.1), the table's title, the
    dashboard's, summary.json, manifest.json and scenario.toml say the scale; rerunning
    the folder's scenario.toml runs the same small morning (not scaled again) and warns."""
    words = "at --scale 0.05 (5 % of the people)"
    first, again = tmp_path / "scaled", tmp_path / "again"
    result = invoke("run", SCENARIOS / "surge.toml", "--scale", "0.05", "--no-dashboard",
                    "--out", first)  # fmt: skip
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "docs/explanation/april-2021.md" in warnings[0]
    assert f"surge (seed 1) {words}" in result.stdout
    summary = json.loads((first / "summary.json").read_text())
    assert summary["scale"] == 0.05
    assert json.loads((first / "manifest.json").read_text())["scale"] == 0.05
    assert tomllib.loads((first / "scenario.toml").read_text())["scale"] == 0.05
    import sim as api  # the dashboard's title, drawn as the command draws it

    title = api.run(api.load(first / "scenario.toml")).dashboard()._suptitle.get_text()
    assert title == f"Scenario 'surge': seed 1, {words}"
    rerun = invoke("run", first / "scenario.toml", "--no-dashboard", "--out", again)
    assert rerun.exit_code == 0, rerun.output
    assert "warning: at --scale 0.05" in rerun.stderr and words in rerun.stdout
    assert json.loads((again / "summary.json").read_text())["kpi"] == summary["kpi"]
    assert (again / "scenario.toml").read_bytes() == (first / "scenario.toml").read_bytes()


def test_an_unscaled_run_does_not_warn(full_run):
    result, out = full_run
    assert "warning" not in result.stderr and "--scale" not in result.stdout
    assert "scale" not in tomllib.loads((out / "scenario.toml").read_text())
