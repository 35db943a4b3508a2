"""The shipped examples (sim.config.catalog): found by name from any folder, listed by
``sim examples``, installed with the package, and the paths and names the docs give exist.

Building a wheel (Cython) takes minutes, too slow here; instead the files the wheel
gets are computed by setuptools itself from pyproject.toml (``build_py``'s own
package-data search), which is what decides what ``pip install .`` installs. The
install into a fresh venv from a clean clone was checked by hand (see the issue).
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.config import catalog, load_scenario, to_toml
from sim.experiments.options import load_study
from tests.conftest import ROOT, sim_env

EXPECTED = {  # the repository's experiments/, by name
    "default",
    "2021-04-06",
    "2021-04-06-options",
    "2021-04-26",
    "national",
    "teaching/single_queue",
    "teaching/surge",
    "teaching/surge-options",
    "teaching/retry_storm",
    "teaching/waiting_room",
    "teaching/crash",
}


def _child(*args, cwd):
    """``python -m sim`` from `cwd`, importing the sim under test (tests/conftest.py)."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        env=sim_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_experiment_is_a_shipped_example_that_loads():
    shipped = catalog.examples()
    on_disk = {
        p.relative_to(ROOT / "experiments").with_suffix("").as_posix()
        for p in (ROOT / "experiments").rglob("*.toml")
    }
    assert set(shipped) == on_disk == EXPECTED
    for name, path in shipped.items():
        assert catalog.find(name) == path
        assert catalog.find(f"{name}.toml") == path
        assert catalog.describe(path), name  # a one-line summary from its header
        if "options" in name:
            load_study(path)
        else:
            load_scenario(path)


def test_the_package_data_holds_every_example():
    """The files setuptools puts in the wheel (pyproject's package-data, as its
    build_py expands it) are exactly the examples: a new one cannot be forgotten."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # [tool.setuptools] is "beta"
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    build_py = dist.get_command_obj("build_py")
    build_py.ensure_finalized()
    build_py.manifest_files = {}  # package data only, no sdist manifest (egg_info)
    src = ROOT / "sim"
    found = {p.removeprefix(f"{src}/") for p in build_py.find_data_files("sim", str(src))}
    examples = {p for p in found if p.startswith("examples/")}
    assert examples == {f"examples/{name}.toml" for name in EXPECTED}
    typing = {p.name for p in src.glob("*.pxd")}  # the compiled engine's, for the fingerprint
    assert found - examples == typing
    assert (src / "examples").resolve() == (ROOT / "experiments").resolve()  # one copy


def test_a_name_runs_from_a_folder_outside_the_checkout(tmp_path):
    """``sim show`` with a name, or with no scenario at all, from an empty folder."""
    named = _child("show", "teaching/single_queue", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert named.stdout == to_toml(load_scenario(ROOT / "experiments/teaching/single_queue.toml"))
    default = _child("show", cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert default.stdout == to_toml(load_scenario(ROOT / "experiments/default.toml"))
    listed = _child("examples", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for name in EXPECTED:
        assert name in listed.stdout


def test_a_file_that_exists_wins_over_a_name(tmp_path, monkeypatch):
    own = tmp_path / "default"
    own.write_text((ROOT / "tests/scenarios/surge.toml").read_text())
    monkeypatch.chdir(tmp_path)
    assert catalog.find("default") == own.relative_to(tmp_path)
    shown = CliRunner().invoke(app, ["show", "default"])
    assert shown.exit_code == 0
    assert shown.output == to_toml(load_scenario(own))


@pytest.mark.parametrize(
    "args",
    [
        ["run", "nope"],
        ["show", "teaching/nope"],
        ["sweep", "nope", "--vary", "seed=1,2"],
        ["compare", "nope", "--set-b", "seed=2"],
        ["plan", "nope", "--vary", "services.login.servers=1:2", "--target", "gave_up<=1"],
        ["options", "nope"],
    ],
)
def test_an_unknown_name_is_one_line_listing_the_names(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: unknown scenario {args[1]!r}: no such file or example")
    assert all(name in lines[0] for name in EXPECTED)
    assert not any(tmp_path.iterdir())  # nothing written


def test_the_docs_name_only_files_and_examples_that_exist():
    """The README and every page of docs/ (the tutorial, the how-to guides...)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    paths = set(re.findall(r"(?:experiments|tests/scenarios)/[\w./-]+\.toml", text))
    assert paths
    for path in paths:
        assert (ROOT / path).is_file(), path
    command = r"sim\s+(?:run|show|options|sweep|compare|plan)\s+"
    names = set(re.findall(command + r"((?:teaching/)?[a-z0-9][\w-]*)(?=[\s`)])", text))
    assert "default" in names
    for name in names:
        assert name in catalog.examples(), name
