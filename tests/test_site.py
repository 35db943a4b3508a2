"""The documentation site: it builds without a broken link, its generated reference
pages say what the code says, and the README stays the short page it is meant to be.

- ``mkdocs build --strict`` (mkdocs.yml) fails on a link to a missing page or anchor;
- docs/gen_reference.py writes docs/reference/{scenario,cli,metrics,results}.md from
  the code: each is regenerated here in memory and must equal the committed page;
- the README keeps the Quickstart's two commands, the test one exactly as CI runs it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from sim.config import Scenario
from tests.conftest import ROOT

README = ROOT / "README.md"
GENERATOR = ROOT / "docs" / "gen_reference.py"
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install '.[test]' && .venv/bin/python -m pytest"
)


def generator():
    spec = importlib.util.spec_from_file_location("gen_reference", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_site_builds_strictly(tmp_path) -> None:
    """Every page in the navigation, every link and anchor between pages resolves."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install '.[test]'")
    pytest.importorskip(
        "material", reason="mkdocs-material is not installed: pip install '.[test]'"
    )
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert proc.returncode == 0, "\n".join(warnings) or proc.stderr[-3000:]
    for page in ("index", "tutorial", "reference/scenario", "how-to/run", "contributing"):
        assert (tmp_path / f"{page}.html").is_file(), page


@pytest.mark.parametrize("page", ["scenario.md", "cli.md", "metrics.md", "results.md"])
def test_generated_reference_page_is_current(page) -> None:
    gen = generator()
    committed = (ROOT / "docs" / "reference" / page).read_text(encoding="utf-8")
    assert committed == gen.PAGES[page](), (
        f"docs/reference/{page} is out of date: run python docs/gen_reference.py and commit it"
    )


def test_the_check_names_a_stale_page(tmp_path, monkeypatch) -> None:
    """``--check`` fails, naming the page and the command, when a page differs."""
    gen = generator()
    for name in gen.PAGES:
        (tmp_path / name).write_text((ROOT / "docs" / "reference" / name).read_text())
    (tmp_path / "cli.md").write_text("edited by hand\n")
    monkeypatch.setattr(gen, "PAGES", {"cli.md": gen.PAGES["cli.md"]})
    monkeypatch.setattr(gen, "REFERENCE", tmp_path)
    assert gen.stale_pages() == ["cli.md"]
    assert gen.main(["--check"]) == 1


def test_every_scenario_field_has_a_description() -> None:
    """The scenario reference's meaning column comes from these descriptions."""
    gen = generator()
    missing = [
        f"{model.__name__}.{name}"
        for model in gen.ScenarioPage().paths
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert Scenario in gen.ScenarioPage().paths
    assert not missing, f"fields without a description= in sim/config: {missing}"


def test_the_readme_is_short_and_keeps_the_quickstart() -> None:
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines: move detail to docs/"
    blocks = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)
    assert "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/sim run\n" in blocks
    assert TEST_COMMAND + "\n" in blocks
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").replace(" -q ", " ")
    assert TEST_COMMAND in ci, "the README's test command is the one .ci/run runs"


def test_the_readme_reads_at_80_columns() -> None:
    """Prose and commands fit a terminal; only the CI command, kept as CI runs it, and
    table rows may be longer."""
    long = [
        line
        for line in README.read_text(encoding="utf-8").splitlines()
        if len(line) > 80 and line != TEST_COMMAND and not line.startswith("|")
    ]
    assert not long, long


def test_the_readme_links_to_pages_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text)
    assert any(t.startswith("docs/") for t in targets)
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, missing


PAGES = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]


def prose(text: str) -> str:
    """A Markdown page without its fenced blocks and inline code: what Markdown reads
    as text, where ``_`` and ``*`` start emphasis."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def test_no_page_holds_a_control_character() -> None:
    """Click's ``\\b`` (keep this paragraph unwrapped) once reached the CLI reference,
    where a browser draws it as a box."""
    found = [
        (page.name, repr(ch))
        for page in PAGES
        for ch in set(page.read_text(encoding="utf-8"))
        if ord(ch) < 32 and ch not in "\n\t"
    ]
    assert not found, found


def test_help_that_click_keeps_unwrapped_is_a_block_of_the_cli_page() -> None:
    """``sim validate``'s list of cases, one line per parameter, is a text block: as
    Markdown text its lines ran into one paragraph and ``lambda*`` started italics."""
    page = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    block = re.search(r"```text\nCases, with their parameters and defaults:\n(.*?)```", page, re.S)
    assert block, "the cases of sim validate are not a ```text block"
    assert "mmc " in block[1] and "--lam " in block[1]


def test_no_page_has_a_bare_dunder_name() -> None:
    """``sim/__init__.py`` outside backticks renders as sim/**init**.py."""
    bare = [
        (page.name, m[0])
        for page in PAGES
        for m in re.finditer(r"\S*__\w+__\S*", prose(page.read_text(encoding="utf-8")))
    ]
    assert not bare, bare


def test_the_how_to_guides_run_what_pip_install_ships() -> None:
    """tests/scenarios/ is not in the package: a guide's command must name a shipped
    example (``sim examples``) or a file the reader has."""
    guides = sorted((ROOT / "docs" / "how-to").glob("*.md"))
    found = [g.name for g in guides if "tests/scenarios/" in g.read_text(encoding="utf-8")]
    assert not found, found
