"""Web servers' access logs, read and written: the real morning a scenario is fitted to or
replayed from, and the simulated morning written in the same form.

Three formats (see docs/how-to/access-logs.md):

- ``nginx``: the combined format followed by ``$request_time`` (seconds, with a decimal
  point); ``$time_local`` is when the line was written, the request's END, so the time
  it was received is that minus the request time. The common format (no referer and
  agent) followed by the request time is read too.
- ``apache``: ``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D``; ``%t`` is
  when the request was RECEIVED and ``%D`` is in microseconds. Common + ``%D`` is read too.
- ``csv``: a header naming ``timestamp,client,path,status,duration_s`` and optionally
  ``user``, ``role``, ``method``, ``user_agent``, in any order; the timestamp (ISO 8601)
  is when the request was received.

The clock time is read as written, the server's local time; a UTC offset is ignored (a
morning is a morning in the school's time zone). Reading streams (constant memory, any
size), opens gzip by its magic bytes whatever the name, and skips malformed lines but
counts them: more than :data:`MAX_MALFORMED_SHARE` of a file's lines, or no record at
all, is an :class:`AccessLogError` naming the file, the first bad line and the format
expected. Pure Python: nothing heavy at import (the commands import this at start-up).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from sim.config.errors import ScenarioError

LogFormat = Literal["nginx", "apache", "csv"]
FORMATS: tuple[str, ...] = ("auto", "nginx", "apache", "csv")
"""What ``format=`` accepts; "auto" tells each file's format from its first lines."""

MAX_MALFORMED_SHARE = 0.01
"""A file with more malformed lines than this share is refused: it is not (all) in the
format expected, and a fit to the lines that happened to parse would mislead."""
EARLY_GIVE_UP = 50
"""When a file's first this many lines are all malformed, it is refused at once, before
reading gigabytes of the wrong format."""
PROGRESS_EVERY = 4096
"""Lines between two calls of ``on_progress``."""

LOG_HEADER = "timestamp,client,path,status,duration_s,user,role"
"""The csv header :func:`format_record` writes under (``user`` and ``role`` empty when
unknown)."""

CSV_REQUIRED = ("timestamp", "client", "path", "status", "duration_s")
CSV_OPTIONAL = ("user", "role", "method", "user_agent")

EXPECTED = {
    "nginx": '$remote_addr - $remote_user [$time_local] "$request" $status '
    '$body_bytes_sent "$http_referer" "$http_user_agent" $request_time',
    "apache": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D',
    "csv": "a header with " + ",".join(CSV_REQUIRED) + " (and optionally user,role)",
}
"""The format each line must follow, for the error messages."""

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_MONTH_NAMES = {number: name for name, number in _MONTHS.items()}
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_LINE = re.compile(
    r"(?P<client>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    + _QUOTED.replace("(", "(?P<request>", 1)
    + r" (?P<status>\d{3}) (?P<bytes>\S+)"
    + "(?: "
    + _QUOTED.replace("(", "(?P<referer>", 1)
    + " "
    + _QUOTED.replace("(", "(?P<agent>", 1)
    + r")? (?P<duration>\S+)\s*\Z"
)
_TIME = re.compile(
    r"(\d{1,2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(\.\d+)?(?: [+-]\d{4})?\Z"
)
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)")
_NGINX_DURATION = re.compile(r"\d+\.\d+\Z")
_APACHE_DURATION = re.compile(r"\d+\Z")


class AccessLogError(ScenarioError):
    """An access log (or its mapping) that cannot be used; one line meant for the user."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One request of an access log: when it was received, by whom, what, and how it
    ended. ``time_s`` counts seconds since the local midnight of ``day`` (a request
    received at 08:00:01.5 has ``time_s == 28801.5``)."""

    day: dt.date
    time_s: float
    client: str
    user: str | None
    method: str
    path: str
    status: int
    duration_s: float
    user_agent: str | None = None
    role: str | None = None

    @property
    def received(self) -> dt.datetime:
        """The local date and time the request was received."""
        return _at(self.day, self.time_s)


@dataclass
class ReadStats:
    """What reading found, updated as the records stream (pass one to
    :func:`read_records` to know how many lines were skipped)."""

    lines: int = 0  # non-blank lines, headers excluded
    records: int = 0
    malformed: int = 0
    first_malformed: tuple[str, int, str] | None = None  # file, line number, text

    def note_malformed(self, path: str, number: int, text: str) -> None:
        self.malformed += 1
        if self.first_malformed is None:
            self.first_malformed = (path, number, text)


# ---------------------------------------------------------------- reading


def read_records(
    paths: str | Path | Iterable[str | Path],
    format: str = "auto",
    on_progress: Callable[[int], None] | None = None,
    stats: ReadStats | None = None,
) -> Iterator[LogRecord]:
    """The records of the files `paths`, one file after the other, each line as it is
    read (constant memory). `on_progress` is called with the number of bytes (of the
    file as stored, compressed or not) read since its last call, for a progress bar.
    Malformed lines are skipped and counted in `stats`; a file that has too many, or no
    record, raises :class:`AccessLogError` when its end (or its first
    :data:`EARLY_GIVE_UP` lines) is reached."""
    if format not in FORMATS:
        raise AccessLogError(f"log format must be one of {', '.join(FORMATS)}; got {format!r}")
    stats = stats if stats is not None else ReadStats()
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        yield from _read_file(Path(path), format, on_progress, stats)


def _read_file(
    path: Path, format: str, on_progress: Callable[[int], None] | None, stats: ReadStats
) -> Iterator[LogRecord]:
    own = ReadStats()
    with _open(path) as (raw, text):
        progress = _Progress(raw, on_progress)
        lines = _numbered(text)
        chosen, lines = _choose_format(path, format, lines)
        parse = _csv_parser(path, lines) if chosen == "csv" else _line_parser(chosen)
        for number, line in lines:
            own.lines += 1
            record = parse(line)
            if record is None:
                own.note_malformed(str(path), number, line)
                if own.malformed == own.lines == EARLY_GIVE_UP:
                    _refuse(path, chosen, own)
            else:
                own.records += 1
                yield record
            if own.lines % PROGRESS_EVERY == 0:
                progress.report()
        progress.report()
    _merge(stats, own)
    if own.records == 0 or own.malformed > MAX_MALFORMED_SHARE * own.lines:
        _refuse(path, chosen, own)


class _Progress:
    """Bytes read from the stored file since the last report."""

    def __init__(self, raw: IO[bytes], callback: Callable[[int], None] | None) -> None:
        self.raw, self.callback, self.done = raw, callback, 0

    def report(self) -> None:
        if self.callback is None or self.raw.closed:
            return
        position = self.raw.tell()
        if position > self.done:
            self.callback(position - self.done)
            self.done = position


class _open:
    """The file as bytes (for progress) and as text lines, gunzipped if it starts with
    gzip's magic bytes; an unreadable file is one line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> tuple[IO[bytes], IO[str]]:
        try:
            self.raw = open(self.path, "rb")
        except FileNotFoundError:
            raise AccessLogError(f"access log not found: {self.path}") from None
        except IsADirectoryError:
            raise AccessLogError(f"access log {self.path} is a folder, not a file") from None
        except OSError as err:
            raise AccessLogError(f"cannot read access log {self.path}: {err.strerror}") from None
        gzipped = self.raw.peek(2)[:2] == b"\x1f\x8b" if hasattr(self.raw, "peek") else False
        binary: IO[bytes] = gzip.GzipFile(fileobj=self.raw) if gzipped else self.raw
        self.text = io.TextIOWrapper(binary, encoding="utf-8", errors="backslashreplace")
        return self.raw, self.text

    def __exit__(self, kind, error, trace) -> None:
        self.text.close()
        self.raw.close()
        if isinstance(error, (OSError, EOFError)) and not isinstance(error, AccessLogError):
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise AccessLogError(f"cannot read access log {self.path}: {reason}") from None


def _numbered(text: IO[str]) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers, without the line end."""
    for number, line in enumerate(text, 1):
        line = line.rstrip("\r\n")
        if line.strip():
            yield number, line


def _choose_format(
    path: Path, format: str, lines: Iterator[tuple[int, str]]
) -> tuple[str, Iterator[tuple[int, str]]]:
    """The file's format (given, or told from its first line) and the lines, the first
    one put back."""
    first = next(lines, None)
    if first is None:
        raise AccessLogError(f"{path}: the access log is empty")
    rest = _chain(first, lines)
    if format != "auto":
        return format, rest
    if _csv_columns(first[1]) is not None:
        return "csv", rest
    last = first[1].rsplit(None, 1)[-1]
    if _NGINX_DURATION.match(last):
        return "nginx", rest
    if _APACHE_DURATION.match(last):
        return "apache", rest
    raise AccessLogError(
        f"{path}: line {first[0]}: cannot tell the log format: not a csv header with "
        f"{','.join(CSV_REQUIRED)}, and the last field {last[:40]!r} is not a request time "
        "(nginx: seconds such as 0.123, apache: microseconds); give the format"
    )


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]):
    yield first
    yield from rest


def _refuse(path: Path, format: str, stats: ReadStats) -> None:
    if stats.records == 0 and stats.first_malformed is None:
        raise AccessLogError(f"{path}: no request in the access log")
    _, number, text = stats.first_malformed  # type: ignore[misc]
    shown = text if len(text) <= 80 else text[:77] + "..."
    how_many = (
        "no line could be read"
        if stats.records == 0
        else f"{stats.malformed} of {stats.lines} lines malformed, "
        f"more than the {MAX_MALFORMED_SHARE:.0%} allowed"
    )
    raise AccessLogError(
        f"{path}: line {number} is not a {format} access log line ({how_many}): {shown!r}; "
        f"expected {EXPECTED[format]}"
    )


def _merge(total: ReadStats, one: ReadStats) -> None:
    total.lines += one.lines
    total.records += one.records
    total.malformed += one.malformed
    if total.first_malformed is None:
        total.first_malformed = one.first_malformed


# ------------------------------------------------------ nginx and apache lines


def _line_parser(format: str) -> Callable[[str], LogRecord | None]:
    duration = _NGINX_DURATION if format == "nginx" else _APACHE_DURATION
    scale = 1.0 if format == "nginx" else 1e-6
    at_end = format == "nginx"

    def parse(line: str) -> LogRecord | None:
        match = _LINE.match(line)
        if match is None:
            return None
        client, user, time, request_text, status, _, _, agent, taken = match.groups()
        if not duration.match(taken):
            return None
        stamp = _parse_time(time)
        request = _request(_unescape(request_text))
        if stamp is None or request is None:
            return None
        day, time_s = stamp
        duration_s = int(taken) * scale if not at_end else float(taken)
        if at_end:
            time_s = round(time_s - duration_s, 6)
            if time_s < 0:  # received before midnight
                day, time_s = day - dt.timedelta(days=1), time_s + 86400.0
        agent = _unescape(agent) if agent is not None else None
        return LogRecord(
            day=day,
            time_s=time_s,
            client=client,
            user=None if user == "-" else user,
            method=request[0],
            path=request[1],
            status=int(status),
            duration_s=duration_s,
            user_agent=None if agent in (None, "-", "") else agent,
        )

    return parse


def _request(text: str) -> tuple[str, str] | None:
    """(method, path without query) of ``GET /a?b HTTP/1.1``; the path may hold spaces."""
    method, _, rest = text.partition(" ")
    target, space, protocol = rest.rpartition(" ")
    if not (space and protocol.startswith("HTTP/")):
        target = rest
    if not method or not target:
        return None
    return method, target.split("?", 1)[0]


@functools.lru_cache(maxsize=4096)
def _parse_time(text: str) -> tuple[dt.date, float] | None:
    """``06/Apr/2021:08:00:01 +0200`` -> (date, seconds since its midnight); the offset
    is ignored: the clock time is read as the server wrote it. Cached: a busy log writes
    the same second on many lines in a row (a fifth of the reading time, uncached)."""
    match = _TIME.match(text)
    if match is None or match[2] not in _MONTHS:
        return None
    day_, month, year, hours, minutes, seconds, fraction = match.groups()
    try:
        day = dt.date(int(year), _MONTHS[month], int(day_))
    except ValueError:
        return None
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 60:
        return None
    time_s = 3600 * int(hours) + 60 * int(minutes) + int(seconds) + float(fraction or 0)
    return day, float(time_s)


def _unescape(text: str) -> str:
    """nginx writes ``"`` as ``\\x22``, apache as ``\\"``: both read back."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m[1][1:], 16)) if len(m[1]) == 3 else m[1], text)


# ---------------------------------------------------------------- csv


def _csv_columns(header: str) -> dict[str, int] | None:
    """Column index by name if `header` is a csv header with the required names."""
    names = [name.strip().lower() for name in next(csv.reader([header]), [])]
    if not set(CSV_REQUIRED) <= set(names):
        return None
    return {name: names.index(name) for name in (*CSV_REQUIRED, *CSV_OPTIONAL) if name in names}


def _csv_parser(path: Path, lines: Iterator[tuple[int, str]]) -> Callable[[str], LogRecord | None]:
    """The parser of the rows under the header, which it takes off `lines`."""
    number, header = next(lines)
    columns = _csv_columns(header)
    if columns is None:
        raise AccessLogError(
            f"{path}: line {number}: a csv access log starts with a header naming "
            f"{','.join(CSV_REQUIRED)} (and optionally {','.join(CSV_OPTIONAL)}); "
            f"got {header[:80]!r}"
        )
    width = max(columns.values()) + 1

    def parse(line: str) -> LogRecord | None:
        row = next(csv.reader([line]), [])
        if len(row) < width:
            return None
        try:
            stamp = dt.datetime.fromisoformat(row[columns["timestamp"]].strip())
            status = int(row[columns["status"]])
            duration_s = float(row[columns["duration_s"]])
        except ValueError:
            return None
        if not 100 <= status <= 999 or not 0 <= duration_s < float("inf"):
            return None
        midnight = dt.datetime.combine(stamp.date(), dt.time(), stamp.tzinfo)
        return LogRecord(
            day=stamp.date(),
            time_s=(stamp - midnight).total_seconds(),
            client=row[columns["client"]],
            user=_cell(row, columns, "user"),
            method=_cell(row, columns, "method") or "GET",
            path=row[columns["path"]].split("?", 1)[0],
            status=status,
            duration_s=duration_s,
            user_agent=_cell(row, columns, "user_agent"),
            role=_cell(row, columns, "role"),
        )

    return parse


def _cell(row: list[str], columns: dict[str, int], name: str) -> str | None:
    if name not in columns:
        return None
    value = row[columns[name]].strip()
    return None if value in ("", "-") else value


# ---------------------------------------------------------------- writing


def format_record(record: LogRecord, format: str) -> str:
    """`record` as one line of `format` (no line end): the inverse of the reader, up to
    the formats' resolution (time of day: whole seconds in nginx and apache, which write
    the request's end and start; request time: ms in nginx, us in apache and csv)."""
    if format == "csv":
        return _csv_line(record)
    if format not in ("nginx", "apache"):
        raise AccessLogError(f"log format must be one of nginx, apache, csv; got {format!r}")
    nginx = format == "nginx"
    stamp = record.received + dt.timedelta(seconds=record.duration_s if nginx else 0.0)
    duration = f"{record.duration_s:.3f}" if nginx else str(round(record.duration_s * 1e6))
    quote = _quote_nginx if nginx else _quote_apache
    return (
        f"{record.client} - {record.user or '-'} [{_clf_time(stamp)}] "
        f'"{quote(record.method)} {quote(record.path)} HTTP/1.1" {record.status} 0 '
        f'"-" "{quote(record.user_agent or "-")}" {duration}'
    )


def _clf_time(stamp: dt.datetime) -> str:
    """``06/Apr/2021:08:00:01 +0000``: whole seconds (truncated, as the servers do); the
    offset is written as +0000 since the clock time is local and read as written."""
    month = _MONTH_NAMES[stamp.month]
    return f"{stamp.day:02d}/{month}/{stamp.year}:{stamp:%H:%M:%S} +0000"


def _quote_nginx(text: str) -> str:
    return text.replace("\\", "\\x5C").replace('"', "\\x22")


def _quote_apache(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _csv_line(record: LogRecord) -> str:
    buffer = io.StringIO()
    cells = [
        record.received.isoformat(timespec="microseconds"),
        record.client,
        record.path,
        record.status,
        f"{record.duration_s:.6f}",
        record.user or "",
        record.role or "",
    ]
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _at(day: dt.date, time_s: float) -> dt.datetime:
    """Midnight of `day` plus `time_s`, to the microsecond."""
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(microseconds=round(time_s * 1e6))
