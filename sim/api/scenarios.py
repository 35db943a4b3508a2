"""Scenarios in: a file or a shipped example, changed and scaled as on the command line."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.config import Scenario, ScenarioError, catalog, load_scenario
from sim.config import scale as scaling


def load(
    source: str | Path | None = None,
    *,
    set: Mapping[str, Any] | Sequence[str] | None = None,  # the name of --set
    scale: float = 1.0,
    seed: int | None = None,
) -> Scenario:
    """The scenario in `source`: a TOML file, or the name of a shipped example
    (``"default"``, ``"2021-04-06"``, ``"teaching/single_queue"``; None is the default).

    `set` changes fields by their dotted path, as ``sim run --set`` does, with Python
    values: ``set={"services.login.servers": 6, "start": "08:00"}`` (or as the command's
    texts, read as TOML: ``["services.login.servers=6"]``), in order. `scale` simulates
    that fraction of the people with capacities scaled alike (``--scale``); `seed`
    replaces the scenario's seed. A bad file, path or value raises
    `sim.ScenarioError` (a ``ValueError``) in one line naming the field.

    Examples:
        >>> import sim
        >>> sim.load("teaching/single_queue", set={"services.login.servers": 2}).name
        'teaching-single-queue'
    """
    overrides = list(set.items()) if isinstance(set, Mapping) else list(set or [])
    scenario = load_scenario(catalog.find(source), overrides)
    if scale != 1.0:
        scenario = scaled(scenario, scale)
    return scenario if seed is None else scenario.model_copy(update={"seed": seed})


def scaled(scenario: Scenario, factor: float) -> Scenario:
    """`scenario` at `factor` of its people and capacities; `ScenarioError` if the
    factor is not a number above 0 or the scaled scenario is not valid."""
    if not 0 < factor < math.inf:
        raise ScenarioError(f"scale must be a number greater than 0, got {factor}")
    try:
        return scaling.scale(scenario, factor)
    except ValueError as e:
        raise ScenarioError(f"scale {factor:g}: {e}") from None
