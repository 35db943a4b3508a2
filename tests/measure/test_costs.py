"""What a run costs (``[costs]``, sim/measure/costs.py): the known answer of a tiny
morning, the teaching it lost, scaling, and nothing changed without ``[costs]``."""

from __future__ import annotations

import pytest

from sim.config import read_raw, scenario_from_dict
from sim.config.scale import scale
from sim.experiments.execution import flat_kpis
from sim.measure import metrics
from sim.measure.costs import defences
from sim.measure.kpis import COST_KPI_NAMES, unknown_metric
from sim.simulation.runner import digest, run
from tests.conftest import SCENARIOS, scenario
from tests.robustness.conftest import invoke, one_error_line

COSTS = SCENARIOS / "costs.toml"
WEB = 3 * 2.0 * 0.5  # 3 servers, 2 hours, 0.5 a server-hour
AUTO = 1 * 2.0 * 1.0 + 2 * (119 / 60) * 2.0  # 1 server, and 2 added at 08:01 at 2.0 an hour
DEFENCES = 100.0 + 50.0  # web's scrubbing, the waiting room (no rate limit: its price unused)
LOST_H = 4 * 0.5 + 2 * 60 / 3600  # 4 pupils lose their 30-min lesson, 2 lose a minute each


@pytest.fixture(scope="module")
def morning():
    return run(scenario("costs").flat)


def without_costs(raw: dict) -> dict:
    """`raw` with its [costs] table and every price removed."""
    raw = {k: v for k, v in raw.items() if k != "costs"}
    for part in ("services", "classrooms"):
        for spec in raw.get(part, {}).values():
            spec.pop("cost_per_server_hour", None)
            spec.pop("cost_per_instance_hour", None)
    return raw


def test_the_costs_of_a_tiny_morning_are_known(morning):
    """Fixed servers x hours x price exactly, the autoscaled servers from the minute
    they were added, a day of each priced defence, and the lost teaching valued."""
    cost = morning.kpi["cost"]
    assert defences(morning.scenario) == {
        "scrubbing": 1,
        "rate_limit": 0,
        "waiting_room": 1,
        "gate": 0,
    }
    assert cost["infrastructure"] == pytest.approx(WEB + AUTO + DEFENCES, rel=1e-12)
    assert morning.kpi["lost_class_hours"] == pytest.approx(LOST_H, rel=1e-12)
    assert cost["lost_class_hours"] == pytest.approx(10.0 * LOST_H, rel=1e-12)
    assert cost["pupils_never_in"] == 4 * 100.0  # the 4 pupils who gave up
    assert cost["total"] == pytest.approx(WEB + AUTO + DEFENCES + 10.0 * LOST_H + 400.0)


def test_lost_teaching_not_valued_is_said_so_and_left_out_of_the_total():
    raw = read_raw(COSTS)
    del raw["costs"]["lost_class_hour"], raw["costs"]["pupil_never_in"]
    cost = run(scenario_from_dict(raw).flat).kpi["cost"]
    assert cost["lost_class_hours"] is None and cost["pupils_never_in"] is None
    assert cost["total"] == cost["infrastructure"]
    assert metrics.metric("kpi.cost.lost_class_hours").none_text.startswith("not valued")


def test_a_run_with_costs_reports_the_registry_s_cost_kpis_in_its_currency(morning):
    reported = {name for name in flat_kpis(morning.kpi) if "by_" not in name}
    expected = {f"kpi.{name}" for name in COST_KPI_NAMES}
    assert reported & {n for n in reported if "cost" in n or "class_hours" in n} == expected
    assert metrics.metric("kpi.cost.total").unit == "EUR"
    with metrics.priced_in("USD"):
        assert metrics.metric("kpi.cost.total").unit == "USD"
        assert metrics.metric("kpi.lost_class_hours").unit == "h"
    assert unknown_metric("kpi.cost.total", morning.scenario) is None


def test_without_costs_nothing_changes(morning):
    """The same morning without [costs] and its prices: the same digest once the cost
    KPIs are left out (every draw and measure the same), and no cost KPI at all."""
    plain = run(scenario_from_dict(without_costs(read_raw(COSTS))).flat)
    assert "cost" not in plain.kpi and "lost_class_hours" not in plain.kpi
    priced = {k: v for k, v in morning.kpi.items() if k not in ("cost", "lost_class_hours")}
    morning_kpi = morning.kpi
    try:
        morning.kpi = priced
        assert digest(morning) == digest(plain)
    finally:
        morning.kpi = morning_kpi
    problem = unknown_metric("kpi.cost.total", plain.scenario)
    assert "need a [costs] table" in problem


def test_costs_scale_with_the_platform():
    """At scale f: servers as counted (a pooled one at its share of a whole one's
    price), each defence's day times f: the costs of the scaled platform."""
    full = scenario("costs", "services.web.servers=1", "services.web.workers_per_server=4")
    half = scale(full, 0.5)
    halved = {"scrubbing": 50.0, "waiting_room": 25.0, "rate_limit": 3.5}
    assert half.costs.defence_per_day == halved
    web = half.services["web"]  # 0.5 server: one server of 2 workers, half a server's price
    assert (web.servers, web.workers_per_server, web.cost_per_server_hour) == (1, 2, 0.25)
    assert half.costs.lost_class_hour == full.costs.lost_class_hour  # per person: people scale


BAD = {
    "a price without [costs]": (
        ["--set", "services.login.cost_per_server_hour=0.2"],
        ["services.login.cost_per_server_hour", "[costs]"],
    ),
    "an instance price without autoscale": (
        ["--set", "costs={}", "--set", "services.login.cost_per_instance_hour=0.2"],
        ["services.login", "cost_per_instance_hour", "needs autoscale"],
    ),
    "a currency in words": (["--set", 'costs={currency="euro"}'], ["costs.currency"]),
    "an unknown kind of defence": (
        ["--set", "costs={defence_per_day={firewall=10.0}}"],
        ["costs.defence_per_day", "scrubbing", "waiting_room"],
    ),
    "a negative value": (["--set", "costs={lost_class_hour=-1.0}"], ["costs.lost_class_hour"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_costs_are_one_line_naming_the_field(tmp_path, case):
    args, expected = BAD[case]
    result = invoke("run", SCENARIOS / "surge.toml", *args, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    for text in expected:
        assert text in line, line
    assert not (tmp_path / "out").exists()
