"""`sim report`: one self-contained HTML page per results folder, for each kind of folder.

The folders are made with the real commands (through typer's CliRunner, as a user would)
on a small surge, once per module; the tests then read the reports as text, and one
renders a report in headless Chromium to check that a browser shows it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.config import load_scenario, to_toml
from sim.measure.metrics import metric
from sim.outputs.report import scenario as rs
from sim.outputs.report.html import CAPTIONS, fmt
from sim.outputs.report.page import ReportError, build_report, detect_kind, write_report
from tests.conftest import SCENARIOS

SURGE = SCENARIOS / "surge.toml"
SMALL = ["--set", "cohorts.pupils.count=1500", "--set", "cohorts.parents.count=400"]
CRASH = 'services.login.crash={backlog_above=40, restart={kind="deterministic", value_s=120}}'
HOSTILE = "<script>alert('x')</script> & <b>bold</b>"
KINDS = ("single", "replications", "sweep", "compare", "plan", "options")
SECTIONS = ("Answer", "Key figures", "Figures", "Scenario and assumptions", "How to reproduce")
OPTIONS_SECTIONS = ("In brief", *SECTIONS, "Appendix: exact changes")  # the brief first
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
runner = CliRunner()


def sim(*args: str) -> None:
    """Run a ``sim`` command as from a shell (the manifest records ``sys.argv``)."""
    argv = sys.argv
    sys.argv = ["sim", *args]
    try:
        result = runner.invoke(app, list(args))
    finally:
        sys.argv = argv
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One folder of each kind (a few seconds in all)."""
    root = tmp_path_factory.mktemp("report")
    made = {kind: root / kind for kind in KINDS}
    description = f"description={json.dumps(HOSTILE)}"
    sim("run", str(SURGE), "--out", str(made["single"]), "--set", CRASH, "--set", description)
    sim("run", str(SURGE), *SMALL, "--reps", "2", "--jobs", "1", "--out", str(made["replications"]))
    vary = ["--vary", "services.login.servers=1,2", "--vary", "behaviour.max_attempts=2,4"]
    reps = ["--reps", "2", "--jobs", "1"]
    sim("sweep", str(SURGE), *vary, *reps, "--out", str(made["sweep"]))  # the full surge
    sim(
        "compare", str(SURGE), *SMALL, "--set-b", "services.login.servers=3",
        "--reps", "2", "--jobs", "1", "--out", str(made["compare"]),
    )  # fmt: skip
    sim(
        "plan", str(SURGE), *SMALL, "--vary", "services.login.servers=1:3",
        "--target", "share_in_class>=0.9", "--reps", "2", "--jobs", "1",
        "--out", str(made["plan"]),
    )  # fmt: skip
    options = SCENARIOS / "surge-options.toml"
    sim("options", str(options), "--reps", "2", "--jobs", "1", "--out", str(made["options"]))
    return made


def report(folder: Path) -> str:
    result = runner.invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"report written to {folder / 'report.html'}" in " ".join(result.output.split())
    return (folder / "report.html").read_text(encoding="utf-8")


def text_of(page: str) -> str:
    """The visible text, tags removed and whitespace collapsed (entities kept)."""
    page = re.sub(r"<style>.*?</style>|data:image/png;base64,[A-Za-z0-9+/=]+", "", page, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_gives_a_self_contained_page_in_reading_order(folders, kind):
    folder = folders[kind]
    assert detect_kind(folder) == kind
    page = report(folder)
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert tuple(headings) == (OPTIONS_SECTIONS if kind == "options" else SECTIONS)
    images = re.findall(r'<img src="([^"]*)"', page)
    pngs = [*folder.glob("*.png"), *folder.glob("baseline/*.png")]  # options: the baseline's
    in_brief = 1 if kind == "options" else 0  # the brief's one figure, shown again below
    assert len(images) == len(pngs) + in_brief >= (0 if kind == "replications" else 1)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "<script" not in page and "<link" not in page  # no JavaScript, no stylesheet
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing from the network
    assert "<style>" in page
    assert re.search(r'<p class="headline">[^<]{40,}</p>', page)  # an answer in words


def test_single_run_answer_is_computed_from_its_summary(folders):
    folder = folders["single"]
    summary = json.loads((folder / "summary.json").read_text())
    k, login = summary["kpi"], summary["services"]["login"]
    text = text_of(report(folder))
    answer = text[text.index("Answer") : text.index("Key figures")]
    assert f"{k['share_in_class'] * 100:.1f} % of people got in" in answer
    assert f"{k['share_in_class_5min_after_start'] * 100:.1f} % within 5 minutes" in answer
    assert f"{k['gave_up']:,} gave up" in answer
    assert login["unavailable_minutes"] > 0  # the crash took it down
    assert (  # one stretch of minutes: from when to when
        f"login, was unavailable {login['unavailable_minutes']} minutes, from "
        f"{login['unavailable_from']} to {login['unavailable_until']}" in answer
    )
    assert f"{k['attempts']:,}" in text  # the key-figures table
    assert "Servers crash when their backlog overflows" in text  # the mechanism switched on
    assert f"Original scenario file: {SURGE}" in text  # from the command it recorded
    assert f"sim run {folder / 'scenario.toml'}" in text  # how to rerun it
    assert "seed: 1" in text


def test_scenario_text_is_escaped(folders):
    page = report(folders["single"])
    assert "<script>" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page


MINIMAL = """
name = "defaults"
[services.login]
servers = 2
service_time = { kind = "exponential", mean_s = 0.3 }
[gates.school]
blocked_roles = ["other"]
[journeys]
login = [{ kind = "gate", gate = "school" }, "login"]
[[cohorts]]
name = "pupils"
role = "pupil"
count = 100
journey = "login"
[[attacks]]
name = "flood"
kind = "application"
target = "login"
start = "08:00"
duration_min = 5
rate_per_s = 10
"""


def test_the_scenario_shown_is_the_models_defaults_included(folders, tmp_path):
    """A scenario.toml that leaves fields at their defaults (written by hand, or by a
    version that did not write them) is shown with the values the model gives them,
    never with values the report would restate (or a "?")."""
    folder = tmp_path / "single"
    shutil.copytree(folders["single"], folder)
    (folder / "scenario.toml").write_text(MINIMAL, encoding="utf-8")
    sc = load_scenario(folder / "scenario.toml")
    b, gate, attack = sc.behaviour, sc.gates["school"], sc.attacks[0]
    shown = text_of(build_report(folder))
    assert f"From {sc.start} to {sc.end}: 100 people" in shown
    assert f"gives up a request after {b.patience.mean_s:g} s on average" in shown
    assert f"retries with probability {b.retry_probability}, up to {b.max_attempts} " in shown
    assert f"refuses role(s) other during {gate.blocked_from}-{gate.blocked_until}" in shown
    assert f"10 requests/s from {attack.bots:,} addresses" in shown
    resolved = tmp_path / "resolved.toml"
    resolved.write_text(to_toml(sc), encoding="utf-8")
    assert rs.differences(rs.load(folder / "scenario.toml"), rs.load(resolved)) == []
    (folder / "scenario.toml").write_text(MINIMAL.replace("servers = 2", "servers = 0"))
    with pytest.raises(ReportError, match=r"its scenario cannot be read: .*servers"):
        build_report(folder)  # what the model refuses is one line, not a made-up page


def test_a_missing_value_says_what_it_means_for_a_group_too(folders):
    """The words of the registry, as in the terminal: a comparison of the surge, which
    has no teachers, said "undefined" for their share in class by start + 5 min."""
    assert "nobody has a class" in text_of(report(folders["compare"]))
    late = fmt("kpi.by_cohort.pupils.time_to_class_p95_s", None)
    assert late == metric("kpi.time_to_class_p95_s").none_text


def test_replications_give_means_with_intervals(folders):
    folder = folders["replications"]
    est = json.loads((folder / "summary.json").read_text())["estimates"]
    text = text_of(report(folder))
    share = est["kpi.share_in_class"]
    low, mean, high = (f"{share[k] * 100:.1f} %" for k in ("low", "mean", "high"))
    assert f"{mean} ({low} to {high}) of people got in" in text  # the interval as estimated
    assert 0 <= share["low"] <= share["mean"] <= share["high"] <= 1
    assert "means over 2 replications" in text
    assert "95 % confidence interval" in text
    assert "This folder holds no figures" not in text  # run --reps draws two
    for name in ("kpis.png", "timeseries_ci.png"):
        assert f"{CAPTIONS[name]} ({name})" in text
    # the manifest names the original file: its opening comments are shown
    assert f"Original scenario file: {SURGE}" in text
    assert "A small 9:00 surge on one login service" in text
    assert f"sim run {SURGE} --set cohorts.pupils.count=1500" in text
    assert "runs: 2 (0 reused" in text


def test_sweep_shows_the_range_over_variants_and_every_figure(folders):
    folder = folders["sweep"]
    page = report(folder)
    text = text_of(page)
    assert "4 variants of services.login.servers, behaviour.max_attempts, 2 replications" in text
    assert re.search(r"People who got in: from [\d.]+ % \(servers=1, max_attempts=\d\)", text)
    assert "services.login.servers=1,2" in text  # what was varied
    rows = re.findall(r"<tr><td>\d+</td>", page)
    assert len(rows) == 4
    names = re.findall(r"<span class=file>\((\w+\.png)\)</span>", page)
    assert names[0] == "kpi_share_in_class.png"  # headline KPI first, then the heatmaps
    assert any(n.startswith("heatmap_") for n in names)
    assert "with its 95 % confidence band" in text


def test_compare_says_what_changed_and_whether_it_is_significant(folders):
    folder = folders["compare"]
    diffs = json.loads((folder / "compare.json").read_text())["differences"]
    text = text_of(report(folder))
    assert "B against A (services.login.servers: 2 → 3), over 2 paired replications" in text
    assert "B differs from A in services.login.servers: 2 → 3" in text
    verdict = "significant" if diffs["kpi.gave_up"]["significant"] else "not significant"
    assert re.search(rf"Gave up for the morning: [−+]?[\d,]+ \([^)]*, {verdict}\)", text)
    assert "95 % interval of B − A" in text


def test_options_say_what_went_wrong_and_which_option_fixes_it(folders):
    folder = folders["options"]
    study = json.loads((folder / "options.json").read_text())
    base = json.loads((folder / "baseline" / "summary.json").read_text())
    text = text_of(report(folder))
    assert "what went wrong, and which option would have fixed it" in text
    share = study["options"][0]["estimates"]["kpi.share_in_class_5min_after_start"]
    low, mean, high = (f"{share[k] * 100:.1f} %" for k in ("low", "mean", "high"))
    assert f"{mean} ({low} to {high})" in text  # the baseline's mean, as a share
    down = [n for n, v in base["services"].items() if v["unavailable_minutes"]]
    if down:
        assert f"{len(down)} of {len(base['services'])} services were unavailable" in text
    else:
        assert "No service was unavailable in the first replication" in text
    met = [o["name"] for o in study["options"][1:] if o["target"]["verdict"] == "holds"]
    assert ("Options that meet it: " in text) == bool(met)
    meeting = text.partition("Options that meet it: ")[2].partition("Options that do not")[0]
    for name in met:
        assert f"{name} (" in meeting
    assert f"{len(met)} of {len(study['options']) - 1} options meet it" in text  # verdict first
    if study["best"]:
        assert f"The best is “{study['best']}”" in text
    before, _, appendix = text.partition("Appendix: exact changes")
    for option in study["options"][1:]:  # every option, and its changes in the appendix
        assert option["name"] in before
        assert all(h_escape(change) in appendix for change in option["changes"])
    assert not re.search(r"\b[a-z_]+(\.[a-z_0-9]+){2,}=", before)  # no raw override before it


def h_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_plan_states_the_smallest_value_and_its_evidence(folders):
    folder = folders["plan"]
    plan = json.loads((folder / "plan.json").read_text())
    text = text_of(report(folder))
    assert plan["found"]
    assert (
        f"services.login.servers = {plan['answer']} is the smallest value in 1..3 with "
        "share who got in ≥ 90.0 %" in text
    )
    assert "Searched: services.login.servers from 1 to 3" in text
    assert len(re.findall(r"\b(holds|fails|unsure)\b", text)) >= len(plan["probes"])


def test_out_option_and_a_command_line_given_by_the_caller(folders, tmp_path):
    target = tmp_path / "deep" / "r.html"
    result = runner.invoke(app, ["report", str(folders["single"]), "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert target.is_file()
    command = ["sim", "run", str(SURGE), "--report"]
    older = tmp_path / "older"  # a single run's folder of a version without manifest.json
    shutil.copytree(folders["single"], older)
    (older / "manifest.json").unlink()
    text = text_of(build_report(older, command=command))
    assert f"Original scenario file: {SURGE}" in text  # given by `sim run --report`
    assert f"sim run {SURGE} --report" in text
    assert "The command that made this folder is not recorded" not in text


def test_a_single_run_records_the_command_that_made_it(folders):
    """Its manifest.json keeps the command line, which the report shows and reads the
    original scenario file from, as for experiments."""
    manifest = json.loads((folders["single"] / "manifest.json").read_text())
    assert manifest["command"][:3] == ["sim", "run", str(SURGE)]
    assert manifest["seeds"] == [1] and manifest["scale"] == 1.0
    text = text_of(report(folders["single"]))
    assert "The command that made this folder is not recorded" not in text
    assert f"sim run {SURGE} --out {folders['single']}" in text
    assert f"Original scenario file: {SURGE}" in text


def test_not_a_results_folder_is_one_line_and_exit_code_2(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    for folder in (tmp_path, tmp_path / "missing"):
        result = runner.invoke(app, ["report", str(folder)])
        assert result.exit_code == 2
        assert result.output.startswith("error: ") and result.output.count("\n") == 1
    with pytest.raises(ReportError, match="not a results folder"):
        write_report(tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(ReportError, match="cannot read"):
        write_report(tmp_path)


def test_the_help_names_every_kind_of_folder_it_reads():
    """``sim report --help`` once left out options studies, which it reads."""
    import typer

    from sim.outputs.folders import DESCRIBED

    command = typer.main.get_command(app).commands["report"]
    help_text = next(p.help for p in command.params if p.name == "results_dir")
    for described in DESCRIBED.values():
        command_name = re.search(r"\(sim (.+)\)", described)[1]  # "run --reps", "options"
        assert re.search(rf"\b{re.escape(command_name)}\b", help_text), (command_name, help_text)


@pytest.mark.parametrize(
    ("kind", "figures", "words"),
    [("single", 1, "one simulated morning"), ("options", 4, "which option would have fixed it")],
)
def test_a_browser_renders_the_report(folders, tmp_path, kind, figures, words):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium); .ci/run installs it")
    import numpy as np
    from matplotlib.image import imread

    write_report(folders[kind])
    url = (folders[kind] / "report.html").resolve().as_uri()
    flags = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000",
    ]  # fmt: skip
    shot = tmp_path / "shot.png"
    run = subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, timeout=120)
    assert shot.is_file(), run.stderr.decode(errors="replace")[-2000:]
    pixels = imread(shot)[..., :3]  # floats in 0..1
    assert pixels.shape[:2] == (2000, 1280)
    assert not np.all(pixels == pixels[0, 0])
    assert 0.1 < np.mean(pixels.min(axis=2) < 0.98) < 0.9  # not blank, not all ink
    assert np.mean(pixels.max(axis=2) < 0.5) > 0.005  # dark text and lines
    dom = subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
    ).stdout
    sections = OPTIONS_SECTIONS if kind == "options" else SECTIONS
    assert tuple(re.findall(r"<h2>(.*?)</h2>", dom)) == sections
    assert len(re.findall(r'<img src="data:image/png;base64,', dom)) == figures
    assert words in dom


def test_run_with_report_writes_it_beside_the_results_and_reruns_in_place(tmp_path):
    from typer.testing import CliRunner

    from sim.cli import app

    runner = CliRunner()
    target = tmp_path / "d"
    args = ["run", str(SURGE), "--out", str(target), "--report", "--no-dashboard"]
    for _ in range(2):  # a folder holding report.html is still a results folder
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    html = (target / "report.html").read_text(encoding="utf-8")
    assert "Original scenario file" in html


def _edited_copy(source: Path, target: Path, edit) -> Path:
    """A copy of a results folder whose summary.json `edit` changed (in place)."""
    shutil.copytree(source, target)
    summary = json.loads((target / "summary.json").read_text())
    edit(summary)
    (target / "summary.json").write_text(json.dumps(summary))
    (target / "report.html").unlink(missing_ok=True)
    return target


def test_a_scaled_run_says_its_scale_and_how_far_to_trust_it(folders, tmp_path):
    """The title, the answer (with the warning below 0.1) and the scenario section."""
    folder = _edited_copy(folders["single"], tmp_path / "scaled", lambda s: s.update(scale=0.01))
    scenario = folder / "scenario.toml"
    scenario.write_text(scenario.read_text().replace('\nstart = "', '\nscale = 0.01\nstart = "', 1))
    text = text_of(report(folder))
    words = "at --scale 0.01 (1 % of the people)"
    assert f"surge: one simulated morning (seed 1) {words}" in text
    answer = text[text.index("Answer") : text.index("Key figures")]
    assert f"These results are {words}" in answer and "how far --scale can be trusted" in answer
    assert f"Scaled {words}: the people and capacities above are the scaled ones" in text
    unscaled = text_of(report(folders["single"]))
    assert "--scale" not in unscaled and "Scaled" not in unscaled


def test_an_outage_in_several_stretches_says_in_total_between(folders, tmp_path):
    """Minutes that do not follow each other are not 'N minutes from HH:MM'."""

    def later(summary: dict) -> None:
        summary["services"]["login"]["unavailable_until"] = "09:25"

    login = json.loads((folders["single"] / "summary.json").read_text())["services"]["login"]
    text = text_of(report(_edited_copy(folders["single"], tmp_path / "gaps", later)))
    minutes, first = login["unavailable_minutes"], login["unavailable_from"]
    assert f"login, was unavailable {minutes} minutes in total between {first} and 09:25" in text
    assert f"{minutes} min within {first}-09:25" in text  # the services table


def test_unbounded_replications_are_counted_in_the_report(folders, tmp_path):
    """The mean of a percentile that was infinite in some replications is 'unbounded in
    k of n replications', in the key figures; the scale is in the title."""

    def two_of_three(summary: dict) -> None:
        summary["scale"] = 0.5
        p95 = summary["estimates"]["kpi.time_to_class_p95_s"]
        p95.update(n=3, mean=None, low=None, high=None, half_width=None, unbounded=2)

    folder = _edited_copy(folders["replications"], tmp_path / "reps", two_of_three)
    text = text_of(report(folder))
    assert "unbounded in 2 of 3 replications: more than 5 % never got in" in text
    assert "at --scale 0.5 (50 % of the people)" in text and "how far" not in text


def test_a_folder_made_from_python_names_no_scenario_file():
    """The API records its call (``sim.sweep(...)``), not a command line: no file of it
    is taken for the original scenario (the default one was named before)."""
    from sim.outputs.report.scenario import scenario_files

    assert scenario_files(["sim.sweep(...)"], {}) == []
    assert scenario_files(["sim", "sweep", "my.toml", "--reps", "3"], {}) == ["my.toml"]
