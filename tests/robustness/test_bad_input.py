"""Bad input, hand-written and generated: every mistake is one line naming the field (or
option) and what is allowed, exit code 2, no traceback, and nothing written.

The basic cases of ``sim run`` (unknown keys, a wrong kind, a missing file, a --set path
that does not exist, ...) are in tests/cli/test_cli.py (``BAD_INPUT``), bad ``--vary``
of a sweep in tests/experiments/test_sweep.py and junk ``--set`` values in
tests/config/test_config.py; this file adds the values and combinations that cannot
work, every command's option syntax, sizes that would not fit in memory, and generated
garbage.
"""

from __future__ import annotations

import copy
import random
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config import ScenarioError, load_scenario, scenario_from_dict, to_dict, to_toml
from sim.config.scale import scale
from sim.config.scenario import Scenario
from sim.simulation.resources import people
from tests.conftest import DEFAULT, SCENARIOS
from tests.robustness.conftest import SURGE, invoke, leftovers, one_error_line, sim

SURGE_TEXT = SURGE.read_text()


def _surge_with(old: str, new: str) -> str:
    assert SURGE_TEXT.count(old) == 1, old
    return SURGE_TEXT.replace(old, new)


CLASSROOM = "\n[classrooms.rooms]\nservers = 2\n"

BAD_FILES = {
    "malformed TOML": (_surge_with("[services.login]", "[services.login"), ["malformed TOML"]),
    "not text": (b"\x00\xff\xfe name = 3", ["not a UTF-8 text file"]),
    "empty file": ("", ["missing required field 'name'"]),
    "nested too deeply": ("x = " + "[" * 50_000 + "]" * 50_000, ["nested too deeply"]),
    "a number of 5000 digits": (
        _surge_with("count = 6000", "count = " + "9" * 5000),
        ["malformed TOML", "Exceeds the limit (4300 digits)"],
    ),
    "wrong type": (
        _surge_with("servers = 2", 'servers = "two"'),
        ["field 'services.login.servers'", "valid integer", "'two'"],
    ),
    "a table where a number goes": (
        _surge_with("servers = 2", "servers = {n = 2}"),
        ["field 'services.login.servers'", "valid integer"],
    ),
    "negative count": (
        _surge_with("count = 6000", "count = -6000"),
        ["field 'cohorts.pupils.count'", "greater than or equal to 0", "-6000"],
    ),
    "zero servers": (
        _surge_with("servers = 2", "servers = 0"),
        ["field 'services.login.servers'", "greater than or equal to 1"],
    ),
    "zero workers": (
        _surge_with("workers_per_server = 2", "workers_per_server = 0"),
        ["field 'services.login.workers_per_server'", "greater than or equal to 1"],
    ),
    "NaN": (
        _surge_with("mean_s = 0.3", "mean_s = nan"),
        ["field 'services.login.service_time.mean_s'", "finite number"],
    ),
    "infinity": (
        _surge_with("mean_s = 0.3", "mean_s = inf"),
        ["field 'services.login.service_time.mean_s'", "finite number"],
    ),
    "negative infinity": (
        _surge_with("mean_min = -3.0", "mean_min = -inf"),
        ["field 'cohorts.pupils.connect.mean_min'", "finite number"],
    ),
    "zero mean": (
        _surge_with("mean_s = 0.3", "mean_s = 0"),
        ["field 'services.login.service_time.mean_s'", "greater than 0"],
    ),
    "probability above 1": (
        _surge_with("retry_probability = 0.95", "retry_probability = 1.5"),
        ["field 'behaviour.retry_probability'", "less than or equal to 1", "1.5"],
    ),
    "probability below 0": (
        _surge_with("retry_probability = 0.95", "retry_probability = -0.1"),
        ["field 'behaviour.retry_probability'", "greater than or equal to 0"],
    ),
    "shares that do not sum to 1": (
        _surge_with(
            'class_starts = ["09:00"]\nconnect = { kind = "normal"',
            'class_starts = ["09:00", "09:15"]\nclass_start_shares = [0.5, 0.6]\n'
            'connect = { kind = "normal"',
        ),
        ["field 'cohorts.pupils'", "class_start_shares must sum to 1"],
    ),
    "start after end": (
        _surge_with('start = "08:30"', 'start = "09:45"'),
        ["end (09:30) must be after start (09:45)"],
    ),
    "not a clock time": (
        _surge_with('end = "09:30"', 'end = "25:00"'),
        ["field 'end'", "clock time must look like '08:00'", "'25:00'"],
    ),
    "class size 0": (
        SURGE_TEXT + CLASSROOM + "class_size = 0\n",
        ["field 'classrooms.rooms.class_size'", "greater than or equal to 1"],
    ),
    "more people per class than seats": (
        SURGE_TEXT + CLASSROOM + "class_size = 30\nseats_per_server = 20\n",
        ["field 'classrooms.rooms'", "class_size (30) is more than seats_per_server (20)"],
    ),
    "a cv beyond what can be sampled": (
        _surge_with(
            'patience = { kind = "lognormal", mean_s = 10.0, cv = 0.5 }',
            'patience = { kind = "lognormal", mean_s = 10.0, cv = 1e300 }',
        ),
        ["field 'behaviour.patience.cv'", "less than or equal to 100"],
    ),
    "a backoff that overflows": (
        _surge_with("base_s = 5.0, max_s = 60.0", "base_s = 5.0, max_s = 60.0, factor = 1e300"),
        ["field 'behaviour'", "backoff.factor ** (max_attempts - 1)", "too large"],
    ),
    "a name that is a path": (
        _surge_with('name = "surge"', 'name = "../../etc"'),
        ["field 'name'", "should match pattern"],
    ),
    "a session cap on a service no session uses": (
        _surge_with("servers = 2", "servers = 2\nmax_sessions = 100"),
        ["services.login.max_sessions: no session step uses 'login'"],
    ),
    "a session timeout without a session cap": (
        _surge_with("servers = 2", "servers = 2\nsession_timeout_s = 600.0"),
        ["field 'services.login'", "session_timeout_s needs max_sessions"],
    ),
    "extends a missing file": ('extends = "nope.toml"\n', ["scenario file not found", "nope.toml"]),
    "extends itself": ('extends = "bad.toml"\n', ["'extends' makes a cycle: bad.toml -> bad.toml"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_scenario_file_is_one_line_and_nothing_is_written(tmp_path, case):
    content, expected = BAD_FILES[case]
    path = tmp_path / "bad.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    out = tmp_path / "out"
    result = invoke("run", path, "--out", out, "--no-dashboard")
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    for text in expected:
        assert text in line, line
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_a_think_time_of_zero_is_refused_instead_of_running_for_ever():
    """Found by this suite: people in class made requests every 0 s, the clock never
    moved, and the run never ended."""
    zero = 'journeys.pupil.2.think_time={kind="deterministic", value_s=0}'
    with pytest.raises(ScenarioError, match=r"'journeys.pupil.2': think_time must have a mean"):
        load_scenario(DEFAULT, [zero])


# ---------------------------------------------------------------- option syntax

OUT = "__out__"  # replaced by a path in tmp_path


def _plan(*extra: str) -> list[str]:
    return ["plan", str(SURGE), "--out", OUT, *extra]


BAD_OPTIONS = {
    # --set: syntax, paths and values
    "--set empty": (["run", SURGE, "--set", ""], "--set expects dotted.path=value"),
    "--set no path": (["run", SURGE, "--set", "=3"], "--set expects dotted.path=value"),
    "--set empty key": (["run", SURGE, "--set", "services..servers=3"], "unknown key 'services.'"),
    "--set negative index": (["run", SURGE, "--set", "cohorts.-1.count=3"], "no element"),
    "--set infinite": (
        ["run", SURGE, "--set", "services.login.servers=1e400"],
        "field 'services.login.servers': Input should be a valid integer (got inf)",
    ),
    "--set 5000 digits": (
        ["run", SURGE, "--set", "seed=" + "1" * 5000],
        "field 'seed': Input should be a valid integer",
    ),
    "--set 400 digits": (
        ["run", SURGE, "--set", "cohorts.pupils.count=1" + "0" * 400],
        "field 'cohorts.pupils.count': at most 10^10 people",
    ),
    "--set NaN": (["run", SURGE, "--set", "behaviour.retry_probability=nan"], "finite number"),
    "--set huge capacity factor": (  # found by test_mutated_files_through_the_command
        ["run", SCENARIOS / "regions.toml", "--set", "platforms.north.capacity_factor=1e308"],
        "field 'platforms.north.capacity_factor': Input should be less than or equal to 1000000",
    ),
    "--set on sweep": (
        ["sweep", SURGE, "--vary", "services.login.servers=1,2", "--set", "seed=-1"],
        "field 'seed'",
    ),
    # --vary of a sweep (more in tests/experiments/test_sweep.py)
    "--vary huge range": (
        ["sweep", SURGE, "--vary", "services.login.servers=1:1000000000:1"],
        "more than a sweep's 10,000 variants",
    ),
    "--vary huge grid": (
        [
            "sweep",
            SURGE,
            *("--vary", "services.login.servers=1:200:1"),
            *("--vary", "behaviour.max_attempts=1:100:1"),
        ],
        "the --vary grid has 20,000 variants",
    ),
    "--vary twice": (
        ["sweep", SURGE, "--vary", "seed=1,2", "--vary", "seed=3,4"],
        "the path is varied twice",
    ),
    "--vary NaN value": (
        ["sweep", SURGE, "--vary", "services.login.service_time.mean_s=0.3,nan"],
        "finite number",
    ),
    "--sample too many": (
        ["sweep", SURGE, "--vary", "services.login.servers=1:4", "--sample", "100000000"],
        "--sample must be between 1 and 10,000",
    ),
    "--sweep without --vary": (["sweep", SURGE], "needs at least one --vary"),
    # --assert
    "--assert no operator": (["run", SURGE, "--assert", "gave_up"], "--assert expects metric<="),
    "--assert no value": (["run", SURGE, "--assert", "gave_up<="], "--assert expects metric<="),
    "--assert not a number": (["run", SURGE, "--assert", "gave_up<=abc"], "expects metric<="),
    "--assert bad number": (["run", SURGE, "--assert", "gave_up<=1e"], "'1e' is not a number"),
    "--assert reversed": (["run", SURGE, "--assert", "gave_up=>3"], "--assert expects metric<="),
    "--assert on sweep": (
        ["sweep", SURGE, "--vary", "seed=1,2", "--assert", "<=3"],
        "--assert expects metric<=",
    ),
    "--assert on compare": (
        ["compare", SURGE, "--set-b", "seed=2", "--assert", "gave_up"],
        "--assert expects metric<=",
    ),
    "--assert unknown KPI": (["run", SURGE, "--assert", "gave_upp<=3"], "no metric 'kpi.gave_upp'"),
    "--assert unknown service": (
        ["run", SURGE, "--assert", "services.logn.rejected<=3"],
        "no service 'logn'",
    ),
    "--assert unknown service metric": (
        ["run", SURGE, "--reps", "2", "--assert", "services.login.rejectd<=3"],
        "no number 'services.login.rejectd'",
    ),
    "--assert on a clock time": (
        ["run", SURGE, "--assert", "services.login.unavailable_from<=3"],
        "no number 'services.login.unavailable_from'",
    ),
    "--assert unknown KPI on sweep": (
        ["sweep", SURGE, "--vary", "seed=1,2", "--assert", "kpi.in_clas>=3"],
        "no metric 'kpi.in_clas'",
    ),
    "--assert unknown KPI on compare": (
        ["compare", SURGE, "--set-b", "seed=2", "--assert", "gaveup<0"],
        "no metric 'kpi.gaveup'",
    ),
    # plan: --target, --vary, --step, --confidence
    "--target missing": (["plan", SURGE, "--vary", "services.login.servers=1:4"], "sim plan needs"),
    "--target syntax": (
        _plan("--vary", "services.login.servers=1:4", "--target", "gave_up=3"),
        "--target expects metric<=value",
    ),
    "--target unknown service": (
        _plan("--vary", "services.login.servers=1:4", "--target", "services.nope.utilization<=1"),
        "no service 'nope'",
    ),
    "plan --vary no range": (
        _plan("--vary", "services.login.servers=4", "--target", "gave_up<=3"),
        "--vary expects dotted.path=lo:hi",
    ),
    "plan --vary reversed": (
        _plan("--vary", "services.login.servers=5:1", "--target", "gave_up<=3"),
        "lo (5) is greater than hi (1)",
    ),
    "plan --vary words": (
        _plan("--vary", "services.login.servers=a:b", "--target", "gave_up<=3"),
        "bounds must be numbers",
    ),
    "plan --vary huge": (
        _plan("--vary", "services.login.servers=1:1000000000000", "--target", "gave_up<=3"),
        "more than 1,000,000; use a larger --step",
    ),
    "plan --vary fractional integer": (
        _plan("--vary", "services.login.servers=1.5:4", "--target", "gave_up<=3"),
        "an integer field needs whole bounds",
    ),
    "plan --step 0": (
        _plan("--vary", "services.login.servers=1:4", "--target", "gave_up<=3", "--step", "0"),
        "--step must be a whole number above 0",
    ),
    "plan --confidence": (
        _plan(
            "--vary", "services.login.servers=1:4", "--target", "gave_up<=3", "--confidence", "2"
        ),
        "--confidence must be at least 0.5 and below 1",
    ),
    # --scale
    "--scale 0": (["run", SURGE, "--scale", "0"], "--scale must be a number greater than 0"),
    "--scale NaN": (["run", SURGE, "--scale", "nan"], "--scale must be a number greater than 0"),
    "--scale inf": (["run", SURGE, "--scale", "inf"], "--scale must be a number greater than 0"),
    "--scale overflows": (["run", SURGE, "--scale", "1e308"], "the scaled numbers are too large"),
    # the scheduler
    "--scheduler bad scheme": (
        ["run", SURGE, "--reps", "2", "--scheduler", "http://127.0.0.1:1"],
        "cannot use the Dask scheduler http://127.0.0.1:1: unknown address scheme 'http'",
    ),
    "--scheduler no port": (
        ["sweep", SURGE, "--vary", "seed=1,2", "--scheduler", "localhost"],
        "missing port number",
    ),
    # files
    "missing scenario": (["sweep", "nope.toml", "--vary", "seed=1,2"], "scenario file not found"),
    "folder as scenario": (["compare", SCENARIOS, "--set-b", "seed=2"], "is a folder, not a TOML"),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_option_syntax_is_one_line_and_nothing_is_written(tmp_path, case):
    args, expected = BAD_OPTIONS[case]
    out = tmp_path / "out"
    args = [out if a == OUT else a for a in args]
    if OUT not in BAD_OPTIONS[case][0]:
        args += ["--out", out]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert expected in line, line
    assert not out.exists() and not leftovers(tmp_path)


def test_usage_errors_through_the_console_entry_point(tmp_path):
    """Typer's own checks (a value out of range) through ``main()``, as users meet them."""
    for args, expected in [
        (["run", SURGE, "--jobs", "0"], "'--jobs'"),
        (["run", SURGE, "--seed", "-1"], "'--seed'"),
        (["sweep", SURGE, "--vary", "seed=1,2", "--sample", "0"], "'--sample'"),
        (["run", SURGE, "--reps", "many"], "'--reps'"),
    ]:
        proc = sim(*args, "--out", tmp_path / "out")
        assert proc.returncode == 2, proc.stderr
        assert expected in one_error_line(proc.stderr)
        assert proc.stdout == ""
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- sizes that do not fit


def test_a_morning_too_large_for_memory_is_refused_with_an_estimate(tmp_path):
    """A typo of a few zeros: ten billion pupils (the most a cohort may have). Refused
    before anything is built."""
    out = tmp_path / "out"
    result = invoke("run", SURGE, "--set", "cohorts.pupils.count=10000000000", "--out", out)
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "not enough memory: surge needs about" in line
    assert "10,000,001,500 people" in line and " GB is available" in line
    assert "SIM_MEMORY_LIMIT_MB" in line
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--reps", "3"],
        ["sweep", "--vary", "services.login.servers=1,2"],
        ["compare", "--set-b", "services.login.servers=3"],
        ["plan", "--vary", "services.login.servers=1:4", "--target", "gave_up<=100"],
    ],
    ids=lambda a: a[0],
)
def test_every_command_checks_memory_before_running(tmp_path, args):
    big = ["--set", "sources=[{name='flood', journey='login', rate_per_s=1e9}]"]
    out = tmp_path / "out"
    result = invoke(args[0], SURGE, *args[1:], *big, "--out", out, "--jobs", "1")
    assert result.exit_code == 2, result.output
    assert "not enough memory: surge needs about" in one_error_line(result.stderr)
    assert not out.exists()


# ---------------------------------------------------------------- unwritable folders


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a folder\n")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--no-dashboard"],
        ["run", "--reps", "2"],
        ["sweep", "--vary", "services.login.servers=1,2"],
        ["compare", "--set-b", "services.login.servers=3"],
        ["plan", "--vary", "services.login.servers=1:4", "--target", "gave_up<=100"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_an_output_folder_under_a_file_fails_before_running(tmp_path, args):
    """A path under a file cannot be created, whoever runs the command (root too)."""
    out = _a_file(tmp_path) / "sub"
    result = invoke(args[0], SURGE, *args[1:], "--out", out, "--jobs", "1")
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert f"cannot write results to {out}" in line and "a_file is a file, not a folder" in line
    assert "replication" not in result.stdout  # failed before running anything
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


@pytest.mark.parametrize(
    "args",
    [["run", "--no-dashboard"], ["sweep", "--vary", "services.login.servers=1,2"]],
    ids=lambda a: a[0],
)
def test_a_read_only_folder_fails_before_running(tmp_path, args):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = invoke(args[0], SURGE, *args[1:], "--out", folder / "out", "--jobs", "1")
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 2, result.output
    assert f"{folder} is not writable" in one_error_line(result.stderr)
    assert list(folder.iterdir()) == []


# ---------------------------------------------------------------- generated garbage

BASES = {
    "default": to_dict(load_scenario(DEFAULT)),
    "surge": to_dict(load_scenario(SURGE)),
    "regions": to_dict(load_scenario(SCENARIOS / "regions.toml")),
    "mmc": to_dict(load_scenario(SCENARIOS / "mmc.toml")),
}

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**63, -(2**63), 10**400, -(10**400)]),
    st.floats(),  # NaN and infinities included
    st.sampled_from([0.0, -0.0, 1e-320, 1e308, 0.5]),
    st.text(max_size=12),
    st.sampled_from(["08:00", "25:61", "exponential", "login", "", "never", "pupil"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["kind", "mean_s", "name", "x"]), inner, max_size=3),
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a nested dict/list value: the paths to mutate."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(data: dict, rnd: random.Random, value: Any) -> None:
    """One mutation of `data` in place: replace, delete or add a key somewhere."""
    path = rnd.choice(_paths(data))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = rnd.choice(["replace", "replace", "delete", "add"])
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent["".join(rnd.choices(string.ascii_lowercase + "_", k=6))] = value
    else:
        parent.append(value)


def _loads_or_one_line(load, source: str) -> Scenario | None:
    try:
        scenario = load()
    except ScenarioError as err:
        message = str(err)
        assert message.startswith(source) and "\n" not in message and len(message) < 1000
        return None
    assert isinstance(scenario, Scenario)
    # whatever loads is usable downstream: it round-trips, its size can be estimated,
    # and it scales (or says in one line why not)
    assert scenario_from_dict(tomllib.loads(to_toml(scenario))) == scenario
    assert people(scenario.flat) >= 0
    try:
        scale(scenario, 0.5)
    except ValueError as err:
        assert "\n" not in str(err)
    return scenario


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(sorted(BASES)),
    seed=st.integers(0, 2**32),
    values=st.lists(VALUES, min_size=1, max_size=3),
)
def test_mutated_scenarios_load_or_give_one_line(base, seed, values):
    data = copy.deepcopy(BASES[base])
    rnd = random.Random(seed)
    for value in values:
        _mutate(data, rnd, value)
    _loads_or_one_line(lambda: scenario_from_dict(data, source="mutant"), "mutant")


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=200), st.text(alphabet='[]{}="\n.,:#abc01 -', max_size=80)))
def test_garbage_text_loads_or_gives_one_line(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("garbage") / "x.toml"
    path.write_text(text, encoding="utf-8")
    _loads_or_one_line(lambda: load_scenario(path), str(path))


def _mutant_file(folder: Path, base: str, seed: int, mutations: int = 2) -> Path:
    rnd = random.Random(seed)
    data = copy.deepcopy(BASES[base])
    for _ in range(mutations):
        _mutate(data, rnd, rnd.choice([-1, 0, 1e308, "x", True, [], {"x": 1}, 10**12]))
    path = folder / f"{base}-{seed}.toml"
    try:
        path.write_text(tomli_w.dumps(data))
    except (TypeError, ValueError):  # not representable in TOML: skip this seed
        path.write_text(tomli_w.dumps(BASES[base]).replace("name =", "nmae =", 1))
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(sorted(BASES)), seed=st.integers(0, 2**32))
def test_mutated_files_through_the_command(tmp_path_factory, base, seed):
    """``sim show`` of a mutated file prints it or says in one line why not (exit 2)."""
    path = _mutant_file(tmp_path_factory.mktemp("mutant"), base, seed)
    result = invoke("show", path)
    if result.exit_code == 0:
        assert Scenario.model_validate(tomllib.loads(result.stdout))
    else:
        assert result.exit_code == 2, result.output
        assert str(path) in one_error_line(result.stderr)


def test_mutated_files_through_python_dash_m_sim(tmp_path):
    """A few mutants through the real console entry point, in a subprocess."""
    refused = 0
    for seed in range(4):
        path = _mutant_file(tmp_path, "default", seed, mutations=3)
        proc = sim("run", path, "--out", tmp_path / "out", "--no-dashboard", "--scale", "0.01")
        assert "Traceback" not in proc.stderr
        if proc.returncode == 2:
            assert proc.stdout == ""
            one_error_line(proc.stderr)
            refused += 1
        else:
            assert proc.returncode == 0, proc.stderr
    assert refused >= 1  # the mutations are not all harmless
