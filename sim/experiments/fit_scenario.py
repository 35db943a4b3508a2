"""The scenario a fit writes: TOML text in which every value says where it comes from.

A value estimated from the log is marked ``FITTED (method, 95 % interval, n)``; every
other is marked ``ASSUMPTION`` with why it was chosen, as the shipped scenarios mark
theirs. Capacity is never fitted: a log shows what the platform used, not what it had,
so the servers are an assumption and the log's peaks are written beside them as hints.
The text is validated by the schema before anyone sees it (:func:`fitted_scenario`).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Sequence
from typing import Any

from sim import __version__
from sim.config import ScenarioError, s_to_clock, scenario_from_dict, to_dict
from sim.config.loading import Override
from sim.experiments.fit import ROLES, FitResult, RoleEstimate, ServiceEstimate
from sim.experiments.fit_estimators import KS_CAVEAT, Estimate

PIECE_S = 300  # start and end rounded to 5 minutes
DEFAULT_SERVICE_TIME = {"kind": "lognormal", "mean_s": 0.2, "cv": 1.0}


def num(x: float) -> str:
    """A TOML float of 4 significant digits (``0.1234``, ``1234.0``)."""
    return repr(float(f"{x:.4g}"))


def inline(table: dict[str, Any]) -> str:
    parts = []
    for key, value in table.items():
        text = f'"{value}"' if isinstance(value, str) else num(value)
        parts.append(f"{key} = {text}")
    return "{ " + ", ".join(parts) + " }"


def interval(e: Estimate, unit: str = "") -> str:
    return f"[{num(e.low)}, {num(e.high)}]{unit}"


def name_of(text: str) -> str:
    """A scenario or cohort name (letters, digits, ``_.-``) from `text`."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "fitted"
    return name if name[0].isalnum() else "fitted-" + name


def quoted(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scenario_text(result: FitResult, name: str = "fitted") -> str:
    """The scenario of `result`, as commented TOML."""
    lines = header(result, name_of(name))
    lines += behaviour(result)
    for service in result.services:
        lines += service_table(service)
    lines += journeys(result)
    for role in result.roles:
        lines += group(role, result)
    return "\n".join(lines) + "\n"


def header(result: FitResult, name: str) -> list[str]:
    start = math.floor(result.start_s / PIECE_S) * PIECE_S
    end = min(math.ceil(result.end_s / PIECE_S) * PIECE_S, 86_340)
    end = max(end, start + PIECE_S)
    files = ", ".join(result.sources) or "records given in Python"
    return [
        f"# Fitted by `sim fit` (sim {__version__}) from {files}:",
        f"# {result.records:,} requests mapped to a service ({result.unmapped:,} unmapped, "
        f"left out), {result.days} day(s).",
        "# Every value is marked:",
        "#   FITTED (method, 95 % interval, n)  estimated from the log",
        "#   ASSUMPTION                         not in the log: a default to check",
        f"# Goodness of fit: {KS_CAVEAT}.",
        f'name = "{name}"',
        f'description = "fitted by sim fit to {len(result.sources)} access log(s)"'
        if result.sources
        else 'description = "fitted by sim fit to access-log records"',
        "seed = 1  # ASSUMPTION: any seed",
        f'start = "{s_to_clock(start)}"  # FITTED: the first connection, rounded down to 5 min',
        f'end = "{s_to_clock(end)}"  # FITTED: the last request\'s end, rounded up to 5 min',
        "",
    ]


def behaviour(result: FitResult) -> list[str]:
    lines = ["[behaviour]"]
    patience = result.patience
    if patience is None:
        lines.append(
            f"# ASSUMPTION: the schema's default ({result.gave_up_n} client-closed requests (499) "
            f"in the log, fewer than {result.options.min_events})"
        )
        lines.append('patience = { kind = "lognormal", mean_s = 20.0, cv = 1.0 }')
    else:
        lines.append(
            f"# FITTED ({patience.mean_s.method}: mean 95 % {interval(patience.mean_s, ' s')}, "
            f"cv {interval(patience.cv)}, n = {patience.mean_s.n:,} of which "
            f"{result.gave_up_n:,} client-closed)"
        )
        lines.append(f"patience = {inline(patience.spec())}")
    retry = result.retry_probability
    if retry is None:
        lines.append(
            f"retry_probability = 0.9  # ASSUMPTION: {result.failures} failures in the log, "
            f"fewer than {result.options.min_events}"
        )
    else:
        lines.append(
            f"retry_probability = {num(retry.value)}  # FITTED (share of failures followed by a "
            f"request to the same service within {result.options.retry_window_s:g} s, failures "
            "at the last attempt left out, those near the log's end weighted by the chance "
            f"their retry is in it; Wilson interval {interval(retry)}, n = {retry.n:,})"
        )
    lines.append(max_attempts_line(result))
    backoff = result.backoff
    if backoff is None:
        lines.append(
            'backoff = { kind = "exponential_jitter", base_s = 10.0, factor = 2.0 }  '
            "# ASSUMPTION: the schema's default (too few retries in the log)"
        )
    else:
        factor = (
            ""
            if backoff.kind == "constant"
            else "; factor FITTED from the second retries' gaps"
            if backoff.factor_fitted
            else "; factor 2.0 ASSUMPTION (too few second retries)"
        )
        lines.append(
            f"# FITTED ({backoff.base_s.method}: {interval(backoff.base_s, ' s')}, "
            f"n = {backoff.base_s.n:,}{factor})"
        )
        lines.append(f"backoff = {inline(backoff.spec())}")
    return [*lines, ""]


def max_attempts_line(result: FitResult) -> str:
    attempts = result.max_attempts
    if attempts.fitted:
        return (
            f"max_attempts = {attempts.value}  # FITTED (the longest chain of attempts of one "
            f"person on one service; none of the n = {attempts.reached:,} failures at attempt "
            f"{attempts.longest} retried: chance {attempts.chance_uncapped:.2g} without a cap)"
        )
    seen = (
        f"chains of up to {attempts.longest} attempts seen, too few failures at the last to "
        "tell a cap"
        if result.failures
        else "no failure in the log"
    )
    return f"max_attempts = {attempts.value}  # ASSUMPTION: the schema's default or more ({seen})"


def service_table(service: ServiceEstimate) -> list[str]:
    peak = max(service.peak_concurrency, 1)
    lines = [
        f"[services.{quoted(service.name)}]",
        f"# capacity hints (FITTED from the log, not set as capacity): at most {peak:,} requests "
        f"in progress at once, at most {service.peak_served_per_min:,.1f} served per minute "
        "sustained over 5 minutes",
        "servers = 1  # ASSUMPTION: one server of the peak's workers (the log shows what was "
        "used, not what was there)",
        f"workers_per_server = {peak}  # ASSUMPTION: the peak requests in progress of the log",
        "backlog_per_server = 100  # ASSUMPTION: the schema's default",
    ]
    fit = service.fit
    if fit is None:
        lines.append("# ASSUMPTION: no served request of this service in the log")
        lines.append(f"service_time = {inline(DEFAULT_SERVICE_TIME)}")
        return [*lines, ""]
    others = ", ".join(f"{c.kind} {c.aic:,.1f}" for c in fit.candidates)
    if service.late:
        lines.append(
            f"# {service.late:,} requests were read over 10 min out of time order: their "
            "in-progress counts are exact to the second only"
        )
    lines += [
        f"# FITTED ({fit.mean_s.method}; on quiet periods: at most {service.quiet_threshold} "
        f"requests in progress, {service.quiet_n:,} of {service.served_n:,} served requests; "
        f"mean 95 % {interval(fit.mean_s, ' s')}, cv {interval(fit.cv)}, n = {fit.mean_s.n:,};",
        f"# AIC {others}; KS D = {fit.chosen.ks_statistic:.3f}, p = {fit.chosen.ks_pvalue:.3g})",
        f"service_time = {inline(fit.spec())}",
        "",
    ]
    return lines


def journeys(result: FitResult) -> list[str]:
    lines = ["[journeys]"]
    for role in result.roles:
        steps = ", ".join(quoted(s) for s in role.journey)
        lines.append(
            f"{quoted(role.role)} = [{steps}]  # FITTED: the most common order in which the "
            "role's people first used the services (one request each: ASSUMPTION)"
        )
    return [*lines, ""]


def group(role: RoleEstimate, result: FitResult) -> list[str]:
    """A cohort around the class starts; a source with the log's own rates when the
    normal offset fits badly."""
    normal = role.normal
    if normal is None or normal.ks_distance > result.options.max_ks_distance:
        return source(role, result)
    kind = role.role if role.role in ROLES else "other"
    shares = [round(s, 4) for s in role.shares]
    shares[-1] = 1 - sum(shares[:-1])
    starts = ", ".join(f'"{s}"' for s in role.class_starts)
    n = role.offsets_min.size
    return [
        "[[cohorts]]",
        f'name = "{name_of(role.role)}"',
        f'role = "{kind}"' + ("" if kind == role.role else f"  # the log's role {role.role!r}"),
        f"count = {round(role.people_per_day)}  # FITTED: distinct people per day "
        f"({n:,} first connections over {role.days} day(s))",
        f"journey = {quoted(role.role)}",
        f"class_starts = [{starts}]  # "
        + (
            f"GIVEN ({result.options.class_starts_from})"
            if result.options.class_starts_from
            else "ASSUMPTION: the default (no --class-start, no [classes] in the mapping)"
        ),
        f"class_start_shares = [{', '.join(num(s) for s in shares)}]  # FITTED: share of first "
        "connections nearest to each class start",
        f"# FITTED ({normal.mean_min.method}: mean 95 % {interval(normal.mean_min, ' min')}, sd "
        f"{interval(normal.sd_min, ' min')}, n = {n:,}; KS distance {normal.ks_distance:.3f})",
        'connect = { kind = "normal", mean_min = '
        f"{num(normal.mean_min.value)}, sd_min = {num(max(normal.sd_min.value, 0.0))} }}",
        "",
    ]


def source(role: RoleEstimate, result: FitResult) -> list[str]:
    step = result.options.rate_piece_min
    start = math.floor(result.start_s / PIECE_S) * PIECE_S // 60
    end = min(math.ceil(result.end_s / 60), 1439)
    pieces = []
    for minute in range(int(start), int(end), step):
        rate = float(role.per_minute[minute : minute + step].sum()) / (step * 60)
        pieces.append(f'{{ from = "{s_to_clock(minute * 60)}", rate_per_s = {num(rate)} }}')
    kind = role.role if role.role in ROLES else "other"
    distance = (
        "no normal fit" if role.normal is None else f"KS distance {role.normal.ks_distance:.3f}"
    )
    return [
        "[[sources]]",
        f'name = "{name_of(role.role)}"',
        f'role = "{kind}"',
        f"journey = {quoted(role.role)}",
        f"# FITTED: first connections per {step} min, mean over {role.days} day(s), as Poisson "
        f"rates ({role.offsets_min.size:,} people; the normal offset fits badly: {distance} > "
        f"{result.options.max_ks_distance})",
        "rates = [",
        *(f"  {piece}," for piece in pieces),
        "]",
        "",
    ]


def fitted_scenario(text: str) -> Any:
    """The :class:`~sim.config.Scenario` of a fit's `text` (a ScenarioError if the fit
    made an invalid one, e.g. from service names the schema refuses)."""
    return scenario_from_dict(tomllib.loads(text), source="the fitted scenario")


# ---------------------------------------------------------------- what the planner knows

GIVEN = "GIVEN (--set)"
TABLES = {"behaviour": "[behaviour]", "journeys": "[journeys]"}


def with_given(text: str, overrides: Sequence[Override]) -> str:
    """`text` with the values the planner knows (``--set``, the syntax of ``sim run``:
    capacity above all, which no log shows) written in, each marked GIVEN instead of
    ASSUMPTION or FITTED. A bad path or value is a ScenarioError in one line (the
    messages of ``sim run --set``)."""
    if not overrides:
        return text
    scenario = scenario_from_dict(tomllib.loads(text), overrides, source="the fitted scenario")
    data = to_dict(scenario)
    lines = text.split("\n")
    for override in overrides:
        path = override[0] if isinstance(override, tuple) else override.partition("=")[0]
        lines = set_line(lines, path.strip(), data)
    written = "\n".join(lines)
    if fitted_scenario(written) != scenario:  # (every path placed: checked, not hoped)
        raise ScenarioError(f"the fitted scenario: cannot write {len(overrides)} --set into it")
    return written


def set_line(lines: list[str], path: str, data: dict[str, Any]) -> list[str]:
    """`lines` with the line of `path`'s top key (the whole inline table for a deeper
    path) holding its value in `data`, marked GIVEN; added if the fit wrote none."""
    parts = path.split(".")
    if parts[0] in ("services", "cohorts", "sources") and len(parts) >= 3:
        entry = list_entry(data, parts[0], parts[1])
        header = f"[services.{quoted(parts[1])}]" if parts[0] == "services" else f"[[{parts[0]}]]"
        key, value = parts[2], entry[parts[2]]
        name = None if parts[0] == "services" else entry["name"]
    elif parts[0] in TABLES and len(parts) >= 2:
        header, key, value, name = TABLES[parts[0]], parts[1], data[parts[0]][parts[1]], None
    elif len(parts) == 1 and parts[0] in data and not isinstance(data[parts[0]], (dict, list)):
        header, key, value, name = None, parts[0], data[parts[0]], None
    else:
        raise ScenarioError(
            f"--set {path}: sim fit sets the top-level fields, behaviour, journeys, and "
            "fields of a service, cohort or source; change anything else in the written file"
        )
    first, last = table_lines(lines, header, name)
    label = quoted(key) if parts[0] == "journeys" else key
    line = f"{label} = {toml_value(value)}  # {GIVEN}"
    for i in range(first, last):
        if lines[i].split("=")[0].strip() == label:
            old = lines[i].split("#")[0].strip().partition("=")[2].strip()
            return [*lines[:i], f"{line}, instead of {old}", *lines[i + 1 :]]
    while last > first and not lines[last - 1].strip():
        last -= 1
    return [*lines[:last], line, *lines[last:]]


def list_entry(data: dict[str, Any], table: str, part: str) -> dict[str, Any]:
    if table == "services":
        return data["services"][part]
    entries = data[table]
    names = [e.get("name") for e in entries]
    return (
        entries[int(part)] if part.isdigit() and part not in names else entries[names.index(part)]
    )


def table_lines(lines: list[str], header: str | None, name: str | None) -> tuple[int, int]:
    """The range of the lines of a table (the top level for None; for ``[[cohorts]]``,
    the block named `name`)."""
    starts = [i for i, line in enumerate(lines) if line.startswith("[")]
    if header is None:
        return 0, starts[0] if starts else len(lines)
    for n, i in enumerate(starts):
        if lines[i] != header:
            continue
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        if name is None or f'name = "{name}"' in lines[i:end]:
            return i + 1, end
    raise ScenarioError(f"the fitted scenario has no table {header} {name or ''}".strip())


def toml_value(value: Any) -> str:
    """`value` as one line of TOML (tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise ScenarioError(f"cannot write {value!r} as TOML")
