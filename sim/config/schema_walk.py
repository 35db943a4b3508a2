"""Walking the scenario schema: the one-line message of a validation error, and the
field a dotted path (``--set``) names. Given the root model, so that the scenario
module and its expansion of platforms can both use it without importing each other."""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError


def error_line(err: ValidationError, data: Any = None, *, root: Any) -> str:
    """One line naming the offending field and what is allowed there.

    An unknown key is reported before anything else (a misspelt key usually also makes a
    required one missing, and the misspelling is the real mistake); otherwise the first
    error. `data` is the validated input: given, list elements with a name (cohorts,
    sources) are shown by name, as ``--set`` addresses them.
    """
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc, kind, got = first["loc"], first["type"], first.get("input")
    where, schema = follow_loc(loc, data, root=root)
    if kind == "extra_forbidden":
        _, parent = follow_loc(loc[:-1], data, root=root)
        allowed = f"; allowed keys: {', '.join(model_keys(parent))}" if is_model(parent) else ""
        return f"unknown key '{where}'{allowed}"
    if kind == "missing":
        return f"missing required field '{where}'"
    tags = union_members(schema)
    if kind == "union_tag_invalid" and tags:
        tag = first.get("ctx", {}).get("tag")
        field = joined_path(where, "kind")
        return f"field '{field}': Input should be {one_of_text(tags)} (got {tag!r})"
    if tags and not isinstance(got, dict):
        kinds = one_of_text(tags)
        return f"field '{where}': Input should be a table with kind = {kinds}{got_text(got)}"
    if kind == "union_tag_not_found":
        return f"missing required field '{joined_path(where, 'kind')}': one of {one_of_text(tags)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "Input should be a table"
    else:
        message = first["msg"].removeprefix("Value error, ")
    shown = "" if repr(got) in message else got_text(got)
    return f"field '{where}': {message}{shown}" if where else f"{message}{shown}"


def got_text(value: Any) -> str:
    """`` (got 3)`` for a scalar input; nothing for a table or array."""
    if isinstance(value, dict | list) or value is None:
        return ""
    shown = repr(value)
    return f" (got {shown if len(shown) <= 60 else shown[:56] + ' ...'})"


def joined_path(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def one_of_text(values: Any) -> str:
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def follow_loc(loc: tuple[Any, ...], data: Any = None, *, root: Any) -> tuple[str, Any]:
    """Follow a pydantic error location down from :class:`Scenario`.

    Returns the dotted path as the user writes it (union tags such as 'exponential'
    left out, named list elements shown by name when `data` is given) and the schema
    type found there (None where the schema does not go).
    """
    schema: Any = root
    node, shown = data, []
    for part in loc:
        schema = strip_annotated(schema)
        members = union_members(schema)
        if part in members:  # pydantic's tag of a union member: not written by the user
            schema = members[part]
            continue
        schema = child_schema(schema, part)
        label = str(part)
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str) and name and not name.isdigit():
                label = name
        else:
            node = node.get(part) if isinstance(node, dict) else None
        shown.append(label)
    return ".".join(shown), strip_annotated(schema)


def strip_annotated(tp: Any) -> Any:
    """`tp` without ``Annotated[...]`` and without the None of ``X | None``."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if is_union(tp):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def union_members(tp: Any) -> dict[str, Any]:
    """The members of a tagged union by tag (a ``Tag`` or their ``kind`` literal)."""
    if not is_union(tp):
        return {}
    members: dict[str, Any] = {}
    for arg in get_args(tp):
        metadata = get_args(arg)[1:] if get_origin(arg) is Annotated else ()
        tags = [m.tag for m in metadata if isinstance(m, Tag)]
        member = strip_annotated(arg)
        if not tags and is_model(member) and "kind" in member.model_fields:
            tags = list(get_args(member.model_fields["kind"].annotation))
        members.update(dict.fromkeys(tags, member))
    return members


def child_schema(tp: Any, key: Any) -> Any:
    """The schema type one level below `tp` at `key` (a field, dict key or list index)."""
    if is_model(tp):
        for name, field in tp.model_fields.items():
            if key in (name, field.alias):
                return field.annotation
        return None
    if get_origin(tp) is dict:
        return get_args(tp)[1]
    if get_origin(tp) is list:
        return get_args(tp)[0]
    return None


def model_keys(model: type[BaseModel]) -> list[str]:
    """The keys a table of `model` may hold, in declaration order."""
    return [field.alias or name for name, field in model.model_fields.items()]
