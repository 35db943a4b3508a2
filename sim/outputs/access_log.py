"""The simulated morning written as a web server's access log (``sim run --access-log``).

One line per request a person sent and waited for (the rows of the per-request trace,
:mod:`sim.engine.trace`), in the format a real server writes, so that the tools that
read real logs (and ``sim``'s own reader, :mod:`sim.config.access_logs`) read it too:

- client: an IPv4-looking address made from the person's source address number (people
  behind one NAT share it, as the rate limiter sees them), user ``p<person>`` (the row
  of the people table), method GET, path ``/<service>`` (or ``/<gate>`` for an
  admission gate's answer), user agent
  ``sim/<version> (role=<role>)``, and in csv the ``user`` and ``role`` columns;
- status and duration: how the request ended for its client (:data:`STATUS`); a
  timeout's duration is how long the client waited before giving up, an admission's
  how long they waited in the gate's waiting room;
- time: the clock times of the simulated morning on :data:`DEFAULT_DAY` (or the day
  given); lines in the order of the time each format writes (nginx: the request's end,
  apache and csv: when it was received).

Requests nobody waits for (the silent requests of a session or a lesson) and attack
traffic are not in the trace, so not in the log.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sim import __version__
from sim.config.access_logs import LOG_HEADER, LogRecord, format_record
from sim.engine.trace import OUTCOMES
from sim.outputs import atomic
from sim.simulation.runner import RunResult

DEFAULT_DAY = dt.date(2021, 4, 6)
"""The day of the timestamps unless one is given: the morning of April 2021 the shipped
examples recall; a fixed day keeps the bytes of a log reproducible."""

STATUS = {
    "served": 200,
    "timeout": 499,
    "rejected": 503,
    "error": 502,
    "blocked": 429,
    "quota": 503,
    "barred": 403,
    "fault": 500,
}
"""The HTTP status of each outcome of the trace (:data:`sim.engine.trace.OUTCOMES`): 200
served or admitted by a gate; 499 nginx's "client closed request" (the client gave up,
in a queue or a gate's waiting room); 503 a refusal (backlog full, a gate's quota or a
service's session cap full); 502 a crashed or unreachable server; 429 a rate limit or
a defence; 403 a gate closed to the person's role; 500 an error answer
(``error_probability``)."""

CHUNK = 50_000  # lines formatted at a time: memory stays bounded


def format_of(path: Path | str) -> str:
    """The format a log's name asks for: csv for ``.csv`` (or ``.csv.gz``), else nginx."""
    name = Path(path).name.lower().removesuffix(".gz")
    return "csv" if name.endswith(".csv") else "nginx"


def write_access_log(
    result: RunResult, path: Path | str, format: str | None = None, day: dt.date = DEFAULT_DAY
) -> Path:
    """Write the requests of `result` (a run made with ``trace=True``) to `path` as an
    access log of `format` (default: :func:`format_of` the name), gzip-compressed if the
    name ends with ``.gz`` (byte-stable: no time stamp in the header); atomically."""
    if result.trace is None or result.addresses is None:
        raise ValueError("an access log is written from a run made with trace=True")
    path = Path(path)
    format = format or format_of(path)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as raw:
            if path.name.endswith(".gz"):
                with gzip.GzipFile(filename=path.name, fileobj=raw, mode="wb", mtime=0) as gz:
                    _write_lines(gz, result, format, day)
            else:
                _write_lines(raw, result, format, day)

    return atomic.replace_with(path, write)


def _write_lines(binary, result: RunResult, format: str, day: dt.date) -> None:
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")
    if format == "csv":
        text.write(LOG_HEADER + "\n")
    for chunk in _chunks(result, format, day):
        text.write("".join(format_record(record, format) + "\n" for record in chunk))
    text.flush()
    text.detach()


def _chunks(result: RunResult, format: str, day: dt.date) -> Iterator[list[LogRecord]]:
    """The records of the log, :data:`CHUNK` at a time, in the order the format wants."""
    t = result.trace
    order = np.argsort(t["ended"] if format == "nginx" else t["submitted"], kind="stable")
    services = [f"/{name}" for name in result.trace_services]
    statuses = [STATUS[name] for name in OUTCOMES]
    group_roles = np.asarray(result.group_roles, dtype=object)
    for first in range(0, len(order), CHUNK):
        rows = order[first : first + CHUNK]
        person = t["person"][rows]
        roles = group_roles[result.people["group"][person]].tolist()
        clients = [ipv4(a) for a in result.addresses[person].tolist()]
        submitted = t["submitted"][rows].tolist()
        durations = (t["ended"][rows] - t["submitted"][rows]).tolist()
        columns = zip(
            person.tolist(),
            t["service"][rows].tolist(),
            t["outcome"][rows].tolist(),
            submitted,
            durations,
            roles,
            clients,
            strict=True,
        )
        yield [
            LogRecord(
                day=day,
                time_s=time_s,
                client=client,
                user=f"p{who}",
                method="GET",
                path=services[service],
                status=statuses[outcome],
                duration_s=duration,
                user_agent=f"sim/{__version__} (role={role})",
                role=role,
            )
            for who, service, outcome, time_s, duration, role, client in columns
        ]


def ipv4(address: int) -> str:
    """A private IPv4-looking address for the model's address number: 10.0.0.1 for 0,
    and on (addresses beyond 10.255.255.255 go on to 11.x.x.x and so on)."""
    n = address + 1
    return f"{10 + (n >> 24)}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
