"""Several platforms from one template, with a shared login federation."""

from __future__ import annotations

import pytest

from sim.config import ScenarioError
from sim.config.expand import flatten
from sim.run.runner import run
from tests.conftest import scenario


def test_templates_expand_into_named_services_and_journeys():
    flat = flatten(scenario("regions"))
    assert set(flat.services) == {"federation", "north/portal", "south/portal"}
    assert flat.services["north/portal"].servers == 4
    assert flat.services["south/portal"].servers == 2  # capacity_factor 0.5
    steps = flat.journeys["south/pupil"]
    assert [s.service for s in steps] == ["federation", "south/portal"]
    assert [c.journey for c in flat.cohorts] == ["north/pupil", "south/pupil"]


def test_the_weaker_region_fails_while_the_other_holds():
    result = run(scenario("regions"))
    south = result.service_summary["south/portal"]
    north = result.service_summary["north/portal"]
    assert south["rejected"] + south["abandoned"] > 10 * (
        north["rejected"] + north["abandoned"] + 1
    )
    # both regions' pupils go through the one federation
    assert result.service_summary["federation"]["arrivals"] >= 10_000


def test_platform_server_counts_can_be_set_per_service():
    flat = flatten(scenario("regions", "platforms.south.servers={portal=8}"))
    assert flat.services["south/portal"].servers == 8
    result = run(scenario("regions", "platforms.south.servers={portal=8}"))
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
