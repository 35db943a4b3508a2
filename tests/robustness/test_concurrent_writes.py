"""Several writers on one results folder at once: the folder is always one writer's
complete output, never a mix, and no writer fails for it or leaves a temporary folder.

``sim.outputs.atomic`` writes a run to a temporary folder and swaps it in (old folder renamed
aside, new one renamed in, old one removed). Two writers can interleave between those
renames; the swap then moves the other's folder aside too and tries again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from sim.outputs.atomic import replace_folder
from tests.conftest import ROOT
from tests.robustness.conftest import SURGE, child_env, invoke, leftovers

FILES = ("a.txt", "b.txt", "c.txt", "d.txt")


def _prepare(parent, writer: int, round_: int):
    tmp = parent / f".target.tmp-{writer}-{round_}"
    tmp.mkdir()
    for name in FILES:
        (tmp / name).write_text(f"writer {writer} round {round_}\n")
    return tmp


def test_writers_racing_on_one_folder_always_leave_one_complete_output(tmp_path):
    """Eight threads each replace the same folder 40 times as fast as they can. Before
    the fix, a writer whose rename met another's fresh folder failed (ENOTEMPTY) and
    left the previous results hidden under ``.target.old-<pid>``."""
    target = tmp_path / "target"
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(number: int) -> None:
        start.wait()
        for round_ in range(40):
            tmp = _prepare(tmp_path, number, round_)
            try:
                replace_folder(tmp, target)
            except BaseException as err:  # collected for the assertion
                errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    contents = {(target / name).read_text() for name in FILES}
    assert sorted(p.name for p in target.iterdir()) == list(FILES)
    assert len(contents) == 1  # every file from the same writer and round
    assert [p.name for p in tmp_path.iterdir()] == ["target"]  # nothing left aside


def _summary(folder):
    data = json.loads((folder / "summary.json").read_text())
    del data["wall_s"], data["speed"]
    return data


def _outputs(folder):
    names = ("scenario.toml", "timeseries.csv", "people.parquet")
    return {name: (folder / name).read_bytes() for name in names}, _summary(folder)


def test_two_runs_writing_the_same_folder_at_once(tmp_path):
    """Two ``sim run --out same`` with different seeds, started together: both succeed,
    and the folder holds exactly one of the two runs' results, whole."""
    references = {}
    for seed in (1, 2):
        out = tmp_path / f"seed{seed}"
        assert invoke("run", SURGE, "--seed", seed, "--no-dashboard", "--out", out).exit_code == 0
        references[seed] = _outputs(out)
    same = tmp_path / "same"
    run_args = ["--no-dashboard", "--out", str(same)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sim", "run", str(SURGE), "--seed", str(seed), *run_args],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
    final = _outputs(same)
    assert final in (references[1], references[2])
    assert sorted(p.name for p in same.iterdir()) == sorted(
        ["scenario.toml", "summary.json", "timeseries.csv", "people.parquet", "manifest.json"]
    )
    assert not leftovers(tmp_path)


def test_two_identical_sweeps_in_one_folder_at_once(tmp_path):
    """The same sweep started twice on one folder (two terminals, a retried CI job):
    both finish, each run is saved once, and the tables are those of a single sweep."""
    args = ["sweep", str(SURGE), "--vary", "services.login.servers=2,3", "--reps", "2"]
    args += ["--jobs", "1", "--no-plots", "--out"]
    reference = tmp_path / "reference"
    assert invoke(*args, reference).exit_code == 0
    same = tmp_path / "same"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sim", *args, str(same)],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
    assert len(list((same / "runs").glob("*.json"))) == 4
    for table in ("runs.csv", "variants.csv", "runs.parquet"):
        assert (same / table).read_bytes() == (reference / table).read_bytes(), table
    assert not leftovers(tmp_path)
