"""One run of a scenario, timed, with a hash of what it produced.

Run by hand from the repository root, once per code tree to compare::

    PYTHONPATH=TREE python benchmarks/hash_run.py experiments/national.toml 0.1

Loads the scenario, scales it (``sim.config.scale.scale``, as ``sim run --scale``), times
:func:`sim.simulation.runner.run` and prints one JSON line: the code tree it ran, CPU and wall
time, events, people, peak RSS, a SHA-256 of the people table and one of everything the
run measured (:func:`sim.simulation.runner.digest`), 12 hex digits each. Two code trees (or builds)
that print the same hashes simulated the same morning, person by person: how the
engine's speed-ups of issue 7 were checked to change nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import time

import numpy as np

import sim
from sim.config import load_scenario
from sim.config.scale import scale
from sim.simulation.runner import digest, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("scale", type=float, nargs="?", default=1.0)
    args = parser.parse_args()
    scenario = scale(load_scenario(args.scenario), args.scale)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = run(scenario.flat)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    people = hashlib.sha256()
    for _, column in sorted(result.people.items()):
        people.update(np.ascontiguousarray(column).tobytes())
    print(
        json.dumps(
            {
                "code": sim.__file__.rsplit("/sim/", 1)[0],
                "scale": args.scale,
                "cpu_s": round(cpu, 3),
                "wall_s": round(wall, 3),
                "events": result.events,
                "people": int(result.kpi.get("arrived", 0)),
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                "people_sha256": people.hexdigest()[:12],
                "digest": digest(result)[:12],
            }
        )
    )


if __name__ == "__main__":
    main()
