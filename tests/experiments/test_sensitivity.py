"""``sim sensitivity`` and the ``[uncertain]`` table: a known answer, the Sobol path on
a function whose indices are known, the ranges checked before anything runs, and a
table that changes no run."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sim
from sim.config import ScenarioError, load_scenario, scenario_from_dict, to_dict, to_toml
from sim.config.uncertain import Uncertain, parameter_label
from sim.experiments import sensitivity as sa
from sim.outputs import folders
from sim.simulation.runner import digest, run
from tests.conftest import SCENARIOS
from tests.robustness.conftest import invoke, one_error_line

KNOWN = SCENARIOS / "sensitivity.toml"
SERVERS, SPARE = "services.login.servers", "services.spare.service_time.mean_s"


@pytest.fixture(scope="module")
def morris(tmp_path_factory):
    """Morris on the known-answer scenario, through the command's API (18 points, ~11
    distinct runs: the servers are rounded), its folder written."""
    folder = tmp_path_factory.mktemp("sens") / "out"
    found = sim.sensitivity(sim.load(KNOWN), samples=6, jobs=1, folder=folder)
    return found, folder


def test_morris_ranks_the_dominant_parameter_first_and_the_idle_one_at_zero(morris):
    """The login servers, from overload to ample, rank first, their effect clear of 0;
    the service nobody uses gets mu* = 0: its runs are the same under common random
    numbers. The tolerance is the method's own: an index within its 95 % bootstrap
    half-width of 0 (here both 0), and below 1 % of the dominant one's."""
    found, _ = morris
    indices = found.analyses[0].indices
    assert found.ranking == [SERVERS, SPARE]
    servers, spare = indices[SERVERS], indices[SPARE]
    assert servers["mu_star"] - servers["mu_star_conf"] > 0.05  # 5 points at least
    assert spare["mu_star"] <= spare["mu_star_conf"] + 1e-12
    assert spare["mu_star"] < 0.01 * servers["mu_star"]
    assert spare["sigma"] == 0


def test_the_folder_holds_the_tidy_indices_the_samples_and_the_chart(morris):
    found, folder = morris
    names = {p.name for p in folder.iterdir()}
    assert {"manifest.json", "sensitivity.csv", "samples.csv", "tornado.png"} <= names
    table = found.indices
    assert list(table.columns[:6]) == ["metric", "parameter", "label", "low", "high", "rank"]
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(table.columns)
    samples = found.samples
    assert len(samples) == 18 and {SERVERS, SPARE} <= set(samples.columns)
    assert set(samples[SERVERS]) <= set(range(1, 9))  # an integer field: rounded
    data = json.loads((folder / "sensitivity.json").read_text())
    assert data["parameters"][0]["label"] == "login servers"
    assert folders.kind_of(folder) == folders.SENSITIVITY  # sim report and --out know it


def test_the_report_states_the_ranking(morris):
    from sim.outputs.report.page import build_report

    _, folder = morris
    page = build_report(folder)
    assert "login servers matters most" in page.lower()
    assert "tornado.png" in page or "data:image/png" in page


def test_sobol_indices_of_a_known_function_through_the_same_code():
    """Y = 10 x0 + x2² over [0, 2] x [0, 1] x [1, 5]: x1 does nothing (S1 and ST within
    their 95 % half-width of 0), x0 and x2 share the variance, x2 ranking first."""
    ranges = [
        Uncertain("x0", ("x0",), 0.0, 2.0, False),
        Uncertain("x1", ("x1",), 0.0, 1.0, False),
        Uncertain("x2", ("x2",), 1.0, 5.0, False),
    ]
    design = sa.sample_matrix(ranges, "sobol", 256, seed=3)
    assert design.shape == (256 * (3 + 2), 3)
    y = 10 * design[:, 0] + design[:, 2] ** 2
    found = sa.analyse("sobol", ranges, design, sa.Values("kpi.x", y, 0, 0), seed=3)
    idle = found.indices["x1"]
    assert abs(idle["S1"]) <= idle["S1_conf"] + 1e-12
    assert abs(idle["ST"]) <= idle["ST_conf"] + 1e-12
    assert found.ranking[-1] == "x1"
    x0, x2 = found.indices["x0"], found.indices["x2"]
    # the exact values: Var(10 x0) = 33.3, Var(x2²) = 44.3 of 77.7 in all
    assert x0["S1"] == pytest.approx(0.43, abs=0.1) and x2["S1"] == pytest.approx(0.57, abs=0.1)


def test_sobol_needs_a_power_of_two():
    with pytest.raises(ValueError, match="power of 2"):
        sa.check_samples("sobol", 24, 3)


# ---------------------------------------------------------------- the [uncertain] table


def _with_range(key: str, pair: str) -> str:
    return f'uncertain={{"{key}"={pair}}}'


@pytest.mark.parametrize(
    ("key", "pair", "said"),
    [
        ("services.logn.servers", "[1, 4]", "'services.logn' names no field set"),
        ("services.login.service_time", "[1, 4]", "not a number field"),
        ("behaviour.retry_probability", "[0.9, 0.6]", "low below high"),
        ("behaviour.retry_probability", "[0.6, 1.2]", "less than or equal to 1"),
        ("services.login.servers", "[0, 4]", "greater than or equal to 1"),
        ("services.login.servers", "[1.2, 1.4]", "two whole numbers"),
    ],
)
def test_a_bad_range_is_one_line_naming_the_key(key, pair, said):
    result = invoke("show", KNOWN, "--set", _with_range(key, pair))
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert key in line and said in line


def test_a_bad_uncertain_option_is_refused_before_any_run(tmp_path):
    out = tmp_path / "out"
    result = invoke(
        "sensitivity", KNOWN, "--uncertain", "behaviour.retry_probability=[0.6, 1.5]", "--out", out
    )
    assert result.exit_code == 2
    assert "less than or equal to 1" in one_error_line(result.stderr)
    assert not out.exists()
    result = invoke("sensitivity", KNOWN, "--method", "sobol", "--samples", "6", "--out", out)
    assert result.exit_code == 2 and "power of 2" in one_error_line(result.stderr)


def test_the_table_changes_no_run_and_an_empty_one_no_text():
    """[uncertain] is read by sensitivity only: the same morning, person by person, with
    or without it; without one, the scenario's text (hence its runs' keys) is as before."""
    with_ranges = load_scenario(KNOWN)
    data = to_dict(with_ranges)
    data.pop("uncertain")
    without = scenario_from_dict(data)
    assert "uncertain" not in to_toml(without)
    small = [
        sc.model_copy(update={"cohorts": [sc.cohorts[0].model_copy(update={"count": 300})]})
        for sc in (with_ranges, without)
    ]
    assert digest(run(small[0].flat)) == digest(run(small[1].flat))


def test_a_pattern_moves_several_fields_as_one_parameter():
    scenario = sim.load("default")
    data = {"cohorts.*_pupils.connect.sd_min": [3.0, 8.0]}
    (found,) = sa.uncertain_ranges(scenario, data)
    assert found.paths == (
        "cohorts.college_pupils.connect.sd_min",
        "cohorts.lycee_pupils.connect.sd_min",
    )
    (point,) = sa.point_scenarios(scenario, [found], [((found.key, 6.5),)])
    assert [c.connect.sd_min for c in point.cohorts[:2]] == [6.5, 6.5]
    with pytest.raises(ScenarioError):
        sa.point_scenarios(scenario, [found], [((found.key, -1.0),)])


def test_parameters_have_short_labels():
    assert parameter_label("behaviour.retry_probability") == "retry probability"
    assert (
        parameter_label("templates.ent.services.portal.service_time.mean_s")
        == "ent portal service time, mean (s)"
    )
    assert parameter_label("services.login.servers") == "login servers"
    assert np.isclose(sa.MORRIS_STEP, 2 / 3)


def test_a_wide_interval_is_not_told_apart_from_no_effect_never_called_barely():
    """A parameter with a large effect whose interval reaches 0 (few samples) is "not
    told apart from no effect", not "barely": barely is for an effect below SMALL of
    the largest."""
    from sim.outputs.sensitivity_words import SMALL, barely, ranking_sentences, unsure

    def effect(mu_star, conf):
        return {"mu": mu_star, "mu_star": mu_star, "mu_star_conf": conf, "sigma": conf}

    entry = {
        "metric": "kpi.share_in_class_5min_after_start",
        "indices": {"a": effect(0.08, 0.02), "wide": effect(0.07, 0.10), "tiny": effect(0.001, 0)},
        "ranking": ["a", "wide", "tiny"],
        "censored": 0,
        "note": "",
    }
    data = {
        "method": "morris",
        "ranked_by": "mu_star",
        "points": 28,
        "parameters": [{"key": k, "label": k, "low": 0, "high": 1} for k in ("a", "wide", "tiny")],
    }
    assert SMALL * 0.08 > 0.001
    assert barely(data, entry) == ["tiny"] and unsure(data, entry) == ["wide"]
    said = " ".join(ranking_sentences(data, entry))
    assert "Not told apart from no effect at 28 points: wide" in said
    assert "Barely or not at all: tiny" in said
