"""Scaled runs: simulate a fraction of the people with capacities scaled alike.

``scale(scenario, f)`` multiplies every population and every capacity by `f`: cohort
sizes, arrival and attack rates, attack bandwidth and bots, servers, classroom servers,
gate rates and quotas, services' session caps, link capacities. Per-request quantities
(service times, patience, backoff, per-address rate limits, error probabilities, network
delays) do not change, so a service at a given utilisation stays at that utilisation.
Counts are rounded; a service left with less than one server becomes one server holding
the scaled number of workers and backlog places, so small fractions keep the total
capacity right at the cost of pooling (a pooled queue waits less than the same workers
split over servers). Costs (``[costs]``) follow: servers are paid as counted, a pooled
server at its share of a whole one's price (its workers over a whole one's), and each
defence's price per day times `f`; so a scaled run's costs are those of the scaled
platform, about `f` times the full one's (divide by the scale to read them). How far
scaled KPIs can be trusted is measured in docs/explanation/april-2021.md.

The scaled scenario says so: its ``scale`` is the product of the factors applied (a
label for the results, written to ``scenario.toml`` so that rerunning that file runs the
same scaled morning, and says it is one, without scaling it again).

A replayed morning (``[replay]``) is scaled too: its cohorts' counts become the expected
numbers, and each run keeps a random `scale` of the log's people
(:func:`sim.config.replay.replay_arrivals`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sim.config import describe_error, to_dict
from sim.config.scenario import Scenario


def scale(scenario: Scenario, factor: float) -> Scenario:
    """`scenario` with people and capacities multiplied by `factor` (0 < factor); a
    ValueError (one line) if the scaled scenario is not valid or its numbers overflow."""
    if factor <= 0:
        raise ValueError("scale must be greater than 0")
    if factor == 1:
        return scenario
    if scenario.replay is not None:
        from sim.config.replay import check_replay_scale  # reads logs: only for a replay

        check_replay_scale(_product(scenario.scale, factor))
    data = to_dict(scenario)
    try:
        _scale_all(data, factor)
        data["scale"] = _product(scenario.scale, factor)
        return Scenario.model_validate(data)
    except OverflowError:
        raise ValueError("the scaled numbers are too large") from None
    except ValidationError as err:
        raise ValueError(f"scaled: {describe_error(err, data, root=Scenario)}") from None


def _product(scale: float, factor: float) -> float:
    """`scale` times `factor`, to 12 significant digits: 0.1 twice is 0.01 in the
    results, not 0.010000000000000002."""
    return float(f"{scale * factor:.12g}")


SHAKY_BELOW = 0.1
"""Below this scale, KPIs are far from the full morning's (docs/explanation/april-2021.md,
"how far --scale can be trusted"): the commands warn."""


def scale_words(scale: float | None) -> str:
    """How results say their scale: ``at --scale 0.01 (1 % of the people)``; empty for
    an unscaled run, or one whose scale is not recorded (older results)."""
    if scale is None or scale == 1:
        return ""
    return f"at --scale {scale:g} ({scale * 100:.3g} % of the people)"


def scale_warning(scale: float) -> str | None:
    """The one-line warning for a scale below :data:`SHAKY_BELOW`, else None."""
    if scale >= SHAKY_BELOW:
        return None
    return (
        f"at --scale {scale:g} the results can be far from the full morning's; see "
        '"how far --scale can be trusted" in docs/explanation/april-2021.md'
    )


def _scale_all(data: dict[str, Any], factor: float) -> None:
    for cohort in data["cohorts"]:
        cohort["count"] = round(cohort["count"] * factor)
    for source in data["sources"]:
        if "rate_per_s" in source:
            source["rate_per_s"] *= factor
        for piece in source.get("rates", []):
            piece["rate_per_s"] *= factor
    for attack in [*data["attacks"], *data["attack_generators"]]:
        if attack["kind"] == "volumetric":  # its bandwidth; the other fields are refused
            attack["gbps"] *= factor
        else:
            attack["rate_per_s"] *= factor
            attack["bots"] = max(1, round(attack["bots"] * factor))
    for part in [data, *data["templates"].values()]:
        _scale_platform(part, factor)
    for platform in data["platforms"].values():
        platform["servers"] = {k: max(1, round(v * factor)) for k, v in platform["servers"].items()}
    costs = data.get("costs")
    if costs is not None:  # a defence of a scaled platform: its share of the day's price
        costs["defence_per_day"] = {k: v * factor for k, v in costs["defence_per_day"].items()}


def _scale_platform(part: dict[str, Any], factor: float) -> None:
    for service in part["services"].values():
        _scale_service(service, factor)
    for room in part.get("classrooms", {}).values():
        room["servers"] = max(1, round(room["servers"] * factor))
    for gate in part.get("gates", {}).values():
        if "max_new_per_s" in gate:
            gate["max_new_per_s"] *= factor
        if "max_sessions" in gate:
            gate["max_sessions"] = max(1, round(gate["max_sessions"] * factor))
    for link in part.get("links", {}).values():
        link["capacity_gbps"] *= factor
        link["legit_gbps"] *= factor


def _scale_service(service: dict[str, Any], factor: float) -> None:
    if "max_sessions" in service:  # a capacity, like a gate's quota
        service["max_sessions"] = max(1, round(service["max_sessions"] * factor))
    servers = service["servers"] * factor
    if "autoscale" in service:
        auto = service["autoscale"]
        auto["max_servers"] = max(1, round(auto["max_servers"] * factor))
    if servers >= 1:
        service["servers"] = round(servers)
        if "autoscale" in service:
            auto = service["autoscale"]
            auto["max_servers"] = max(auto["max_servers"], service["servers"])
        return
    backlog, workers = service["backlog_per_server"], service["workers_per_server"]
    service["workers_per_server"] = max(1, round(workers * servers))
    for price in ("cost_per_server_hour", "cost_per_instance_hour"):
        if price in service:  # the pooled server is that part of a whole one
            service[price] *= service["workers_per_server"] / workers
    service["backlog_per_server"] = round(backlog * servers)
    service["servers"] = 1
    crash = service.get("crash")
    if crash is not None and backlog:
        crash["backlog_above"] = round(crash["backlog_above"] * servers)
    if "autoscale" in service:
        service["autoscale"]["max_servers"] = max(1, service["autoscale"]["max_servers"])
