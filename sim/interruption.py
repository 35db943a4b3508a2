"""Which signal interrupted the command, for its exit code: 130 after Ctrl-C (SIGINT),
143 after SIGTERM, as the shell reports a process killed by either (128 + the signal).

A module of its own, with no side effects and nothing heavy to import: :mod:`sim.entry`
notes the signals from its handlers (it imports this before it installs them), and the
CLI (:func:`sim.cli.interrupted`) reads the code, also when it runs in-process without
:mod:`sim.entry` (tests, a library caller), where no signal is noted and the code of a
``KeyboardInterrupt`` is Ctrl-C's.
"""

from __future__ import annotations

INTERRUPTED = 130  # the shell's code for Ctrl-C: 128 + SIGINT (143 for SIGTERM)

_received: list[int] = []  # the signals that interrupted the command, first first


def note(signum: int) -> None:
    """Record that signal `signum` interrupted the command."""
    _received.append(signum)


def exit_code() -> int:
    """The exit code of an interrupted command: 128 + the first signal that interrupted
    it (143 for SIGTERM), 130 if none was noted (a ``KeyboardInterrupt`` otherwise)."""
    return 128 + _received[0] if _received else INTERRUPTED
