"""Uncertain parameters: ranges of numeric scenario fields, for ``sim sensitivity`` and
the robust verdict of an options study.

A scenario (or an options study) may list the assumptions it is least sure of, each a
range ``[low, high]`` of a numeric field, by its dotted path (the paths of ``--set``)::

    [uncertain]
    "behaviour.retry_probability" = [0.6, 0.95]   # basis: ...
    "services.login.servers" = [2, 6]

A part of the path may be a pattern (``*``, ``?``, ``[...]`` as in file names) naming
several entries of a map or of a named list at once: ``"cohorts.pupils_*.connect.sd_min"``
moves every pupil cohort's spread together, as one parameter.

The table is read by those two commands only: a run ignores it (it changes no result,
and :func:`sim.config.loading.to_dict` leaves an empty table out, so a scenario without
one keeps its text, hence its stored runs' keys). Each range is checked against the
scenario it is written in, before anything runs: the path must name a numeric field
that is set, ``low`` must be below ``high``, and both ends must be values the field
itself accepts (a probability stays within 0..1). An integer field (servers, attempts)
takes each sampled value rounded to the nearest integer, so its range must hold two
whole numbers at least.
"""

import fnmatch
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, get_origin

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

from sim.config.schema_walk import is_model, strip_annotated, union_members

PATTERN_CHARS = "*?["


def _ordered(pair: list[float]) -> list[float]:
    low, high = pair
    if not low < high:
        raise ValueError(f"a range [low, high] with low below high (got [{low:g}, {high:g}])")
    return pair


UncertainRange = Annotated[list[float], Field(min_length=2, max_length=2), AfterValidator(_ordered)]
"""A range ``[low, high]`` of two finite numbers, low below high."""

UNCERTAIN_DESCRIPTION = (
    "ranges of the assumptions least sure of, read only by `sim sensitivity` (and an "
    'options study\'s robust verdict): `"dotted.path" = [low, high]`, the path of a '
    "numeric field that is set (`--set`'s paths; a part may be a pattern such as "
    "`pupils_*` naming several entries), both ends values the field accepts; integer "
    "fields take sampled values rounded. A run ignores it"
)


@dataclass(frozen=True)
class Uncertain:
    """One uncertain parameter: its key (as written), the fields it sets (the key's
    pattern matched), its range, and whether the field is an integer."""

    key: str
    paths: tuple[str, ...]
    low: float
    high: float
    integer: bool

    def value(self, u: float) -> float | int:
        """The field's value at `u` of the way from low to high (0..1)."""
        return self.at(self.low + u * (self.high - self.low))

    def at(self, x: float) -> float | int:
        """`x` as the field takes it: rounded for an integer field, else 6 significant
        digits (readable and reproducible in tables and keys)."""
        return round(x) if self.integer else float(f"{x:.6g}")

    @property
    def label(self) -> str:
        return parameter_label(self.key)


def check_ranges(
    data: dict[str, Any], ranges: dict[str, list[float]], root: Any, where: str = "uncertain"
) -> list[Uncertain]:
    """The ranges, checked against the scenario `data` (:func:`sim.config.to_dict` of a
    scenario of schema `root`); a ValueError in one line naming the key and what is
    allowed otherwise. `where` names the table (or option) in that line."""
    found = []
    for key, pair in ranges.items():
        low, high = (float(v) for v in pair)
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise ValueError(
                f"{where}: {key} = [{low:g}, {high:g}]: a range [low, high] of finite "
                "numbers with low below high"
            )
        paths = matching_paths(data, key, where)
        said = f"{where}: {key} = [{low:g}, {high:g}]"
        annotations = [_leaf(data, path, root, said, key) for path in paths]
        integer = all(strip_annotated(a) is int for a in annotations)
        for path, annotation in zip(paths, annotations, strict=True):
            for end in (low, high):
                _check_end(annotation, round(end) if integer else end, said, path, key)
        if integer and math.floor(high + 0.5) - math.floor(low + 0.5) < 1:
            raise ValueError(
                f"{said}: an integer field takes sampled values rounded; give a range "
                "holding two whole numbers at least"
            )
        found.append(Uncertain(key, tuple(paths), low, high, integer))
    return found


def matching_paths(data: dict[str, Any], key: str, where: str = "uncertain") -> list[str]:
    """The dotted paths of `data` that `key` names (a part may be a pattern), list
    entries by name where they have one; a ValueError naming the first part that names
    nothing, with the keys there."""
    paths: list[tuple[str, ...]] = [()]
    for depth, part in enumerate(key.split(".")):
        reached = []
        for path in paths:
            node = _node(data, path)
            for name in _children(node):
                if name == part or (
                    any(c in part for c in PATTERN_CHARS) and fnmatch.fnmatchcase(name, part)
                ):
                    reached.append((*path, name))
        if not reached:
            prefix = ".".join(key.split(".")[: depth + 1])
            known = sorted({n for p in paths for n in _children(_node(data, p))})
            shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "") or "(none)"
            raise ValueError(
                f"{where}: {key}: '{prefix}' names no field set in the scenario; there: {shown}"
            )
        paths = reached
    return [".".join(p) for p in paths]


def _node(data: Any, path: tuple[str, ...]) -> Any:
    node = data
    for part in path:
        node = node[_key(node, part)]
    return node


def _key(node: Any, part: str) -> Any:
    if isinstance(node, list):
        names = [e.get("name") if isinstance(e, dict) else None for e in node]
        return names.index(part) if part in names else int(part)
    return part


def _children(node: Any) -> list[str]:
    """The names of what is below `node`: its keys, or its entries' names (else indices)."""
    if isinstance(node, dict):
        return [str(k) for k in node]
    if isinstance(node, list):
        return [
            e["name"] if isinstance(e, dict) and isinstance(e.get("name"), str) else str(i)
            for i, e in enumerate(node)
        ]
    return []


def _leaf(data: dict[str, Any], path: str, root: Any, where: str, key: str) -> Any:
    """The annotation (with its bounds) of the numeric field at `path`; a ValueError if
    the value there is not a number."""
    node: Any = data
    schema: Any = root
    field_type: Any = None
    for part in path.split("."):
        schema = strip_annotated(schema)
        if isinstance(node, dict):
            members = union_members(schema)
            schema = members.get(node.get("kind"), schema) if members else schema
        index = _key(node, part)
        node = node[index]
        field_type = _child(schema, index)
        schema = field_type
    if isinstance(node, bool) or not isinstance(node, int | float):
        what = "a table" if isinstance(node, dict) else f"{node!r}"
        hint = ""
        if isinstance(node, dict):
            numbers = [k for k, v in node.items() if _is_number(v)]
            hint = f"; its numeric fields: {', '.join(numbers)}" if numbers else ""
        at = "" if path == key else f" at {path}"
        raise ValueError(f"{where}: not a number field{at} (it is {what}){hint}")
    return field_type if field_type is not None else type(node)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _child(schema: Any, key: Any) -> Any:
    """The type one level below `schema` at `key`, a model's field with its bounds."""
    if is_model(schema):
        for name, field in schema.model_fields.items():
            if key in (name, field.alias):
                return (
                    Annotated[(field.annotation, *field.metadata)]
                    if field.metadata
                    else field.annotation
                )
        return None
    if get_origin(schema) in (dict, list):
        return schema.__args__[-1]
    return None


def _check_end(annotation: Any, value: float, where: str, path: str, key: str) -> None:
    """`value` must be one the field at `path` accepts, else a ValueError saying why."""
    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError as err:
        reason = err.errors()[0]["msg"].removeprefix("Value error, ")
        at = "" if path == key else f" at {path}"
        raise ValueError(
            f"{where}: {value:g} is outside the field's values{at}: {reason}"
        ) from None


# ---------------------------------------------------------------- words

CONTAINERS = frozenset(
    {"behaviour", "templates", "services", "platforms", "cohorts", "sources", "measure"}
    | {"classrooms", "links", "gates", "attacks", "attack_generators"}
)
UNITS = {"_per_s": "/s", "_s": "s", "_min": "min", "_gbps": "Gbit/s"}
STATISTICS = frozenset({"mean", "sd", "cv"})  # of a distribution: "service time, mean"


def parameter_label(key: str) -> str:
    """A dotted path in a few words for tables and charts: the containers (services,
    templates, behaviour...) left out, underscores as spaces, the unit at the end:
    ``behaviour.retry_probability`` is "retry probability",
    ``templates.ent.services.portal.service_time.mean_s`` "ent portal service time,
    mean (s)", ``cohorts.*_pupils.connect.sd_min`` "pupils connect, sd (min)"."""
    words, unit = parameter_words(key)
    return f"{words} ({unit})" if unit else words


def _words(part: str) -> str:
    """A part of a path in words: underscores as spaces, a pattern's wildcards left out
    (``*_pupils``, the pupil cohorts, is "pupils")."""
    return re.sub(r"[*?]|\[[^\]]*\]", "", part).strip("_").replace("_", " ")


def parameter_words(key: str) -> tuple[str, str]:
    """:func:`parameter_label` as words and unit apart (``("patience, mean", "s")``), for
    a threshold written after the words: "patience, mean > 25 s"."""
    parts = [p for p in key.split(".") if p not in CONTAINERS]
    if not parts:
        return key, ""
    *head, last = parts
    unit = ""
    for suffix, shown in UNITS.items():
        if last.endswith(suffix) and last != suffix.lstrip("_"):
            last, unit = last.removesuffix(suffix), shown
            break
    words = " ".join(_words(p) for p in head)
    last_words = last.replace("_", " ")
    if head and last in STATISTICS:
        return f"{words}, {last_words}", unit
    return " ".join(filter(None, (words, last_words))), unit
