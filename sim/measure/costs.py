"""What one run cost: its infrastructure, and the teaching it lost, in the scenario's
currency (``[costs]``, :mod:`sim.config.costs`). Only a scenario with ``[costs]`` has
these KPIs.

- *infrastructure*: every priced service's servers for the scenario's clock (start to
  end), at its server-hour price; the servers an autoscaler added, for the time they
  were in the pool (from when they were ready: their boot is not paid), at the
  instance-hour price; every priced classroom's servers for the clock; each defence of
  a priced kind, one day's price (:data:`sim.config.costs.DEFENCE_KINDS`).
- *lost class-hours*: for each person with a lesson (pupils and teachers, and anyone
  whose journey has a class step; barred people and those who meant to connect after
  the run are left out), the time from their class start, or from when they meant to
  connect if later, to getting in, at most until the lesson's end. Getting in is being
  seated in an open class (a wait for the teacher in the lobby is lost time), or
  through every step of a journey without a class step. Whoever never got in (gave up,
  got in too late, no teacher came, still trying at the end) lost the lesson from then
  to its end. A lesson lasts its class step's ``lesson_min``, or ``costs.lesson_min``
  for a journey without one. In person-hours.
- the value of the lost teaching: the lost class-hours times ``costs.lost_class_hour``,
  and the pupils who tried and never got in times ``costs.pupil_never_in``; each None
  (not valued) when its value is not given, and left out of the total.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.people import Fate
from sim.model.population import class_step_of, groups_with_lesson

if TYPE_CHECKING:
    from sim.config.scenario import FlatScenario
    from sim.measure.kpis import RunData

HOUR_S = 3600.0


def cost_kpis(result: RunData) -> dict[str, Any]:
    """The cost KPIs of a run of a scenario with ``[costs]``: the lost class-hours
    (person-hours) and the costs (``cost``: infrastructure, the values of the lost
    teaching, their total)."""
    costs = result.scenario.costs
    hours, never_in = lost_teaching(result)
    infrastructure = server_cost(result) + classroom_cost(result.scenario)
    infrastructure += defence_cost(result.scenario)
    lost = None if costs.lost_class_hour is None else hours * costs.lost_class_hour
    pupils = None if costs.pupil_never_in is None else never_in * costs.pupil_never_in
    valued = [v for v in (lost, pupils) if v is not None]
    return {
        "lost_class_hours": hours,
        "cost": {
            "infrastructure": infrastructure,
            "lost_class_hours": lost,
            "pupils_never_in": pupils,
            "total": infrastructure + sum(valued),
        },
    }


def server_cost(result: RunData) -> float:
    """The priced services' servers over the clock, the autoscaled ones for their time
    in the pool (up, or down and restarting: a crashed server is still paid)."""
    scenario = result.scenario
    hours = (scenario.end_s - scenario.start_s) / HOUR_S
    total = 0.0
    for name, spec in scenario.services.items():
        price = spec.cost_per_server_hour or 0.0
        fixed = spec.servers * hours
        total += fixed * price
        if spec.autoscale is not None:
            instance = spec.cost_per_instance_hour
            total += added_server_hours(result, name, fixed) * (
                price if instance is None else instance
            )
    return total


def added_server_hours(result: RunData, service: str, fixed: float) -> float:
    """Server-hours of the servers an autoscaler added to `service`: the pool's
    server-hours (the record's mean servers per bin, up or down) less its `fixed`."""
    series = result.services[service]
    width = float(result.scenario.measure.bin_s)
    pool = float((series.mean_servers_up + series.mean_servers_down).sum()) * width / HOUR_S
    added = pool - fixed
    return added if added > 1e-9 * max(fixed, 1.0) else 0.0  # not the sums' rounding


def classroom_cost(scenario: FlatScenario) -> float:
    """The priced classrooms' servers over the clock."""
    hours = (scenario.end_s - scenario.start_s) / HOUR_S
    return sum(
        room.servers * hours * room.cost_per_server_hour
        for room in scenario.classrooms.values()
        if room.cost_per_server_hour is not None
    )


def defences(scenario: FlatScenario) -> dict[str, int]:
    """How many defences of each kind of :data:`sim.config.costs.DEFENCE_KINDS` the
    scenario has."""
    services, gates = scenario.services.values(), scenario.gates.values()
    links = scenario.links.values()
    limited = (g.max_new_per_s is not None or g.max_sessions is not None for g in gates)
    queues = (g.when_full == "queue" for g in gates)
    rooms = sum(a and b for a, b in zip(limited, queues, strict=True))
    return {
        "scrubbing": sum(s.scrubbing is not None for s in [*services, *links]),
        "rate_limit": sum(s.rate_limit is not None for s in services),
        "waiting_room": rooms,
        "gate": len(gates) - rooms,
    }


def defence_cost(scenario: FlatScenario) -> float:
    """Each defence of a priced kind, one day's price (a morning is a day of it)."""
    prices = scenario.costs.defence_per_day
    return sum(n * prices.get(kind, 0.0) for kind, n in defences(scenario).items())


def lost_teaching(result: RunData) -> tuple[float, int]:
    """The lost class-hours (person-hours, see the module's docstring) and the pupils
    who tried and never got in."""
    scenario, people = result.scenario, result.people
    group, fate = people["group"], people["fate"]
    class_start = people["class_start"]
    tried = (fate != Fate.NOT_ARRIVED) & (fate != Fate.BARRED)
    counted = tried & groups_with_lesson(scenario)[group] & np.isfinite(class_start)
    lesson_end = class_start + lesson_lengths_s(scenario)[group]
    begin = np.maximum(class_start, people["intended"])
    got_in = np.where(fate == Fate.REACHED, people["reached"], np.inf)
    lost = np.maximum(np.minimum(got_in, lesson_end) - begin, 0.0)
    hours = float(lost[counted].sum()) / HOUR_S
    roles = np.asarray(result.group_roles, dtype=object)[group]
    never_in = int((tried & (roles == "pupil") & (fate != Fate.REACHED)).sum())
    return hours, never_in


def lesson_lengths_s(scenario: FlatScenario) -> np.ndarray:
    """Per group (cohorts, then sources): its lesson's length (s), its class step's or
    ``costs.lesson_min`` for a journey without one (sources have no lesson: 0)."""
    default = scenario.costs.lesson_min * 60.0
    lengths = []
    for cohort in scenario.cohorts:
        step = class_step_of(scenario, cohort.journey)
        lengths.append(default if step is None else step.lesson_min * 60.0)
    return np.array(lengths + [0.0] * len(scenario.sources), dtype=float)
