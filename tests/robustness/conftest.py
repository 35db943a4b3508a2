"""Helpers of the robustness suite: the ``sim`` command in a real subprocess, the
one-line error every input mistake must give, and local Dask clusters."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.outputs.progress import is_progress
from tests.conftest import ROOT, SCENARIOS, sim_path

SURGE = SCENARIOS / "surge.toml"
HOOKS = Path(__file__).resolve().parent / "hooks"  # sitecustomize.py: injected faults


def invoke(*args, env: dict[str, str] | None = None):
    """The command in this process (Typer's runner): fast, for most cases."""
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def sim(*args, env: dict[str, str] | None = None, faults: bool = False, **kwargs):
    """``python -m sim ...`` in a real subprocess, as a user runs it; with `faults`, the
    fault hooks (tests/robustness/hooks) are loaded in it and in its worker processes."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=kwargs.pop("cwd", ROOT),
        env=child_env(env, faults),
        capture_output=True,
        text=True,
        timeout=kwargs.pop("timeout", 300),
        **kwargs,
    )


def child_env(extra: dict[str, str] | None = None, faults: bool = False) -> dict[str, str]:
    path = [str(HOOKS)] if faults else []
    env = {**os.environ, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join([*path, *sim_path(), env.get("PYTHONPATH", "")])
    return env


def one_error_line(stderr: str) -> str:
    """The single ``error: ...`` line a bad input must give, and nothing else (but the
    plain progress lines of the work done before the error, stderr being a pipe)."""
    lines = [line for line in stderr.splitlines() if line.strip() and not is_progress(line)]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def leftovers(folder: Path) -> list[Path]:
    """Temporary files or folders of an interrupted or failed write, anywhere below."""
    return [p for p in folder.rglob(".*") if p.name.startswith(".")]


# ---------------------------------------------------------------- Dask clusters


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_cluster(
    workers: int = 2,
    *,
    env: dict[str, str] | None = None,
    tls: tuple[str, str, str] | None = None,
    faults: bool = False,
):
    """A scheduler and `workers` workers (each under a nanny, which restarts a worker
    that dies) as separate processes; returns (address, processes)."""
    pytest.importorskip("distributed")
    dask = shutil.which("dask", path=os.path.dirname(sys.executable))
    if dask is None:
        pytest.skip("the dask command is not installed")
    port = free_port()
    protocol = "tls" if tls else "tcp"
    address = f"{protocol}://127.0.0.1:{port}"
    tls_args = []
    if tls:
        ca, cert, key = tls
        tls_args = ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]
    environment = child_env(env, faults)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": environment}
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port)]
    procs = [
        subprocess.Popen([*scheduler, "--no-dashboard", "--protocol", protocol, *tls_args], **quiet)
    ]
    for _ in range(workers):
        worker = [dask, "worker", address, "--nthreads", "1", "--no-dashboard", *tls_args]
        procs.append(subprocess.Popen(worker, **quiet))
    return address, procs


def wait_for_workers(address: str, n: int, security=None) -> None:
    from distributed import Client

    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout="5s", security=security) as client:
                client.wait_for_workers(n, timeout=60)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def stop_cluster(address: str, procs, security=None) -> None:
    """Ask the scheduler to shut the cluster down (quicker than signals: nannies would
    restart their workers), then make sure every process is gone."""
    from distributed import Client

    try:
        with Client(address, timeout="5s", security=security) as client:
            client.shutdown()
    except Exception:  # already gone, or unreachable: the signals below do it
        pass
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
