"""Replications, the run store, backends and common random numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from sim.cli import app
from sim.engine import compiled
from sim.experiments import execution as experiment
from sim.experiments.execution import Job, estimate, execute, replicate
from sim.measure.metrics import HEADLINE
from sim.outputs.run_store import RunStore
from tests.conftest import SCENARIOS, scenario
from tests.robustness.conftest import start_cluster, stop_cluster, wait_for_workers

SURGE = SCENARIOS / "surge.toml"


def _metrics(outcome):
    return [r["metrics"] for r in outcome.records]


def test_estimate_is_the_student_t_interval():
    values = [1.0, 2.0, 4.0, 7.0]
    est = estimate(values)
    t = stats.t.ppf(0.975, 3)
    assert est.mean == pytest.approx(3.5)
    assert est.half_width == pytest.approx(t * np.std(values, ddof=1) / 2)
    assert math.isinf(estimate([1.0, None]).mean)  # an infinite percentile stays infinite


def test_serial_and_process_pool_give_identical_records():
    jobs = [Job(scenario("surge"), k, 1) for k in range(3)]
    serial = execute(jobs, n_jobs=1)
    pooled = execute(jobs, n_jobs=2)
    assert _metrics(serial) == _metrics(pooled)
    assert [r["series"] for r in serial.records] == [r["series"] for r in pooled.records]


def test_finished_runs_are_reused(tmp_path):
    store = RunStore(tmp_path)
    first, _ = replicate(scenario("surge"), 2, store, n_jobs=1)
    again, _ = replicate(scenario("surge"), 3, store, n_jobs=1)
    assert (first.ran, again.reused, again.ran) == (2, 2, 1)
    assert _metrics(again)[:2] == _metrics(first)
    # a different variant is a different run
    other, _ = replicate(scenario("surge", "services.login.servers=3"), 2, store, n_jobs=1)
    assert other.ran == 2


def test_a_failing_run_is_recorded_and_the_others_go_on(tmp_path, monkeypatch):
    real = experiment.run_job

    def flaky(job):
        if job.replication == 1:
            raise RuntimeError("disk on fire")
        return real(job)

    monkeypatch.setattr(experiment, "run_job", flaky)
    store = RunStore(tmp_path)
    outcome = execute([Job(scenario("surge"), k, 1) for k in range(3)], store, n_jobs=1)
    assert len(outcome.records) == 2 and len(outcome.failures) == 1
    error = json.loads(store.error_path(outcome.failures[0][0].key).read_text())
    assert "disk on fire" in error["error"]


def test_workers_start_where_there_is_no_parent_death_signal(monkeypatch):
    """prctl is Linux's: elsewhere a worker asks for nothing and starts as before (only
    ``kill -9`` of the command may then leave its workers, as documented)."""

    def no_libc(*args, **kwargs):
        raise AssertionError("the C library was called")

    monkeypatch.setattr(experiment.sys, "platform", "darwin")
    monkeypatch.setattr(experiment.ctypes, "CDLL", no_libc)
    assert experiment._die_with_parent() is False


def test_precision_adds_replications_until_the_half_width_is_small():
    outcome, precise = replicate(scenario("surge"), 3, precision=0.5, max_reps=30, n_jobs=1)
    assert precise
    names = [n for n in HEADLINE if n in experiment.summarize(outcome.records)]
    for name, est in experiment.summarize(outcome.records).items():
        if name in names and math.isfinite(est.mean) and est.mean:
            assert est.half_width <= 0.5 * abs(est.mean)
    capped, reached = replicate(scenario("surge"), 3, precision=1e-6, max_reps=4, n_jobs=1)
    assert not reached and len(capped.records) == 4


def test_common_random_numbers_shrink_the_variance_of_paired_differences():
    """Replication k of both variants shares its random streams (CRN); pairing variant A
    with an unrelated replication of B (independent streams) estimates the same
    difference with a much larger variance. M/M/10 at 80 % load, service 2 % faster."""
    n = 10
    base = scenario("mmc", 'end="00:30"')
    faster = scenario(
        "mmc", 'end="00:30"', 'services.queue.service_time={kind="exponential", mean_s=0.98}'
    )
    a = execute([Job(base, k, 1) for k in range(n)], n_jobs=2).records
    b = execute([Job(faster, k, 1) for k in range(n)], n_jobs=2).records
    b_other = execute([Job(faster, k, 1) for k in range(n, 2 * n)], n_jobs=2).records
    metric = "services.queue.mean_wait_s"
    crn = [x["metrics"][metric] - y["metrics"][metric] for x, y in zip(a, b, strict=True)]
    ind = [x["metrics"][metric] - y["metrics"][metric] for x, y in zip(a, b_other, strict=True)]
    assert np.mean(crn) > 0  # faster service, shorter waits, in every pairing on average
    # F test at the 1 % level that the CRN variance is the smaller one
    ratio = np.var(ind, ddof=1) / np.var(crn, ddof=1)
    assert ratio > stats.f.ppf(0.99, n - 1, n - 1)


def test_cli_replications_write_tables_and_check_assertions(tmp_path):
    runner = CliRunner()
    out = tmp_path / "reps"
    args = ["run", str(SURGE), "--reps", "3", "--jobs", "1", "--out", str(out)]
    result = runner.invoke(app, [*args, "--assert", "kpi.people>=7500"])
    assert result.exit_code == 0, result.output
    for name in (
        "replications.csv",
        "summary.json",
        "timeseries_ci.csv",
        "manifest.json",
        "scenario.toml",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == 3
    est = summary["estimates"]["kpi.share_in_class"]
    assert est["low"] <= est["mean"] <= est["high"]
    rows = (out / "replications.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("run_id,scenario,replication,seed,")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["reused"] == 0 and manifest["runs"] == 3
    assert manifest["engine"] == compiled.build()  # which modules ran compiled
    failing = runner.invoke(app, [*args, "--assert", "gave_up<=0"])
    assert failing.exit_code == 1
    assert "FAIL" in failing.output
    bad = runner.invoke(app, [*args, "--assert", "gave_up=<3"])
    assert bad.exit_code == 2


@pytest.fixture(scope="module")
def dask_cluster():
    """A real local Dask cluster: scheduler and two workers as separate processes. The
    workers are started at once (they retry until the scheduler listens) and the test
    waits until both have joined: no guessed sleep for the scheduler to start."""
    address, procs = start_cluster(2)
    try:
        wait_for_workers(address, 2)
        yield address
    finally:
        stop_cluster(address, procs)


def test_a_dask_cluster_gives_the_serial_results(dask_cluster):
    jobs = [Job(scenario("surge"), k, 1) for k in range(3)]
    on_dask = execute(jobs, scheduler=dask_cluster)
    serial = execute(jobs, n_jobs=1)
    assert not on_dask.failures
    assert _metrics(on_dask) == _metrics(serial)
