"""Stored runs that can be trusted (issue 16): a record in ``runs/`` is reused only if
its checksum and its content check out; an edited, mistyped or damaged one is removed and
run again, and the command says how many in one line (sim/experiments/records.py)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from sim.experiments import execution as experiment
from sim.experiments import records as run_records
from sim.experiments.execution import Job, execute
from sim.outputs.progress import is_progress
from sim.outputs.run_store import RunStore
from tests.conftest import scenario
from tests.robustness.conftest import SURGE, invoke

SMALL = ["--set", "cohorts.pupils.count=1500", "--set", "cohorts.parents.count=400"]


def run_into(folder: Path):
    return invoke("run", SURGE, *SMALL, "--reps", 3, "--jobs", 1, "--out", folder)


@pytest.fixture(scope="module")
def untouched(tmp_path_factory) -> Path:
    """A finished 3-replication experiment, left as its command wrote it."""
    folder = tmp_path_factory.mktemp("records") / "untouched"
    result = run_into(folder)
    assert result.exit_code == 0, result.output
    return folder


def estimates(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())["estimates"]


def record_files(folder: Path) -> list[Path]:
    return sorted((folder / "runs").glob("*.json"))


def edit(path: Path, change) -> None:
    """Rewrite a record as valid JSON (NaN aside) after `change`, checksum left as it was."""
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record, sort_keys=True))


def set_metric(name: str, value):
    return lambda record: record["metrics"].__setitem__(name, value)


def drop(field: str):
    return lambda record: record.pop(field)


def truncate(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


DAMAGES = {
    "tampered": [lambda p: edit(p, set_metric("kpi.gave_up", 999999))],
    "text and NaN": [
        lambda p: edit(p, set_metric("kpi.time_to_class_p50_s", "0.2 s")),
        lambda p: edit(p, set_metric("kpi.share_in_class", math.nan)),
    ],
    "no metrics": [lambda p: edit(p, drop("metrics"))],
    "no series": [lambda p: edit(p, drop("series"))],
    "not JSON": [truncate],
}


def said(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not is_progress(line)]


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_record_is_recomputed_and_said(untouched, tmp_path, damage):
    folder = tmp_path / "again"
    shutil.copytree(untouched, folder)
    damaged = DAMAGES[damage]
    for change, path in zip(damaged, record_files(folder), strict=False):
        change(path)
    result = run_into(folder)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    n = len(damaged)
    runs, was = ("run", "was") if n == 1 else ("runs", "were")
    assert said(result.stderr) == [
        f"{n} stored {runs} in {folder}/runs/ {was} damaged or edited (checksum or content "
        "check failed): not reused, removed and made again"
    ]
    assert f"({3 - n} reused, {n} run)" in " ".join(result.stdout.split())
    assert estimates(folder) == estimates(untouched)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["discarded_damaged"], manifest["discarded_other_code"]) == (n, 0)
    # the records are whole again: all reused, nothing said
    store = RunStore(folder)
    keys = [p.stem for p in record_files(folder)]
    assert all(store.get(key) is not None for key in keys) and store.damaged == 0


def test_an_untouched_folder_is_reused_without_a_word(untouched, tmp_path):
    folder = tmp_path / "again"
    shutil.copytree(untouched, folder)
    result = run_into(folder)
    assert result.exit_code == 0 and said(result.stderr) == []
    assert "(3 reused, 0 run)" in " ".join(result.stdout.split())
    assert estimates(folder) == estimates(untouched)


# ---------------------------------------------------------------- the store itself


def test_a_record_is_stored_with_its_checksum_and_read_back_as_it_was(tmp_path):
    jobs = [Job(scenario("surge"), 0, 1)]
    fresh = execute(jobs, RunStore(tmp_path), n_jobs=1).records[0]
    stored = json.loads(RunStore(tmp_path).path(jobs[0].key).read_text())
    assert stored["checksum"] == run_records.checksum_of(fresh)
    assert stored["checksum"].startswith("sha256:")
    assert "checksum" not in fresh
    again = execute(jobs, RunStore(tmp_path), n_jobs=1)
    assert again.reused == 1 and again.records[0] == fresh  # the same record either way


def test_a_forged_checksum_does_not_pass_a_wrong_type(tmp_path):
    """Who edits a record and its checksum still gets it checked: a metric that is text,
    a count that is a boolean, a series that is no list are refused."""
    store = RunStore(tmp_path)
    job = Job(scenario("surge"), 0, 1)
    execute([job], store, n_jobs=1)
    path = store.path(job.key)
    for name, value in (("kpi.gave_up", "many"), ("kpi.people", True), ("kpi.in_class", [1])):
        record = json.loads(path.read_text())
        record["metrics"][name] = value
        record["checksum"] = run_records.checksum_of(record)
        path.write_text(json.dumps(record))
        fresh = RunStore(tmp_path)
        assert fresh.get(job.key) is None and fresh.damaged == 1, name
        assert not path.exists()  # removed: not left to look like a result
        execute([job], store, n_jobs=1)


@pytest.fixture(scope="module")
def a_record() -> dict:
    return experiment.run_job(Job(scenario("surge"), 0, 1))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("metrics.kpi.gave_up", "3"),
        ("metrics.kpi.share_in_class", math.inf),
        ("metrics.kpi.barred", False),
        ("metrics.services.login.unavailable_from", 8.5),
        ("series.attempts", [1, 2]),  # not one value per minute
        ("series.in_lesson", None),
        ("replication", "0"),
        ("fingerprint", None),
    ],
)
def test_what_the_content_check_refuses(a_record, field, value):
    assert run_records.content_problem(a_record) is None
    top, _, inner = field.partition(".")
    record = {**a_record, top: {**a_record[top], inner: value} if inner else value}
    assert (inner or top) in run_records.content_problem(record)


def test_a_clock_time_metric_is_text(a_record):
    for clock in ("08:31", "08:31:05", None):
        metrics = a_record["metrics"] | {"services.login.unavailable_from": clock}
        assert run_records.content_problem({**a_record, "metrics": metrics}) is None


def test_a_run_whose_record_would_not_pass_the_check_is_a_failure(tmp_path, monkeypatch):
    """The writer never stores what the reader would refuse (a NaN from a faulty model):
    the run fails, saying why, instead of being rerun on every read."""
    real = experiment.run_job

    def faulty(job):
        record = real(job)
        record["metrics"]["kpi.gave_up"] = math.nan
        return record

    monkeypatch.setattr(experiment, "run_job", faulty)
    store = RunStore(tmp_path)
    outcome = execute([Job(scenario("surge"), 0, 1)], store, n_jobs=1)
    assert outcome.records == [] and len(outcome.failures) == 1
    assert "kpi.gave_up" in outcome.failures[0][1]
    assert not store.path(outcome.failures[0][0].key).exists()


def test_records_of_other_code_are_stale_not_damaged(tmp_path, monkeypatch):
    """A record of older code (no checksum) keeps its own message."""
    from sim.simulation import fingerprint

    store = RunStore(tmp_path)
    job = Job(scenario("surge"), 0, 1)
    execute([job], store, n_jobs=1)
    record = json.loads(store.path(job.key).read_text())
    del record["checksum"]
    store.path(job.key).write_text(json.dumps(record))
    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: "0123456789abcdef")
    outcome = execute([Job(scenario("surge"), 0, 1)], RunStore(tmp_path), n_jobs=1)
    assert (outcome.stale, outcome.damaged, outcome.ran) == (1, 0, 1)
