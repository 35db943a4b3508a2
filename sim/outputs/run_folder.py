"""Results on disk: one folder per run, written completely or not at all.

Files go to a hidden temporary folder beside the target, which is renamed into place
only when every file is written (:func:`sim.outputs.atomic.write_folder`); an interrupted
or failed write leaves the previous results (if any) untouched and no half-written
folder behind. Outputs are byte-stable
for a given seed (sorted keys, fixed float formatting, gzip without a timestamp, Parquet
without one either), so runs can be compared with ``cmp``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__
from sim.config import s_to_clock, to_toml
from sim.engine import compiled
from sim.engine.monitor import quantile_from_histogram
from sim.engine.trace import OUTCOMES
from sim.model.people import Fate
from sim.outputs import atomic
from sim.outputs.folders import PEOPLE, PEOPLE_CSV, PEOPLE_FILES  # noqa: F401 (re-exported)
from sim.simulation import fingerprint
from sim.simulation.runner import RunResult
from sim.simulation.summary import Summary

SUMMARY = "summary.json"
MANIFEST = "manifest.json"  # what made the folder: command line, versions, seed, scale
TIMESERIES = "timeseries.csv"
SCENARIO = "scenario.toml"
DASHBOARD = "dashboard.png"
TRACE = "trace.csv.gz"  # only with `sim run --trace`
TRACE_COLUMNS = ("service", "person", "submitted_s", "started_s", "ended_s", "outcome")
TRACE_SILENT = "silent"  # one more column, with `sim run --trace --log-silent` only


class OutputError(OSError):
    """The results folder cannot be written; the message is one line for the user, and
    ``errno`` the cause's (a full disk is told apart from a missing permission)."""

    def __init__(self, message: str, cause: OSError | None = None) -> None:
        super().__init__(message)
        self.errno = cause.errno if cause is not None else None


def timeseries_columns(result: RunResult) -> dict[str, np.ndarray]:
    """The per-bin table by column: the bin's start (s since midnight) and width
    (``measure.bin_s``), people-level counters (per bin), people in class, then
    per-service columns (``login.served``, ...). Counts are per bin, levels means over
    the bin (see :data:`sim.measure.metrics.SERIES`)."""
    columns: dict[str, np.ndarray] = {
        "bin_start_s": result.bin_start_s,
        "bin_s": np.full(len(result.bin_start_s), result.bin_s),
    }
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
        columns[f"{name}.errors"] = s.errors
        columns[f"{name}.sessions_refused"] = s.sessions_refused
        columns[f"{name}.mean_sessions"] = s.mean_sessions
        columns[f"{name}.crashes"] = s.crashes
        columns[f"{name}.attack_arrivals"] = s.attack_arrivals
        columns[f"{name}.attack_served"] = s.attack_served
        columns[f"{name}.mean_queue"] = s.mean_queue
        columns[f"{name}.mean_busy"] = s.mean_busy
        columns[f"{name}.mean_servers_up"] = s.mean_servers_up
        for q in (50, 95, 99):
            columns[f"{name}.latency_p{q}_s"] = quantile_from_histogram(s.latency_hist, q / 100)
    return columns


def timeseries_rows(result: RunResult) -> tuple[list[str], list[list[Any]]]:
    """``timeseries.csv``: the clock time, then :func:`timeseries_columns`."""
    columns = timeseries_columns(result)
    header = ["clock", *columns]
    clocks = [s_to_clock(t) for t in result.bin_start_s]
    rows = [[clocks[i], *(_fmt(col[i]) for col in columns.values())] for i in range(len(clocks))]
    return header, rows


def write_results(
    result: RunResult,
    out_dir: Path | str,
    extra_files: dict[str, Callable[[Path], None]] | None = None,
    people: str = "parquet",
    command: list[str] | None = None,
) -> Path:
    """Write every result file of `result` to `out_dir` atomically; return the folder.

    `extra_files` maps a file name to a function that writes it to the given path (the
    CLI uses it for the dashboard, so that this module does not depend on matplotlib).
    `people` is a key of :data:`PEOPLE_FILES`: the per-person table's format, or none.
    `command` is the command line that made the run, kept in ``manifest.json`` (the
    report shows it, and names the original scenario file from it).
    """
    if people not in PEOPLE_FILES:
        raise ValueError(f"people must be one of {', '.join(PEOPLE_FILES)}, not {people!r}")
    out_dir = Path(out_dir)
    people_file = PEOPLE_FILES[people]

    def write(tmp: Path) -> None:
        _write_all(result, tmp, extra_files or {}, people_file, command)

    try:
        return atomic.write_folder(out_dir, write)
    except OSError as err:
        raise OutputError(f"cannot write results to {out_dir}: {err.strerror}", err) from None


def software_versions() -> dict[str, str]:
    """The versions of what computes the numbers, for a manifest: read from the installed
    packages' metadata, so that a single run does not import scipy only to name it."""
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        **{name: version(name) for name in ("simpy", "numpy", "scipy")},
    }


def manifest(result: RunResult, command: list[str] | None) -> dict[str, Any]:
    """``manifest.json`` of one run, as an experiment's (:mod:`sim.outputs.experiment_folder`)
    without what only experiments have (timings, reused and failed runs): the command
    line when known, the versions and code, the seed and the scale."""
    return {
        **({"command": command} if command else {}),
        "sim_version": __version__,
        "fingerprint": fingerprint.code_fingerprint(),
        "versions": software_versions(),
        "engine": compiled.build(),  # the hot path's modules, compiled or interpreted
        "seeds": [result.seed],
        "replication": result.replication,
        "scale": result.scenario.scale,
    }


def _write_all(
    result: RunResult,
    folder: Path,
    extra: dict[str, Callable[[Path], None]],
    people_file: str | None,
    command: list[str] | None,
) -> None:
    (folder / SCENARIO).write_text(to_toml(result.source), encoding="utf-8")
    summary = Summary.of(result).to_json()
    text = json.dumps(summary, indent=2, sort_keys=True, allow_nan=False)
    (folder / SUMMARY).write_text(text + "\n", encoding="utf-8")
    text = json.dumps(manifest(result, command), indent=2)
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")
    header, rows = timeseries_rows(result)
    with open(folder / TIMESERIES, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    if people_file is not None:
        _write_people(result, folder / people_file)
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
PEOPLE_CHUNK = 100_000  # CSV rows formatted at a time: memory stays bounded at national scale
PEOPLE_ROW_GROUP = 1_000_000  # Parquet rows converted and written at a time (one row group)
PEOPLE_COMPRESSION = "zstd"  # smaller than snappy, as fast; gzip 20x slower (docs/performance.md)
PEOPLE_ENCODINGS = {  # the columns a dictionary does not suit; the others have one
    "person": "DELTA_BINARY_PACKED",  # 0, 1, 2, ...: next to nothing
    **dict.fromkeys(("intended_s", "reached_s", "ended_s"), "BYTE_STREAM_SPLIT"),  # all distinct
}


def _write_people(result: RunResult, path: Path) -> None:
    """One row per person, in the format the file's name says: :data:`PEOPLE`
    (:func:`_write_people_parquet`) or :data:`PEOPLE_CSV` (:func:`_write_people_csv`)."""
    if path.name == PEOPLE_CSV:
        _write_people_csv(result, path)
    else:
        _write_people_parquet(result, path)


PEOPLE_TIMES = ("intended", "class_start", "reached", "lobby", "ended")
"""The columns of clock times and durations, written as ``<name>_s``."""


def _write_people_parquet(result: RunResult, path: Path) -> None:
    """The table as Parquet, from the run's column arrays as they are (no per-row Python):
    person as int64; group, role and fate as dictionaries of their names (categories in
    pandas); the times as float64, exact, null where not set (an empty cell in the CSV);
    attempts and failures as int32. Compressed with :data:`PEOPLE_COMPRESSION`, one row
    group per :data:`PEOPLE_ROW_GROUP` rows so that memory stays bounded; the columns of
    :data:`PEOPLE_ENCODINGS` encoded so (a file a quarter smaller, written faster). The file
    holds no timestamp: the same run gives the same bytes (with the same pyarrow)."""
    import pyarrow as pa  # imported when written: `sim --help` and the tests stay fast
    import pyarrow.parquet as pq

    p = result.people
    roles = list(dict.fromkeys(result.group_roles))  # each role once, in order of first use
    role_of_group = np.array([roles.index(r) for r in result.group_roles], dtype=np.int8)
    fates = [f.name.lower() for f in Fate]

    def named(codes: np.ndarray, names: list[str]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(_arrow(codes), _arrow_strings(names))

    def times(values: np.ndarray) -> pa.Array:  # NaN (not set) as null
        return _arrow(values, missing=np.isnan(values))

    def chunk(first: int, rows: slice) -> pa.Table:
        group = p["group"][rows]
        columns = {
            "person": _arrow(np.arange(first, first + len(group), dtype=np.int64)),
            "group": named(group, result.group_names),
            "role": named(role_of_group[group], roles),
            **{f"{t}_s": times(p[t][rows]) for t in PEOPLE_TIMES},
            "fate": named(p["fate"][rows], fates),
            "attempts": _arrow(p["attempts"][rows]),
            "failures": _arrow(p["failures"][rows]),
        }
        return pa.table(columns)

    n_rows = len(p["group"])
    schema = chunk(0, slice(0, 0)).schema
    assert tuple(schema.names) == PEOPLE_COLUMNS
    dictionary = [name for name in PEOPLE_COLUMNS if name not in PEOPLE_ENCODINGS]
    with pq.ParquetWriter(
        path,
        schema,
        compression=PEOPLE_COMPRESSION,
        use_dictionary=dictionary,
        column_encoding=PEOPLE_ENCODINGS,
    ) as writer:
        for first in range(0, n_rows, PEOPLE_ROW_GROUP):
            writer.write_table(chunk(first, slice(first, first + PEOPLE_ROW_GROUP)))


def _arrow(values: np.ndarray, missing: np.ndarray | None = None) -> Any:
    """`values` as an Arrow array over the same memory, null where `missing` is True.

    ``pyarrow.array`` would do it, but asks on every call whether its argument is a
    pandas object, which imports pandas (a quarter of a second: as long as the
    simulation of a 45,000-person morning) in a command that never uses it. Built
    from the array's buffer instead: the same array, so the same file, byte for byte
    (``tests/outputs/test_people_table.py``)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    validity, nulls = None, 0
    if missing is not None:
        nulls = int(np.count_nonzero(missing))
        if nulls:
            validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, len(values), [validity, pa.py_buffer(values)], nulls)


def _arrow_strings(names: list[str]) -> Any:
    """`names` as an Arrow string array, from its buffers (see :func:`_arrow`)."""
    import pyarrow as pa

    encoded = [name.encode() for name in names]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])


def _write_people_csv(result: RunResult, path: Path) -> None:
    """The table as gzip CSV (:func:`_write_csv_gz`): times to 6 significant digits."""
    p = result.people
    names = np.asarray(result.group_names, dtype=object)
    roles = np.asarray(result.group_roles, dtype=object)
    fates = np.asarray([f.name.lower() for f in Fate], dtype=object)

    def columns(first: int, rows: slice) -> list[Any]:
        group = p["group"][rows]
        return [
            range(first, first + len(group)),
            names[group],
            roles[group],
            *([_fmt(v) for v in p[name][rows].tolist()] for name in PEOPLE_TIMES),
            fates[p["fate"][rows]],
            p["attempts"][rows].tolist(),
            p["failures"][rows].tolist(),
        ]

    _write_csv_gz(path, PEOPLE_COLUMNS, len(p["group"]), columns)


def _write_trace(result: RunResult, path: Path) -> None:
    """One row per request a person waited for, in the order their answers came
    (:func:`_write_csv_gz`); and the silent requests if the trace kept them, with a
    column that says which rows they are."""
    t = result.trace
    names = np.asarray(result.trace_services, dtype=object)
    outcomes = np.asarray(OUTCOMES, dtype=object)
    flags = np.asarray(["false", "true"], dtype=object)
    silent = TRACE_SILENT in t

    def columns(_first: int, rows: slice) -> list[Any]:
        return [
            names[t["service"][rows]],
            t["person"][rows].tolist(),
            *(
                [_ms(v) for v in t[name][rows].tolist()]
                for name in ("submitted", "started", "ended")
            ),
            outcomes[t["outcome"][rows]],
            *([flags[t[TRACE_SILENT][rows].astype(np.int8)]] if silent else []),
        ]

    header = (*TRACE_COLUMNS, TRACE_SILENT) if silent else TRACE_COLUMNS
    _write_csv_gz(path, header, len(t["service"]), columns)


def _write_csv_gz(
    path: Path, header: tuple[str, ...], n_rows: int, columns: Callable[[int, slice], list[Any]]
) -> None:
    """`header`, then `n_rows` rows as CSV, gzip-compressed with a zero timestamp
    (byte-stable). The rows are formatted :data:`PEOPLE_CHUNK` at a time, from the
    columns ``columns(first, rows)`` gives for the rows from `first` on (the slice
    `rows`), so that memory stays bounded."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        for first in range(0, n_rows, PEOPLE_CHUNK):
            rows = slice(first, first + PEOPLE_CHUNK)
            writer.writerows(zip(*columns(first, rows), strict=True))
        text.flush()
        text.detach()


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
