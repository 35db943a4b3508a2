"""Several platforms from one template, with a shared login federation."""

from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

import sim.config.scenario
from sim.config import ScenarioError, to_dict, to_toml
from sim.config.expand import expand
from sim.config.scenario import FlatScenario, Scenario
from sim.engine.kernel import Environment
from sim.engine.monitor import Recorder
from sim.engine.rng import Streams
from sim.measure.kpis import unknown_metric
from sim.model.build import build
from sim.simulation.resources import estimate_events, estimate_mb
from sim.simulation.runner import run
from tests.conftest import scenario


def test_templates_expand_into_named_services_and_journeys():
    flat = scenario("regions").flat
    assert set(flat.services) == {"federation", "north/portal", "south/portal"}
    assert flat.services["north/portal"].servers == 4
    assert flat.services["south/portal"].servers == 2  # capacity_factor 0.5
    steps = flat.journeys["south/pupil"]
    assert [s.service for s in steps] == ["federation", "south/portal"]
    assert [c.journey for c in flat.cohorts] == ["north/pupil", "south/pupil"]


def test_the_weaker_region_fails_while_the_other_holds():
    result = run(scenario("regions").flat)
    south = result.service_summary["south/portal"]
    north = result.service_summary["north/portal"]
    assert south["rejected"] + south["abandoned"] > 10 * (
        north["rejected"] + north["abandoned"] + 1
    )
    # both regions' pupils go through the one federation
    assert result.service_summary["federation"]["arrivals"] >= 10_000


def test_platform_server_counts_can_be_set_per_service():
    flat = scenario("regions", "platforms.south.servers={portal=8}").flat
    assert flat.services["south/portal"].servers == 8
    result = run(flat)
    assert result.service_summary["south/portal"]["rejected"] == 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ('platforms.south.template="lms"', "platforms.south.template: 'lms' is not one of"),
        ("platforms.south.servers={login=3}", "not among the template's services"),
        ('cohorts.south_pupils.platform="east"', "platform 'east' is not one of"),
    ],
)
def test_bad_platform_references_are_one_line_errors(override, message):
    with pytest.raises(ScenarioError, match=message) as info:
        scenario("regions", override)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- expanded once, at the edge


def test_a_scenario_is_expanded_once_and_keeps_its_expansion(monkeypatch):
    """Validation expands the platforms (to check them) and keeps the result: the
    model, the resource estimates and the metric checks read it, none expands again."""
    calls = []
    monkeypatch.setattr(sim.config.scenario, "expand", lambda s: calls.append(s) or expand(s))
    written = scenario("regions")
    assert len(calls) == 1
    flat = written.flat
    assert flat is written.flat and flat.flat is flat
    estimate_mb(flat), estimate_events(flat), unknown_metric("kpi.gave_up", flat)
    assert len(calls) == 1


def test_the_expansion_keeps_the_scenario_as_written():
    written = scenario("regions")
    flat = written.flat
    assert type(written) is Scenario and type(flat) is FlatScenario
    assert not flat.platforms and not flat.templates and written.platforms
    assert to_toml(flat.source) == to_toml(written)  # what scenario.toml keeps
    assert flat.source == written and flat != written


def test_a_scenario_without_platforms_is_its_own_expansion():
    written = scenario("surge")
    assert type(written.flat) is FlatScenario
    assert to_dict(written.flat) == to_dict(written)


def test_a_copy_with_other_values_expands_again():
    written = scenario("regions")
    other = written.model_copy(update={"seed": 7})
    assert other.flat.seed == 7 and written.flat.seed == written.seed != 7
    with pytest.raises(TypeError, match="copy the scenario as written"):
        written.flat.model_copy(update={"seed": 7})  # its source would stay behind


def test_the_kept_expansion_survives_pickling_and_equality():
    """Jobs go to worker processes pickled; a scenario whose expansion is kept equals
    one whose expansion is not made yet (the copy above)."""
    written = scenario("regions")
    again = pickle.loads(pickle.dumps(written))
    assert again == written and again.flat == written.flat
    assert again.flat.source == written


def test_an_expanded_scenario_cannot_have_platforms():
    data = to_dict(scenario("regions"))
    with pytest.raises(ValidationError, match="an expanded scenario has no templates"):
        FlatScenario.model_validate(data)


@pytest.mark.parametrize("name", ["regions", "surge"])
def test_the_model_refuses_a_scenario_as_written(name):
    """A scenario with platforms names services the model does not have: build(), run()
    and the estimates take only the expanded type, and say so."""
    written = scenario(name)
    with pytest.raises(TypeError, match=r"build\(\) takes the expanded scenario.*scenario\.flat"):
        build(Environment(), written, Streams(1, 0), Recorder(0.0, 60.0))
    with pytest.raises(TypeError, match=r"run\(\) takes the expanded scenario"):
        run(written)
    with pytest.raises(TypeError, match="takes the expanded scenario"):
        estimate_mb(written)
    with pytest.raises(TypeError, match="takes the expanded scenario"):
        estimate_events(written)
