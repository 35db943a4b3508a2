"""Shared helpers: scenario files of the test suite and the repository's experiments.

Which ``sim`` the suite tests: the source tree (interpreted), as the README's test
command runs it, or with ``SIM_TEST_INSTALLED=1`` the installed package (compiled by
``pip install .``), as msgpack runs its suite with and without its extension. The
switch is made here, before anything imports ``sim``: the source tree moves to the end
of ``sys.path`` (``tests`` is still found there), and the child processes the tests
start (``python -m sim``, Dask workers) follow it through :func:`sim_path` and
``PYTHONSAFEPATH`` (their working folder, often the repository, is not put on their
path). CI runs both passes (``.ci/run``, CONTRIBUTING.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
INSTALLED_ENV = "SIM_TEST_INSTALLED"
INSTALLED = os.environ.get(INSTALLED_ENV) == "1"
"""Whether the suite tests the installed package rather than the source tree."""


def sim_path() -> list[str]:
    """The ``PYTHONPATH`` entries a child process needs to import the ``sim`` under
    test: the source tree, or none (the installed package)."""
    return [] if INSTALLED else [str(ROOT)]


def sim_env(**variables: str) -> dict[str, str]:
    """A bare environment (and `variables`) for a child process that imports the ``sim``
    under test, whatever its working folder."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(sim_path()), **variables}
    if INSTALLED:
        env["PYTHONSAFEPATH"] = "1"
    return env


def _is_root(entry: str) -> bool:
    return Path(entry or ".").resolve() == ROOT


def _use_the_installed_sim() -> None:
    """Import ``sim`` from site-packages, not from the source tree, in this process
    and in its children; stop the run if the installed package is not this checkout's."""
    sys.path[:] = [e for e in sys.path if not _is_root(e)] + [str(ROOT)]
    os.environ["PYTHONSAFEPATH"] = "1"  # `python -m sim` in the repository: not its sim
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    os.environ["PYTHONPATH"] = os.pathsep.join(e for e in paths if e and not _is_root(e))
    try:
        import sim
        from sim.simulation.fingerprint import code_fingerprint, fingerprint_of
    except ImportError as e:
        message = f"{INSTALLED_ENV}=1: no sim of this layout is installed ({e})"
        raise pytest.UsageError(message) from None
    where = Path(sim.__file__).resolve().parent
    if where == ROOT / "sim":
        raise pytest.UsageError(f"{INSTALLED_ENV}=1: sim is installed editable: pip install .")
    if code_fingerprint() != fingerprint_of(ROOT / "sim"):
        raise pytest.UsageError(
            f"{INSTALLED_ENV}=1: the sim installed at {where} is not built from this "
            "checkout's sources: pip install . again (rm -rf build/ first if a file was "
            "removed: setuptools reuses what it built before)"
        )


if INSTALLED:
    _use_the_installed_sim()

from sim.config import load_scenario  # noqa: E402 (after the choice of sim)
from sim.config.scenario import Scenario  # noqa: E402

# Property tests draw the same examples on every run (CI must be reproducible: a red run
# can be rerun and debugged); HYPOTHESIS_PROFILE=explore draws fresh ones on each run,
# to hunt for new failures (one found that way is then pinned as a plain test case).
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
DEFAULT = ROOT / "experiments" / "default.toml"

SMALL_DEFAULT = (
    "cohorts.college_pupils.count=3000",
    "cohorts.lycee_pupils.count=2000",
    "cohorts.teachers.count=400",
    "cohorts.parents.count=600",
    "services.login.servers=1",
    "services.login.workers_per_server=1",
    "services.login.backlog_per_server=20",
    'services.login.service_time={kind="lognormal", mean_s=0.3, cv=1.0}',
    "classrooms.visio.servers=20",
)
"""Overrides that shrink the default scenario to ~6,000 people, keeping it loaded."""


def scenario(name: str, *overrides: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.toml", list(overrides))


@pytest.fixture(scope="session")
def small_default() -> Scenario:
    return load_scenario(DEFAULT, list(SMALL_DEFAULT))
