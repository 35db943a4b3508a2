"""The compiled engine gives the interpreted engine's results, bit for bit.

``pip install .`` compiles the hot-path modules with Cython (``setup.py``); the tests
import ``sim`` from the source tree, interpreted. So the installed package is run in a
child process (``python -I``: site-packages, not the source tree) on mornings that
exercise every part of the engine, and each run's :func:`sim.run.runner.digest` must equal
the source's. Skipped only where the installed package is meant to be interpreted: an
editable install, ``SIM_PURE_PYTHON=1``, or no C compiler.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import load_scenario
from sim.config.scale import scale
from sim.run.runner import digest, run
from tests.conftest import ROOT

CASES = [  # (scenario, scale): crashes, attacks, defences, sessions, classes, queues
    ("experiments/2021-04-06.toml", 0.002),
    ("experiments/2021-04-26.toml", 0.002),
    ("experiments/teaching/crash.toml", 1.0),
    ("experiments/teaching/retry_storm.toml", 1.0),
    ("experiments/teaching/waiting_room.toml", 1.0),
    ("tests/scenarios/metastable.toml", 1.0),
]

CHILD = """
import gc, json, sys
import sim.engine.draws, sim.engine.kernel, sim.model.services, sim.model.people, sim.engine.monitor
from sim.config import load_scenario
from sim.run.runner import digest, run
from sim.config.scale import scale
modules = [
    sim.engine.kernel, sim.model.services, sim.model.people, sim.engine.monitor, sim.engine.draws
]
cases = json.loads(sys.argv[1])
digests = [digest(run(scale(load_scenario(p), f).flat, trace=True)) for p, f in cases]
gc.collect()
print(json.dumps({
    "package": sim.__file__,
    "compiled": [not m.__file__.endswith(".py") for m in modules],
    "digests": digests,
    "environments_left": sum(type(o) is sim.engine.kernel.Environment for o in gc.get_objects()),
}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """The digests of CASES by the installed package, run away from the source tree."""
    cases = [(str(ROOT / path), factor) for path, factor in CASES]
    child = subprocess.run(
        [sys.executable, "-I", "-c", CHILD, json.dumps(cases)],
        cwd=tmp_path_factory.mktemp("elsewhere"),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout)


def test_the_installed_engine_is_compiled_where_it_can_be(installed):
    if Path(installed["package"]).resolve().parent == ROOT / "sim":
        pytest.skip("an editable install: the source runs interpreted, as written")
    if os.environ.get("SIM_PURE_PYTHON") == "1" or shutil.which("cc") is None:
        pytest.skip("no C compiler, or SIM_PURE_PYTHON=1: the package is interpreted")
    assert all(installed["compiled"]), installed


@pytest.mark.parametrize("index", range(len(CASES)), ids=[p for p, _ in CASES])
def test_compiled_and_interpreted_mornings_are_bit_identical(installed, index):
    if not any(installed["compiled"]):
        pytest.skip("the installed package is interpreted: nothing compiled to compare")
    path, factor = CASES[index]
    here = digest(run(scale(load_scenario(ROOT / path), factor).flat, trace=True))
    assert installed["digests"][index] == here


def test_finished_mornings_free_their_models(installed):
    """Compiled, the calendar's entries are invisible to the cyclic garbage collector
    (sim.engine.kernel.Entry): the runner must drop those still pending when the run
    is over, or every run would keep its whole model alive."""
    assert installed["environments_left"] == 0
