"""Every file and folder the commands write follows the umask, like any file the user
makes (0644 and 0755 under umask 022, 0600 and 0700 under 077): results are meant to be
shared, and a temporary file's private 0600 must not leak into them (sim/outputs/atomic.py)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from tests.conftest import SCENARIOS

SURGE = SCENARIOS / "surge.toml"
SMALL = ["--set", "cohorts.pupils.count=1500", "--set", "cohorts.parents.count=400"]
REPS = ["--reps", "2", "--jobs", "1"]


def sim(*args: str) -> None:
    argv = sys.argv
    sys.argv = ["sim", *args]  # the manifest records the command line
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        sys.argv = argv
    assert result.exit_code == 0, result.output


def every_command(root: Path) -> list[Path]:
    """Run each command that writes results (and a report of each) into `root`."""
    made = {
        kind: root / kind
        for kind in ("single", "replications", "sweep", "compare", "plan", "options")
    }
    sim("run", str(SURGE), *SMALL, "--out", str(made["single"]))
    sim("run", str(SURGE), *SMALL, *REPS, "--out", str(made["replications"]))
    sim(
        "sweep", str(SURGE), *SMALL, "--vary", "services.login.servers=1,2", *REPS,
        "--out", str(made["sweep"]),
    )  # fmt: skip
    sim(
        "compare", str(SURGE), *SMALL, "--set-b", "services.login.servers=3", *REPS,
        "--out", str(made["compare"]),
    )  # fmt: skip
    sim(
        "plan", str(SURGE), *SMALL, "--vary", "services.login.servers=1:3",
        "--target", "share_in_class>=0.9", *REPS, "--out", str(made["plan"]),
    )  # fmt: skip
    options = SCENARIOS / "surge-options.toml"
    sim("options", str(options), *REPS, "--out", str(made["options"]))
    for folder in made.values():
        sim("report", str(folder))
    return list(made.values())


MASKS = {"umask022": 0o022, "umask077": 0o077}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, list[Path]]:
    """The folders of every command, made once under each umask of :data:`MASKS`."""
    folders = {}
    for name, mask in MASKS.items():
        before = os.umask(mask)
        try:
            folders[name] = every_command(tmp_path_factory.mktemp(name))
        finally:
            os.umask(before)
    return folders


@pytest.mark.parametrize("name", MASKS)
def test_every_written_file_and_folder_follows_the_umask(written, name):
    mask, folders = MASKS[name], written[name]
    wrong = []
    files = 0
    for folder in folders:
        assert (folder / "report.html").is_file()
        for path in [folder, *folder.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            expected = (0o777 if path.is_dir() else 0o666) & ~mask
            files += path.is_file()
            if mode != expected:
                wrong.append(f"{path.relative_to(folder.parent)}: {mode:o}, not {expected:o}")
    assert not wrong, "\n".join(wrong)
    assert files > 50  # runs, tables, figures, manifests and reports of six commands


def test_every_figure_is_the_same_bytes_when_made_again(written):
    """Same seed, same figures: an SVG had the time it was saved and randomly salted ids
    (sim/outputs/figures.py), so two folders of one seed differed."""
    first, again = written.values()
    figures = 0
    for a, b in zip(first, again, strict=True):
        for path in sorted(a.rglob("*")):
            if path.suffix in (".png", ".svg"):
                figures += 1
                twin = b / path.relative_to(a)
                assert path.read_bytes() == twin.read_bytes(), path.relative_to(a.parent)
    assert figures >= 20  # a dashboard and each command's figures, as PNG and SVG
