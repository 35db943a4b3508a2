"""Scenario schema, loading and ``--set`` overrides.

A scenario is a TOML file validated by the pydantic models below (``extra="forbid"``, so
a misspelt key is an error, not a silent default). Units are explicit in field names
(``mean_s``, ``lesson_min``, ``rate_per_s``) and clock times are written ``"08:00"``.
This module is the only place where raw user input becomes typed data: everything after
it receives a validated :class:`Scenario` and never re-checks it.

The schema lives in :mod:`sim.config.base` (units, clock times, distributions),
:mod:`sim.config.platform_schema` (services, defences, attacks, journey steps) and
:mod:`sim.config.scenario` (population, the scenario, and :class:`FlatScenario`, the
scenario with platforms expanded by :mod:`sim.config.expand`, once: ``scenario.flat``);
:mod:`sim.config.loading` reads files and applies overrides. Everything is re-exported
here.

Re-exported on first use (:func:`__getattr__`): the schema imports pydantic and builds
forty models, a third of the start-up of a command, and ``sim --help``, ``sim
--version`` and ``sim examples`` need none of it, only :class:`ScenarioError` and
:mod:`sim.config.catalog`. ``from sim.config import Scenario`` loads it as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.config.errors import ScenarioError

if TYPE_CHECKING:  # the names below, for type checkers and editors
    from sim.config.base import *  # noqa: F403
    from sim.config.base import clock_to_s, s_to_clock, spec_mean  # noqa: F401
    from sim.config.loading import (  # noqa: F401
        apply_override,
        describe_error,
        load_scenario,
        parse_value,
        read_raw,
        scenario_from_dict,
        to_dict,
        to_toml,
    )
    from sim.config.platform_schema import *  # noqa: F403
    from sim.config.scenario import *  # noqa: F403

_SUBMODULES = frozenset(
    {"base", "catalog", "costs", "errors", "expand", "loading", "platform_schema", "scale"}
    | {"scenario", "schema_walk"}
)
_LOADING = (
    "apply_override",
    "describe_error",
    "load_scenario",
    "parse_value",
    "read_raw",
    "scenario_from_dict",
    "to_dict",
    "to_toml",
)


def __getattr__(name: str) -> Any:
    """`name` of the schema, which is loaded on this first use. A submodule not yet
    imported is not an attribute (as in any package): ``from sim.config import catalog``
    then imports it alone, without the schema."""
    if name in _SUBMODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    names = _schema_names()
    if name not in names:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals().update(names)  # later uses find them without this function
    return names[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *_schema_names()})


def _schema_names() -> dict[str, Any]:
    """What ``from sim.config.base import *`` (and from the platforms' and the scenario's
    schemas) and the functions of :data:`_LOADING` gave this package when it imported
    them."""
    from sim.config import base, loading, platform_schema, scenario  # the schema: pydantic

    names: dict[str, Any] = {}
    for module in (base, platform_schema, scenario):
        names.update({k: v for k, v in vars(module).items() if not k.startswith("_")})
    names.update({name: getattr(loading, name) for name in _LOADING})
    names["ScenarioError"] = ScenarioError
    return names
