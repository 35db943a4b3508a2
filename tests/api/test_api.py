"""The Python API (sim/api, offered as ``sim.<name>``): what it returns is what the
command writes, the same numbers and the same files; bad input is one clear error."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import sim
from sim.outputs.run_folder import PEOPLE, SCENARIO, TIMESERIES
from tests.conftest import SCENARIOS, sim_env

EXAMPLE = "teaching/single_queue"


@pytest.fixture(scope="module")
def scenario():
    return sim.load(EXAMPLE, scale=0.1)


@pytest.fixture(scope="module")
def morning(scenario):
    return sim.run(scenario)


def test_import_sim_imports_nothing_heavy():
    """``import sim`` is the version only: the API comes with its first name."""
    code = (
        "import sys, sim; before = sorted(m for m in sys.modules if m.startswith('sim.'));"
        "sim.load; print(before, 'sim.api' in sys.modules, 'pandas' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=sim_env(), capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["[]", "True", "False"]


def test_sim_run_stays_the_function_when_the_layer_is_imported():
    import sim.simulation.runner

    assert callable(sim.run) and sim.run.__module__ == "sim.api.runs"
    assert set(sim.__all__) <= set(dir(sim))
    import sim.api.public  # the names sim offers are those the API gathers (two lists)

    assert tuple(sim.api.public.__all__) == sim.API
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sim.nope  # noqa: B018


def test_load_takes_python_values_or_the_commands_texts():
    by_value = sim.load(EXAMPLE, set={"services.login.servers": 3, "start": "08:10"})
    by_text = sim.load(EXAMPLE, set=["services.login.servers=3", "start=08:10"])
    assert by_value == by_text
    assert by_value.services["login"].servers == 3
    assert sim.load(EXAMPLE, seed=9).seed == 9
    rate = sim.load(EXAMPLE).sources[0].rate_per_s
    assert sim.load(EXAMPLE, scale=0.5).sources[0].rate_per_s == rate * 0.5


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"set": {"services.login.nope": 1}}, "unknown key 'services.login.nope'"),
        ({"set": {"services.login.servers": -1}}, "services.login.servers"),
        ({"scale": 0}, "scale must be a number greater than 0"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(kwargs, words):
    with pytest.raises(sim.ScenarioError, match=words) as caught:
        sim.load(EXAMPLE, **kwargs)
    assert "\n" not in str(caught.value)
    with pytest.raises(sim.ScenarioError, match="unknown scenario 'nowhere'"):
        sim.load("nowhere")


def test_a_run_is_the_commands_run(morning, tmp_path):
    """The same morning as ``sim run`` of the same scenario: the same files, and the
    tables of the Run are those files' contents."""
    folder = morning.save(tmp_path / "api", dashboard=False)
    scenario_file = tmp_path / "scenario.toml"
    scenario_file.write_text((folder / SCENARIO).read_text())
    command = [sys.executable, "-m", "sim", "run", str(scenario_file), "--no-dashboard"]
    subprocess.run([*command, "--out", str(tmp_path / "cli")], env=sim_env(), check=True,
                   capture_output=True)  # fmt: skip
    for name in (SCENARIO, TIMESERIES, PEOPLE):
        assert (folder / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["kpi"] == json.loads(json.dumps(morning.kpi))
    kept, cli = (json.loads((f / "manifest.json").read_text()) for f in (folder, tmp_path / "cli"))
    assert cli["command"][:3] == ["sim", "run", str(scenario_file)]  # the command line, by sim run
    assert "command" not in kept  # a Python call is not one
    assert {k: v for k, v in cli.items() if k != "command"} == kept  # the rest, the same

    written = pd.read_csv(folder / TIMESERIES)
    table = morning.timeseries
    assert isinstance(table.index, pd.TimedeltaIndex) and str(table.index[0]) == "0 days 08:00:00"
    assert list(table.columns) == list(written.columns[1:])  # after the clock
    assert (table["login.served"].to_numpy() == written["login.served"].to_numpy()).all()
    not_arrived = (morning.people.fate == "not_arrived").sum()
    assert len(morning.people) == morning.kpi["arrived"] + not_arrived
    assert morning.services.loc["login", "arrivals"] == summary["services"]["login"]["arrivals"]


def test_the_dashboard_is_a_figure(morning):
    figure = morning.dashboard()
    assert len(figure.axes) >= 5


def test_saving_over_a_folder_that_is_not_results_is_refused(morning, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(sim.FolderError, match="not a results folder"):
        morning.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_replications_are_the_commands(scenario, tmp_path):
    reps = sim.replicate(scenario, 3, jobs=1)
    est, runs = reps.estimates, reps.runs
    assert list(est.columns) == ["n", "mean", "low", "high", "half_width", "method"]
    share = est.loc["kpi.share_in_class"]
    assert share["n"] == 3 and share["mean"] == pytest.approx(runs["kpi.share_in_class"].mean())
    assert 0 <= share["low"] <= share["mean"] <= share["high"] <= 1
    folder = reps.save(tmp_path / "api")
    command = [sys.executable, "-m", "sim", "run", str(folder / SCENARIO), "--reps", "3"]
    subprocess.run([*command, "--jobs", "1", "--out", str(tmp_path / "cli")], env=sim_env(),
                   check=True, capture_output=True)  # fmt: skip
    for name in ("summary.json", "replications.csv", "timeseries_ci.csv"):
        assert (folder / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    manifest = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    assert manifest["reused"] == 0  # the command's own runs: nothing shared with the API's
    assert len(reps.figure().axes) >= 1


def test_a_sweep_and_a_comparison_give_the_commands_tables(scenario):
    swept = sim.sweep(scenario, {"services.login.servers": [1, 2]}, reps=2, jobs=1)
    variants = swept.variants
    assert list(variants["services.login.servers"]) == [1, 2] and (variants["n"] == 2).all()
    assert len(swept.runs) == 4
    fewer = variants["services.login.mean_wait_s.mean"]
    assert fewer[0] >= fewer[1]  # one server: a longer wait than two
    b = sim.load(EXAMPLE, scale=0.1, set={"services.login.servers": 1})
    diff = sim.compare(scenario, b, reps=2, jobs=1).differences
    assert {"kpi.share_in_class", "kpi.gave_up"} <= set(diff.index)
    assert {"mean_a", "mean_b", "difference", "low", "high", "significant"} <= set(diff.columns)


def test_reps_out_of_range_are_refused(scenario):
    with pytest.raises(ValueError, match="reps must be 1 to"):
        sim.replicate(scenario, 0)


def test_a_plan_is_the_commands(tmp_path):
    """The answer and probes of ``sim plan``, and its folder's plan.json."""
    base = sim.load(EXAMPLE, scale=0.2)
    found = sim.plan(
        base, "services.login.servers", 1, 4, "kpi.share_in_class>=0.9", reps=2, jobs=1
    )
    assert found.answer == 1 and list(found.probes["value"]) == [4, 2, 1]  # hi, then bisect
    assert (found.probes["verdict"] == "holds").all()
    folder = found.save(tmp_path / "plan")
    written = json.loads((folder / "plan.json").read_text())
    assert written["answer"] == 1 and written["scale"] == 0.2  # the scenario's: it was scaled
    with pytest.raises(ValueError, match="reps must be at least 2"):
        sim.plan(base, "services.login.servers", 1, 4, "kpi.share_in_class>=0.9", reps=1)


@pytest.mark.parametrize("module", ["sim.api.scenarios", "sim.api.runs", "sim.api.experiments"])
def test_the_examples_in_the_docstrings_hold(module):
    """The API reference shows these examples: they run and say what they show."""
    import doctest
    import importlib

    failed, tried = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failed == 0


def test_an_options_study_is_the_commands(tmp_path):
    """``sim.options`` writes the folder ``sim options`` writes (the tables, figures and
    the baseline's run folder, byte for byte), and its tables are those files."""
    study = SCENARIOS / "surge-options.toml"  # tests/scenarios: the same as the CLI test
    done = sim.options(study, reps=2, jobs=1, folder=tmp_path / "api")
    command = [sys.executable, "-m", "sim", "options", str(study), "--reps", "2", "--jobs", "1"]
    subprocess.run([*command, "--out", str(tmp_path / "cli")], env=sim_env(), check=True,
                   capture_output=True)  # fmt: skip
    for name in ("options.csv", "runs.csv", "options.png", "baseline/timeseries.csv"):
        api_bytes = (tmp_path / "api" / name).read_bytes()
        assert api_bytes == (tmp_path / "cli" / name).read_bytes(), name
    table = done.table
    assert table.index[0] == "baseline" and len(table) == 4
    written = pd.read_csv(tmp_path / "api" / "options.csv", index_col="option")
    assert list(table.columns) == list(written.columns)
    assert done.best in table.index
    assert set(done.figures()) >= {"options.png"}
    memory_only = sim.options(study, reps=2, jobs=1)  # no folder: the same numbers
    assert memory_only.table.equals(table)
