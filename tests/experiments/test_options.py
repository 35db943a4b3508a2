"""`sim options`: a scenario and named options run under common random numbers, with
each option's paired effect, the target's verdict, and the baseline's full results.

The study of the small surge (tests/scenarios/surge-options.toml) runs once per module
with two replications (a few seconds); the tests check its files against the runs it
recorded, so they would catch a wrong pairing, a wrong seed or a wrong verdict.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.config import ScenarioError
from sim.experiments import options as study_mod
from sim.experiments.plan import decide
from sim.measure.criteria import parse_criterion
from tests.conftest import SCENARIOS, scenario

STUDY = SCENARIOS / "surge-options.toml"
KEY = "kpi.share_in_class_5min_after_start"
runner = CliRunner()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("options") / "study"
    result = runner.invoke(
        app, ["options", str(STUDY), "--reps", "2", "--jobs", "1", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    return target


def runs(folder: Path) -> list[dict[str, str]]:
    with open(folder / "runs.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_option_runs_the_baselines_replications_with_its_seed(folder):
    rows = runs(folder)
    study = study_mod.load_study(STUDY, reps=2)
    names = ["baseline", *(o.name for o, _ in study.options)]
    assert sorted({r["option"] for r in rows}) == sorted(names)
    for name in names:
        mine = [r for r in rows if r["option"] == name]
        assert sorted(int(r["replication"]) for r in mine) == [0, 1]
        assert {int(r["seed"]) for r in mine} == {study.baseline.seed}


def test_effects_are_paired_differences_of_the_recorded_runs(folder):
    rows = runs(folder)
    data = json.loads((folder / "options.json").read_text())
    base = {r["replication"]: float(r[KEY]) for r in rows if r["option"] == "baseline"}
    for option in data["options"][1:]:
        mine = {r["replication"]: float(r[KEY]) for r in rows if r["option"] == option["name"]}
        diffs = [mine[k] - base[k] for k in sorted(base)]
        recorded = option["differences"][KEY]
        assert recorded["mean"] == pytest.approx(np.mean(diffs), abs=1e-8)  # csv: 10 digits
        half = 12.706 * np.std(diffs, ddof=1) / math.sqrt(2)  # t(0.975, 1)
        if half > 0:
            assert recorded["high"] - recorded["mean"] == pytest.approx(half, rel=1e-3)
        assert recorded["significant"] == (recorded["low"] > 0 or recorded["high"] < 0)


def test_verdicts_follow_the_one_sided_bound_and_the_best_option_meets_it(folder):
    data = json.loads((folder / "options.json").read_text())
    target = parse_criterion(data["target"]["text"], "target")
    rows = runs(folder)
    for option in data["options"]:
        values = [float(r[KEY]) for r in rows if r["option"] == option["name"]]
        assert option["target"]["verdict"] == decide(values, target, 0.95).verdict
    best = data["best"]
    if best is not None:
        chosen = next(o for o in data["options"] if o["name"] == best)
        assert chosen["target"]["verdict"] == "holds"
        held = [o for o in data["options"][1:] if o["target"]["verdict"] == "holds"]
        assert chosen["estimates"][KEY]["mean"] == max(o["estimates"][KEY]["mean"] for o in held)


def test_the_baseline_keeps_a_full_results_folder_and_the_study_its_figures(folder):
    base = folder / "baseline"
    for name in ("summary.json", "timeseries.csv", "people.parquet", "dashboard.png"):
        assert (base / name).is_file(), name
    summary = json.loads((base / "summary.json").read_text())
    recorded = [r for r in runs(folder) if r["option"] == "baseline" and r["replication"] == "0"]
    assert float(recorded[0][KEY]) == pytest.approx(summary["kpi"][KEY.removeprefix("kpi.")])
    for name in ("options.png", "options.svg", "timeline.png", "options.csv", "manifest.json"):
        assert (folder / name).is_file(), name
    assert len(list((folder / "scenarios").glob("option_*.toml"))) == 3
    # without [costs]: no cost, no frontier, options.json as it was before costs
    assert not (folder / "frontier.png").exists()
    study = json.loads((folder / "options.json").read_text())
    assert "pareto" not in study and all("cost" not in o for o in study["options"])


def test_a_rerun_reuses_every_run_and_writes_the_same_tables(folder):
    before = {n: (folder / n).read_bytes() for n in ("options.csv", "options.json", "runs.csv")}
    result = runner.invoke(
        app, ["options", str(STUDY), "--reps", "2", "--jobs", "1", "--out", str(folder)]
    )
    assert result.exit_code == 0, result.output
    assert "(8 reused, 0 run)" in " ".join(result.output.split())
    assert "the baseline, replication 0" not in result.output  # not run again
    for name, data in before.items():
        assert (folder / name).read_bytes() == data, name


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "surge.toml").write_text((SCENARIOS / "surge.toml").read_text())
    path = tmp_path / "study.toml"
    path.write_text('scenario = "surge.toml"\n' + text)
    return path


OPTION = '[[options]]\nname = "More"\nset = ["services.login.servers=4"]\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n" + OPTION, "unknown key 'colour'"),
        ("reps = 1\n" + OPTION, "field 'reps'"),
        ('target = "share_in_class=0.9"\n' + OPTION, "target expects metric<=value"),
        ("", "missing required field 'options'"),
        ('[[options]]\nname = "Nothing"\n', "option 'Nothing' changes nothing"),
        (OPTION + OPTION, "option names must be unique; repeated: More"),
        ('[[options]]\nname = "baseline"\nset = ["seed=2"]\n', "'baseline' is reserved"),
        (
            '[[options]]\nname = "Typo"\nset = ["services.logn.servers=4"]\n',
            "option 'Typo': --set services.logn.servers: unknown key 'services.logn'",
        ),
        (
            '[[options]]\nname = "Other"\nscenario = "missing.toml"\n',
            "option 'Other': scenario file not found",
        ),
    ],
)
def test_bad_study_files_are_one_line_naming_the_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        study_mod.load_study(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    out = tmp_path / "out"
    result = runner.invoke(app, ["options", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()  # nothing written


def test_an_unknown_target_metric_stops_before_any_run(tmp_path):
    path = write(tmp_path, 'target = "share_in_klass>=0.9"\n' + OPTION)
    out = tmp_path / "out"
    result = runner.invoke(app, ["options", str(path), "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 2
    assert "no metric 'kpi.share_in_klass'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()  # not even the baseline ran


def test_only_keeps_the_named_options_and_refuses_an_unknown_one(tmp_path):
    study = study_mod.load_study(STUDY, only=["Fewer retries", "Four login servers"])
    assert [o.name for o, _ in study.options] == ["Four login servers", "Fewer retries"]
    out = tmp_path / "out"
    result = runner.invoke(app, ["options", str(STUDY), "--only", "Five", "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: --only 'Five': {STUDY} has no such option; its options: Four login "
        "servers, Parents barred 08:30-09:30, Fewer retries"
    )
    assert not out.exists()


def test_the_options_own_kpi_is_a_valid_target(tmp_path):
    path = write(tmp_path, 'target = "worst_unavailable_minutes<=0"\n' + OPTION)
    assert study_mod.load_study(path).target.metric == "kpi.worst_unavailable_minutes"


def test_figures_mark_the_target_the_verdicts_and_the_morning(folder):
    from sim.outputs.plots.options import attack_windows, options_figure, timeline_figure

    study = study_mod.load_study(STUDY, reps=2)
    outcome_records = [json.loads(p.read_text()) for p in (folder / "runs").glob("*.json")]
    from sim.experiments.execution import Outcome

    results = study_mod.analyse(study, study_mod.study_jobs(study), Outcome(outcome_records))
    fig = options_figure(results, KEY, 0.95)
    left = fig.axes[0]
    assert any(line.get_label() == "target 95.0 %" for line in left.get_lines())  # its unit
    ticks = {t.get_text(): t.get_position()[1] for t in left.get_yticklabels()}
    labels = list(ticks)
    top = max(ticks, key=ticks.__getitem__)
    assert top.startswith("baseline")  # on top
    assert all("(" in label for label in labels)  # each row says its verdict in words
    timeline = timeline_figure(results, study.baseline).axes[0]
    legend = [t.get_text() for t in timeline.get_legend().get_texts()]
    assert "class start" in legend and "baseline" in legend
    assert timeline.xaxis.get_major_formatter()(9 * 3600.0) == "09:00"
    flood = scenario(
        "surge",
        'attacks=[{name="f", kind="application", target="login", start="08:50", duration_min=8.0}]',
    )
    assert attack_windows(flood) == [(8 * 3600 + 50 * 60, 8 * 3600 + 58 * 60)]


def test_the_timeline_marks_class_starts_of_platform_journeys():
    """Cohorts on a platform follow the template's journeys (``user`` is defined there):
    the figure reads them from the expanded scenario (6 April failed here first)."""
    from sim.outputs.plots.options import timeline_figure

    regions = scenario("regions")
    assert any(c.platform for c in regions.cohorts)
    t = list(np.arange(regions.start_s, regions.end_s, 60.0))
    series = {"bin_start_s": t, "bin_s": 60, "intended": [1] * len(t), "reached": [1] * len(t)}
    baseline = study_mod.OptionResult("baseline", "", (), 1, {}, {}, None, (series,))
    ax = timeline_figure([baseline], regions).axes[0]
    starts = [line for line in ax.get_lines() if line.get_label() == "class start"]
    assert starts
