"""Whole commands against idiomatic SimPy: ``sim run`` and a SimPy script, one login surge;
and the simulation alone of both against the lean limit, a hand-written heapq loop.

Run by hand from the repository root, with the Python of the build you measure (the
compiled one users get: ``python -m venv /tmp/venv-bench && /tmp/venv-bench/bin/pip
install .``)::

    /tmp/venv-bench/bin/python benchmarks/bench_commands.py            # all of it, 3 pairs
    /tmp/venv-bench/bin/python benchmarks/bench_commands.py --users 45000 180000 --markdown
    /tmp/venv-bench/bin/python benchmarks/bench_commands.py --only agreement \\
        --wrong behaviour.patience.mean_s=22                            # shows the power
    python benchmarks/bench_commands.py --write-scenario  # after changing the workload

The workload is the SimPy script ``benchmarks/simpy_login_surge.py`` (written without
``sim``: a process per user, ``with server.request() as req: result = yield req |
env.timeout(patience)``) and the scenario ``benchmarks/scenarios/login_surge.toml``,
which this script writes from the SimPy script's constants (``--write-scenario``) and
checks before anything else. The scenario is written for 720,000 users; N users are
``sim run --scale N/720000``, which multiplies the 5-second rate pieces and pools the
workers on the one login server (``round(320 * N/720000)``, as the SimPy script does).
The lean loop ``benchmarks/lean_login_surge.py`` is the same workload as a hand-written
heapq event loop drawing the SimPy script's random numbers in the same order (it gives
the same statistics to the last bit, seed for seed): the lean limit of issue 21.

1. **Agreement** (at ``--agree-users``, default 20,000): ``--reps`` runs per side with
   seeds 1, 2, ... (``sim run --seed k``, in process), and Welch's t-test of each
   statistic (users, share served, mean attempts per user, mean wait of the served
   requests) at the 1 % level: PASS when none differs. The lean loop is a third side,
   tested the same way against SimPy and against sim (and said when it is identical to
   SimPy at every seed). ``--wrong PATH=VALUE`` changes the sim side as ``--set``
   would, to see the check FAIL (its power).
2. **Whole processes**, per size in ``--users`` (default 45,000, 180,000, 720,000):
   ``--pairs`` interleaved pairs (the order alternating within pairs) of
   ``sim run benchmarks/scenarios/login_surge.toml --scale F --seed k --no-dashboard
   --out TMP`` and ``python benchmarks/simpy_login_surge.py --users N --seed k --json``,
   each a fresh process timed with ``time.perf_counter`` around ``subprocess.run``
   (its CPU time from the children's rusage); the ratio SimPy / sim per pair, and
   their median. A small untimed pair of each kind comes first (a warm-up). ``sim``
   is the one next to this Python (``--sim`` to choose another).
3. **The simulation alone**, in this process, in rounds of three whose order alternates
   (sim, SimPy, lean; then lean, SimPy, sim): :func:`sim.simulation.runner.run` on the
   scaled scenario (built, simulated, KPIs computed; the scenario loaded and checked
   before the clock starts) against the SimPy script's and the lean loop's
   ``login_surge`` (arrival times drawn, model built and run); the ratios SimPy / sim
   and sim / lean (how far the engine is from the lean limit) per round, and medians.

Exit status: 0, or 1 when the agreement FAILs or a command fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lean_login_surge as lean
import login_surge_workload as workload
import simpy_login_surge as baseline
from bench_default import machine
from bench_engine import ALPHA, agreement

import sim
from sim.config import ScenarioError, load_scenario, s_to_clock
from sim.config.scale import scale
from sim.config.scenario import Scenario
from sim.engine import compiled
from sim.model.people import Fate
from sim.simulation.runner import run

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "benchmarks" / "scenarios" / "login_surge.toml"
SIMPY_SCRIPT = ROOT / "benchmarks" / "simpy_login_surge.py"
WORKLOAD = ROOT / "benchmarks" / "login_surge_workload.py"
SERVICE = "login"
STATISTICS = ("users", "share_served", "mean_attempts", "mean_wait_s")
SIZES = (45_000, 180_000, 720_000)


# ---------------------------------------------------------------- the scenario


def scenario_text() -> str:
    """login_surge.toml, from the SimPy script's constants: the same workload."""
    b = workload
    pieces = [
        f'  {{ from = "{s_to_clock(b.START_S + i * b.BIN_S)}", rate_per_s = {rate!r} }},'
        for i, rate in enumerate(b.full_rates_per_s())
    ]
    pieces.append(f'  {{ from = "{s_to_clock(b.SURGE_END_S)}", rate_per_s = 0.0 }},')
    return f"""\
# The workload of benchmarks/bench_commands.py: a login surge around 9:00, the same
# as benchmarks/simpy_login_surge.py (idiomatic SimPy), written from that script's
# constants by `python benchmarks/bench_commands.py --write-scenario`. The benchmark
# refuses to run when the two differ: change the script, not this file.
#
# {b.FULL_USERS:,} users expected. Poisson arrivals at a rate in 5-second pieces: a
# normal bell (mean {s_to_clock(b.PEAK_S)}, sd {b.SPREAD_S / 60:g} min) cut to \
{s_to_clock(b.START_S)}-{s_to_clock(b.SURGE_END_S)}. One login
# server of {b.FULL_WORKERS} FIFO workers, exponential service (mean {b.MEAN_SERVICE_S:g} s), \
no backlog limit.
# Patience on the wait only (exponential, mean {b.MEAN_PATIENCE_S:g} s): the request then \
leaves
# the queue (a cancelled SimPy request). A retry with probability {b.RETRY_PROBABILITY:g} \
after a
# full-jitter exponential backoff, at most {b.MAX_ATTEMPTS} attempts.
#
# N users: `sim run {SCENARIO.relative_to(ROOT)} --scale N/{b.FULL_USERS}`; below 1,
# --scale keeps the one server with round({b.FULL_WORKERS} x N/{b.FULL_USERS}) workers.
name = "login-surge"
seed = 1
start = "{s_to_clock(b.START_S)}"
end = "{s_to_clock(b.END_S)}"

[behaviour]
patience = {{ kind = "exponential", mean_s = {b.MEAN_PATIENCE_S!r} }}
patience_covers = "wait"
retry_probability = {b.RETRY_PROBABILITY!r}
max_attempts = {b.MAX_ATTEMPTS}
backoff = {{ kind = "exponential_jitter", base_s = {b.BACKOFF_BASE_S!r}, \
factor = {b.BACKOFF_FACTOR!r}, max_s = {b.BACKOFF_MAX_S!r} }}

[services.login]
servers = 1
workers_per_server = {b.FULL_WORKERS}
backlog_per_server = 1_000_000_000 # never full: nobody is rejected
service_time = {{ kind = "exponential", mean_s = {b.MEAN_SERVICE_S!r} }}
drop_abandoned = true

[journeys]
login = ["login"]

[[sources]]
name = "surge"
journey = "login"
role = "pupil"
rates = [
{chr(10).join(pieces)}
]
"""


def scenario_is_current() -> bool:
    return SCENARIO.is_file() and SCENARIO.read_text() == scenario_text()


def sim_scenario(users: int, seed: int, overrides: tuple[str, ...] = ()) -> Scenario:
    """The scenario as ``sim run SCENARIO --set ... --scale users/FULL --seed seed`` runs it."""
    scenario = scale(load_scenario(SCENARIO, list(overrides)), users / workload.FULL_USERS)
    scenario = scenario.model_copy(update={"seed": seed})
    scenario.flat  # noqa: B018 (expanded and checked before any clock starts)
    return scenario


# ---------------------------------------------------------------- in process


def sim_alone(users: int, seed: int, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """One run of the scenario through sim.simulation.runner.run: its statistics and time."""
    scenario = sim_scenario(users, seed, overrides)
    wall0 = time.perf_counter()
    result = run(scenario.flat)
    simulation_s = time.perf_counter() - wall0
    fate = result.people["fate"]
    arrived = fate != Fate.NOT_ARRIVED
    n = int(arrived.sum())
    return {
        "users_expected": users,
        "workers": scenario.flat.services[SERVICE].workers_per_server,
        "seed": seed,
        "users": n,
        "share_served": float((fate == Fate.REACHED).sum() / n),
        "mean_attempts": float(result.people["attempts"][arrived].sum() / n),
        "mean_wait_s": float(result.service_summary[SERVICE]["mean_wait_s"]),
        "simulation_s": simulation_s,
    }


def simpy_alone(users: int, seed: int) -> dict[str, Any]:
    return baseline.login_surge(users, seed)


def lean_alone(users: int, seed: int) -> dict[str, Any]:
    return lean.login_surge(users, seed)


def passes(checks: dict[str, Any]) -> bool:
    return all(c["verdict"] == "PASS" for c in checks.values())


def same_statistics(a: list[dict], b: list[dict]) -> bool:
    """Whether two sides gave exactly the same statistics at every seed."""
    return all(all(x[key] == y[key] for key in STATISTICS) for x, y in zip(a, b, strict=True))


def check_agreement(users: int, reps: int, overrides: tuple[str, ...]) -> dict[str, Any]:
    """`reps` runs per side (seeds 1..reps) and Welch's t-test of each statistic: sim
    against SimPy (``statistics``), and the lean loop against SimPy and against sim."""
    sims, simpys, leans = [], [], []
    for seed in range(1, reps + 1):
        sims.append(sim_alone(users, seed, overrides))
        simpys.append(simpy_alone(users, seed))
        leans.append(lean_alone(users, seed))
        progress(
            f"agreement seed {seed}: sim {sims[-1]['users']:,} users, "
            f"SimPy {simpys[-1]['users']:,}, lean {leans[-1]['users']:,}"
        )
    checks = agreement(sims, simpys, STATISTICS)
    lean_vs_simpy = agreement(leans, simpys, STATISTICS)
    sim_vs_lean = agreement(sims, leans, STATISTICS)
    every = (checks, lean_vs_simpy, sim_vs_lean)
    return {
        "users_expected": users,
        "replications": reps,
        "alpha": ALPHA,
        "sim_overrides": list(overrides),
        "statistics": checks,
        "lean_vs_simpy": lean_vs_simpy,
        "lean_identical_to_simpy": same_statistics(leans, simpys),
        "sim_vs_lean": sim_vs_lean,
        "verdict": "PASS" if all(passes(c) for c in every) else "FAIL",
    }


# ---------------------------------------------------------------- whole processes


def default_sim() -> list[str]:
    """The `sim` installed next to this Python, else ``python -m sim``."""
    script = Path(sys.executable).parent / "sim"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sim"]


def sim_command(sim_exe: list[str], users: int, seed: int, out: Path) -> list[str]:
    factor = users / workload.FULL_USERS
    return [
        *sim_exe,
        "run",
        str(SCENARIO.relative_to(ROOT)),
        "--scale",
        repr(factor),
        "--seed",
        str(seed),
        "--no-dashboard",
        "--out",
        str(out),
    ]


def simpy_command(users: int, seed: int) -> list[str]:
    return [
        sys.executable,
        str(SIMPY_SCRIPT.relative_to(ROOT)),
        "--users",
        str(users),
        "--seed",
        str(seed),
        "--json",
    ]


class CommandFailed(RuntimeError):
    pass


def timed_process(command: list[str]) -> dict[str, Any]:
    """Run `command` from the repository root; its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0 = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - wall0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CommandFailed(f"{' '.join(command)} exited with {done.returncode}: {last}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "stdout": done.stdout}


def whole_pair(sim_exe: list[str], users: int, seed: int, sim_first: bool) -> dict[str, Any]:
    """`sim run` and the SimPy script, each once as a fresh process, in the given order."""
    work = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    try:
        runs = {
            "sim": lambda: timed_process(sim_command(sim_exe, users, seed, work / "out")),
            "simpy": lambda: timed_process(simpy_command(users, seed)),
        }
        order = ("sim", "simpy") if sim_first else ("simpy", "sim")
        pair = {name: runs[name]() for name in order}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    simpy_stats = json.loads(pair["simpy"].pop("stdout"))
    pair["sim"].pop("stdout")
    pair["simpy"]["users"] = simpy_stats["users"]
    pair["ratio"] = pair["simpy"]["wall_s"] / pair["sim"]["wall_s"]
    pair["cpu_ratio"] = pair["simpy"]["cpu_s"] / pair["sim"]["cpu_s"]
    return pair


def alone_round(users: int, seed: int, sim_first: bool) -> dict[str, Any]:
    """The simulation alone of sim, SimPy and the lean loop, in this order or reversed."""
    runs = {
        "sim": lambda: sim_alone(users, seed),
        "simpy": lambda: simpy_alone(users, seed),
        "lean": lambda: lean_alone(users, seed),
    }
    order = ("sim", "simpy", "lean") if sim_first else ("lean", "simpy", "sim")
    round_ = {name: runs[name]() for name in order}
    seconds = {name: round_[name]["simulation_s"] for name in order}
    round_["ratio"] = seconds["simpy"] / seconds["sim"]
    round_["sim_lean_ratio"] = seconds["sim"] / seconds["lean"]
    round_["simpy_lean_ratio"] = seconds["simpy"] / seconds["lean"]
    return round_


WARM_UP_USERS = 1_000


def warm_up(sim_exe: list[str]) -> None:
    """One small untimed pair of each kind first: the first process of a series reads its
    files from disk (and the first in-process run imports what the model imports late),
    which would be charged to whichever side went first."""
    whole_pair(sim_exe, WARM_UP_USERS, 0, sim_first=True)
    alone_round(WARM_UP_USERS, 0, sim_first=True)


def time_size(sim_exe: list[str], users: int, pairs: int, seed: int) -> dict[str, Any]:
    """Interleaved pairs at one size: whole processes, then the simulation alone."""
    whole, alone = [], []
    for i in range(pairs):
        whole.append(whole_pair(sim_exe, users, seed + i, sim_first=i % 2 == 0))
        w = whole[-1]
        progress(
            f"{users:,} users, pair {i + 1} whole: sim {w['sim']['wall_s']:.2f} s, "
            f"SimPy {w['simpy']['wall_s']:.2f} s, ratio {w['ratio']:.2f}, load {load_average()[0]}"
        )
    for i in range(pairs):
        alone.append(alone_round(users, seed + i, sim_first=i % 2 == 0))
        a = alone[-1]
        progress(
            f"{users:,} users, round {i + 1} alone: sim {a['sim']['simulation_s']:.2f} s, "
            f"SimPy {a['simpy']['simulation_s']:.2f} s, lean {a['lean']['simulation_s']:.2f} s, "
            f"SimPy / sim {a['ratio']:.2f}, sim / lean {a['sim_lean_ratio']:.2f}, "
            f"load {load_average()[0]}"
        )
    return {
        "users_expected": users,
        "workers": workload.workers_for(users),
        "whole": whole,
        "whole_median_ratio": statistics.median(p["ratio"] for p in whole),
        "whole_median_cpu_ratio": statistics.median(p["cpu_ratio"] for p in whole),
        "alone": alone,
        "alone_median_ratio": statistics.median(p["ratio"] for p in alone),
        "alone_median_sim_lean_ratio": statistics.median(p["sim_lean_ratio"] for p in alone),
        "alone_median_simpy_lean_ratio": statistics.median(p["simpy_lean_ratio"] for p in alone),
    }


# ---------------------------------------------------------------- report


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def commit() -> str:
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def sim_version(sim_exe: list[str]) -> str:
    done = subprocess.run([*sim_exe, "--version"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or done.stderr.strip()


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


# the three comparisons of the agreement: (key in the report, first side, second side)
COMPARISONS = (
    ("statistics", "sim", "SimPy"),
    ("lean_vs_simpy", "lean", "SimPy"),
    ("sim_vs_lean", "sim", "lean"),
)


def agreement_markdown(a: dict[str, Any]) -> list[str]:
    lines = [
        f"Agreement at {a['users_expected']:,} users, {a['replications']} runs per side, "
        f"Welch's t-test at {a['alpha']:.0%} per statistic"
        + (f" (sim side with {', '.join(a['sim_overrides'])})" if a["sim_overrides"] else "")
        + f": **{a['verdict']}**"
        + (
            "; the lean loop's statistics are the SimPy script's, to the last bit, at every seed"
            if a.get("lean_identical_to_simpy")
            else ""
        ),
        "",
        "| statistic | sides | first mean | second mean | difference (95 % CI) | p | verdict |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for key, first, second in COMPARISONS:
        for statistic, c in a.get(key, {}).items():
            lo, hi = c["difference_ci95"]
            lines.append(
                f"| {statistic} | {first} / {second} | {c['engine_mean']:.5g} | "
                f"{c['baseline_mean']:.5g} | {c['difference']:+.3g} [{lo:+.3g}, {hi:+.3g}] | "
                f"{c['p_value']:.3f} | {c['verdict']} |"
            )
    return [*lines, ""]


def timing_markdown(sizes: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| users (workers) | measured | sim s (per pair) | SimPy s (per pair) "
        "| SimPy / sim (per pair) | median |",
        "|---|---|---|---|---|---:|",
    ]
    for size in sizes:
        whole, alone = size["whole"], size["alone"]
        label = f"{size['users_expected']:,} ({size['workers']})"
        lines += [
            f"| {label} | whole process, wall | {_seconds([p['sim']['wall_s'] for p in whole])} "
            f"| {_seconds([p['simpy']['wall_s'] for p in whole])} "
            f"| {_seconds([p['ratio'] for p in whole])} | **{size['whole_median_ratio']:.2f}x** |",
            f"| | whole process, CPU | {_seconds([p['sim']['cpu_s'] for p in whole])} "
            f"| {_seconds([p['simpy']['cpu_s'] for p in whole])} "
            f"| {_seconds([p['cpu_ratio'] for p in whole])} "
            f"| {size['whole_median_cpu_ratio']:.2f}x |",
            f"| | simulation alone | {_seconds([p['sim']['simulation_s'] for p in alone])} "
            f"| {_seconds([p['simpy']['simulation_s'] for p in alone])} "
            f"| {_seconds([p['ratio'] for p in alone])} | {size['alone_median_ratio']:.2f}x |",
        ]
    lines += [
        "",
        "The simulation alone against the lean loop (`benchmarks/lean_login_surge.py`), "
        "in the same rounds:",
        "",
        "| users (workers) | lean s (per round) | sim / lean (per round) | median sim / lean "
        "| median SimPy / lean |",
        "|---|---|---|---:|---:|",
    ]
    for size in sizes:
        alone = size["alone"]
        lines.append(
            f"| {size['users_expected']:,} ({size['workers']}) "
            f"| {_seconds([p['lean']['simulation_s'] for p in alone])} "
            f"| {_seconds([p['sim_lean_ratio'] for p in alone])} "
            f"| **{size['alone_median_sim_lean_ratio']:.2f}x** "
            f"| {size['alone_median_simpy_lean_ratio']:.2f}x |"
        )
    return lines


def markdown(report: dict[str, Any]) -> str:
    """The figures as docs/performance.md shows them, ready to paste."""
    m = report["machine"]
    lines = [
        f"`{report['command']}`, {report['date']}, commit {report['commit']}, "
        f"load average {report['load_average_before']} before, "
        f"{report['load_average_after']} after; {m['cpu']}, {m['cores']} cores, "
        f"Python {m['python']}, SimPy {m['simpy']}, NumPy {m['numpy']}; "
        f"`{' '.join(report['sim_command'])}`: {report['sim_version']}.",
        "",
    ]
    if "agreement" in report:
        lines += agreement_markdown(report["agreement"])
    if report["sizes"]:
        lines += timing_markdown(report["sizes"])
    return "\n".join(lines)


def print_agreement(a: dict[str, Any]) -> None:
    print(
        f"\nagreement  {a['replications']} runs per side of {a['users_expected']:,} users, "
        f"Welch's t-test, alpha {a['alpha']} per statistic"
        + (f"; sim side with {' '.join(a['sim_overrides'])}" if a["sim_overrides"] else "")
    )
    for key, first, second in COMPARISONS:
        if key not in a:
            continue
        print(f"{'statistic':16s}{first:>12s}{second:>12s}{'diff (95% CI)':>34s}{'p':>8s}  verdict")
        for statistic, c in a[key].items():
            lo, hi = c["difference_ci95"]
            ci = f"{c['difference']:+.4g} [{lo:+.3g}, {hi:+.3g}]"
            print(
                f"{statistic:16s}{c['engine_mean']:12.5g}{c['baseline_mean']:12.5g}{ci:>34s}"
                f"{c['p_value']:8.3f}  {c['verdict']}"
            )
    if a.get("lean_identical_to_simpy"):
        print("lean loop: the SimPy script's statistics, to the last bit, at every seed")
    print(f"overall: {a['verdict']}")


def print_size(size: dict[str, Any]) -> None:
    print(f"\n{size['users_expected']:,} users, {size['workers']} workers (SimPy / sim)")
    for p in size["whole"]:
        print(
            f"  whole  sim {p['sim']['wall_s']:7.2f} s ({p['sim']['cpu_s']:6.2f} cpu)  "
            f"SimPy {p['simpy']['wall_s']:7.2f} s ({p['simpy']['cpu_s']:6.2f} cpu)  "
            f"ratio {p['ratio']:.2f} (cpu {p['cpu_ratio']:.2f})"
        )
    for p in size["alone"]:
        print(
            f"  alone  sim {p['sim']['simulation_s']:7.2f} s  "
            f"SimPy {p['simpy']['simulation_s']:7.2f} s  ratio {p['ratio']:.2f}  "
            f"lean {p['lean']['simulation_s']:7.2f} s  sim / lean {p['sim_lean_ratio']:.2f}"
        )
    print(
        f"  median ratio: whole process {size['whole_median_ratio']:.2f}x "
        f"(cpu {size['whole_median_cpu_ratio']:.2f}x), "
        f"simulation alone {size['alone_median_ratio']:.2f}x; "
        f"sim / lean {size['alone_median_sim_lean_ratio']:.2f}x, "
        f"SimPy / lean {size['alone_median_simpy_lean_ratio']:.2f}x"
    )


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"machine    {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), {m['os']}")
    print(f"versions   python {m['python']}, simpy {m['simpy']}, numpy {m['numpy']}")
    print(f"sim        `{' '.join(report['sim_command'])}`: {report['sim_version']}")
    print(f"in process sim from {report['sim_in_process']} ({report['sim_in_process_build']})")
    print(
        f"commit     {report['commit']}, {report['date']}, load average "
        f"{report['load_average_before']} before, {report['load_average_after']} after"
    )
    if "agreement" in report:
        print_agreement(report["agreement"])
    for size in report["sizes"]:
        print_size(size)


# ---------------------------------------------------------------- command line


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--users", type=int, nargs="+", default=list(SIZES), help="the sizes timed (users)"
    )
    parser.add_argument(
        "--pairs", type=int, default=3, help="interleaved pairs (and rounds) per size"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the first pair")
    parser.add_argument("--agree-users", type=int, default=20_000, help="users per agreement run")
    parser.add_argument("--reps", type=int, default=5, help="agreement runs per side (>= 2)")
    parser.add_argument(
        "--wrong",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="change the sim side of the agreement as --set does (to see it FAIL)",
    )
    parser.add_argument("--only", choices=("agreement", "timing"), help="one part only")
    parser.add_argument(
        "--sim",
        help="the sim command to time, e.g. 'python -m sim' [default: the sim next to "
        "this Python, else this Python -m sim]",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--write-scenario",
        action="store_true",
        help=f"(re)write {SCENARIO.relative_to(ROOT)} from {WORKLOAD.name}, then exit",
    )
    args = parser.parse_args(argv)
    full = workload.FULL_USERS
    if any(not 1 <= n <= full for n in [*args.users, args.agree_users]):
        parser.error(
            f"--users and --agree-users must be from 1 to {full:,} (the scenario's size: "
            "above it, --scale would split the login service into several servers)"
        )
    if args.pairs < 1 or args.reps < 2 or args.seed < 0:
        parser.error("--pairs must be >= 1, --reps >= 2, --seed >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.write_scenario:
        SCENARIO.write_text(scenario_text())
        print(f"wrote {SCENARIO.relative_to(ROOT)}")
        return 0
    if not scenario_is_current():
        print(
            f"error: {SCENARIO.relative_to(ROOT)} is not the workload of "
            f"{WORKLOAD.relative_to(ROOT)}; rewrite it with --write-scenario",
            file=sys.stderr,
        )
        return 2
    try:
        sim_scenario(args.agree_users, args.seed, tuple(args.wrong))
    except (ScenarioError, ValueError) as e:
        print(f"error: --wrong: {' '.join(str(e).splitlines())}", file=sys.stderr)
        return 2
    sim_exe = args.sim.split() if args.sim else default_sim()
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python", *sys.argv]) if argv is None else " ".join(argv),
        "commit": commit(),
        "machine": machine(),
        "sim_command": sim_exe,
        "sim_version": sim_version(sim_exe),
        "sim_in_process": str(Path(sim.__file__).parent),
        "sim_in_process_build": compiled.describe(),
        "load_average_before": load_average(),
        "sizes": [],
    }
    try:
        if args.only != "timing":
            report["agreement"] = check_agreement(args.agree_users, args.reps, tuple(args.wrong))
        if args.only != "agreement":
            warm_up(sim_exe)
            for users in args.users:
                report["sizes"].append(time_size(sim_exe, users, args.pairs, args.seed))
    except CommandFailed as e:
        print(f"error: {' '.join(str(e).splitlines())}", file=sys.stderr)
        return 1
    report["load_average_after"] = load_average()
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.markdown:
        print(markdown(report))
    else:
        print_report(report)
    return 0 if report.get("agreement", {}).get("verdict", "PASS") == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
