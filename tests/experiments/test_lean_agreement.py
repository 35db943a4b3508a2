"""The lean loop of benchmarks/bench_commands.py simulates the SimPy script's login surge.

benchmarks/lean_login_surge.py is the "lean limit" issue 21 measures the engine against:
the same workload as benchmarks/simpy_login_surge.py, written as a hand-written heapq
loop. Its speed means something only while it simulates the same model; and it draws the
SimPy script's random numbers in the same order, so it gives the same statistics to the
last bit, seed for seed. Both are checked here, small (6,000 users, seeds 1-4, fixed):
the identity (which any change of the model or of the order of the draws breaks), and,
should a faster loop some day draw in another order, the looser check of
test_simpy_agreement.py (means within 5 standard errors of their difference), with its
power: a lean loop of one attempt instead of five fails it.
``python benchmarks/bench_commands.py --only agreement`` is the finer check (20,000
users, 5 runs per side, Welch's t-test at 1 %, the lean loop against SimPy and sim).
"""

from __future__ import annotations

import functools
import json
import math
import statistics

from benchmarks import bench_commands

USERS = 6_000
SEEDS = (1, 2, 3, 4)
TOLERANCE_SE = 5.0


@functools.cache
def simpy_runs() -> tuple[dict, ...]:
    return tuple(bench_commands.simpy_alone(USERS, seed) for seed in SEEDS)


def lean_runs(**model) -> list[dict]:
    return [bench_commands.lean.login_surge(USERS, seed, **model) for seed in SEEDS]


def measured(run: dict) -> dict:
    """A run's result without its timing."""
    return {key: value for key, value in run.items() if key != "simulation_s"}


def gaps_in_standard_errors(a_runs: list[dict], b_runs: list[dict]) -> dict[str, float]:
    """Per statistic, |mean(a) - mean(b)| over the standard error of that difference."""
    gaps = {}
    for key in bench_commands.STATISTICS:
        a, b = [r[key] for r in a_runs], [r[key] for r in b_runs]
        se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
        diff = abs(statistics.fmean(a) - statistics.fmean(b))
        gaps[key] = diff / se if se else (0.0 if diff == 0 else math.inf)
    return gaps


def test_the_lean_loop_gives_the_simpy_scripts_statistics_to_the_last_bit():
    lean = [measured(run) for run in lean_runs()]
    simpy = [measured(run) for run in simpy_runs()]
    assert lean == simpy


def test_the_lean_loop_and_simpy_agree_on_every_statistic():
    gaps = gaps_in_standard_errors(lean_runs(), list(simpy_runs()))
    assert all(gap < TOLERANCE_SE for gap in gaps.values()), gaps


def test_the_check_sees_a_different_model():
    gaps = gaps_in_standard_errors(lean_runs(max_attempts=1), list(simpy_runs()))
    assert max(gaps.values()) > TOLERANCE_SE, gaps


def test_the_lean_loops_command_line_prints_the_simpy_scripts_json(capsys):
    assert bench_commands.lean.main(["--users", "300", "--seed", "3", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert measured(printed) == measured(bench_commands.simpy_alone(300, 3))
