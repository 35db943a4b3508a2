"""A stale cache never answers: stored runs are reused only by the code that made them
(sim/simulation/fingerprint.py, sim/experiments/execution.py), and the version comes
from one place."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.experiments import execution as experiment
from sim.experiments.execution import Job, execute, replicate
from sim.outputs.run_store import RunStore
from sim.simulation import fingerprint
from sim.simulation.runner import run
from sim.simulation.summary import Summary
from tests.conftest import ROOT, SCENARIOS, scenario

SURGE = SCENARIOS / "surge.toml"
SMALL = ["--set", "cohorts.pupils.count=1500", "--set", "cohorts.parents.count=400"]


def other_code(monkeypatch, name: str = "0123456789abcdef") -> None:
    """Pretend the sources changed: another fingerprint from now on."""
    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: name)


def stored(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "runs").glob("*.json"))]


# ---------------------------------------------------------------- the fingerprint


def test_the_fingerprint_hashes_every_source_and_nothing_else(tmp_path):
    copy = tmp_path / "sim"
    shutil.copytree(fingerprint.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    original = fingerprint.fingerprint_of(copy)
    assert original == fingerprint.code_fingerprint()
    assert {p.suffix for p in fingerprint.source_files(copy)} == {".py", ".pxd"}
    # build products, byte code and data do not count
    (copy / "engine" / "kernel.c").write_text("/* generated */")
    (copy / "engine" / "kernel.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\0ELF")
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "runner.cpython-311.pyc").write_bytes(b"\0")
    (copy / "example.toml").write_text('name = "x"\n')
    assert fingerprint.fingerprint_of(copy) == original
    # any change of a source does, typing included
    pxd = copy / "engine" / "kernel.pxd"
    pxd.write_text(pxd.read_text() + "\n")
    assert fingerprint.fingerprint_of(copy) != original
    pxd.write_text(pxd.read_text()[:-1])
    assert fingerprint.fingerprint_of(copy) == original
    runner = copy / "simulation" / "runner.py"
    runner.write_text(runner.read_text().replace("def run(", "def run (", 1))
    assert fingerprint.fingerprint_of(copy) != original


def test_records_summaries_and_manifests_carry_the_fingerprint(tmp_path):
    here = fingerprint.code_fingerprint()
    outcome, _ = replicate(scenario("surge"), 1, RunStore(tmp_path), n_jobs=1)
    assert outcome.records[0]["fingerprint"] == here
    assert stored(tmp_path)[0]["fingerprint"] == here
    assert Summary.of(run(scenario("surge").flat)).fingerprint == here


# ---------------------------------------------------------------- reuse


def test_runs_made_by_other_code_are_recomputed_not_reused(tmp_path, monkeypatch):
    first, _ = replicate(scenario("surge"), 2, RunStore(tmp_path), n_jobs=1)
    assert (first.ran, first.reused, first.stale) == (2, 0, 0)
    again, _ = replicate(scenario("surge"), 2, RunStore(tmp_path), n_jobs=1)
    assert (again.ran, again.reused, again.stale) == (0, 2, 0)  # same code: reused

    other_code(monkeypatch)
    changed, _ = replicate(scenario("surge"), 2, RunStore(tmp_path), n_jobs=1)
    assert (changed.ran, changed.reused, changed.stale) == (2, 0, 2)
    assert {r["fingerprint"] for r in changed.records} == {"0123456789abcdef"}
    # the older records are gone, not left beside the new ones
    assert [r["key"] for r in stored(tmp_path)] == sorted(r["key"] for r in changed.records)


def test_a_record_whose_fingerprint_is_not_this_codes_is_not_reused(tmp_path):
    store = RunStore(tmp_path)
    jobs = [Job(scenario("surge"), k, 1) for k in range(2)]
    execute(jobs, store, n_jobs=1)
    path = store.path(jobs[1].key)
    record = json.loads(path.read_text())
    record["fingerprint"] = "made-elsewhere"
    path.write_text(json.dumps(record))
    again = execute(jobs, RunStore(tmp_path), n_jobs=1)
    assert (again.reused, again.ran, again.stale) == (1, 1, 1)
    assert json.loads(path.read_text())["fingerprint"] == fingerprint.code_fingerprint()


def test_records_of_older_sim_without_a_fingerprint_are_removed_once(tmp_path):
    """Records made before fingerprints (keyed on the version) and failure records of
    other code: removed the first time an experiment runs into the folder."""
    runs = tmp_path / "runs"
    runs.mkdir()
    old = {"key": "0" * 20, "metrics": {}, "sim_version": "0.1.0"}
    (runs / f"{old['key']}.json").write_text(json.dumps(old))
    (runs / f"{'1' * 20}.error.json").write_text(json.dumps({"key": "1" * 20, "error": "x"}))
    (runs / "notes.json").write_text("not a record")  # not ours: left alone
    store = RunStore(tmp_path)
    outcome = execute([Job(scenario("surge"), 0, 1)], store, n_jobs=1)
    assert (outcome.ran, outcome.stale) == (1, 1)  # a failure record is no run
    names = sorted(p.name for p in runs.iterdir())
    assert names == sorted([f"{outcome.records[0]['key']}.json", "notes.json"])


def test_a_record_made_by_a_worker_with_other_code_is_a_failure(tmp_path, monkeypatch):
    real = experiment.run_job

    def elsewhere(job):
        return real(job) | {"fingerprint": "a-worker-with-other-code"}

    monkeypatch.setattr(experiment, "run_job", elsewhere)
    store = RunStore(tmp_path)
    outcome = execute([Job(scenario("surge"), 0, 1)], store, n_jobs=1)
    assert outcome.records == [] and len(outcome.failures) == 1
    assert "another version of sim" in outcome.failures[0][1]
    assert not store.path(outcome.failures[0][0].key).exists()


def invoke(*args) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_the_command_says_when_runs_of_other_code_were_recomputed(tmp_path, monkeypatch):
    out = tmp_path / "reps"
    args = ("run", SURGE, *SMALL, "--reps", 2, "--jobs", 1, "--out", out)
    invoke(*args)
    assert "another version of sim" not in invoke(*args)
    other_code(monkeypatch)
    text = invoke(*args)
    assert f"2 runs in {out}/runs/ were made by another version of sim" in text
    assert "(0 reused, 2 run)" in text
    with open(out / "replications.csv", newline="", encoding="utf-8") as fh:
        keys = {row["run_id"] for row in csv.DictReader(fh)}
    assert keys == {r["key"] for r in stored(out)} and len(keys) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["fingerprint"] == "0123456789abcdef"
    assert (manifest["reused"], manifest["discarded_other_code"]) == (0, 2)
    invoke("report", out)  # says which code made the runs
    assert "code fingerprint 0123456789abcdef" in (out / "report.html").read_text()


def test_a_plan_counts_the_runs_of_other_code_over_all_its_probes(tmp_path, monkeypatch):
    out = tmp_path / "plan"
    args = (
        "plan", SURGE, *SMALL, "--vary", "services.login.servers=1:3",
        "--target", "share_in_class>=0.9", "--reps", 2, "--jobs", 1, "--out", out,
    )  # fmt: skip
    invoke(*args)
    before = len(stored(out))
    other_code(monkeypatch)
    text = invoke(*args)
    assert f"{before} runs in {out}/runs/ were made by another version of sim" in text
    assert json.loads((out / "manifest.json").read_text())["reused"] == 0


# ---------------------------------------------------------------- one version


def test_the_installed_version_is_the_packages_own():
    """``pip install`` takes the version from sim/__init__.py (pyproject.toml's dynamic
    version): the installed metadata and the installed package agree."""
    child = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import importlib.metadata as m, json, sim\n"
            "try:\n    v = m.version('sim')\nexcept m.PackageNotFoundError:\n    v = None\n"
            "print(json.dumps([v, sim.__version__, sim.__file__]))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT.parent,
    )
    if child.returncode != 0 or json.loads(child.stdout)[0] is None:
        pytest.skip("sim is not installed in this environment")
    metadata, version, where = json.loads(child.stdout)
    assert metadata == version, f"the sim installed at {where}"


def test_pyproject_takes_the_version_from_the_package():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    source = project["tool"]["setuptools"]["dynamic"]["version"]
    assert source == {"attr": "sim.__version__"}
