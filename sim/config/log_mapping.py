"""How an access log's requests map onto a scenario: which service a path is, which role
a person has, and what identifies one person.

A small TOML file, every table optional (docs/how-to/access-logs.md)::

    [services]            # service -> path patterns; default: every path is service "web"
    login = ["/cas/login*", "/login*"]
    portal = ["/portal/*"]
    [roles]               # default: everybody is a pupil
    by = "user_agent"     # "path" | "user_agent" | "column" (csv's role column) | "none"
    pupil = ["*role=pupil*"]
    teacher = ["*role=teacher*"]
    [people]
    by = "user"           # "user" (the authenticated user, else the client) | "client"
    [classes]
    starts = ["08:00", "09:00"]   # sim fit's class starts (--class-start overrides)
    [background]
    services = ["visio"]  # requests made without waiting (in a lesson): sim fit's retries

Patterns are shell-style (``fnmatch``, case-sensitive) and tried in the file's order: the
first service (or role) with a matching pattern wins; no match is ``None``, a request
the caller leaves out and counts.
"""

from __future__ import annotations

import re
import tomllib
from fnmatch import translate
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from sim.config.access_logs import AccessLogError, LogRecord
from sim.config.base import ClockTime, Strict

ROLE_NAMES = ("pupil", "teacher", "other")
"""The roles of a scenario's cohorts (sim.config.scenario.Cohort.role)."""
DEFAULT_SERVICE = "web"
DEFAULT_ROLE = "pupil"

Patterns = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class RoleRules(Strict):
    """How to tell roles apart; the roles' patterns sit beside ``by`` in the table."""

    by: Literal["path", "user_agent", "column", "none"] = Field(
        "none",
        description="what tells a person's role: the request's path or user agent "
        "(matched against the roles' patterns), csv's role column, or none (all pupils)",
    )
    patterns: dict[Literal["pupil", "teacher", "other"], Patterns] = Field(
        default_factory=dict, description="role -> fnmatch patterns on the path or user agent"
    )

    @model_validator(mode="before")
    @classmethod
    def _gather_patterns(cls, raw: Any) -> Any:
        """``pupil = [...]`` beside ``by`` become the patterns (a role name is a key)."""
        if not isinstance(raw, dict) or "patterns" in raw:
            return raw
        return {
            **({"by": raw["by"]} if "by" in raw else {}),
            "patterns": {k: v for k, v in raw.items() if k != "by"},
        }

    @model_validator(mode="after")
    def _patterns_only_when_matched(self) -> RoleRules:
        matched = self.by in ("path", "user_agent")
        if matched and not self.patterns:
            raise ValueError(f"by = {self.by!r} needs patterns for at least one role")
        if not matched and self.patterns:
            raise ValueError(
                f"role patterns are used only with by = 'path' or 'user_agent', not {self.by!r}"
            )
        return self


class PeopleRules(Strict):
    by: Literal["user", "client"] = Field(
        "user",
        description="what identifies a person: the authenticated user (the client address "
        "when there is none), or the client address",
    )


class ClassRules(Strict):
    starts: list[ClockTime] = Field(
        default_factory=list,
        description="class start times (HH:MM) the connect offsets are measured from; "
        "--class-start overrides; empty: 09:00",
    )


class BackgroundRules(Strict):
    services: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="services of [services] whose requests people make without waiting "
        "for the answer (in a lesson or a session: polling, keep-alive, chat): sim fit "
        "fits their service times, but leaves them out of the journeys, the first "
        "connections and the retries (a repeat after a failure is not a retry there)",
    )


class LogMapping(Strict):
    """Services, roles and people of an access log (all optional, see the module)."""

    services: dict[Annotated[str, Field(min_length=1)], Patterns] = Field(
        default_factory=dict,
        description="service -> fnmatch patterns on the request path; "
        f"empty: every request is service {DEFAULT_SERVICE!r}",
    )
    roles: RoleRules = Field(default_factory=RoleRules, description="how to tell roles apart")
    people: PeopleRules = Field(
        default_factory=PeopleRules, description="what identifies one person"
    )
    classes: ClassRules = Field(
        default_factory=ClassRules, description="the platform's class start times"
    )
    background: BackgroundRules = Field(
        default_factory=BackgroundRules,
        description="services whose requests nobody waits for (sim fit)",
    )

    @model_validator(mode="after")
    def _background_services_are_mapped(self) -> LogMapping:
        for name in self.background.services:
            if name not in self.services:
                known = ", ".join(repr(n) for n in self.services) or "none"
                raise ValueError(
                    f"background.services: {name!r} is not a service of [services] "
                    f"(they are: {known})"
                )
        return self

    @cached_property
    def _service_rules(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(name, _any_of(patterns)) for name, patterns in self.services.items()]

    @cached_property
    def _role_rules(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(name, _any_of(patterns)) for name, patterns in self.roles.patterns.items()]

    def service_of(self, path: str) -> str | None:
        """The service of a request `path`; None when no service's pattern matches."""
        if not self.services:
            return DEFAULT_SERVICE
        return _first_match(self._service_rules, path)

    def role_of(self, record: LogRecord) -> str | None:
        """The role the request tells, or None when it tells none (no pattern matches,
        no role column); with ``by = "none"``, always a pupil."""
        by = self.roles.by
        if by == "none":
            return DEFAULT_ROLE
        if by == "column":
            return record.role if record.role in ROLE_NAMES else None
        subject = record.path if by == "path" else record.user_agent
        return None if subject is None else _first_match(self._role_rules, subject)

    def person_of(self, record: LogRecord) -> str:
        """Who sent the request: the user if known (and wanted), else the client."""
        if self.people.by == "user" and record.user:
            return record.user
        return record.client


def _any_of(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns))


def _first_match(rules: list[tuple[str, re.Pattern[str]]], text: str) -> str | None:
    for name, pattern in rules:
        if pattern.match(text):
            return name
    return None


def load_mapping(path: str | Path | None) -> LogMapping:
    """The mapping of the TOML file `path` (the defaults when None); a bad file is one
    :class:`AccessLogError` line naming the field and what it allows."""
    if path is None:
        return LogMapping()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccessLogError(f"log mapping not found: {path}") from None
    except IsADirectoryError:
        raise AccessLogError(f"log mapping {path} is a folder, not a TOML file") from None
    except OSError as err:
        raise AccessLogError(f"cannot read log mapping {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise AccessLogError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as err:
        raise AccessLogError(f"{path}: malformed TOML: {err}") from None
    return mapping_from_dict(raw, source=str(path))


def mapping_from_dict(raw: dict[str, Any], source: str = "log mapping") -> LogMapping:
    try:
        return LogMapping.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part not in ("patterns", "[key]"))
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden" or "[key]" in first["loc"]:
            message = f"unknown key; allowed: {_allowed(first['loc'])}"
        elif first["type"] == "literal_error":
            message = f"must be one of {first['ctx']['expected']}"
        where = f"{where}: " if where else ""  # (a whole-mapping check names its field)
        raise AccessLogError(f"{source}: {where}{message}") from None


def _allowed(location: tuple[Any, ...]) -> str:
    if len(location) == 1:
        return "services, roles, people, classes, background"
    if location[0] == "roles":
        return "by, " + ", ".join(ROLE_NAMES)
    return "by"
