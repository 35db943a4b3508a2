"""Terminal tables that keep their meaning at any width, on a terminal or in a pipe.

Every table of results is read in an 80-column terminal, a CI log or a file made with
``| tee`` as often as in a wide window. rich fits a table that is too wide by wrapping
or cutting cells ("0.9996 ±" on one line and "0.001131" on the next, or "utilisati…"),
which changes what a cell says. So the tables of ``sim`` are laid out here, and never
cut a word:

- a table is printed as a grid only if every number fits on one line; a column's header
  may wrap (at spaces, into as many lines as it needs), and so may a cell of words
  (:class:`Prose`: what a missing value means), never between a number and its unit;
- otherwise the rows are *stacked*: each row is a block, its key on one line, then one
  line per column, ``label   value``: as long as a table is wide, never wider than the
  screen;
- a value carries its unit after it, written the same way everywhere (``95.8 %``,
  ``15.6 s``, ``12 min``, ``5,100``), with the words of :mod:`sim.measure.metrics`: a KPI reads
  the same in ``sim run``, ``sim run --reps``, ``sim sweep``, ``sim options``, the report
  and the figures;
- a difference B − A is signed, a share's in percentage points (``+4.7 points``), as
  in the report: a share's difference is not a share.
"""

from __future__ import annotations

import math
import re
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
MIN_PROSE_WIDTH = 16  # a cell of words is never wrapped narrower than this
MINUS = "\u2212"  # the sign of a negative difference, as in the report
BELOW_FLOOR = "< 0.1 ms"
MIN_LATENCY_S = 1e-4
""":data:`sim.engine.monitor.MIN_LATENCY_S`, copied: that module imports numpy, which a
table (``sim --help`` imports this module) must not (tests/outputs/test_tables.py checks
that the two agree)."""
FLOORED = ("p95_wait_s",)
"""Metrics read from a latency histogram whose first bucket holds everything up to
:data:`MIN_LATENCY_S`: a value there is "at most 0.1 ms" (a wait of zero, most often),
not the "0.0001 s" the bucket stands for."""


class Prose(str):
    """A cell of words, such as what a missing value means ("unbounded: more than 5 %
    never got in"): in a grid it may wrap at its spaces, where a number may not."""


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
        return Prose(metric_info(metric).none_text)
    if _floored(metric, value):
        return BELOW_FLOOR
    return _with_unit(metric, _scaled(metric, value))


def _floored(metric: str, value: float) -> bool:
    """True for a value of a histogram's first bucket (:data:`FLOORED`)."""
    base = metric.rpartition(".")[2]
    return base in FLOORED and 0 < value <= MIN_LATENCY_S * (1 + 1e-9)


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


def difference_text(metric: str, value: float | None) -> str:
    """A signed difference B − A in `metric`'s unit, a share's in percentage points:
    ``+4.7 points``, ``−155 s``, ``−2,391`` (the report's words,
    :func:`sim.outputs.report.html.fmt_diff`); undefined where a side is infinite."""
    if value is None or not math.isfinite(value):
        return "undefined"
    return _with_difference_unit(metric, _signed(metric, value))


def difference_interval_text(metric: str, low: float, high: float) -> str:
    """The interval of a difference, each end signed, the unit once at the end:
    ``+26.2 .. +69.4 points``, ``−505 .. +196 s``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "-"
    return _with_difference_unit(metric, f"{_signed(metric, low)} .. {_signed(metric, high)}")


def _signed(metric: str, value: float) -> str:
    text = _scaled(metric, abs(value))
    if float(text.replace(",", "")) == 0:
        return text  # no sign on a zero, not even one rounded to zero
    return f"{'+' if value > 0 else MINUS}{text}"


def _with_difference_unit(metric: str, text: str) -> str:
    return f"{text} points" if kind_of(metric) == "share" else _with_unit(metric, text)


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False  # numbers are right-aligned


def fits(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> bool:
    """True if the grid fits `width` columns, its cells of words wrapped if need be."""
    return _widths(columns, rows, width) is not None


def _overhead(columns: Sequence[Column]) -> int:
    return BOX_EXTRA * len(columns) + 1


def _widths(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int
) -> list[int] | None:
    """The width of each column of a grid at most `width` wide, or None if none fits.

    Each column is as wide as its longest cell if they all fit; otherwise the columns
    holding words (:class:`Prose`) give up width, never below :data:`MIN_PROSE_WIDTH`
    or a cell's longest unbreakable piece, and get it back in order while any is left.
    """
    natural = [_column_width(c, i, rows) for i, c in enumerate(columns)]
    room = width - _overhead(columns)
    if sum(natural) <= room:
        return natural
    least = [_column_width(c, i, rows, wrap_prose=True) for i, c in enumerate(columns)]
    spare = room - sum(least)
    if spare < 0:
        return None
    widths = []
    for low, high in zip(least, natural, strict=True):
        grow = min(spare, high - low)
        widths.append(low + grow)
        spare -= grow
    return widths


def _column_width(
    column: Column, index: int, rows: Sequence[Sequence[str]], *, wrap_prose: bool = False
) -> int:
    cells = max((_cell_width(row[index], wrap_prose) for row in rows), default=0)
    longest_word = max((cell_len(w) for w in column.header.split()), default=0)
    return max(cells, longest_word, min(MIN_HEADER_WIDTH, cell_len(column.header)))


def _cell_width(cell: str, wrap_prose: bool) -> int:
    """The width a cell needs: all of it, or for words that may wrap, their longest
    unbreakable piece and at least :data:`MIN_PROSE_WIDTH`."""
    if not (wrap_prose and isinstance(cell, Prose)):
        return cell_len(cell)
    pieces = max((cell_len(p) for p in _bound(cell).split()), default=0)
    return min(cell_len(cell), max(pieces, MIN_PROSE_WIDTH))


NO_BREAK = "\u00a0"
NUMBER_THEN_WORD = re.compile(r"(?<=\d) (?=\S)")


def _bound(text: str) -> str:
    """`text` with a number bound to the word after it (``5 %``, ``12 min``): a line
    never ends between them (:mod:`textwrap` breaks only at ASCII whitespace)."""
    return NUMBER_THEN_WORD.sub(NO_BREAK, text)


def wrap_words(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` cells, broken at spaces, never between a
    number and its unit, never inside a word."""
    lines = textwrap.wrap(_bound(text), width=width, break_long_words=False)
    return [line.replace(NO_BREAK, " ") for line in lines] or [""]


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
    widths = _widths(columns, rows, console.width)
    if widths is not None:
        if cell_len(title) > sum(widths) + _overhead(columns):  # above, not squeezed in
            console.print(Text(title_lines(title, console.width), style="italic"))
            title = ""
        console.print(_grid(title, columns, rows, widths))
    elif len(columns) == keys + 1 == 2:
        _print_pairs(console, title_lines(title, console.width), rows)
    else:
        _print_stacked(console, title_lines(title, console.width), columns, rows, keys)


SEED = re.compile(r"\(seed (?=\d)")


def title_lines(title: str, width: int) -> str:
    """`title` wrapped at spaces to `width`, never inside "(seed 1)" nor between a number
    and its unit: left to the console, "(seed" ended a line and "1)" began the next."""
    return "\n".join(wrap_words(SEED.sub(f"(seed{NO_BREAK}", title), width))


def _print_pairs(console: Console, title: str, rows: Sequence[Sequence[str]]) -> None:
    """A two-column table too narrow for a grid even with its words wrapped: each label
    and its value on one line, the value against the right edge; a pair too wide for one
    line puts its value on the next. Nothing is cut."""
    width = console.width
    console.print(Text(title, style="italic"), justify="center")
    for name, value in rows:
        gap = width - cell_len(name) - cell_len(value)
        if gap >= 2:
            console.print(f"{name}{' ' * gap}{value}", highlight=False, soft_wrap=True)
        else:
            console.print(name, highlight=False, soft_wrap=True)
            console.print(value.rjust(width), highlight=False, soft_wrap=True)


def _grid(
    title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]], widths: Sequence[int]
) -> Table:
    table = Table(title=title or None)
    for column, width in zip(columns, widths, strict=True):
        header = textwrap.fill(
            column.header, width=width, break_long_words=False, break_on_hyphens=False
        )
        table.add_column(
            header, justify="right" if column.right else "left", no_wrap=True, min_width=width
        )
    for row in rows:
        table.add_row(*(_fitted(cell, width) for cell, width in zip(row, widths, strict=True)))
    return table


def _fitted(cell: str, width: int) -> str:
    """A cell within its column: words wrapped at spaces into lines of even length (not a
    full line and a last word alone: "... never got" over "in"), a number as it is."""
    if not (isinstance(cell, Prose) and cell_len(cell) > width):
        return cell
    lines = wrap_words(cell, width)
    while width > 1 and len(wrap_words(cell, width - 1)) == len(lines):
        width -= 1
        lines = wrap_words(cell, width)
    return "\n".join(lines)


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


class StreamedTable:
    """A table printed a row at a time, as its rows come (the probes of ``sim plan``).

    Its layout is chosen once, from the widest cell each column will hold
    (`widths`): plain aligned lines under a header if that fits the console, the last
    column's words wrapped under it; else each row stacked like :func:`print_table`'s.
    The lines are returned, not printed, so that the caller can print them above a
    progress bar (through the bar's console, which clears the bar first).
    """

    GAP = 2  # spaces between two columns

    def __init__(
        self, width: int, columns: Sequence[Column], widths: Sequence[int], title: str = ""
    ) -> None:
        self.columns = list(columns)
        self.title = title
        self.widths = [
            max(w, _column_width(c, 0, [])) for c, w in zip(columns, widths, strict=True)
        ]
        self.width = width
        used = sum(self.widths[:-1]) + self.GAP * (len(columns) - 1)
        self.last = width - used  # room of the last column, whose words may wrap
        self.grid = self.last >= max(self.widths[-1], MIN_PROSE_WIDTH)

    def header(self) -> list[str]:
        """The title, then (as a grid) the column headers wrapped at spaces and a rule."""
        lines = wrap_words(self.title, self.width) if self.title else []
        if not self.grid:
            return lines
        cells = [
            textwrap.wrap(c.header, w, break_long_words=False) or [""]
            for c, w in zip(self.columns, [*self.widths[:-1], self.last], strict=True)
        ]
        height = max(len(c) for c in cells)
        cells = [[""] * (height - len(c)) + c for c in cells]  # headers sit on the rule
        lines += [self._line(parts) for parts in zip(*cells, strict=True)]
        lines.append("─" * min(self.width, sum(self.widths) + self.GAP * (len(cells) - 1)))
        return lines

    def row(self, cells: Sequence[str]) -> list[str]:
        """The lines of one row."""
        if not self.grid:
            return self._stacked(cells)
        tail = wrap_words(cells[-1], self.last)
        first = self._line([*cells[:-1], tail[0]])
        indent = " " * (self.width - self.last)
        return [first, *(indent + more for more in tail[1:])]

    def _line(self, parts: Sequence[str]) -> str:
        texts = []
        for column, width, part in zip(self.columns, self.widths, parts, strict=True):
            pad = " " * max(0, width - cell_len(part))
            texts.append(pad + part if column.right else part + pad)
        texts[-1] = parts[-1]  # the last column, left as it is: no trailing spaces
        return (" " * self.GAP).join(texts).rstrip()

    def _stacked(self, cells: Sequence[str]) -> list[str]:
        """A row as a block: its first cell, then ``header  value`` lines."""
        lines = [f"{self.columns[0].header} {cells[0]}"]
        label_width = max(cell_len(c.header) for c in self.columns[1:])
        for column, cell in zip(self.columns[1:], cells[1:], strict=True):
            room = max(MIN_PROSE_WIDTH, self.width - label_width - 4)
            text = wrap_words(cell, room)
            lines.append(f"  {column.header.ljust(label_width)}  {text[0]}")
            lines += [" " * (label_width + 4) + more for more in text[1:]]
        return lines
