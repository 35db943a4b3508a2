"""The one registry of metrics (sim/measure/metrics.py): a run reports exactly the
metrics it lists, and every table, figure and sentence that picks metrics picks them
from it, so a metric added in one place only fails here."""

from __future__ import annotations

import pytest

from sim.experiments.execution import Job, record_of
from sim.experiments.options import with_study_kpis
from sim.measure import metrics as registry
from sim.measure.kpis import KPI_NAMES, ROLES, SERVICE_METRIC_NAMES
from sim.simulation.runner import run
from tests.conftest import scenario

SELECTIONS = {  # every choice of metrics an output makes, by its name in the registry
    "KEY_FIGURES": registry.KEY_FIGURES,
    "HEADLINE": registry.HEADLINE,
    "ANSWER": registry.ANSWER,
    "ATTACK_KPIS": registry.ATTACK_KPIS,
    "SWEEP_COLUMNS": registry.SWEEP_COLUMNS,
    "REPS_FIGURE": registry.REPS_FIGURE,
    "OPTIONS_COLUMNS": tuple(registry.OPTIONS_COLUMNS),
    "OPTIONS_TABLE": registry.OPTIONS_TABLE,
    "STUDY_METRIC": (registry.STUDY_METRIC,),
    "WORST_UNAVAILABLE": (registry.WORST_UNAVAILABLE,),
    "GROUP_COLUMNS": tuple(f"kpi.by_cohort.x.{n}" for n in registry.GROUP_COLUMNS),
    **{
        name: tuple(f"services.x.{n}" for n in getattr(registry, name))
        for name in ("SERVICE_COLUMNS", "REPORT_SERVICE_COLUMNS", "REPORT_SERVICE_ESTIMATES")
    },
    "TROUBLE": tuple(f"services.x.{n}" for n in registry.TROUBLE),
}


@pytest.fixture(scope="module")
def knobs():
    """A run of every kind of component (platforms, gates, cohorts of each role, an
    attack), and its record as an options study keeps it."""
    sc = scenario("knobs")
    result = run(sc.flat)
    return result, with_study_kpis(record_of(Job(sc, 0, sc.seed), result))


def expected_names(result) -> set[str]:
    """Every metric the registry says a run (and a study's record of it) reports."""
    people = registry.names(registry.PEOPLE)
    groups = [f"by_role.{r}." for r in ROLES] + [f"by_cohort.{g}." for g in result.group_names]
    kpis = [*people, *registry.names(registry.RUN), *registry.names(registry.STUDY)]
    return (
        {f"kpi.{n}" for n in kpis}
        | {f"kpi.{g}{n}" for g in groups for n in people}
        | {f"services.{s}.{n}" for s in result.services for n in registry.names(registry.SERVICE)}
    )


def test_a_run_reports_exactly_the_metrics_of_the_registry(knobs):
    """A metric computed but not registered has no words, unit or range; one registered
    but not computed is promised by the tables, --assert and the docs, and never comes."""
    result, record = knobs
    reported, promised = set(record["metrics"]), expected_names(result)
    assert not reported - promised, f"reported, not in the registry: {reported - promised}"
    assert not promised - reported, f"in the registry, never reported: {promised - reported}"
    assert [k for k in result.kpi if k not in ("by_role", "by_cohort")] == [
        n for n in KPI_NAMES if not n.startswith("by_")
    ]  # the registry's order is the run's
    assert all(list(row) == list(SERVICE_METRIC_NAMES) for row in result.service_summary.values())


@pytest.mark.parametrize("selection", sorted(SELECTIONS))
def test_every_selection_names_registered_metrics(selection):
    unknown = [name for name in SELECTIONS[selection] if not registry.metric(name).scope]
    assert not unknown, f"{selection} names metrics the registry lacks: {unknown}"


def test_every_entry_has_words_a_unit_and_a_meaning():
    """One registry names every metric: no label made up from a raw name, and a unit
    that agrees with the name (``_s`` a duration, ``share`` a fraction, ``_minutes``)."""
    for pattern, entry in registry.REGISTRY.items():
        assert entry.label and entry.meaning, pattern
        assert entry.unit or entry.kind == registry.CLOCK, pattern
        assert (entry.kind == registry.TIME) == entry.name.endswith("_s"), pattern
        assert (entry.kind == registry.SHARE) == (entry.unit == "%"), pattern
        assert entry.bounds == ((0.0, 1.0) if entry.kind == registry.SHARE else (0.0, float("inf")))
        if entry.name.endswith("_minutes"):
            assert entry.unit == "min", pattern
    pupils = registry.metric("kpi.by_role.pupil.share_in_class_5min_after_start")
    assert pupils.label == "in class by class start + 5 min, pupils"
    assert pupils.bounds == (0.0, 1.0)
    login = registry.metric("services.login.p95_wait_s")
    assert login.label == "login: 95 % of queue waits under" and login.unit == "s"


def test_a_name_the_registry_lacks_gets_words_from_itself():
    """A results folder of another version may hold a metric this one does not know."""
    entry = registry.metric("kpi.some_new_share")
    assert (entry.label, entry.kind, entry.scope) == ("some new share", registry.SHARE, "")
    assert registry.metric("services.login.queue_s").kind == registry.TIME


def test_services_in_most_trouble_first():
    rows = {
        "calm": {"unavailable_minutes": 0, "p95_wait_s": 0.5},
        "slow": {"unavailable_minutes": 0, "p95_wait_s": 40.0},
        "down": {"unavailable_minutes": 3, "p95_wait_s": 0.0},
        "old": {},  # a row of another version: what it lacks counts as 0
    }
    ranked = sorted(rows, key=lambda name: registry.trouble(rows[name]), reverse=True)
    assert ranked == ["down", "slow", "calm", "old"]
