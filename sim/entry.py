"""The ``sim`` command's entry point (``[project.scripts]`` and ``python -m sim``).

Why a module of its own: Ctrl-C must end the command with one line on stderr and exit
code 130 at *any* moment, and the first second of the command (five on a loaded
machine) is spent importing the CLI (typer, rich, pydantic, numpy, scipy, the model).
A Ctrl-C there used to interrupt an import and print a traceback. So this module
imports nothing heavy: importing it installs a SIGINT handler that says one line and
exits at once (there is nothing to clean up yet), and only then does :func:`main`
import the CLI. Once the CLI is imported, Ctrl-C becomes a ``KeyboardInterrupt`` again,
which every command turns into its own line ("what is kept") and exit code 130 (see
:func:`sim.cli.interrupted`). When the command has ended, the handler that exits at
once is back, so that a Ctrl-C during the interpreter's exit (flushing output, the
process pool's clean-up) does not print a traceback either.

The moments before this module runs belong to Python itself: a Ctrl-C before the
interpreter has installed its own handler kills the process by SIGINT, silently (the
shell reports 130 too); the few statements between that and this module (``site``,
``runpy``, ``sim/__init__.py``, which imports nothing) are a window of microseconds.

A SIGINT that is ignored when the command starts (a background job, ``nohup``) stays
ignored: the handlers are only installed over Python's default one.
"""

from __future__ import annotations

import os
import signal
import sys

INTERRUPTED = 130  # the shell's code for Ctrl-C
STARTING = "interrupted: nothing was run or written"
ENDING = "interrupted: the command had already ended"


def _say(line: str) -> None:
    """Flush what was printed, then write `line` on stderr without Python's buffers
    (this runs in a signal handler, maybe while a buffer was being written)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, RuntimeError, ValueError):  # reentrant or closed: best effort
            pass
    try:  # noqa: SIM105 (contextlib is one more import before the handler matters)
        os.write(2, (line + "\n").encode())
    except OSError:
        pass


def _exit_starting(signum, frame) -> None:
    _say(STARTING)
    os._exit(INTERRUPTED)


def _exit_ending(signum, frame) -> None:
    _say(ENDING)
    os._exit(INTERRUPTED)


def _install(handler) -> bool:
    """Put `handler` on SIGINT if Ctrl-C is handled at all (not ignored); True if so."""
    current = signal.getsignal(signal.SIGINT)
    if current is signal.SIG_IGN or current is None:
        return False
    signal.signal(signal.SIGINT, handler)
    return True


_HANDLED = _install(_exit_starting)  # first thing: the imports below are interruptible


def main() -> None:
    """Import the CLI under the start-up handler, then run it with Ctrl-C raising
    ``KeyboardInterrupt`` (the commands clean up on it), then exit under the end handler."""
    try:
        try:
            from sim.cli import main as cli_main

            if _HANDLED:
                signal.signal(signal.SIGINT, signal.default_int_handler)
            cli_main()  # exits: SystemExit
        finally:
            if _HANDLED:
                signal.signal(signal.SIGINT, _exit_ending)
    except KeyboardInterrupt:  # one that escaped the CLI's own handling
        _say("interrupted: no half-written results (finished runs are kept)")
        sys.exit(INTERRUPTED)


if __name__ == "__main__":
    main()
