"""Every accepted input runs or is refused at once (issue 16): numbers beyond what the
engine can compute or finish, booleans given as numbers, clock times with a trailing
newline, experiments of very many jobs, and runs that would generate more events than
any machine finishes in reasonable time (the event budget). Each case is one line and
exit 2 before any run, or a completed run; never a traceback, never a stall."""

from __future__ import annotations

from sim import experiment
from sim.config import load_scenario
from sim.experiment import Job, execute
from tests.robustness.conftest import SURGE

# ---------------------------------------------------------------- job bookkeeping


def test_job_bookkeeping_dumps_each_scenario_once(monkeypatch):
    """Planning is linear: the scenario's TOML (the costly part of a job's key) is made
    once for all its jobs, not once per job per job already planned (quadratic: 23 s
    for 400 jobs, hours for 10^4)."""
    scenario = load_scenario(SURGE)
    calls = []
    real = experiment.to_toml
    monkeypatch.setattr(experiment, "to_toml", lambda s: calls.append(1) or real(s))
    monkeypatch.setattr(experiment, "_dispatch", lambda jobs, *a: iter(()))
    outcome = execute([Job(scenario, k, 1) for k in range(300)])
    assert outcome.records == [] and len(calls) == 1


def test_hundred_thousand_jobs_are_planned(monkeypatch):
    """10^5 jobs are planned (keys made, duplicates dropped) without running any: the
    bookkeeping is dict and set lookups (benchmarks/bench_jobs.py times it: ~1.3 s)."""
    scenario = load_scenario(SURGE)
    jobs = [Job(scenario, k % 50_000, 1) for k in range(100_000)]
    records, todo = experiment.plan_jobs(jobs)
    assert records == {} and len(todo) == 50_000
    assert [job.replication for job in todo] == list(range(50_000))
