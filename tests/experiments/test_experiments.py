"""The scenario files shipped in experiments/ load, hold the published figures they
claim, and run; ``extends`` merges a variant over its base."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config import ScenarioError, load_scenario, to_toml
from sim.config.scale import scale
from sim.config.scenario import FlatScenario
from sim.experiments.options import load_study
from sim.simulation.runner import run
from tests.conftest import ROOT, SCENARIOS

FILES = sorted((ROOT / "experiments").glob("**/*.toml"))
STUDIES = [p for p in FILES if p.name.endswith("-options.toml")]  # sim options files
EXPERIMENTS = [p for p in FILES if p not in STUDIES]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_every_shipped_scenario_is_valid(path: Path):
    scenario = load_scenario(path)
    assert scenario.name
    assert isinstance(scenario.flat, FlatScenario)


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_every_shipped_options_study_resolves_each_option(path: Path):
    study = load_study(path)
    assert study.options
    for option, scenario in study.options:
        assert isinstance(scenario.flat, FlatScenario)
        assert to_toml(scenario) != to_toml(study.baseline), option.name  # it changes something


def _counts(scenario, prefix: str) -> int:
    return sum(c.count for c in scenario.cohorts if c.name.startswith(prefix))


def test_6_april_population_matches_its_stated_derivation():
    sc = load_scenario(ROOT / "experiments" / "2021-04-06.toml")
    assert _counts(sc, "pupils_") == pytest.approx(5_686_000 * 0.65, rel=0.01)
    assert _counts(sc, "teachers_") == pytest.approx(869_300 * 0.60, rel=0.01)
    assert _counts(sc, "parents_") == pytest.approx(6_617_000 * 0.15, rel=0.01)
    assert _counts(sc, "cned_teachers") == 80_000  # ~60 % of the day's 155,345 classes
    assert sum(c.count for c in sc.cohorts) > 5_000_000  # a one-to-one national morning
    assert sum(g.waves for g in sc.attack_generators) >= 20  # "more than twenty attacks"


def test_26_april_extends_6_april_and_changes_what_it_says():
    base = load_scenario(ROOT / "experiments" / "2021-04-06.toml")
    fixed = load_scenario(ROOT / "experiments" / "2021-04-26.toml")
    assert fixed.start == base.start and fixed.templates["ent"].services["login"].servers == 2
    for name, platform in fixed.platforms.items():
        ratio = platform.capacity_factor / base.platforms[name].capacity_factor
        assert ratio == pytest.approx(1.35, abs=0.01), name
    assert _counts(fixed, "parents_") == 0
    assert _counts(fixed, "pupils_") == pytest.approx(1.2 * _counts(base, "pupils_"), rel=0.01)
    assert (
        fixed.services["cned_join"].scrubbing.detection_s
        < base.services["cned_join"].scrubbing.detection_s
    )


def test_the_6_april_scenario_runs_scaled_down():
    result = run(scale(load_scenario(ROOT / "experiments" / "2021-04-06.toml"), 0.002).flat)
    assert result.kpi["people"] > 10_000
    assert result.kpi["attack_waves"] == 50
    assert result.kpi["classes_opened"] > 0
    assert "ile_de_france/portal" in result.service_summary


def test_scaling_touches_only_the_fields_of_each_flood_kind():
    """A volumetric flood is scaled in gbps, an application flood in requests and bots;
    scaling used to set bots on a volumetric wave, which the schema then refused."""
    base = load_scenario(SCENARIOS / "knobs.toml")
    kinds = {a.kind for a in base.attacks}
    assert kinds == {"application", "volumetric"}
    half = scale(base, 0.5)
    for before, after in zip(base.attacks, half.attacks, strict=True):
        if before.kind == "volumetric":
            assert after.gbps == before.gbps * 0.5
            assert (after.rate_per_s, after.bots) == (before.rate_per_s, before.bots)
        else:
            assert after.rate_per_s == before.rate_per_s * 0.5
            assert after.bots == max(1, round(before.bots * 0.5))
            assert after.gbps == before.gbps


def test_extends_merges_tables_and_replaces_arrays(tmp_path):
    (tmp_path / "base.toml").write_text(
        (ROOT / "tests" / "scenarios" / "surge.toml").read_text(encoding="utf-8")
    )
    (tmp_path / "variant.toml").write_text(
        'extends = "base.toml"\nname = "variant"\n[services.login]\nservers = 5\n'
        '[[cohorts]]\nname = "only"\nrole = "pupil"\ncount = 10\njourney = "login"\n'
    )
    variant = load_scenario(tmp_path / "variant.toml")
    assert variant.name == "variant"
    assert variant.services["login"].servers == 5
    assert variant.services["login"].workers_per_server == 2  # kept from the base
    assert [c.name for c in variant.cohorts] == ["only"]  # the array is replaced


def test_extends_errors_are_one_line(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "missing.toml"\n')
    with pytest.raises(ScenarioError, match=r"scenario file not found: .*missing\.toml"):
        load_scenario(tmp_path / "a.toml")
    (tmp_path / "loop.toml").write_text('extends = "loop.toml"\n')
    with pytest.raises(ScenarioError, match=r"'extends' makes a cycle: loop\.toml -> loop\.toml"):
        load_scenario(tmp_path / "loop.toml")
    (tmp_path / "b.toml").write_text('extends = "c.toml"\n')
    (tmp_path / "c.toml").write_text('extends = "b.toml"\n')
    with pytest.raises(ScenarioError, match=r"makes a cycle: b\.toml -> c\.toml -> b\.toml"):
        load_scenario(tmp_path / "b.toml")
    for i in range(10):  # a chain without a cycle, but too deep
        (tmp_path / f"d{i}.toml").write_text(f'extends = "d{i + 1}.toml"\n')
    with pytest.raises(ScenarioError, match="more than 8 files deep"):
        load_scenario(tmp_path / "d0.toml")


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Windows editors start a UTF-8 file with a BOM; the scenario reads the same."""
    text = (SCENARIOS / "mmc.toml").read_text(encoding="utf-8")
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_scenario(tmp_path / "bom.toml") == load_scenario(SCENARIOS / "mmc.toml")
