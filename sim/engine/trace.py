"""An opt-in per-request trace: one row per request a person made and waited for (and,
if asked, the requests they made without waiting).

The model measures with streaming statistics (per-minute counts, levels, histograms) so
that memory does not grow with the number of requests; a planner who wants to look at
individual requests (an exact response-time distribution, one person's attempts) asks
for this trace with ``sim run --trace``. Rows are kept in compact typed arrays (about 40
bytes per request) and written when the run ends, so a trace is limited to runs of a
moderate size (the CLI refuses larger ones, see :data:`MAX_TRACED_PEOPLE`).

A row is written when the request's outcome reaches its client (:data:`OUTCOMES`).
An admission gate's answer is a row too, under the gate's own name (added to the
services' names, :func:`trace_names`), as is a refusal by a service's session cap.
Attack traffic is not traced. Requests made during a session or a lesson, whose answer
nobody waits for (*silent* requests), are traced only when asked (``silent``: ``sim run
--log-silent``), with a column that tells them apart; they are the most numerous rows
(a person makes 3,600 / think time of them per hour in a lesson or session: 6 with the
default example's 10 minutes, 120 with 30 s), so they stay out unless wanted.

A silent request ends like any other, and its row says how: served, rejected, an
error... and ``timeout`` when the person's patience ran out first. The person does not
wait, but their browser does: it gives up the request after their patience (which is
why the model counts it as abandoned and a server may drop it), and a real server logs
that as a client-closed request (nginx's 499), as for a request the person waited for.
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
    """Rows of the trace, appended by the services as requests end for their clients;
    with `silent`, the silent requests too, flagged in a column of their own (absent
    otherwise: a trace without them is the same, column for column, as before them)."""

    COLUMNS = ("service", "person", "submitted", "started", "ended", "outcome")

    def __init__(self, services: list[str], silent: bool = False) -> None:
        self.services = services
        self.silent = silent  # the services trace silent requests too
        self.unwaited = array("b") if silent else None  # 1: a silent request
        self.service = array("H")
        self.person = array("q")
        self.submitted = array("d")
        self.started = array("d")  # NaN: never started (rejected, or gave up while queued)
        self.ended = array("d")
        self.outcome = array("b")

    def add(self, service: int, person: int, submitted: float, started: float, ended: float,
            outcome: str, silent: bool = False) -> None:  # fmt: skip
        if self.unwaited is not None:
            self.unwaited.append(silent)
        self.service.append(service)
        self.person.append(person)
        self.submitted.append(submitted)
        self.started.append(started)
        self.ended.append(ended)
        self.outcome.append(CODES[outcome])

    def __len__(self) -> int:
        return len(self.service)

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The columns as arrays; with silent requests, ``silent`` (bool) too."""
        columns = {name: _copy(getattr(self, name)) for name in self.COLUMNS}
        if self.unwaited is not None:
            columns["silent"] = np.frombuffer(self.unwaited, dtype=np.int8).astype(bool)
        return columns


def _copy(column: array) -> np.ndarray:
    return np.frombuffer(column, dtype=column.typecode).copy()


BYTES_PER_ROW = 2 + 8 + 8 + 8 + 8 + 1  # the arrays' item sizes
TRACE_BYTES_PER_PERSON = 200
"""Memory of a trace per person, for the refusal message: the default scenario makes
about 3 traced requests per person (measured: 3.1) at 35 bytes each, plus the arrays'
growth margin; a retry storm makes more."""
BYTES_PER_SILENT_ROW = 2 * (BYTES_PER_ROW + 1) + 8
"""Memory of a silent request's row at its peak: its 36 bytes in the arrays (with the
silent flag), again in their NumPy copy at the end of the run, and 8 more (measured
with tracemalloc: 74-76 bytes a row at the end of a run of 240,000 and 480,000 silent
requests; writing an access log then holds 44 a row, and a chunk of lines)."""
MAX_TRACED_SILENT = 10_000_000
"""More silent requests than this expected: ``--log-silent`` is refused (~0.8 GB)."""
