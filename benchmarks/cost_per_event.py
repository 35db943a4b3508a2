"""Cost per event against the size of the morning: the exponent e of time ~ people^e.

Run by hand from the repository root, with the build to measure installed::

    python benchmarks/cost_per_event.py                       # 6 April, ~28k to ~890k
    python benchmarks/cost_per_event.py --scales 0.005 0.16 --rounds 3 --lean 45000 180000

Issue 21 asks for a flat cost per event: simulation time ~ people^e with e <= 1.02 on
the 6 April scenario from ~28,000 to ~900,000 people (``--scale``). Each scale runs in a
fresh process (``hash_run.py``: the run alone, timed by CPU time, with its events and
peak RSS), the scales interleaved over ``--rounds`` rounds, the smallest CPU time of each
kept. Printed: per scale the people, the events per person, the CPU microseconds per
event and the peak RSS per person, then e fitted by least squares on log CPU time
against log people (and the exponent of the events alone, so that a change in the work
per person is not read as a change in the cost of an event).

``--lean USERS...`` measures the lean loop of the login surge
(``lean_login_surge.py``: a hand-written heap loop, the lean limit of issue 21) at those
sizes the same way, for comparison: its cost per event is not flat either.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

from bench_startup import commit, cpu_model  # this folder's: sys.path[0] when run by hand

ROOT = Path(__file__).resolve().parent.parent
APRIL = ROOT / "experiments" / "2021-04-06.toml"
SCALES = (0.005, 0.02, 0.08, 0.16)
"""About 28k, 111k, 443k and 886k people on 6 April."""


def _run(command: list[str]) -> dict:
    """One fresh process: its JSON line, and its CPU time as the kernel counted it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = json.loads(done.stdout.strip().splitlines()[-1])
    line["process_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return line


def april(scale: float) -> dict:
    line = _run([sys.executable, "benchmarks/hash_run.py", str(APRIL), str(scale)])
    return {
        "size": line["people"],
        "events": line["events"],
        "cpu_s": line["cpu_s"],
        "rss_mib": line["peak_rss_mib"],
        "hash": line["people_sha256"],
    }


def lean(users: int) -> dict:
    """The lean loop at `users`: its work counted in attempts (it counts no events),
    timed by its own clock around the loop (wall time: the process is alone)."""
    line = _run([sys.executable, "benchmarks/lean_login_surge.py", "--users", str(users), "--json"])
    return {
        "size": line["users"],
        "events": round(line["users"] * line["mean_attempts"]),
        "cpu_s": line["simulation_s"],
        "rss_mib": None,
        "hash": None,
    }


def exponent(sizes: list[float], values: list[float]) -> float:
    """Least-squares slope of log(value) against log(size)."""
    xs, ys = [math.log(s) for s in sizes], [math.log(v) for v in values]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def measure(points: list, run, rounds: int) -> list[dict]:
    """Each point `rounds` times, interleaved (round by round, the order reversed every
    other round); the run of smallest CPU time kept per point."""
    best: dict = {}
    for r in range(rounds):
        order = points if r % 2 == 0 else list(reversed(points))
        for point in order:
            result = run(point)
            print(f"  round {r + 1}/{rounds}: {point}: {result['cpu_s']:.2f} s", file=sys.stderr)
            if point not in best or result["cpu_s"] < best[point]["cpu_s"]:
                best[point] = result
    return [best[point] for point in points]


def table(title: str, rows: list[dict], unit: str = "event") -> str:
    lines = [
        f"{title}",
        "",
        f"| people | {unit}s per person | s | µs per {unit} | peak RSS | KiB per person |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        per_event = 1e6 * row["cpu_s"] / row["events"] if row["events"] else math.nan
        rss = f"{row['rss_mib']:,} MiB" if row["rss_mib"] else ""
        kib = f"{1024 * row['rss_mib'] / row['size']:.2f}" if row["rss_mib"] else ""
        events = f"{row['events'] / row['size']:.1f}" if row["events"] else ""
        lines.append(
            f"| {row['size']:,} | {events} | {row['cpu_s']:.2f} | {per_event:.2f} | {rss} | {kib} |"
        )
    sizes = [row["size"] for row in rows]
    e = exponent(sizes, [row["cpu_s"] for row in rows])
    lines.append("")
    lines.append(f"time ~ people^{e:.3f}")
    work = exponent(sizes, [row["events"] for row in rows])
    lines.append(f"{unit}s ~ people^{work:.3f}; so the cost per {unit} ~ people^{e - work:.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=list(SCALES))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--lean", type=int, nargs="*", default=[], metavar="USERS")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    import sim  # the build measured: the one hash_run.py imports (PYTHONPATH or installed)

    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {cpu_model()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, commit {commit(ROOT)}, "
        f"sim from {Path(sim.__file__).parent}, load average {load:.2f} before"
    )
    print(table("6 April (`hash_run.py`)", measure(args.scales, april, args.rounds)))
    if args.lean:
        print()
        rows = measure(args.lean, lean, args.rounds)
        print(table("The lean loop (`lean_login_surge.py`)", rows, unit="attempt"))
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
