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
"""

from sim.config.base import *  # noqa: F403
from sim.config.base import ScenarioError, clock_to_s, s_to_clock, spec_mean  # noqa: F401
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
