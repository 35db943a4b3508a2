"""Access logs read and written (sim.config.access_logs) and their mapping onto a
scenario (sim.config.log_mapping): hand-written lines of each format with the records
they hold, gzip, malformed lines, format detection and the writer's round trip."""

from __future__ import annotations

import datetime as dt
import gzip
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from sim.config.access_logs import (
    LOG_HEADER,
    AccessLogError,
    LogRecord,
    ReadStats,
    format_record,
    read_records,
)
from sim.config.log_mapping import LogMapping, load_mapping, mapping_from_dict

DAY = dt.date(2021, 4, 6)

NGINX = """\
10.0.0.1 - alice [06/Apr/2021:08:00:01 +0200] "GET /cas/login?service=x HTTP/1.1" 200 512 "-" "Mozilla/5.0 (role=pupil)" 0.250
10.0.0.2 - - [06/Apr/2021:08:00:03 +0200] "POST /portal/home HTTP/1.1" 499 0 "https://a/b" "curl/7 \\x22q\\x22" 2.000
10.0.0.3 - bob [06/Apr/2021:00:00:00 +0200] "GET / HTTP/1.1" 503 0 1.500
"""  # noqa: E501
NGINX_RECORDS = [
    LogRecord(DAY, 28800.75, "10.0.0.1", "alice", "GET", "/cas/login", 200, 0.25,
              "Mozilla/5.0 (role=pupil)"),
    LogRecord(DAY, 28801.0, "10.0.0.2", None, "POST", "/portal/home", 499, 2.0, 'curl/7 "q"'),
    LogRecord(DAY - dt.timedelta(days=1), 86398.5, "10.0.0.3", "bob", "GET", "/", 503, 1.5),
]  # fmt: skip

APACHE = """\
10.0.0.1 - alice [06/Apr/2021:08:00:01 +0200] "GET /cas/login HTTP/1.1" 200 512 "-" "Mozilla/5.0 \\"x\\"" 250000
10.0.0.2 - - [06/Apr/2021:08:00:03 -0500] "GET /portal/?a=b HTTP/1.0" 502 - 1234567
"""  # noqa: E501
APACHE_RECORDS = [
    LogRecord(DAY, 28801.0, "10.0.0.1", "alice", "GET", "/cas/login", 200, 0.25, 'Mozilla/5.0 "x"'),
    LogRecord(DAY, 28803.0, "10.0.0.2", None, "GET", "/portal/", 502, 1.234567),
]

CSV = """\
path,timestamp,role,client,status,duration_s,user
/cas/login,2021-04-06T08:00:01.5+02:00,teacher,10.0.0.1,200,0.25,alice
/portal/x?y=1,2021-04-06T08:00:02,,10.0.0.2,429,0.001,
"""
CSV_RECORDS = [
    LogRecord(DAY, 28801.5, "10.0.0.1", "alice", "GET", "/cas/login", 200, 0.25, role="teacher"),
    LogRecord(DAY, 28802.0, "10.0.0.2", None, "GET", "/portal/x", 429, 0.001),
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    data = text.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize(
    ("text", "format", "records"),
    [
        (NGINX, "nginx", NGINX_RECORDS),
        (APACHE, "apache", APACHE_RECORDS),
        (CSV, "csv", CSV_RECORDS),
    ],
)
def test_each_format_gives_its_records_given_or_detected(tmp_path, text, format, records):
    path = write(tmp_path, "access.log", text)
    assert list(read_records(path, format)) == records
    assert list(read_records(path)) == records  # auto


def test_gzip_is_told_by_its_bytes_and_files_are_read_in_order(tmp_path):
    zipped = write(tmp_path, "a.log.gz", NGINX)
    renamed = tmp_path / "b.log"
    renamed.write_bytes(gzip.compress(APACHE.encode()))  # no .gz: the magic bytes tell
    seen: list[int] = []
    records = list(read_records([zipped, renamed], on_progress=seen.append))
    assert records == NGINX_RECORDS + APACHE_RECORDS
    assert sum(seen) == zipped.stat().st_size + renamed.stat().st_size


def test_malformed_lines_are_skipped_and_counted(tmp_path):
    good = NGINX.splitlines()[0]
    text = "\n".join([good] * 150 + ["garbage here"] + [good] * 49) + "\n\n"
    stats = ReadStats()
    records = list(read_records(write(tmp_path, "x.log", text), stats=stats))
    assert len(records) == 199
    assert (stats.lines, stats.records, stats.malformed) == (200, 199, 1)
    assert stats.first_malformed[1:] == (151, "garbage here")


def test_too_many_malformed_lines_is_one_line_naming_file_line_and_format(tmp_path):
    good = APACHE.splitlines()[0]
    path = write(tmp_path, "x.log", "\n".join([good] * 97 + ["bad line"] * 3))
    with pytest.raises(AccessLogError) as caught:
        list(read_records(path))
    message = str(caught.value)
    assert "\n" not in message
    assert f"{path}: line 98" in message and "3 of 100 lines" in message and "%D" in message


@pytest.mark.parametrize(
    ("text", "format", "expected"),
    [
        ("", "auto", "empty"),
        ("hello world\n", "auto", "cannot tell the log format"),
        (NGINX, "apache", "not a apache access log line"),
        (APACHE, "csv", "starts with a header"),
    ],
)
def test_unreadable_logs_are_one_line(tmp_path, text, format, expected):
    with pytest.raises(AccessLogError, match=expected) as caught:
        list(read_records(write(tmp_path, "x.log", text), format))
    assert "\n" not in str(caught.value)


def test_a_missing_file_or_an_unknown_format_is_one_line(tmp_path):
    with pytest.raises(AccessLogError, match="access log not found"):
        list(read_records(tmp_path / "nope.log"))
    with pytest.raises(AccessLogError, match="auto, nginx, apache, csv"):
        list(read_records(tmp_path / "nope.log", "json"))


def test_a_wrong_format_is_refused_early_without_reading_everything(tmp_path):
    lines = iter(read_records(write(tmp_path, "x.log", "junk\n" * 10_000), "nginx"))
    with pytest.raises(AccessLogError, match="no line could be read"):
        next(lines)


ROUND_TRIP = [
    # nginx writes the end time in whole seconds: received + duration is whole here
    LogRecord(DAY, 28800.877, "10.1.2.3", "p17", "GET", "/login", 200, 0.123,
              "sim/1.0 (role=teacher)"),
    LogRecord(DAY, 30000.0, "10.1.2.4", None, "GET", '/a "b" \\c', 499, 30.0),
]  # fmt: skip


@pytest.mark.parametrize("format", ["nginx", "apache", "csv"])
def test_format_record_is_the_readers_inverse(tmp_path, format):
    lines = [format_record(r, format) for r in ROUND_TRIP]
    header = [LOG_HEADER] if format == "csv" else []
    path = write(tmp_path, "out.log", "\n".join(header + lines) + "\n")
    read = list(read_records(path))  # auto detection of what was written
    if format == "apache":  # received time written in whole seconds
        expected = [_with(r, time_s=float(int(r.time_s))) for r in ROUND_TRIP]
    elif format == "csv":  # no user agent column
        expected = [_with(r, user_agent=None) for r in ROUND_TRIP]
    else:
        expected = ROUND_TRIP
    assert read == expected


def _with(record: LogRecord, **changes) -> LogRecord:
    return replace(record, **changes)


def test_the_mapping_names_services_roles_and_people(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(
        '[services]\nlogin = ["/cas/login*", "/login*"]\nportal = ["/portal/*"]\n'
        '[roles]\nby = "user_agent"\nteacher = ["*role=teacher*"]\npupil = ["*"]\n'
        '[people]\nby = "client"\n'
    )
    mapping = load_mapping(path)
    first = NGINX_RECORDS[0]
    assert [mapping.service_of(p) for p in ("/cas/login", "/portal/x", "/x")] == [
        "login",
        "portal",
        None,
    ]
    assert mapping.role_of(_with(first, user_agent="sim (role=teacher)")) == "teacher"
    assert mapping.role_of(first) == "pupil"
    assert mapping.person_of(first) == "10.0.0.1"


def test_the_default_mapping_is_one_service_of_pupils_by_user():
    mapping = LogMapping()
    first, second, _ = NGINX_RECORDS
    assert mapping.service_of("/anything") == "web"
    assert mapping.role_of(first) == "pupil"
    assert (mapping.person_of(first), mapping.person_of(second)) == ("alice", "10.0.0.2")
    by_column = load_mapping_text('[roles]\nby = "column"')
    assert [by_column.role_of(r) for r in CSV_RECORDS] == ["teacher", None]


def load_mapping_text(text: str) -> LogMapping:
    return mapping_from_dict(tomllib.loads(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[roles]\nby = "agent"', "roles.by: must be one of 'path', 'user_agent'"),
        ('[roles]\nstudent = ["*"]\nby = "path"', "roles.student: unknown key; allowed: by, pupil"),
        ('[roles]\nby = "path"', "needs patterns"),
        ("[services]\nlogin = []", "services.login"),
        ('[people]\nby = "ip"', "people.by: must be one of 'user' or 'client'"),
        ("[servces]", "servces: unknown key; allowed: services, roles, people"),
        (
            '[services]\nlogin = ["/login"]\n[background]\nservices = ["visio"]',
            "map.toml: background.services: 'visio' is not a service of [services] "
            "(they are: 'login')",
        ),
        ("[services", "malformed TOML"),
    ],
)
def test_a_bad_mapping_is_one_line_naming_the_field(tmp_path, text, expected):
    path = tmp_path / "map.toml"
    path.write_text(text)
    with pytest.raises(AccessLogError) as caught:
        load_mapping(path)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(path))
