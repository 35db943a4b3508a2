"""Every numeric field of the schema at every extreme value, through the ``sim`` command:
each case is one line and exit code 2 before anything runs, or a completed run; never a
traceback, never past the time bound (issue 16: every accepted input runs or is refused
at once).

The base is tests/scenarios/fuzz.toml, a small morning in which every table of the
schema appears, so that every numeric field (an int or a float, optional or not, in a
list or a map, inside cohorts, services, attacks, links, generators, ...) is somewhere
to be set; :func:`test_the_base_reaches_every_numeric_field_of_the_schema` checks that
none is left out (the schema is walked as tests/config/test_knobs.py does). A case sets one
such place (``services.login.crash.detection_s``) to one of :data:`EXTREMES`, writes the
scenario file and runs ``sim run FILE --out DIR --no-dashboard`` in a child process
killed at :data:`BOUND_S` (tests/robustness/fuzz_child.py: forked from a process that
imported the CLI once, so a case costs a fraction of a second, not the seconds of a new
interpreter).

A run that would be long is refused rather than run: the cases run with an event budget
of :data:`EVENT_LIMIT` (``SIM_EVENT_LIMIT``, about 35 times the base's estimate) and a
memory limit (``SIM_MEMORY_LIMIT_MB``), the guards of sim/simulation/resources.py, so the bound is
a hang detector, not a timing assertion.

Two profiles (the environment variable ``SIM_FUZZ``):

- ``ci`` (the default): every numeric field once, the extreme values taken in turn,
  and a few combinations drawn by hypothesis (seeded: the same cases on every run) of
  values the schema accepts alone, which may meet in the engine.
- ``thorough``: every field at every extreme value (all the cases, each reported), and
  300 combinations, these with the dashboard drawn (it takes longer than the run, so
  the others leave it out). For manual runs, about 40 minutes::

      SIM_FUZZ=thorough python -m pytest tests/robustness/test_fuzz.py -s

Like every test, the cases run the ``sim`` under test (tests/conftest.py): the source
tree, interpreted, or with ``SIM_TEST_INSTALLED=1`` (CI's second pass) the package
installed in the test's Python, whose compiled engine has C integers where the
interpreter has unbounded ones.

TOML integers are 64-bit, so 2^63 is not a valid TOML integer; Python's reader accepts
it all the same (as a user's file may have it), so it is written as the integer it is.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sim.config import ScenarioError, load_scenario, scenario_from_dict, to_dict
from sim.outputs.progress import is_progress
from tests.config.test_knobs import schema_models
from tests.conftest import INSTALLED, ROOT, SCENARIOS
from tests.robustness.conftest import child_env
from tests.robustness.fuzz_child import ForkServer, Outcome

BASE = SCENARIOS / "fuzz.toml"
EXTREMES: tuple[Any, ...] = (
    2**63,
    2**63 - 1,
    10**18,
    -1,
    0,
    5e-324,
    1e-300,
    1e308,
    math.nan,
    math.inf,
    True,
)
EVENT_LIMIT = 1e5
"""The base makes about 2,000 events (estimated 2,900); a case estimated beyond this is
refused by the event budget (one line), so no case runs for long."""
ENV = {"SIM_EVENT_LIMIT": f"{EVENT_LIMIT:g}", "SIM_MEMORY_LIMIT_MB": "1000"}
BOUND_S = 60.0
"""A hang bound, generous: every case ends in well under a second on an idle machine."""
RESOURCES = ("would not end in reasonable time", "not enough memory")
"""A refusal by the event budget or the memory estimate (sim/simulation/resources.py): it names
the cause (the largest term), not necessarily the field that was set."""

MODE = os.environ.get("SIM_FUZZ", "ci")
if MODE not in ("ci", "thorough"):
    raise ValueError(f"SIM_FUZZ must be 'ci' or 'thorough', got {MODE!r}")
PACKAGE = "installed" if INSTALLED else "source"
settings.register_profile(
    "fuzz-ci",
    max_examples=10,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("fuzz-thorough", settings.get_profile("fuzz-ci"), max_examples=300)
PROFILE = settings.get_profile(f"fuzz-{MODE}")


# ---------------------------------------------------------------- the numeric fields


def _is_numeric(tp: Any) -> bool:
    """True if the annotation holds an int or a float, itself or inside an optional,
    a list or a map (a bool is not a number here: the schema refuses it)."""
    if tp in (int, float):
        return True
    if get_origin(tp) is Annotated:
        return _is_numeric(get_args(tp)[0])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return False
    return get_origin(tp) is not None and any(_is_numeric(arg) for arg in get_args(tp))


def numeric_schema_fields() -> list[str]:
    """``Model.field`` of every numeric field of the schema (as tests/config/test_knobs.py
    names them)."""
    return [
        f"{model.__name__}.{name}"
        for model in schema_models()
        for name, field in model.model_fields.items()
        if _is_numeric(field.annotation)
    ]


Place = tuple[str | int, ...]


def numeric_places(node: Any, path: Place = (), field: str = "") -> list[tuple[Place, str]]:
    """Every number in a validated scenario: its place (keys and list indices, as in
    :func:`sim.config.to_dict`) and the ``Model.field`` it belongs to."""
    if isinstance(node, BaseModel):
        found = []
        for name in type(node).model_fields:
            label = f"{type(node).__name__}.{name}"
            found += numeric_places(getattr(node, name), (*path, name), label)
        return found
    if isinstance(node, dict):
        return [
            p for key, value in node.items() for p in numeric_places(value, (*path, key), field)
        ]
    if isinstance(node, list | tuple):
        return [p for i, value in enumerate(node) for p in numeric_places(value, (*path, i), field)]
    if isinstance(node, int | float) and not isinstance(node, bool):
        return [(path, field)]
    return []


BASE_SCENARIO = load_scenario(BASE)
BASE_DATA = to_dict(BASE_SCENARIO)
PLACES = numeric_places(BASE_SCENARIO)


@dataclass(frozen=True)
class Case:
    """One number of the base set to one extreme value."""

    path: Place
    field: str
    value: Any

    @property
    def shown(self) -> str:
        """The place as the user writes it (a cohort by name: ``cohorts.pupils.count``)."""
        return ".".join(_labels(self.path))

    def __repr__(self) -> str:
        return f"{self.shown} = {self.value!r}"


def _labels(path: Place) -> list[str]:
    node: Any = BASE_DATA
    labels = []
    for part in path:
        node = node[part]
        name = node.get("name") if isinstance(part, int) and isinstance(node, dict) else None
        labels.append(name if isinstance(name, str) else str(part))
    return labels


CASES = [Case(path, field, value) for path, field in PLACES for value in EXTREMES]


def diagonal() -> list[Case]:
    """Each numeric field of the schema once (at its first place in the base), the
    extreme values taken in turn: every field and every value, in a few dozen cases."""
    first: dict[str, Place] = {}
    for path, field in PLACES:
        first.setdefault(field, path)
    return [
        Case(path, field, EXTREMES[i % len(EXTREMES)])
        for i, (field, path) in enumerate(first.items())
    ]


# ---------------------------------------------------------------- running a case


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if PACKAGE == "installed":  # away from the source tree, which would come first
        fork_server = ForkServer(tmp_path_factory.mktemp("away"), child_env(), installed=True)
    else:
        fork_server = ForkServer(ROOT, child_env())
    yield fork_server
    fork_server.close()


def scenario_file_data(cases: list[Case]) -> dict:
    """The base with `cases` applied, as plain data."""
    data = copy.deepcopy(BASE_DATA)
    for case in cases:
        node = data
        for part in case.path[:-1]:
            node = node[part]
        node[case.path[-1]] = case.value
    return data


def scenario_file(cases: list[Case], folder: Path) -> Path:
    path = folder / "scenario.toml"
    path.write_text(tomli_w.dumps(scenario_file_data(cases)))
    return path


@dataclass(frozen=True)
class Verdict:
    kind: str  # "completed", "refused" or "failed"
    detail: str


def run_cases(
    server: ForkServer, cases: list[Case], folder: Path, dashboard: bool = False
) -> Verdict:
    """Run the base with `cases` applied through ``sim run``, and judge the outcome. The
    dashboard is left out unless asked for: drawing it takes longer than the run."""
    folder.mkdir(parents=True, exist_ok=True)
    path = scenario_file(cases, folder)
    out = folder / "out"
    args = ["run", str(path), "--out", str(out)]
    args += [] if dashboard else ["--no-dashboard"]
    return judge(server.run(args, folder, ENV, BOUND_S), cases, out, dashboard)


def judge(outcome: Outcome, cases: list[Case], out: Path, dashboard: bool = False) -> Verdict:
    if outcome.code is None:
        return Verdict("failed", f"still running after {BOUND_S:g} s (killed)")
    if "Traceback" in outcome.stderr:
        return Verdict("failed", f"exit code {outcome.code}, a traceback: {outcome.stderr}")
    lines = [line for line in outcome.stderr.splitlines() if line.strip() and not is_progress(line)]
    if outcome.code == 0:
        if not (out / "summary.json").is_file():
            return Verdict("failed", f"exit code 0 but no summary.json; stderr: {lines}")
        if dashboard and not (out / "dashboard.png").is_file():
            return Verdict("failed", f"exit code 0 but no dashboard.png; stderr: {lines}")
        return Verdict("completed", "")
    if outcome.code != 2:
        return Verdict("failed", f"exit code {outcome.code}: {lines}")
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return Verdict("failed", f"exit code 2 but not one 'error: ' line: {lines}")
    if out.exists():
        return Verdict("failed", f"refused but {out} was written: {lines[0]}")
    if not any(_names(lines[0], case) for case in cases):
        return Verdict("failed", f"the line names no field that was set: {lines[0]}")
    return Verdict("refused", lines[0])


def _names(line: str, case: Case) -> bool:
    """True if `line` names the place of `case` or a table holding it (a check across
    fields names their table: ``field 'behaviour': backoff.factor ** ...``), or is a
    refusal by the event budget or the memory estimate."""
    if any(reason in line for reason in RESOURCES):
        return True
    labels = _labels(case.path)
    tables = [".".join(labels[:n]) for n in range(1, len(labels) + 1)]
    return any(f"field '{table}'" in line for table in tables) or any(
        table in line for table in tables[1:]
    )


# ---------------------------------------------------------------- the tests


def test_the_base_reaches_every_numeric_field_of_the_schema():
    """A numeric field added to the schema must be added to fuzz.toml too."""
    reached = {field for _, field in PLACES}
    missing = [field for field in numeric_schema_fields() if field not in reached]
    assert missing == [], f"numeric fields that tests/scenarios/fuzz.toml does not set: {missing}"
    assert len(CASES) == len(PLACES) * len(EXTREMES)


def test_a_case_writes_the_value_where_it_belongs(tmp_path):
    """2^63 and NaN reach the file as written (a float or an int of any size)."""
    case = Case(("cohorts", 0, "count"), "Cohort.count", 2**63)
    text = scenario_file([case, Case(("seed",), "Scenario.seed", math.nan)], tmp_path)
    data = tomllib.loads(text.read_text())
    assert data["cohorts"][0]["count"] == 2**63 and math.isnan(data["seed"])
    assert case.shown == "cohorts.pupils.count"


def test_the_base_runs_within_the_budgets(server, tmp_path):
    """Else every case would be refused and the fuzzing would test nothing."""
    verdict = run_cases(server, [], tmp_path)
    assert verdict.kind == "completed", verdict.detail


def test_the_judge_fails_a_hang_a_traceback_and_a_line_that_names_nothing(tmp_path):
    case = Case(("cohorts", 0, "count"), "Cohort.count", 2**63)
    out = tmp_path / "out"
    named = "error: s.toml: field 'cohorts.pupils.count': at most 10^10 people\n"
    failed = {
        "killed": Outcome(None, "", ""),
        "traceback": Outcome(1, "", "Traceback (most recent call last):\n  ...\nError: x\n"),
        "exit 1": Outcome(1, "", "error: something\n"),
        "two lines": Outcome(2, "", named + "error: more\n"),
        "names nothing": Outcome(2, "", "error: s.toml: field 'seed': too large\n"),
        "no results": Outcome(0, "KPIs", ""),
    }
    for what, outcome in failed.items():
        assert judge(outcome, [case], out).kind == "failed", what
    assert judge(Outcome(2, "", named), [case], out).kind == "refused"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    assert judge(Outcome(0, "KPIs", ""), [case], out).kind == "completed"
    assert judge(Outcome(2, "", named), [case], out).kind == "failed"  # refused, but wrote


def test_a_command_past_the_bound_is_killed(server, tmp_path):
    """The default morning (102,000 people) runs for tens of seconds: at 1 s it is
    killed, and the case fails as past the bound."""
    args = ["run", str(ROOT / "experiments" / "default.toml"), "--out", str(tmp_path / "out")]
    assert server.run(args, tmp_path, {}, bound_s=1.0).code is None


def _report(cases: list[Case], server: ForkServer, folder: Path) -> None:
    verdicts = [run_cases(server, [case], folder / str(n)) for n, case in enumerate(cases)]
    counts = {kind: 0 for kind in ("completed", "refused", "failed")}
    for verdict in verdicts:
        counts[verdict.kind] += 1
    tally = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"\n{len(cases)} cases ({MODE}, sim of {server.package}): {tally}")
    failed = [
        f"{c!r}: {v.detail}" for c, v in zip(cases, verdicts, strict=True) if v.kind == "failed"
    ]
    assert failed == [], f"{len(failed)} of {len(cases)} cases failed:\n" + "\n".join(failed)


def test_every_numeric_field_at_an_extreme_value(server, tmp_path):
    """ci: each field once (:func:`diagonal`); thorough: every field at every value."""
    _report(diagonal() if MODE == "ci" else CASES, server, tmp_path)


@functools.cache
def accepted() -> list[Case]:
    """The cases the schema accepts alone (a third of them): set together, they may meet
    in the engine; a refused value would only refuse the combination."""
    return [case for case in CASES if _loads(scenario_file_data([case]))]


def _loads(data: dict) -> bool:
    try:
        scenario_from_dict(data)
    except ScenarioError:
        return False
    return True


@settings(PROFILE)
@given(
    cases=st.lists(
        st.deferred(lambda: st.sampled_from(accepted())),
        min_size=2,
        max_size=3,
        unique_by=lambda case: case.path,
    )
)
def test_extreme_values_together(server, tmp_path_factory, cases):
    """Two or three places at extreme values the schema accepts alone, at once: still one
    line or a run (in the thorough profile with the dashboard drawn, as ``sim run``
    does by default)."""
    folder = tmp_path_factory.mktemp("fuzz")
    verdict = run_cases(server, cases, folder, dashboard=MODE == "thorough")
    assert verdict.kind != "failed", f"{cases}: {verdict.detail}"
