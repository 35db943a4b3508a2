"""The per-person table: Parquet by default, gzip CSV or none on request, the same
numbers in both formats (the CSV rounds times to 6 significant digits)."""

from __future__ import annotations

import csv
import gzip
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.outputs.run_folder import (
    PEOPLE,
    PEOPLE_COLUMNS,
    PEOPLE_CSV,
    SUMMARY,
    TIMESERIES,
    _arrow,
    _arrow_strings,
    write_results,
)
from sim.simulation.runner import run
from tests.conftest import scenario


@pytest.fixture(scope="module")
def surge():
    return run(scenario("surge").flat)


@pytest.fixture(scope="module")
def both(surge, tmp_path_factory):
    """The folders of one run written with each table format."""
    root = tmp_path_factory.mktemp("people")
    return {form: write_results(surge, root / form, people=form) for form in ("parquet", "csv")}


def test_the_parquet_table_is_typed_and_has_one_row_per_person(surge, both):
    table = pq.read_table(both["parquet"] / PEOPLE)
    assert tuple(table.column_names) == PEOPLE_COLUMNS
    assert table.num_rows == len(surge.people["group"]) > 0
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert types["person"] == pa.int64() and types["attempts"] == pa.int32()
    assert all(types[f"{t}_s"] == pa.float64() for t in ("intended", "reached", "ended"))
    assert all(pa.types.is_dictionary(types[c]) for c in ("group", "role", "fate"))
    assert table.column("person").to_pylist() == list(range(table.num_rows))
    assert not (both["parquet"] / PEOPLE_CSV).exists()


def test_csv_and_parquet_hold_the_same_numbers(both):
    """Cell for cell: text as written, integers exact, a time rounded to 6 significant
    digits in the CSV, a missing time empty in the CSV and null in Parquet."""
    rows = pq.read_table(both["parquet"] / PEOPLE).to_pylist()
    with gzip.open(both["csv"] / PEOPLE_CSV, "rt", newline="") as fh:
        header, *cells = list(csv.reader(fh))
    assert tuple(header) == PEOPLE_COLUMNS and len(cells) == len(rows)
    missing = 0
    for row, line in zip(rows, cells, strict=True):
        for name, text in zip(header, line, strict=True):
            value = row[name]
            if value is None:
                assert text == "", name
                missing += 1
            elif isinstance(value, float):
                assert float(text) == float(f"{value:.6g}"), name
            else:
                assert text == str(value), name
    assert missing > 0  # the comparison covered empty cells too
    assert not (both["csv"] / PEOPLE).exists()


def test_none_writes_no_table_and_every_other_file(surge, tmp_path):
    folder = write_results(surge, tmp_path / "none", people="none")
    names = {p.name for p in folder.iterdir()}
    assert {SUMMARY, TIMESERIES} <= names and not names & {PEOPLE, PEOPLE_CSV}


def test_an_unknown_format_is_refused_before_writing(surge, tmp_path):
    with pytest.raises(ValueError, match="people must be one of parquet, csv, none"):
        write_results(surge, tmp_path / "bad", people="xml")
    assert not (tmp_path / "bad").exists()


def test_missing_times_are_null_not_nan(both):
    reached = pq.read_table(both["parquet"] / PEOPLE).column("reached_s")
    assert reached.null_count > 0
    assert not any(isinstance(v, float) and math.isnan(v) for v in reached.to_pylist())


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        (np.array([1.5, np.nan, -0.0, 3e300, np.nan]), "nan"),
        (np.arange(20, dtype=np.float64), "nan"),  # no missing value
        (np.full(9, np.nan), "nan"),  # all missing, across a byte of the bitmap
        (np.arange(10, dtype=np.int64)[::2], None),  # not contiguous
        (np.array([0, 2, 1], dtype=np.int8), None),
        (np.array([7, -1], dtype=np.int32), None),
        (np.array([], dtype=np.float64), "nan"),
    ],
    ids=("some-missing", "none-missing", "all-missing", "strided", "int8", "int32", "empty"),
)
def test_arrays_from_buffers_equal_pyarrows_own(values, missing):
    """The table's columns are built from the arrays' buffers (no pandas import): they
    equal what ``pyarrow.array`` makes of the same values, type and nulls included, so
    the file is the one it made (checked byte for byte when the change was made)."""
    mask = np.isnan(values) if missing == "nan" else None
    built = _arrow(values, missing=mask)
    built.validate(full=True)
    assert built.equals(pa.array(values, mask=mask))
    assert built.type == pa.array(values).type


@pytest.mark.parametrize("names", [["pupils", "teachers"], ["élèves", "", "profs ✓"], []])
def test_strings_from_buffers_equal_pyarrows_own(names):
    built = _arrow_strings(names)
    built.validate(full=True)
    assert built.equals(pa.array(names, pa.string()))
