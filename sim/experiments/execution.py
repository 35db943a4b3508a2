"""Experiments: many independent runs of one or more scenario variants.

A *job* is one run: a resolved scenario (a variant), a replication number and a seed.
Replication k of every variant draws from the same random streams (the scenario is not
part of the stream key, see :mod:`sim.engine.rng`), so variants are compared under common
random numbers. A job's outcome is a *record*: plain data (KPIs flattened to
``kpi.*`` and ``services.<name>.*`` keys, a few per-minute series, timings), saved as
soon as the job finishes under ``<folder>/runs/<key>.json`` where the key hashes the
resolved scenario, replication, seed and the fingerprint of the code
(:mod:`sim.simulation.fingerprint`, a hash of the ``sim`` sources). Rerunning an interrupted
experiment reuses every finished record and runs only the rest.

A stale cache never answers: a record is reused only by the code that made it. Another
version of ``sim`` computes other keys, so it does not find the older records; and the
first time an experiment runs into a folder, :class:`sim.outputs.run_store.RunStore`
removes every record there made by other code (each record stores its ``fingerprint``),
so that ``runs/`` holds only records the folder's tables can be built from, not a pile
of dead ones that look like results. Their number is reported (``Outcome.stale``; the
command line says it), and the runs asked for again are made again. (Two versions of
``sim`` taking turns on one folder therefore recompute each other's runs every time:
give each its folder.) A record that comes back from a worker running other code (a Dask
cluster with another ``sim`` installed) is refused as a failure of that run, never mixed
into the tables.

Nor does a damaged one: each record is stored with a checksum of its content, and one
whose checksum or content does not check out (edited by hand, truncated, a disk fault,
see :mod:`sim.experiments.records`) is removed and its run made again; their number is reported
too (``Outcome.damaged``). A fresh record that would not pass the check is a failure of
its run, never stored.

Jobs run serially, on a local process pool (default: all cores) or on a Dask
distributed cluster; a job's record does not depend on where it ran.

The pool's workers never outlive the command (each holds ~2 GB at one-to-one scale,
and the caller's stdout and stderr: a CI runner or ``communicate()`` would wait for
ever). Interrupted (Ctrl-C, SIGTERM, see :mod:`sim.entry`) or abandoned, the pool kills
its workers rather than wait for their runs in progress; killed itself (``kill -9``),
the command cannot, so on Linux each worker asks the kernel for SIGKILL when its parent
dies (:func:`_start_worker`). Elsewhere (no ``prctl``), that last case is not covered.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import math
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from sim import __version__
from sim.config import to_toml
from sim.config.scenario import Scenario
from sim.experiments import records as run_records
from sim.experiments.records import SERIES
from sim.experiments.scheduler import (  # noqa: F401  (the scheduler's names this module always had)
    SCHEDULER_ENV,
    TLS_ENV,
    SchedulerError,
    chosen_scheduler,
    connect,
    dask_security,
)
from sim.measure import metrics as labels
from sim.measure.metrics import HEADLINE
from sim.simulation import fingerprint
from sim.simulation.runner import RunResult, run

"""Per-minute people-level series kept in every record (for confidence bands)."""

MAX_REPS = 100_000
"""Most replications of one scenario (``--reps`` and its caps): the interval is then
within a third of a percent of the spread, and 2^70 of them filled the memory with jobs
before any run."""


@dataclass(frozen=True)
class Job:
    scenario: Scenario
    replication: int
    seed: int
    variant: tuple[tuple[str, Any], ...] = ()  # (override path, value) that made it

    @cached_property
    def identity(self) -> str:
        """What is run, whatever code runs it: the resolved scenario, replication, seed.

        Kept once computed, and the scenario's text is shared by the jobs of one
        scenario (:func:`scenario_text`): an experiment of 10^5 jobs asks for keys
        several times per job, and a TOML dump each time made planning take hours."""
        text = f"{scenario_text(self.scenario)}\n{self.replication}\n{self.seed}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    @cached_property
    def key(self) -> str:
        """The run by this code: its identity and the code's fingerprint (another version
        of ``sim`` has other keys, so never reuses this one's records)."""
        text = f"{self.identity}\n{fingerprint.code_fingerprint()}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]


_TEXTS: dict[int, tuple[Scenario, str]] = {}
"""TOML text of recent scenarios by ``id``; the scenario is kept with its text, so its
``id`` cannot be reused by another object while the entry lives."""
_TEXTS_KEPT = 256


def scenario_text(scenario: Scenario) -> str:
    """``to_toml(scenario)``, computed once per scenario object (the jobs of a variant
    share one): the dump costs about half a millisecond, times 10^5 jobs."""
    entry = _TEXTS.get(id(scenario))
    if entry is not None and entry[0] is scenario:
        return entry[1]
    if len(_TEXTS) >= _TEXTS_KEPT:
        _TEXTS.pop(next(iter(_TEXTS)))
    text = to_toml(scenario)
    _TEXTS[id(scenario)] = (scenario, text)
    return text


def last_line(error: str, default: str = "unknown error") -> str:
    """What a failed run's error says in one line: the last line of its traceback (the
    exception), or `default` when there is none."""
    text = error.strip()
    return text.splitlines()[-1] if text else default


def run_job(job: Job) -> dict[str, Any]:
    """Run one job and return its record (plain, JSON-able data)."""
    return record_of(job, run(job.scenario.flat, seed=job.seed, replication=job.replication))


def record_of(job: Job, result: RunResult) -> dict[str, Any]:
    """The record of `job` from its run's result (for a run made outside :func:`execute`,
    e.g. one whose full results folder is also kept)."""
    metrics: dict[str, Any] = flat_kpis(result.kpi)
    for name, summary in result.service_summary.items():
        for key, value in summary.items():
            metrics[f"services.{name}.{key}"] = value
    return {
        "key": job.key,
        "scenario": job.scenario.name,
        "replication": job.replication,
        "seed": job.seed,
        "variant": dict(job.variant),
        "metrics": metrics,
        "series": {name: result.counters[name].tolist() for name in SERIES}
        | {"in_lesson": result.in_lesson.round(6).tolist()},
        "bin_start_s": result.bin_start_s.tolist(),
        "bin_s": result.bin_s,
        "wall_s": result.wall_s,
        "sim_version": __version__,
        "fingerprint": fingerprint.code_fingerprint(),  # of the code that made the run
        "job": job.identity,
    }


def flat_kpis(kpi: dict[str, Any], prefix: str = "kpi.") -> dict[str, Any]:
    """A run's KPIs as flat metric names: ``kpi.gave_up``, ``kpi.by_role.pupil.gave_up``..."""
    out: dict[str, Any] = {}
    for name, value in kpi.items():
        if isinstance(value, dict):
            out.update(flat_kpis(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


class Store(Protocol):
    """Where finished records are kept and found again (:class:`sim.outputs.run_store.RunStore`
    keeps them on disk): an execution reuses what it has and saves each run as it ends.
    `discarded` and `damaged` count the records of other code, and the damaged or
    edited ones, that it removed (their runs are made again)."""

    discarded: int
    damaged: int

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, record: dict[str, Any]) -> None: ...

    def put_error(self, job: Job, error: str) -> None: ...

    def discard_stale(self, keep: Iterable[str] = ()) -> int: ...


class MemoryStore:
    """A :class:`Store` in memory, for the life of one experiment (the Python API without
    a folder): a batch of replications added for precision reuses the runs made before."""

    discarded = 0
    damaged = 0

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def put(self, record: dict[str, Any]) -> None:
        self.records[record["key"]] = record

    def put_error(self, job: Job, error: str) -> None:
        """Failures are in the outcome; memory keeps nothing of them."""

    def discard_stale(self, keep: Iterable[str] = ()) -> int:
        return 0  # made by this very code


@dataclass
class Outcome:
    """What an execution produced: records in job order, failures, reuse counts.

    `stale`: records made by another version of ``sim`` that the store found and removed
    (over the store's life: a command that executes several times, like ``plan``, gets
    its total); never reused, their runs are made again where asked for. `damaged`:
    records of runs asked for that did not check out (:mod:`sim.experiments.records`), counted
    the same way; their runs were made again."""

    records: list[dict[str, Any]]
    failures: list[tuple[Job, str]] = field(default_factory=list)
    reused: int = 0
    ran: int = 0
    stale: int = 0
    damaged: int = 0


Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` when a job finishes."""


def execute(
    jobs: Sequence[Job],
    store: Store | None = None,
    n_jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Run every job not already in `store`; return all records in job order.

    `n_jobs`: processes of the local pool (default: all cores; 1 runs serially in this
    process). `scheduler`: address of a Dask distributed scheduler (``tcp://host:port``;
    default: the ``SIM_SCHEDULER`` environment variable); when given, jobs run there.
    A failing job is recorded (``runs/<key>.error.json``) and the others go on; so is a
    job whose record comes back made by other code (a worker with another ``sim``).
    Records made by other code are never used (see :class:`sim.outputs.run_store.RunStore`).
    """
    scheduler = chosen_scheduler(scheduler)
    records, todo = plan_jobs(jobs, store)
    outcome = Outcome(records=[], reused=len(records))
    done = len(records)
    total = done + len(todo)
    if progress:
        progress(done, total)
    for job, record, error in _dispatch(todo, n_jobs, scheduler):
        done += 1
        if record is not None:
            record, error = _checked(record, error)
        if record is not None:
            records[job.key] = record
            outcome.ran += 1
            if store is not None:
                store.put(record)
        else:
            outcome.failures.append((job, error))
            if store is not None:
                store.put_error(job, error)
        if progress:
            progress(done, total)
    outcome.records = [records[j.key] for j in jobs if j.key in records]
    outcome.stale = store.discarded if store is not None else 0
    outcome.damaged = store.damaged if store is not None else 0
    return outcome


def plan_jobs(
    jobs: Sequence[Job], store: Store | None = None
) -> tuple[dict[str, dict[str, Any]], list[Job]]:
    """The records `store` already has, by key, and the jobs left to run (each key
    once, in order). Linear in the jobs: keys are kept on the jobs and looked up in a
    dict and a set (a list scanned per job made 10^4 jobs take hours before any run)."""
    records: dict[str, dict[str, Any]] = {}
    todo: list[Job] = []
    queued: set[str] = set()
    if store is not None:
        store.discard_stale(keep=[job.key for job in jobs])
    for job in jobs:
        if job.key in records or job.key in queued:
            continue
        found = store.get(job.key) if store is not None else None
        if found is not None:
            records[job.key] = found
        else:
            todo.append(job)
            queued.add(job.key)
    return records, todo


def _checked(record: dict[str, Any], error: str) -> tuple[dict[str, Any] | None, str]:
    """A fresh `record` as it is, or None and why it cannot be stored: made by other
    code, or content that a reader would refuse (:func:`sim.experiments.records.content_problem`,
    a fault of the model: a NaN, say)."""
    if record.get("fingerprint") != fingerprint.code_fingerprint():
        return None, _other_code(record)
    problem = invalid_record(record)
    return (None, problem) if problem else (record, error)


def invalid_record(record: dict[str, Any]) -> str | None:
    """Why a fresh `record` cannot be stored (its content does not check out, or it has
    no checksum: a value that is not JSON data, a NaN in its variant), or None."""
    problem = run_records.content_problem(record)
    if problem is None:
        try:
            run_records.checksum_of(record)
        except (TypeError, ValueError) as err:
            problem = f"not JSON data ({err})"
    return f"the run's record is not valid: {problem}" if problem else None


def _other_code(record: dict[str, Any]) -> str:
    return (
        f"the run was made by another version of sim (code fingerprint "
        f"{record.get('fingerprint')}, this one is {fingerprint.code_fingerprint()}): "
        "install the same sim on every worker"
    )


def _safe_run(job: Job) -> tuple[dict[str, Any] | None, str]:
    try:
        return run_job(job), ""
    except Exception:  # a failing run is evidence to keep, not a reason to stop
        return None, traceback.format_exc(limit=8)


def _dispatch(jobs: list[Job], n_jobs: int | None, scheduler: str | None) -> Iterable:
    """Yield ``(job, record or None, error)`` as jobs finish, on the chosen backend."""
    if not jobs:
        return
    if scheduler:
        yield from _on_dask(jobs, scheduler)
        return
    workers = n_jobs or os.cpu_count() or 1
    if workers == 1 or len(jobs) == 1:
        for job in jobs:
            yield (job, *_safe_run(job))
        return
    yield from _on_pool(jobs, workers)


WORKER_DIED = (
    "the worker process running it died (killed, out of memory or a crash in native code), "
    "also when it was run again on its own"
)


def _on_pool(jobs: list[Job], workers: int) -> Iterable:
    """Run `jobs` on a local process pool, surviving the death of a worker process.

    A worker that dies (killed, out of memory, a crash in native code) breaks the whole
    pool: every unfinished job then fails with ``BrokenProcessPool``. The jobs that had
    not started go back to a fresh pool; the ones that had started (one of them may be
    the cause, the others were unlucky) are each run again alone in a fresh process,
    and one that dies there too is recorded as failed. No job is lost, none is recorded
    twice.

    Interrupted (Ctrl-C, SIGTERM) or abandoned by the caller, the pool kills its workers
    (:func:`_kill_workers`) rather than wait for their runs, and so does :func:`_alone`.
    """
    context = multiprocessing.get_context()
    pending = list(jobs)
    stalls = 0  # pools in a row that broke before any of their jobs started
    while pending:
        started = context.SimpleQueue()  # keys of the jobs the workers began
        began: set[str] = set()
        broken: list[Job] = []
        with ProcessPoolExecutor(
            max_workers=min(workers, len(pending)),
            mp_context=context,
            initializer=_start_worker,
            initargs=(_parent_of_workers(context), started),
        ) as pool:
            futures = {}
            try:
                for job in pending:
                    try:
                        futures[pool.submit(_noted_run, job)] = job
                    except BrokenProcessPool:  # a worker died already: this job never started
                        broken.append(job)
                while futures:
                    finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                    _drain(started, began)  # as we go: a full pipe would block the workers
                    for future in finished:
                        job = futures.pop(future)
                        try:
                            record, error = future.result()
                        except BrokenProcessPool:
                            broken.append(job)
                            continue
                        except Exception as err:  # the job or its record could not be sent
                            record, error = None, f"worker error: {err!r}"
                        yield job, record, error
            except BaseException:  # interrupted, or abandoned: no one waits for these runs
                _kill_workers(pool)
                raise
        _drain(started, began)
        started.close()
        pending = [job for job in broken if job.key not in began]
        suspects = [job for job in broken if job.key in began]
        stalls = stalls + 1 if broken and not suspects else 0
        if stalls >= 2:  # the pool cannot even start its workers: try each job alone
            suspects, pending = pending, []
        for job in suspects:
            yield (job, *_alone(job))


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Drop the pool's queued jobs and kill its workers at once, instead of waiting for
    their runs in progress (minutes at full scale) on Ctrl-C, SIGTERM, or an error of the
    caller (a full disk). A worker writes nothing, so killing it loses only its run.

    Then wait for the pool's manager thread, which sees its workers dead and ends at once
    (it closes the queue its workers read, so it never blocks on them). Left running, it
    closes its wake-up pipe while the interpreter's exit hook (``_python_exit``) may be
    writing to it, unlocked: a traceback (``OSError: Bad file descriptor``) after the
    command's one line, now and then."""
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    if hasattr(pool, "kill_workers"):  # Python 3.14
        pool.kill_workers()
    else:
        processes = dict(pool._processes or {})  # shutdown() forgets them: copy first
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError, ValueError):  # gone, or closed
                process.kill()
    if manager is not None and manager is not threading.current_thread():
        manager.join()


def _drain(queue: Any, into: set[str]) -> None:
    while not queue.empty():
        into.add(queue.get())


_started = None  # in a pool's worker: the queue on which it notes the jobs it begins

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _parent_of_workers(context: Any) -> int | None:
    """The pid the pool's workers will have as their parent: this process, but with the
    ``forkserver`` start method (Python 3.14's default on Linux) the fork server, which
    ends when this process does (None: not checked)."""
    return None if context.get_start_method() == "forkserver" else os.getpid()


def _start_worker(parent: int | None, started: Any = None) -> None:
    """A pool worker's first act: die with its parent, and quietly on a signal.

    On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker when its
    parent ends, even by ``kill -9``. Then, if the parent is no longer the one that
    started it, the parent died before that call: the worker exits at once. (The signal
    comes when the parent *thread* that forked the worker ends: the pool is created and
    used by the thread that runs :func:`execute`, which outlives it.) Where ``prctl`` is
    unavailable (macOS, Windows) this part is a no-op: there the workers of a command
    killed by ``kill -9`` may outlive it.

    SIGINT and SIGTERM get their default action back (the worker inherited the
    command's handlers, which raise ``KeyboardInterrupt``): a worker stopped by a signal
    dies silently, and the command, interrupted itself, says the one line. A signal
    ignored by the command (``nohup``) stays ignored.

    `started`: the queue on which the worker notes the jobs it begins (:func:`_noted_run`).
    """
    global _started
    _started = started
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
    _die_with_parent()
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def _die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent ends (Linux); False where
    it cannot (another system, no C library to call)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _noted_run(job: Job) -> tuple[dict[str, Any] | None, str]:
    _started.put(job.key)
    return _safe_run(job)


def _alone(job: Job) -> tuple[dict[str, Any] | None, str]:
    """Run `job` in a fresh process of its own; its death is then its own failure."""
    context = multiprocessing.get_context()
    with ProcessPoolExecutor(
        1, mp_context=context, initializer=_start_worker, initargs=(_parent_of_workers(context),)
    ) as pool:
        try:
            return pool.submit(_safe_run, job).result()
        except BrokenProcessPool:
            return None, WORKER_DIED
        except BaseException:  # interrupted: its run is not waited for
            _kill_workers(pool)
            raise


def _on_dask(jobs: list[Job], scheduler: str) -> Iterable:
    """Run `jobs` on a Dask cluster. The scheduler reruns the tasks of a worker that dies
    on other workers, up to ``distributed.scheduler.allowed-failures`` times (3 by
    default); a task that raises outside the run itself (a worker that cannot unpickle
    the job, say) is retried once. After that the job is recorded as failed (the error
    names ``KilledWorker`` for a task that kept killing its workers), the others go on."""
    client = connect(scheduler)  # or SchedulerError, in one line
    from distributed import as_completed  # optional: only for clusters

    with client:
        futures = {client.submit(_safe_run, job, pure=False, retries=1): job for job in jobs}
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    record, error = future.result()
                except Exception as err:  # its workers died (KilledWorker), or cancelled
                    record, error = None, f"worker lost: {err!r}"
                yield job, record, error
        finally:  # interrupted: do not leave the cluster working for nobody
            unfinished = [future for future in futures if not future.done()]
            if unfinished:
                client.cancel(unfinished)


# ---------------------------------------------------------------- statistics


MIN_VALUES_FOR_INTERVAL = 2
"""Below this many replications there is no spread to learn from: no interval is drawn,
and tables say "no interval" (one run is an anecdote)."""


def t_quantile(probability: float, dof: int) -> float:
    """The `probability` quantile of Student's t with `dof` degrees of freedom: the
    factor of every confidence interval over replications."""
    from scipy import stats  # heavy (~1 s to import): only when an interval is computed

    return float(stats.t.ppf(probability, dof))


UNBOUNDED = (-math.inf, math.inf)


@dataclass(frozen=True)
class Estimate:
    """Mean of a metric over replications, with a confidence interval that respects the
    metric's range.

    The interval is Student's t around the mean, intersected with the values the metric
    can take (`bounds`: [0, 1] for a share, [0, inf) for a time or a count). The true mean
    lies in that range, so whenever the t-interval covers it, so does the intersection:
    the coverage is the t-interval's, and no interval reaches below zero or above 100 %.
    `half_width` is the t-interval's own (for precision targets and significance tests).
    `low` and `high` are NaN when there is no interval: fewer than
    :data:`MIN_VALUES_FOR_INTERVAL` values, or an infinite mean. `unbounded` counts the
    replications whose value was infinite (a percentile of time to class when too many
    never got in), which make the mean infinite: tables say in how many of the `n`.
    """

    n: int
    mean: float
    half_width: float
    confidence: float = 0.95
    bounds: tuple[float, float] = UNBOUNDED
    unbounded: int = 0

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.mean) and math.isfinite(self.half_width)

    @property
    def low(self) -> float:
        if not self.has_interval:
            return math.nan
        return min(max(self.mean - self.half_width, self.bounds[0]), self.mean)

    @property
    def high(self) -> float:
        if not self.has_interval:
            return math.nan
        return max(min(self.mean + self.half_width, self.bounds[1]), self.mean)

    @property
    def method(self) -> str:
        """The interval's method in words, for tables and reports."""
        low, high = self.bounds
        if math.isfinite(low) and math.isfinite(high):
            return f"Student t, within [{low:g}, {high:g}]"
        return f"Student t, at least {low:g}" if math.isfinite(low) else "Student t"


def estimate(
    values: Sequence[float | None],
    confidence: float = 0.95,
    metric: str | None = None,
) -> Estimate:
    """Mean and confidence interval of `values`, the replications of `metric`.

    A None is what a run writes for a value it does not have. For a time (a percentile of
    time to class) it means "infinitely late", so the mean is infinite; for any other
    metric (a share of nobody) it is left out. The interval is bounded by the metric's
    range from the registry (:func:`sim.measure.metrics.metric`); without a metric, unbounded.
    """
    bounds = labels.metric(metric).bounds if metric else UNBOUNDED
    late = metric is None or labels.kind_of(metric) == "s"
    infinite = sum(v is None for v in values) if late else 0
    if infinite:
        return Estimate(len(values), math.inf, math.nan, confidence, bounds, infinite)
    x = np.asarray([v for v in values if v is not None], dtype=float)
    n = len(x)
    if n == 0:
        return Estimate(0, math.nan, math.nan, confidence, bounds)
    if n < MIN_VALUES_FOR_INTERVAL:
        return Estimate(n, float(x.mean()), math.inf, confidence, bounds)
    t = t_quantile(0.5 + confidence / 2, n - 1)
    half = float(t * x.std(ddof=1) / math.sqrt(n))
    return Estimate(n, float(x.mean()), half, confidence, bounds)


def metric_names(records: Sequence[dict[str, Any]]) -> list[str]:
    """Numeric metrics of the records (None counts as numeric: an infinite percentile),
    in a stable order; a metric that is text in any record (a clock time) is left out."""
    names: dict[str, bool] = {}
    for record in records:
        for key, value in record["metrics"].items():
            numeric = value is None or (
                isinstance(value, int | float) and not isinstance(value, bool)
            )
            names[key] = names.get(key, True) and numeric
    return [name for name, numeric in names.items() if numeric]


def summarize(records: Sequence[dict[str, Any]], confidence: float = 0.95) -> dict[str, Estimate]:
    """Every numeric metric of `records` as an :class:`Estimate`."""
    return {
        name: estimate([r["metrics"].get(name) for r in records], confidence, name)
        for name in metric_names(records)
    }


def imprecise(estimates: dict[str, Estimate], precision: float) -> list[str]:
    """The headline KPIs whose half-width is not within `precision` of their mean (a
    mean of 0 or an infinite one has no relative precision: it is not counted)."""
    return [
        name
        for name, est in estimates.items()
        if name in HEADLINE
        and math.isfinite(est.mean)
        and est.mean != 0
        and not est.half_width <= precision * abs(est.mean)
    ]


def precise_enough(records: Sequence[dict[str, Any]], precision: float) -> bool:
    """True when every headline KPI's half-width is within `precision` of its mean."""
    return not imprecise(summarize(records), precision)


def replicate(
    scenario: Scenario,
    reps: int,
    store: Store | None = None,
    *,
    precision: float | None = None,
    max_reps: int = 100,
    n_jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> tuple[Outcome, bool]:
    """Replications 0..reps-1 of `scenario`; with `precision`, keep adding batches of
    replications until :func:`precise_enough` or `max_reps` (then the flag is False)."""
    seed = scenario.seed
    n = reps
    ran = 0  # runs made by this call: a batch's earlier ones were not "reused"
    while True:
        jobs = [Job(scenario, k, seed) for k in range(n)]
        outcome = execute(jobs, store, n_jobs, scheduler, progress)
        ran += outcome.ran
        outcome.ran, outcome.reused = ran, len(outcome.records) - ran
        if precision is None or outcome.failures:
            return outcome, True
        if precise_enough(outcome.records, precision):
            return outcome, True
        if n >= max_reps:
            return outcome, False
        n = min(max_reps, n + max(2, n // 2))


def series_bands(
    records: Sequence[dict[str, Any]], confidence: float = 0.95
) -> dict[str, dict[str, np.ndarray]]:
    """Per-bin mean and confidence band of each kept series over replications: Student
    t, at least 0 (the series count people); NaN bounds with a single replication. The
    records are replications of one scenario, so their bins are the same."""
    out = {}
    for name in (*SERIES, "in_lesson"):
        data = np.asarray([r["series"][name] for r in records], dtype=float)
        n = len(data)
        mean = data.mean(axis=0)
        if n >= MIN_VALUES_FOR_INTERVAL:
            t = t_quantile(0.5 + confidence / 2, n - 1)
            half = t * data.std(axis=0, ddof=1) / math.sqrt(n)
            low, high = np.maximum(mean - half, 0.0), mean + half
        else:
            low = high = np.full_like(mean, np.nan)
        out[name] = {"mean": mean, "low": low, "high": high}
    return out
