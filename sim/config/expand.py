"""Several platforms in one scenario: expand templates into one flat scenario.

A region's digital workspace is the same software everywhere, with different capacity.
A scenario therefore describes a platform once, as a *template* (services, classrooms,
gates, links, journeys), and instantiates it per region under ``[platforms.<name>]``
with a capacity factor and per-service server counts. :func:`expand` turns that into
the data of the flat scenario the model runs, where platform ``occitanie``'s ``login``
service is named ``occitanie/login`` and a cohort with ``platform = "occitanie"`` and
``journey = "pupil"`` follows the journey ``occitanie/pupil``. A journey step naming a
service the template does not have refers to the top-level service of that name, so
every region can depend on one shared login federation.

Only :mod:`sim.config.scenario` calls it: a scenario is expanded once, when it is
validated, into its :class:`~sim.config.scenario.FlatScenario` (``scenario.flat``),
which everything downstream reads.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sim.config.platform_schema import (
    ClassStep,
    GateStep,
    PlatformSpec,
    RequestStep,
    SessionStep,
    Template,
)

if TYPE_CHECKING:
    from sim.config.scenario import Scenario

SEPARATOR = "/"


def expand(scenario: Scenario) -> dict[str, Any]:
    """The data of `scenario` with every platform expanded and no template left, to be
    validated as a flat scenario; a ValueError (one line) for a platform that names an
    unknown template, service or platform."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["templates"], data["platforms"] = {}, {}
    data["uncertain"] = {}  # ranges of the scenario as written: its paths, not the expansion's
    for name, platform in scenario.platforms.items():
        if platform.template not in scenario.templates:
            raise ValueError(
                f"platforms.{name}.template: {platform.template!r} is not one of "
                f"{sorted(scenario.templates)}"
            )
        _expand(data, name, platform, scenario.templates[platform.template])
    for cohort in data["cohorts"]:
        platform = cohort.pop("platform", None)
        if platform is not None:
            if platform not in scenario.platforms:
                raise ValueError(
                    f"cohort {cohort['name']!r}: platform {platform!r} is not one of "
                    f"{sorted(scenario.platforms)}"
                )
            cohort["journey"] = f"{platform}{SEPARATOR}{cohort['journey']}"
    return data


def _expand(data: dict[str, Any], name: str, platform: PlatformSpec, template: Template) -> None:
    def qualified(local: str) -> str:
        return f"{name}{SEPARATOR}{local}"

    unknown = set(platform.servers) - set(template.services)
    if unknown:
        raise ValueError(
            f"platforms.{name}.servers: {sorted(unknown)} not among the template's services "
            f"{sorted(template.services)}"
        )
    for local, service in template.services.items():
        spec = service.model_dump(mode="json", by_alias=True, exclude_none=True)
        spec["servers"] = platform.servers.get(local, _scaled(service.servers, platform))
        autoscale = spec.get("autoscale")
        if autoscale is not None:  # the ceiling scales with the platform, like the floor
            ceiling = _scaled(autoscale["max_servers"], platform)
            autoscale["max_servers"] = max(ceiling, spec["servers"])
        if service.link is not None and service.link in template.links:
            spec["link"] = qualified(service.link)
        data["services"][qualified(local)] = spec
    for local, room in template.classrooms.items():
        spec = room.model_dump(mode="json", by_alias=True, exclude_none=True)
        spec["servers"] = _scaled(room.servers, platform)
        data["classrooms"][qualified(local)] = spec
    for local, gate in template.gates.items():
        data["gates"][qualified(local)] = gate.model_dump(mode="json", by_alias=True)
    for local, link in template.links.items():
        data["links"][qualified(local)] = link.model_dump(mode="json", exclude_none=True)
    for local, steps in template.journeys.items():
        data["journeys"][qualified(local)] = [_step(step, template, qualified) for step in steps]


def _scaled(servers: int, platform: PlatformSpec) -> int:
    return max(1, math.ceil(servers * platform.capacity_factor - 1e-9))


def _step(step: Any, template: Template, qualified) -> dict[str, Any]:
    def service(local: str | None) -> str | None:
        if local is None:
            return None
        return qualified(local) if local in template.services else local

    spec = step.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(step, RequestStep | SessionStep):
        spec["service"] = service(step.service)
    elif isinstance(step, GateStep):
        spec["gate"] = qualified(step.gate) if step.gate in template.gates else step.gate
    elif isinstance(step, ClassStep):
        spec["join_service"] = service(step.join_service)
        if step.in_class_service is not None:
            spec["in_class_service"] = service(step.in_class_service)
        if step.classroom in template.classrooms:
            spec["classroom"] = qualified(step.classroom)
    return spec
