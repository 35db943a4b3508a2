"""Replay (a scenario's ``[replay]``, ``sim run --arrivals``): the people of a real
access log connect when their first request came, dealt to the cohorts of their role."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.config import ScenarioError, load_scenario
from sim.config.replay import replay_arrivals
from sim.experiments.execution import Job
from sim.simulation.runner import run
from tests.conftest import SCENARIOS
from tests.robustness.conftest import invoke, one_error_line

SURGE = SCENARIOS / "surge.toml"

SCENARIO = """\
name = "replayed"
start = "08:00"
end = "09:00"

[behaviour]
patience = {{ kind = "never" }}
max_attempts = 1

[services.login]
servers = {servers}
workers_per_server = 1
service_time = {{ kind = "deterministic", value_s = 20.0 }}

[journeys]
login = ["login"]

[[cohorts]]
name = "early pupils"
role = "pupil"
count = 1000
journey = "login"
class_starts = ["08:10"]

[[cohorts]]
name = "late pupils"
role = "pupil"
count = 1000
journey = "login"
class_starts = ["08:40"]

[[cohorts]]
name = "teachers"
role = "teacher"
count = 5
journey = "login"
class_starts = ["08:10", "08:40"]

[replay]
log = "{log}"
{extra}
"""

# user, clock time, user agent: the log of a morning of six people (and one outside)
VISITS = [
    ("ann", "08:05:00", "role=pupil"),
    ("bob", "08:05:10", "role=teacher"),
    ("cid", "08:05:20", "role=pupil"),
    ("ann", "08:06:00", "role=pupil"),  # a repeat: her first request counts
    ("dan", "08:30:00", "role=pupil"),
    ("eve", "08:35:00", "role=teacher"),
    ("fay", "07:59:59", "role=pupil"),  # before the start: left out
    ("gus", "08:20:00", "role=parent"),  # tells no role the mapping knows: left out
]
MAPPING = '[roles]\nby = "user_agent"\npupil = ["*role=pupil*"]\nteacher = ["*role=teacher*"]\n'


def nginx_log(visits=VISITS) -> str:
    return "".join(
        f'10.0.0.{i} - {user} [06/Apr/2021:{clock} +0200] "GET /login HTTP/1.1" 200 5 '
        f'"-" "{agent}" 0.000\n'
        for i, (user, clock, agent) in enumerate(visits)
    )


def seconds(clock: str) -> float:
    h, m, s = map(int, clock.split(":"))
    return 3600.0 * h + 60 * m + s


@pytest.fixture
def files(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text(nginx_log())
    (tmp_path / "map.toml").write_text(MAPPING)
    return tmp_path


def write_scenario(folder, servers=1, log="logs/access.log", extra='mapping = "map.toml"'):
    path = folder / "replayed.toml"
    path.write_text(SCENARIO.format(servers=servers, log=log, extra=extra))
    return path


def test_the_runs_people_are_the_logs_with_their_first_requests(files):
    scenario = load_scenario(write_scenario(files))
    assert [c.count for c in scenario.cohorts] == [2, 1, 2]
    assert scenario.replay.log == str(files / "logs" / "access.log")  # absolute
    result = run(scenario.flat)
    people = result.people
    by_group = {
        name: sorted(people["intended"][people["group"] == g].tolist())
        for g, name in enumerate(result.group_names)
    }
    assert by_group == {
        "early pupils": [seconds("08:05:00"), seconds("08:05:20")],
        "late pupils": [seconds("08:30:00")],
        "teachers": [seconds("08:05:10"), seconds("08:35:00")],
    }
    assert sorted(people["class_start"][people["group"] == 2].tolist()) == [
        seconds("08:10:00"),
        seconds("08:40:00"),
    ]
    left = replay_arrivals(scenario).left_out
    assert left == {"before 08:00": 1, "whose requests tell no role": 1}


def test_more_login_servers_change_the_replayed_morning(files):
    one = run(load_scenario(write_scenario(files, servers=1)).flat)
    two = run(load_scenario(write_scenario(files, servers=2)).flat)
    assert one.kpi["arrived"] == two.kpi["arrived"] == 5
    assert two.kpi["time_to_class_p95_s"] < one.kpi["time_to_class_p95_s"]


def test_a_changed_log_has_another_key_and_is_refused_by_a_loaded_scenario(files):
    path = write_scenario(files)
    before = load_scenario(path)
    key = Job(before, 0, 1).key
    log = files / "logs" / "access.log"
    log.write_text(log.read_text().replace("08:35:00", "08:36:00"))
    after = load_scenario(path)
    assert Job(after, 0, 1).key != key
    assert after.replay.digest != before.replay.digest
    with pytest.raises(ScenarioError, match="changed since the scenario was loaded"):
        run(before.flat)


def many_pupils(n=400) -> list[tuple[str, str, str]]:
    return [(f"p{i}", f"08:{5 + i % 50:02d}:{i % 60:02d}", "role=pupil") for i in range(n)]


def test_a_scaled_replay_keeps_a_random_half_of_the_logs_people(files):
    (files / "logs" / "access.log").write_text(nginx_log(many_pupils(400)))
    scenario = sim.load(write_scenario(files), scale=0.5)
    assert scenario.scale == 0.5  # recorded like any scaled scenario
    kept = run(scenario.flat, seed=11)
    assert abs(len(kept.people["intended"]) - 200) <= 30  # binomial(400, 0.5): sd 10
    again = run(scenario.flat, seed=11)
    assert np.array_equal(kept.people["intended"], again.people["intended"])
    other = run(scenario.flat, seed=12)
    assert not np.array_equal(kept.people["intended"], other.people["intended"])
    assert kept.scenario.cohorts[0].count + kept.scenario.cohorts[1].count == len(
        kept.people["intended"]
    )
    summary = replay_arrivals(scenario, np.random.default_rng(1)).summary("log")
    assert "not in the --scale 0.5 sample" in summary


def test_a_scaled_replay_from_the_command_line_says_its_scale(files):
    result = invoke("run", write_scenario(files), "--scale", "0.5", "--out", files / "out")
    assert result.exit_code == 0, result.output
    assert "--scale 0.5" in result.output
    assert "scale = 0.5" in (files / "out" / "scenario.toml").read_text()
    rerun = run(load_scenario(files / "out" / "scenario.toml").flat)
    first = run(sim.load(write_scenario(files), scale=0.5).flat)
    assert np.array_equal(rerun.people["intended"], first.people["intended"])


def test_a_replay_is_not_scaled_up(files):
    result = invoke("run", write_scenario(files), "--scale", "2")
    assert result.exit_code == 2 and "at most 1" in one_error_line(result.output)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--arrivals", "{dir}/nope.log"], "access log not found"),
        (["--arrivals", "{dir}/map.toml"], "cannot tell the log format"),
        (["--arrivals", "{dir}/logs/access.log", "--log-mapping", "{dir}/logs"], "is a folder"),
        (["--log-mapping", "{dir}/map.toml"], "give --arrivals too"),
    ],
)
def test_a_bad_log_or_mapping_is_one_line_before_any_run(files, args, expected):
    scenario = write_scenario(files).read_text().split("[replay]")[0]
    (files / "plain.toml").write_text(scenario)
    out = files / "out"
    args = [a.replace("{dir}", str(files)) for a in args]
    result = invoke("run", files / "plain.toml", *args, "--out", out)
    assert result.exit_code == 2
    assert expected in one_error_line(result.output)
    assert not out.exists()


def test_arrivals_from_the_command_line_replay_the_log(files):
    plain = files / "plain.toml"
    plain.write_text(write_scenario(files).read_text().split("[replay]")[0])
    out = files / "out"
    log, mapping = files / "logs" / "access.log", files / "map.toml"
    args = ["run", plain, "--arrivals", log, "--log-mapping", mapping, "--out", out]
    result = invoke(*args, "--no-dashboard", "--people", "csv")
    assert result.exit_code == 0, result.output
    assert "replay: 5 people from" in result.output
    rerun = load_scenario(out / "scenario.toml")  # the results folder's: replays the same
    assert rerun.replay.digest is not None and [c.count for c in rerun.cohorts] == [2, 1, 2]
    assert np.isfinite(run(rerun.flat).people["intended"]).all()


def test_a_written_log_replays_the_same_people_at_their_first_requests(tmp_path):
    """sim run --access-log, then --arrivals on it: the people are those who sent a
    request, and each intends to connect when their first one was sent."""
    from sim.config import read_raw, scenario_from_dict
    from sim.outputs.access_log import write_access_log

    traced = run(load_scenario(SURGE).flat, trace=True)
    log = write_access_log(traced, tmp_path / "surge.csv.gz")
    raw = read_raw(SURGE)
    raw["replay"] = {"log": str(log)}
    replayed = run(scenario_from_dict(raw).flat)
    t = traced.trace
    first = {}
    for person, sent in zip(t["person"].tolist(), t["submitted"].tolist(), strict=True):
        first.setdefault(person, sent)
    expected = np.round(sorted(first.values()), 6)
    np.testing.assert_array_equal(np.round(np.sort(replayed.people["intended"]), 6), expected)
