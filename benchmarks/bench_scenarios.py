"""Wall time and peak memory of whole scenarios, each run in a fresh process.

Run by hand from the repository root::

    python benchmarks/bench_scenarios.py                       # default + 6 April at 0.1
    python benchmarks/bench_scenarios.py --one-to-one          # 6 April at full size
    python benchmarks/bench_scenarios.py --national experiments/national.toml
    python benchmarks/bench_scenarios.py --skip-default --skip-april --national PATH \\
        --national-scale 0.1 --repeat 2 --json

Each run is a child process (this script with ``--child``) that loads the scenario,
scales it (``sim.config.scale.scale``, as ``sim run --scale``), times
:func:`sim.simulation.runner.run` and reports its own peak resident memory
(``getrusage(RUSAGE_SELF).ru_maxrss``), so that the peak of one scenario is not hidden
by the peak of an earlier one. The peak includes the interpreter and the imports
(``import_rss_mib``: the high-water mark before loading the scenario). Nothing is
written to disk.

Printed per scenario: people (``kpi.arrived``), events, wall time of ``run()`` (the
median of ``--repeat`` runs, and the fastest), CPU time, people/s and events/s of the
fastest run, peak RSS (the largest of the runs), and the load average when the run
started and ended.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_default import CODE, machine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "experiments" / "default.toml"
APRIL = ROOT / "experiments" / "2021-04-06.toml"


def _rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def child(path: str, factor: float, seed: int | None) -> None:
    """Run one scenario in this process and print one JSON line of figures."""
    import_rss = _rss_mib()
    from sim.config import load_scenario
    from sim.config.scale import scale
    from sim.simulation.runner import run

    import_rss = max(import_rss, _rss_mib())
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    scenario = scale(load_scenario(path), factor)
    load_s = time.perf_counter() - t0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = run(scenario.flat, seed=seed)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    people = int(result.kpi["arrived"])
    out = {
        "people": people,
        "people_total": int(result.kpi["people"]),
        "events": int(result.events),
        "wall_s": wall,
        "cpu_s": cpu,
        "load_s": load_s,
        "people_per_s": people / wall,
        "events_per_s": result.events / wall,
        "peak_rss_mib": _rss_mib(),
        "import_rss_mib": import_rss,
        "load_average": [load0, os.getloadavg()[0]],
    }
    print(json.dumps(out))


def measure(path: Path, factor: float, seed: int | None, repeat: int) -> dict[str, Any]:
    runs = []
    for k in range(repeat):
        command = [sys.executable, __file__, "--child", str(path), "--child-scale", str(factor)]
        if seed is not None:
            command += ["--seed", str(seed)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{path} at scale {factor} failed:\n{done.stderr}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(
            f"  {path.name} x{factor:g} run {k + 1}/{repeat}: {runs[-1]['wall_s']:.1f} s, "
            f"{runs[-1]['peak_rss_mib']:.0f} MiB",
            file=sys.stderr,
            flush=True,
        )
    fastest = min(runs, key=lambda r: r["wall_s"])
    return {
        "scenario": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        "scale": factor,
        "people": fastest["people"],
        "events": fastest["events"],
        "wall_s_median": statistics.median(r["wall_s"] for r in runs),
        "wall_s_fastest": fastest["wall_s"],
        "cpu_s_fastest": fastest["cpu_s"],
        "people_per_s": fastest["people_per_s"],
        "events_per_s": fastest["events_per_s"],
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        "import_rss_mib": fastest["import_rss_mib"],
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--april-scale", type=float, default=0.1, help="scale of 2021-04-06")
    parser.add_argument("--one-to-one", action="store_true", help="2021-04-06 at scale 1")
    parser.add_argument("--national", type=Path, help="a national scenario file (any path)")
    parser.add_argument("--national-scale", type=float, default=1.0)
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument("--skip-april", action="store_true")
    parser.add_argument("--seed", type=int, default=None, help="seed [default: the scenario's]")
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.child_scale, args.seed)
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    plan: list[tuple[Path, float]] = []
    if not args.skip_default:
        plan.append((DEFAULT, 1.0))
    if not args.skip_april:
        plan.append((APRIL, 1.0 if args.one_to_one else args.april_scale))
    if args.national is not None:
        if not args.national.is_file():
            parser.error(f"--national: no such file {args.national}")
        plan.append((args.national.resolve(), args.national_scale))
    if not plan:
        parser.error("nothing to run")
    load_before = [round(x, 2) for x in os.getloadavg()]
    rows = [measure(path, factor, args.seed, args.repeat) for path, factor in plan]
    report = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "code_sha256": CODE,
        "repeat": args.repeat,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
        "scenarios": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    m = report["machine"]
    print(f"machine  {m['cpu']}, {m['cores']} cores, python {m['python']}, simpy {m['simpy']}")
    print(f"code     sim sources sha256 {report['code_sha256']}; date {report['date']}")
    print(f"load     {report['load_average_before']} before, {report['load_average_after']} after")
    print()
    print(
        f"{'scenario':34s}{'scale':>7s}{'people':>11s}{'events':>13s}{'wall s':>9s}"
        f"{'(fastest)':>10s}{'cpu s':>8s}{'people/s':>10s}{'events/s':>10s}{'peak RSS MiB':>14s}"
    )
    for r in rows:
        print(
            f"{r['scenario']:34s}{r['scale']:7g}{r['people']:11,d}{r['events']:13,d}"
            f"{r['wall_s_median']:9.1f}{r['wall_s_fastest']:10.1f}{r['cpu_s_fastest']:8.1f}"
            f"{r['people_per_s']:10,.0f}{r['events_per_s']:10,.0f}{r['peak_rss_mib']:14.0f}"
        )
    print(f"(peak RSS includes ~{rows[0]['import_rss_mib']:.0f} MiB of interpreter and imports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
