"""Which folders a command may write into, and the leftovers of interrupted writes.

Every command that writes asks :func:`check_out` before it runs anything, so that a
user's own folder (``--out precious/`` holding ``thesis.tex`` and a ``summary.json`` of
their own) is never written into, nor ``/`` or the current folder by accident. A target
may be missing, empty, or a results folder of the command's own kind (resumed or
replaced as usual); anything else is refused, with the reason in one line.

The kind of a results folder is recognised from the files its command writes (the same
ones :mod:`sim.outputs.report.page` reads), and an experiment folder whose first invocation was
stopped before its tables were written (only ``runs/``, and ``baseline/`` for an options
study) counts as one of the experiment kinds, so that the same command can resume it.

A symbolic link as the target means the folder it points to: the results go there and
the link stays a link (renaming the link aside, as replacing a single run's folder
does, would turn it into a folder).

Temporary folders and files are named with the writing process's id
(:mod:`sim.outputs.atomic`, which writes every result); :func:`clean_stale` removes those
of a results folder whose process is gone (``kill -9``, a power cut), which nothing
else would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sim.outputs import atomic

SINGLE, REPLICATIONS, SWEEP, COMPARE, PLAN, OPTIONS, SENSITIVITY = (
    "single",
    "replications",
    "sweep",
    "compare",
    "plan",
    "options",
    "sensitivity",
)
DESCRIBED = {
    SINGLE: "the results folder of one run (sim run)",
    REPLICATIONS: "a replications folder (sim run --reps)",
    SWEEP: "a sweep folder (sim sweep)",
    COMPARE: "a comparison folder (sim compare)",
    PLAN: "a capacity plan folder (sim plan)",
    OPTIONS: "an options study folder (sim options)",
    SENSITIVITY: "a sensitivity analysis folder (sim sensitivity)",
}
EXPERIMENTS = (REPLICATIONS, SWEEP, COMPARE, PLAN, OPTIONS, SENSITIVITY)
KINDS = (SINGLE, *EXPERIMENTS)
MARKERS = (
    ("plan.json", PLAN),
    ("compare.json", COMPARE),
    ("options.json", OPTIONS),
    ("sensitivity.json", SENSITIVITY),
)
RUNS = "runs"  # the run records of an experiment (sim.experiments.execution.RunStore)
BASELINE = "baseline"  # an options study's baseline run (sim.experiments.options.BASELINE)
REPORT = "report.html"  # what sim report writes in a folder (sim.outputs.report.page)
BRIEF = "brief.html"  # what sim report --brief writes there (an options study's one page)
PEOPLE = "people.parquet"  # the per-person table, by default (``sim run --people``)
PEOPLE_CSV = "people.csv.gz"  # the same table as gzip CSV: --people csv, and earlier versions
PEOPLE_FILES = {"parquet": PEOPLE, "csv": PEOPLE_CSV, "none": None}
"""The choices of ``sim run --people``, and the file each writes (by
:mod:`sim.outputs.run_folder`; named here, where ``sim --help`` reads them cheaply)."""
SINGLE_FILES = {  # sim.outputs.run_folder's files, and what other commands add to the folder
    *("scenario.toml", "summary.json", "manifest.json", "timeseries.csv", PEOPLE, PEOPLE_CSV),
    "trace.csv.gz",
    *("dashboard.png", "dashboard.svg", REPORT, "animation.gif", "animation.mp4"),
}
"""A single run's folder is replaced as a whole: a file not in it would be lost."""


class FolderError(ValueError):
    """The target cannot be written by this command; the message is one line."""


def kind_of(folder: Path) -> str | None:
    """The kind of finished results folder `folder` is, from its files; None if it is
    none (a user's folder, a half-made experiment folder). A ``summary.json`` or
    ``manifest.json`` counts only if ``sim`` wrote it (it names the version of sim)."""
    if not folder.is_dir():
        return None
    for name, kind in MARKERS:
        if (folder / name).is_file() and _by_sim(folder / "manifest.json"):
            return kind
    if (folder / "variants.csv").is_file() and _by_sim(folder / "manifest.json"):
        return SWEEP
    from sim.experiments.replications import ReplicationsSummary  # only to inspect a folder
    from sim.simulation.summary import Summary

    summary = _json(folder / "summary.json")
    if ReplicationsSummary.recognises(summary) and _by_sim(folder / "manifest.json"):
        return REPLICATIONS
    if Summary.recognises(summary):
        return SINGLE
    return None


def _check_name_length(target: Path) -> None:
    """Refuse, before any run, a folder name the file system cannot hold with the
    temporary name written beside it (it failed only when the results were written)."""
    parent = next((p for p in target.absolute().parents if p.is_dir()), Path("/"))
    try:
        limit = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    longest = max((len(part.encode()) for part in target.parts), default=0)
    if longest + atomic.TEMP_NAME_ROOM > limit:
        raise FolderError(
            f"cannot write results to {target}: a name in it is {longest} bytes long, and "
            f"this file system allows {limit} (less {atomic.TEMP_NAME_ROOM} for the temporary "
            "name written beside it): choose a shorter --out"
        )


def check_out(target: Path, kind: str) -> Path:
    """The folder a command of `kind` is to write, given its ``--out`` `target`; raises
    :class:`FolderError` unless it is missing, empty or a results folder of `kind`.

    A symbolic link is followed (the folder it points to is written, the link kept);
    ``.``, ``..`` and the like are made absolute, since the temporary folder beside the
    target is named after the target's name.
    """
    if str(target) == "":
        raise FolderError("--out is empty: name a folder")
    _check_name_length(target)  # before any look at it: a stat of it would fail
    if target.is_symlink():
        target = target.resolve()
    elif target.name in ("", ".", ".."):
        target = Path(os.path.abspath(target))
    if target.name == "":
        raise FolderError(f"cannot write results to {target}: it is the root of the file system")
    if not target.exists():
        return target
    if not target.is_dir():
        raise FolderError(f"cannot write results to {target}: it exists and is not a folder")
    try:
        names = {p.name for p in target.iterdir() if not atomic.is_temp(p.name)}
    except OSError as e:
        raise FolderError(f"cannot write results to {target}: {e.strerror}") from None
    if not names:
        return target
    found = kind_of(target)
    if kind == SINGLE and names <= SINGLE_FILES:
        return target
    if kind == SINGLE and found == SINGLE:
        foreign = sorted(names - SINGLE_FILES)[0]
        raise FolderError(
            f"cannot write results to {target}: it holds {foreign}, which replacing the "
            "results would delete; choose another --out"
        )
    if found == kind:
        return target
    if found is not None:
        raise FolderError(
            f"cannot write results to {target}: it is {DESCRIBED[found]}, not "
            f"{DESCRIBED[kind]}; choose another --out"
        )
    if kind in EXPERIMENTS and _unfinished(target, names, kind):
        return target
    shown = sorted(names)[0]
    raise FolderError(
        f"cannot write results to {target}: it is a folder that is not a results folder "
        f"(it holds {shown}); choose another --out"
    )


def prepare(target: Path, kind: str) -> Path:
    """The folder a command (or the Python API) of `kind` will write, checked before
    anything runs (:func:`check_out`, then writable); :class:`FolderError` in one line
    otherwise. Temporary folders left there by writers that are gone (``kill -9``) are
    removed."""
    folder = check_out(target, kind)
    if kind == SINGLE:  # written beside, then renamed into place
        check_writable(folder.absolute().parent, folder)
    else:  # written into
        check_writable(folder.absolute(), folder)
    clean_stale(folder)
    return folder


def check_writable(folder: Path, target: Path) -> None:
    """:class:`FolderError` unless `folder` (where `target` is to be written), or the
    nearest folder above it that exists, is a folder this process may write in."""
    while not folder.exists():  # the folders still to be created
        folder = folder.parent
    if not folder.is_dir():
        raise FolderError(f"cannot write results to {target}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FolderError(f"cannot write results to {target}: {folder} is not writable")


def _unfinished(folder: Path, names: set[str], kind: str) -> bool:
    """True if `folder` holds only what an experiment's first, stopped invocation leaves:
    run records in ``runs/`` (and an options study's ``baseline/`` run)."""
    allowed = {RUNS, BASELINE} if kind == OPTIONS else {RUNS}
    if not names <= allowed:
        return False
    runs = folder / RUNS
    if RUNS in names and not (
        runs.is_dir() and all(p.suffix == ".json" or atomic.is_temp(p.name) for p in runs.iterdir())
    ):
        return False
    return BASELINE not in names or kind_of(folder / BASELINE) == SINGLE


def clean_stale(folder: Path) -> list[Path]:
    """Remove the temporary folders and files of `folder` (beside it, inside it and in its
    ``runs/``) left by writers that are gone (:func:`sim.outputs.atomic.clean_stale`);
    return what was removed."""
    return [
        *atomic.clean_stale(folder.parent, folder.name),
        *atomic.clean_stale(folder),
        *atomic.clean_stale(folder / RUNS),
    ]


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _by_sim(manifest: Path) -> bool:
    return "sim_version" in _json(manifest)


def check_source(
    folder: Path, kinds: tuple[str, ...], command: str, *, look_alikes_only: bool = False
) -> str:
    """The kind of `folder`, a results folder that `command` (report, animate) reads and
    writes its file into; raises :class:`FolderError` if it is not one of `kinds`, so
    that a user's folder that only looks like one (their own ``summary.json``) gets
    nothing written into it. A missing folder is left to the command to name, and with
    `look_alikes_only` so is a results folder of another kind or a folder without a
    ``summary.json`` (the command says which file it lacks)."""
    if not folder.is_dir() or (look_alikes_only and not (folder / "summary.json").exists()):
        return ""
    found = kind_of(folder)
    if found in kinds:
        return found
    if found is not None and look_alikes_only:
        return found  # the command names what it lacks
    if found is not None:
        raise FolderError(f"{folder} is {DESCRIBED[found]}: {command} takes {DESCRIBED[kinds[0]]}")
    present = [  # the files that are not sim's (a single run's manifest.json may well be)
        name
        for name in ("summary.json", "manifest.json")
        if (folder / name).is_file() and not (name == "manifest.json" and _by_sim(folder / name))
    ]
    if present:
        files, verb = " and ".join(present), ("is", "it") if len(present) == 1 else ("are", "them")
        raise FolderError(
            f"{folder} is not a results folder of sim: its {files} {verb[0]} not as sim writes "
            f"{verb[1]} (edited or damaged?); run the command that made the folder again"
        )
    raise FolderError(
        f"{folder} is not a results folder of sim (no summary.json, manifest.json, "
        f"variants.csv, compare.json, plan.json, options.json or sensitivity.json written "
        "by sim)"
    )


REPORT_MARK = b"<footer>Written by sim report"


def check_report_file(path: Path) -> None:
    """Refuse to overwrite `path` (``sim report --out``) unless it is missing or a report
    that ``sim report`` wrote (its footer says so): ``--out thesis.tex`` is a mistake."""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_file():
        raise FolderError(f"cannot write the report to {path}: it exists and is not a file")
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - 4096))
            tail = fh.read()
    except OSError as e:
        raise FolderError(f"cannot write the report to {path}: {e.strerror}") from None
    if REPORT_MARK not in tail:
        raise FolderError(
            f"cannot write the report to {path}: it is a file that sim report did not "
            "write, and would be lost; choose another --out"
        )


def check_pdf_file(path: Path) -> None:
    """Refuse to overwrite `path` (``sim report --pdf``) unless it is missing or a PDF."""
    if not path.exists() and not path.is_symlink():
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(5)
    except OSError as e:
        raise FolderError(f"cannot write the PDF to {path}: {e.strerror}") from None
    if not path.is_file() or head != b"%PDF-":
        raise FolderError(
            f"cannot write the PDF to {path}: it exists and is not a PDF, and would be lost; "
            "choose another --out"
        )


FILM_MAGIC = {".gif": (0, (b"GIF87a", b"GIF89a")), ".mp4": (4, (b"ftyp",))}
"""Where a GIF's and an MP4's first bytes say what they are (offset, signatures)."""


def check_animation_file(path: Path) -> None:
    """Refuse to overwrite `path` (``sim animate --out``) unless it is missing or already a
    film of its extension's format: ``--out notes.gif`` on a file that is not a GIF is a
    mistake, and a rerun replacing its own animation is not. (Unlike a report, a film
    has no footer saying who wrote it; its format is what can be checked.)"""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_file():
        raise FolderError(f"cannot write the animation to {path}: it exists and is not a file")
    offset, signatures = FILM_MAGIC.get(path.suffix.lower(), (0, ()))
    try:
        with open(path, "rb") as fh:
            head = fh.read(offset + 8)[offset:]
    except OSError as e:
        raise FolderError(f"cannot write the animation to {path}: {e.strerror}") from None
    if not any(head.startswith(signature) for signature in signatures):
        raise FolderError(
            f"cannot write the animation to {path}: it exists and is not a "
            f"{path.suffix.lstrip('.').upper()} film, and would be lost; choose another --out"
        )
