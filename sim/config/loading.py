"""Loading scenario files (with ``extends``), one-line error messages naming the field,
``--set`` overrides, and the resolved scenario as data or TOML."""

from __future__ import annotations

import datetime
import tomllib
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import tomli_w
from pydantic import (
    BaseModel,
    Tag,
    ValidationError,
)

from sim.config.base import ScenarioError
from sim.config.scenario import Scenario

# ---------------------------------------------------------------- loading


def load_scenario(path: Path | str, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, override and validate a scenario file; raise :class:`ScenarioError`."""
    path = Path(path)
    return scenario_from_dict(read_raw(path), overrides, source=str(path))


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


def scenario_from_dict(
    raw: dict[str, Any], overrides: list[str] | tuple[str, ...] = (), source: str = "scenario"
) -> Scenario:
    """Validate `raw`, apply ``dotted.path=value`` overrides, validate again."""
    scenario = _validate(raw, source)
    if not overrides:
        return scenario
    resolved = to_dict(scenario)
    for override in overrides:
        apply_override(resolved, override)
    return _validate(resolved, f"{source} with --set")


def _validate(raw: dict[str, Any], source: str) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(f"{source}: {describe_error(err, raw)}") from None


# ---------------------------------------------------------------- error messages


def describe_error(err: ValidationError, data: Any = None) -> str:
    """One line naming the offending field and what is allowed there.

    An unknown key is reported before anything else (a misspelt key usually also makes a
    required one missing, and the misspelling is the real mistake); otherwise the first
    error. `data` is the validated input: given, list elements with a name (cohorts,
    sources) are shown by name, as ``--set`` addresses them.
    """
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc, kind, got = first["loc"], first["type"], first.get("input")
    where, schema = _follow(loc, data)
    if kind == "extra_forbidden":
        _, parent = _follow(loc[:-1], data)
        allowed = f"; allowed keys: {', '.join(_keys(parent))}" if _is_model(parent) else ""
        return f"unknown key '{where}'{allowed}"
    if kind == "missing":
        return f"missing required field '{where}'"
    tags = _union_members(schema)
    if kind == "union_tag_invalid" and tags:
        tag = first.get("ctx", {}).get("tag")
        return f"field '{_join(where, 'kind')}': Input should be {_one_of(tags)} (got {tag!r})"
    if tags and not isinstance(got, dict):
        return f"field '{where}': Input should be a table with kind = {_one_of(tags)}{_got(got)}"
    if kind == "union_tag_not_found":
        return f"missing required field '{_join(where, 'kind')}': one of {_one_of(tags)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "Input should be a table"
    else:
        message = first["msg"].removeprefix("Value error, ")
    shown = "" if repr(got) in message else _got(got)
    return f"field '{where}': {message}{shown}" if where else f"{message}{shown}"


def _got(value: Any) -> str:
    """`` (got 3)`` for a scalar input; nothing for a table or array."""
    if isinstance(value, dict | list) or value is None:
        return ""
    shown = repr(value)
    return f" (got {shown if len(shown) <= 60 else shown[:56] + ' ...'})"


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _one_of(values: Any) -> str:
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _follow(loc: tuple[Any, ...], data: Any = None) -> tuple[str, Any]:
    """Follow a pydantic error location down from :class:`Scenario`.

    Returns the dotted path as the user writes it (union tags such as 'exponential'
    left out, named list elements shown by name when `data` is given) and the schema
    type found there (None where the schema does not go).
    """
    schema: Any = Scenario
    node, shown = data, []
    for part in loc:
        schema = _strip(schema)
        members = _union_members(schema)
        if part in members:  # pydantic's tag of a union member: not written by the user
            schema = members[part]
            continue
        schema = _child(schema, part)
        label = str(part)
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str) and name and not name.isdigit():
                label = name
        else:
            node = node.get(part) if isinstance(node, dict) else None
        shown.append(label)
    return ".".join(shown), _strip(schema)


def _strip(tp: Any) -> Any:
    """`tp` without ``Annotated[...]`` and without the None of ``X | None``."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if _is_union(tp):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _union_members(tp: Any) -> dict[str, Any]:
    """The members of a tagged union by tag (a ``Tag`` or their ``kind`` literal)."""
    if not _is_union(tp):
        return {}
    members: dict[str, Any] = {}
    for arg in get_args(tp):
        metadata = get_args(arg)[1:] if get_origin(arg) is Annotated else ()
        tags = [m.tag for m in metadata if isinstance(m, Tag)]
        member = _strip(arg)
        if not tags and _is_model(member) and "kind" in member.model_fields:
            tags = list(get_args(member.model_fields["kind"].annotation))
        members.update(dict.fromkeys(tags, member))
    return members


def _child(tp: Any, key: Any) -> Any:
    """The schema type one level below `tp` at `key` (a field, dict key or list index)."""
    if _is_model(tp):
        for name, field in tp.model_fields.items():
            if key in (name, field.alias):
                return field.annotation
        return None
    if get_origin(tp) is dict:
        return get_args(tp)[1]
    if get_origin(tp) is list:
        return get_args(tp)[0]
    return None


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys a table of `model` may hold, in declaration order."""
    return [field.alias or name for name, field in model.model_fields.items()]


# ---------------------------------------------------------------- --set overrides


def apply_override(data: dict[str, Any], override: str) -> None:
    """Apply one ``dotted.path=value`` to the resolved scenario `data` in place.

    The path must exist in `data`, except that its last key may be an optional field
    of that table that is not set (``cohorts.teachers.class_group``) or a new entry of a
    named map (``gates.room={max_new_per_s=10}``). The value is read
    as a TOML value (``3``, ``0.5``, ``true``, ``"08:00"``, ``{kind="exponential",
    mean_s=1}``); anything that is not valid TOML is taken as a plain string, so
    ``--set start=08:00`` works without quotes. A list element may be addressed by its
    index or, for lists of named tables (cohorts, sources), by its name.
    """
    path, sep, text = override.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ScenarioError(f"--set expects dotted.path=value, got {override!r}")
    parts = path.split(".")
    node: Any = data
    schema: Any = Scenario
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        schema = _strip(schema)
        if isinstance(node, dict):
            members = _union_members(schema)
            schema = members.get(node.get("kind"), schema) if members else schema
            keys = _keys(schema) if _is_model(schema) else sorted(node)
            new_entry = last and get_origin(schema) is dict  # a new service, gate, ...
            if part not in node and not (last and part in keys) and not new_entry:
                if part in keys:
                    raise ScenarioError(
                        f"--set {path}: '{where}' is not set; set the whole table "
                        f"with --set {where}={{...}}"
                    )
                allowed = ", ".join(keys) or "(none)"
                raise ScenarioError(f"--set {path}: unknown key '{where}'; allowed keys: {allowed}")
            key: Any = part
        elif isinstance(node, list):
            key = _list_index(node, part, path, where)
        else:
            raise ScenarioError(f"--set {path}: '{'.'.join(parts[:depth])}' has no sub-fields")
        if last:
            node[key] = parse_value(text)
            return
        node = node[key]
        schema = _child(schema, key)


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
    """The fully resolved scenario as plain data (defaults filled, no None values)."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)


def to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML text."""
    return tomli_w.dumps(to_dict(scenario))
