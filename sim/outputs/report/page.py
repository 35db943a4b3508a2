"""``sim report``: one self-contained HTML page that answers the question a results folder
was made for, in the order a decision maker reads: the answer in plain words, the key
figures (with their 95 % confidence intervals when there are replications), the
figures with captions, then what was assumed and how to get the same numbers again.

The kind of folder is recognised from its files, so any folder the commands write can
be reported on later, without rerunning anything:

- ``plan.json``: a capacity plan (``sim plan``);
- ``compare.json``: a paired comparison (``sim compare``);
- ``options.json``: an options study (``sim options``);
- ``sensitivity.json``: a sensitivity analysis (``sim sensitivity``);
- ``variants.csv``: a sweep (``sim sweep``);
- ``summary.json`` with ``estimates``: replications (``sim run --reps``);
- ``summary.json`` with ``kpi``: a single run (``sim run``).

The report reads files only; numbers are never recomputed, so it shows exactly what the
command printed. The answer and tables of each kind are in :mod:`sim.outputs.report.kinds`, the
scenario and reproduction parts in :mod:`sim.outputs.report.scenario`, the page in
:mod:`sim.outputs.report.html`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim import __version__
from sim.config import ScenarioError
from sim.config.scale import scale_warning, scale_words
from sim.experiments.replications import ReplicationsSummary
from sim.measure.metrics import KEY_FIGURES
from sim.outputs import atomic
from sim.outputs.folders import BRIEF, REPORT
from sim.outputs.report import html as h
from sim.outputs.report import kinds
from sim.outputs.report import scenario as rs
from sim.outputs.report.brief import brief
from sim.outputs.report.option_words import exact_changes
from sim.simulation.summary import Summary

KIND_TITLES = {
    "single": "Single run",
    "replications": "Replications",
    "sweep": "Sweep",
    "compare": "Comparison",
    "plan": "Capacity plan",
    "options": "Options study",
    "sensitivity": "Sensitivity analysis",
}


class ReportError(ValueError):
    """The folder cannot be reported on; the message is one line for the user."""


def detect_kind(folder: Path) -> str:
    """The kind of results folder, from the files it holds."""
    for name, kind in (
        ("plan.json", "plan"),
        ("compare.json", "compare"),
        ("options.json", "options"),
        ("sensitivity.json", "sensitivity"),
    ):
        if (folder / name).is_file():
            return kind
    if (folder / "variants.csv").is_file():
        return "sweep"
    if (folder / "summary.json").is_file():
        data = _json(folder / "summary.json")
        if ReplicationsSummary.recognises(data):
            return "replications"
        if Summary.recognises(data):
            return "single"
    raise ReportError(
        f"{folder} is not a results folder of sim (no summary.json, variants.csv, "
        "compare.json, plan.json, options.json or sensitivity.json)"
    )


def write_report(
    folder: Path | str,
    out: Path | str | None = None,
    *,
    command: list[str] | None = None,
) -> Path:
    """Write the report of `folder` to `out` (default ``folder/report.html``), atomically.

    `command` is the command line that made a single run (its folder does not record it),
    for ``sim run --report``.
    """
    folder = Path(folder)
    target = Path(out) if out is not None else folder / REPORT
    atomic.write_text(target, build_report(folder, command=command))
    return target


def build_report(folder: Path | str, *, command: list[str] | None = None) -> str:
    """The report of `folder` as one HTML document."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a folder")
    kind = detect_kind(folder)
    manifest = _json(folder / "manifest.json") if (folder / "manifest.json").is_file() else {}
    try:
        headline, tables, title = kinds.BUILDERS[kind](folder, manifest)
        scale = _scale(folder, kind, manifest)
        title = " ".join(filter(None, (title, scale_words(scale))))
        sections = [
            ("answer", "Answer", _answer(headline, manifest, scale)),
            ("kpis", "Key figures", tables),
            ("figures", "Figures", h.figures(folder, KEY_FIGURES)),
            (
                "assumptions",
                "Scenario and assumptions",
                rs.assumptions(folder, kind, command, manifest),
            ),
            ("reproduce", "How to reproduce", rs.reproduce(folder, kind, command, manifest)),
        ]
        if kind == "options":  # the brief first, the exact changes last
            study = _json(folder / "options.json")
            sections.insert(0, ("brief", "In brief", brief(folder, study, manifest, alone=False)))
            sections.append(("changes", "Appendix: exact changes", exact_changes(study)))
    except OSError as e:
        raise ReportError(f"cannot read {e.filename or folder}: {e.strerror or e}") from None
    except ScenarioError as e:
        raise ReportError(f"{folder}: its scenario cannot be read: {e}") from None
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise ReportError(f"{folder}: unexpected content in its files ({e!r})") from None
    footer = f"Written by sim report (sim {__version__}) from {folder.resolve()}."
    return h.page(title, f"{KIND_TITLES[kind]} · sim report", sections, footer)


def write_brief(folder: Path | str, out: Path | str | None = None) -> Path:
    """Write the one-page brief of an options study folder to `out` (default
    ``folder/brief.html``), atomically."""
    folder = Path(folder)
    target = Path(out) if out is not None else folder / BRIEF
    atomic.write_text(target, build_brief(folder))
    return target


def build_brief(folder: Path | str) -> str:
    """The brief of an options study folder (:mod:`sim.outputs.report.brief`) as one HTML
    document, laid out to print on one A4 page."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a folder")
    kind = detect_kind(folder)
    if kind != "options":
        raise ReportError(
            f"--brief: {folder} is a {KIND_TITLES[kind].lower()} folder; a brief is written "
            "for an options study (sim options)"
        )
    manifest = _json(folder / "manifest.json") if (folder / "manifest.json").is_file() else {}
    study = _json(folder / "options.json")
    try:
        inner = brief(folder, study, manifest)
        title = f"{study['scenario']}: which option would have held?"  # its scale: below
    except OSError as e:
        raise ReportError(f"cannot read {e.filename or folder}: {e.strerror or e}") from None
    except ScenarioError as e:
        raise ReportError(f"{folder}: its scenario cannot be read: {e}") from None
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise ReportError(f"{folder}: unexpected content in its files ({e!r})") from None
    footer = f"Written by sim report --brief (sim {__version__}) from {folder.resolve()}."
    return h.page(title, "Brief · sim report", [("brief", "In brief", inner)], footer, "brief")


def _json(path: Path) -> dict[str, Any]:
    try:
        return rs.json_file(path)
    except (OSError, ValueError) as e:
        raise ReportError(f"cannot read {path}: {e}") from None


def _scale(folder: Path, kind: str, manifest: dict[str, Any]) -> float | None:
    """The --scale of the folder's runs, as its summary or manifest records it; None if
    it does not (folders of older versions)."""
    if kind == "single":
        return rs.run_summary(folder / "summary.json").scale
    if kind == "replications":
        return rs.replications_summary(folder / "summary.json").scale
    return manifest.get("scale")


def _scaled(scale: float | None) -> str:
    """What the answer says of a scaled morning: that it is one, and, below
    :data:`sim.config.scale.SHAKY_BELOW`, as a warning, how far it can be from the full
    one (the terminal's warning)."""
    words = scale_words(scale)
    if not words or scale is None:
        return ""
    said = (
        f"These results are {words}: a smaller morning, with capacities scaled alike; "
        "the people and capacities below are the scaled ones."
    )
    warning = scale_warning(scale)
    if warning is None:
        return h.paragraphs([said])
    return h.paragraphs([f"{said} {warning[0].upper()}{warning[1:]}."], "warning")


def _answer(sentences: list[str], manifest: dict[str, Any], scale: float | None = None) -> str:
    """The answer in one paragraph, what a scaled morning is, and a warning when runs
    failed (results incomplete)."""
    first, *more = " ".join(sentences).split("\n\n")  # a blank line starts a paragraph
    text = h.paragraphs([first], "headline") + h.paragraphs(more)
    text += _scaled(scale)
    failed = manifest.get("failed") or []
    if failed:
        first = failed[0].get("error") or "unknown error"
        text += h.paragraphs(
            [
                f"{len(failed)} run(s) failed, so these results are incomplete (first error: "
                f"{first}); the errors are in runs/<key>.error.json."
            ],
            "warning",
        )
    return text
