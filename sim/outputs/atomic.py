"""Files written atomically, readable like any other file the user makes.

Every result file of ``sim`` is written here: to a temporary file beside its target,
then renamed onto it, so a reader (or an interruption, or a full disk) never meets half
a file. ``tempfile.mkstemp`` and ``mkdtemp`` make their files 0600 and folders 0700
(right for secrets, wrong for results meant to be shared, read by a web server or
copied by a colleague); each temporary file and folder made here is given the mode
``open()`` and ``mkdir()`` would have given it, 0666 or 0777 less the umask (0644 and
0755 under the usual umask 022, 0600 and 0700 under 077).

Inside :func:`all_or_nothing`, the renames wait for the end of the block, so that a
folder's tables are replaced all together or not at all.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def umask() -> int:
    """The process's umask: from ``/proc/self/status`` on Linux (reading it changes
    nothing), else by setting it and putting it back (for a moment, a file made by
    another thread would get 022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` gives a new file: 0666 less the umask."""
    return 0o666 & ~umask()


def folder_mode() -> int:
    """The mode ``mkdir()`` gives a new folder: 0777 less the umask."""
    return 0o777 & ~umask()


_staged: list[tuple[str, Path]] | None = None  # inside all_or_nothing(): files to put in place


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """Put the files written inside this block in place only at its end, all together.

    Each file is written to a temporary file beside it; the renames (which a full disk
    cannot fail) are done once every file is written. If the block fails (a full disk,
    an unwritable folder), the temporary files are removed and the folder keeps all its
    previous files: never some new and some old. Also a decorator.
    """
    global _staged
    if _staged is not None:  # nested: the outer block decides
        yield
        return
    _staged = []
    try:
        yield
        for tmp, path in _staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in _staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        _staged = None


def replace_with(
    path: Path | str, write: Callable[[str], None], *, suffix: str = "", now: bool = False
) -> Path:
    """Make `path` by ``write(tmp)`` on a temporary file in the same folder, renamed onto
    `path` once complete (at the end of an enclosing :func:`all_or_nothing` block unless
    `now`). `suffix` ends the temporary name, for writers that go by the extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, file_mode())  # mkstemp's 0600 would make every result private
        if now or _staged is None:
            os.replace(tmp, path)
        else:
            _staged.append((tmp, path))
    except BaseException:  # a full disk, say: no partial file left behind
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: Path | str, data: bytes, *, now: bool = False) -> Path:
    """Write `data` to `path` atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return replace_with(path, write, now=now)


def write_text(path: Path | str, text: str, *, now: bool = False) -> Path:
    """Write `text` to `path` atomically, as UTF-8 with the newlines as given."""
    return write_bytes(path, text.encode("utf-8"), now=now)


def write_json(path: Path | str, data: Any, *, now: bool = False, **dumps: Any) -> Path:
    """Write `data` as JSON to `path` atomically; `dumps` are :func:`json.dumps`'s options
    (default: indented, sorted keys, no NaN)."""
    options = {"indent": 2, "sort_keys": True, "allow_nan": False} | dumps
    text = json.dumps(data, **options)
    return write_text(path, text + "\n" if options["indent"] is not None else text, now=now)


def temp_prefix(name: str) -> str:
    """The start of a temporary name beside `name`: ``.<name>.tmp-<pid>-``. The writer's
    process id lets a later command tell the leftovers of a killed writer (``kill -9``,
    a power cut) from a writer at work (:func:`sim.outputs.folders.clean_stale`)."""
    return f".{name}.tmp-{os.getpid()}-"


def make_temp_folder(parent: Path | str, prefix: str) -> Path:
    """A new empty folder in `parent` (made if needed), to be renamed into place once
    filled; with the mode ``mkdir()`` would give it, not mkdtemp's private 0700."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(folder_mode())
    return folder
