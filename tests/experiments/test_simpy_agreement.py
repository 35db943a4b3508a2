"""The login surge of benchmarks/bench_commands.py: `sim` agrees with idiomatic SimPy.

The benchmark compares the speed of ``sim run benchmarks/scenarios/login_surge.toml``
with benchmarks/simpy_login_surge.py; that means something only while the two simulate
the same workload. Here, small: 6,000 users, seeds 1-4 on each side (fixed, so the
verdict is the same on every run). A statistic agrees when the two means differ by less
than 5 standard errors of their difference (each side's error from the spread of its
four runs, combined as in Welch's test). The bound is loose so that a change of random
streams does not fail it by chance (with so few runs, |t| > 5 happens 0.25-1.5 % of the
time per statistic, as Welch's degrees of freedom go from 6 to 3); it catches gross
differences only (one attempt instead of five, below), not fine ones: at this size, near
capacity, the statistics vary a lot from seed to seed (a SimPy side with a patience of
30 s instead of 20 s stays within 1.5 standard errors).
``python benchmarks/bench_commands.py --only agreement`` is the finer check (20,000
users, 5 runs per side, Welch's t-test at 1 %).
"""

from __future__ import annotations

import math
import statistics

from benchmarks.bench_commands import STATISTICS, scenario_is_current, sim_alone, simpy_alone

USERS = 6_000
SEEDS = (1, 2, 3, 4)
TOLERANCE_SE = 5.0


def gaps_in_standard_errors(sim_overrides: tuple[str, ...] = ()) -> dict[str, float]:
    """Per statistic, |mean(sim) - mean(SimPy)| over the standard error of that difference."""
    sims = [sim_alone(USERS, seed, sim_overrides) for seed in SEEDS]
    simpys = [simpy_alone(USERS, seed) for seed in SEEDS]
    gaps = {}
    for key in STATISTICS:
        a, b = [r[key] for r in sims], [r[key] for r in simpys]
        se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
        diff = abs(statistics.fmean(a) - statistics.fmean(b))
        gaps[key] = diff / se if se else (0.0 if diff == 0 else math.inf)
    return gaps


def test_the_scenario_file_is_the_simpy_scripts_workload():
    assert scenario_is_current(), "run: python benchmarks/bench_commands.py --write-scenario"


def test_sim_and_simpy_agree_on_every_statistic():
    gaps = gaps_in_standard_errors()
    assert all(gap < TOLERANCE_SE for gap in gaps.values()), gaps


def test_the_check_sees_a_different_model():
    gaps = gaps_in_standard_errors(("behaviour.max_attempts=1",))
    assert max(gaps.values()) > TOLERANCE_SE, gaps
