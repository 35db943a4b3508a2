"""Every way a request can end has its own line in the trace and status in the access log:
the admission gates' answers (admitted, quota full, barred, gave up in the waiting room),
a service's session-cap refusals and error answers, each on a tiny morning computed by
hand (tests/scenarios/trace.toml: three pupils at 08:00, one worker, a 1 s service, a
1.5 s patience, one retry 5 s after a failure). Tracing changes no result."""

from __future__ import annotations

from sim.config.access_logs import read_records
from sim.engine.trace import OUTCOMES
from sim.outputs.access_log import STATUS, write_access_log
from sim.simulation.runner import run
from tests.conftest import scenario

T0 = 8 * 3600.0
GATED = 'journeys.login_only=[{kind="gate", gate="door"}, "login"]'
SESSION = (
    'journeys.login_only=[{kind="session", service="login", '
    'duration={kind="deterministic", value_s=60}, think_time={kind="deterministic", value_s=30}}]'
)


def _lines(overrides: list[str], tmp_path) -> list[tuple[str, int, float, float, str]]:
    """(path, status, received s after 08:00, duration, user) of each line of the access
    log of the trace scenario with `overrides`, in the order received; checks on the way
    that tracing changed nothing."""
    flat = scenario("trace", *overrides).flat
    traced = run(flat, trace=True)
    plain = run(flat)
    assert (plain.kpi, plain.events) == (traced.kpi, traced.events)
    path = write_access_log(traced, tmp_path / "access.csv")
    return [
        (r.path, r.status, round(r.time_s - T0, 3), round(r.duration_s, 3), r.user)
        for r in read_records(path)
    ]


def test_every_outcome_has_its_own_status():
    assert set(STATUS) == set(OUTCOMES)
    assert len(set(STATUS.values())) == len(STATUS) - 1  # a full quota or backlog: 503
    assert (STATUS["quota"], STATUS["barred"], STATUS["fault"], STATUS["error"]) == (
        503,
        403,
        500,
        502,
    )


def test_a_full_quota_is_503_on_the_gate(tmp_path):
    """p0 is admitted and logs in at once; p1 and p2 find the quota full (503), retry
    at 5 s when p0 has left: p1 gets in, p2 finds it full again."""
    lines = _lines([GATED, 'gates.door={max_sessions=1, when_full="reject"}'], tmp_path)
    door = [line for line in lines if line[0] == "/door"]
    assert door == [
        ("/door", 200, 0.0, 0.0, "p0"),
        ("/door", 503, 0.0, 0.0, "p1"),
        ("/door", 503, 0.0, 0.0, "p2"),
        ("/door", 200, 5.0, 0.0, "p1"),
        ("/door", 503, 5.0, 0.0, "p2"),
    ]
    assert [line for line in lines if line[0] == "/login"] == [
        ("/login", 200, 0.0, 1.0, "p0"),
        ("/login", 200, 5.0, 1.0, "p1"),
    ]


def test_the_waiting_room_logs_the_wait(tmp_path):
    """One session at a time, 1.5 s of patience in the room: p0 is admitted at once and
    done at 1 s, p1 admitted then (after 1 s in the room), p2 gives up at 1.5 s (499)
    and is admitted at once on its retry at 6.5 s (p1 was done at 2 s)."""
    room = "gates.door={max_sessions=1, patience_factor=1.0}"
    lines = _lines([GATED, room], tmp_path)
    assert [line for line in lines if line[0] == "/door"] == [
        ("/door", 200, 0.0, 0.0, "p0"),
        ("/door", 200, 0.0, 1.0, "p1"),
        ("/door", 499, 0.0, 1.5, "p2"),
        ("/door", 200, 6.5, 0.0, "p2"),
    ]


def test_barred_people_are_403_and_go_no_further(tmp_path):
    lines = _lines([GATED, 'gates.door={blocked_roles=["pupil"]}'], tmp_path)
    assert lines == [("/door", 403, 0.0, 0.0, f"p{i}") for i in range(3)]


def test_a_session_cap_refusal_is_503_on_the_service(tmp_path):
    """p0 holds the only session for 60 s: p1 and p2 are refused, and again at 5 s; the
    requests of p0's session (nobody waits for them) are not logged."""
    lines = _lines([SESSION, "services.login.max_sessions=1"], tmp_path)
    assert sorted(lines) == sorted(
        [("/login", 503, t, 0.0, f"p{i}") for t in (0.0, 5.0) for i in (1, 2)]
    )


def test_an_error_answer_is_500_not_a_crash(tmp_path):
    """Every answer an error: p2 finds the backlog full (503), p0's answer comes after
    its 1 s of service (500), p1 queued gives up at 1.5 s (499). Retries 5 s later: p2's
    and p0's are answered errors; p1's waits behind p0's and gives up as its service
    would end (lines by time received, then in the order they ended)."""
    lines = _lines(["services.login.error_probability=1.0"], tmp_path)
    assert lines == [
        ("/login", 503, 0.0, 0.0, "p2"),
        ("/login", 500, 0.0, 1.0, "p0"),
        ("/login", 499, 0.0, 1.5, "p1"),
        ("/login", 500, 5.0, 1.0, "p2"),
        ("/login", 500, 6.0, 1.0, "p0"),
        ("/login", 499, 6.5, 1.5, "p1"),
    ]
