"""Progress where no bar can be drawn: plain lines, one per tenth of the work.

On a terminal the commands draw rich's progress bar, redrawn in place. In CI, under
``nohup`` or through ``| tee`` the same bar is either hidden (and a long run looks hung)
or written as carriage returns and escape codes that garble the log. So when stderr is
not a terminal, progress is a plain line each time the work passes another tenth (a
fraction of the work, not a time: the same command prints the same lines, whatever the
machine's load), each starting with :data:`PREFIX` so that a reader or a script can tell
it from an error.
"""

from __future__ import annotations

import math
import time

from rich.console import Console

PREFIX = "progress: "
STEP = 0.1  # a line each time the work passes another tenth


def is_progress(line: str) -> bool:
    """True for a line of plain progress (for scripts and tests that read stderr)."""
    return line.startswith(PREFIX)


class PlainProgress:
    """Prints ``progress: <label>: <what> (<per cent>, <elapsed>)`` once per tenth."""

    def __init__(self, console: Console, label: str, started: float | None = None) -> None:
        self.console = console
        self.label = label
        self.started = time.perf_counter() if started is None else started  # perf_counter
        self.next = STEP  # the fraction that prints the next line
        self.last = 0.0

    def update(self, fraction: float, what: str) -> None:
        """Report that `fraction` (0-1) of the work is done, `what` saying it in words."""
        fraction = min(max(fraction, 0.0), 1.0)
        if fraction < self.last:  # the total grew (--precision added replications)
            self.next = (math.floor(fraction / STEP + 1e-9) + 1) * STEP
        self.last = fraction
        if fraction + 1e-9 < self.next:
            return
        self.next = (math.floor(fraction / STEP + 1e-9) + 1) * STEP
        elapsed = time.perf_counter() - self.started
        self.console.print(
            f"{PREFIX}{self.label}: {what} ({fraction * 100:.0f} %, {elapsed:.0f} s elapsed)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def without_progress(text: str) -> str:
    """`text` (a command's stderr) without its lines of plain progress."""
    return "".join(line for line in text.splitlines(True) if not is_progress(line))
