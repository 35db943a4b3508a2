"""Peak memory of ``sim run`` against the pre-flight estimate, over a grid of people x
services x minutes.

Run by hand from the repository root::

    python benchmarks/bench_memory.py                   # the grid below, with the dashboard
    python benchmarks/bench_memory.py --no-dashboard    # the run alone (faster)
    python benchmarks/bench_memory.py --people 100 --services 200 --minutes 1439

Each point is a generated scenario (:func:`scenario_text`): `services` services of one
server each, people spread evenly over the day (``start = "00:00"``, `minutes` long),
each visiting one group of :data:`GROUP` services. It runs as ``sim run SCENARIO --out
DIR`` in a fresh process, which reports its own peak resident memory (``VmHWM`` of
``/proc/self/status``, at exit): not ``getrusage(RUSAGE_CHILDREN)``, which on Linux also
counts the memory of the process it was started from. Printed per point: the estimate of
:func:`sim.simulation.resources.estimate_mb`, the measured peak, their ratio (above 1: the estimate
covers the run), and the wall time; then the machine and the commit.

The test suite runs a smaller point with :func:`measure` (tests/robustness/test_memory.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this repository's sim, for the estimate as for the runs
GROUP = 4
"""Services one person visits (their journey): few, so that a run's time grows with its
people, not with people x services."""
PEOPLE = (100, 100_000)
SERVICES = (1, 20, 200)
MINUTES = (60, 360, 1439)  # 1439: 00:00 to 23:59, the longest day a scenario can span
PROBE = """\
import atexit, sys
report = sys.argv.pop(1)
def peak():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            with open(report, 'w') as fh:
                fh.write(line.split()[1])
atexit.register(peak)
from sim.cli import main
main()
"""
"""``sim run`` that writes its own peak resident memory (kB) to the file named first."""


def scenario_text(people: int, services: int, minutes: int) -> str:
    """A scenario of `services` services (``s000``, ``s001``...) over `minutes` minutes
    from midnight, and `people` people connecting uniformly over that span, one cohort
    per group of :data:`GROUP` services, each visiting its group's services in turn."""
    if not 1 <= minutes <= 1439:
        raise ValueError(f"minutes must be 1..1439 (a scenario ends by 23:59), got {minutes}")
    hours, rest = divmod(minutes, 60)
    lines = [
        f'name = "memory-{people}p-{services}s-{minutes}min"',
        'start = "00:00"',
        f'end = "{hours:02d}:{rest:02d}"',
        "",
    ]
    names = [f"s{i:03d}" for i in range(services)]
    for name in names:
        lines += [
            f"[services.{name}]",
            "servers = 1",
            "workers_per_server = 50",
            "backlog_per_server = 100",
            'service_time = { kind = "exponential", mean_s = 0.2 }',
            "",
        ]
    groups = [names[i : i + GROUP] for i in range(0, services, GROUP)]
    lines.append("[journeys]")
    lines += [f"j{g} = [{', '.join(repr(n) for n in group)}]" for g, group in enumerate(groups)]
    for g in range(len(groups)):
        share = people // len(groups) + (1 if g < people % len(groups) else 0)
        lines += [
            "",
            "[[cohorts]]",
            f'name = "c{g}"',
            'role = "other"',
            f"count = {share}",
            f'journey = "j{g}"',
            'class_starts = ["00:00"]',
            f'connect = {{ kind = "uniform", low_min = 0.0, high_min = {max(minutes - 1, 0)}.0 }}',
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Point:
    """One run of the grid: its size, the estimate, the measured peak, its wall time."""

    people: int
    services: int
    minutes: int
    estimate_mb: float
    measured_mb: float
    wall_s: float
    scenario: Path

    @property
    def ratio(self) -> float:
        return self.estimate_mb / self.measured_mb


def measure(
    people: int, services: int, minutes: int, folder: Path, dashboard: bool = False
) -> Point:
    """Write the scenario of this point into `folder`, run ``sim run`` on it there in a
    fresh process (the code of this repository), and return the estimate and the
    measured peak (MiB). Raises ``CalledProcessError`` if the run fails."""
    from sim.config import load_scenario
    from sim.simulation.resources import LIMIT_ENV, estimate_mb

    path = folder / f"memory-{people}-{services}-{minutes}.toml"
    path.write_text(scenario_text(people, services, minutes), encoding="utf-8")
    report = folder / f"{path.stem}.peak"
    command = [sys.executable, "-c", PROBE, str(report), "run", str(path)]
    command += ["--out", str(folder / path.stem), *([] if dashboard else ["--no-dashboard"])]
    path_env = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path_env, LIMIT_ENV: "0"}  # measure even if refused
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    measured = int(report.read_text()) / 1024  # kB
    estimate = estimate_mb(load_scenario(path).flat)
    return Point(people, services, minutes, estimate, measured, wall, path)


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sim"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' (sim/ modified)' if dirty else ''}" if head else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=PEOPLE)
    parser.add_argument("--services", type=int, nargs="+", default=SERVICES)
    parser.add_argument("--minutes", type=int, nargs="+", default=MINUTES)
    parser.add_argument("--no-dashboard", action="store_true", help="sim run --no-dashboard")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_default import machine

    print(
        "| people | services | minutes | estimate MiB | measured MiB | estimate/measured |", end=""
    )
    print(" wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        for people in args.people:
            for services in args.services:
                for minutes in args.minutes:
                    p = measure(people, services, minutes, Path(tmp), not args.no_dashboard)
                    print(
                        f"| {p.people:,} | {p.services} | {p.minutes:,} | {p.estimate_mb:,.0f} "
                        f"| {p.measured_mb:,.0f} | {p.ratio:.2f} | {p.wall_s:.1f} |",
                        flush=True,
                    )
    info = machine()
    print(
        f"\n{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit {_commit()}, "
        f"{'with' if not args.no_dashboard else 'without'} the dashboard; "
        f"{info['cpu']}, {info['cores']} cores, {info['os']}, Python {info['python']}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
