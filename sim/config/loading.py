"""Loading scenario files (with ``extends``), one-line error messages naming the field,
``--set`` overrides, and the resolved scenario as data or TOML."""

from __future__ import annotations

import datetime
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_origin

import tomli_w
from pydantic import (
    ValidationError,
)

from sim.config.errors import ScenarioError
from sim.config.scenario import Scenario
from sim.config.schema_walk import (
    child_schema,
    error_line,
    is_model,
    model_keys,
    strip_annotated,
    union_members,
)

# ---------------------------------------------------------------- loading


def describe_error(err: ValidationError, data: Any = None, *, root: Any = Scenario) -> str:
    """One line naming the field of a scenario (or of `root`) that failed validation,
    and what is allowed there (:func:`sim.config.schema_walk.error_line`)."""
    return error_line(err, data, root=root)


def load_scenario(path: Path | str, overrides: Sequence[Override] = ()) -> Scenario:
    """Read, override and validate a scenario file; raise :class:`ScenarioError`."""
    path = Path(path)
    return scenario_from_dict(read_raw(path), overrides, source=str(path), base=path.parent)


MAX_EXTENDS_DEPTH = 8


def read_raw(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The TOML content of `path`, merged over the file it ``extends`` (if any).

    ``extends = "other.toml"`` (relative to this file) starts from that scenario: tables
    are merged key by key (one of another ``kind`` replaces the base's), every other
    value (arrays included: cohorts, attacks) replaces the base's. A variant then
    states only what differs. `chain` is the files that extend this one, to name a cycle.
    A byte-order mark (as Windows editors write) is accepted.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {path}") from None
    except IsADirectoryError:
        raise ScenarioError(f"scenario {path} is a folder, not a TOML file") from None
    except OSError as err:
        raise ScenarioError(f"cannot read scenario file {path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: malformed TOML: {err}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise ScenarioError(f"{path}: malformed TOML: arrays or tables nested too deeply") from None
    except ValueError as err:  # an integer of more than 4300 digits (Python's limit)
        reason = str(err).split(";")[0]
        raise ScenarioError(f"{path}: malformed TOML: {reason}") from None
    base = raw.pop("extends", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ScenarioError(f"{path}: field 'extends' must be a file name (a string)")
    chain = (*chain, path)
    below = path.parent / base
    if below.resolve() in {p.resolve() for p in chain}:
        cycle = " -> ".join(p.name for p in (*chain, below))
        raise ScenarioError(f"{path}: 'extends' makes a cycle: {cycle}")
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"{path}: 'extends' goes more than {MAX_EXTENDS_DEPTH} files deep")
    return _merge(read_raw(below, chain), raw)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`, table by table; a table of another ``kind`` (a distribution, a
    backoff, a journey step) replaces the base's whole: its fields would not fit."""
    merged = dict(base)
    for key, value in top.items():
        below = base.get(key)
        if (
            isinstance(value, dict)
            and isinstance(below, dict)
            and value.get("kind", below.get("kind")) == below.get("kind")
        ):
            merged[key] = _merge(below, value)
        else:
            merged[key] = value
    return merged


Override = str | tuple[str, Any]
"""A ``--set``: ``"dotted.path=value"`` (the value read as TOML), or ``(dotted.path, value)``
with the value as it is (the Python API's ``set={path: value}``)."""


def scenario_from_dict(
    raw: dict[str, Any],
    overrides: Sequence[Override] = (),
    source: str = "scenario",
    base: Path | str | None = None,
) -> Scenario:
    """Validate `raw`, apply the overrides (:data:`Override`), validate again; a
    ``[replay]`` is then read (:func:`sim.config.replay.resolve_replay`, its relative
    paths from `base`, default the current folder)."""
    scenario = _validate(raw, source)
    if overrides:
        resolved = to_dict(scenario)
        for override in overrides:
            apply_override(resolved, override)
        scenario = _validate(resolved, f"{source} with --set")
    if scenario.replay is None:
        return scenario
    from sim.config.replay import resolve_replay  # reads the log: only with [replay]

    return resolve_replay(scenario, base)


def _validate(raw: dict[str, Any], source: str) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(f"{source}: {describe_error(err, raw, root=Scenario)}") from None


# ---------------------------------------------------------------- error messages


# ---------------------------------------------------------------- --set overrides


def apply_override(data: dict[str, Any], override: Override) -> None:
    """Apply one ``dotted.path=value`` (or ``(dotted.path, value)``: :data:`Override`) to
    the resolved scenario `data` in place.

    The path must exist in `data`, except that its last key may be an optional field
    of that table that is not set (``cohorts.teachers.class_group``) or a new entry of a
    named map (``gates.room={max_new_per_s=10}``). The value is read
    as a TOML value (``3``, ``0.5``, ``true``, ``"08:00"``, ``{kind="exponential",
    mean_s=1}``); anything that is not valid TOML is taken as a plain string, so
    ``--set start=08:00`` works without quotes. A list element may be addressed by its
    index or, for lists of named tables (cohorts, sources), by its name.
    """
    if isinstance(override, tuple):
        path, value = override
    else:
        path, sep, text = override.partition("=")
        if not sep or not path.strip():
            raise ScenarioError(f"--set expects dotted.path=value, got {override!r}")
        value = parse_value(text)
    path = path.strip()
    parts = path.split(".")
    node: Any = data
    schema: Any = Scenario
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        schema = strip_annotated(schema)
        if isinstance(node, dict):
            members = union_members(schema)
            schema = members.get(node.get("kind"), schema) if members else schema
            allowed = model_keys(schema) if is_model(schema) else sorted(node)
            new_entry = last and get_origin(schema) is dict  # a new service, gate, ...
            if part not in node and not (last and part in allowed) and not new_entry:
                if part in allowed:
                    raise ScenarioError(
                        f"--set {path}: '{where}' is not set; set the whole table "
                        f"with --set {where}={{...}}"
                    )
                shown = ", ".join(allowed) or "(none)"
                raise ScenarioError(f"--set {path}: unknown key '{where}'; allowed keys: {shown}")
            key: Any = part
        elif isinstance(node, list):
            key = _list_index(node, part, path, where)
        else:
            raise ScenarioError(f"--set {path}: '{'.'.join(parts[:depth])}' has no sub-fields")
        if last:
            node[key] = value
            return
        node = node[key]
        schema = child_schema(schema, key)


def _list_index(node: list[Any], part: str, path: str, where: str) -> int:
    """The index in `node` addressed by `part`: an index, or a name of a named table."""
    if part.isdigit() and int(part) < len(node):
        return int(part)
    names = [item.get("name") for item in node if isinstance(item, dict)]
    if part in names:
        return names.index(part)
    allowed = f"an index 0..{len(node) - 1}" if node else "no index (the list is empty)"
    named = [str(n) for n in names if n]
    or_names = f" or a name: {', '.join(named)}" if named else ""
    raise ScenarioError(f"--set {path}: no element '{where}'; use {allowed}{or_names}")


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML if it is exactly one TOML value, else the raw string.

    TOML dates and times come back as their text: the schema has none, and a clock time
    with seconds (``08:00:30``) is TOML's local time.
    """
    text = text.strip()
    try:
        document = tomllib.loads(f"v = {text}")
    except (ValueError, RecursionError):  # TOMLDecodeError included, and 5000-digit numbers
        return text
    if list(document) != ["v"]:  # more than one value, e.g. "3\nservers = 5"
        return text
    return _plain(document["v"])


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_dict(scenario: Scenario) -> dict[str, Any]:
    """The fully resolved scenario as plain data (defaults filled, no None values).

    ``scale`` is left out at 1 (an unscaled scenario), and ``uncertain`` when empty: the
    text, hence the results' ``scenario.toml`` and the keys of stored runs, of a scenario
    that does not use them stays what it was before the fields existed; a scaled one
    says its scale."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    if data.get("scale") == 1:
        del data["scale"]
    if not data.get("uncertain"):
        data.pop("uncertain", None)
    return data


def to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML text."""
    return tomli_w.dumps(to_dict(scenario))
