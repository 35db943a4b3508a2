"""Results on disk: one folder per run, written completely or not at all.

Files go to a hidden temporary folder beside the target (with the mode ``mkdir`` gives,
:func:`sim.outputs.atomic.make_temp_folder`), which is renamed into place only when every file
is written; an interrupted or failed write leaves the previous
results (if any) untouched and no half-written folder behind. Outputs are byte-stable
for a given seed (sorted keys, fixed float formatting, gzip without a timestamp), so
runs can be compared with ``cmp``.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import numpy as np

from sim.config import s_to_clock, to_toml
from sim.engine.monitor import quantile_from_histogram
from sim.engine.trace import OUTCOMES
from sim.model.people import Fate
from sim.outputs import atomic
from sim.run.runner import RunResult
from sim.run.summary import Summary

SUMMARY = "summary.json"
TIMESERIES = "timeseries.csv"
PEOPLE = "people.csv.gz"
SCENARIO = "scenario.toml"
DASHBOARD = "dashboard.png"
TRACE = "trace.csv.gz"  # only with `sim run --trace`
TRACE_COLUMNS = ("service", "person", "submitted_s", "started_s", "ended_s", "outcome")


class OutputError(OSError):
    """The results folder cannot be written; the message is one line for the user, and
    ``errno`` the cause's (a full disk is told apart from a missing permission)."""

    def __init__(self, message: str, cause: OSError | None = None) -> None:
        super().__init__(message)
        self.errno = cause.errno if cause is not None else None


def timeseries_rows(result: RunResult) -> tuple[list[str], list[list[Any]]]:
    """Per-minute table: people-level counters, people in class, then per-service columns."""
    columns: dict[str, np.ndarray] = {"minute_start_s": result.minute_start_s}
    columns.update(result.counters)
    columns["in_lesson"] = result.in_lesson
    for name, s in result.services.items():
        columns[f"{name}.arrivals"] = s.arrivals
        columns[f"{name}.served"] = s.served
        columns[f"{name}.abandoned"] = s.abandoned
        columns[f"{name}.rejected"] = s.rejected
        columns[f"{name}.wasted"] = s.wasted
        columns[f"{name}.refused"] = s.refused
        columns[f"{name}.crash_lost"] = s.crash_lost
        columns[f"{name}.blocked"] = s.blocked
        columns[f"{name}.lost"] = s.lost
        columns[f"{name}.crashes"] = s.crashes
        columns[f"{name}.attack_arrivals"] = s.attack_arrivals
        columns[f"{name}.attack_served"] = s.attack_served
        columns[f"{name}.mean_queue"] = s.mean_queue
        columns[f"{name}.mean_busy"] = s.mean_busy
        columns[f"{name}.mean_servers_up"] = s.mean_servers_up
        for q in (50, 95, 99):
            columns[f"{name}.latency_p{q}_s"] = quantile_from_histogram(s.latency_hist, q / 100)
    header = ["clock", *columns]
    clocks = [s_to_clock(t) for t in result.minute_start_s]
    rows = [[clocks[i], *(_fmt(col[i]) for col in columns.values())] for i in range(len(clocks))]
    return header, rows


def write_results(
    result: RunResult,
    out_dir: Path | str,
    extra_files: dict[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Write every result file of `result` to `out_dir` atomically; return the folder.

    `extra_files` maps a file name to a function that writes it to the given path (the
    CLI uses it for the dashboard, so that this module does not depend on matplotlib).
    """
    out_dir = Path(out_dir)
    parent = out_dir.resolve().parent
    try:
        tmp = atomic.make_temp_folder(parent, prefix=atomic.temp_prefix(out_dir.name))
    except OSError as err:
        raise OutputError(f"cannot write results to {out_dir}: {err.strerror}", err) from None
    try:
        _write_all(result, tmp, extra_files or {})
        _replace_dir(tmp, out_dir)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError):
            raise OutputError(f"cannot write results to {out_dir}: {err.strerror}", err) from None
        raise
    return out_dir


def _write_all(result: RunResult, folder: Path, extra: dict[str, Callable[[Path], None]]) -> None:
    (folder / SCENARIO).write_text(to_toml(result.source), encoding="utf-8")
    summary = Summary.of(result).to_json()
    text = json.dumps(summary, indent=2, sort_keys=True, allow_nan=False)
    (folder / SUMMARY).write_text(text + "\n", encoding="utf-8")
    header, rows = timeseries_rows(result)
    with open(folder / TIMESERIES, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    _write_people(result, folder / PEOPLE)
    if result.trace is not None:
        _write_trace(result, folder / TRACE)
    for name, writer_fn in extra.items():
        writer_fn(folder / name)


PEOPLE_COLUMNS = (
    "person",
    "group",
    "role",
    "intended_s",
    "class_start_s",
    "reached_s",
    "lobby_s",
    "ended_s",
    "fate",
    "attempts",
    "failures",
)
PEOPLE_CHUNK = 100_000  # rows formatted at a time: memory stays bounded at national scale


def _write_people(result: RunResult, path: Path) -> None:
    """One row per person, gzip-compressed with a zero timestamp (byte-stable)."""
    p = result.people
    names = np.asarray(result.group_names, dtype=object)
    roles = np.asarray(result.group_roles, dtype=object)
    fates = np.asarray([f.name.lower() for f in Fate], dtype=object)
    times = ("intended", "class_start", "reached", "lobby", "ended")
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(PEOPLE_COLUMNS)
        for first in range(0, len(p["group"]), PEOPLE_CHUNK):
            rows = slice(first, first + PEOPLE_CHUNK)
            group = p["group"][rows]
            columns = [
                range(first, first + len(group)),
                names[group],
                roles[group],
                *([_fmt(v) for v in p[name][rows].tolist()] for name in times),
                fates[p["fate"][rows]],
                p["attempts"][rows].tolist(),
                p["failures"][rows].tolist(),
            ]
            writer.writerows(zip(*columns, strict=True))
        text.flush()
        text.detach()


def _write_trace(result: RunResult, path: Path) -> None:
    """One row per request a person waited for, in the order their answers came;
    gzip-compressed with a zero timestamp (byte-stable)."""
    t = result.trace
    names = np.asarray(result.trace_services, dtype=object)
    outcomes = np.asarray(OUTCOMES, dtype=object)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(TRACE_COLUMNS)
        for first in range(0, len(t["service"]), PEOPLE_CHUNK):
            rows = slice(first, first + PEOPLE_CHUNK)
            columns = [
                names[t["service"][rows]],
                t["person"][rows].tolist(),
                *(
                    [_ms(v) for v in t[name][rows].tolist()]
                    for name in ("submitted", "started", "ended")
                ),
                outcomes[t["outcome"][rows]],
            ]
            writer.writerows(zip(*columns, strict=True))
        text.flush()
        text.detach()


SWAP_ATTEMPTS = 10  # other writers finishing in between (each attempt that loses is theirs)


def _replace_dir(tmp: Path, target: Path) -> None:
    """Move `tmp` to `target`, replacing an older `target` only once `tmp` is complete.

    The older folder is renamed aside (under a name of this writer's own), `tmp` is
    renamed into place, then the older folder is removed. If another writer's folder
    lands on `target` between the two renames (two runs writing the same results folder
    at once), that one is moved aside too and the swap is tried again: the last writer
    wins, and `target` is always one run's complete output, never a mix.
    """
    for _ in range(SWAP_ATTEMPTS):
        old: Path | None = target.with_name(f".{target.name}.old-{os.getpid()}-{uuid4().hex[:8]}")
        try:
            target.rename(old)
        except FileNotFoundError:
            old = None
        try:
            tmp.rename(target)
        except OSError as err:
            if err.errno in (errno.ENOTEMPTY, errno.EEXIST):  # another writer's folder
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
                continue
            if old is not None:
                try:
                    old.rename(target)  # put the previous results back
                except OSError:  # another writer's complete results are there now
                    shutil.rmtree(old, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return
    raise OSError(errno.EBUSY, "other runs keep replacing it at the same time")


def _ms(value: float) -> str:
    """A clock time in seconds to the millisecond (a response can take 50 ms); empty
    when not set."""
    return "" if math.isnan(value) else f"{value:.3f}"


def _fmt(value: Any) -> str:
    """Fixed, locale-free formatting: integers as such, floats to 6 significant digits."""
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"
