"""The ``sim`` command in a child process with a time bound, cheaply (for
tests/robustness/test_fuzz.py, which runs it hundreds or thousands of times).

A fresh ``python -m sim`` costs a second or more of imports; a child forked from a
process that imported the CLI once costs milliseconds. So :class:`ForkServer` starts
this module once as a server (``python -m tests.robustness.fuzz_child``), which imports
the CLI and then, for each command it is sent, forks a child that runs the real entry
point (:func:`sim.entry.main`, as ``python -m sim`` does) with its stdout and stderr on
files, kills it if it outlives the bound, and answers with its exit code. A child of
its own per command, rather than a call in the test process, so that a run that hangs
(even inside native code), crashes the interpreter or fills the memory is one failed
case, not a stuck or dead test session, and no run sees state another left behind. The
server is single-threaded, so forking it is safe (the test process may have threads).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

KILLED = "killed at the bound"


@dataclass(frozen=True)
class Outcome:
    """How the command ended: its exit code (None: still running at the bound, then
    killed; negative: killed by that signal), and what it printed."""

    code: int | None
    stdout: str
    stderr: str


class ForkServer:
    """The server process, seen from the tests: :meth:`run` one command at a time."""

    def __init__(self, cwd: Path, env: dict[str, str], installed: bool = False) -> None:
        """A server importing ``sim`` from the source tree (`cwd` and ``PYTHONPATH`` in
        `env`, as the tests do) or, `installed`, the package installed in this Python
        (``python -I``: site-packages only; the compiled engine after ``pip install .``)."""
        command = [sys.executable, "-m", __name__]
        if installed:
            command = [sys.executable, "-I", str(Path(__file__).resolve())]
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout
        hello = self.process.stdout.readline()
        if not hello:
            raise RuntimeError(f"the fork server did not start (exit {self.process.wait()})")
        self.package: str = json.loads(hello)["sim"]
        """Where its ``sim`` comes from, and whether its engine is compiled."""

    def run(self, args: list[str], folder: Path, env: dict[str, str], bound_s: float) -> Outcome:
        """``sim ARGS`` with `env` added to the environment, killed after `bound_s`
        seconds; what it prints is kept in `folder` (stdout.txt, stderr.txt)."""
        folder.mkdir(parents=True, exist_ok=True)
        stdout, stderr = folder / "stdout.txt", folder / "stderr.txt"
        request = {"args": args, "env": env, "bound_s": bound_s}
        request |= {"stdout": str(stdout), "stderr": str(stderr)}
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        if not reply:
            raise RuntimeError(f"the fork server died (exit code {self.process.wait()})")
        return Outcome(json.loads(reply)["code"], _text(stdout), _text(stderr))

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


# ---------------------------------------------------------------- the server


def serve() -> None:
    """Answer each request line (JSON) with ``{"code": ...}`` once its child ended."""
    import sim.cli  # the costly imports, once: the children inherit them
    import sim.engine.kernel
    import sim.entry

    preload_commands()

    compiled = "compiled" if not sim.engine.kernel.__file__.endswith(".py") else "interpreted"
    hello = {"sim": f"{Path(sim.__file__).parent} ({compiled})"}
    os.write(1, (json.dumps(hello) + "\n").encode())

    for line in sys.stdin.buffer:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        code = _wait(pid, request["bound_s"])
        os.write(1, (json.dumps({"code": code}) + "\n").encode())


def preload_commands() -> None:
    """Import what the commands import when they run: :mod:`sim.cli` imports only what
    ``sim --help`` needs (tests/cli/test_startup.py), and a child must not pay for the
    rest (scipy alone is about a second)."""
    import scipy.stats  # noqa: F401
    from scipy.stats import qmc  # noqa: F401

    import sim.cli.experiments
    import sim.experiments.compare
    import sim.experiments.options
    import sim.experiments.plan
    import sim.experiments.sweep
    import sim.experiments.validate.cases
    import sim.outputs.experiment_folder
    import sim.outputs.run_folder
    import sim.outputs.study_folders
    import sim.simulation.resources
    import sim.simulation.runner  # noqa: F401


def _wait(pid: int, bound_s: float) -> int | None:
    """The child's exit code (negative: the signal that killed it), or None if it was
    still running after `bound_s` seconds (it is killed then)."""
    deadline = time.monotonic() + bound_s
    pause = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _child(request: dict) -> None:
    """In the forked child: as ``python -m sim ARGS``, but for the imports already done.
    An exception that escapes prints its traceback and exits 1, as the interpreter does."""
    code = 1
    try:
        os.environ.update(request["env"])
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(file, fd)
        sys.argv = ["sim", *request["args"]]
        from sim.entry import main

        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


if __name__ == "__main__":
    serve()
