"""The engine against idiomatic SimPy on the same login surge: speed, and same statistics.

Run by hand from the repository root::

    python benchmarks/bench_engine.py                          # 200,000 people, 5 pairs
    python benchmarks/bench_engine.py --people 20000 --repeat 3 --reps 8
    python benchmarks/bench_engine.py --profile 15             # top 15 functions, each side
    python benchmarks/bench_engine.py --only engine --json
    python benchmarks/bench_engine.py --lazy-cancel            # diagnostic, see below

The workload (``benchmarks/scenarios/engine_surge.toml``): an open Poisson surge at a
piecewise-constant rate that peaks above capacity before 9:00; one login service of one
server with c FIFO workers and an unbounded backlog; each person makes one request; a
client gives up after a lognormal patience covering wait + service, then retries after a
full-jitter exponential backoff, up to ``max_attempts`` attempts. ``--people N`` scales
the rates so that N people are expected, and the workers alike (at least one).

Two implementations of it run in the same process, interleaved (engine, baseline,
engine, baseline, ...) so that machine noise hits both alike:

- **engine**: the scenario through :func:`sim.simulation.runner.run`, the code path of every real
  scenario (build the model, simulate, compute the KPIs);
- **baseline**: the same model in idiomatic SimPy, written below: one process per
  person; each attempt is ``req = server.request(); yield req | env.timeout(patience)``
  on a ``simpy.Resource(capacity=c)``; on timeout the request is cancelled (the engine's
  ``drop_abandoned``), the person backs off and retries. A granted request holds the
  resource for its service time; if the client's patience runs out during the service,
  the client leaves at its deadline and the work is finished anyway by a small process
  (wasted work, as in the engine). The service time is drawn when service starts, so
  the client knows whether it will be answered in time and needs no second condition
  event: the cheapest faithful SimPy version, which makes the ratio conservative.

Replication k of each side uses its own random numbers (the engine's streams of
replication k; Python ``random.Random`` generators seeded from (seed, k) for the
baseline), so the two agree only in distribution. Over ``--reps`` replications the
script compares, per statistic, the engine's and the baseline's means with Welch's
t-test and prints PASS when no statistic differs at the 1 % level.

Events are counted the same way on both sides: events scheduled minus events still
pending at the end (``next(env._eid) - len(env._queue)``, as ``sim.simulation.runner`` does). The
baseline runs with the cyclic garbage collector handled as ``sim.simulation.runner`` handles it
(:func:`sim.simulation.runner.cycle_collector_off`: what was built before the run frozen, the
collector off during it), unless ``--baseline-gc default``. ``--lazy-cancel`` runs the
baseline on a ``simpy.Resource`` whose queue removes a cancelled request in O(1)
(SimPy's scans its list): the same results, to see how much of the difference comes
from that scan alone.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import math
import os
import pstats
import random
import statistics
import sys
import time
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from scipy import stats

from sim.engine.dists import from_spec
from sim.model.population import expected_people  # the workload has sources only

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_default import CODE, machine, peak_rss_mib

from sim.config import clock_to_s, read_raw, scenario_from_dict
from sim.config.platform_schema import ConstantBackoff, ExponentialBackoff
from sim.config.scenario import Scenario
from sim.engine.dists import Deterministic, Exponential, Lognormal
from sim.model.people import Fate
from sim.simulation.runner import cycle_collector_off, run

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "benchmarks" / "scenarios" / "engine_surge.toml"
SERVICE = "login"
ALPHA = 0.01  # per statistic; five statistics, so about 5 % of false FAILs overall


# ---------------------------------------------------------------- the workload


def workload(people: int, path: Path = SCENARIO) -> Scenario:
    """The benchmark scenario with rates and workers scaled to `people` expected people."""
    raw = read_raw(path)
    factor = people / expected_people(scenario_from_dict(raw, source=str(path)))
    for source in raw["sources"]:
        for piece in source["rates"]:
            piece["rate_per_s"] *= factor
    service = raw["services"][SERVICE]
    service["workers_per_server"] = max(1, round(service["workers_per_server"] * factor))
    return scenario_from_dict(raw, source=str(path))


# ---------------------------------------------------------------- engine side


def run_engine(scenario: Scenario, replication: int) -> dict[str, Any]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = run(scenario.flat, replication=replication)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    people = result.people
    fate = people["fate"]
    arrived = fate != Fate.NOT_ARRIVED
    reached = fate == Fate.REACHED
    finished = reached | (fate == Fate.GAVE_UP)
    login = result.service_summary[SERVICE]
    return _figures(
        wall=wall,
        cpu=cpu,
        events=result.events,
        people=int(arrived.sum()),
        finished=int(finished.sum()),
        succeeded=int(reached.sum()),
        attempts_of_finished=int(people["attempts"][finished].sum()),
        time_to_success=float((people["reached"] - people["intended"])[reached].sum()),
        requests=int(login["arrivals"]),
        wasted=int(login["wasted"]),
    )


def _figures(**w: Any) -> dict[str, Any]:
    """Rates and per-person statistics of one run, from its raw counts."""
    people = w["people"]
    return {
        **w,
        "people_per_s": people / w["wall"],
        "requests_per_s": w["requests"] / w["wall"],
        "events_per_s": w["events"] / w["wall"],
        "share_succeeded": w["succeeded"] / people,
        "mean_attempts": w["attempts_of_finished"] / w["finished"],
        "mean_time_to_success_s": w["time_to_success"] / w["succeeded"],
        "wasted_per_person": w["wasted"] / people,
    }


# ---------------------------------------------------------------- baseline side


def _draw(dist: Any, rng: random.Random):
    """A zero-argument callable drawing from `dist` with Python's `random`."""
    if isinstance(dist, Exponential):
        return lambda: rng.expovariate(1.0 / dist.mean)
    if isinstance(dist, Lognormal):
        sigma = math.sqrt(math.log1p(dist.cv**2))
        mu = math.log(dist.mean) - sigma**2 / 2
        return lambda: rng.lognormvariate(mu, sigma)
    if isinstance(dist, Deterministic):
        return lambda: dist.value
    raise ValueError(f"the baseline does not know the distribution {dist!r}")


@dataclass
class Model:
    """The workload's parameters, and the baseline's random draws and tallies."""

    env: simpy.Environment
    server: simpy.Resource
    patience: Any
    service: Any
    uniform: Any
    max_attempts: int
    retry_probability: float
    backoff: Any
    people: int = 0
    finished: int = 0
    succeeded: int = 0
    attempts: int = 0
    attempts_of_finished: int = 0
    time_to_success: float = 0.0
    wasted: int = 0

    def backoff_delay(self, failures: int) -> float:
        spec = self.backoff
        if isinstance(spec, ConstantBackoff):
            return spec.delay_s
        delay = min(spec.max_s, spec.base_s * spec.factor ** (failures - 1))
        return delay if isinstance(spec, ExponentialBackoff) else delay * self.uniform()


def person(m: Model):
    """One person: log in, giving up on an attempt after its patience; retry after a
    backoff; give up for good after ``max_attempts`` failed attempts."""
    env, server = m.env, m.server
    arrived = env.now
    attempts = 0
    while True:
        attempts += 1
        m.attempts += 1
        patience = m.patience()
        deadline = env.now + patience
        req = server.request()
        timer = env.timeout(patience)
        yield req | timer
        if req.triggered:  # a worker took the request before the client gave up
            service = m.service()
            if env.now + service <= deadline:
                yield env.timeout(service)
                server.release(req)
                m.finished += 1
                m.succeeded += 1
                m.attempts_of_finished += attempts
                m.time_to_success += env.now - arrived
                return
            env.process(finish_work(m, req, service))  # the client leaves at its deadline
            yield timer
        else:
            req.cancel()  # left the queue: the request is dropped
        if attempts >= m.max_attempts or (
            m.retry_probability < 1.0 and m.uniform() >= m.retry_probability
        ):
            m.finished += 1
            m.attempts_of_finished += attempts
            return
        yield env.timeout(m.backoff_delay(attempts))


def finish_work(m: Model, req: simpy.resources.resource.Request, service: float):
    """The server finishes a request whose client has left: wasted work."""
    yield m.env.timeout(service)
    m.server.release(req)
    m.wasted += 1


def arrivals(m: Model, pieces: list[tuple[float, float]], end: float, gap: Any):
    """Poisson arrivals at a piecewise-constant rate; a fresh gap at each rate change."""
    env = m.env
    bounds = [t for t, _ in pieces[1:]] + [math.inf]
    t = env.now
    for (piece_start, rate), piece_end in zip(pieces, bounds, strict=True):
        t = max(t, piece_start)
        while rate > 0:
            t_next = t + gap() / rate
            if t_next >= piece_end:
                break
            if t_next >= end:
                return
            yield env.timeout(t_next - env.now)
            t = t_next
            m.people += 1
            env.process(person(m))


class LazyQueue:
    """A put queue whose ``remove`` is O(1): removed requests are skipped when they reach
    the front. For the ``--lazy-cancel`` diagnostic only: SimPy's own queue is a list,
    and ``Request.cancel`` removes from it by a scan of the whole queue."""

    def __init__(self) -> None:
        self.items: deque = deque()
        self.removed: set[int] = set()
        self.size = 0

    def _front(self) -> None:
        while self.items and id(self.items[0]) in self.removed:
            self.removed.discard(id(self.items.popleft()))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Any:
        assert index == 0  # simpy.Resource only ever looks at the front
        self._front()
        return self.items[0]

    def pop(self, index: int) -> Any:
        assert index == 0
        self._front()
        self.size -= 1
        return self.items.popleft()

    def append(self, item: Any) -> None:
        self.items.append(item)
        self.size += 1

    def remove(self, item: Any) -> None:
        self.removed.add(id(item))  # still referenced by `items`, so its id stays unique
        self.size -= 1


class LazyCancelResource(simpy.Resource):
    PutQueue = LazyQueue


def _seeded(seed: int, replication: int, stream: int) -> random.Random:
    state = np.random.SeedSequence(seed, spawn_key=(replication, stream)).generate_state(2)
    return random.Random(int(state[0]) << 32 | int(state[1]))


def run_baseline(
    scenario: Scenario, replication: int, tuned_gc: bool = True, lazy_cancel: bool = False
) -> dict[str, Any]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    (source,) = scenario.sources
    spec = scenario.services[SERVICE]
    behaviour = scenario.behaviour_of(source)
    if spec.servers != 1 or behaviour.patience_covers != "response" or not spec.drop_abandoned:
        raise ValueError(
            "the baseline models one server, patience covering the response, "
            "and dropped abandoned requests"
        )
    seed = scenario.seed
    env = simpy.Environment(initial_time=scenario.start_s)
    m = Model(
        env=env,
        server=(LazyCancelResource if lazy_cancel else simpy.Resource)(
            env, capacity=spec.workers_per_server
        ),
        patience=_draw(from_spec(behaviour.patience), _seeded(seed, replication, 2)),
        service=_draw(from_spec(spec.service_time), _seeded(seed, replication, 3)),
        uniform=_seeded(seed, replication, 4).random,
        max_attempts=behaviour.max_attempts,
        retry_probability=behaviour.retry_probability,
        backoff=behaviour.backoff,
    )
    pieces = (
        [(scenario.start_s, source.rate_per_s)]
        if source.rate_per_s is not None
        else [(clock_to_s(p.start), p.rate_per_s) for p in source.rates]
    )
    gap = _seeded(seed, replication, 1).expovariate
    env.process(arrivals(m, pieces, scenario.end_s, lambda: gap(1.0)))
    with cycle_collector_off() if tuned_gc else nullcontext():  # as sim.simulation.runner does
        env.run(until=scenario.end_s)
    events = next(env._eid) - len(env._queue)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return _figures(
        wall=wall,
        cpu=cpu,
        events=int(events),
        people=m.people,
        finished=m.finished,
        succeeded=m.succeeded,
        attempts_of_finished=m.attempts_of_finished,
        time_to_success=m.time_to_success,
        requests=m.attempts,
        wasted=m.wasted,
    )


# ---------------------------------------------------------------- comparison

TIMING = ("wall", "cpu", "people_per_s", "requests_per_s", "events_per_s")
STATISTICS = (
    "people",
    "share_succeeded",
    "mean_attempts",
    "mean_time_to_success_s",
    "wasted_per_person",
)


def timing_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    fastest = min(runs, key=lambda r: r["wall"])
    return {
        k: {"median": statistics.median(r[k] for r in runs), "fastest": fastest[k]}
        for k in (*TIMING, "events", "requests", "people")
    }


def agreement(
    engine: list[dict], baseline: list[dict], keys: tuple[str, ...] = STATISTICS
) -> dict[str, Any]:
    """Welch's t-test of each statistic's mean (`keys`), engine against baseline; also
    used by bench_commands.py."""
    out = {}
    for key in keys:
        a = np.array([r[key] for r in engine], dtype=float)
        b = np.array([r[key] for r in baseline], dtype=float)
        test = stats.ttest_ind(a, b, equal_var=False)
        diff = a.mean() - b.mean()
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se else math.inf
        half = stats.t.ppf(0.975, df) * se if se else 0.0
        p = float(test.pvalue) if se else (1.0 if diff == 0 else 0.0)
        out[key] = {
            "engine_mean": float(a.mean()),
            "engine_sd": float(a.std(ddof=1)),
            "baseline_mean": float(b.mean()),
            "baseline_sd": float(b.std(ddof=1)),
            "difference": float(diff),
            "difference_ci95": [float(diff - half), float(diff + half)],
            "relative_difference": float(diff / b.mean()) if b.mean() else math.nan,
            "p_value": p,
            "verdict": "PASS" if p >= ALPHA else "FAIL",
        }
    return out


def profile(name: str, call: Any, top: int) -> None:
    """Profile `call` with CPU time as the clock (other jobs on the machine then matter
    less) and print its `top` functions by own time."""
    profiler = cProfile.Profile(time.process_time)
    result = profiler.runcall(call)
    print(
        f"== {name}: {result['people']:,} people, {result['events']:,} events, "
        f"load average {load_average()}"
    )
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200_000, help="expected people")
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="timed pairs (engine, baseline); without --stat-people, at least --reps",
    )
    parser.add_argument(
        "--reps", type=int, default=5, help="replications for the statistical check (>= 2)"
    )
    parser.add_argument(
        "--stat-people",
        type=int,
        default=None,
        help="people in the statistical replications "
        "[default: --people, and the timed runs count as replications]",
    )
    parser.add_argument("--only", choices=("engine", "baseline"), help="run one side only")
    parser.add_argument("--baseline-gc", choices=("tuned", "default"), default="tuned")
    parser.add_argument(
        "--lazy-cancel",
        action="store_true",
        help="diagnostic: the baseline on a Resource whose cancel is O(1) instead of a "
        "scan of the queue (same results, not idiomatic)",
    )
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="profile one run of each side (CPU time) and print its top N functions",
    )
    args = parser.parse_args(argv)
    if args.people < 1 or args.repeat < 1 or args.reps < 0:
        parser.error("--people and --repeat must be >= 1, --reps >= 0")
    tuned = args.baseline_gc == "tuned"
    sides = {
        "engine": run_engine,
        "baseline": lambda sc, k: run_baseline(sc, k, tuned, args.lazy_cancel),
    }
    if args.only:
        sides = {args.only: sides[args.only]}

    def pair(scenario: Scenario, k: int, label: str) -> dict[str, dict]:
        out = {}
        for name, fn in sides.items():
            r = fn(scenario, k)
            r["replication"] = k
            r["load_average"] = load_average()
            out[name] = r
            print(
                f"{label} rep {k} {name:8s} {r['wall']:7.2f} s wall {r['cpu']:7.2f} s cpu "
                f"{r['people']:,} people {r['events']:,} events "
                f"load {r['load_average'][0]}",
                file=sys.stderr,
                flush=True,
            )
        return out

    load_before = load_average()
    scenario = workload(args.people, args.scenario)
    if args.profile:
        for name, fn in sides.items():
            profile(name, lambda fn=fn: fn(scenario, 0), args.profile)
        return 0
    same = args.stat_people is None or args.stat_people == args.people
    n_timed = max(args.repeat, args.reps) if same else args.repeat
    timed = [pair(scenario, k, "timed") for k in range(n_timed)]
    stat_runs = timed[: args.reps] if same else []
    if not same and args.reps:
        small = workload(args.stat_people, args.scenario)
        stat_runs = [pair(small, k, "stat") for k in range(args.reps)]

    report: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]) if argv is None else " ".join(argv),
        "scenario": str(args.scenario),
        "people_expected": args.people,
        "workers": scenario.services[SERVICE].workers_per_server,
        "seed": scenario.seed,
        "code_sha256": CODE,
        "baseline_gc": args.baseline_gc,
        "baseline_lazy_cancel": args.lazy_cancel,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "machine": machine(),
        "timing": {name: timing_summary([p[name] for p in timed]) for name in sides},
        "runs": timed,
        "stat_runs": stat_runs if not same else "the first --reps timed runs",
    }
    if len(sides) == 2:
        ratios = [p["engine"]["people_per_s"] / p["baseline"]["people_per_s"] for p in timed]
        cpu_ratios = [
            (p["baseline"]["cpu"] / p["baseline"]["people"])
            / (p["engine"]["cpu"] / p["engine"]["people"])
            for p in timed
        ]
        report["speed_ratio"] = {
            "per_pair": ratios,
            "median": statistics.median(ratios),
            "cpu_per_pair": cpu_ratios,
            "cpu_median": statistics.median(cpu_ratios),
        }
        if len(stat_runs) >= 2:
            checks = agreement([p["engine"] for p in stat_runs], [p["baseline"] for p in stat_runs])
            report["agreement"] = {
                "replications": len(stat_runs),
                "people": args.stat_people or args.people,
                "alpha": ALPHA,
                "statistics": checks,
                "verdict": "PASS"
                if all(c["verdict"] == "PASS" for c in checks.values())
                else "FAIL",
            }
    report["peak_rss_mib"] = peak_rss_mib()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0 if report.get("agreement", {}).get("verdict", "PASS") == "PASS" else 1


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(
        f"workload   {report['scenario']}: {report['people_expected']:,} people expected, "
        f"{report['workers']} workers, seed {report['seed']}"
    )
    print(
        f"machine    {m['cpu']} @ {m['cpu_mhz'] or '?'} MHz, {m['cores']} cores "
        f"({m['cores_usable']} usable), {m['os']}"
    )
    print(
        f"versions   python {m['python']}, simpy {m['simpy']}, numpy {m['numpy']}; "
        f"sim sources sha256 {report['code_sha256']}"
    )
    print(
        f"date       {report['date']}, load average {report['load_average_before']} before, "
        f"{report['load_average_after']} after; baseline GC {report['baseline_gc']}"
        + ("; baseline with O(1) cancel" if report["baseline_lazy_cancel"] else "")
    )
    print()
    print(
        f"{'':10s}{'runs':>5s}{'wall s':>9s}{'(fastest)':>10s}{'cpu s':>8s}{'people':>10s}"
        f"{'people/s':>10s}{'requests/s':>12s}{'events':>11s}{'events/s':>10s}"
    )
    for name, t in report["timing"].items():
        n = len(report["runs"])
        print(
            f"{name:10s}{n:5d}{t['wall']['median']:9.2f}{t['wall']['fastest']:10.2f}"
            f"{t['cpu']['median']:8.2f}{t['people']['median']:10,.0f}"
            f"{t['people_per_s']['median']:10,.0f}{t['requests_per_s']['median']:12,.0f}"
            f"{t['events']['median']:11,.0f}{t['events_per_s']['median']:10,.0f}"
        )
    print("(medians over the runs; 'fastest' is the minimum wall time)")
    if "speed_ratio" in report:
        r = report["speed_ratio"]
        pairs = ", ".join(f"{x:.2f}" for x in r["per_pair"])
        print(
            f"\nspeed ratio engine/baseline (people/s, per interleaved pair): {pairs}; "
            f"median {r['median']:.2f}x (CPU time per person: {r['cpu_median']:.2f}x)"
        )
    if "agreement" in report:
        a = report["agreement"]
        print(
            f"\nsame statistics? {a['replications']} replications of {a['people']:,} people "
            f"per side, Welch t-test, alpha {a['alpha']} per statistic"
        )
        print(
            f"{'statistic':24s}{'engine':>14s}{'baseline':>14s}{'diff (95% CI)':>36s}"
            f"{'p':>8s}  verdict"
        )
        for key, c in a["statistics"].items():
            lo, hi = c["difference_ci95"]
            ci = f"{c['difference']:+.4g} [{lo:+.3g}, {hi:+.3g}]"
            print(
                f"{key:24s}{c['engine_mean']:14.5g}{c['baseline_mean']:14.5g}{ci:>36s}"
                f"{c['p_value']:8.3f}  {c['verdict']}"
            )
        print(f"overall: {a['verdict']}")
    print(f"peak RSS (MiB) {report['peak_rss_mib']:.0f}")


if __name__ == "__main__":
    sys.exit(main())
