"""The per-person table: rows added one by one (open sources) or many at once (cohorts).

Added one by one, the columns grow by blocks of spare rows (`PersonTable.add`); the
spare rows must never show: the table holds exactly the rows added, in order, with
the values of someone who has not arrived yet where nothing was written.
"""

from __future__ import annotations

import numpy as np

from sim.model.people import Fate, PersonTable

NOT_YET = {"reached": np.nan, "lobby": 0.0, "ended": np.nan, "fate": Fate.NOT_ARRIVED,
           "attempts": 0, "failures": 0}  # fmt: skip


def _columns_hold_defaults(columns: dict[str, np.ndarray], rows: slice) -> bool:
    return all(
        np.array_equal(
            columns[name][rows], np.full(len(columns[name][rows]), value), equal_nan=True
        )
        for name, value in NOT_YET.items()
    )


def test_rows_added_one_by_one_across_blocks_are_exactly_those_added():
    table = PersonTable()
    n = 10_000  # more than two blocks of spare rows
    pids = [table.add(i % 3, 100.0 + i, 200.0 + i) for i in range(n)]
    assert pids == list(range(n))
    table.reached[n - 1] = 5.0  # written after the columns grew
    table.fate[n - 1] = Fate.REACHED
    columns = table.to_numpy()
    assert {len(c) for c in columns.values()} == {n}
    assert columns["group"].tolist() == [i % 3 for i in range(n)]
    assert np.array_equal(columns["intended"], 100.0 + np.arange(n))
    assert np.array_equal(columns["class_start"], 200.0 + np.arange(n))
    assert _columns_hold_defaults(columns, slice(0, n - 1))
    assert columns["reached"][-1] == 5.0 and columns["fate"][-1] == Fate.REACHED


def test_cohorts_then_arrivals_then_more_cohorts_keep_their_order():
    table = PersonTable()
    table.extend(np.array([0, 0]), np.array([1.0, 2.0]), np.array([9.0, 9.0]))
    assert table.add(1, 3.0, 3.0) == 2
    table.extend(np.array([2]), np.array([4.0]), np.array([8.0]))  # after spare rows
    assert table.add(1, 5.0, 5.0) == 4
    columns = table.to_numpy()
    assert columns["group"].tolist() == [0, 0, 1, 2, 1]
    assert columns["intended"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert columns["class_start"].tolist() == [9.0, 9.0, 3.0, 8.0, 5.0]
    assert _columns_hold_defaults(columns, slice(None))


def test_an_empty_table_has_empty_columns_of_their_types():
    columns = PersonTable().to_numpy()
    assert {len(c) for c in columns.values()} == {0}
    assert columns["fate"].dtype == np.int8 and columns["group"].dtype == np.int32
