"""How attack traffic is simulated, and what batching costs and changes.

Application floods are generated in batches (see sim/model/attacks.py): at most
``MAX_BATCHES_PER_S`` queue entries per second whatever the attack rate. This script
runs the same flood with batching (the default) and request by request (batch of one),
on the same seed, and reports wall time, attack requests simulated per second of wall
time, and the legitimate KPIs of both, so that the approximation can be judged.

    python benchmarks/bench_attacks.py [--rate 2000] [--minutes 30] [--reps 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from sim.config import load_scenario
from sim.model import attacks
from sim.simulation.runner import run

SCENARIO = "tests/scenarios/surge.toml"


def flood(rate: float, minutes: float) -> list[str]:
    return [
        "end=09:45",
        "services.login.servers=8",  # capacity for the surge and a share of the flood
        "services.login.workers_per_server=8",
        f'attacks=[{{name="flood", kind="application", target="login", start="08:45", '
        f"duration_min={minutes}, rate_per_s={rate}, bots=1000, cost=1.0}}]",
    ]


def once(rate: float, minutes: float, max_batches: float, replication: int) -> dict:
    attacks.MAX_BATCHES_PER_S = max_batches
    scenario = load_scenario(SCENARIO, flood(rate, minutes))
    t0 = time.perf_counter()
    result = run(scenario.flat, replication=replication)
    wall = time.perf_counter() - t0
    login = result.service_summary["login"]
    return {
        "wall": wall,
        "attack": login["attack_requests"],
        "in_class": result.kpi["share_in_class"],
        "p95_wait": login["p95_wait_s"],
        "mean_wait": login["mean_wait_s"],
        "attack_served": login["attack_served"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="attack requests/s")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    default = attacks.MAX_BATCHES_PER_S
    rows = {"batched": [], "one by one": []}
    for k in range(args.reps):  # interleaved, so that machine noise hits both alike
        rows["batched"].append(once(args.rate, args.minutes, default, k))
        rows["one by one"].append(once(args.rate, args.minutes, float("inf"), k))
    print(f"flood {args.rate:.0f} req/s for {args.minutes:.0f} min, {args.reps} replications")
    print(
        f"{'mode':12s} {'wall s':>8s} {'attack req/s of wall':>21s} {'in class':>9s} "
        f"{'mean wait s':>12s} {'p95 wait s':>11s} {'attack served':>14s}"
    )
    for mode, runs in rows.items():
        med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(
            f"{mode:12s} {med['wall']:8.2f} {med['attack'] / med['wall']:21,.0f} "
            f"{med['in_class']:9.4f} {med['mean_wait']:12.3f} {med['p95_wait']:11.3f} "
            f"{med['attack_served']:14,.0f}"
        )


if __name__ == "__main__":
    main()
