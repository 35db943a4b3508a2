"""No dead knobs: every field of the scenario schema changes the morning, or says why not.

A field the schema accepts but the model ignores misleads whoever sets it (a cohort's
``patience_covers`` once gave the same morning bit for bit with "wait" and "response").
:func:`test_every_field_changes_the_morning` walks every pydantic model reachable from
:class:`sim.config.Scenario` and, for each field, runs a small scenario that uses it
(tests/scenarios/knobs.toml: every mechanism at once, ~450 people for 40 minutes) with
and without a change of that field, and asks for a different run digest; or finds the
field in :data:`NOT_APPLICABLE` with the reason. A field added to the schema without
either fails the test, naming it.

Fields are named ``Model.field``: a model used in several places (a distribution, a
scrubbing table) is shown acting in one or more of them (a case may list several
changes, each of which must act), and the field holding it in each place is a field of
its own (``Service.scrubbing``, ``Link.scrubbing``).
"""

from __future__ import annotations

import types
from functools import cache
from typing import Union, get_args, get_origin

import numpy as np
import pytest
from pydantic import BaseModel

from sim.config import ScenarioError, load_scenario, read_raw, scenario_from_dict
from sim.config.platform_schema import Behaviour, BehaviourPatch
from sim.config.scenario import Scenario
from sim.simulation.runner import digest, run
from tests.conftest import SCENARIOS, scenario

KNOBS = SCENARIOS / "knobs.toml"

TAG = "the tag of a tagged union: it picks the member, whose own fields are walked here"

NOT_APPLICABLE = {
    "Scenario.name": "a label: names the results folder",
    "Scenario.description": "free text for the reader",
    "Scenario.scale": "a label: says in the results that the counts were scaled (--scale)",
    "Scenario.uncertain": "ranges read by sim sensitivity and an options study's robust "
    "verdict; a run ignores it (tests/experiments/test_sensitivity.py: the same digest)",
    "PlatformSpec.description": "free text for the reader",
    "Cohort.name": "a label: names the cohort in results and in --set paths",
    "OpenSource.name": "a label: names the source in results and in --set paths",
    "AttackWave.name": "a label: names the wave on the dashboard and in the report",
    "AttackGenerator.name": "a label: its waves are named after it",
    "ExponentialSpec.kind": TAG,
    "DeterministicSpec.kind": TAG,
    "LognormalSpec.kind": TAG,
    "GammaSpec.kind": TAG,
    "UniformSpec.kind": TAG,
    "SequenceSpec.kind": TAG,
    "ConstantBackoff.kind": TAG,
    "ExponentialBackoff.kind": TAG,
    "JitterBackoff.kind": TAG,
    "LinearSlowdown.kind": TAG,
    "UslSlowdown.kind": TAG,
    "RequestStep.kind": TAG,
    "ClassStep.kind": TAG,
    "GateStep.kind": TAG,
    "SessionStep.kind": TAG,
    "NormalOffset.kind": TAG,
    "UniformOffset.kind": TAG,
    "Replay.format": "how the log is read: the same requests in another format are refused "
    "(malformed lines), never another morning",
    "Replay.digest": "a check, filled when the scenario is loaded: a log of other content is "
    "refused (tests/simulation/test_replay.py)",
    "Costs.currency": "a label: the unit the costs are written in (tests/measure/test_costs.py)",
}


class Case:
    """Run knobs.toml with `base` overrides, then with `change` added: the digests differ."""

    def __init__(self, *change: str, base: tuple[str, ...] = ()) -> None:
        self.change, self.base = change, base

    def __repr__(self) -> str:
        return f"Case({', '.join(self.change)}; base {list(self.base)})"


NEW_TEMPLATE = (
    'templates.ent2={services={web={servers=1, service_time={kind="exponential", '
    'mean_s=3.0}}}, journeys={learner=["login", "web"]}}'
)
PARENTS_AT_A_RATE = ('sources=[{name="parents", journey="parent", rate_per_s=0.1}]',)
VOLUMETRIC_GENERATOR = (
    'attack_generators=[{name="vg", kind="volumetric", target="edge", waves=2, '
    'first="08:40", last="09:00", gbps=9.0}]',
)
REPLAY = 'replay={log="replay/knobs.csv"}'
SCRUBBING = ("detection_s=10.0", "attack_removed=0.1", "legit_removed=0.5", "hold_s=900.0")

CASES: dict[str, Case | list[Case]] = {
    # the scenario
    "Scenario.seed": Case("seed=6"),
    "Scenario.start": Case("start=08:40"),
    "Scenario.end": Case("end=09:05"),
    "Scenario.behaviour": Case("behaviour={max_attempts=2}"),
    "Scenario.templates": Case(
        'templates.ent.services.web.service_time={kind="exponential", mean_s=3.0}'
    ),
    "Scenario.platforms": Case("platforms.north.servers={web=1}"),
    "Scenario.services": Case("services.portal.servers=2"),
    "Scenario.classrooms": Case("classrooms.visio.servers=1"),
    "Scenario.journeys": Case('journeys.parent=["login"]'),
    "Scenario.cohorts": Case("cohorts.teachers.count=8"),
    "Scenario.sources": Case('sources.parents.rates=[{from="08:30", rate_per_s=0.3}]'),
    "Scenario.links": Case("links.edge.capacity_gbps=20.0"),
    "Scenario.gates": Case("gates.room.max_new_per_s=3.0"),
    "Scenario.attacks": Case("attacks=[]"),
    "Scenario.attack_generators": Case("attack_generators=[]"),
    "Scenario.measure": Case("measure.warmup_min=0.0"),
    "Measure.warmup_min": Case("measure.warmup_min=1.0"),
    "Measure.bin_s": Case("measure.bin_s=10"),
    # a replayed log (tests/scenarios/replay/)
    "Scenario.replay": Case(REPLAY),
    "Replay.log": Case('replay.log="replay/knobs-later.csv"', base=(REPLAY,)),
    "Replay.mapping": Case('replay.mapping="replay/roles.toml"', base=(REPLAY,)),
    "Replay.day": Case('replay.day="2021-04-07"', base=(REPLAY,)),
    # costs: the run's cost KPIs (in the digest), the morning itself unchanged
    "Scenario.costs": Case("costs={}"),
    "Service.cost_per_server_hour": Case(
        "services.login.cost_per_server_hour=2.0", base=("costs={}",)
    ),
    "Service.cost_per_instance_hour": Case(
        "services.join.cost_per_instance_hour=5.0",
        base=("costs={}", "services.join.cost_per_server_hour=1.0"),
    ),
    "Classroom.cost_per_server_hour": Case(
        "classrooms.visio.cost_per_server_hour=1.0", base=("costs={}",)
    ),
    "Costs.defence_per_day": Case("costs={defence_per_day={scrubbing=10.0}}", base=("costs={}",)),
    "Costs.lost_class_hour": Case("costs={lost_class_hour=10.0}", base=("costs={}",)),
    "Costs.pupil_never_in": Case(
        "costs={pupil_never_in=10.0}",
        base=("costs={}", "services.login.error_probability=1.0"),
    ),
    "Costs.lesson_min": Case(
        "costs={lesson_min=30.0}",
        base=(
            "costs={}",
            "cohorts.teachers.journey=parent",
            "services.login.error_probability=1.0",
        ),
    ),
    # behaviour, everybody's and a cohort's or source's own
    "Behaviour.patience": Case('behaviour.patience={kind="exponential", mean_s=3.0}'),
    "Behaviour.patience_covers": Case('behaviour.patience_covers="wait"'),
    "Behaviour.retry_probability": Case("behaviour.retry_probability=0.5"),
    "Behaviour.max_attempts": Case("behaviour.max_attempts=2"),
    "Behaviour.backoff": Case('behaviour.backoff={kind="constant", delay_s=5.0}'),
    "Behaviour.retry_budget": Case("behaviour.retry_budget={tokens_per_s=0.2}"),
    "Behaviour.circuit_breaker": Case("behaviour.circuit_breaker={failures=1, open_s=60.0}"),
    "BehaviourPatch.patience": [
        Case('cohorts.pupils.behaviour.patience={kind="exponential", mean_s=3.0}'),
        Case('sources.parents.behaviour.patience={kind="exponential", mean_s=3.0}'),
    ],
    "BehaviourPatch.patience_covers": [
        Case('cohorts.pupils.behaviour.patience_covers="wait"'),
        Case('sources.parents.behaviour.patience_covers="wait"'),
    ],
    "BehaviourPatch.retry_probability": Case("cohorts.pupils.behaviour.retry_probability=0.5"),
    "BehaviourPatch.max_attempts": Case("cohorts.pupils.behaviour.max_attempts=2"),
    "BehaviourPatch.backoff": Case(
        'cohorts.pupils.behaviour.backoff={kind="constant", delay_s=5.0}'
    ),
    "BehaviourPatch.retry_budget": Case("cohorts.pupils.behaviour.retry_budget={tokens_per_s=0.2}"),
    "BehaviourPatch.circuit_breaker": Case(
        "cohorts.pupils.behaviour.circuit_breaker={failures=1, open_s=60.0}"
    ),
    "ConstantBackoff.delay_s": Case(
        "behaviour.backoff.delay_s=15.0",
        base=('behaviour.backoff={kind="constant", delay_s=5.0}',),
    ),
    **{
        f"ExponentialBackoff.{field}": Case(
            f"behaviour.backoff.{field}={value}",
            base=('behaviour.backoff={kind="exponential", base_s=5.0, max_s=40.0}',),
        )
        for field, value in (("base_s", 2.0), ("factor", 3.0), ("max_s", 10.0))
    },
    **{
        f"JitterBackoff.{field}": Case(f"behaviour.backoff.{field}={value}")
        for field, value in (("base_s", 2.0), ("factor", 3.0), ("max_s", 10.0))
    },
    "RetryBudget.tokens_per_s": Case("behaviour.retry_budget.tokens_per_s=0.5"),
    "RetryBudget.burst": Case("behaviour.retry_budget.burst=1"),
    "CircuitBreaker.failures": Case("behaviour.circuit_breaker.failures=1"),
    "CircuitBreaker.open_s": Case("behaviour.circuit_breaker.open_s=60.0"),
    # distributions (each shown in one place)
    "ExponentialSpec.mean_s": Case("services.portal.service_time.mean_s=0.7"),
    "DeterministicSpec.value_s": Case("journeys.parent.2.think_time.value_s=20.0"),
    "LognormalSpec.mean_s": Case("behaviour.patience.mean_s=4.0"),
    "LognormalSpec.cv": Case("behaviour.patience.cv=2.0"),
    "GammaSpec.mean_s": Case("services.join.service_time.mean_s=2.0"),
    "GammaSpec.cv": Case("services.join.service_time.cv=2.0"),
    "UniformSpec.low_s": Case("journeys.parent.2.duration.low_s=300.0"),
    "UniformSpec.high_s": Case("journeys.parent.2.duration.high_s=900.0"),
    "SequenceSpec.values_s": Case(
        "journeys.parent.2.think_time.values_s=[10.0, 20.0]",
        base=('journeys.parent.2.think_time={kind="sequence", values_s=[10.0, 50.0]}',),
    ),
    "NeverSpec.kind": Case('behaviour.patience={kind="never"}'),
    # services
    "Service.servers": Case("services.login.servers=1"),
    "Service.workers_per_server": Case("services.login.workers_per_server=3"),
    "Service.backlog_per_server": Case("services.login.backlog_per_server=3"),
    "Service.service_time": Case('services.login.service_time={kind="exponential", mean_s=1.2}'),
    "Service.drop_abandoned": Case("services.login.drop_abandoned=true"),
    "Service.dispatch": [
        Case('services.login.dispatch="round_robin"'),
        Case('services.login.dispatch="random"'),
    ],
    "Service.slowdown": Case('services.login.slowdown={kind="usl", alpha=0.2}'),
    "Service.crash": Case("services.login.crash={backlog_above=4}"),
    "Service.link": Case("links.wide={capacity_gbps=100.0}", "services.login.link=wide"),
    "Service.rate_limit": Case("services.login.rate_limit={per_address_per_s=0.1}"),
    "Service.scrubbing": Case("services.login.scrubbing={detection_s=10.0}"),
    "Service.priority": Case('services.login.priority={roles=["other"]}'),
    "Service.autoscale": Case("services.join.autoscale={max_servers=1}"),
    "Service.error_probability": Case("services.login.error_probability=0.2"),
    "Service.network_delay": Case(
        'services.login.network_delay={kind="deterministic", value_s=2.0}'
    ),
    "Service.max_sessions": Case("services.portal.max_sessions=3"),
    "Service.session_timeout_s": Case(
        "services.portal.session_timeout_s=600.0", base=("services.portal.max_sessions=3",)
    ),
    "LinearSlowdown.knee": Case("services.login.slowdown.knee=2"),
    "LinearSlowdown.slope": Case("services.login.slowdown.slope=0.5"),
    "UslSlowdown.alpha": Case("services.portal.slowdown.alpha=0.3"),
    "UslSlowdown.beta": Case("services.portal.slowdown.beta=0.1"),
    "Crash.backlog_above": Case("services.login.crash.backlog_above=4"),
    "Crash.restart": Case('services.login.crash.restart={kind="deterministic", value_s=120.0}'),
    "Crash.detection_s": Case("services.login.crash.detection_s=30.0"),
    "Crash.while_undetected": Case('services.login.crash.while_undetected="hang"'),
    "RateLimit.per_address_per_s": Case("services.login.rate_limit.per_address_per_s=0.05"),
    "RateLimit.burst": Case("services.login.rate_limit.burst=1"),
    **{
        f"Scrubbing.{setting.split('=')[0]}": [
            Case(f"services.login.scrubbing.{setting}"),
            Case(f"links.edge.scrubbing.{setting}"),
        ]
        for setting in SCRUBBING
    },
    "Scrubbing.stays_on": [
        Case("services.login.scrubbing.stays_on=true"),
        Case("links.edge.scrubbing.stays_on=true"),
    ],
    "Priority.roles": Case('services.login.priority.roles=["teacher"]'),
    "Priority.start": Case('services.login.priority.from="08:50"'),
    "Priority.until": Case('services.login.priority.until="08:50"'),
    "Autoscale.target_utilization": Case("services.join.autoscale.target_utilization=0.9"),
    "Autoscale.period_s": Case("services.join.autoscale.period_s=120.0"),
    "Autoscale.boot_s": Case("services.join.autoscale.boot_s=200.0"),
    "Autoscale.max_servers": Case("services.join.autoscale.max_servers=2"),
    # classrooms, links, gates
    "Classroom.servers": Case("classrooms.visio.servers=1"),
    "Classroom.seats_per_server": Case("classrooms.visio.seats_per_server=30"),
    "Classroom.class_size": Case("templates.ent.classrooms.hall.class_size=5"),
    "Link.capacity_gbps": Case("links.edge.capacity_gbps=20.0"),
    "Link.legit_gbps": Case("links.edge.legit_gbps=0.0"),
    "Link.scrubbing": Case("links.edge.scrubbing={detection_s=0.0, attack_removed=0.9}"),
    "Gate.max_new_per_s": Case("gates.room.max_new_per_s=0.6"),
    "Gate.max_sessions": Case("gates.room.max_sessions=20"),
    "Gate.when_full": Case('gates.room.when_full="reject"'),
    "Gate.patience_factor": Case(
        "gates.room.patience_factor=1.0", base=("gates.room.max_new_per_s=0.5",)
    ),
    "Gate.blocked_roles": Case("gates.room.blocked_roles=[]"),
    "Gate.blocked_from": Case('gates.room.blocked_from="08:55"'),
    "Gate.blocked_until": Case('gates.room.blocked_until="08:50"'),
    # journey steps
    "RequestStep.service": Case('journeys.parent.1.service="portal"'),
    "ClassStep.classroom": Case(
        'journeys.pupil.2.classroom="big"', base=("classrooms.big={servers=4}",)
    ),
    "ClassStep.join_service": Case('journeys.pupil.2.join_service="portal"'),
    "ClassStep.lesson_min": Case("journeys.pupil.2.lesson_min=10.0"),
    "ClassStep.in_class_service": Case('journeys.pupil.2.in_class_service="join"'),
    "ClassStep.think_time": Case("journeys.pupil.2.think_time.mean_s=20.0"),
    "GateStep.gate": Case(
        'journeys.pupil.0.gate="open"', base=("gates.open={max_new_per_s=100.0}",)
    ),
    "SessionStep.service": Case('journeys.parent.2.service="join"'),
    "SessionStep.duration": Case('journeys.parent.2.duration={kind="exponential", mean_s=60.0}'),
    "SessionStep.think_time": Case("journeys.parent.2.think_time.value_s=10.0"),
    # several platforms
    "Template.services": Case(
        'templates.ent.services.web.service_time={kind="exponential", mean_s=3.0}'
    ),
    "Template.classrooms": Case("templates.ent.classrooms.hall.servers=2"),
    "Template.gates": Case("templates.ent.gates.door.max_new_per_s=0.2"),
    "Template.links": Case(
        "templates.ent.links.pipe.capacity_gbps=2.0",
        base=(
            'attacks=[{name="v", kind="volumetric", target="north/pipe", start="08:40", '
            "duration_min=20.0, gbps=1.5}]",
        ),
    ),
    "Template.journeys": Case('templates.ent.journeys.learner=["login", "web"]'),
    "PlatformSpec.template": Case('platforms.north.template="ent2"', base=(NEW_TEMPLATE,)),
    "PlatformSpec.capacity_factor": Case(
        "platforms.north.capacity_factor=3.0", base=("platforms.north.servers={}",)
    ),
    "PlatformSpec.servers": Case("platforms.north.servers={web=1}"),
    # cohorts and sources
    "Cohort.role": Case('cohorts.teachers.role="pupil"'),
    "Cohort.count": Case("cohorts.pupils.count=200"),
    "Cohort.journey": Case('cohorts.teachers.journey="parent"'),
    "Cohort.class_starts": Case('cohorts.pupils.class_starts=["08:45", "08:55"]'),
    "Cohort.class_start_shares": Case("cohorts.pupils.class_start_shares=[0.8, 0.2]"),
    "Cohort.connect": Case('cohorts.pupils.connect={kind="uniform", low_min=-5.0, high_min=0.0}'),
    "Cohort.class_group": Case('cohorts.teachers.class_group="staff"'),
    "Cohort.behaviour": Case("cohorts.teachers.behaviour={max_attempts=1}"),
    "Cohort.people_per_address": Case("cohorts.pupils.people_per_address=2"),
    "Cohort.platform": Case(
        'cohorts.regional.platform="south"',
        base=('platforms.south={template="ent", capacity_factor=0.5}',),
    ),
    "NormalOffset.mean_min": Case("cohorts.pupils.connect.mean_min=-5.0"),
    "NormalOffset.sd_min": Case("cohorts.pupils.connect.sd_min=1.0"),
    "UniformOffset.low_min": Case("cohorts.teachers.connect.low_min=-15.0"),
    "UniformOffset.high_min": Case("cohorts.teachers.connect.high_min=-5.0"),
    "OpenSource.journey": Case(
        'sources.parents.journey="browse"', base=('journeys.browse=["portal"]',)
    ),
    "OpenSource.role": Case('sources.parents.role="pupil"'),
    "OpenSource.rate_per_s": Case("sources.parents.rate_per_s=0.3", base=PARENTS_AT_A_RATE),
    "OpenSource.rates": Case('sources.parents.rates=[{from="08:30", rate_per_s=0.3}]'),
    "OpenSource.behaviour": Case("sources.parents.behaviour={max_attempts=1}"),
    "RatePiece.start": Case('sources.parents.rates.1.from="08:40"'),
    "RatePiece.rate_per_s": Case("sources.parents.rates.1.rate_per_s=0.3"),
    # attacks
    "AttackWave.kind": Case(
        'attacks.volume.kind="application"',
        'attacks.volume.target="portal"',
        "attacks.volume.gbps=0.0",
        "attacks.volume.rate_per_s=5.0",
    ),
    "AttackWave.target": Case('attacks.flood.target="portal"'),
    "AttackWave.start": Case('attacks.flood.start="08:45"'),
    "AttackWave.duration_min": Case("attacks.flood.duration_min=2.0"),
    "AttackWave.rate_per_s": Case("attacks.flood.rate_per_s=20.0"),
    "AttackWave.gbps": Case("attacks.volume.gbps=30.0"),
    "AttackWave.bots": Case("attacks.flood.bots=2"),
    "AttackWave.cost": Case("attacks.flood.cost=3.0"),
    "AttackGenerator.kind": Case(
        'attack_generators.waves.kind="volumetric"',
        'attack_generators.waves.target="edge"',
        "attack_generators.waves.rate_per_s=0.0",
        "attack_generators.waves.gbps=9.0",
        "attack_generators.waves.bots=1000",
        "attack_generators.waves.cost=1.0",
    ),
    "AttackGenerator.target": Case('attack_generators.waves.target="login"'),
    "AttackGenerator.waves": Case("attack_generators.waves.waves=3"),
    "AttackGenerator.first": Case('attack_generators.waves.first="08:35"'),
    "AttackGenerator.last": Case('attack_generators.waves.last="09:05"'),
    "AttackGenerator.duration": Case(
        'attack_generators.waves.duration={kind="exponential", mean_s=60.0}'
    ),
    "AttackGenerator.rate_per_s": Case("attack_generators.waves.rate_per_s=5.0"),
    "AttackGenerator.gbps": Case("attack_generators.vg.gbps=20.0", base=VOLUMETRIC_GENERATOR),
    "AttackGenerator.growth": Case("attack_generators.waves.growth=3.0"),
    "AttackGenerator.bots": Case(
        "attack_generators.waves.bots=1",
        base=("services.portal.rate_limit={per_address_per_s=1.0, burst=2}",),
    ),
    "AttackGenerator.cost": Case("attack_generators.waves.cost=4.0"),
}


def schema_models() -> list[type[BaseModel]]:
    """Every pydantic model reachable from :class:`Scenario` (through unions, lists and
    maps), in the order of a depth-first walk of their fields."""
    seen: dict[type, None] = {}

    def walk(tp) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                return
            seen[tp] = None
            for field in tp.model_fields.values():
                walk(field.annotation)
            return
        if get_origin(tp) in (Union, types.UnionType) or get_args(tp):
            for arg in get_args(tp):
                walk(arg)

    walk(Scenario)
    return list(seen)


def schema_fields() -> list[str]:
    """``Model.field`` for every field of every model reachable from :class:`Scenario`."""
    return [f"{model.__name__}.{name}" for model in schema_models() for name in model.model_fields]


# ---------------------------------------------------------------- the walk


@cache
def _digest(overrides: tuple[str, ...]) -> str:
    return digest(run(load_scenario(KNOBS, list(overrides)).flat))


def test_the_walk_reaches_every_kind_of_table():
    """The walk follows unions, lists and maps: a sample of nested fields is found."""
    found = set(schema_fields())
    for field in (
        "Scenario.seed",
        "BehaviourPatch.patience_covers",
        "JitterBackoff.max_s",
        "Scrubbing.stays_on",
        "RatePiece.start",
        "SessionStep.think_time",
        "PlatformSpec.capacity_factor",
        "AttackGenerator.growth",
        "UniformOffset.high_min",
        "NeverSpec.kind",
    ):
        assert field in found


def test_every_field_is_either_shown_to_act_or_listed_as_not_applicable():
    fields = schema_fields()
    neither = [f for f in fields if f not in CASES and f not in NOT_APPLICABLE]
    both = [f for f in fields if f in CASES and f in NOT_APPLICABLE]
    stale = [f for f in [*CASES, *NOT_APPLICABLE] if f not in fields]
    assert neither == [], f"fields with no case and no reason in NOT_APPLICABLE: {neither}"
    assert both == [] and stale == []


def test_every_field_changes_the_morning():
    dead = []
    for field, cases in CASES.items():
        for case in cases if isinstance(cases, list) else [cases]:
            if _digest(case.base) == _digest((*case.base, *case.change)):
                dead.append(f"{field}: {case!r}")
    assert dead == [], "changing these fields left the morning bit for bit the same:\n" + (
        "\n".join(dead)
    )


# ---------------------------------------------------------------- behaviour per cohort


def _trio(*overrides: str):
    """tests/scenarios/trace.toml with its three people in three cohorts, A, B and C,
    in that order (B waits behind A and gives up at 1.5 s unless only the wait counts)."""
    cohort = (
        '{{name="{}", role="pupil", count=1, journey="login_only", class_starts=["08:00"], '
        'connect={{kind="uniform", low_min=0.0, high_min=0.0}}}}'
    )
    trio = ", ".join(cohort.format(name) for name in "abc")
    return run(scenario("trace", f"cohorts=[{trio}]", *overrides).flat)


def test_a_cohorts_own_patience_covers_is_honoured():
    """Only B's patience covers the wait alone: B starts at 1.0 < 1.5 and is served at
    2 (A and C as in the hand trace); and the other way round, B alone covers the
    response among people who cover the wait. Before, the service read only the
    scenario's setting, and both mornings were the scenario's."""
    T0 = 8 * 3600.0
    mixed = _trio('cohorts.b.behaviour={patience_covers="wait"}')
    np.testing.assert_allclose(mixed.people["reached"] - T0, [1.0, 2.0, 6.0])
    reverse = _trio(
        'behaviour.patience_covers="wait"', 'cohorts.b.behaviour={patience_covers="response"}'
    )
    np.testing.assert_allclose(reverse.people["reached"] - T0, [1.0, 7.5, 6.0])


def test_a_cohorts_partial_behaviour_inherits_the_scenarios_other_fields():
    """``{max_attempts=1}`` on B keeps the trace's 1.5 s patience and 5 s backoff; it
    used to reset them to the defaults (lognormal patience of mean 20 s)."""
    scenario_ = load_scenario(SCENARIOS / "trace.toml", ["cohorts.trio.behaviour={max_attempts=1}"])
    own = scenario_.behaviour_of(scenario_.cohorts[0])
    assert own.max_attempts == 1
    assert own.model_dump(exclude={"max_attempts"}) == scenario_.behaviour.model_dump(
        exclude={"max_attempts"}
    )
    result = run(scenario_.flat)
    assert result.people["fate"].tolist() == [2, 3, 3]  # as with behaviour.max_attempts=1


def test_a_partial_behaviour_in_a_file_merges_too(tmp_path):
    raw = read_raw(SCENARIOS / "trace.toml")
    raw["cohorts"][0]["behaviour"] = {"retry_probability": 0.5}
    scenario_ = scenario_from_dict(raw)
    own = scenario_.behaviour_of(scenario_.cohorts[0])
    assert own.retry_probability == 0.5
    assert own.patience == scenario_.behaviour.patience
    assert own.backoff == scenario_.behaviour.backoff


def test_a_cohort_follows_a_later_change_of_the_scenarios_behaviour():
    """The resolved scenario keeps a cohort's own fields only, so a --set of the
    scenario's behaviour still reaches the fields the cohort does not set."""
    scenario_ = load_scenario(
        SCENARIOS / "trace.toml",
        ["cohorts.trio.behaviour={max_attempts=1}", "behaviour.retry_probability=0.25"],
    )
    own = scenario_.behaviour_of(scenario_.cohorts[0])
    assert (own.max_attempts, own.retry_probability) == (1, 0.25)


def test_a_merged_behaviour_is_validated_as_a_whole():
    """A cohort's backoff factor fine on its own but not with the scenario's attempts."""
    with pytest.raises(ScenarioError, match=r"cohorts\.trio\.behaviour over the scenario"):
        load_scenario(
            SCENARIOS / "trace.toml",
            [
                "behaviour.max_attempts=1000",
                'behaviour.backoff={kind="constant", delay_s=1.0}',
                'cohorts.trio.behaviour={backoff={kind="exponential", base_s=1.0, factor=10.0}}',
            ],
        )


def test_a_behaviour_patch_has_every_field_of_a_behaviour_and_only_optional_ones():
    assert list(BehaviourPatch.model_fields) == list(Behaviour.model_fields)
    assert BehaviourPatch().over(Behaviour()) == Behaviour()


def test_extends_replaces_a_table_of_another_kind(tmp_path):
    """A variant's exponential patience over a lognormal one is exponential (it used to
    keep the base's cv and fail as an unknown key)."""
    (tmp_path / "variant.toml").write_text(
        f'extends = "{SCENARIOS / "knobs.toml"}"\n'
        '[behaviour]\npatience = { kind = "exponential", mean_s = 3.0 }\n'
        "[services.login.service_time]\nmean_s = 2.0\n"
    )
    variant = load_scenario(tmp_path / "variant.toml")
    assert variant.behaviour.patience.model_dump() == {"kind": "exponential", "mean_s": 3.0}
    login = variant.services["login"].service_time  # same kind: merged key by key
    assert (login.kind, login.mean_s, login.cv) == ("lognormal", 2.0, 1.0)


def test_a_link_filter_removes_its_share_of_legitimate_requests():
    """``legit_removed`` of a link's scrubbing used to be ignored (only a service's
    filter blocked legitimate requests)."""
    base = ("services.login.rate_limit={per_address_per_s=100.0}",)
    quiet = run(load_scenario(KNOBS, [*base, "links.edge.scrubbing.legit_removed=0.0"]).flat)
    noisy = run(load_scenario(KNOBS, [*base, "links.edge.scrubbing.legit_removed=0.9"]).flat)
    assert noisy.service_summary["login"]["blocked"] > quiet.service_summary["login"]["blocked"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("attacks.volume.rate_per_s=50.0", "rate_per_s: only for application floods"),
        ("attacks.volume.bots=10", "bots: only for application floods"),
        ("attacks.volume.cost=2.0", "cost: only for application floods"),
        ("attacks.flood.gbps=5.0", "gbps is for volumetric floods"),
        ("attack_generators.waves.gbps=5.0", "gbps is for volumetric floods"),
    ],
)
def test_a_field_its_kind_of_flood_ignores_is_refused(override, message):
    """A volumetric flood's rate, bots or cost (and an application flood's Gbit/s) were
    accepted and ignored: the morning was the same bit for bit."""
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(KNOBS, [override])
    assert "\n" not in str(info.value)
