"""Start-up: the cheap commands import none of the heavy libraries.

``sim --help`` used to spend over a second importing scipy, which only statistics over
replications need. Speed itself is not asserted (the machine may be busy); what makes a
command slow to start is: which modules it imports. Each case runs the command in a
fresh interpreter (this process has imported everything already) and lists the heavy
modules loaded once the command has ended. The time each costs:
``benchmarks/bench_startup.py`` and docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SCENARIOS, sim_env

HEAVY = (
    "scipy",  # about 1 s: statistics over replications, Latin hypercubes
    "matplotlib",  # figures
    "PIL",  # matplotlib's images
    "pandas",
    "pyarrow",  # Parquet tables of sweeps
    "dask",  # --scheduler
    "distributed",
    "hypothesis",
)
"""Top-level packages a command must import only when it uses them."""

MACHINERY = ("numpy", "simpy")
"""What a run needs (numpy alone is a tenth of a second), and nothing else does."""

LOADED = "loaded: "
CHILD = f"""
import json, sys
sys.argv = ["sim", *json.loads(sys.argv[1])]
try:
    from sim.cli import main
    main()
except SystemExit:
    pass
heavy = {HEAVY + MACHINERY!r}
print({LOADED!r} + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def loaded_after(*args: str) -> set[str]:
    """The top-level packages of :data:`HEAVY` and :data:`MACHINERY` that ``sim ARGS``
    has imported when it ends, in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        env=sim_env(),
        capture_output=True,
        text=True,
        timeout=120,  # a hang, not a speed
    )
    assert "Traceback" not in done.stderr, done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith(LOADED), done.stdout + done.stderr
    return {name.split(".")[0] for name in json.loads(last.removeprefix(LOADED))}


@pytest.mark.parametrize(
    "args", [("--help",), ("--version",), ("show", "default"), ("examples",)], ids=" ".join
)
def test_cheap_commands_import_nothing_heavy(args):
    assert loaded_after(*args) == set()


@pytest.mark.parametrize(
    ("people", "table"),
    [("none", ()), ("parquet", ("pyarrow",))],
    ids=("none", "parquet"),
)
def test_a_single_run_without_dashboard_imports_only_what_it_uses(tmp_path, people, table):
    """One run computes no statistics over replications (no scipy), draws nothing (no
    matplotlib), uses no cluster (no dask), and writes Parquet (pyarrow) only when it
    writes the per-person table so, without pandas (``pyarrow.array`` imports it to ask
    whether its argument is a pandas object: a quarter of a second)."""
    args = ("run", str(SCENARIOS / "surge.toml"), "--scale", "0.05", "--no-dashboard")
    args += ("--people", people, "--out", str(tmp_path / "r"))
    assert loaded_after(*args) == {*MACHINERY, *table}
    assert (tmp_path / "r" / "summary.json").is_file()  # it did run


def test_the_copies_kept_for_help_agree_with_their_sources():
    """--help shows these limits and defaults; the CLI keeps copies of them because
    their modules import numpy and the model (DEFAULT_FPS of sim animate: in
    tests/outputs/test_animate.py)."""
    from sim.cli import common, run, validate
    from sim.engine import trace
    from sim.experiments import execution
    from sim.experiments.validate import checks
    from sim.outputs import access_log

    assert common.MAX_REPS == execution.MAX_REPS
    assert run.MAX_TRACED_PEOPLE == trace.MAX_TRACED_PEOPLE
    assert access_log.DEFAULT_DAY.isoformat() == run.DEFAULT_LOG_DAY
    assert (validate.DEFAULT_REPS, validate.DEFAULT_SEED) == (
        checks.DEFAULT_REPS,
        checks.DEFAULT_SEED,
    )


def test_a_single_runs_folder_names_every_file_a_run_writes():
    """sim.outputs.folders replaces a single run's folder only if it holds nothing else
    (checked at import by sim.cli.common before; the names live in sim.outputs.run_folder)."""
    from sim.outputs import folders, run_folder

    written = {run_folder.SCENARIO, run_folder.SUMMARY, run_folder.TIMESERIES}
    written |= {run_folder.PEOPLE, run_folder.DASHBOARD, run_folder.TRACE}
    assert written <= folders.SINGLE_FILES
