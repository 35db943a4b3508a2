"""The answer of an options study (``sim options``), for :mod:`sim.outputs.report.page`.

It answers the two questions of the decision maker in that order: what went wrong in
the morning as it was (from the baseline's replications and its first replication's
full results: which services were down, when, and how the attempts failed), and which
option would have fixed it (each option's effect, with its interval, and whether it
meets the target at the study's one-sided confidence). Numbers are read from the files
``sim options`` wrote; only the failure counts by cause are summed over the minutes of
``baseline/timeseries.csv``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sim.measure.metrics import OPTIONS_COLUMNS, STUDY_METRIC
from sim.outputs.report import html as h
from sim.outputs.report import scenario as rs
from sim.outputs.report.option_words import what_it_is

SHOWN_OUTAGES = 3  # services named in the answer; the table lists more
MAX_SERVICES = 12
CAUSES = {
    "fail_timeout": "timed out",
    "fail_rejected": "were rejected (queue full)",
    "fail_error": "failed on a crashed or unreachable server, or got an error",
    "fail_blocked": "were blocked by a defence",
    "fail_quota": "were turned away by a quota or a session cap",
    "fail_full": "found the class full",
}
SYMBOLS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}
PARAGRAPH = "\n\n"  # the answer's paragraphs: verdict, what went wrong, the options


def options_kind(folder: Path, manifest: dict) -> tuple[list[str], str, str]:
    """Sentences, tables and title of an options study folder."""
    study = rs.json_file(folder / "options.json")
    base, *options = study["options"]
    verdict, details = _options_sentences(study, options)
    verdict += robust_sentences(study)
    wrong = [_baseline_sentence(study, base), *_what_went_wrong(folder / "baseline")]
    said = [PARAGRAPH.join([" ".join(verdict), " ".join(wrong), " ".join(details)])]
    tables = _options_table(study, [base, *options])
    tables += _worlds_ranges(study)
    tables += _outage_table(folder / "baseline")
    title = f"{study['scenario']}: what went wrong, and which option would have fixed it"
    return said, tables, title


def _pm(entry: dict[str, Any], metric: str) -> str:
    e = entry["estimates"].get(metric) or {}
    return h.fmt_ci(metric, e.get("mean"), e.get("low"), e.get("high"))


def _baseline_sentence(study: dict[str, Any], base: dict[str, Any]) -> str:
    scale = f", at scale {study['scale']:g}" if study.get("scale", 1) != 1 else ""
    return (
        f"As simulated ({base['n']} replications{scale}; mean and 95 % confidence interval), "
        f"{_pm(base, STUDY_METRIC)} of the people with a class were in class within 5 minutes "
        f"of its start, {_pm(base, 'kpi.share_in_class')} got in at all, and "
        f"{_pm(base, 'kpi.gave_up')} gave up for the morning."
    )


def _what_went_wrong(folder: Path) -> list[str]:
    """Outages and failure causes of the baseline's first replication."""
    if not (folder / "summary.json").is_file():
        return []
    s = rs.run_summary(folder / "summary.json")
    services, k = s.services, s.kpi
    down = sorted(
        ((n, v) for n, v in services.items() if v.get("unavailable_minutes")),
        key=lambda nv: -nv[1]["unavailable_minutes"],
    )
    said = []
    if down:
        worst = ", ".join(f"{n} {rs.downtime(v)}" for n, v in down[:SHOWN_OUTAGES])
        said.append(
            f"What went wrong (first replication): {len(down)} of {len(services)} services "
            "were unavailable for a while (at least half their requests failing); "
            f"the longest: {worst}."
        )
    else:
        said.append("No service was unavailable in the first replication.")
    causes = _failure_causes(folder / "timeseries.csv")
    total = sum(causes.values())
    if total:
        parts = [
            f"{h.pct(n / total, 0)} {CAUSES[c]}"
            for c, n in sorted(causes.items(), key=lambda cn: -cn[1])
            if n / total >= 0.01
        ]
        said.append(
            f"{h.pct(k.get('failed_attempts_share'))} of {k.get('attempts', 0):,} attempts "
            f"failed: {', '.join(parts)}."
        )
    if k.get("attack_waves"):
        said.append(
            f"{k['attack_waves']:,} attack waves sent {k.get('attack_requests', 0):,} requests, "
            f"{h.pct(k.get('attack_blocked_share'))} of them blocked."
        )
    return said


def _failure_causes(path: Path) -> dict[str, int]:
    if not path.is_file():
        return {}
    totals = dict.fromkeys(CAUSES, 0)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for cause in CAUSES:
                totals[cause] += int(float(row.get(cause) or 0))
    return totals


def _options_sentences(
    study: dict[str, Any], options: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """The verdict first (how many options meet the target, which is best), then each
    option's figures."""
    target = study.get("target")
    effects = {o["name"]: _effect(o) for o in options}
    best = study.get("best")
    chosen = next((o for o in options if o["name"] == best), None)
    words = what_it_is(chosen) if chosen else ""
    why = f" ({words})" if chosen and words != chosen["name"] else ""
    if target is None:
        listed = "; ".join(f"{name}: {text}" for name, text in effects.items())
        what = h.label(STUDY_METRIC)
        details = [f"Effect of each option on the {what} (against the baseline): {listed}."]
        verdict = [f"Of {len(options)} options, “{best}” does best{why}."] if best else []
        return verdict, details
    metric = target["metric"]
    goal = f"{h.label(metric)} {SYMBOLS[target['op']]} {h.fmt(metric, target['value'])}"
    level = f"{study['confidence'] * 100:g} %"
    met = [o for o in options if (o.get("target") or {}).get("verdict") == "holds"]
    rest = [o for o in options if o not in met]
    verdict = [
        f"Target: {goal}, at {level} one-sided confidence. The scenario as it is misses it"
        if (study["options"][0].get("target") or {}).get("verdict") != "holds"
        else f"Target: {goal}, at {level} one-sided confidence. The scenario as it is meets it"
    ]
    verdict[0] += f"; {len(met)} of {len(options)} options meet it."
    if chosen is not None:
        verdict.append(f"The best is “{best}”{why}.")
    verdict += _cheapest_sentence(study, options)
    details = []
    if met:
        details.append(
            "Options that meet it: "
            + "; ".join(f"{o['name']} ({_pm(o, metric)}, {effects[o['name']]})" for o in met)
            + "."
        )
    if rest:
        details.append(
            "Options that do not: "
            + "; ".join(f"{o['name']} ({_pm(o, metric)}, {_verdict(o)})" for o in rest)
            + "."
        )
    return verdict, details


def _cheapest_sentence(study: dict[str, Any], options: list[dict[str, Any]]) -> list[str]:
    """The cheapest option that meets the target, with its cost (studies with costs,
    whose options.json says which: ``cheapest_meeting_target``)."""
    if "cheapest_meeting_target" not in study:
        return []
    name = study["cheapest_meeting_target"]
    if name is None:
        return ["No option meets it at any cost."]
    option = next(o for o in options if o["name"] == name)
    return [f"The cheapest that meets it is “{name}”, at {_cost(study, option)}."]


def _cost(study: dict[str, Any], option: dict[str, Any]) -> str:
    """An option's mean cost in the study's currency, with its 95 % confidence interval
    where the replications differ (a fixed platform's cost does not vary)."""
    metric, currency = study["cost_metric"], study["currency"]
    e = (option.get("cost") or {}).get(metric) or {}
    mean, low, high = e.get("mean"), e.get("low"), e.get("high")
    text = f"{h.fmt(metric, mean)} {currency}"
    if low is not None and high is not None and low != high:
        text += f" (95 % CI {h.fmt(metric, low)} to {h.fmt(metric, high)} {currency})"
    return text


def _effect(option: dict[str, Any]) -> str:
    d = option["differences"].get(STUDY_METRIC)
    if not d or d.get("mean") is None:
        return "effect undefined"
    sig = "significant" if d["significant"] else "not significant"
    return f"{h.fmt_diff(STUDY_METRIC, d['mean'])} by start + 5 min, {sig}"


def _verdict(option: dict[str, Any]) -> str:
    verdict = (option.get("target") or {}).get("verdict")
    return {"fails": "misses it", "unsure": "unsure: its interval straddles the target"}.get(
        verdict, "not assessed"
    )


def _options_table(study: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    first, *others = OPTIONS_COLUMNS
    header = [
        "option",
        "what it is",
        OPTIONS_COLUMNS[first],
        "difference from baseline (95 % CI)",
        *(OPTIONS_COLUMNS[m] for m in others),
    ]
    target = (study.get("target") or {}).get("metric")
    judged = [target] if target and target != first else []  # the target's own metric
    header[3:3] = [h.label(m) for m in judged]
    priced = "cost_metric" in study  # a study with costs: its cost after the verdict
    if study.get("target"):
        header.append("target")
    robust = any(o.get("robust") for o in rows)
    if robust:
        header.append("plausible worlds meeting it")
    if priced:
        header.append(h.label(study["cost_metric"]))
    body = []
    for o in rows:
        d = o["differences"].get(first)
        diff = ""
        if d:
            bounds = h.interval(first, d.get("low"), d.get("high"), signed=True)
            diff = f"{h.fmt_diff(first, d.get('mean'))} ({bounds})"
        cells = [
            o["name"],
            what_it_is(o) if o["changes"] else o["description"],
            _pm(o, first),
            *(_pm(o, m) for m in judged),
            diff,
            *(_pm(o, m) for m in others),
        ]
        if study.get("target"):
            cells.append((o.get("target") or {}).get("verdict", "–"))
        if robust:
            cells.append(_robust_cell(o.get("robust")))
        if priced:
            cells.append(_cost(study, o))
        body.append(cells)
    note = h.paragraphs(
        [
            f"Every option ran the same {study['replications']} replications as the baseline "
            f"(seed {study['seed']}, common random numbers), so a difference is the effect of "
            "the option; it is significant when its interval excludes 0."
        ]
    )
    return h.table(header, body, numeric_from=2) + note


def _outage_table(folder: Path) -> str:
    if not (folder / "summary.json").is_file():
        return ""
    services = rs.run_summary(folder / "summary.json").services
    down = sorted(
        ((n, v) for n, v in services.items() if v.get("unavailable_minutes")),
        key=lambda nv: -nv[1]["unavailable_minutes"],
    )
    if not down:
        return ""
    rows = [
        (
            n,
            f"{v['unavailable_minutes']} min{'' if rs.one_stretch(v) else ' in total'}",
            f"{v['unavailable_from']}-{v['unavailable_until']}",
            f"{v.get('crashes', 0):,}",
            h.pct(v.get("utilization"), 0),
        )
        for n, v in down[:MAX_SERVICES]
    ]
    header = ["service", "unavailable", "from-until", "crashes", "utilisation"]
    return "<h3>Unavailable services in the baseline (first replication)</h3>" + h.table(
        header, rows
    )


def robust_sentences(study: dict[str, Any]) -> list[str]:
    """How robust each verdict is: the share of the plausible worlds in which the option
    meets the target (with n and its 95 % interval) and where it fails, from
    options.json's ``robust`` entries (:mod:`sim.experiments.robust`)."""
    judged = [o for o in study["options"] if (o.get("robust") or {}).get("worlds")]
    if not judged:
        return []
    n = judged[0]["robust"]["worlds"]
    said = [
        f"Across {n} plausible worlds (the study's assumptions drawn in their ranges, each "
        "option run once in each):"
    ]
    for o in judged:
        r = o["robust"]
        name = "the scenario as it is" if o["name"] == "baseline" else f"“{o['name']}”"
        text = (
            f"{name} meets the target in {h.pct(r['share'], 0)} of them ({r['meets']} of "
            f"{r['worlds']}, 95 % interval {h.pct(r['low'], 0)} to {h.pct(r['high'], 0)})"
        )
        said.append(text + (f"; {r['fails_when']}." if r.get("fails_when") else "."))
    return said


def _robust_cell(robust: dict[str, Any] | None) -> str:
    if not robust or not robust.get("worlds"):
        return "–"
    return f"{robust['meets']} of {robust['worlds']} ({h.pct(robust['share'], 0)})"


def _worlds_ranges(study: dict[str, Any]) -> str:
    """The ranges the plausible worlds were drawn in (the study's [uncertain] table)."""
    uncertain = study.get("uncertain") or {}
    if not uncertain.get("ranges"):
        return ""
    items = [f"{key}: {low:g} to {high:g}" for key, (low, high) in uncertain["ranges"].items()]
    intro = (
        f"The {uncertain['worlds']} plausible worlds are a Latin hypercube of these ranges "
        f"(seed {study['seed']}), each option's changes set on top of the world's values; "
        "each world's runs are in worlds.csv."
    )
    return "<h3>Plausible worlds</h3>" + h.paragraphs([intro]) + h.bullets(items)
