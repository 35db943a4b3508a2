"""An opt-in per-request trace: one row per request a person made and waited for.

The model measures with streaming statistics (per-minute counts, levels, histograms) so
that memory does not grow with the number of requests; a planner who wants to look at
individual requests (an exact response-time distribution, one person's attempts) asks
for this trace with ``sim run --trace``. Rows are kept in compact typed arrays (about 40
bytes per request) and written when the run ends, so a trace is limited to runs of a
moderate size (the CLI refuses larger ones, see :data:`MAX_TRACED_PEOPLE`).

A row is written when the request's outcome reaches its client: served, timed out,
rejected, failed on a crashed or unreachable server, or blocked by a defence. Requests
made during a session or a lesson (whose answer nobody waits for) and attack traffic
are not traced.
"""

from __future__ import annotations

from array import array

import numpy as np

MAX_TRACED_PEOPLE = 1_000_000
"""More people than this: ``--trace`` is refused (tens of millions of rows, GBs)."""

OUTCOMES = ("served", "timeout", "rejected", "error", "blocked")
CODES = {name: code for code, name in enumerate(OUTCOMES)}


class Trace:
    """Rows of the trace, appended by the services as requests end for their clients."""

    COLUMNS = ("service", "person", "submitted", "started", "ended", "outcome")

    def __init__(self, services: list[str]) -> None:
        self.services = services
        self.service = array("H")
        self.person = array("q")
        self.submitted = array("d")
        self.started = array("d")  # NaN: never started (rejected, or gave up while queued)
        self.ended = array("d")
        self.outcome = array("b")

    def add(self, service: int, person: int, submitted: float, started: float, ended: float,
            outcome: str) -> None:  # fmt: skip
        self.service.append(service)
        self.person.append(person)
        self.submitted.append(submitted)
        self.started.append(started)
        self.ended.append(ended)
        self.outcome.append(CODES[outcome])

    def __len__(self) -> int:
        return len(self.service)

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {
            name: np.frombuffer(getattr(self, name), dtype=getattr(self, name).typecode).copy()
            for name in self.COLUMNS
        }


BYTES_PER_ROW = 2 + 8 + 8 + 8 + 8 + 1  # the arrays' item sizes
TRACE_BYTES_PER_PERSON = 200
"""Memory of a trace per person, for the refusal message: the default scenario makes
about 3 traced requests per person (measured: 3.1) at 35 bytes each, plus the arrays'
growth margin; a retry storm makes more."""
