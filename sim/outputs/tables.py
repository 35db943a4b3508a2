"""Terminal tables that keep their meaning at any width, on a terminal or in a pipe.

Every table of results is read in an 80-column terminal, a CI log or a file made with
``| tee`` as often as in a wide window. rich fits a table that is too wide by wrapping
or cutting cells ("0.9996 ±" on one line and "0.001131" on the next, or "utilisati…"),
which changes what a cell says. So the tables of ``sim`` are laid out here, and never
cut a word:

- a table is printed as a grid only if every cell fits on one line; only a column's
  header may wrap (at spaces, into as many lines as it needs);
- otherwise the rows are *stacked*: each row is a block, its key on one line, then one
  line per column, ``label   value``: as long as a table is wide, never wider than the
  screen;
- a value carries its unit after it, written the same way everywhere (``95.8 %``,
  ``15.6 s``, ``12 min``, ``5,100``), with the words of :mod:`sim.measure.metrics`: a KPI reads
  the same in ``sim run``, ``sim run --reps``, ``sim sweep``, ``sim options``, the report
  and the figures.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.measure.metrics import kind_of, label, unit
from sim.measure.metrics import metric as metric_info

BOX_EXTRA = 3  # per column: a border and one space of padding either side
MIN_HEADER_WIDTH = 10  # a header is never wrapped narrower than this


def number(value: float | None) -> str:
    """A plain number: thousands separated, 3 significant digits below 1,000 (never an
    exponent a reader has to decode: 55,397, not 5.54e+04)."""
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return "inf" if value is None or value > 0 else "-inf"
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3g}"


def _scaled(metric: str, value: float | None) -> str:
    """The number of `metric`'s value in its unit (a share as a percentage)."""
    if value is not None and kind_of(metric) == "share" and math.isfinite(value):
        return f"{value * 100:.1f}"
    return number(value)


def _with_unit(metric: str, text: str) -> str:
    what = unit(metric)
    if what in ("count", "people", "attempts"):  # a count: the label says what it counts
        return text
    return f"{text} {what}"


def table_label(metric: str) -> str:
    """A metric's label (:func:`sim.measure.metrics.label`) without a unit at its end: in a table
    the value carries the unit, once."""
    return label(metric).removesuffix(f" ({unit(metric)})")


def value_text(metric: str, value: float | None) -> str:
    """A value with its unit after it: ``95.8 %``, ``15.6 s``, ``12 min``, ``5,100``.
    A missing percentile (people who never got in) says what it means."""
    missing = value is None or (isinstance(value, float) and math.isinf(value))
    if missing:  # an infinite percentile, a share of nobody: said in words
        return metric_info(metric).none_text
    return _with_unit(metric, _scaled(metric, value))


def interval_text(metric: str, low: float, high: float) -> str:
    """A confidence interval, its unit once at the end: ``95.1 .. 96.4 %``. Drawn as the
    estimate gives it (its method decides its ends)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "-"
    return _with_unit(metric, f"{_scaled(metric, low)} .. {_scaled(metric, high)}")


def plus_minus_text(metric: str, mean: float, half_width: float) -> str:
    """A mean and its half-width, both to the half-width's two significant digits, the
    unit once at the end: ``95.83 ± 0.41 %``, ``1.50 ± 0.32 s``."""
    if not math.isfinite(half_width):
        return value_text(metric, mean)
    if not math.isfinite(mean):
        return value_text(metric, None if mean > 0 else mean)
    scale = 100 if kind_of(metric) == "share" else 1
    m, h = mean * scale, half_width * scale
    if h == 0:
        return _with_unit(metric, f"{number(m)} ± 0")
    decimals = min(4, max(0, 1 - math.floor(math.log10(h))))
    return _with_unit(metric, f"{m:,.{decimals}f} ± {h:,.{decimals}f}")


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False  # numbers are right-aligned


def fits(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> bool:
    """True if the grid, every cell on one line, is at most `width` columns wide."""
    return sum(_column_width(c, i, rows) + BOX_EXTRA for i, c in enumerate(columns)) + 1 <= width


def _column_width(column: Column, index: int, rows: Sequence[Sequence[str]]) -> int:
    cells = max((cell_len(row[index]) for row in rows), default=0)
    longest_word = max((cell_len(w) for w in column.header.split()), default=0)
    return max(cells, longest_word, min(MIN_HEADER_WIDTH, cell_len(column.header)))


def print_table(
    console: Console,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    keys: int = 1,
) -> None:
    """Print `rows` under `columns`, as a grid if it fits the console, else stacked.

    The first `keys` columns name a row (a KPI, a variant's number and values, an
    option); stacked, they make the block's first line and the other columns follow,
    one ``header  value`` line each.
    """
    if fits(columns, rows, console.width):
        console.print(_grid(title, columns, rows))
    elif len(columns) == keys + 1 == 2:
        _print_pairs(console, title, rows)
    else:
        _print_stacked(console, title, columns, rows, keys)


def _print_pairs(console: Console, title: str, rows: Sequence[Sequence[str]]) -> None:
    """A two-column table too wide for a grid (a long value such as "unbounded: more
    than 5 % never got in"): each label and its value on one line, the value against
    the right edge; a pair too wide for one line puts its value on the next. Nothing is
    cut, and there is no header to repeat on every row."""
    width = console.width
    console.print(Text(title, style="italic"), justify="center")
    for name, value in rows:
        gap = width - cell_len(name) - cell_len(value)
        if gap >= 2:
            console.print(f"{name}{' ' * gap}{value}", highlight=False, soft_wrap=True)
        else:
            console.print(name, highlight=False, soft_wrap=True)
            console.print(value.rjust(width), highlight=False, soft_wrap=True)


def _grid(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title)
    for i, column in enumerate(columns):
        width = _column_width(column, i, rows)
        header = textwrap.fill(
            column.header, width=width, break_long_words=False, break_on_hyphens=False
        )
        table.add_column(
            header, justify="right" if column.right else "left", no_wrap=True, min_width=width
        )
    for row in rows:
        table.add_row(*row)
    return table


def _print_stacked(
    console: Console,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    keys: int,
) -> None:
    console.print(Text(title, style="italic"), justify="center")
    for row in rows:
        named = [(c.header, v) for c, v in zip(columns[:keys], row[:keys], strict=True)]
        heading = row[0] if keys == 1 else ", ".join(f"{h} {v}" for h, v in named if v)
        block = Table.grid(padding=(0, 0, 0, 2), pad_edge=True)
        block.add_column("label", overflow="fold")
        block.add_column("value", justify="right", no_wrap=True)
        for column, cell in zip(columns[keys:], row[keys:], strict=True):
            block.add_row(column.header, cell)
        console.print(Text(heading, style="bold"))
        console.print(block)
