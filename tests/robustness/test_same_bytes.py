"""Same seed, same bytes, wherever the runs ran: the tables written by ``sim run --reps``
and ``sim sweep`` are byte for byte the same serially, on the local process pool and on
a Dask cluster. (tests/experiments/test_experiment.py compares the records;
tests/simulation/test_determinism.py the files of a single run.)

What may still change the bytes is listed in docs/explanation/reproducibility.md: the
versions of numpy, SimPy and Python, and of sim itself.
"""

from __future__ import annotations

import pytest

from tests.robustness.conftest import (
    SURGE,
    invoke,
    start_cluster,
    stop_cluster,
    wait_for_workers,
)

REPS_TABLES = ("replications.csv", "summary.json", "timeseries_ci.csv", "scenario.toml")
SWEEP_TABLES = ("runs.csv", "variants.csv", "runs.parquet", "variants.parquet", "scenario.toml")


@pytest.fixture(scope="module")
def cluster():
    address, procs = start_cluster(2)
    try:
        wait_for_workers(address, 2)
        yield address
    finally:
        stop_cluster(address, procs)


def _written(tmp_path, name, args, backend, tables):
    out = tmp_path / name
    result = invoke(*args, *backend, "--out", out)
    assert result.exit_code == 0, result.output
    return {table: (out / table).read_bytes() for table in tables}


def test_replications_write_the_same_bytes_on_every_backend(tmp_path, cluster):
    args = ["run", SURGE, "--reps", "3"]
    serial = _written(tmp_path, "serial", args, ["--jobs", "1"], REPS_TABLES)
    pool = _written(tmp_path, "pool", args, ["--jobs", "2"], REPS_TABLES)
    dask = _written(tmp_path, "dask", args, ["--scheduler", cluster], REPS_TABLES)
    assert serial == pool
    assert serial == dask


def test_sweeps_write_the_same_bytes_on_every_backend(tmp_path, cluster):
    args = ["sweep", SURGE, "--vary", "services.login.servers=2,3", "--reps", "2", "--no-plots"]
    serial = _written(tmp_path, "serial", args, ["--jobs", "1"], SWEEP_TABLES)
    pool = _written(tmp_path, "pool", args, ["--jobs", "2"], SWEEP_TABLES)
    dask = _written(tmp_path, "dask", args, ["--scheduler", cluster], SWEEP_TABLES)
    assert serial == pool
    assert serial == dask
