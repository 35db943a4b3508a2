"""Files and folders written atomically, readable like any other file the user makes.

Every result of ``sim`` is written here: to a temporary file (or folder) beside its
target, then renamed onto it, so a reader (or an interruption, or a full disk) never
meets half a file. This module alone names the temporary files and folders, renames
them into place, and removes those a killed writer left behind. ``tempfile.mkstemp``
and ``mkdtemp`` make their files 0600 and folders 0700 (right for secrets, wrong for
results meant to be shared, read by a web server or copied by a colleague); each
temporary file and folder made here is given the mode ``open()`` and ``mkdir()`` would
have given it, 0666 or 0777 less the umask (0644 and 0755 under the usual umask 022,
0600 and 0700 under 077).

Inside :func:`all_or_nothing`, the renames wait for the end of the block, so that a
folder's tables are replaced all together or not at all. A whole folder (one run's
results) is written by :func:`write_folder`.

Temporary names hold the writing process's id (``.<name>.tmp-<pid>-...``, and
``.<name>.old-<pid>-...`` for a folder being replaced), so that :func:`clean_stale` can
tell the leftovers of a writer that is gone (``kill -9``, a power cut), which nothing
else would remove, from a writer at work.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

TEMP = re.compile(r"^\.(?P<name>.*)\.(?:tmp|old)-(?P<pid>\d+)-")
"""A temporary name made here: the target's name and the writer's process id."""
TEMP_NAME_ROOM = 40
"""Characters a temporary name adds to a folder's (``.NAME.tmp-<pid>-<random>``)."""
SWAP_ATTEMPTS = 10  # other writers finishing in between (each attempt that loses is theirs)


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
    a power cut) from a writer at work (:func:`clean_stale`)."""
    return f".{name}.tmp-{os.getpid()}-"


def aside_name(target: Path) -> Path:
    """A name of this writer's own beside `target`, to move an older `target` aside:
    ``.<name>.old-<pid>-<random>``."""
    return target.with_name(f".{target.name}.old-{os.getpid()}-{uuid4().hex[:8]}")


def is_temp(name: str) -> bool:
    """True if `name` is a temporary name made here (of a writer at work, or gone)."""
    return TEMP.match(name) is not None


def make_temp_folder(parent: Path | str, prefix: str) -> Path:
    """A new empty folder in `parent` (made if needed), to be renamed into place once
    filled; with the mode ``mkdir()`` would give it, not mkdtemp's private 0700."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(folder_mode())
    return folder


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A private folder in the system's temporary place for a program's own scratch
    files (the browser's profile of ``sim report --pdf``), removed afterwards whatever
    happens: never part of the results."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        yield Path(folder)


def write_folder(target: Path | str, fill: Callable[[Path], None]) -> Path:
    """Make the folder `target` by ``fill(tmp)`` on a temporary folder beside it, put in
    place once complete (:func:`replace_folder`); if anything fails, the temporary
    folder is removed and an older `target` is left as it was. Returns `target`."""
    target = Path(target)
    tmp = make_temp_folder(target.resolve().parent, prefix=temp_prefix(target.name))
    try:
        fill(tmp)
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def replace_folder(tmp: Path, target: Path) -> None:
    """Move `tmp` to `target`, replacing an older `target` only once `tmp` is complete.

    The older folder is renamed aside (under a name of this writer's own), `tmp` is
    renamed into place, then the older folder is removed. If another writer's folder
    lands on `target` between the two renames (two runs writing the same results folder
    at once), that one is moved aside too and the swap is tried again: the last writer
    wins, and `target` is always one run's complete output, never a mix.
    """
    for _ in range(SWAP_ATTEMPTS):
        old: Path | None = aside_name(target)
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


def clean_stale(place: Path, name: str | None = None) -> list[Path]:
    """Remove the temporary files and folders in `place` (only those of targets named
    `name`, if given) whose writer is gone; return what was removed. A name whose
    process still lives (another command writing there now) is left alone, and so is
    any name not made here."""
    try:
        entries = list(place.iterdir())
    except OSError:
        return []
    removed = []
    for path in entries:
        match = TEMP.match(path.name)
        if not match or (name is not None and match["name"] != name):
            continue
        if _alive(int(match["pid"])):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    """True if process `pid` exists (or may: it belongs to another user)."""
    if pid <= 0:
        return True  # not a process id: never treat the name as stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
