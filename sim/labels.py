"""Names and units of metrics for people: one place for the report's words and the
figures' axis labels, so that a KPI is called the same thing everywhere."""

from __future__ import annotations

LABELS = {
    "kpi.people": "people",
    "kpi.in_class": "got in (in class)",
    "kpi.share_in_class": "share who got in",
    "kpi.share_in_class_5min_after_start": "in class by class start + 5 min",
    "kpi.gave_up": "gave up for the morning",
    "kpi.time_to_class_p50_s": "time to class, median",
    "kpi.time_to_class_p95_s": "time to class, 95th percentile",
    "kpi.failed_attempts_share": "share of attempts that failed",
    "kpi.attempts": "attempts",
    "kpi.attack_waves": "attack waves",
    "kpi.attack_requests": "attack requests",
    "kpi.attack_blocked_share": "share of attack requests blocked",
    "kpi.legit_blocked_by_defence": "legitimate requests blocked by defences",
    "kpi.legit_lost_on_links": "legitimate requests lost on flooded links",
    "kpi.worst_unavailable_minutes": "longest outage of any service (min)",
}
NONE_TEXT = {  # what a missing (infinite) value means, where it has a meaning
    "kpi.time_to_class_p95_s": "unbounded: more than 5 % never got in",
    "kpi.time_to_class_p50_s": "unbounded: more than half never got in",
}
COUNT_UNITS = {  # what a count counts, where the name does not say
    "kpi.people": "people",
    "kpi.in_class": "people",
    "kpi.gave_up": "people",
    "kpi.attempts": "attempts",
}


def label(metric: str) -> str:
    """A metric's name for people: ``kpi.gave_up`` is "gave up for the morning"."""
    if metric in LABELS:
        return LABELS[metric]
    if metric.startswith("services."):
        service, _, name = metric.removeprefix("services.").rpartition(".")
        return f"{service}: {name.replace('_', ' ')}"
    return metric.removeprefix("kpi.").replace("_", " ")


def kind_of(metric: str) -> str:
    """How a metric is written: ``share`` (per cent), ``s`` (duration) or ``num``."""
    if "share" in metric or metric.endswith((".utilization", ".availability")):
        return "share"
    return "s" if metric.endswith("_s") else "num"


def unit(metric: str) -> str:
    """The unit of a metric's values, for an axis: ``%``, ``s``, ``min`` or what it counts."""
    kind = kind_of(metric)
    if kind == "share":
        return "%"
    if kind == "s":
        return "s"
    if metric.endswith("_minutes"):
        return "min"
    return COUNT_UNITS.get(metric, "count")


def axis_label(metric: str) -> str:
    """``label (unit)``, the unit left out where the label already ends with it."""
    text, what = label(metric), unit(metric)
    return text if text.endswith(f"({what})") else f"{text} ({what})"
