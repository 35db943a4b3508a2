"""The example and teaching scenarios shipped with ``sim``, found by name.

Why: after ``pip install``, ``sim run`` must work from any folder, and a user has no
checkout to point at. The scenarios of the repository's ``experiments/`` folder are the
package data ``sim/examples/`` (in the repository, ``sim/examples`` is a link to
``../experiments``: one copy of each file, edited where the documentation points); so
``sim run default`` or ``sim run teaching/single_queue`` finds them wherever sim is
installed, and ``sim examples`` lists them.

A path to a file that exists always wins over a name: ``sim run default`` in a folder
holding a file called ``default`` runs that file. ``extends`` and an options study's
``scenario`` are relative to the file that names them, so they work the same from the
package as from the repository.
"""

from __future__ import annotations

from pathlib import Path

from sim.config.errors import ScenarioError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"  # sim/examples
DEFAULT = "default"  # the scenario of a command given none


def examples() -> dict[str, Path]:
    """Every shipped scenario (and options study) by name: its path below the examples
    folder without ``.toml``, e.g. ``default``, ``teaching/single_queue``."""
    if not EXAMPLES.is_dir():
        return {}
    paths = sorted(EXAMPLES.rglob("*.toml"))
    return {p.relative_to(EXAMPLES).with_suffix("").as_posix(): p for p in paths}


def find(text: str | Path | None) -> Path:
    """The scenario file `text` names: an existing path, else a shipped example's name
    (``.toml`` may be given), else :class:`ScenarioError` in one line that lists the
    names. None is the default example."""
    if text is None:
        text = DEFAULT
    path = Path(text)
    if path.exists():  # a folder too: loading it says what is wrong with it
        return path
    name = path.as_posix().removesuffix(".toml")
    shipped = examples()
    if name in shipped:
        return shipped[name]
    names = ", ".join(shipped) or "(none installed)"
    if path.suffix == ".toml" or path.is_absolute():
        raise ScenarioError(f"scenario file not found: {path} (or an example: {names})")
    raise ScenarioError(
        f"unknown scenario {str(text)!r}: no such file or example; examples: {names}"
    )


def describe(path: Path) -> str:
    """The first sentence of the comment that opens `path` (its own one-line summary)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    words: list[str] = []
    for line in lines:
        text = line.strip()
        if not text.startswith("#") or text == "#":  # the first paragraph only
            break
        words.append(text.lstrip("#").strip())
    paragraph = " ".join(words)
    for end in (". ", "? ", "! "):
        if end in paragraph:
            paragraph = paragraph[: paragraph.index(end) + 1]
    return paragraph
