"""``sim plan`` prints a row per probe as the probes finish, under a progress bar on a
terminal: each row must be on a line of its own (the bar cleared first, not left in
front of the row: "probing ━━━ 1/2 runs, ETA -:--:--   4  2 ..."), the header must fit
80 columns, a share is written in %, as everywhere else, and "2 runs", not "2 run".

The terminal case runs the command on a pseudo-terminal and replays what it wrote on a
small screen model (:func:`screen`): carriage return, erase line, cursor up.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios

import pytest

from tests.conftest import ROOT, SCENARIOS, sim_env

WIDTH = 80
PLAN = (
    "plan", str(SCENARIOS / "surge.toml"), "--vary", "services.login.servers=1:4",
    "--target", "share_in_class>=0.9", "--reps", "2", "--max-reps", "2", "--jobs", "1",
    "--scale", "0.25",
)  # fmt: skip
SHARE = r"\d+\.\d %"
ROW = re.compile(
    rf"^\s*[1-4]\s+2\s+{SHARE}\s+\d+\.\d \.\. {SHARE}\s+(holds|fails|unsure)\s+2 runs"
)  # value, reps, mean, bounds, verdict, runs
CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def screen(raw: str) -> list[str]:
    """The lines a terminal shows after `raw`: text overwrites from the cursor, ``\\r``
    goes to the line's start, ``ESC[2K`` erases the line, ``ESC[nA`` goes n lines up;
    other escape sequences (colours, cursor visibility) change nothing visible here."""
    lines, row, col = [""], 0, 0
    pos = 0
    while pos < len(raw):
        match = CSI.match(raw, pos)
        if match:
            arg, op = match.groups()
            if op == "K" and arg == "2":
                lines[row] = ""
            elif op == "A":
                row = max(0, row - int(arg or 1))
            pos = match.end()
            continue
        ch = raw[pos]
        pos += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row, col = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + ch + line[col + 1 :]
            col += 1
    return [line.rstrip() for line in lines]


def table(lines: list[str]) -> list[str]:
    """All but the last line, which names the results folder (a long temporary path)."""
    return [line for line in lines if not line.startswith("results written to")]


def run_on_a_terminal(args, out_dir) -> str:
    """What ``sim ARGS`` writes on an 80-column pseudo-terminal (stdout and stderr)."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, WIDTH, 0, 0))
    env = sim_env(COLUMNS=str(WIDTH), TERM="xterm-256color")
    child = subprocess.Popen(
        [sys.executable, "-m", "sim", *args, "--out", str(out_dir)],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child has closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    child.wait(timeout=120)  # a hang, not a speed
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_terminal_each_probe_is_a_row_of_its_own(tmp_path) -> None:
    shown = screen(run_on_a_terminal(PLAN, tmp_path / "plan"))
    rows = [line for line in shown if ROW.match(line)]
    assert len(rows) >= 2, "\n".join(shown)
    assert not any("probing" in line for line in shown), "\n".join(shown)  # bar cleared
    assert all(len(line) <= WIDTH for line in table(shown)), "\n".join(shown)


def test_piped_the_table_fits_80_columns_in_percent_and_counts_runs(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim", *PLAN, "--out", str(tmp_path / "plan")],
        cwd=ROOT, env=sim_env(COLUMNS=str(WIDTH)), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= WIDTH for line in table(lines)), done.stdout
    assert "(90.0 %)" in done.stdout  # the target in the metric's unit too
    assert len([line for line in lines if ROW.match(line)]) >= 2, done.stdout
    assert not re.search(r"\b0\.\d{3,}", done.stdout), done.stdout  # no 0.9486: a share in %
    assert not any(re.search(r"\b([02-9]|\d\d+) run\b", line) for line in table(lines))
