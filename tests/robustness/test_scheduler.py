"""A Dask scheduler that cannot be used is one line, in a bounded time (issue 16).

Dask without ``distributed`` installed, a bad timeout: exit 2 before any run. A plain
``tcp://`` scheduler on another machine: a warning (Dask pickles jobs and results), no
warning on this machine. Nothing listening, a server that is not Dask (its greeting read
as a length made Dask allocate 3 EiB), a server that never answers (Dask waited
forever): exit 1, within ``SIM_SCHEDULER_TIMEOUT_S``. The servers are fakes in this
process, on 127.0.0.1; a command that could hang runs in a subprocess with a time limit.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
from contextlib import contextmanager

import pytest

from sim.scheduler import (
    SchedulerError,
    SchedulerUnavailable,
    check_scheduler,
    plain_tcp_warning,
    probe,
)
from tests.conftest import SCENARIOS
from tests.robustness.conftest import SURGE, free_port, invoke, one_error_line, sim

pytest.importorskip("distributed")

HANG_BOUND_S = 60  # a command still running after this has hung
HTTP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
QUICK = {"SIM_SCHEDULER_TIMEOUT_S": "2"}


@contextmanager
def fake_server(greeting: bytes | None, close: bool = False):
    """A TCP server on 127.0.0.1 that sends `greeting` to each connection (None: sends
    nothing), then closes it if `close`, else holds it open until the server stops.
    Yields ``(address, accepted)``, an event set at the first connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # to notice `stop` between connections
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    accepted, stop = threading.Event(), threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.set()
            if greeting:
                conn.sendall(greeting)
            if close:
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield address, accepted
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()
        for conn in held:
            conn.close()


def _error_after_warning(stderr: str) -> tuple[list[str], str]:
    """The ``warning:`` lines and the one ``error:`` line of `stderr` (nothing else)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    warnings = [line for line in lines if line.startswith("warning: ")]
    rest = [line for line in lines if not line.startswith("warning: ")]
    return warnings, one_error_line("\n".join(rest))


# ---------------------------------------------------------------- not installed

COMMANDS = {
    "run --reps": ["run", SURGE, "--reps", "2"],
    "sweep": ["sweep", SURGE, "--vary", "seed=1,2"],
    "compare": ["compare", SURGE, "--set-b", "seed=2", "--reps", "2"],
    "plan": ["plan", SURGE, "--vary", "services.login.servers=1:4", "--target", "gave_up<=3"],
    "options": ["options", SCENARIOS / "surge-options.toml"],
}


def test_without_distributed_the_scheduler_is_one_line_before_any_run(tmp_path):
    """Really not importable (as when not installed), chosen by SIM_SCHEDULER: the
    line names the variable and the extra to install; nothing is written."""
    blocked = tmp_path / "blocked" / "distributed"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'distributed'\", name='distributed')\n"
    )
    out = tmp_path / "out"
    result = sim(
        *COMMANDS["run --reps"], "--out", out,
        env={"PYTHONPATH": str(blocked.parent), "SIM_SCHEDULER": "tcp://127.0.0.1:8786"},
        timeout=HANG_BOUND_S,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert line == "error: SIM_SCHEDULER needs Dask's distributed: pip install 'sim[cluster]'"
    assert not out.exists()


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_says_that_scheduler_needs_distributed(tmp_path, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    out = tmp_path / "out"
    result = invoke(*COMMANDS[command], "--scheduler", "tcp://127.0.0.1:8786", "--out", out)
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert line == "error: --scheduler needs Dask's distributed: pip install 'sim[cluster]'"
    assert not out.exists()


def test_a_bad_timeout_is_one_line_before_any_run(tmp_path):
    out = tmp_path / "out"
    result = invoke(
        *COMMANDS["sweep"], "--scheduler", "tcp://127.0.0.1:8786", "--out", out,
        env={"SIM_SCHEDULER_TIMEOUT_S": "0"},
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "SIM_SCHEDULER_TIMEOUT_S must be a number of seconds above 0, got '0'" in (
        one_error_line(result.stderr)
    )
    assert not out.exists()


# ---------------------------------------------------------------- plain tcp:// warning


@pytest.mark.parametrize(
    "address",
    [
        "tcp://127.0.0.1:8786",
        "tcp://127.1.2.3:8786",
        "tcp://localhost:8786",
        "tcp://LOCALHOST:8786",
        "tcp://[::1]:8786",
        "tcp://[::ffff:127.0.0.1]:8786",
        "127.0.0.1:8786",  # no scheme is tcp://, as for Dask
        "tls://10.0.0.5:8786",
        "inproc://10.0.0.5/1/1",
    ],
)
def test_no_warning_on_this_machine_or_over_tls(address):
    assert plain_tcp_warning(address) is None


@pytest.mark.parametrize(
    "address",
    ["tcp://10.0.0.5:8786", "tcp://192.0.2.1:8786", "tcp://[2001:db8::1]:8786",
     "tcp://scheduler.example:8786", "10.0.0.5:8786"],
)  # fmt: skip
def test_plain_tcp_to_another_machine_warns_that_whoever_answers_runs_code_here(address):
    warning = plain_tcp_warning(address)
    assert warning is not None
    assert "\n" not in warning
    for words in ("pickled", "unencrypted", "can run code here", "tls://", "SIM_TLS_CA_FILE"):
        assert words in warning


def test_plain_tcp_to_another_machine_warns_once_then_fails_in_bounded_time(tmp_path):
    """TEST-NET-3: unreachable, refused, or (behind a proxy) silent, depending on the
    network: one warning and one error, exit 1, within the timeout."""
    out = tmp_path / "out"
    result = invoke(
        *COMMANDS["run --reps"], "--scheduler", "tcp://203.0.113.1:8786", "--out", out,
        env={"SIM_SCHEDULER_TIMEOUT_S": "1"},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    warnings, error = _error_after_warning(result.stderr)
    assert len(warnings) == 1, result.stderr
    assert "pickled" in warnings[0]
    assert error.startswith("error: cannot use the Dask scheduler tcp://203.0.113.1:8786: ")


def test_check_scheduler_returns_the_warning_and_checks_the_address():
    assert check_scheduler("tcp://127.0.0.1:8786") is None
    assert "pickled" in check_scheduler("tcp://10.0.0.5:8786")
    with pytest.raises(SchedulerError, match="missing port number") as raised:
        check_scheduler("tcp://10.0.0.5")
    assert raised.value.exit_code == 2


# ---------------------------------------------------------------- servers that are not Dask


def test_a_server_that_is_not_dask_is_one_line_not_an_exabyte(tmp_path):
    """A web server's greeting, read by Dask as a message length, was 3 EiB to allocate
    (then a MemoryError traceback)."""
    out = tmp_path / "out"
    with fake_server(HTTP) as (address, accepted):
        result = invoke(
            *COMMANDS["run --reps"], "--scheduler", address, "--out", out,
            env={"SIM_SCHEDULER_TIMEOUT_S": "20"},  # bounds only a failing test
        )  # fmt: skip
        assert accepted.is_set()
    assert result.exit_code == 1, result.output
    line = one_error_line(result.stderr)  # no warning: 127.0.0.1 is this machine
    assert f"cannot use the Dask scheduler {address}: it did not answer as a Dask" in line
    assert "b'HTTP/1.1'" in line
    assert not list(out.rglob("*.json")) if out.exists() else True


def test_a_server_that_never_answers_is_one_line_within_the_timeout(tmp_path):
    """Dask waited for the greeting without a time limit: the command hung."""
    with fake_server(None) as (address, accepted):
        result = sim(
            *COMMANDS["sweep"], "--scheduler", address, "--out", tmp_path / "out",
            env=QUICK, timeout=HANG_BOUND_S,
        )  # fmt: skip
        assert accepted.is_set()
    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    assert "accepted the connection but did not answer as a Dask scheduler in 2 s" in line
    assert "SIM_SCHEDULER_TIMEOUT_S sets the wait" in line


@pytest.mark.parametrize(
    "greeting",
    [
        struct.pack("Q", 3 << 60),  # a huge length
        struct.pack("Q", 0),  # an empty message: Dask's greeting never is
        b"SSH-2.0-OpenSSH_9.6\r\n",
    ],
)
def test_probe_refuses_a_greeting_that_is_not_dask(greeting):
    not_dask = pytest.raises(SchedulerUnavailable, match="did not answer as a Dask scheduler")
    with fake_server(greeting, close=True) as (address, _), not_dask:
        probe(address, None, timeout=10)


def test_probe_fails_on_a_server_that_hangs_up_or_stays_silent():
    hung_up = pytest.raises(SchedulerUnavailable, match="closed the connection without")
    with fake_server(None, close=True) as (address, _), hung_up:
        probe(address, None, timeout=10)
    silent = pytest.raises(SchedulerUnavailable, match=r"did not answer .* in 0\.5 s")
    with fake_server(b"HTT") as (address, _), silent:  # a few bytes, then nothing
        probe(address, None, timeout=0.5)


def test_probe_accepts_a_dask_like_greeting():
    with fake_server(struct.pack("Q", 120) + b"x" * 120) as (address, accepted):
        probe(address, None, timeout=10)
        assert accepted.is_set()


def test_nothing_listening_is_a_runtime_failure_within_the_timeout():
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(SchedulerUnavailable, match=r"nothing accepted a connection in 0\.5 s") as e:
        probe(address, None, timeout=0.5)
    assert e.value.exit_code == 1
