"""Shared helpers: scenario files of the test suite and the repository's experiments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from sim.config import load_scenario
from sim.config.scenario import Scenario

# Property tests draw the same examples on every run (CI must be reproducible: a red run
# can be rerun and debugged); HYPOTHESIS_PROFILE=explore draws fresh ones on each run,
# to hunt for new failures (one found that way is then pinned as a plain test case).
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))

ROOT = Path(__file__).resolve().parent.parent
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
