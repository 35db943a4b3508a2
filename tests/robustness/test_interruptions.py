"""Ctrl-C (SIGINT), kill (SIGTERM) and kill -9 (SIGKILL) in the middle of an experiment,
then the same command again: every finished run is kept, none is run twice, and the final
tables are byte for byte those of an uninterrupted run. For ``sim sweep`` (moved here from
tests/experiments/test_sweep.py), ``sim run --reps`` and ``sim plan``, in real subprocesses. And the
process pool's workers never outlive the command, however it ends (they would hold the
caller's pipes: a CI runner or ``communicate()`` would hang).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from sim.config import load_scenario, to_toml
from sim.outputs.progress import is_progress, without_progress
from tests.conftest import ROOT
from tests.robustness.conftest import SURGE, child_env, invoke, leftovers

SERVERS = "services.login.servers"
ATTEMPTS = "behaviour.max_attempts"


def _plan_csv(data: bytes) -> list[dict]:
    """plan.csv without the columns that count runs reused and run by this invocation."""
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    return [{k: v for k, v in row.items() if k not in ("reused", "ran")} for row in rows]


def _plan_json(data: bytes) -> dict:
    plan = json.loads(data)
    for probe in plan["probes"]:
        del probe["reused"], probe["ran"]
    return plan


COMMANDS = {
    # name: (arguments before --out, runs in all, {table: how to compare it})
    "sweep": (
        ["sweep", SURGE, "--vary", f"{SERVERS}=1,2,3,4", "--vary", f"{ATTEMPTS}=2,4",
         "--reps", "1", "--jobs", "1", "--no-plots"],
        8,
        {"runs.csv": bytes, "variants.csv": bytes, "runs.parquet": bytes},
    ),
    "run --reps": (
        ["run", SURGE, "--reps", "8", "--jobs", "1"],
        8,
        {"replications.csv": bytes, "summary.json": bytes, "timeseries_ci.csv": bytes},
    ),
    "plan": (
        ["plan", SURGE, "--vary", f"{SERVERS}=1:8", "--target", "gave_up<=100", "--reps", "3",
         "--jobs", "1"],
        16,  # probes 8, 4, 2 (7 replications: unsure at first), 3
        {"replications.csv": bytes, "plan.csv": _plan_csv, "plan.json": _plan_json},
    ),
}  # fmt: skip


def _args(name: str, out: Path) -> list[str]:
    return [*map(str, COMMANDS[name][0]), "--out", str(out)]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folders = {}
    for name in COMMANDS:
        out = tmp_path_factory.mktemp("whole") / "out"
        result = invoke(*_args(name, out))
        assert result.exit_code == 0, result.output
        folders[name] = out
    return folders


def _default_sigint() -> None:
    # a background job inherits SIGINT ignored, and Python then never turns it into
    # KeyboardInterrupt: give the child the default disposition, as a terminal would
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def _wait_for_runs(proc: subprocess.Popen, runs: Path, n: int) -> None:
    deadline = time.monotonic() + 120
    while len(list(runs.glob("*.json"))) < n:
        assert proc.poll() is None, "the command finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _check_resumed(name: str, out: Path, saved: int, reference: Path) -> None:
    """The same command again reuses the saved runs, runs only the rest, and writes the
    tables of an uninterrupted run."""
    total = COMMANDS[name][1]
    result = invoke(*_args(name, out))
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["reused"], manifest["ran_now"]) == (saved, total - saved)
    assert len(list((out / "runs").glob("*.json"))) == total
    for table, read in COMMANDS[name][2].items():
        assert read((out / table).read_bytes()) == read((reference / table).read_bytes()), table
    assert not leftovers(out)


@pytest.mark.parametrize("name", list(COMMANDS))
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_experiment_resumes_without_repeating_runs(
    tmp_path, uninterrupted, name, sig
):
    out = tmp_path / "out"
    proc = _start(_args(name, out))
    runs = out / "runs"
    _wait_for_runs(proc, runs, 2)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    stderr = without_progress(stderr)
    assert proc.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), stderr
    if sig == signal.SIGINT:
        assert stderr.strip() == (
            f"interrupted: finished runs are saved in {out}/runs; "
            "run the same command again to complete it"
        )
    saved = sorted(runs.glob("*.json"))
    assert 2 <= len(saved) < COMMANDS[name][1]
    for path in saved:
        assert json.loads(path.read_text())["key"] == path.stem  # complete JSON
    assert not any((out / table).exists() for table in COMMANDS[name][2])
    _check_resumed(name, out, len(saved), uninterrupted[name])


def test_ctrl_c_in_a_terminal_stops_the_process_pool_too(tmp_path, uninterrupted):
    """Ctrl-C in a terminal interrupts the whole process group: the command and its
    pool's workers. It exits 130 with one message and no traceback (the workers' runs
    in progress are dropped); the same command then completes it."""
    out = tmp_path / "out"
    args = _args("sweep", out)
    args[args.index("--jobs") + 1] = "2"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=_default_sigint,
    )
    _wait_for_runs(proc, out / "runs", 2)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    stderr = without_progress(stderr)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.strip().startswith("interrupted: finished runs are saved")
    saved = sorted((out / "runs").glob("*.json"))
    assert 2 <= len(saved) < 8
    _check_resumed("sweep", out, len(saved), uninterrupted["sweep"])


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="/proc, and the parent-death signal: Linux"
)


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid` (its pool's workers), from /proc: pid -> start
    time (with it, a pid reused by another process is not taken for the worker)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[1]) == pid:
                found[int(entry.name)] = fields[19]
    return found


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...); [] if
    there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _alive(workers: dict[int, str]) -> list[int]:
    """The `workers` still running (a zombie has ended: only its exit status is left)."""
    alive = []
    for pid, started in workers.items():
        fields = _stat(pid)
        if fields and fields[19] == started and fields[0] != "Z":
            alive.append(pid)
    return alive


def _wait_for_workers(proc: subprocess.Popen, runs: Path, n: int = 2) -> dict[int, str]:
    """Until the pool's 2 workers are running jobs (`n` runs are saved, and the command
    has 2 children); its workers."""
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, "the command finished before it could be stopped"
        assert time.monotonic() < deadline, "the pool never started"
        workers = _children(proc.pid)
        if len(workers) == 2 and len(list(runs.glob("*.json"))) >= n:
            return workers
        time.sleep(0.01)


def _stopped(proc: subprocess.Popen, workers: dict[int, str]) -> str:
    """The command's stderr once it and every process holding its pipes have ended (a
    hang bound, not a timing: without the fix, the workers hold the pipes for ever);
    then no worker may be left."""
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        for pid in _alive(workers):  # do not leave them running after the failure
            os.kill(pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the pool's workers outlived the command: {sorted(workers)}")
    deadline = time.monotonic() + 60  # the pipes closed: they are exiting, if not gone
    while _alive(workers):
        assert time.monotonic() < deadline, _alive(workers)
        time.sleep(0.01)
    return stderr


@linux_only
def test_the_pool_workers_die_with_a_killed_command(tmp_path):
    """``kill -9`` of ``sim run --reps 6 --jobs 2``: its two workers (each ~2 GB at
    one-to-one scale) die with it, and the caller's ``communicate()`` returns. They
    outlived it, holding its stdout and stderr, and the caller waited for ever."""
    out = tmp_path / "out"
    proc = _start(["run", str(SURGE), "--reps", "6", "--jobs", "2", "--out", str(out)])
    workers = _wait_for_workers(proc, out / "runs", 1)
    proc.kill()
    _stopped(proc, workers)
    assert proc.returncode == -signal.SIGKILL


@linux_only
def test_sigterm_stops_the_command_and_its_pool_like_ctrl_c(tmp_path, uninterrupted):
    """``kill`` (SIGTERM) of the command alone (not its process group, as a CI runner
    or ``Popen.terminate()`` sends it): one line, exit 143, the workers gone at once
    (their runs in progress are dropped, not waited for), and the same command then
    reuses the finished runs and completes it."""
    out = tmp_path / "out"
    args = _args("run --reps", out)
    args[args.index("--jobs") + 1] = "2"
    proc = _start(args)
    workers = _wait_for_workers(proc, out / "runs")
    proc.terminate()
    stderr = _stopped(proc, workers)
    assert proc.returncode == 143, stderr
    assert _one_line(stderr) == (
        f"interrupted: finished runs are saved in {out}/runs; "
        "run the same command again to complete it"
    )
    saved = sorted((out / "runs").glob("*.json"))
    assert 2 <= len(saved) < COMMANDS["run --reps"][1]
    _check_resumed("run --reps", out, len(saved), uninterrupted["run --reps"])


def _start_at(args: list[str], phase: str, ready: Path) -> subprocess.Popen:
    """The command in a subprocess that creates `ready` when it reaches `phase` and
    waits there (tests/robustness/hooks/sitecustomize.py): the test signals it then,
    whatever the machine's speed, instead of after a sleep that a slow start outlasts."""
    env = {"SIM_TEST_PHASE": phase, "SIM_TEST_READY_FILE": str(ready)}
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        env=child_env(env, faults=True),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def _wait_for(proc: subprocess.Popen, ready: Path) -> None:
    """Until the child has created `ready` (a cap for a child that never does)."""
    deadline = time.monotonic() + 300
    while not ready.exists():
        if proc.poll() is not None:
            _, stderr = proc.communicate()
            pytest.fail(f"the command ended (exit {proc.returncode}) before the moment: {stderr}")
        assert time.monotonic() < deadline, "the command never reached the moment"
        time.sleep(0.005)


def _one_line(stderr: str) -> str:
    """The single line an interrupted command prints (Click may put an empty line before
    it, to leave the terminal's ^C; the plain progress lines of the work done before it
    are not counted), and never a traceback."""
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and not is_progress(line)]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("interrupted: "), stderr
    return lines[0]


def test_ctrl_c_during_a_single_run_keeps_the_previous_results(tmp_path):
    """``sim run`` interrupted while simulating: one line, exit 130, and the results
    folder of an earlier run as it was (no half-written folder beside it). The child
    says when it is simulating (a file, see _start_at): no sleep to outlast start-up."""
    out = tmp_path / "out"
    small = ["run", str(SURGE), "--no-dashboard", "--out", str(out)]
    assert invoke(*small).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    ready = tmp_path / "ready"
    proc = _start_at([*small, "--seed", "2"], "run", ready)
    _wait_for(proc, ready)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    stderr = without_progress(stderr)
    assert proc.returncode == 130, stderr
    assert stderr.strip() == "interrupted: no half-written results"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not leftovers(tmp_path)


PHASE_LINES = {  # the line Ctrl-C prints in each phase of `sim run`
    "import": "interrupted: nothing was run or written",
    "load": "interrupted: no half-written results (finished runs are kept)",
    "run": "interrupted: no half-written results",
    "write": "interrupted: no half-written results",
    "exit": "interrupted: the command had already ended",
}


@pytest.mark.parametrize("phase", list(PHASE_LINES))
def test_ctrl_c_in_every_phase_is_one_line_and_exit_130(tmp_path, phase):
    """Ctrl-C while the CLI is imported (seconds on a loaded machine), while the scenario
    loads, while it runs, while the results are written, and while the interpreter
    exits: one line, exit 130, no traceback; the earlier results are never damaged."""
    _signal_in_phase(tmp_path, phase, signal.SIGINT, 130)


@pytest.mark.parametrize("phase", ["import", "write", "exit"])
def test_sigterm_in_every_phase_is_ctrl_c_with_exit_143(tmp_path, phase):
    """``kill`` (SIGTERM: what CI runners, ``timeout`` and service managers send) while
    the command starts, runs, writes and ends: the same line as Ctrl-C, exit 143 (the
    shell's code for SIGTERM), no traceback, the earlier results never damaged."""
    _signal_in_phase(tmp_path, phase, signal.SIGTERM, 143)


def _signal_in_phase(tmp_path: Path, phase: str, sig: int, code: int) -> None:
    out = tmp_path / "out"
    small = ["run", str(SURGE), "--no-dashboard", "--out", str(out)]
    assert invoke(*small).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    ready = tmp_path / "ready"
    proc = _start_at([*small, "--seed", "2"], phase, ready)
    _wait_for(proc, ready)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert _one_line(stderr) == PHASE_LINES[phase]
    if phase != "exit":  # at exit, the new results are already in place
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("delay", [0, 0.01, 0.05, 0.2, 0.5, 1, 2, 4])
def test_ctrl_c_at_any_moment_after_start_never_gives_a_traceback(tmp_path, delay):
    """Ctrl-C `delay` seconds after sim's first line ran (``sim.entry``, before any
    heavy import): whichever phase that lands in on this machine, the command ends with
    one line and exit 130. The assertion holds for every moment, so the test does not
    depend on the machine's speed; the delays only spread the moments over start-up,
    loading, simulating and writing. (Before sim's first line, and after the interpreter
    has put back the default handlers while it shuts down, the moments belong to Python
    itself, see sim.entry: killed by SIGINT silently, once the results are written.
    Compiled, the run ends near the last moment, 4 s, and so can that.)"""
    ready = tmp_path / "ready"
    args = ["run", str(SURGE), "--no-dashboard", "--out", str(tmp_path / "out")]
    proc = _start_at([*args, "--set", "cohorts.pupils.count=20000"], "entry", ready)
    _wait_for(proc, ready)
    time.sleep(delay)  # the moment of the Ctrl-C, not a wait for the child to be ready
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    if proc.returncode == 0:  # finished before the signal arrived: only progress lines
        assert not without_progress(stderr).strip(), stderr
        return
    if proc.returncode == -signal.SIGINT:  # in the interpreter's own exit (see sim.entry)
        assert (tmp_path / "out" / "summary.json").is_file(), stderr  # the work was done
        assert not [x for x in stderr.splitlines() if x.strip() and not is_progress(x)], stderr
        return
    assert proc.returncode == 130, stderr
    _one_line(stderr)
    assert not leftovers(tmp_path)


def test_ctrl_c_while_a_scenario_becomes_text_is_never_swallowed():
    """A worker interrupted while it wrote its scenario as text (a run's key) printed a
    pydantic warning and went on: pydantic swallowed what its function discriminator
    raised, Ctrl-C included (about 1 interrupt in 20 there). Interrupts at random
    moments of `to_toml` must all reach the caller, without a warning. With 1 in 20
    lost, 500 interrupts all arriving would have a chance of 0.95**500, below 1e-11."""
    scenario = load_scenario(SURGE)
    moments = random.Random(1)
    fired = caught = 0

    def interrupt(*_):
        nonlocal fired
        fired += 1
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with warnings.catch_warnings(record=True) as printed:
            warnings.simplefilter("always")
            while fired < 500:
                try:
                    signal.setitimer(signal.ITIMER_REAL, moments.random() * 3e-4)
                    try:
                        for _ in range(3):
                            to_toml(scenario)
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                except KeyboardInterrupt:
                    caught += 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert caught == fired
    assert [str(w.message) for w in printed] == []
