"""The compiled engine gives the interpreted engine's results, bit for bit; and the
interpreted engine needs no Cython.

``pip install .`` compiles the hot-path modules with Cython (``setup.py``). The suite
tests either the source tree (interpreted) or, with ``SIM_TEST_INSTALLED=1``, the
installed package (tests/conftest.py); whichever it tests, the other one runs here in a
child process on mornings that exercise every part of the engine, and each run's
:func:`sim.simulation.runner.digest` must be the same. The comparison is skipped only where
the installed package is meant to be interpreted: an editable install,
``SIM_PURE_PYTHON=1``, or no C compiler.

Cython is needed to build, not to run: without it, the compiled modules' ``import
cython`` falls back to :mod:`sim.engine.cython_shim`, and a morning run so must be the
same morning.
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
from sim.engine import compiled
from sim.simulation.runner import digest, run
from tests.conftest import INSTALLED, ROOT

CASES = [  # (scenario, scale): crashes, attacks, defences, sessions, classes, queues
    ("experiments/2021-04-06.toml", 0.002),
    ("experiments/2021-04-26.toml", 0.002),
    ("experiments/teaching/crash.toml", 1.0),
    ("experiments/teaching/retry_storm.toml", 1.0),
    ("experiments/teaching/waiting_room.toml", 1.0),
    ("tests/scenarios/metastable.toml", 1.0),
]
WITHOUT_CYTHON = [2, 4]  # the CASES run without Cython: cheap, with crashes and a gate

CHILD = """
import gc, json, sys
if sys.argv[2] == "without-cython":
    sys.modules["cython"] = sys.modules["Cython"] = None  # import cython: ModuleNotFoundError
from sim.engine.compiled import MODULES, build
told = build()  # from the files, before the modules are imported
import sim.engine.draws, sim.engine.kernel, sim.model.services, sim.model.people, sim.engine.monitor
from sim.config import load_scenario
from sim.simulation.runner import digest, run
from sim.config.scale import scale
modules = [sys.modules[name] for name in MODULES]
cases = json.loads(sys.argv[1])
digests = [digest(run(scale(load_scenario(p), f).flat, trace=True)) for p, f in cases]
gc.collect()
print(json.dumps({
    "package": sim.__file__,
    "compiled": [not m.__file__.endswith(".py") for m in modules],
    "told": told,
    "cython": [getattr(getattr(m, "cython", None), "__name__", None) for m in modules],
    "digests": digests,
    "environments_left": sum(type(o) is sim.engine.kernel.Environment for o in gc.get_objects()),
}))
"""


def child(where: Path, cases: list[int], *, installed: bool, cython: bool = True) -> dict:
    """`cases` (indices of CASES) run in a child process away from the source tree: by
    the installed package (``python -I``: site-packages only) or by the source tree."""
    paths = [(str(ROOT / CASES[i][0]), CASES[i][1]) for i in cases]
    mode = "with-cython" if cython else "without-cython"
    command = [sys.executable, *(["-I"] if installed else []), "-c", CHILD, json.dumps(paths), mode]
    env = None if installed else {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """The digests of CASES by the installed package."""
    return child(tmp_path_factory.mktemp("elsewhere"), list(range(len(CASES))), installed=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> list[str]:
    """The digests of CASES by the source tree (interpreted): in this process when the
    suite tests the source tree, in a child otherwise."""
    if INSTALLED:
        where = tmp_path_factory.mktemp("source")
        return child(where, list(range(len(CASES))), installed=False)["digests"]
    return [digest(run(scale(load_scenario(ROOT / p), f).flat, trace=True)) for p, f in CASES]


def test_the_installed_engine_is_compiled_where_it_can_be(installed):
    if Path(installed["package"]).resolve().parent == ROOT / "sim":
        pytest.skip("an editable install: the source runs interpreted, as written")
    if os.environ.get("SIM_PURE_PYTHON") == "1" or shutil.which("cc") is None:
        pytest.skip("no C compiler, or SIM_PURE_PYTHON=1: the package is interpreted")
    assert all(installed["compiled"]), installed


def test_which_modules_run_compiled_is_told_before_they_are_imported(installed):
    """``sim --version`` and manifest.json say it from the files (sim.engine.compiled)."""
    told = [m in installed["told"]["compiled"] for m in compiled.MODULES]
    assert told == installed["compiled"]


@pytest.mark.parametrize("index", range(len(CASES)), ids=[p for p, _ in CASES])
def test_compiled_and_interpreted_mornings_are_bit_identical(installed, source, index):
    if not any(installed["compiled"]):
        pytest.skip("the installed package is interpreted: nothing compiled to compare")
    assert installed["digests"][index] == source[index]


def test_finished_mornings_free_their_models(installed):
    """Compiled, the calendar's entries are invisible to the cyclic garbage collector
    (sim.engine.kernel.Entry): the runner must drop those still pending when the run
    is over, or every run would keep its whole model alive."""
    assert installed["environments_left"] == 0


def test_without_cython_the_engine_runs_the_same_mornings(source, tmp_path):
    """Cython made unimportable: the modules take the shim, and run the same mornings."""
    alone = child(tmp_path, WITHOUT_CYTHON, installed=False, cython=False)
    assert not any(alone["compiled"])
    assert alone["cython"] == ["sim.engine.cython_shim"] * len(compiled.MODULES)
    assert alone["digests"] == [source[i] for i in WITHOUT_CYTHON]
