"""Write the notebooks of docs/notebooks/ from their sources, the ``.py`` files beside them.

    python docs/notebooks/make_notebooks.py           # rewrite every .ipynb
    python docs/notebooks/make_notebooks.py --check   # exit 1 naming every stale one

A source is a Python file in the "percent" format Jupytext, VS Code and Spyder read:
``# %%`` starts a code cell, ``# %% [markdown]`` a text cell whose lines are comments;
in a code cell, an IPython magic is written as a comment (``# %matplotlib inline``).
The sources are what is edited and reviewed (plain text, readable diffs, linted by
ruff); the ``.ipynb`` files are what a reader opens, committed without outputs (they are
run by tests/test_notebooks.py and shown as they are on the documentation site).
tests/test_notebooks.py fails, naming this command, when a notebook differs from what
its source makes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
COMMAND = "python docs/notebooks/make_notebooks.py"
NOTEBOOKS = ("planning", "queueing_lab", "april_2021")
"""The notebooks, in the order of the site's navigation."""

CELL = "# %%"
MAGIC = re.compile(r"^# (%[a-z]\w*)", re.MULTILINE)  # a commented IPython line magic
MARKDOWN = "# %% [markdown]"
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def cells_of(source: str) -> list[nbformat.NotebookNode]:
    """The cells of a percent-format source, in order (text before the first marker is
    the file's own header and is left out)."""
    cells: list[nbformat.NotebookNode] = []
    kind, lines = None, []
    for line in [*source.splitlines(), CELL]:
        if line.startswith(CELL):
            if kind is not None:
                cells.append(_cell(kind, lines))
            kind = "markdown" if line.strip() == MARKDOWN else "code"
            lines = []
        else:
            lines.append(line)
    return cells


def _cell(kind: str, lines: list[str]) -> nbformat.NotebookNode:
    text = "\n".join(lines).strip("\n")
    if kind == "code":
        return nbformat.v4.new_code_cell(MAGIC.sub(r"\1", text))
    lines = text.splitlines()
    plain = [line[2:] if line.startswith("# ") else line.removeprefix("#") for line in lines]
    return nbformat.v4.new_markdown_cell("\n".join(plain))


def notebook(name: str) -> str:
    """The .ipynb text of notebook `name`, made from ``<name>.py``. Cell ids are
    numbered, not random, so that the same source makes the same file."""
    nb = nbformat.v4.new_notebook(metadata=METADATA)
    nb.cells = cells_of((HERE / f"{name}.py").read_text(encoding="utf-8"))
    for number, cell in enumerate(nb.cells):
        cell.id = f"{name}-{number}"
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def content(text: str) -> list[tuple[str, str, str, bool]]:
    """What a notebook says, whatever version of nbformat wrote it: each cell's id, type
    and source, and whether it has outputs."""
    nb = nbformat.reads(text, as_version=4)
    return [(c.id, c.cell_type, c.source, bool(c.get("outputs"))) for c in nb.cells]


def is_current(name: str) -> bool:
    """Whether the committed .ipynb of `name` says what its source makes."""
    path = HERE / f"{name}.ipynb"
    return path.is_file() and content(path.read_text(encoding="utf-8")) == content(notebook(name))


def stale() -> list[str]:
    """The notebooks whose committed .ipynb is not what their source makes."""
    return [name for name in NOTEBOOKS if not is_current(name)]


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        for name in stale():
            print(f"docs/notebooks/{name}.ipynb is out of date: run {COMMAND}", file=sys.stderr)
        return 1 if stale() else 0
    if argv:
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    for name in NOTEBOOKS:
        (HERE / f"{name}.ipynb").write_text(notebook(name), encoding="utf-8")
        print(f"wrote docs/notebooks/{name}.ipynb")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
