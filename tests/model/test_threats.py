"""Overload, crashes, attackers and defences: each mechanism does what it says.

The shipped examples docs/how-to/threats.md names (``teaching/surge``, ``teaching/retry_storm``,
and the surge with the parents that guide adds) run through the same
``sim.simulation.runner.run`` as real ones; each defence is switched on with the guide's ``--set``
overrides and compared with the same seed without it (common random numbers make the pair
sharp), so the guide's claim that each example moves the outcome the intended way holds for the
files its reader has.
"""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest
import simpy

from sim.config import load_scenario, read_raw, scenario_from_dict
from sim.config.catalog import find
from sim.config.scenario import Scenario
from sim.engine.dists import Deterministic, sampler
from sim.engine.monitor import Recorder
from sim.model.defences import RateLimiter
from sim.model.outcome import Outcome
from sim.model.policies import CrashPolicy
from sim.model.services import Service
from sim.simulation.runner import run
from tests.conftest import ROOT, scenario

GUIDE = ROOT / "docs" / "how-to" / "threats.md"
SURGE_START = 8 * 3600 + 40 * 60  # teaching/surge runs from 08:40


def example(name: str, *overrides: str) -> Scenario:
    """The shipped example `name` (as ``sim run name`` finds it) with `overrides`."""
    return load_scenario(find(name), list(overrides))


def surge(*overrides: str) -> Scenario:
    return example("teaching/surge", *overrides)


def storm(*overrides: str) -> Scenario:
    return example("teaching/retry_storm", *overrides)


def guide_parents() -> list[dict]:
    """The cohort of parents the guide tells its reader to append to teaching/surge
    (its one TOML block): the roles' examples run on exactly that."""
    blocks = re.findall(r"```toml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, blocks
    return tomllib.loads(blocks[0])["cohorts"]


def surge_with_parents(*overrides: str) -> Scenario:
    raw = read_raw(find("teaching/surge"))
    raw["cohorts"] = [*raw["cohorts"], *guide_parents()]
    return scenario_from_dict(raw, list(overrides))


FLOOD = (
    'attacks=[{name="flood", kind="application", target="login", start="08:50", '
    "duration_min=8, rate_per_s=40.0, bots=50}]"
)


def _after(result, minute: int) -> slice:
    return slice(minute, None)


def _success_share(result, from_minute: int) -> float:
    c = result.counters
    window = _after(result, from_minute)
    return c["successes"][window].sum() / max(1, c["attempts"][window].sum())


# ---------------------------------------------------------------- metastability


def test_retry_storm_keeps_the_service_down_long_after_the_trigger():
    result = run(storm().flat)
    api = result.services["api"]
    assert api.attack_arrivals[9:].sum() == 0  # the trigger is over by 00:08
    assert _success_share(result, 20) < 0.02  # ... yet 12 minutes later nothing gets through
    assert api.wasted[20:].sum() > 0.9 * api.served[20:].sum()  # busy with abandoned work


def test_without_retries_the_service_recovers():
    result = run(storm("behaviour.max_attempts=1").flat)
    assert _success_share(result, 20) > 0.95


def test_a_retry_budget_breaks_the_storm():
    result = run(storm("behaviour.retry_budget={tokens_per_s=1.0, burst=5}").flat)
    assert _success_share(result, 20) > 0.9


# ---------------------------------------------------------------- crashes


def _service(env, crash=None, workers=1, backlog=10, servers=1, times=1.0):
    record = Recorder(0.0, 600.0).add_service("s", servers * workers)
    draw = sampler(Deterministic(times), np.random.default_rng(0))
    return Service(env, "s", servers, workers, backlog, draw, record, crash=crash), record


def _restart(seconds):
    return sampler(Deterministic(seconds), np.random.default_rng(0))


def test_a_crash_fails_queued_and_in_progress_requests():
    env = simpy.Environment()
    crash = CrashPolicy(backlog_above=2, restart=_restart(30.0), detection_s=5.0)
    service, record = _service(env, crash)
    replies = [service.submit(100.0) for _ in range(4)]  # 1 in service, 3rd queued crashes
    env.run(until=1.0)
    assert [r.value for r in replies] == [Outcome.ERROR] * 4
    assert sum(record.crash_lost) == 4 and sum(record.crashes) == 1
    assert service.busy == 0 and service.queued == 0
    assert sum(record.served) == 0  # the work in progress was lost, not completed


def test_a_dead_server_refuses_until_restart_and_the_balancer_notices():
    env = simpy.Environment()
    crash = CrashPolicy(backlog_above=0, restart=_restart(30.0), detection_s=5.0)
    service, record = _service(env, crash, servers=2, backlog=5)
    for _ in range(3):  # both servers busy, third request queued on server 0: crash
        service.submit(100.0)
    assert not service.servers[0].up and service.servers[1].up
    env.run(until=2.0)  # before detection: the balancer may still pick server 0
    assert service._choose() is service.servers[0]  # least loaded: 0 requests (dead)
    assert service.submit(100.0).value == Outcome.ERROR
    env.run(until=6.0)  # detected: traffic goes to server 1 only
    assert service.servers[0].detected_down
    assert all(service._choose() is service.servers[1] for _ in range(3))
    env.run(until=31.0)  # restarted
    assert service.servers[0].up and not service.servers[0].detected_down
    assert sum(record.refused) == 1


def test_availability_and_downtime_are_measured():
    result = run(
        surge(
            'services.login.crash={backlog_above=40, restart={kind="deterministic", value_s=120}}',
        ).flat
    )
    login = result.service_summary["login"]
    assert login["crashes"] > 0
    # each crash takes one of two servers down for 120 s in a 2400 s run (08:40-09:20)
    down = login["crashes"] * 120.0
    assert login["availability"] == pytest.approx(1 - down / (2 * 2400.0), abs=0.01)
    assert login["downtime_s"] >= 0


# ---------------------------------------------------------------- rate limiting


@pytest.mark.parametrize("rate, burst", [(0.5, 1), (2.0, 5), (10.0, 20)])
def test_a_rate_limit_never_lets_an_address_exceed_its_rate(rate, burst):
    limiter = RateLimiter(rate, burst)
    rng = np.random.default_rng(1)
    times = np.sort(rng.uniform(0, 100, 5000))
    addresses = rng.integers(0, 3, len(times))
    passed = {a: [] for a in range(3)}
    for t, a in zip(times, addresses, strict=True):
        if limiter.allow(int(a), float(t)):
            passed[int(a)].append(t)
    for a, ts in passed.items():
        ts = np.asarray(ts)
        assert len(ts) > 0, a
        for window in (1.0, 10.0, 50.0):  # at most burst + rate * window in any window
            counts = np.searchsorted(ts, ts + window, side="left") - np.arange(len(ts))
            assert counts.max() <= burst + rate * window + 1e-9


def test_bots_are_limited_to_their_combined_rate():
    limiter = RateLimiter(rate=1.0, burst=2)
    allowed = sum(limiter.allow_bots(100, bots=10, now=float(t)) for t in range(0, 61))
    assert allowed <= 10 * (2 + 1.0 * 60)
    assert allowed >= 10 * 60  # and not more strictly than that


def test_rate_limits_block_pupils_behind_a_shared_address():
    limit = "services.login.rate_limit={per_address_per_s=2.0, burst=20}"
    alone = run(surge(limit).flat).service_summary["login"]
    shared = run(surge(limit, "cohorts.pupils.people_per_address=500").flat)
    assert alone["blocked"] == 0
    assert shared.service_summary["login"]["blocked"] > 100  # false positives


def test_a_rate_limit_takes_the_edge_off_a_flood():
    without = run(surge(FLOOD).flat)
    limited = run(surge(FLOOD, "services.login.rate_limit={per_address_per_s=0.1}").flat)
    w, lim = without.service_summary["login"], limited.service_summary["login"]
    # 50 bots, each allowed its burst of 20 plus 0.1/s over the 8 minutes
    assert lim["attack_requests"] - lim["attack_blocked"] <= 50 * (20 + 0.1 * 480)
    assert lim["attack_blocked"] > 0.8 * lim["attack_requests"]
    assert lim["attack_served"] < w["attack_served"]
    assert limited.kpi["share_in_class"] > without.kpi["share_in_class"]


# ---------------------------------------------------------------- scrubbing and links


def test_scrubbing_starts_after_its_detection_delay():
    scrub = "services.login.scrubbing={detection_s=180.0, attack_removed=0.95}"
    result = run(surge(FLOOD, scrub).flat)
    login = result.services["login"]
    start = 10  # the flood starts at 08:50, minute 10 of the run
    assert login.attack_blocked[start : start + 3].sum() == 0  # not yet detected
    blocked = login.attack_blocked[start + 3 : start + 8].sum()
    sent = login.attack_arrivals[start + 3 : start + 8].sum()
    assert blocked == pytest.approx(0.95 * sent, rel=0.05)
    assert result.kpi["gave_up"] < run(surge(FLOOD).flat).kpi["gave_up"]


def test_scrubbing_also_blocks_some_legitimate_traffic():
    scrub = "services.login.scrubbing={detection_s=0.0, attack_removed=0.9, legit_removed=0.1}"
    login = run(surge(FLOOD, scrub).flat).service_summary["login"]
    assert login["blocked"] > 0


VOLUMETRIC = (
    'attacks=[{name="v", kind="volumetric", target="edge", start="08:50", '
    "duration_min=5, gbps=30.0}]"
)


def test_a_volumetric_flood_loses_legitimate_requests_in_proportion():
    result = run(
        surge("links.edge={capacity_gbps=10.0}", "services.login.link=edge", VOLUMETRIC).flat
    )
    login = result.services["login"]
    during = slice(10, 15)  # 08:50 to 08:55
    share_lost = login.lost[during].sum() / login.arrivals[during].sum()
    assert share_lost == pytest.approx(1 - 10.0 / 30.0, abs=0.03)
    assert login.lost[:10].sum() == 0 and login.lost[16:].sum() == 0


def test_link_scrubbing_restores_the_link():
    base = ("links.edge={capacity_gbps=10.0}", "services.login.link=edge", VOLUMETRIC)
    scrubbed = "links.edge={capacity_gbps=10.0, scrubbing={detection_s=60.0, attack_removed=0.9}}"
    lost = run(surge(*base).flat).service_summary["login"]["lost"]
    lost_scrubbed = run(surge(*base, scrubbed).flat).service_summary["login"]["lost"]
    assert lost_scrubbed < 0.4 * lost


# ---------------------------------------------------------------- other defences


def test_a_waiting_room_smooths_the_surge():
    gated = run(
        surge(
            "gates.room={max_new_per_s=9.0}",  # below the login's 10/s
            'journeys.login=[{kind="gate", gate="room"}, "login"]',
        ).flat
    )
    base = run(surge().flat)
    assert gated.service_summary["login"]["wasted"] < 0.2 * base.service_summary["login"]["wasted"]
    assert gated.kpi["gave_up"] < base.kpi["gave_up"]


def test_a_quota_refuses_sessions_beyond_its_size():
    result = run(
        surge(
            'gates.quota={max_sessions=50, when_full="reject"}',
            'journeys.login=[{kind="gate", gate="quota"}, "login"]',
        ).flat
    )
    assert result.counters["fail_quota"].sum() > 0


def test_the_guide_adds_parents_who_log_in_during_the_surge():
    (parents,) = guide_parents()
    assert parents["role"] == "other" and parents["journey"] == "login"
    assert surge_with_parents().flat.cohorts[1].name == "parents"


def test_a_gate_can_bar_parents_during_school_hours():
    result = run(
        surge_with_parents(
            'gates.school={blocked_roles=["other"], blocked_from="08:00", blocked_until="18:00"}',
            'journeys.login=[{kind="gate", gate="school"}, "login"]',
        ).flat
    )
    base = run(surge_with_parents().flat).people
    people = result.people
    parents = people["group"] == 1
    assert np.all(np.isnan(people["reached"][parents]))
    pupils_in = np.isfinite(people["reached"][~parents]).mean()
    assert pupils_in > np.isfinite(base["reached"][base["group"] == 0]).mean()


def test_priority_serves_pupils_before_parents():
    def mean_time_to_login(result, group):
        p = result.people
        mask = (p["group"] == group) & np.isfinite(p["reached"])
        waited = p["reached"][mask] - np.maximum(p["intended"][mask], SURGE_START)
        return float(np.mean(waited))

    result = run(surge_with_parents('services.login.priority={roles=["pupil"]}').flat)
    base = run(surge_with_parents().flat)
    assert mean_time_to_login(result, 0) < mean_time_to_login(base, 0)
    assert mean_time_to_login(result, 0) < mean_time_to_login(result, 1)


def test_autoscaling_adds_servers_after_the_boot_delay():
    result = run(surge("services.login.autoscale={max_servers=6, boot_s=60}").flat)
    login = result.services["login"]
    assert login.mean_servers_up.max() > 2
    assert login.mean_servers_up.max() <= 6
    assert result.kpi["gave_up"] < run(surge().flat).kpi["gave_up"]


def test_staggered_class_starts_flatten_the_peak():
    staggered = run(surge('cohorts.pupils.class_starts=["09:00", "09:15"]').flat)
    base = run(surge().flat)
    assert staggered.services["login"].arrivals.max() < 0.7 * base.services["login"].arrivals.max()
    assert staggered.kpi["gave_up"] < base.kpi["gave_up"]


def test_a_circuit_breaker_makes_fewer_attempts():
    broken = run(surge("behaviour.circuit_breaker={failures=2, open_s=60.0}").flat)
    base = run(surge().flat)
    assert broken.kpi["attempts"] < base.kpi["attempts"]


def test_service_time_grows_with_concurrency_beyond_the_knee():
    env = simpy.Environment()
    record = Recorder(0.0, 600.0).add_service("s", 8)
    draw = sampler(Deterministic(1.0), np.random.default_rng(0))
    from sim.model.policies import linear_slowdown

    service = Service(env, "s", 1, 8, 0, draw, record, slowdown=linear_slowdown(2, 0.5))
    done = []
    for _ in range(4):
        service.submit(100.0).callbacks.append(lambda e: done.append(env.now))
    env.run()
    # 1st and 2nd start at or below the knee: 1 s; 3rd: x1.5; 4th: x2
    assert done == [1.0, 1.0, 1.5, 2.0]


# ---------------------------------------------------------------- conservation


def test_requests_are_conserved_with_attacks_crashes_and_defences():
    # not an example of the guide: tests/scenarios/surge.toml (patience 10 s, a 60 min run)
    # crashes, scrubs and drops abandoned requests all in one run
    result = run(
        scenario(
            "surge",
            FLOOD,
            'services.login.crash={backlog_above=40, restart={kind="exponential", mean_s=60}}',
            "services.login.scrubbing={detection_s=120.0, attack_removed=0.8, legit_removed=0.05}",
            "services.login.drop_abandoned=true",
        ).flat
    )
    s = result.services["login"]
    legit_end, attack_end = s.in_system_at_end
    legit_out = (
        s.served + s.rejected + s.refused + s.blocked + s.lost + s.crash_lost + s.dropped
    ).sum()
    assert s.crashes.sum() > 0 and s.attack_blocked.sum() > 0 and s.dropped.sum() > 0
    assert s.arrivals.sum() == legit_out + legit_end
    attack_out = (s.attack_served + s.attack_rejected + s.attack_blocked + s.attack_lost).sum()
    assert s.attack_arrivals.sum() == attack_out + attack_end
