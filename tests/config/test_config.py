"""Scenario loading: ``--set`` overrides, error messages, TOML round trip, reference coverage."""

from __future__ import annotations

import copy
import re
import tomllib
from typing import Literal, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import sim.config as config
from sim.config import (
    ScenarioError,
    apply_override,
    describe_error,
    load_scenario,
    parse_value,
    scenario_from_dict,
    to_dict,
    to_toml,
)
from sim.config.scenario import Scenario, UniformOffset
from tests.conftest import DEFAULT, ROOT, SCENARIOS


@pytest.fixture(scope="module")
def resolved() -> dict:
    return to_dict(load_scenario(DEFAULT))


@pytest.fixture
def data(resolved) -> dict:
    return copy.deepcopy(resolved)


# ---------------------------------------------------------------- parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        (" 4 ", 4),
        ("0.5", 0.5),
        ("-20", -20),
        ("true", True),
        ('"08:00"', "08:00"),
        ("08:00", "08:00"),  # not TOML: a bare string
        ("08:00:30", "08:00:30"),  # TOML's local time, read back as the clock string
        ('["08:00", 09:00:00]', ["08:00", "09:00:00"]),
        ("hello world", "hello world"),
        ("", ""),
        ('{kind="exponential", mean_s=0.2}', {"kind": "exponential", "mean_s": 0.2}),
        ("[1, 2]", [1, 2]),
        ("3\nservers = 5", "3\nservers = 5"),  # one value only, not a TOML document
        ("[" * 5000, "[" * 5000),
    ],
)
def test_parse_value(text, value):
    assert parse_value(text) == value


# ---------------------------------------------------------------- apply_override


def test_override_sets_an_existing_field(data):
    apply_override(data, "services.login.servers=6")
    apply_override(data, "behaviour.retry_probability=0.5")
    apply_override(data, "start=08:00")
    assert data["services"]["login"]["servers"] == 6
    assert data["behaviour"]["retry_probability"] == 0.5
    assert data["start"] == "08:00"


def test_override_with_an_inline_table(data):
    apply_override(data, 'services.login.service_time={kind="exponential", mean_s=0.2}')
    assert data["services"]["login"]["service_time"] == {"kind": "exponential", "mean_s": 0.2}


def test_override_addresses_list_elements_by_index_or_name(data):
    apply_override(data, "cohorts.teachers.count=10")
    apply_override(data, "cohorts.0.count=20")
    apply_override(data, "cohorts.parents.connect.high_min=30")
    apply_override(data, "journeys.pupil.2.lesson_min=40")
    assert [c["count"] for c in data["cohorts"]] == [20, 35000, 10, 10000]
    assert data["cohorts"][3]["connect"]["high_min"] == 30
    assert data["journeys"]["pupil"][2]["lesson_min"] == 40


def test_override_may_set_an_optional_field_that_is_unset(data):
    assert "class_group" not in data["cohorts"][3]
    apply_override(data, "cohorts.parents.class_group=families")
    apply_override(data, "cohorts.parents.behaviour={max_attempts=2}")
    assert data["cohorts"][3]["class_group"] == "families"
    scenario = Scenario.model_validate(data)
    assert scenario.cohorts[3].behaviour.max_attempts == 2


def test_overrides_are_validated():
    scenario = load_scenario(
        DEFAULT, ['cohorts.teachers.connect={kind="uniform", low_min=-10, high_min=0}']
    )
    assert scenario.cohorts[2].connect == UniformOffset(kind="uniform", low_min=-10, high_min=0)
    with pytest.raises(ScenarioError, match=r"field 'cohorts.teachers.count'"):
        load_scenario(DEFAULT, ["cohorts.teachers.count=-1"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "services.login.srevers=3",
            "--set services.login.srevers: unknown key 'services.login.srevers'; allowed keys: "
            "servers, workers_per_server, backlog_per_server, service_time, drop_abandoned, "
            "dispatch",
        ),
        (
            "services.logn.servers=3",
            "--set services.logn.servers: unknown key 'services.logn'; "
            "allowed keys: login, portal, visio, visio_join",
        ),
        (
            "services.login.service_time.mean=3",
            "unknown key 'services.login.service_time.mean'; allowed keys: kind, mean_s, cv",
        ),
        (
            "measure.warmup=3",
            "unknown key 'measure.warmup'; allowed keys: warmup_min",
        ),
        (
            "cohorts.4.count=1",
            "no element 'cohorts.4'; use an index 0..3 or a name: "
            "college_pupils, lycee_pupils, teachers, parents",
        ),
        ("seed.x=1", "--set seed.x: 'seed' has no sub-fields"),
        (
            "cohorts.teachers.behaviour.max_attempts=2",
            "'cohorts.teachers.behaviour' is not set; "
            "set the whole table with --set cohorts.teachers.behaviour={...}",
        ),
        ("services.login.servers", "--set expects dotted.path=value"),
        ("=3", "--set expects dotted.path=value"),
    ],
)
def test_override_errors_name_the_path_and_what_is_allowed(data, override, message):
    before = copy.deepcopy(data)
    with pytest.raises(ScenarioError) as info:
        apply_override(data, override)
    assert message in str(info.value)
    assert data == before


# ---------------------------------------------------------------- describe_error


def _error(data: dict) -> str:
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(data)
    return describe_error(info.value, data)


def test_unknown_key_wins_over_the_missing_field_it_causes(data):
    data["services"]["login"]["srevers"] = data["services"]["login"].pop("servers")
    assert _error(data) == (
        "unknown key 'services.login.srevers'; allowed keys: servers, workers_per_server, "
        "backlog_per_server, service_time, drop_abandoned, dispatch, slowdown, crash, link, "
        "rate_limit, scrubbing, priority, autoscale, error_probability, network_delay, "
        "max_sessions, session_timeout_s, cost_per_server_hour, cost_per_instance_hour"
    )


def test_union_members_are_told_apart_by_where_they_are(data):
    data["cohorts"][3]["connect"]["low"] = 1
    assert _error(data).endswith("allowed keys: kind, low_min, high_min")
    data = to_dict(load_scenario(DEFAULT))
    data["services"]["login"]["service_time"] = {"kind": "uniform", "low_s": 0, "hi": 1}
    assert _error(data).endswith("allowed keys: kind, low_s, high_s")


def test_names_that_look_like_union_tags_stay_in_the_path(data):
    data["services"]["exponential"] = {**data["services"]["login"], "servers": 0}
    data["journeys"]["class"] = ["login"]
    data["cohorts"][3]["journey"] = "class"
    assert _error(data).startswith("field 'services.exponential.servers': ")
    data["services"]["exponential"]["servers"] = 1
    data["journeys"]["class"] = [{"service": "login", "x": 1}]
    assert _error(data) == "unknown key 'journeys.class.0.x'; allowed keys: kind, service"


def test_aliased_keys_are_listed_as_written(data):
    data["sources"] = [{"name": "s", "journey": "parent", "rates": [{"from": "08:00", "rate": 1}]}]
    assert _error(data) == "unknown key 'sources.s.rates.0.rate'; allowed keys: from, rate_per_s"


def test_wrong_kind_lists_the_kinds(data):
    data["behaviour"]["patience"] = {"kind": "forever"}
    assert _error(data) == (
        "field 'behaviour.patience.kind': Input should be 'exponential', 'deterministic', "
        "'lognormal', 'gamma', 'uniform', 'sequence' or 'never' (got 'forever')"
    )
    data["behaviour"]["backoff"] = {"base_s": 1}
    data["behaviour"]["patience"] = {"kind": "never"}
    assert _error(data) == (
        "missing required field 'behaviour.backoff.kind': "
        "one of 'constant', 'exponential' or 'exponential_jitter'"
    )
    data["behaviour"]["backoff"] = 3
    assert _error(data) == (
        "field 'behaviour.backoff': Input should be a table with kind = "
        "'constant', 'exponential' or 'exponential_jitter' (got 3)"
    )


def test_value_errors_are_not_repeated_and_long_inputs_are_cut(data):
    data["cohorts"][0]["class_starts"] = ["8:00", "09:00"]
    assert _error(data) == (
        "field 'cohorts.college_pupils.class_starts.0': "
        "clock time must look like '08:00' or '08:00:30', got '8:00'"
    )
    data = to_dict(load_scenario(DEFAULT))
    data["description"] = 10**100
    message = _error(data)
    assert message.startswith("field 'description': Input should be a valid string (got 1000")
    assert message.endswith(" ...)") and len(message) < 120


def test_load_errors(tmp_path):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="is a folder, not a TOML file"):
        load_scenario(tmp_path)
    (tmp_path / "bad.toml").write_bytes(b'name = "\xff"\n')
    with pytest.raises(ScenarioError, match="not a UTF-8 text file"):
        load_scenario(tmp_path / "bad.toml")


# ---------------------------------------------------------------- TOML round trip


SCENARIO_FILES = [
    p for p in sorted(SCENARIOS.glob("*.toml")) if not p.name.endswith("-options.toml")
]


@pytest.mark.parametrize("path", [DEFAULT, *SCENARIO_FILES], ids=lambda p: p.stem)
def test_to_toml_round_trip(path):
    scenario = load_scenario(path)
    assert Scenario.model_validate(tomllib.loads(to_toml(scenario))) == scenario


# ---------------------------------------------------------------- the scenario reference


def _models() -> list[type[BaseModel]]:
    return [
        cls
        for cls in vars(config).values()
        if isinstance(cls, type)
        and issubclass(cls, BaseModel)
        and cls.__module__.startswith(config.__name__)
        and cls.model_fields
    ]


def _reference_words() -> set[str]:
    """Every identifier inside a code span of the scenario reference (docs/reference/
    scenario.md, generated by docs/gen_reference.py: this checks the generator)."""
    text = (ROOT / "docs" / "reference" / "scenario.md").read_text(encoding="utf-8")
    spans = " ".join(re.findall(r"`([^`]+)`", text))
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", spans))


def test_the_scenario_reference_lists_every_field_and_choice():
    words = _reference_words()
    missing = []
    for model in _models():
        for name, field in model.model_fields.items():
            key = field.alias or name
            if key not in words:
                missing.append(f"{model.__name__}.{key}")
            choices = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
            missing += [f"{model.__name__}.{key}={c}" for c in choices if c not in words]
    assert len(_models()) >= 20
    assert not missing, f"not in docs/reference/scenario.md: {missing}"


# ---------------------------------------------------------------- junk --set values

NUMERIC_FIELDS = [
    "seed",
    "services.login.servers",
    "services.login.workers_per_server",
    "services.login.backlog_per_server",
    "services.login.service_time.mean_s",
    "behaviour.retry_probability",
    "behaviour.max_attempts",
    "behaviour.backoff.base_s",
    "cohorts.teachers.count",
    "cohorts.parents.connect.low_min",
    "classrooms.visio.seats_per_server",
    "journeys.pupil.2.lesson_min",
    "measure.warmup_min",
]
JUNK_SAMPLES = [
    *("inf", "-inf", "nan", "1e400", "-0", "0x10", "1_000", "1979-05-27", "08:00:00"),
    *("[]", "{}", "{a=1}", '"3"', "true", "3 # note", "3\n[x]", "'", '"', "[1,", "1" * 400),
]
JUNK = st.one_of(
    st.sampled_from(JUNK_SAMPLES),
    st.integers().map(str),
    st.floats().map(repr),
    st.text(max_size=30),
    st.text(alphabet="0123456789.-+eExob_[]{}=\"', :#\n\\", max_size=20),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(NUMERIC_FIELDS), value=JUNK)
def test_junk_set_values_validate_or_give_a_one_line_error(resolved, path, value):
    try:
        scenario = scenario_from_dict(resolved, [f"{path}={value}"], source="junk")
    except ScenarioError as err:
        message = str(err)
        assert message.startswith("junk with --set: ")
        assert "\n" not in message
    else:
        assert isinstance(scenario, Scenario)


# ---------------------------------------------------------------- scale


def test_a_scaled_scenario_says_its_scale_and_reruns_without_scaling_again():
    """--scale records the factor in the scenario (twice: the product), written to its
    TOML only when scaled, so that a results folder's scenario.toml reruns the same
    small morning and still says it is one."""
    from sim.config.scale import scale

    full = load_scenario(SCENARIOS / "surge.toml")
    assert full.scale == 1.0 and "scale" not in to_toml(full)  # unscaled: the same text
    small = scale(full, 0.1)
    smaller = scale(small, 0.1)
    assert (small.scale, smaller.scale) == (0.1, 0.01)  # not 0.010000000000000002
    assert "\nscale = 0.01\n" in to_toml(smaller)
    again = scenario_from_dict(tomllib.loads(to_toml(smaller)))
    assert again == smaller  # read back: not scaled a second time
    assert again.cohorts[0].count == smaller.cohorts[0].count == 60


def test_scale_words_and_warning():
    from sim.config.scale import scale_warning, scale_words

    assert scale_words(1.0) == scale_words(None) == ""
    assert scale_words(0.01) == "at --scale 0.01 (1 % of the people)"
    assert scale_warning(0.1) is None
    assert "how far --scale can be trusted" in scale_warning(0.05)
