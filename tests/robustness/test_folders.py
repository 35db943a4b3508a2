"""Results folders (issue 16, "Data loss" and leaked temporary folders): every command
that writes refuses a folder that is not a results folder of its own kind, before any
run, with one line and exit code 2; leftovers of killed writers are cleaned; ``--out
LINK`` writes into the folder the link points to and keeps the link."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import SCENARIOS
from tests.robustness.conftest import SURGE, invoke, one_error_line, sim

STUDY = SCENARIOS / "surge-options.toml"
SMALL = ["--set", "cohorts.pupils.count=300", "--set", "cohorts.parents.count=100"]
EXPERIMENT = ["--reps", "2", "--jobs", "1"]
COMMANDS = {  # each writing command, with its --out last; tiny and quick
    "single": ["run", SURGE, *SMALL, "--no-dashboard"],
    "replications": ["run", SURGE, *SMALL, *EXPERIMENT],
    "sweep": ["sweep", SURGE, *SMALL, "--vary", "services.login.servers=2,3", *EXPERIMENT,
              "--no-plots"],
    "compare": ["compare", SURGE, *SMALL, "--set-b", "services.login.servers=3", *EXPERIMENT,
                "--no-plots"],
    "plan": ["plan", SURGE, *SMALL, "--vary", "services.login.servers=1:3",
             "--target", "gave_up<=100000", *EXPERIMENT],
    "options": ["options", STUDY, "--scale", "0.05", *EXPERIMENT, "--no-plots"],
}  # fmt: skip
THESIS = "\\documentclass{article}\n"


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _refused(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _made(kind: str, folder) -> None:
    result = invoke(*COMMANDS[kind], "--out", folder)
    assert result.exit_code in (0, 1), result.output  # plan: 1 if no value meets it
    assert folder.is_dir()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One results folder of each kind, made by its command."""
    root = tmp_path_factory.mktemp("kinds")
    folders = {}
    for kind in COMMANDS:
        folders[kind] = root / kind
        _made(kind, folders[kind])
    return folders


@pytest.mark.parametrize("kind", list(COMMANDS))
def test_a_users_folder_is_refused_before_any_run(tmp_path, kind):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text(THESIS)
    (precious / "summary.json").write_text('{"mine": true}\n')  # names sim writes too
    (precious / "manifest.json").write_text('{"mine": true}\n')
    before = _listing(precious)
    line = _refused(invoke(*COMMANDS[kind], "--out", precious), str(precious))
    assert "not a results folder" in line
    assert _listing(precious) == before, "something was written"
    assert (precious / "thesis.tex").read_text() == THESIS
    assert (precious / "summary.json").read_text() == '{"mine": true}\n'


@pytest.mark.parametrize(
    ("kind", "other"),
    [
        ("replications", "sweep"),
        ("sweep", "replications"),
        ("compare", "plan"),
        ("plan", "compare"),
        ("options", "sweep"),
        ("single", "replications"),
        ("replications", "single"),
    ],
)
def test_a_results_folder_of_another_kind_is_refused(made, kind, other):
    before = _listing(made[other])
    line = _refused(invoke(*COMMANDS[kind], "--out", made[other]), str(made[other]))
    assert "sim " in line and "choose another --out" in line
    assert _listing(made[other]) == before


@pytest.mark.parametrize("kind", list(COMMANDS))
def test_an_out_under_a_file_is_refused_before_any_run(tmp_path, kind):
    """``--out notes.txt/study``: one line, exit 2, before any run (sim options ran its
    baseline first, then failed)."""
    notes = tmp_path / "notes.txt"
    notes.write_text(THESIS)
    line = _refused(invoke(*COMMANDS[kind], "--out", notes / "study"), str(notes))
    assert "is a file, not a folder" in line
    assert notes.read_text() == THESIS and _listing(tmp_path) == ["notes.txt"]


def test_options_refuses_a_baseline_that_is_not_a_run_before_any_run(made, tmp_path):
    """An options folder whose ``baseline`` is a file of the user's: writing the baseline's
    results there would have replaced it, after the run."""
    study = tmp_path / "study"
    shutil.copytree(made["options"], study)
    shutil.rmtree(study / "baseline")
    (study / "baseline").write_text(THESIS)
    before = _listing(study)
    line = _refused(invoke(*COMMANDS["options"], "--out", study), str(study / "baseline"))
    assert "not a folder" in line
    assert _listing(study) == before and (study / "baseline").read_text() == THESIS


def test_a_results_folder_of_the_same_kind_is_resumed(made):
    result = invoke(*COMMANDS["replications"], "--out", made["replications"])
    assert result.exit_code == 0, result.output
    assert "(2 reused, 0 run)" in " ".join(result.output.split())


def test_an_unfinished_experiment_folder_is_resumed(tmp_path):
    """A first invocation stopped before its tables leaves only runs/: still resumable."""
    folder = tmp_path / "reps"
    _made("replications", folder)
    for path in folder.iterdir():
        if path.name != "runs":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    result = invoke(*COMMANDS["replications"], "--out", folder)
    assert result.exit_code == 0, result.output
    assert "(2 reused, 0 run)" in " ".join(result.output.split())


def test_the_root_and_the_current_folder_are_refused_before_running(tmp_path):
    # a tiny memory limit: were the folder not checked first, the run is refused anyway
    # (this test must never write into / when it fails)
    guard = {"SIM_MEMORY_LIMIT_MB": "1"}
    line = _refused(invoke(*COMMANDS["replications"], "--out", "/", env=guard), "/")
    assert "root" in line
    (tmp_path / "thesis.tex").write_text(THESIS)
    result = sim(*COMMANDS["replications"], "--out", ".", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "not a results folder" in one_error_line(result.stderr)
    assert _listing(tmp_path) == ["thesis.tex"]


@pytest.mark.parametrize("kind", ["single", "sweep"])
def test_an_empty_out_is_refused_in_one_line(tmp_path, kind):
    result = sim(*COMMANDS[kind], "--out", "", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "--out" in one_error_line(result.stderr)
    assert list(tmp_path.iterdir()) == []


def test_the_report_never_overwrites_a_file_it_did_not_write(made, tmp_path):
    thesis = tmp_path / "thesis.tex"
    thesis.write_text(THESIS)
    _refused(invoke("report", made["single"], "--out", thesis), str(thesis))
    assert thesis.read_text() == THESIS
    report = tmp_path / "report.html"
    for _ in range(2):  # its own report is replaced
        assert invoke("report", made["single"], "--out", report).exit_code == 0
    assert invoke("report", made["single"]).exit_code == 0


def test_report_and_animate_refuse_a_folder_sim_did_not_write(made, tmp_path):
    """A user's folder that looks like a results folder (their own summary.json, or a
    copy of one's tables) gets no report.html or animation.gif written into it."""
    fake = tmp_path / "fake"
    shutil.copytree(made["single"], fake)
    (fake / "summary.json").write_text('{"kpi": {}, "seed": 1}\n')  # not sim's
    (fake / "thesis.tex").write_text(THESIS)
    before = _listing(fake)
    _refused(invoke("report", fake), "not a results folder of sim")
    _refused(invoke("animate", fake), "not a results folder of sim")
    _refused(invoke("animate", made["replications"]), "sim run without --reps")
    assert _listing(fake) == before
    for damaged in ("null", "[]", "{", "\x00\x01"):  # emptied, truncated, binary
        (fake / "summary.json").write_text(damaged)
        for command in ("report", "animate"):
            _refused(invoke(command, fake), "its summary.json is not as sim writes it")


def test_stale_temporary_folders_of_dead_writers_are_removed(tmp_path):
    """What ``kill -9`` while writing leaves (hidden, named with the writer's pid) is
    removed by the next run into that folder; a live writer's is left alone."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    out = tmp_path / "out"
    stale = [tmp_path / f".out.tmp-{dead}-abc", tmp_path / f".out.old-{dead}-def12345"]
    live = tmp_path / f".out.tmp-{os.getpid()}-xyz"
    other = tmp_path / f".other.tmp-{dead}-abc"
    for folder in (*stale, live, other):
        folder.mkdir()
        (folder / "summary.json").write_text("{}")
    result = invoke(*COMMANDS["single"], "--out", out)
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in stale)
    assert live.is_dir() and other.is_dir()  # a writer at work; another folder's
    reps = tmp_path / "reps"
    _made("replications", reps)
    leftovers = [reps / f".summary.json.tmp-{dead}-q1", reps / "runs" / f".k.json.tmp-{dead}-q2"]
    for path in leftovers:
        path.write_text("{")
    assert invoke(*COMMANDS["replications"], "--out", reps).exit_code == 0
    assert not any(p.exists() for p in leftovers)


@pytest.mark.parametrize("kind", ["single", "replications"])
def test_out_on_a_symlink_writes_into_its_target_and_keeps_the_link(tmp_path, kind):
    real = tmp_path / "real"
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    for _ in range(2):  # made, then replaced or resumed
        result = invoke(*COMMANDS[kind], "--out", link)
        assert result.exit_code == 0, result.output
        assert link.is_symlink() and os.readlink(link) == str(real)
        assert (real / "summary.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]  # no .link.old-*


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_folder_name_too_long_for_the_file_system_is_refused_before_running(tmp_path, command):
    """ENAMETOOLONG came as a traceback, after the runs; now one line, before any."""
    out = tmp_path / ("x" * 300)
    args = ["--vary", "services.login.servers=2,3"] if command == "sweep" else []
    result = sim(command, SURGE, *SMALL, *args, "--out", out)
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert "300 bytes long" in line and "choose a shorter --out" in line
    assert list(tmp_path.iterdir()) == []


def test_animate_refuses_a_table_without_a_minute(made, tmp_path):
    """A header alone (a truncated timeseries.csv) gave an IndexError traceback."""
    folder = tmp_path / "single"
    shutil.copytree(made["single"], folder)
    table = folder / "timeseries.csv"
    table.write_text(table.read_text().splitlines()[0] + "\n")
    result = sim("animate", folder, "--out", tmp_path / "film.gif")
    assert result.returncode == 2
    assert "has no time bin to draw" in one_error_line(result.stderr)
