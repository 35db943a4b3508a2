"""An opt-in per-request trace: one row per request a person made and waited for.

The model measures with streaming statistics (per-minute counts, levels, histograms) so
that memory does not grow with the number of requests; a planner who wants to look at
individual requests (an exact response-time distribution, one person's attempts) asks
for this trace with ``sim run --trace``. Rows are kept in compact typed arrays (about 40
bytes per request) and written when the run ends, so a trace is limited to runs of a
moderate size (the CLI refuses larger ones, see :data:`MAX_TRACED_PEOPLE`).

A row is written when the request's outcome reaches its client (:data:`OUTCOMES`).
An admission gate's answer is a row too, under the gate's own name (added to the
services' names, :func:`trace_names`), as is a refusal by a service's session cap.
Requests made during a session or a lesson (whose answer nobody waits for) and attack
traffic are not traced.
"""

from __future__ import annotations

from array import array

import numpy as np

MAX_TRACED_PEOPLE = 1_000_000
"""More people than this: ``--trace`` is refused (tens of millions of rows, GBs)."""

OUTCOMES = ("served", "timeout", "rejected", "error", "blocked", "quota", "barred", "fault")
"""How a traced request ended for its client: served (or admitted by a gate); timeout
(the client gave up: no answer in time, or left a gate's waiting room); rejected (the
backlog was full); error (a crashed or unreachable server); blocked (a rate limit or
another defence); quota (a gate's quota or a service's session cap was full); barred
(a gate refuses the person's role at this hour); fault (the server answered with an
error, ``error_probability``). Codes are positions: new outcomes go at the end. A
trace's outcome is what the client saw, not a cause of failure: a fault is counted as
``fail_error``, a waiting room left as ``fail_quota``, as before."""
CODES = {name: code for code, name in enumerate(OUTCOMES)}


def trace_names(services: list[str], gates: list[str]) -> list[str]:
    """The names of the trace's services, by their numbers: the services, then the
    gates under their own names (``gate:<name>`` for one named like a service, so that
    the two stay apart in the trace and in an access log's paths)."""
    taken = set(services)
    return [*services, *(f"gate:{g}" if g in taken else g for g in gates)]


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
