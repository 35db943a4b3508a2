"""Progress when stderr is not a terminal (CI, ``nohup``, ``| tee``): plain lines, one
per tenth of the work, no escape codes or carriage returns; on a terminal, the bar.

Which lines are printed depends on the fraction of the work done, never on time: the
single run's start-up delay (no progress for runs of a few seconds) is set to 0 here.
"""

from __future__ import annotations

import io
import subprocess
import sys

from rich.console import Console
from typer.testing import CliRunner

from sim.cli import common as cli
from sim.cli.experiments import job_progress
from sim.outputs.progress import PlainProgress, is_progress
from tests.conftest import ROOT

QUEUE = "experiments/teaching/single_queue.toml"


def plain_console() -> Console:
    return Console(file=io.StringIO(), width=80)  # a StringIO: not a terminal


def test_one_line_per_tenth_of_the_work() -> None:
    c = plain_console()
    progress = PlainProgress(c, "work")
    for done in range(101):
        progress.update(done / 100, f"{done} of 100")
    lines = c.file.getvalue().splitlines()
    assert [line.split(": ")[2].split(" (")[0] for line in lines] == [
        f"{n} of 100" for n in range(10, 101, 10)
    ]
    assert all(is_progress(line) for line in lines)


def test_fewer_steps_than_tenths_print_each_step_once() -> None:
    c = plain_console()
    with job_progress(c, "sweep") as report:
        for done in range(4):
            report(done, 3)
            report(done, 3)  # reported twice: printed once
    lines = c.file.getvalue().splitlines()
    assert [line.split(": ")[2].split(" (")[0] for line in lines] == [
        "1 of 3 runs",
        "2 of 3 runs",
        "3 of 3 runs",
    ]


def test_on_a_terminal_the_bar_is_kept() -> None:
    c = Console(file=io.StringIO(), width=80, force_terminal=True)
    with job_progress(c, "sweep") as report:
        report(1, 3)
    assert "progress: " not in c.file.getvalue()


def check_plain(stderr: str, at_least: int) -> list[str]:
    assert "\x1b" not in stderr and "\r" not in stderr, repr(stderr)
    lines = [line for line in stderr.splitlines() if is_progress(line)]
    assert len(lines) >= at_least, stderr
    return lines


def test_a_sweep_with_stderr_piped_prints_plain_progress_lines(tmp_path) -> None:
    vary = ["--vary", "services.login.servers=4,5,6", "--reps", "2", "--jobs", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", QUEUE, *vary, "--no-plots", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = check_plain(done.stderr, 6)
    assert [line.split(": ")[2].split(" (")[0] for line in lines] == [
        f"{n} of 6 runs" for n in range(1, 7)
    ]
    assert "(100 %" in lines[-1]


def test_a_single_run_in_a_log_prints_the_simulated_clock(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cli, "PROGRESS_AFTER_S", 0.0)  # from the first report
    result = CliRunner().invoke(
        cli.app, ["run", QUEUE, "--no-dashboard", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    lines = check_plain(result.stderr, 3)  # 08:00-08:30, reported every 5 simulated min
    clocks = [line.split("simulated clock ")[1][:5] for line in lines]
    assert clocks == sorted(clocks) and clocks[-1] == "08:30", lines
