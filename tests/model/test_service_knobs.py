"""The service knobs of issue 19: a flaky back end (`error_probability`), a network
round trip (`network_delay`) and a platform-side session cap (`max_sessions`,
`session_timeout_s`). Each does what its description says, is refused where it would do
nothing, and at its default leaves every result as it was, bit for bit."""

from __future__ import annotations

import math
import re
import tomllib

import numpy as np
import pytest
from pydantic import ValidationError

from sim.config import load_scenario, scenario_from_dict
from sim.config.catalog import find
from sim.config.scale import scale
from sim.simulation.runner import digest, run
from tests.conftest import ROOT

SINGLE_QUEUE = "teaching/single_queue"  # M/M/4, 6 logins/s, nobody gives up or retries


def single_queue(*overrides: str):
    return load_scenario(find(SINGLE_QUEUE), list(overrides)).flat


def failed(result, cause: str) -> int:
    return int(result.counters[f"fail_{cause}"].sum())


# ---------------------------------------------------------------- error_probability


def test_error_probability_fails_that_share_of_attempts():
    """p = 0.3, no retries: the share of attempts that fail is 0.3 within 4 binomial
    standard errors, every failure an error, counted by the service too."""
    p = 0.3
    result = run(single_queue(f"services.login.error_probability={p}"))
    errors = failed(result, "error")
    assert result.kpi["failed_attempts"] == errors  # no other cause of failure
    answered = int(result.counters["successes"].sum()) + errors  # a few in progress at the end
    standard_error = math.sqrt(p * (1 - p) / answered)
    assert abs(errors / answered - p) < 4 * standard_error, (errors, answered)
    login = result.service_summary["login"]
    assert login["errors"] == errors
    assert login["served"] == answered  # the work is done before the error answer


def test_the_knobs_at_their_defaults_change_nothing():
    """Written out at their defaults, the knobs give the digest of a file without them:
    nothing drawn, nothing measured differently."""
    plain = digest(run(single_queue()))
    explicit = single_queue("services.login.error_probability=0.0")
    assert digest(run(explicit)) == plain


# ---------------------------------------------------------------- network_delay

DELAY_S = 0.5


def test_a_network_delay_adds_to_every_response():
    """Unloaded (many workers), constant delay d: the mean response the client sees is
    the mean service time + d, within 4 standard errors; the server's wait is not."""
    result = run(
        single_queue(
            "services.login.workers_per_server=100",
            f'services.login.network_delay={{kind="deterministic", value_s={DELAY_S}}}',
        ),
        trace=True,
    )
    trace = result.trace
    response = trace["ended"] - trace["submitted"]
    service = trace["ended"] - DELAY_S - trace["started"]
    assert np.all(trace["started"] == trace["submitted"])  # no wait: unloaded
    mean_service = 0.5
    standard_error = mean_service / math.sqrt(len(response))  # exponential: sd = mean
    assert abs(response.mean() - (mean_service + DELAY_S)) < 4 * standard_error
    assert np.allclose(response - service, DELAY_S)
    assert failed(result, "timeout") == 0


def test_a_patience_shorter_than_the_delay_times_out_every_attempt():
    """Even an answer at once (a service time of 0) comes too late."""
    patience = 0.2
    result = run(
        single_queue(
            "services.login.workers_per_server=100",
            'services.login.service_time={kind="deterministic", value_s=0.0}',
            f'services.login.network_delay={{kind="deterministic", value_s={DELAY_S}}}',
            f'behaviour.patience={{kind="deterministic", value_s={patience}}}',
        ),
        trace=True,
    )
    timeouts = failed(result, "timeout")
    assert timeouts > 10_000
    assert result.kpi["failed_attempts"] == timeouts  # every answered attempt
    assert int(result.counters["successes"].sum()) == 0
    waited = result.trace["ended"] - result.trace["submitted"]
    assert np.allclose(waited, patience)  # the client times out at its patience


# ---------------------------------------------------------------- max_sessions


def sessions(services: dict, journey: list, **cohort) -> dict:
    """A one-cohort scenario of people who each go through `journey`."""
    return {
        "name": "sessions",
        "start": "07:59",
        "end": "08:30",
        "behaviour": {
            "patience": {"kind": "never"},
            "retry_probability": 1.0,
            "max_attempts": 5,
            "backoff": {"kind": "constant", "delay_s": 45.0},
        },
        "services": services,
        "journeys": {"browse": journey},
        "cohorts": [
            {
                "name": "people",
                "role": "other",
                "journey": "browse",
                "class_starts": ["08:00"],
                "connect": {"kind": "uniform", "low_min": 0.0, "high_min": cohort.pop("spread")},
                **cohort,
            }
        ],
    }


PORTAL = {"servers": 1, "service_time": {"kind": "exponential", "mean_s": 0.1}}


def session_step(seconds: float) -> dict:
    return {
        "kind": "session",
        "service": "portal",
        "duration": {"kind": "deterministic", "value_s": seconds},
        "think_time": {"kind": "exponential", "mean_s": 60.0},
    }


def test_max_sessions_caps_the_sessions_open_at_once():
    """K slots, sessions longer than the run, people arriving all along: exactly K get
    in, never more than K sessions are open, every other attempt is refused (quota)."""
    cap = 7
    portal = {**PORTAL, "max_sessions": cap}
    data = sessions({"portal": portal}, [session_step(3600.0)], count=60, spread=10.0)
    result = run(scenario_from_dict(data).flat)
    summary = result.service_summary["portal"]
    assert summary["peak_sessions"] == cap
    assert result.kpi["in_class"] == cap
    refused = summary["sessions_refused"]
    assert refused == failed(result, "quota") > 0
    assert int(result.counters["attempts"].sum()) == cap + refused
    assert result.kpi["gave_up"] == 60 - cap


def test_a_session_timeout_holds_the_slot_after_the_person_leaves():
    """One person, two sessions of 60 s in a row on a service with one slot, and a
    timeout of 100 s: the first slot stays held until 160 s, so the second session is
    refused at 60, 105 and 150 s and opens at 195 s, on the fourth attempt (retries
    every 45 s); without the timeout it opens at once, at 60 s."""
    journey = [session_step(60.0), session_step(60.0)]

    def person(**knobs):
        portal = {**PORTAL, "max_sessions": 1, **knobs}
        data = sessions({"portal": portal}, journey, count=1, spread=0.0)
        result = run(scenario_from_dict(data).flat)
        people = result.people
        return people["ended"][0] - 8 * 3600, people["attempts"][0], people["failures"][0]

    assert person() == (120.0, 2, 0)
    assert person(session_timeout_s=100.0) == (195.0 + 60.0, 5, 3)


# ---------------------------------------------------------------- refused where idle


def refusal(data: dict) -> str:
    with pytest.raises((ValueError, ValidationError)) as caught:
        scenario_from_dict(data)
    return str(caught.value)


def test_knobs_that_would_do_nothing_are_refused():
    no_session = sessions({"portal": {**PORTAL, "max_sessions": 3}}, ["portal"], count=1, spread=0)
    assert "services.portal.max_sessions: no session step uses 'portal'" in refusal(no_session)
    timeout_alone = sessions(
        {"portal": {**PORTAL, "session_timeout_s": 30.0}}, [session_step(60.0)], count=1, spread=0
    )
    assert "session_timeout_s needs max_sessions" in refusal(timeout_alone)
    too_flaky = sessions(
        {"portal": {**PORTAL, "error_probability": 1.5}}, ["portal"], count=1, spread=0
    )
    assert "error_probability" in refusal(too_flaky)


def test_scaling_scales_the_session_cap():
    portal = {**PORTAL, "max_sessions": 40}
    data = sessions({"portal": portal}, [session_step(60.0)], count=100, spread=1.0)
    assert scale(scenario_from_dict(data), 0.25).services["portal"].max_sessions == 10


# ---------------------------------------------------------------- the guide's example

GUIDE = ROOT / "docs" / "how-to" / "service-knobs.md"


def guide_example() -> dict:
    """The scenario of the guide's one TOML block, as data."""
    blocks = re.findall(r"```toml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, blocks
    return tomllib.loads(blocks[0])


def test_the_guides_example_does_what_the_guide_says():
    """About 5 % errors on the API; the portal full at 300 slots, refusing over a
    thousand sessions and losing a few hundred visitors; without the timeout, a peak
    below 200 and no refusal."""
    data = guide_example()
    held = run(scenario_from_dict(data).flat)
    api, portal = held.service_summary["api"], held.service_summary["portal"]
    assert 0.03 < api["errors"] / api["served"] < 0.07
    assert portal["peak_sessions"] == 300
    assert portal["sessions_refused"] > 1000
    assert 100 < held.kpi["gave_up"] < 1000
    del data["services"]["portal"]["session_timeout_s"]
    freed = run(scenario_from_dict(data).flat).service_summary["portal"]
    assert freed["peak_sessions"] < 200
    assert freed["sessions_refused"] == 0
