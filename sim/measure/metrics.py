"""The one registry of metrics: each name's words, unit, kind and range, so that a KPI is
called the same thing, written in the same unit and given the same kind of interval in
the terminal tables, CSV files, figures and reports.

A metric is ``kpi.<name>``, ``kpi.by_role.<role>.<name>``, ``kpi.by_cohort.<cohort>.<name>``
or ``services.<service>.<name>``. Per role and per cohort, the KPI keeps its words and the
group is named after them ("in class by class start + 5 min, pupils").

Words used once and for all (the glossary of docs/explanation/concepts.md says the same):

- *in class* (``in_class``, ``share_in_class*``, ``time_to_class*``): got in, that is
  seated in a lesson, or through every step of a journey that has no class (a portal,
  a session): the platform did its job for that person.
- *in a lesson* (the per-minute ``in_lesson`` series): seated in a virtual class at that
  minute; zero all morning where journeys have no class step.
- *barred*: refused by a policy gate (parents in school hours): neither a failure of the
  platform nor giving up, and left out of every share and percentile.
- *gave up*: stopped trying after failures, never got in.
- *unavailable* (a service's ``unavailable_minutes``): minutes in which at least half of its
  requests got no useful answer, or no server was up. Not the same as *availability*,
  the share of server-time its servers were up: an overloaded service with every server
  up has availability 1 and can still be unavailable for many minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ROLE_WORDS = {"pupil": "pupils", "teacher": "teachers", "other": "others (parents...)"}


@dataclass(frozen=True)
class Metric:
    """What a metric is called, in which unit it is written, and which values it can take.

    `kind` is ``share`` (a fraction, written in per cent), ``s`` (a duration) or ``num``
    (a count or another number); `low` and `high` bound its possible values, which
    bound its confidence intervals too (:func:`sim.experiments.execution.estimate`).
    """

    name: str
    label: str
    kind: str
    unit: str
    low: float = -math.inf
    high: float = math.inf
    none_text: str = "undefined"  # what a missing value (null in JSON) means

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high


_PEOPLE = "people"
KPIS: dict[str, tuple[str, str]] = {  # kpi name: (label, what a count counts)
    "people": ("people", _PEOPLE),
    "arrived": ("meant to connect during the run", _PEOPLE),
    "in_class": ("got in (in class)", _PEOPLE),
    "barred": ("barred by policy (not counted as failing)", _PEOPLE),
    "share_in_class": ("share who got in", ""),
    "share_in_class_5min_after_start": ("in class by class start + 5 min", ""),
    "gave_up": ("gave up for the morning", _PEOPLE),
    "too_late": ("got in after their lesson ended", _PEOPLE),
    "no_teacher": ("waited in the lobby until the end", _PEOPLE),
    "still_trying_at_end": ("still trying when the run ended", _PEOPLE),
    "time_to_class_p50_s": ("time to class, median", ""),
    "time_to_class_p95_s": ("time to class, 95th percentile", ""),
    "failed_attempts_share": ("share of attempts that failed", ""),
    "attempts": ("attempts", "attempts"),
    "failed_attempts": ("failed attempts", "attempts"),
    "peak_in_lesson": ("most people in a lesson at once", _PEOPLE),
    "classes_opened": ("classes opened", "classes"),
    "attack_waves": ("attack waves", "waves"),
    "attack_requests": ("attack requests", "requests"),
    "attack_blocked_share": ("share of attack requests blocked", ""),
    "legit_blocked_by_defence": ("legitimate requests blocked by defences", "requests"),
    "legit_lost_on_links": ("legitimate requests lost on flooded links", "requests"),
    "worst_unavailable_minutes": ("longest unavailability of any service (min)", ""),
}
NONE_TEXTS = {  # what a missing value means, where it has a meaning
    "time_to_class_p95_s": "unbounded: more than 5 % never got in",
    "time_to_class_p50_s": "unbounded: more than half never got in",
    "share_in_class_5min_after_start": "nobody has a class",
    "share_in_class": "nobody tried",
    "failed_attempts_share": "no attempt",
}
SERVICE_LABELS = {
    "utilization": "utilisation (busy share of workers)",
    "availability": "availability (share of server-time up)",
    "unavailable_minutes": "unavailable (min with half the requests failing)",
    "p95_wait_s": "95 % of queue waits under",
    "mean_wait_s": "mean queue wait",
}

KPI_MEANINGS = {  # what each KPI counts, in a sentence (docs/reference/metrics.md)
    "people": "people in the scenario (cohort members, and the arrivals drawn for sources)",
    "arrived": "people whose intended connect time fell within the run",
    "in_class": "people who got in: seated in a lesson, or through every step of a journey "
    "without a class step",
    "barred": "people a policy gate refused (a gate's blocked_roles): told so at once, no "
    "retry; left out of every share and percentile",
    "share_in_class": "in_class over the people who tried (arrived and not barred)",
    "share_in_class_5min_after_start": "of the people with a lesson (not parents, whose class "
    "start only anchors their connect time), the share in class by their class start + 5 min",
    "gave_up": "people who stopped trying after failures and never got in",
    "too_late": "people who got in after their lesson had ended",
    "no_teacher": "people who waited in the lobby until their lesson ended, no teacher came",
    "still_trying_at_end": "people still on their way when the run ended",
    "time_to_class_p50_s": "median time from the intended connect time (or the run start) to "
    "in class, less any wait for the teacher; people who never got in count as infinitely late",
    "time_to_class_p95_s": "95th percentile of the same times",
    "attempts": "attempts of people on their way (requests whose answer they wait for)",
    "failed_attempts": "attempts that failed: timeout, backlog full, server down, blocked, "
    "quota, class full",
    "failed_attempts_share": "failed_attempts over attempts",
    "peak_in_lesson": "most people seated in lessons in any minute (per-minute mean)",
    "classes_opened": "classes opened in the run",
    "attack_waves": "attack waves in the run (explicit and generated)",
    "attack_requests": "attack requests sent to services (application floods)",
    "attack_blocked_share": "share of attack requests that defences blocked",
    "legit_blocked_by_defence": "legitimate requests blocked by a rate limit or scrubbing",
    "legit_lost_on_links": "legitimate requests lost on a flooded edge link",
    "worst_unavailable_minutes": "(options studies) the unavailable_minutes of the service "
    "that was unavailable longest",
}
SERVICE_MEANINGS = {  # what each service metric counts, likewise
    "capacity_workers": "workers of the service at the start (servers x workers per server)",
    "arrivals": "requests that reached the service (people's attempts and the requests of "
    "sessions and lessons; attack traffic apart)",
    "served": "requests the service worked on to the end",
    "abandoned": "requests whose client's patience ran out before the answer (a timeout)",
    "rejected": "requests refused because the server's backlog was full",
    "wasted": "requests served after their client had given up: work for nobody",
    "refused": "requests sent to a server that was down (connection refused)",
    "crash_lost": "requests queued or in progress on a server when it crashed",
    "dropped": "queued requests removed because their client left (drop_abandoned)",
    "blocked": "legitimate requests blocked by a defence (rate limit, scrubbing)",
    "lost": "legitimate requests lost on a flooded edge link (no answer)",
    "mean_wait_s": "mean queue wait of the requests that started service (after the warm-up)",
    "p95_wait_s": "95th percentile of those queue waits",
    "utilization": "busy worker-time over the capacity of the servers",
    "mean_queue": "time-averaged number of requests waiting in the backlogs",
    "peak_queue": "most requests waiting at once",
    "availability": "share of server-time the servers were up",
    "crashes": "server crashes",
    "downtime_s": "time with no server up",
    "unavailable_minutes": "minutes in which at least half the requests got no useful answer, "
    "or no server was up",
    "unavailable_from": "clock time of the first such minute (null if none)",
    "unavailable_until": "clock time of the end of the last such minute (null if none)",
    "attack_requests": "attack requests sent to the service",
    "attack_blocked": "attack requests blocked by a defence",
    "attack_rejected": "attack requests refused because the backlog was full",
    "attack_served": "attack requests the service worked on to the end",
}

# compatibility views of the registry, for the report's words
LABELS = {f"kpi.{name}": words for name, (words, _) in KPIS.items()}
NONE_TEXT = {f"kpi.{name}": text for name, text in NONE_TEXTS.items()}


def metric(name: str) -> Metric:
    """The registry's entry for `name` (any metric a run, an experiment or a command
    reports; an unknown name gets words made from the name itself)."""
    if name.startswith(("kpi.by_role.", "kpi.by_cohort.")):
        kind, _, rest = name.removeprefix("kpi.").partition(".")
        group, _, base = rest.rpartition(".")
        entry = metric(f"kpi.{base}")
        who = ROLE_WORDS.get(group, group) if kind == "by_role" else group
        return Metric(name, f"{entry.label}, {who}", entry.kind, entry.unit, *entry.bounds,
                      entry.none_text)  # fmt: skip
    kind = kind_of(name)
    words = _words(name)
    low = 0.0 if not name.startswith("compare.") else -math.inf
    high = 1.0 if kind == "share" else math.inf
    base = name.rpartition(".")[2]
    return Metric(name, words, kind, unit(name), low, high, NONE_TEXTS.get(base, "undefined"))


def _words(name: str) -> str:
    if name.startswith("kpi.") and name.removeprefix("kpi.") in KPIS:
        return KPIS[name.removeprefix("kpi.")][0]
    if name.startswith("services."):
        service, _, base = name.removeprefix("services.").rpartition(".")
        return f"{service}: {SERVICE_LABELS.get(base, base.replace('_', ' '))}"
    return name.removeprefix("kpi.").replace("_", " ")


def label(name: str) -> str:
    """A metric's name for people: ``kpi.gave_up`` is "gave up for the morning"."""
    return metric(name).label if name.startswith("kpi.by_") else _words(name)


def kind_of(name: str) -> str:
    """How a metric is written: ``share`` (per cent), ``s`` (duration) or ``num``."""
    if "share" in name or name.endswith((".utilization", ".availability")):
        return "share"
    return "s" if name.endswith("_s") else "num"


def unit(name: str) -> str:
    """The unit of a metric's values, for an axis: ``%``, ``s``, ``min`` or what it counts."""
    kind = kind_of(name)
    if kind == "share":
        return "%"
    if kind == "s":
        return "s"
    if name.endswith("_minutes"):
        return "min"
    base = name.rpartition(".")[2]
    counted = KPIS.get(base, ("", ""))[1] if name.startswith("kpi.") else ""
    return counted or "count"


def axis_label(name: str) -> str:
    """``label (unit)``, the unit left out where the label already ends with it."""
    text, what = label(name), unit(name)
    return text if text.endswith(f"({what})") else f"{text} ({what})"


def interval_method(name: str) -> str:
    """How the confidence interval of `name`'s mean over replications is made, in words
    for the tables and the report (see :func:`sim.experiments.execution.estimate`)."""
    low, high = metric(name).bounds
    if math.isfinite(low) and math.isfinite(high):
        return f"Student t, within [{low:g}, {high:g}]"
    if math.isfinite(low):
        return f"Student t, at least {low:g}"
    return "Student t"


def meaning(name: str, default: str | None = None) -> str:
    """What the metric `name` counts, in a sentence (per role or cohort: the KPI's own);
    `default` for a name the registry does not define, else KeyError."""
    meanings = SERVICE_MEANINGS if name.startswith("services.") else KPI_MEANINGS
    base = name.rpartition(".")[2]
    if base in meanings:
        return meanings[base]
    if default is None:
        raise KeyError(f"no meaning for the metric {name!r} in sim.measure.metrics")
    return default
