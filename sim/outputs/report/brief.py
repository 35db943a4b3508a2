"""The brief: one page of an options study for people who decide, not simulate.

It answers in the order a minister asks: what is the answer (one sentence), what went
wrong (three lines, with clock times), what are the options (a table: what each is, what
it costs, whether it meets the target, how robust that is), one figure, and what was
assumed. Numbers are said as a person says them (:mod:`sim.outputs.report.words`); the
precise figures, with their intervals, are in the rest of the report. No override
(``services.login.servers=3``) appears: options are shown by their description
(:mod:`sim.outputs.report.option_words`).

It reads the files ``sim options`` wrote: ``options.json`` (with, when present, each
option's ``cost`` and ``robust`` entries and the study's ``cheapest_meeting_target``),
``baseline/summary.json`` and ``baseline/timeseries.csv`` (the first replication of the
morning as it was), a figure, and the opening notes of the study and scenario files,
whose lines ``# ASSUMPTION: ...`` are the main assumptions it lists.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from sim.measure.metrics import ROLE_WORDS, kind_of, label
from sim.outputs.report import html as h
from sim.outputs.report import scenario as rs
from sim.outputs.report.option_words import what_it_is
from sim.outputs.report.words import (
    MISSING,
    count_words,
    duration_words,
    money_words,
    percent_words,
    share_words,
)

COST = "kpi.cost.total"  # a study's cost metric when it does not name one
FIGURES = (  # the one figure: the cost-risk frontier when drawn, else the forest plot
    ("frontier.png", "Cost against the target: each option with its 95 % interval."),
    ("options.png", "Each option against the target: its mean and 95 % interval."),
)
SHOWN_OUTAGES = 2
MAX_ASSUMPTIONS = 5
ASSUMPTION = re.compile(r"^ASSUMPTION:\s*(.*)$")
VERDICTS = {"holds": "yes", "fails": "no", "unsure": "not sure"}
CAUSES = {  # why attempts failed, said plainly (the columns of timeseries.csv)
    "fail_timeout": "people gave up waiting for a page",
    "fail_rejected": "servers were full",
    "fail_error": "servers had crashed or could not be reached",
    "fail_blocked": "a defence blocked them",
    "fail_quota": "a quota or a session cap turned them away",
    "fail_full": "the class was full",
}
BASELINE_NAME = "The morning as it was"


def brief(
    folder: Path, study: dict[str, Any], manifest: dict[str, Any], *, alone: bool = True
) -> str:
    """The brief's HTML (inside its section): answer, what went wrong, options, figure,
    assumptions, and, `alone` (not atop the full report), where the precise figures are."""
    parts = [
        h.paragraphs([answer(study)], "headline"),
        "<h3>What went wrong</h3>",
        h.bullets(what_went_wrong(folder, study)),
        "<h3>The options</h3>",
        options_table(study),
        '<div class="beside">',  # the figure and the assumptions side by side: one page
        _figure(folder),
        '<div class="assumed"><h3>What was assumed</h3>',
        h.bullets(assumed(folder, study, manifest)),
        "</div></div>",
    ]
    if alone:
        where = (
            "Figures rounded as one says them; the precise ones, with their 95 % confidence "
            "intervals, and each option's exact changes: report.html (sim report)."
        )
        parts.append(h.paragraphs([where], "small"))
    return "".join(parts)


# ---------------------------------------------------------------- the answer


def answer(study: dict[str, Any]) -> str:
    """The answer in one sentence: did the morning miss the target, how many options meet
    it, the best one and the cheapest one that does."""
    base, *options = study["options"]
    target = study.get("target")
    best = study.get("best")
    cheapest = study.get("cheapest_meeting_target")
    named = _named(best, cheapest, study)
    if target is None:
        return f"Of {len(options)} options, “{best}” does best." if best else "No option stood out."
    goal = target_words(target)
    met = [o for o in options if _verdict(o) == "holds"]
    morning = {"holds": "met", "fails": "missed"}.get(_verdict(base) or "", "may have missed")
    if not met:
        return (
            f"The morning as it was {morning} the target ({goal}), and none of the "
            f"{len(options)} options studied would surely have met it."
        )
    return (
        f"The morning as it was {morning} the target ({goal}); {len(met)} of the "
        f"{len(options)} options would have met it{named}."
    )


def _named(best: str | None, cheapest: str | None, study: dict[str, Any]) -> str:
    """ ", the best being “X”, the cheapest “Y” (about 1,200 EUR)"."""
    said = f", the best being “{best}”" if best else ""
    if cheapest:
        option = next((o for o in study["options"] if o["name"] == cheapest), {})
        cost = _cost(option, study)
        price = f" ({cost})" if cost != MISSING else ""
        said += f"{',' if said else ''} the cheapest “{cheapest}”{price}"
    return said


def target_words(target: dict[str, Any]) -> str:
    """The target as one says it: "95 % of pupils in class within 2 minutes of when they
    meant to connect"; the registry's label for a metric without words of its own."""
    metric, op, value = target["metric"], target["op"], target["value"]
    group, name = _group(metric)
    if name == "time_to_class_p95_s" and op in ("<=", "<"):
        return f"95 % of {group} in class within {_exact_time(value)} of when they meant to connect"
    if name == "time_to_class_p50_s" and op in ("<=", "<"):
        return f"half of the {group} in class within {_exact_time(value)}"
    if name == "share_in_class_5min_after_start" and op in (">=", ">"):
        return f"{value * 100:g} % of {group} in class by 5 minutes after their class starts"
    if name == "share_in_class" and op in (">=", ">"):
        return f"{value * 100:g} % of {group} in class at all"
    shown = f"{value * 100:g} %" if kind_of(metric) == "share" else f"{value:g}"
    words = {"<=": "at most", "<": "below", ">=": "at least", ">": "above"}[op]
    return f"{label(metric)} {words} {shown}"


def _group(metric: str) -> tuple[str, str]:
    """Whom a metric counts, in words, and its base name: ``kpi.by_role.pupil.x`` is
    ("pupils", "x")."""
    parts = metric.split(".")
    if len(parts) == 4 and parts[1] == "by_role":
        return ROLE_WORDS.get(parts[2], parts[2]), parts[3]
    if len(parts) == 4 and parts[1] == "by_cohort":
        return f"the {parts[2].replace('_', ' ')} cohort", parts[3]
    return "people", parts[-1]


def _exact_time(seconds: float) -> str:
    """A target's time, exactly as set: 120 -> "2 minutes", 90 -> "90 seconds"."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = seconds / 60
        return f"{minutes:g} minute{'s' * (minutes != 1)}"
    return f"{seconds:g} seconds"


def _verdict(option: dict[str, Any]) -> str | None:
    return (option.get("target") or {}).get("verdict")


# ---------------------------------------------------------------- what went wrong


def what_went_wrong(folder: Path, study: dict[str, Any]) -> list[str]:
    """Three lines on the morning as it was: the services down and when (its first
    replication), the people who were late or never got in (the mean over replications),
    and why attempts failed (attacks too)."""
    summary = folder / "baseline" / "summary.json"
    run = rs.run_summary(summary) if summary.is_file() else None
    lines = [_outages(run.services) if run else None, _people(study)]
    if run:
        lines.append(_failures(run.kpi, folder / "baseline" / "timeseries.csv"))
    return [line for line in lines if line]


def _outages(services: dict[str, dict[str, Any]]) -> str:
    down = sorted(
        ((n, v) for n, v in services.items() if v.get("unavailable_minutes")),
        key=lambda nv: -nv[1]["unavailable_minutes"],
    )
    if not down:
        return f"None of the {len(services)} services was unavailable for a whole minute."
    first = min(v.get("unavailable_from") or "99:99" for _, v in down)
    worst = ", ".join(
        f"{_service(n)} for {duration_words(v['unavailable_minutes'] * 60)}"
        f"{'' if rs.one_stretch(v) else ' in all'} between "
        f"{v.get('unavailable_from')} and {v.get('unavailable_until')}"
        for n, v in down[:SHOWN_OUTAGES]
    )
    many = f"{len(down)} of {len(services)} services were" if len(down) > 1 else "one service was"
    return f"From {first}, {many} unavailable for a while; the longest: {worst}."


def _service(name: str) -> str:
    """A service's name, readable: ``grand_est/portal`` is "the grand est portal service"."""
    return f"the {name.replace('/', ' ').replace('_', ' ')} service"


def _people(study: dict[str, Any]) -> str | None:
    """Who was late and who never got in, in the target's group (pupils, usually)."""
    target = study.get("target") or {}
    metric = target.get("metric", "kpi.share_in_class")
    parts = metric.split(".")
    prefix = ".".join(parts[:3]) + "." if len(parts) == 4 else "kpi."
    group = _group(f"{prefix}x")[0]
    estimates = study["options"][0].get("estimates") or {}

    def mean(name: str) -> float | None:
        return (estimates.get(prefix + name) or {}).get("mean")

    got_in, on_time, p95 = (
        mean(n)
        for n in ("share_in_class", "share_in_class_5min_after_start", "time_to_class_p95_s")
    )
    said = []
    if got_in is not None:
        missing = 1 - got_in
        said.append(
            f"{_capital(share_words(missing))} {group} never got in"
            if missing > 0
            else f"every one of the {group} got in in the end"
        )
    if p95 is not None and p95 >= 1:
        said.append(f"1 in 20 waited more than {duration_words(p95)}")
    if on_time is not None and on_time < 1:
        said.append(f"{share_words(1 - on_time)} were not in class 5 minutes after it started")
    return f"{_capital('; '.join(said))} (on average)." if said else None


def _failures(kpi: dict[str, Any], timeseries: Path) -> str | None:
    attempts, share = kpi.get("attempts"), kpi.get("failed_attempts_share")
    said = []
    if attempts and share:
        causes = failure_counts(timeseries)
        main = max(causes, key=causes.__getitem__) if any(causes.values()) else None
        why = f", mostly because {CAUSES[main]}" if main else ""
        said.append(
            f"Of {count_words(attempts)} attempts to connect, {share_words(share)} failed{why}"
        )
    if kpi.get("attack_waves"):
        blocked = kpi.get("attack_blocked_share")
        stopped = f", {share_words(blocked)} of their requests blocked" if blocked else ""
        said.append(f"{count_words(kpi['attack_waves'])} attack waves hit the platform{stopped}")
    return "; ".join(said) + "." if said else None


def failure_counts(path: Path) -> dict[str, int]:
    """Failed attempts by cause over the morning (``fail_*`` columns of timeseries.csv)."""
    totals = dict.fromkeys(CAUSES, 0)
    if not path.is_file():
        return totals
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for cause in CAUSES:
                totals[cause] += int(float(row.get(cause) or 0))
    return totals


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------- the options


def options_table(study: dict[str, Any]) -> str:
    """One row per option, the morning as it was first: what it is, its cost, whether it
    meets the target (with its figure, rounded) and how robust that is; the cost and
    robustness columns only when the study has them."""
    rows = study["options"]
    has_cost = any(o.get("cost") for o in rows)
    has_robust = any(o.get("robust") for o in rows)
    target = study.get("target")
    columns = [("option", "name"), ("what it is", "what")]
    full = ", full size" if _scale(study) < 1 else ""  # see _cost
    columns += [(f"cost{full}", "short")] if has_cost else []
    columns += [("meets the target?", "meets")] if target else []
    columns += [("how robust (plausible worlds where it meets it)", "robust")] if has_robust else []
    body = []
    for i, o in enumerate(rows):
        cells = [_option_name(o, study, i == 0), "no change" if i == 0 else what_it_is(o)]
        cells += [_cost(o, study)] if has_cost else []
        cells += [_meets(o, target)] if target else []
        cells += [_robust(o)] if has_robust else []
        body.append(cells)
    return _table(columns, body)


def _table(columns: list[tuple[str, str]], rows: list[list[str]]) -> str:
    """A table whose cells carry their column's class (short ones are kept on one line)."""
    head = "".join(f'<th class="{cls}">{h.esc(name)}</th>' for name, cls in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{cls}">{h.esc(c)}</td>' for (_, cls), c in zip(columns, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="options"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _option_name(option: dict[str, Any], study: dict[str, Any], baseline: bool) -> str:
    if baseline:
        return BASELINE_NAME
    marks = []
    if option["name"] == study.get("best"):
        marks.append("best")
    if option["name"] == study.get("cheapest_meeting_target"):
        marks.append("cheapest meeting the target")
    return f"{option['name']} ({', '.join(marks)})" if marks else option["name"]


def _cost(option: dict[str, Any], study: dict[str, Any]) -> str:
    """The option's mean cost (the study's cost metric), rounded, for the whole platform:
    a study run at a scale has costs of that scale (servers and defences alike), so they
    are divided by it."""
    entry = (option.get("cost") or {}).get(study.get("cost_metric") or COST) or {}
    currency = study.get("currency") or entry.get("currency") or entry.get("unit") or ""
    mean = entry.get("mean")
    return money_words(None if mean is None else mean / _scale(study), currency)


def _scale(study: dict[str, Any]) -> float:
    return float(study.get("scale") or 1.0)


def _meets(option: dict[str, Any], target: dict[str, Any]) -> str:
    verdict = _verdict(option)
    said = VERDICTS.get(verdict or "", MISSING)
    mean = (option.get("target") or {}).get("mean")
    if said == MISSING or mean is None:
        return said
    return f"{said} ({_value_words(target['metric'], mean)})"


def _value_words(metric: str, value: float) -> str:
    """A target metric's value, rounded as said: a time in words, a share in per cent."""
    kind = kind_of(metric)
    if kind == "s":
        return duration_words(value)
    if kind == "share":
        return percent_words(value)
    return count_words(value)


def _robust(option: dict[str, Any]) -> str:
    """ "29 of 32 worlds; fails when ..." (the robust verdict's
    entry: its rule, without the rule's record, which the full report gives)."""
    r = option.get("robust")
    if not r or not r.get("worlds"):
        return MISSING
    said = f"{r.get('meets', 0)} of {r['worlds']} worlds"
    failing = r.get("fails_briefly") or r.get("fails_when")  # a folder of sim 0.2.0
    return f"{said}; {failing}" if failing else said


def _figure(folder: Path) -> str:
    for name, caption in FIGURES:
        if (folder / name).is_file() and not (folder / name).is_symlink():
            return h.figure(folder / name, caption)
    return ""


# ---------------------------------------------------------------- what was assumed


def assumed(folder: Path, study: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """The main assumptions: the ``# ASSUMPTION:`` lines of the study's and scenario's
    opening notes (else the behaviour the scenario gives people), how many mornings were
    simulated, and at what scale."""
    lines = [
        line for _, text in rs.original_notes(folder, manifest) for line in assumptions_in(text)
    ]
    if not lines and (folder / "scenario.toml").is_file():
        lines = [rs.overview(rs.load(folder / "scenario.toml")).split(". ", 1)[-1]]
    elif not lines and (folder / "baseline" / "scenario.toml").is_file():
        lines = [rs.overview(rs.load(folder / "baseline" / "scenario.toml")).split(". ", 1)[-1]]
    lines = lines[:MAX_ASSUMPTIONS]
    n = study.get("replications")
    said = f"Every option was simulated on the same {n} mornings (the same random draws)"
    scale = study.get("scale") or 1
    if scale != 1:
        said += (
            f", each at {scale * 100:g} % of its size with capacities scaled alike: "
            "a sketch, since the tipping points are sharp"
        )
    return [*lines, said + "."]


def assumptions_in(notes: str) -> list[str]:
    """The ``ASSUMPTION: ...`` lines of a file's opening notes (a line indented below one
    continues it)."""
    found: list[str] = []
    continuing = False
    for line in notes.splitlines():
        match = ASSUMPTION.match(line.strip())
        if match:
            found.append(_capital(match.group(1).strip()))
            continuing = True
        elif continuing and line.startswith(" ") and line.strip():
            found[-1] += " " + line.strip()
        else:
            continuing = False
    return [f for f in found if f]
