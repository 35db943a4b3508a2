"""What an option of a study is, in words, for the report and the brief.

An option is written as overrides (``templates.ent.services.portal.servers=32``), which
say exactly what changes to an engineer and nothing to a minister. So the pages show the
option's own ``description``; the overrides go to the report's appendix ("Exact
changes"). An option without a description gets a phrase made from the schema's own
descriptions of the fields it changes ("Servers behind the load balancer: 3 (login)"),
and, when no field can be described, nothing: the page then shows its name only.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from sim.config.scenario import Scenario
from sim.config.schema_walk import child_schema, is_model, is_union, strip_annotated
from sim.outputs.report import html as h
from sim.outputs.report.words import MISSING

SIMPLE_VALUE = re.compile(r'^"?([^"{}\[\]=]*)"?$')  # a number, a word or a quoted string
UNIT_SUFFIX = " (s)"  # how a schema description gives the unit of seconds


def what_it_is(option: dict[str, Any]) -> str:
    """The option in plain words: its description, else a phrase made from the schema
    (:func:`described_changes`), else its name."""
    description = (option.get("description") or "").strip()
    if description:
        return description
    return described_changes(option.get("changes") or []) or option.get("name") or MISSING


def described_changes(changes: list[str]) -> str | None:
    """The changes of an option in the schema's words, None if none can be described; the
    ones that cannot are counted ("and 2 more changes")."""
    phrases, unknown = [], 0
    for change in changes:
        phrase = _change_phrase(change)
        if phrase is None:
            unknown += 1
        else:
            phrases.append(phrase)
    if not phrases:
        return None
    if unknown:
        phrases.append(f"and {unknown} more change{'s' * (unknown != 1)}")
    text = "; ".join(phrases)
    return text[0].upper() + text[1:]


def _change_phrase(change: str) -> str | None:
    """One override as "what the field is: value (whose)"; None when the path is not a
    field with a description. Another scenario file is named as such."""
    if change.startswith("scenario "):
        return f"the scenario of file {change.removeprefix('scenario ')}"
    path, sep, value = change.partition("=")
    if not sep:
        return None
    found = _field(path.strip().split("."))
    if found is None:
        return None
    owners, description = found
    description = description.split(":")[0].strip()  # the words before an explanation
    unit = ""
    if description.endswith(UNIT_SUFFIX):
        description, unit = description.removesuffix(UNIT_SUFFIX), " s"
    said = _value(value.strip())
    setting = f"{description}: {said}{unit}" if said else f"{description} changed"
    whose = ", ".join(o.replace("_", " ") for o in reversed(owners))
    return f"{setting} ({whose})" if whose else setting


def _field(parts: list[str]) -> tuple[list[str], str] | None:
    """Walk `parts` down the scenario schema: the names met on the way (a service, a
    cohort, a template: innermost last) and the description of the last field."""
    schema: Any = Scenario
    owners: list[str] = []
    description = None
    for part in parts:
        tp = _model_with(strip_annotated(schema), part)
        if is_model(tp):
            field = tp.model_fields.get(part)
            if field is None:
                return None
            description = field.description
        else:  # a key of a table of named things (services, cohorts, templates)
            owners.append(part)
        schema = child_schema(tp, part)
        if schema is None:
            return None
    return (owners, description) if description else None


def _model_with(tp: Any, part: str) -> Any:
    """`tp`, or for a union (a backoff, a service time: tables of several kinds) its
    first member with a field `part`."""
    if not is_union(tp):
        return tp
    members = [strip_annotated(a) for a in get_args(tp)]
    return next((m for m in members if is_model(m) and part in m.model_fields), tp)


def _value(text: str) -> str | None:
    """A value as one would read it: ``3``, ``09:00``; a list of plain values joined by
    commas; None for a table (said as "changed")."""
    if text.startswith("[") and text.endswith("]"):
        items = [i.strip() for i in text[1:-1].split(",") if i.strip()]
        values = [_value(i) for i in items]
        return ", ".join(v for v in values if v) if values and all(values) else None
    match = SIMPLE_VALUE.match(text)
    if match is None:
        return None
    value = match.group(1).strip()
    try:
        number = float(value)
    except ValueError:
        return value or None
    return f"{number:g}" if abs(number) < 1e6 else f"{number:,.0f}"


def exact_changes(study: dict[str, Any]) -> str:
    """The appendix of an options report: each option's overrides (or scenario file)
    exactly as the study file gives them, for whoever reruns or checks it."""
    items = []
    for o in study["options"][1:]:
        changes = o.get("changes") or []
        items.append(
            f"<li><strong>{h.esc(o['name'])}</strong>"
            + "".join(f"<br><code>{h.esc(c)}</code>" for c in changes)
            + "</li>"
        )
    intro = h.paragraphs(
        [
            "Each option's changes to the scenario, exactly as the study file gives them: "
            "overrides of its fields (as --set takes them), or another scenario file."
        ]
    )
    return intro + "<ul class=changes>" + "".join(items) + "</ul>"
