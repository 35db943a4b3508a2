"""Time the bookkeeping of a large experiment: keys of 10^5 jobs of one scenario and
the plan of what to run (issue 16 asks for under 2 s). No run is made.

    PYTHONPATH=. python benchmarks/bench_jobs.py [jobs]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sim.config import load_scenario
from sim.experiments.execution import Job, plan_jobs

ROOT = Path(__file__).resolve().parent.parent


def main(n: int = 100_000) -> None:
    scenario = load_scenario(ROOT / "experiments" / "default.toml")
    began = time.perf_counter()
    _records, todo = plan_jobs([Job(scenario, k, scenario.seed) for k in range(n)])
    took = time.perf_counter() - began
    print(f"{n:,} jobs planned in {took:.2f} s ({len(todo):,} to run)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
