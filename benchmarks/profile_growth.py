"""Which functions make an event dearer in a larger morning: two scales under cProfile.

Run by hand from the repository root, on the interpreted source (cProfile sees no
function inside the compiled modules)::

    PYTHONPATH=. python benchmarks/profile_growth.py 0.005 0.04

Runs 6 April at each scale in a fresh process under :mod:`cProfile` and compares each
function's own time and number of calls: the *excess* of a function is its own time at
the large scale minus its own time at the small scale multiplied by the ratio of events,
that is, what it costs beyond a flat cost per event. Printed: the events and the own
time per event at each scale, then the functions of largest excess with their time per
call and how their calls grew against the events (1.00: as many per event at both
scales). Profiled code runs several times slower than it does unprofiled and compiled:
read the ranking and the ratios, not the absolute microseconds.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APRIL = ROOT / "experiments" / "2021-04-06.toml"


def profile(scale: float, into: Path) -> None:
    """One run of 6 April at `scale` under cProfile; own time and calls per function."""
    from sim.config import load_scenario
    from sim.config.scale import scale as scaled
    from sim.simulation.runner import run

    scenario = scaled(load_scenario(APRIL), scale).flat
    profiler = cProfile.Profile()
    profiler.enable()
    result = run(scenario)
    profiler.disable()
    rows = {}
    for (file, line, name), (_, calls, own, _, _) in pstats.Stats(profiler).stats.items():
        rows[f"{Path(file).name}:{line}({name})"] = [calls, own]
    into.write_text(json.dumps({"events": result.events, "rows": rows}))


def compare(small: dict, large: dict, top: int) -> str:
    ratio = large["events"] / small["events"]
    own_small = sum(own for _, own in small["rows"].values())
    own_large = sum(own for _, own in large["rows"].values())
    lines = [
        f"events {small['events']:,} -> {large['events']:,} (x{ratio:.2f}); own time per event "
        f"{1e6 * own_small / small['events']:.2f} -> {1e6 * own_large / large['events']:.2f} µs "
        f"(profiled); excess {own_large - own_small * ratio:.1f} s",
        "",
        "| function | excess s | own s (small, large) | µs per call (small, large) "
        "| calls / events |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = []
    for name, (calls_large, own_large_f) in large["rows"].items():
        if name not in small["rows"]:
            continue
        calls_small, own_small_f = small["rows"][name]
        excess = own_large_f - own_small_f * ratio
        rows.append((excess, name, own_small_f, own_large_f, calls_small, calls_large))
    rows.sort(reverse=True)
    for excess, name, own_s, own_l, calls_s, calls_l in rows[:top]:
        lines.append(
            f"| `{name}` | {excess:.2f} | {own_s:.2f}, {own_l:.2f} | "
            f"{1e6 * own_s / calls_s:.2f}, {1e6 * own_l / calls_l:.2f} | "
            f"{calls_l / calls_s / ratio:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("small", type=float)
    parser.add_argument("large", type=float)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # one scale, profiled
    args = parser.parse_args()
    if args.child:
        profile(args.small, args.child)
        return
    with tempfile.TemporaryDirectory() as folder:
        found = []
        for scale in (args.small, args.large):
            into = Path(folder) / f"{scale}.json"
            command = [sys.executable, __file__, str(scale), str(scale), "--child", str(into)]
            subprocess.run(command, cwd=ROOT, check=True)
            found.append(json.loads(into.read_text()))
    print(compare(*found, args.top))


if __name__ == "__main__":
    main()
