"""The brief of an options study (``sim report FOLDER --brief [--pdf]``): one page for
people who decide, with options in words (no raw override), numbers as said, the cost
and robustness columns when the study has them, and a PDF of exactly one page.

The options folder is made once with the real command on the small surge (a few
seconds); the cost and robust entries, which other commands add, are written by hand
into a copy of its options.json, as those commands store them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.outputs import pdf
from sim.outputs.report.brief import assumptions_in, target_words
from sim.outputs.report.page import build_brief
from tests.conftest import SCENARIOS

runner = CliRunner()
OVERRIDE = re.compile(r"\b[a-z_]+(\.[a-z_0-9]+){2,}=")  # a raw dotted path, as --set writes it
CHROMIUM = pdf.find_browser()
PDFTOPPM, PDFINFO = shutil.which("pdftoppm"), shutil.which("pdfinfo")


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("brief") / "options"
    options = SCENARIOS / "surge-options.toml"
    args = ["options", str(options), "--reps", "2", "--jobs", "1", "--out", str(folder)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return folder


def text_of(page: str) -> str:
    page = re.sub(r"<style>.*?</style>|data:image/png;base64,[A-Za-z0-9+/=]+", "", page, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def with_costs_and_robustness(study: Path, tmp_path: Path) -> Path:
    """A copy of the study with what the cost and robust-verdict commands store."""
    folder = tmp_path / "costed"
    shutil.copytree(study, folder)
    data = json.loads((folder / "options.json").read_text())
    data["currency"] = "EUR"
    data["cost_metric"] = "kpi.cost.infrastructure"
    names = [o["name"] for o in data["options"]]
    data["cheapest_meeting_target"] = names[2]
    for i, option in enumerate(data["options"]):
        option["cost"] = {
            "kpi.cost.infrastructure": {"mean": 43_431.0 + i, "low": 40_000, "high": 47_000, "n": 2}
        }
        option["robust"] = {
            "worlds": 32,
            "meets": 29 - i,
            "share": (29 - i) / 32,
            "low": 0.75,
            "high": 0.97,
            "fails_when": "fails when retry probability > 0.9 (right in 30 of 32 worlds)"
            if i
            else None,
            "fails_briefly": "fails when retry probability > 0.9" if i else None,
        }
    (folder / "options.json").write_text(json.dumps(data))
    return folder


def test_the_brief_says_the_answer_in_words_with_no_raw_override(study):
    result = runner.invoke(app, ["report", str(study), "--brief"])
    assert result.exit_code == 0, result.output
    text = text_of((study / "brief.html").read_text(encoding="utf-8"))
    assert not OVERRIDE.search(text)
    assert "options would have met it" in text or "none of the" in text
    assert (
        "95 % of people in class by 5 minutes after their class starts" in text
    )  # the target, said
    assert "What went wrong" in text and "What was assumed" in text
    assert "Twice the login capacity." in text  # an option's own description
    # an option without one: the schema's words for behaviour.max_attempts, not the path
    assert "Attempts per step before giving up for the morning: 2" in text
    assert "cost" not in text.split("The options")[1].split("What was assumed")[0]
    assert "how robust" not in text
    assert len(re.findall(r"<img ", (study / "brief.html").read_text())) == 1


def test_cost_and_robustness_are_shown_when_the_study_has_them(study, tmp_path):
    folder = with_costs_and_robustness(study, tmp_path)
    text = text_of(build_brief(folder))
    assert "cost" in text and "how robust" in text
    assert "about 43,000 EUR" in text
    assert "(cheapest meeting the target)" in text
    assert "28 of 32 worlds; fails when retry probability &gt; 0.9" in text
    assert "right in 30 of 32" not in text  # the rule's record: in the full report only
    assert not OVERRIDE.search(text)


def test_a_brief_is_for_an_options_study_only(study, tmp_path):
    result = runner.invoke(app, ["report", str(study / "baseline"), "--brief"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --brief:"), result.output
    assert not (study / "baseline" / "brief.html").exists()


def test_without_a_browser_the_html_is_written_and_one_line_says_so(study, tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "BROWSERS", ("no-such-browser-here",))
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["report", str(study), "--brief", "--pdf", "--out", str(out)])
    assert result.exit_code == 2
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "no Chromium found" in error[0], result.output
    assert out.is_file() and not out.with_suffix(".pdf").exists()
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_the_pdf_is_one_readable_page(study, tmp_path):
    if CHROMIUM is None or PDFTOPPM is None or PDFINFO is None:
        pytest.skip("chromium or poppler-utils (pdftoppm, pdfinfo) is not installed; .ci/run does")
    import numpy as np
    from matplotlib.image import imread

    folder = with_costs_and_robustness(study, tmp_path)  # the widest table
    result = runner.invoke(app, ["report", str(folder), "--brief", "--pdf"])
    assert result.exit_code == 0, result.output
    made = folder / "brief.pdf"
    info = subprocess.run([PDFINFO, made], capture_output=True, text=True, timeout=60).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert "A4" in info
    subprocess.run(
        [PDFTOPPM, "-r", "50", "-png", "-f", "1", "-l", "1", made, tmp_path / "p"], timeout=60
    )
    (png,) = tmp_path.glob("p*.png")
    pixels = imread(png)[..., :3]
    ink = np.mean(pixels.min(axis=2) < 0.9)
    assert 0.03 < ink < 0.6, ink  # text, a table and a figure on a white page
    text = (
        subprocess.run(["pdftotext", made, "-"], capture_output=True, text=True, timeout=60).stdout
        if shutil.which("pdftotext")
        else ""
    )
    assert not OVERRIDE.search(text)


def test_target_words_and_assumption_lines():
    target = {"metric": "kpi.by_role.pupil.time_to_class_p95_s", "op": "<=", "value": 120.0}
    said = target_words(target)
    assert said == "95 % of pupils in class within 2 minutes of when they meant to connect"
    notes = "Intro.\nASSUMPTION: people retry\n  19 times in 20.\nOther line.\nASSUMPTION: two"
    assert assumptions_in(notes) == ["People retry 19 times in 20.", "Two"]
