"""``sim fit``: its estimators on samples with known parameters, the quiet-period filter,
small hand-written logs of each format with known answers, and the command end to end
(a scenario that loads and runs, a report, one-line errors)."""

from __future__ import annotations

import datetime as dt
import gzip
import math
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.config.access_logs import LogRecord, format_record, read_records
from sim.config.log_mapping import mapping_from_dict
from sim.experiments import fit as fit_module
from sim.experiments import fit_estimators as est
from sim.experiments.fit import FitOptions, LogPass, estimate, fit_records
from tests.robustness.conftest import invoke, leftovers, one_error_line

DAY = dt.date(2021, 4, 6)
NINE = 9 * 3600.0
MAPPING = {
    "services": {"login": ["/login*"], "portal": ["/portal/*"]},
    "roles": {"by": "user_agent", "pupil": ["*role=pupil*"], "teacher": ["*role=teacher*"]},
}


def covers(e: est.Estimate, truth: float) -> bool:
    return e.low <= truth <= e.high


# ---------------------------------------------------------------- estimators


def test_aic_picks_lognormal_for_lognormal_data_and_the_intervals_cover_the_truth():
    rng = np.random.default_rng(3)
    truth = est.frozen("lognormal", 0.3, 1.2)
    fit = est.fit_durations(truth.rvs(size=4000, random_state=rng))
    assert fit.chosen.kind == "lognormal"
    assert next(c.kind for c in fit.candidates) == "lognormal"
    assert covers(fit.mean_s, 0.3) and covers(fit.cv, 1.2)
    assert fit.mean_s.high - fit.mean_s.low < 0.05  # an interval, not everything


def test_aic_picks_gamma_for_gamma_data():
    rng = np.random.default_rng(4)
    fit = est.fit_durations(est.frozen("gamma", 2.0, 0.5).rvs(size=4000, random_state=rng))
    assert fit.chosen.kind == "gamma"
    assert covers(fit.mean_s, 2.0) and covers(fit.cv, 0.5)


def test_normal_offsets_are_fitted_with_intervals_and_their_quality():
    rng = np.random.default_rng(5)
    fit = est.fit_normal(rng.normal(-10, 6, 3000))
    assert covers(fit.mean_min, -10) and covers(fit.sd_min, 6)
    assert fit.ks_distance < 0.03
    skewed = est.fit_normal(rng.exponential(10, 3000))
    assert skewed.ks_distance > 0.05  # a normal fits exponential offsets badly


@pytest.mark.parametrize("kind", ["exponential", "lognormal"])
def test_patience_from_censored_requests_covers_the_truth(kind):
    """Client-closed requests are patience values, served ones lower bounds of it: the
    censored MLE finds the patience that the closed ones alone underestimate."""
    rng = np.random.default_rng(6)
    patience = est.frozen(kind, 20.0, 1.0).rvs(size=20000, random_state=rng)
    service = rng.lognormal(np.log(10), 1.0, 20000)
    closed = service > patience
    fit = est.fit_patience(patience[closed], service[~closed])
    assert fit.kind == kind
    assert covers(fit.mean_s, 20.0)
    assert patience[closed].mean() < 15  # the naive mean of the closed ones is far off


def test_retry_share_and_jittered_backoff_cover_the_truth():
    rng = np.random.default_rng(7)
    share = est.wilson(int((rng.random(800) < 0.7).sum()), 800)
    assert covers(share, 0.7)
    first, second = rng.uniform(0, 15, 500), rng.uniform(0, 30, 500)
    backoff = est.fit_backoff(first, second)
    assert backoff.kind == "exponential_jitter" and covers(backoff.base_s, 15.0)
    assert backoff.factor == pytest.approx(2.0, rel=0.15)
    assert est.fit_backoff(rng.normal(5, 0.2, 200), []).kind == "constant"


def retrying_people(count, retry_probability, max_attempts, seed=9):
    """An nginx log of `count` people, each asking /login from 08:00 to 09:00 until served:
    half the attempts fail (503), then they retry with `retry_probability` after a gap
    uniform on 0-20 s, at most `max_attempts` times; the log stops at 09:00 (requests
    sent later are not in it). Written and read back, so stamps are whole seconds."""
    rng = np.random.default_rng(seed)
    lines = []
    for person in range(count):
        t = 8 * 3600 + rng.uniform(0, 3600)
        for attempt in range(1, max_attempts + 1):
            if t >= NINE:
                break
            failed = rng.random() < 0.5
            lines.append(record(t, f"u{person}", status=503 if failed else 200, duration=0.2))
            if not failed or attempt == max_attempts or rng.random() >= retry_probability:
                break
            t += 0.2 + rng.uniform(0, 20)
    lines.sort(key=lambda r: r.time_s + r.duration_s)
    text = "".join(format_record(r, "nginx") + "\n" for r in lines)
    return list(read_records_of(text))


def read_records_of(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "access.log"
        path.write_text(text)
        yield from read_records([path], "nginx")


def test_the_retry_share_leaves_out_failures_that_could_not_be_retried():
    """A failure at the last allowed attempt, or just before the log stops, is never
    followed by a retry: counted as "did not retry", the share was biased low (0.64 here
    for 0.7). The longest chain is the cap (FITTED), its failures and the log's last
    window are left out, and a retry a second "early" (whole-second stamps) still counts."""
    log = LogPass(mapping_from_dict(MAPPING), FitOptions())
    log.add(retrying_people(4000, 0.7, 3))
    assert not covers(est.wilson(log.retried, log.failures), 0.7)  # the old estimator
    result = estimate(log, FitOptions(), [])
    retry, attempts = result.retry_probability, result.max_attempts
    assert covers(retry, 0.7), retry
    assert attempts.fitted and attempts.value == 3 and attempts.reached > 30
    rows = {row["quantity"]: row for row in result.estimates()}
    assert rows["behaviour.max_attempts"]["value"] == 3


def test_max_attempts_stays_an_assumption_when_no_chain_is_seen_to_stop():
    records = retrying_people(300, 1.0, 9)
    result = fit_records(records, mapping_from_dict(MAPPING), FitOptions())
    assert not result.max_attempts.fitted and result.max_attempts.value >= 6
    assert covers(result.retry_probability, 1.0)


# ---------------------------------------------------------------- quiet periods


def record(t, user, path="/login", status=200, duration=0.1, role="pupil"):
    return LogRecord(DAY, t, f"10.0.0.{hash(user) % 250}", user, "GET", path, status, duration,
                     f"App (role={role})")  # fmt: skip


def test_the_quiet_filter_leaves_out_queueing_inflated_durations():
    """Quiet: one request every 10 s, 0.1 s each; a rush: 40 at once every second, each
    taking ten times as long (queueing). The fit sees the quiet ones only."""
    rng = np.random.default_rng(8)
    quiet = [record(8 * 3600 + 10 * i, f"q{i}", duration=float(d))
             for i, d in enumerate(rng.lognormal(np.log(0.1), 0.5, 1500))]  # fmt: skip
    rush = [record(NINE + i // 40, f"r{i}", duration=float(d))
            for i, d in enumerate(rng.lognormal(np.log(1.0), 0.5, 4000))]  # fmt: skip
    result = fit_records(quiet + rush, mapping_from_dict(MAPPING), FitOptions())
    login = result.services[0]
    naive = np.mean([r.duration_s for r in quiet + rush])
    assert naive > 0.6
    assert login.quiet_threshold <= 2
    assert covers(login.fit.mean_s, 0.1 * np.exp(0.5**2 / 2))
    assert login.peak_concurrency >= 40


def test_requests_in_progress_are_counted_exactly(monkeypatch):
    """Each sampled request's count is the requests of its service started before it and
    not yet ended, as a brute-force count finds it: over batches (lines read out of
    order, as nginx writes them at their end), not 'every request touching the second'
    (that overcount let queueing into the quiet periods)."""
    monkeypatch.setattr(fit_module, "BATCH", 150)
    rng = np.random.default_rng(11)
    start = 8 * 3600 + np.sort(rng.uniform(0, 300, 1500)) + 1e-4 * rng.random(1500)
    duration = rng.exponential(0.8, 1500) + 1e-4
    records = [record(float(t), f"u{i}", duration=float(d))
               for i, (t, d) in enumerate(zip(start, duration, strict=True))]  # fmt: skip
    records.sort(key=lambda r: r.time_s + r.duration_s)
    log = LogPass(mapping_from_dict(MAPPING), FitOptions())
    log.add(records)
    log.settle_in_progress(math.inf)
    tally = log.services["login"]
    rows = tally.served.rows
    got = tally.in_progress.at(rows)
    start, end = start + DAY.toordinal() * 86400.0, start + duration + DAY.toordinal() * 86400.0
    truth = [(start < s).sum() - (end < s).sum() for s in rows[:, 0]]
    assert got.tolist() == truth
    touching = [((np.floor(start) <= np.floor(s)) & (np.floor(end) >= np.floor(s))).sum() - 1
                for s in rows[:, 0]]  # fmt: skip
    assert np.mean(touching) > np.mean(truth) + 0.3  # the old count


# ---------------------------------------------------------------- hand-written logs

# 3 pupils (first at 08:50, 08:55, 09:00) and a teacher (08:40); ann connects twice
# (her first connection counts), an unmapped path is left out and counted. nginx logs the
# end of a request: its times are the received ones plus the (whole) durations.
NGINX = """\
10.0.0.4 - tom [06/Apr/2021:08:40:01 +0200] "GET /login HTTP/1.1" 200 10 "-" "App (role=teacher)" 1.000
10.0.0.1 - ann [06/Apr/2021:08:50:01 +0200] "GET /login HTTP/1.1" 200 10 "-" "App (role=pupil)" 1.000
10.0.0.1 - ann [06/Apr/2021:08:50:03 +0200] "GET /portal/a HTTP/1.1" 200 10 "-" "App (role=pupil)" 0.500
10.0.0.2 - bob [06/Apr/2021:08:55:02 +0200] "GET /login HTTP/1.1" 200 10 "-" "App (role=pupil)" 2.000
10.0.0.3 - cat [06/Apr/2021:09:00:01 +0200] "GET /login HTTP/1.1" 200 10 "-" "App (role=pupil)" 1.000
10.0.0.1 - ann [06/Apr/2021:09:10:01 +0200] "GET /login HTTP/1.1" 200 10 "-" "App (role=pupil)" 1.000
10.0.0.3 - cat [06/Apr/2021:09:10:00 +0200] "GET /favicon.ico HTTP/1.1" 404 10 "-" "App (role=pupil)" 0.001
"""  # noqa: E501
APACHE = """\
10.0.0.4 - tom [06/Apr/2021:08:40:00 +0200] "GET /login HTTP/1.1" 200 10 "-" "App (role=teacher)" 1000000
10.0.0.1 - ann [06/Apr/2021:08:50:00 +0200] "GET /login HTTP/1.1" 200 10 "-" "App (role=pupil)" 1000000
10.0.0.1 - ann [06/Apr/2021:08:50:02 +0200] "GET /portal/a HTTP/1.1" 200 10 "-" "App (role=pupil)" 500000
10.0.0.2 - bob [06/Apr/2021:08:55:00 +0200] "GET /login HTTP/1.1" 200 10 "-" "App (role=pupil)" 2000000
10.0.0.3 - cat [06/Apr/2021:09:00:00 +0200] "GET /login HTTP/1.1" 200 10 "-" "App (role=pupil)" 1000000
10.0.0.3 - cat [06/Apr/2021:09:10:00 +0200] "GET /favicon.ico HTTP/1.1" 404 10 "-" "App (role=pupil)" 1000
"""  # noqa: E501
CSV = """\
timestamp,client,path,status,duration_s,user,role
2021-04-06T08:40:00,10.0.0.4,/login,200,1.0,tom,teacher
2021-04-06T08:50:00,10.0.0.1,/login,200,1.0,ann,pupil
2021-04-06T08:50:02,10.0.0.1,/portal/a,200,0.5,ann,pupil
2021-04-06T08:55:00,10.0.0.2,/login,200,2.0,bob,pupil
2021-04-06T09:00:00,10.0.0.3,/login,200,1.0,cat,pupil
2021-04-06T09:10:00,10.0.0.3,/favicon.ico,404,0.001,cat,pupil
"""
FIRST = {"pupil": [-10.0, -5.0, 0.0], "teacher": [-20.0]}  # minutes from 09:00


@pytest.mark.parametrize(
    ("text", "unmapped", "roles_by"),
    [(NGINX, 1, "user_agent"), (APACHE, 1, "user_agent"), (CSV, 1, "column")],
)
def test_a_hand_written_log_gives_its_known_answers(tmp_path, text, unmapped, roles_by):
    log = tmp_path / "access.log"
    log.write_text(text)
    mapping = {**MAPPING, "roles": MAPPING["roles"] if roles_by != "column" else {"by": "column"}}
    result = fit_records(read_records([log]), mapping_from_dict(mapping), FitOptions())
    assert result.unmapped == unmapped
    counts = {r.role: r.people_per_day for r in result.roles}
    assert counts == {"pupil": 3, "teacher": 1}
    for role in result.roles:
        assert sorted(np.round(role.offsets_min, 3)) == FIRST[role.role]
    pupil = next(r for r in result.roles if r.role == "pupil")
    assert pupil.journey == ["login"]  # the most common: two of three used login only
    assert {s.name: s.requests for s in result.services}["login"] == (5 if text is NGINX else 4)


# ---------------------------------------------------------------- the command


def synthetic_log(path: Path, people: int = 1500, seed: int = 1) -> Path:
    """An nginx log of a morning: pupils 10 min and teachers 20 min before 09:00, a
    login (lognormal 0.1 s) then a portal page (gamma 0.4 s, 5 % closed by the client,
    most retried); gzip when the name ends in .gz."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(people):
        role = "teacher" if i % 5 == 0 else "pupil"
        agent = f"App (role={role})"
        t = NINE + rng.normal(-10 if role == "pupil" else -20, 8) * 60
        login = round(float(rng.lognormal(np.log(0.1), 0.6)), 3)
        records.append(LogRecord(DAY, t, f"10.1.{i // 250}.{i % 250}", f"u{i}", "GET", "/login",
                                 200, login, agent))  # fmt: skip
        t += login + 1
        closed = rng.random() < 0.05
        page = round(float(rng.exponential(15) if closed else rng.gamma(2, 0.2)), 3)
        records.append(LogRecord(DAY, t, "10.2.0.1", f"u{i}", "GET", "/portal/a",
                                 499 if closed else 200, page, agent))  # fmt: skip
    records.sort(key=lambda r: r.time_s + r.duration_s)  # nginx writes at the end
    text = "".join(format_record(r, "nginx") + "\n" for r in records).encode()
    path.write_bytes(gzip.compress(text) if path.name.endswith(".gz") else text)
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit")
    log = synthetic_log(folder / "access.log.gz")
    (folder / "map.toml").write_text(
        '[services]\nlogin = ["/login*"]\nportal = ["/portal/*"]\n'
        '[roles]\nby = "user_agent"\npupil = ["*role=pupil*"]\nteacher = ["*role=teacher*"]\n'
    )
    out = folder / "platform.toml"
    done = invoke("fit", log, "--mapping", folder / "map.toml", "--out", out,
                  "--report", folder / "report", "--set", "services.login.servers=2",
                  env={"COLUMNS": "80"})  # fmt: skip
    return folder, out, done


IDENTIFIERS = {"name", "description", "role", "journey"}  # names, not values


def test_sim_fit_writes_a_marked_scenario_that_loads_and_runs(fitted):
    _folder, out, done = fitted
    assert done.exit_code == 0, done.output
    marked, above = False, ""  # the comments just above a value may mark it
    for line in out.read_text().splitlines():  # every value says where it comes from
        key = line.split("=")[0].strip()
        if line.startswith("#"):
            marked = (marked and above.startswith("#")) or "FITTED" in line or "ASSUMPTION" in line
        elif "=" in line and not line.startswith(("[", " ")) and key not in IDENTIFIERS:
            assert marked or any(m in line for m in ("FITTED", "ASSUMPTION", "GIVEN")), line
            marked = False
        above = line
    scenario = sim.load(out)
    counts = {c.role: c.count for c in scenario.cohorts}
    assert counts == {"pupil": 1200, "teacher": 300}
    pupils = next(c for c in scenario.cohorts if c.role == "pupil")
    assert -11.5 < pupils.connect.mean_min < -8.5
    assert scenario.services["login"].service_time.kind == "lognormal"
    assert scenario.services["login"].servers == 2
    assert "servers = 2  # GIVEN (--set), instead of 1" in out.read_text()
    assert scenario.journeys["pupil"][0].service == "login"
    morning = sim.run(scenario)
    assert morning.kpi["arrived"] == 1500


def test_sim_fit_prints_the_estimates_at_80_columns_then_the_paths(fitted):
    _folder, out, done = fitted
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = done.stdout
    for words in (
        "people",
        "services, fitted on quiet periods",
        "behaviour",
        "lognormal",
        "FITTED",
        "ASSUMPTION: capacity",
        "portal",
        "login (workers, backlog)",
    ):
        assert words in text, words
    assert lines[-2:] == [
        f"scenario written to {out}",
        f"fit report written to {_folder}/report/report.html",
    ]


def test_the_fit_report_shows_each_fit(fitted):
    folder, _, _ = fitted
    report = folder / "report"
    page = (report / "report.html").read_text()
    assert page.count("<img") == 4  # two roles' arrivals, two services
    assert "AIC" in page and "Lilliefors" in page and "quiet threshold" in page
    assert (report / "estimates.csv").read_text().startswith("quantity,value,low,high,n,method")
    assert not leftovers(folder)


def test_the_api_gives_the_commands_scenario(fitted):
    folder, out, _ = fitted
    done = sim.fit(folder / "access.log.gz", folder / "map.toml", name="platform",
                   set={"services.login.servers": 2})  # fmt: skip
    assert done.text == out.read_text()
    assert set(done.estimates.columns) == {"quantity", "value", "low", "high", "n", "method"}
    assert "services.login.service_time.mean_s" in set(done.estimates.quantity)


def test_class_starts_come_from_the_mapping_and_class_start_overrides(tmp_path):
    log = synthetic_log(tmp_path / "access.log")
    mapping = {**MAPPING, "classes": {"starts": ["08:00", "09:00"]}}
    fitted = sim.fit(log, mapping)
    assert fitted.result.options.class_starts == ("08:00", "09:00")
    assert "GIVEN (the mapping's [classes])" in fitted.text
    given = sim.fit(log, mapping, class_starts=["09:00"])
    assert given.scenario.cohorts[0].class_starts == ["09:00"]
    assert "GIVEN (--class-start)" in given.text
    assert "ASSUMPTION: the default" in sim.fit(log, MAPPING).text
    (tmp_path / "bad.toml").write_text('[classes]\nstarts = ["9h"]\n')
    with pytest.raises(sim.ScenarioError, match=r"classes\.starts"):
        sim.fit(log, tmp_path / "bad.toml")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["missing.log"], "missing.log"),
        (["empty.log"], "empty.log"),
        (["access.log", "--mapping", "nothing.toml"], "no request of the log maps to a service"),
        (["access.log", "--class-start", "9h"], "class start"),
        (["access.log", "--format", "json"], "format must be one of"),
        (["access.log", "--retry-window", "0"], "--retry-window"),
        (["access.log", "--report", "busy"], "holds other files"),
        (["access.log", "--set", "services.nowhere.servers=2"], "nowhere"),
        (["access.log", "--set", "services.login.servers=0"], "servers"),
    ],
)
def test_bad_inputs_are_one_line_and_nothing_is_written(tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    Path("access.log").write_text(NGINX)
    Path("empty.log").write_text("")
    Path("nothing.toml").write_text('[services]\nx = ["/nowhere"]\n')
    Path("busy").mkdir()
    (Path("busy") / "notes.txt").write_text("mine")
    done = invoke("fit", *args, "--out", "out.toml")
    assert done.exit_code == 2
    assert words in one_error_line(done.stderr)
    assert not Path("out.toml").exists() and not leftovers(tmp_path)
