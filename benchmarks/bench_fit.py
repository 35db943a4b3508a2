"""Speed of ``sim fit``: the whole command on a synthetic access log, lines per second.

Run by hand from the repository root::

    python benchmarks/bench_fit.py                       # 1,000,000 lines, this tree
    python benchmarks/bench_fit.py --lines 200000 --profile
    python benchmarks/bench_fit.py --tree /path/to/other/checkout --tree .

The log is written once (into ``--folder``, default a temporary folder; kept with
``--keep``) by sim's own writer (:func:`sim.config.access_logs.format_record`, nginx): a
morning of people, 4 in 5 pupils and the rest teachers (told apart by their user agent),
each logging in, then opening 1-4 portal pages of 30 distinct paths, 3 % of requests
failing and retried after a jittered backoff, 1 % closed by an impatient client. Then
``python -m sim fit LOG --mapping MAP --out ...`` runs as a fresh process per tree
(``PYTHONPATH`` the tree), ``--repeat`` rounds interleaved; printed: the fastest and the
median wall and CPU times, lines per second, the machine, the commit and the load, as
Markdown rows for docs/performance.md. ``--profile`` runs the fit in this process under
cProfile and prints the 15 functions of largest own time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAPPING = """\
[services]
login = ["/login*"]
portal = ["/portal/*"]
[roles]
by = "user_agent"
pupil = ["*role=pupil*"]
teacher = ["*role=teacher*"]
"""
DAY = dt.date(2021, 4, 6)


def write_log(path: Path, lines: int, seed: int = 1) -> int:
    """About `lines` lines of nginx log at `path`, in the order nginx writes them."""
    from sim.config.access_logs import LogRecord, format_record

    rng = np.random.default_rng(seed)
    people = lines // 3
    records = []
    start = 8 * 3600 + rng.normal(-300, 300, people) + 3600 * rng.integers(0, 2, people)
    for who in range(people):
        role = "pupil" if who % 5 else "teacher"
        agent = f"Mozilla/5.0 (role={role})"
        client = f"10.{who >> 16 & 255}.{who >> 8 & 255}.{who & 255}"
        t = float(start[who])
        pages = ["/login", *(f"/portal/p{rng.integers(30)}" for _ in range(rng.integers(1, 5)))]
        for page in pages:
            while True:
                duration = float(rng.lognormal(-1.8, 0.8))
                status = 200
                chance = rng.random()
                if chance < 0.01:
                    status, duration = 499, float(rng.lognormal(2.8, 0.8))
                elif chance < 0.04:
                    status = 503
                records.append(
                    LogRecord(DAY, t, client, f"u{who}", "GET", page, status, duration, agent)
                )
                t += duration
                if status == 200 or rng.random() > 0.9:
                    break
                t += float(rng.uniform(0, 10))
            t += float(rng.exponential(5))
    records.sort(key=lambda r: r.time_s + r.duration_s)
    with open(path, "w", encoding="utf-8") as out:
        for first in range(0, len(records), 50_000):
            chunk = records[first : first + 50_000]
            out.write("".join(format_record(r, "nginx") + "\n" for r in chunk))
    return len(records)


def run_fit(tree: Path, log: Path, mapping: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU (user + system of the child) seconds of one ``sim fit``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sim", "fit", str(log), "--mapping", str(mapping),
         "--out", str(out)],
        cwd=tree, env=env, check=True, capture_output=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def profile(log: Path, mapping: Path) -> None:
    import sim

    profiler = cProfile.Profile()
    profiler.enable()
    sim.fit(log, mapping)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def commit(tree: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tree", type=Path, action="append")
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-fit-"))
    folder.mkdir(parents=True, exist_ok=True)
    log, mapping = folder / "access.log", folder / "mapping.toml"
    mapping.write_text(MAPPING)
    if not log.exists():
        started = time.perf_counter()
        count = write_log(log, args.lines)
        print(f"wrote {count:,} lines ({log.stat().st_size / 2**20:,.0f} MiB) in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    with open(log, "rb") as lines:
        count = sum(1 for _ in lines)
    if args.profile:
        profile(log, mapping)
        return
    load = os.getloadavg()[0]
    times: dict[Path, list[tuple[float, float]]] = {t: [] for t in trees}
    for _ in range(args.repeat):
        for tree in trees:
            times[tree].append(run_fit(tree, log, mapping, folder / "fitted.toml"))
    machine = platform.processor() or platform.machine()
    python = platform.python_version()
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine}, {os.cpu_count()} cores, "
        f"Python {python}, load average {load:.1f} before, {os.getloadavg()[0]:.1f} after; "
        f"{count:,} lines"
    )
    print("| tree | commit | wall s, fastest (median) | CPU s | lines/s (wall) |")
    print("|---|---|---:|---:|---:|")
    for tree, rows in times.items():
        walls, cpus = [w for w, _ in rows], [c for _, c in rows]
        print(
            f"| {tree.name} | {commit(tree)} | {min(walls):.1f} ({statistics.median(walls):.1f})"
            f" | {min(cpus):.1f} | {count / min(walls):,.0f} |"
        )
    if not args.keep and args.folder is None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
