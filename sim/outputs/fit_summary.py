"""What ``sim fit`` prints: the estimates a planner reads first, as the terminal tables
of :mod:`sim.outputs.tables` (80 columns keep their meaning: a table too wide is
stacked), then what stayed an assumption. The scenario file and the report say the rest.

Light at import (no numpy): the fit's result is only read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sim.outputs.tables import MINUS, Column, Prose, number

Table = tuple[str, list[Column], list[list[str]]]


def signed(x: float) -> str:
    return number(x).replace("-", MINUS)


def spread(low: float, high: float) -> str:
    """A 95 % interval: ``0.195–0.226`` (the report's way), ``−5.14 to −4.84``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "-"
    return f"{signed(low)}{' to ' if low < 0 else '–'}{signed(high)}"


def with_interval(e: Any, unit: str = "") -> str:
    """``0.209 s (0.195–0.226)``: an estimate, its unit, its 95 % interval."""
    return f"{signed(e.value)}{unit} ({spread(e.low, e.high)})"


def role_table(result: Any) -> Table:
    rows = []
    for role in result.roles:
        normal = role.normal
        fitted_as_normal = normal is not None and normal.ks_distance <= (
            result.options.max_ks_distance
        )
        if fitted_as_normal:
            mean, sd = with_interval(normal.mean_min), with_interval(normal.sd_min)
        else:
            mean, sd = Prose("piecewise rates (the normal fits badly)"), ""
        rows.append([role.role, number(round(role.people_per_day)), mean, sd])
    columns = [
        Column("role"),
        Column("people per day", right=True),
        Column("connect, min from class start", right=True),
        Column("sd, min", right=True),
    ]
    return "people (95 % intervals)", columns, rows


def service_table(result: Any) -> Table:
    rows = []
    for service in result.services:
        fit = service.fit
        if fit is None:
            rows.append([service.name, Prose("no served request"), "", "", ""])
            continue
        cv = "1 (exponential)" if fit.chosen.kind == "exponential" else with_interval(fit.cv)
        rows.append(
            [
                service.name,
                fit.chosen.kind,
                with_interval(fit.mean_s),
                cv,
                f"≤ {service.quiet_threshold}",
            ]
        )
    columns = [
        Column("service"),
        Column("service time"),
        Column("mean, s", right=True),
        Column("cv", right=True),
        Column("quiet", right=True),
    ]
    return "services, fitted on quiet periods (requests in progress)", columns, rows


def behaviour_table(result: Any, given: Iterable[str] = ()) -> Table:
    given = set(given)
    rows = []
    p = result.patience
    rows.append(
        ["patience", Prose("20 s lognormal, cv 1 (the default)"), "ASSUMPTION"]
        if p is None
        else [
            "patience",
            Prose(f"{p.kind}, mean {with_interval(p.mean_s, ' s')}, cv {number(p.cv.value)}"),
            "FITTED",
        ]
    )
    r = result.retry_probability
    rows.append(
        ["retries", "0.9 (the default)", "ASSUMPTION"]
        if r is None
        else ["retries", with_interval(r), "FITTED"]
    )
    b = result.backoff
    if b is None:
        rows.append(["backoff", Prose("10 s doubling, jittered (the default)"), "ASSUMPTION"])
    else:
        what = "constant" if b.kind == "constant" else "jittered"
        factor = "" if b.factor is None else f", ×{number(b.factor)}"
        rows.append(["backoff", Prose(f"{what} {with_interval(b.base_s, ' s')}{factor}"), "FITTED"])
    a = result.max_attempts
    rows.append(["max attempts", str(a.value), "FITTED" if a.fitted else "ASSUMPTION"])
    for row in rows:
        key = f"behaviour.{KEYS[row[0]]}"
        if any(path == key or path.startswith(key + ".") for path in given):
            row[1], row[2] = "(given)", "GIVEN"
    columns = [Column("behaviour"), Column("estimate (95 %)"), Column("from")]
    return "behaviour", columns, rows


KEYS = {
    "patience": "patience",
    "retries": "retry_probability",
    "backoff": "backoff",
    "max attempts": "max_attempts",
}
CAPACITY = {"servers": "servers", "workers_per_server": "workers", "backlog_per_server": "backlog"}


def assumptions(result: Any, given: Iterable[str] = ()) -> list[str]:
    """What stayed ASSUMPTION, in words: capacity (unless given), and the rest."""
    given = set(given)
    lines = []
    missing = {
        s.name: [w for k, w in CAPACITY.items() if f"services.{s.name}.{k}" not in given]
        for s in result.services
    }
    if any(missing.values()):
        whole = [name for name, keys in missing.items() if len(keys) == len(CAPACITY)]
        part = [f"{name} ({', '.join(keys)})" for name, keys in missing.items()
                if 0 < len(keys) < len(CAPACITY)]  # fmt: skip
        lines.append(
            "ASSUMPTION: capacity (servers, workers, backlog: not in a log; give it with "
            f"--set services.NAME.servers=N) of {', '.join(whole + part)}"
        )
    rest = [row[0] for row in behaviour_table(result, given)[2] if row[2] == "ASSUMPTION"]
    rest += [f"{s.name}'s service time" for s in result.services if s.fit is None]
    rest.append("one request per service in each journey")
    lines.append(f"ASSUMPTION also: {', '.join(rest)}")
    return lines


def summary(result: Any, given: Sequence[str] = ()) -> tuple[list[Table], list[str]]:
    """The tables to print and the lines of what stayed ASSUMPTION."""
    tables = [role_table(result), service_table(result), behaviour_table(result, given)]
    return tables, assumptions(result, given)
