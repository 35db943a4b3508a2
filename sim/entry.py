"""The ``sim`` command's entry point (``[project.scripts]`` and ``python -m sim``).

Why a module of its own: Ctrl-C must end the command with one line on stderr and exit
code 130 at *any* moment, and the first second of the command (five on a loaded
machine) is spent importing the CLI (typer, rich, pydantic, numpy, scipy, the model).
A Ctrl-C there used to interrupt an import and print a traceback. So this module
imports nothing heavy: importing it installs a SIGINT handler that says one line and
exits at once (there is nothing to clean up yet), and only then does :func:`main`
import the CLI. Once the CLI is imported, Ctrl-C becomes a ``KeyboardInterrupt`` again,
which every command turns into its own line ("what is kept") and exit code 130 (see
:func:`sim.cli.common.interrupted`). When the command has ended, the handler that exits at
once is back, so that a Ctrl-C during the interpreter's exit (flushing output, the
process pool's clean-up) does not print a traceback either.

SIGTERM (``kill``, ``timeout``, a CI runner or service manager stopping the command,
``Popen.terminate()``) is handled exactly like Ctrl-C, in every phase: the same line,
finished runs kept, no half-written results, but exit code 143 (128 + SIGTERM, as the
shell reports a process killed by it; :mod:`sim.interruption`). Python's default for SIGTERM
was to die on the spot: no line, and the process pool's workers left running.

A process forked from the command (a pool worker, before it has set its own handlers,
see :mod:`sim.experiments.execution`) inherits these handlers; in it they die of the signal
quietly, instead of raising ``KeyboardInterrupt`` in code that would print a traceback.

The moments before this module runs belong to Python itself: a Ctrl-C before the
interpreter has installed its own handler kills the process by SIGINT, silently (the
shell reports 130 too); the few statements between that and this module (``site``,
``runpy``, ``sim/__init__.py``, which imports nothing) are a window of microseconds.

The last moments are Python's too: once the command has ended and the interpreter
finalises, it puts the default handlers back, and a Ctrl-C then kills the process by
SIGINT, silently (the shell reports 130); everything was written by then.

One more trap is CPython's: a ``KeyboardInterrupt`` that escapes an ``exec`` of a string
(dataclasses and named tuples build their methods so, and the commands import modules
lazily, after the handlers changed) marks the interpreter as ended by an unhandled
Ctrl-C, even once caught; the process then kills itself by SIGINT at exit instead of
exiting with the command's code (``run_eval_code_obj`` in ``Python/pythonrun.c``). The
next ``exec`` of a string clears the mark: :func:`main` runs one at the end.

A SIGINT or SIGTERM that is ignored when the command starts (a background job,
``nohup``) stays ignored: the handlers are only installed over the default ones.
"""

from __future__ import annotations

import gc
import os
import signal
import sys

from sim.interruption import exit_code, note

SIGNALS = (signal.SIGINT, signal.SIGTERM)  # both end the command the same way
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


_OWNER = os.getpid()  # the command's process (a forked worker inherits the handlers)


def _note(signum: int) -> None:
    """Note `signum` for the exit code; in a forked worker, die of it quietly instead."""
    note(signum)
    if os.getpid() != _OWNER:  # a forked worker: it has no line to say, and dies
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)  # were the signal blocked


def _exit_starting(signum, frame) -> None:
    _note(signum)
    _say(STARTING)
    os._exit(exit_code())


def _exit_ending(signum, frame) -> None:
    _note(signum)
    _say(ENDING)
    os._exit(exit_code())


def _interrupt(signum, frame) -> None:
    """While the command runs: Ctrl-C and SIGTERM raise ``KeyboardInterrupt`` (the
    commands clean up and say what is kept), the signal noted for :func:`exit_code`."""
    _note(signum)
    raise KeyboardInterrupt


def _install(signum: int, handler) -> bool:
    """Put `handler` on `signum` if the signal is handled at all (not ignored); True if so."""
    current = signal.getsignal(signum)
    if current is signal.SIG_IGN or current is None:
        return False
    signal.signal(signum, handler)
    return True


# first thing: the CLI's imports (in main) are interruptible
_HANDLED = tuple(signum for signum in SIGNALS if _install(signum, _exit_starting))


def _handle(handler) -> None:
    for signum in _HANDLED:
        signal.signal(signum, handler)


def _import_cli_quickly() -> None:
    """Import the CLI with the cyclic garbage collector paused: the imports make a few
    hundred thousand objects and no garbage, and the collections they would trigger
    (each walking every object made so far) are a tenth of a command like ``sim show``.
    Then the objects made are frozen (never walked again: modules, classes, functions
    live as long as the process) and the collector is back, for everything after."""
    gc.disable()
    try:
        import sim.cli  # noqa: F401
    finally:
        gc.freeze()
        gc.enable()


def main() -> None:
    """Import the CLI under the start-up handler, then run it with Ctrl-C and SIGTERM
    raising ``KeyboardInterrupt`` (the commands clean up on it), then exit under the end
    handler."""
    # pydantic looks for its plugins (observers of every validation, such as tracers)
    # in every installed distribution's entry points the first time a model validates:
    # a sixtieth of a second of each command, to observe the CLI's own scenario checks.
    # A user who sets the variable keeps their value (the API, imported, is untouched).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        try:
            _import_cli_quickly()
            from sim.cli import main as cli_main

            _handle(_interrupt)
            cli_main()  # exits: SystemExit
        finally:
            _handle(_exit_ending)
            exec("None")  # clears CPython's mark of an interrupted exec (see above)
    except KeyboardInterrupt:  # one that escaped the CLI's own handling
        _say("interrupted: no half-written results (finished runs are kept)")
        sys.exit(exit_code())


if __name__ == "__main__":
    main()
