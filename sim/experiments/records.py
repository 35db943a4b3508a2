"""Run records that can be trusted: a checksum of each record's content, and a check of
its shape and types, before a stored run is reused.

A record in ``runs/<key>.json`` (:class:`sim.experiments.execution.RunStore`) used to be reused
whenever its key matched: one edited value (``"kpi.gave_up": 999999``) moved a mean by
three orders of magnitude without a word, a metric written as text dropped its column,
a NaN emptied one, and a record without ``metrics`` stopped the experiment with a
traceback. So the store writes each record sealed with :func:`checksum_of` (a SHA-256
of its canonical JSON, the ``checksum`` field itself left out), and reads back only a
record whose checksum matches and whose content passes :func:`content_problem`; any
other is removed and its run made again, and the command says how many.

The checksum catches an edit, a truncation, a disk fault; the content check catches what
a checksum cannot (a record whose checksum was recomputed by hand, or a bug of the
writer), and is what the tables need: every field of :func:`sim.experiments.execution.record_of`
with its type, metrics that are finite numbers or null (the clock times of
:data:`sim.measure.kpis.CLOCK_TIMES` are ``HH:MM`` or null), series that are lists of finite
numbers, one per time bin. A fresh record is checked the same way before it is stored
(the writer never stores what the reader would refuse). Plain code, no model class:
experiments read records by the thousand, and the check costs tens of microseconds.

Neither the checksum nor the check changes a record: the store adds the field on write
and removes it on read, so a reused record equals the one the run returned.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from sim.measure.kpis import CLOCK_TIMES

SERIES = ("intended", "attempts", "successes", "reached", "gave_up")
"""The per-bin people-level counters every record keeps (plus ``in_lesson``)."""

CHECKSUM = "checksum"
ALGORITHM = "sha256:"


def canonical(record: dict[str, Any]) -> bytes:
    """The record's content as one byte string: sorted keys, no spaces, the checksum
    left out. NaN and infinities are refused (ValueError): no valid record has them."""
    content = {name: value for name, value in record.items() if name != CHECKSUM}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.encode()


def checksum_of(record: dict[str, Any]) -> str:
    """``sha256:<hex>`` of :func:`canonical`."""
    return ALGORITHM + hashlib.sha256(canonical(record)).hexdigest()


def sealed(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of `record` with its checksum, as it is stored."""
    return {**record, CHECKSUM: checksum_of(record)}


def checksum_problem(record: dict[str, Any]) -> str | None:
    """Why the stored `record`'s checksum does not vouch for its content, or None."""
    stored = record.get(CHECKSUM)
    if not isinstance(stored, str):
        return "no checksum"
    try:
        actual = checksum_of(record)
    except ValueError:  # NaN or infinity: no record of ours has them
        return "a value that is not a finite number"
    return None if stored == actual else "the checksum does not match the content"


# ---------------------------------------------------------------- content


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """An int, or a finite float (a bool is no number here)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return _is_int(value)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_variant(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(name, str) for name in value)


NUMBER_TYPES = frozenset((int, float))


def _is_numbers(value: Any) -> bool:
    """A list of :func:`_is_number` values. Checked a whole list at a time (the types
    present, then one sum for finiteness), with the value-by-value test only when that
    is not conclusive: a record has hundreds of such values, and thousands are read."""
    if not isinstance(value, list):
        return False
    kinds = set(map(type, value))
    if kinds <= NUMBER_TYPES and (float not in kinds or math.isfinite(sum(value))):
        return True
    return all(_is_number(v) for v in value)


FIELDS = {
    "key": (_is_str, "text"),
    "job": (_is_str, "text"),
    "scenario": (_is_str, "text"),
    "replication": (_is_int, "an integer"),
    "seed": (_is_int, "an integer"),
    "variant": (_is_variant, "a table of parameters"),
    "metrics": (lambda v: isinstance(v, dict), "a table of metrics"),
    "series": (lambda v: isinstance(v, dict), "a table of series"),
    "bin_start_s": (_is_numbers, "a list of numbers"),
    "bin_s": (_is_int, "an integer"),
    "wall_s": (_is_number, "a number"),
    "sim_version": (_is_str, "text"),
    "fingerprint": (_is_str, "text"),
}
"""Every field of a record (:func:`sim.experiments.execution.record_of`): its test and, for the
message, what it must be."""


def content_problem(record: dict[str, Any]) -> str | None:
    """What is wrong with `record`'s shape or types (one phrase naming the field), or
    None if it is a record the tables can be built from."""
    for name, (valid, what) in FIELDS.items():
        if name not in record:
            return f"no {name!r}"
        if not valid(record[name]):
            return f"{name!r} is not {what}"
    return _metrics_problem(record["metrics"]) or _series_problem(
        record["series"], len(record["bin_start_s"])
    )


CLOCK = re.compile(r"\d\d:\d\d(:\d\d)?")
"""A clock time as :func:`sim.config.s_to_clock` writes it."""


CLOCK_SUFFIXES = tuple(f".{name}" for name in CLOCK_TIMES)


def _metrics_problem(metrics: dict[str, Any]) -> str | None:
    """The first metric that is not a finite number or null; a clock time (a service's
    ``unavailable_from``) must be ``HH:MM[:SS]`` or null instead, never a number (it
    would become a column of the tables)."""
    numbers = []
    for name, value in metrics.items():
        if name.endswith(CLOCK_SUFFIXES):
            if value is None or (isinstance(value, str) and CLOCK.fullmatch(value)):
                continue
            return f"metric {name!r} is {value!r}, not a clock time (HH:MM) or null"
        if value is not None:
            numbers.append(value)
    if _is_numbers(numbers):
        return None
    name, value = next((n, v) for n, v in metrics.items() if v is not None and not _is_number(v))
    return f"metric {name!r} is {value!r}, not a finite number or null"


def _series_problem(series: dict[str, Any], bins: int) -> str | None:

    for name in (*SERIES, "in_lesson"):
        values = series.get(name)
        if not _is_numbers(values):
            return f"series {name!r} is not a list of numbers"
        if len(values) != bins:
            return f"series {name!r} has {len(values)} values for {bins} time bins"
    return None


def problem(record: dict[str, Any]) -> str | None:
    """Why a stored `record` cannot be reused (its checksum, then its content), or None."""
    return checksum_problem(record) or content_problem(record)
