"""Time one morning of the model: ``sim.simulation.runner.run`` on a scenario, nothing
written to disk.

Run by hand from the repository root::

    python benchmarks/bench_default.py                      # experiments/default.toml, once
    python benchmarks/bench_default.py --repeat 3           # median and min of 3 runs
    python benchmarks/bench_default.py --set services.login.servers=6 --json

What is timed is the call to :func:`sim.simulation.runner.run` only (build the model, simulate,
compute the KPIs), not loading the scenario or writing results. Rates divide by that wall
time: people/s is ``kpi.arrived``, requests/s the sum of every service's arrivals
(attempts and in-class requests), events/s the SimPy events processed. Peak RSS is the
process's high-water mark (``getrusage``) after all runs, so it covers the largest run.

For a profile of one run::

    python -m cProfile -o /tmp/bench.prof benchmarks/bench_default.py
    python -c "import pstats; pstats.Stats('/tmp/bench.prof').sort_stats('tottime').print_stats(15)"
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import sim
from sim.config import ScenarioError, load_scenario
from sim.simulation.runner import run

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = ROOT / "experiments" / "default.toml"


def code_digest() -> str:
    """Short SHA-256 of the ``sim`` package's sources, to tie figures to a code version."""
    package = Path(sim.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


CODE = code_digest()  # taken at import time, when the timed code was loaded


def machine() -> dict[str, Any]:
    """CPU model, core counts and the versions that matter for speed."""
    cpu, mhz = None, None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name" and cpu is None:
                cpu = value
            elif key == "cpu MHz" and mhz is None:
                mhz = float(value)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu or platform.processor() or "unknown",
        "cpu_mhz": mhz,
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "simpy": version("simpy"),
        "numpy": version("numpy"),
    }


def peak_rss_mib() -> float:
    """High-water resident set size of this process, in MiB (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def one_run(scenario: Any, seed: int | None) -> dict[str, Any]:
    started = time.perf_counter()
    result = run(scenario.flat, seed=seed)
    wall = time.perf_counter() - started
    people = int(result.kpi["arrived"])
    requests = int(sum(s["arrivals"] for s in result.service_summary.values()))
    return {
        "wall_s": wall,
        "people": people,
        "requests": requests,
        "events": result.events,
        "people_per_s": people / wall,
        "requests_per_s": requests / wall,
        "events_per_s": result.events / wall,
    }


RATES = ("wall_s", "people_per_s", "requests_per_s", "events_per_s")


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each figure, and the figures of the fastest run (min wall time)."""
    fastest = min(runs, key=lambda r: r["wall_s"])
    return {
        key: {"median": statistics.median(r[key] for r in runs), "fastest": fastest[key]}
        for key in RATES
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario TOML")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a scenario field, as with `sim run --set` (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed [default: the scenario's]")
    parser.add_argument("--repeat", type=int, default=1, help="number of timed runs")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    try:
        scenario = load_scenario(args.scenario, args.overrides)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    runs = []
    for k in range(args.repeat):
        runs.append(one_run(scenario, args.seed))
        if not args.json:
            r = runs[-1]
            print(f"run {k + 1}/{args.repeat}: {r['wall_s']:.2f} s", file=sys.stderr, flush=True)
    counts = {(r["people"], r["requests"], r["events"]) for r in runs}
    if len(counts) != 1:  # same seed, same scenario: every run must do the same work
        print(f"warning: runs differ in work done: {sorted(counts)}", file=sys.stderr)

    report = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "scenario": str(args.scenario),
        "overrides": args.overrides,
        "seed": scenario.seed if args.seed is None else args.seed,
        "code_sha256": CODE,
        "repeat": args.repeat,
        "work": {k: runs[0][k] for k in ("people", "requests", "events")},
        "summary": summarise(runs),
        "runs": runs,
        "peak_rss_mib": peak_rss_mib(),
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


def print_table(report: dict[str, Any]) -> None:
    m, w, s = report["machine"], report["work"], report["summary"]
    overrides = "".join(f" --set {o}" for o in report["overrides"])
    print(f"scenario   {report['scenario']}{overrides} (seed {report['seed']})")
    print(
        f"work       {w['people']:,} people, {w['requests']:,} requests, "
        f"{w['events']:,} events per run"
    )
    print(
        f"machine    {m['cpu']} @ {m['cpu_mhz'] or '?'} MHz, {m['cores']} cores "
        f"({m['cores_usable']} usable), {m['os']}"
    )
    print(f"versions   python {m['python']}, simpy {m['simpy']}, numpy {m['numpy']}")
    print(f"code       sim sources sha256 {report['code_sha256']}")
    print(f"date       {report['date']}")
    print()
    n = report["repeat"]
    head = ("", f"median of {n}", "fastest run") if n > 1 else ("", "value", "")
    print(f"{head[0]:<14}{head[1]:>14}{head[2]:>14}")
    labels = {
        "wall_s": ("wall time (s)", "{:.2f}"),
        "people_per_s": ("people/s", "{:,.0f}"),
        "requests_per_s": ("requests/s", "{:,.0f}"),
        "events_per_s": ("events/s", "{:,.0f}"),
    }
    for key in RATES:
        label, fmt = labels[key]
        median = fmt.format(s[key]["median"])
        fastest = fmt.format(s[key]["fastest"]) if n > 1 else ""
        print(f"{label:<14}{median:>14}{fastest:>14}")
    print(f"{'peak RSS (MiB)':<14}{report['peak_rss_mib']:>14.0f}")


if __name__ == "__main__":
    sys.exit(main())
