"""`sim validate`: textbook queueing results, checked *through the engine*.

A validation case is a small scenario (built as a dict, validated by
:func:`sim.config.scenario_from_dict`, replicated by
:func:`sim.experiments.execution.execute` with the same
:class:`~sim.experiments.execution.Job` records as ``sim run --reps``) and a formula
from :mod:`sim.experiments.validate.theory` that predicts one of its metrics. Nothing
here talks to the model directly: if the engine, the scenario schema or the experiment
layer drifts from the textbook, a case fails. The cases live in
:mod:`sim.experiments.validate.queues` and :mod:`sim.experiments.validate.laws`.

Verdict. Each metric is averaged over independent replications and given a Student-t
confidence interval (95 % by default). A check passes when the theoretical value lies in
that interval, with no widening: every case is set up so that the metric it reads is an
unbiased (or, for ratios and finite horizons, negligibly biased) estimate of the formula.
Two exceptions, stated where they are used: an *identity* that holds exactly on every
run (Little's law on a run that drains) is allowed a relative 1e-9 for floating-point
sums, and the *collapse* case, whose theory is a threshold rather than a value, passes
when the interval lies wholly above (below) a stated share. A correct engine still fails
a 95 % check one time in twenty at a new seed; a wrong one (a worker too few, a
mis-scaled service time) fails nearly always, because the intervals are narrow relative
to such errors (tests/experiments/test_validate.py shows one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sim.config import s_to_clock, scenario_from_dict
from sim.config.scenario import Scenario
from sim.experiments.execution import Job, Progress, estimate, execute, last_line

DEFAULT_REPS = 10
DEFAULT_SEED = 1

Value = int | float | str | tuple[float, ...]


class ValidationInputError(ValueError):
    """A case or parameter the user can fix (one line, exit code 2 on the command line)."""


@dataclass(frozen=True)
class Param:
    """A case parameter, given on the command line as ``--name value``.

    Its type is the default's: int, float, str (one of `choices`) or a tuple of floats
    (written ``2,10,0.5``). Numbers must be > `minimum` (>= when not `strict`) and at
    most `maximum`.
    """

    name: str
    default: Value
    help: str
    choices: tuple[str, ...] = ()
    minimum: float = 0.0
    strict: bool = True
    maximum: float = math.inf

    def parse(self, text: str) -> Value:
        kind = type(self.default)
        try:
            if kind is str:
                if text not in self.choices:
                    raise ValueError(f"one of {', '.join(self.choices)}")
                return text
            if kind is tuple:
                value: Value = tuple(float(x) for x in text.split(","))
                numbers = list(value)
            else:
                value = kind(text)
                numbers = [float(value)]
        except ValueError as e:
            what = {int: "an integer", float: "a number", tuple: "numbers like 2,10,0.5"}
            expected = str(e) if kind is str else what[kind]
            raise ValidationInputError(
                f"--{self.name}: expected {expected}, got {text!r}"
            ) from None
        for x in numbers:
            low_ok = x > self.minimum if self.strict else x >= self.minimum
            if not (low_ok and x <= self.maximum and math.isfinite(x)):
                bound = f"{'>' if self.strict else '>='} {self.minimum:g}"
                top = f" and <= {self.maximum:g}" if math.isfinite(self.maximum) else ""
                raise ValidationInputError(f"--{self.name}: must be {bound}{top}, got {text!r}")
        return value


@dataclass(frozen=True)
class Check:
    """One metric of a case: its value in each replication and what theory says.

    `rule` is ``"ci"`` (theory in the confidence interval, widened by `tolerance`
    relative to the theory), ``"above"`` (the whole interval at or above `bound`) or
    ``"below"`` (at or below `bound`).
    """

    metric: str
    theory: float
    values: Sequence[float]
    rule: str = "ci"
    bound: float = math.nan
    tolerance: float = 0.0
    bounds: tuple[float, float] = (0.0, math.inf)  # what the metric can be: every
    # metric checked here (waits, rates, counts, shares, ratios) is at least 0


Runs = list[list[dict[str, Any]]]
"""Records of a case: one list of replications per scenario variant."""


@dataclass(frozen=True)
class Case:
    """A textbook result: scenarios to run and the checks to make on their records.

    `scenarios(params)` returns the scenario dicts (variants) to replicate;
    `checks(params, scenarios, runs)` turns their records into :class:`Check` s;
    `constraints(params)` returns a message when the parameters make no sense
    (an unstable queue), else None.
    """

    name: str
    summary: str
    params: tuple[Param, ...]
    scenarios: Callable[[dict[str, Value]], list[dict[str, Any]]]
    checks: Callable[[dict[str, Value], list[Scenario], Runs], list[Check]]
    constraints: Callable[[dict[str, Value]], str | None] = lambda _params: None

    def defaults(self) -> dict[str, Value]:
        return {p.name: p.default for p in self.params}


@dataclass(frozen=True)
class Row:
    """One line of the verdict: theory against the simulation's mean and interval."""

    case: str
    params: dict[str, Value]
    metric: str
    theory: float
    sim_mean: float
    ci_low: float
    ci_high: float
    passed: bool
    check: str
    reps: int = 0

    def as_json(self) -> dict[str, Any]:
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}
        return {
            "case": self.case,
            "params": params,
            "metric": self.metric,
            "theory": self.theory,
            "sim_mean": self.sim_mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "pass": self.passed,
            "check": self.check,
            "reps": self.reps,
        }


def parse_params(case: Case, args: Sequence[str]) -> dict[str, Value]:
    """The case's defaults overridden by ``--name value`` (or ``--name=value``) pairs."""
    known = {p.name: p for p in case.params}
    params = case.defaults()
    rest = list(args)
    while rest:
        token = rest.pop(0)
        if not token.startswith("--") or len(token) == 2:
            raise ValidationInputError(
                f"unexpected argument {token!r}; parameters are --name value"
            )
        name, eq, text = token[2:].partition("=")
        if name not in known:
            allowed = ", ".join(f"--{n}" for n in known)
            raise ValidationInputError(
                f"case {case.name}: unknown parameter --{name}; one of {allowed}"
            )
        if not eq:
            if not rest:
                raise ValidationInputError(f"--{name}: missing value")
            text = rest.pop(0)
        params[name] = known[name].parse(text)
    problem = case.constraints(params)
    if problem:
        raise ValidationInputError(f"case {case.name}: {problem}")
    return params


def validate(
    requests: Sequence[tuple[Case, Mapping[str, Value]]],
    reps: int = DEFAULT_REPS,
    *,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    n_jobs: int | None = None,
    progress: Progress | None = None,
) -> list[Row]:
    """Run every case's scenarios `reps` times (all jobs in one pool) and judge them."""
    if reps < 2:
        raise ValidationInputError("--reps must be at least 2 (a confidence interval needs two)")
    planned = []
    jobs: list[Job] = []
    for case, params in requests:
        scenarios = [
            scenario_from_dict(raw, source=f"case {case.name}")
            for raw in case.scenarios(dict(params))
        ]
        variants = [[Job(sc, k, seed) for k in range(reps)] for sc in scenarios]
        planned.append((case, dict(params), scenarios, variants))
        jobs.extend(job for variant in variants for job in variant)
    outcome = execute(jobs, None, n_jobs, progress=progress)
    if outcome.failures:
        job, error = outcome.failures[0]
        raise RuntimeError(f"a run of {job.scenario.name} failed: {last_line(error)}")
    by_key = {record["key"]: record for record in outcome.records}
    rows = []
    for case, params, scenarios, variants in planned:
        runs = [[by_key[job.key] for job in variant] for variant in variants]
        for check in case.checks(params, scenarios, runs):
            rows.append(_judge(case.name, params, check, confidence))
    return rows


def _judge(case: str, params: dict[str, Value], check: Check, confidence: float) -> Row:
    est = replace(estimate(list(check.values), confidence), bounds=check.bounds)
    low, high = est.low, est.high
    if check.rule == "above":
        passed, text = low >= check.bound, f"CI >= {check.bound:g}"
    elif check.rule == "below":
        passed, text = high <= check.bound, f"CI <= {check.bound:g}"
    else:
        slack = check.tolerance * abs(check.theory)
        passed = low - slack <= check.theory <= high + slack
        text = "theory in CI" + (f" +-{check.tolerance:g} rel." if check.tolerance else "")
    return Row(
        case, params, check.metric, check.theory, est.mean, low, high, bool(passed), text, est.n
    )


# ---------------------------------------------------------------- scenario building blocks

BIG = 1_000_000
"""Workers or backlog places that never run out."""

NEVER = {"kind": "never"}
NO_WAIT_EPS_S = 1e-9
"""A patience so short that only requests that queue run out of it (see `wait_probe`)."""


def clock(minutes: float) -> str:
    return s_to_clock(60.0 * minutes)


def one_queue(
    name: str,
    *,
    minutes: float,
    service: dict[str, Any],
    workers: int,
    rate: float | None = None,
    rates: list[tuple[float, float]] | None = None,
    backlog: int = BIG,
    behaviour: dict[str, Any] | None = None,
    warmup_min: float = 0.0,
    **service_extra: Any,
) -> dict[str, Any]:
    """A scenario of one Poisson source sending one request each to one service.

    `rates` is ``[(from_min, rate_per_s), ...]``. By default nobody gives up and nobody
    retries (``max_attempts = 1``), so the service sees exactly the Poisson stream.
    """
    source: dict[str, Any] = {"name": "arrivals", "journey": "one"}
    if rates is None:
        source["rate_per_s"] = rate
    else:
        source["rates"] = [{"from": clock(m), "rate_per_s": r} for m, r in rates]
    return {
        "name": f"validate-{name}",
        "start": clock(0),
        "end": clock(minutes),
        "behaviour": behaviour or {"patience": NEVER, "max_attempts": 1},
        "measure": {"warmup_min": warmup_min},
        "services": {
            "queue": {
                "servers": 1,
                "workers_per_server": workers,
                "backlog_per_server": backlog,
                "service_time": service,
                **service_extra,
            }
        },
        "journeys": {"one": ["queue"]},
        "sources": [source],
    }


def wait_probe() -> dict[str, Any]:
    """Behaviour that counts the arrivals who have to wait, without changing the queue.

    The patience is 1e-9 s and covers only the wait (``patience_covers = "wait"``), and
    the service does not drop abandoned requests: a request that has to queue is counted
    as abandoned (its person gives up: ``max_attempts = 1``) but stays in the queue and is
    served in its turn, so the queue evolves exactly as without patience. The share of
    people who gave up is then P(W > 1e-9 s), which differs from P(W > 0) by less than
    1e-8 for the rates used here.
    """
    return {
        "patience": {"kind": "deterministic", "value_s": NO_WAIT_EPS_S},
        "patience_covers": "wait",
        "max_attempts": 1,
    }


def series_total(record: dict[str, Any], name: str, skip_min: float = 0) -> float:
    """Sum of a per-minute people series, leaving out the first `skip_min` minutes."""
    return float(sum(record["series"][name][math.ceil(skip_min) :]))


def series_share(record: dict[str, Any], part: str, whole: str, skip_min: float = 0) -> float:
    """Ratio of two per-minute people series, leaving out the first `skip_min` minutes."""
    den = series_total(record, whole, skip_min)
    return series_total(record, part, skip_min) / den if den else math.nan


def metric(runs: list[dict[str, Any]], name: str) -> list[float]:
    """`name` (``kpi.*`` or ``services.<name>.*``) in every replication."""
    return [float(r["metrics"][name]) for r in runs]


WARMUP_MIN = 2.0
"""Minutes left out of steady-state statistics: the empty start biases nothing."""
MAX_MINUTES = 1000.0


def minutes_param(default: int, text: str = "simulated minutes", least: float = 1) -> Param:
    """A case's run length (``--minutes``), at least `least` minutes."""
    return Param("minutes", default, text, minimum=least, strict=False, maximum=MAX_MINUTES)


def mmc_params(lam: float, mu: float, c: int) -> tuple[Param, Param, Param]:
    """The parameters of an M/M/c queue, with their defaults: the arrival rate ``lam``,
    the service rate per worker ``mu`` and the workers ``c``."""
    return (
        Param("lam", lam, "arrival rate (1/s)"),
        Param("mu", mu, "service rate per worker (1/s)"),
        Param("c", c, "workers"),
    )


def share_and_wait(
    runs: Runs, share: tuple[str, float], wait: tuple[str, float], *, wait_of: str = "queue"
) -> list[Check]:
    """The two checks of a single queue: the share of attempts that gave up after the
    warm-up (waited, were blocked or abandoned: what the case makes giving up mean) and
    the mean wait of service `wait_of`, each a ``(label, theory)``."""
    (reps,) = runs
    return [
        Check(*share, [series_share(r, "gave_up", "attempts", WARMUP_MIN) for r in reps]),
        Check(*wait, metric(reps, f"services.{wait_of}.mean_wait_s")),
    ]
