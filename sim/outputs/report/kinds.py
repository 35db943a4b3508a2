"""The answer and the key figures of each kind of results folder, for
:mod:`sim.outputs.report.page`.

One function per kind reads that kind's files and returns the sentences of the answer,
the tables (HTML) and the page title. Each sentence is computed from the numbers the
command wrote, never recomputed: the report says what the command printed, in words.
With replications, a figure is a mean with its 95 % confidence interval,
so that a reader sees at once how sure it is.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sim.measure import metrics
from sim.measure.metrics import ANSWER, ATTACK_KPIS, KEY_FIGURES, SWEEP_COLUMNS
from sim.outputs.report import html as h
from sim.outputs.report import scenario as rs
from sim.outputs.report.options import options_kind
from sim.outputs.report.sensitivity import sensitivity_kind

MAX_ROWS = 40  # variants or services shown; the CSV files hold them all
SYMBOLS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}


def _single(folder: Path, manifest: dict) -> tuple[list[str], str, str]:
    """One morning: who got in, how fast, and the service that failed first or worked
    hardest (where to look, or where the margin is smallest)."""
    s = rs.run_summary(folder / "summary.json")
    k, services = s.kpi, s.services
    said = [
        f"{h.pct(k['share_in_class'])} of people got in, "
        f"{h.pct(k['share_in_class_5min_after_start'])} within 5 minutes of their class "
        f"start; {k['gave_up']:,} gave up.",
        _timing(k),
    ]
    if k.get("barred"):
        said.insert(1, f"{k['barred']:,} were barred by policy (not counted as failing).")
    if services:
        worst = max(services, key=lambda n: metrics.trouble(services[n]))
        w = services[worst]
        if w.get("unavailable_minutes"):
            crashes = f" ({w['crashes']:,} crashes)" if w.get("crashes") else ""
            said.append(f"The hardest-hit service, {worst}, was {_outage(w)}{crashes}.")
        else:
            busiest = max(services, key=lambda n: services[n].get("utilization", 0))
            b = services[busiest]
            said.append(
                f"No service was unavailable; the busiest, {busiest}, averaged "
                f"{h.pct(b['utilization'], 0)} utilisation, 95 % of its queue waits under "
                f"{h.fmt(f'services.{busiest}.p95_wait_s', b.get('p95_wait_s'))}."
            )
    said += _attacks(k)
    names = [
        m
        for m in (*KEY_FIGURES, *_attack_rows(k))
        if m.removeprefix("kpi.") in k and metrics.shown(m, k[m.removeprefix("kpi.")])
    ]
    rows = [(h.label(m), h.fmt(m, k[m.removeprefix("kpi.")])) for m in names]
    tables = h.table(["measure", "value"], rows)
    ordered = sorted(services.items(), key=lambda kv: metrics.trouble(kv[1]), reverse=True)
    columns = metrics.REPORT_SERVICE_COLUMNS
    tables += "<h3>Services, hardest-hit first</h3>" + h.table(
        ["service", *columns.values()],
        [[name, *(_service_cell(name, m, v) for m in columns)] for name, v in ordered[:MAX_ROWS]],
    )
    tables += _groups_table("By role", k.get("by_role", {}))
    tables += _groups_table("By cohort", k.get("by_cohort", {}))
    return said, tables, f"{s.scenario}: one simulated morning (seed {s.seed})"


def _service_cell(service: str, metric: str, row: dict[str, Any]) -> str:
    """A cell of the services table of one run: a share to the per cent, the minutes
    unavailable with when they were, a count or a time in its unit."""
    if metric == "unavailable_minutes":
        return rs.downtime(row)
    name = f"services.{service}.{metric}"
    if h.kind_of(name) == metrics.SHARE:
        return h.pct(row.get(metric), 0)
    return h.fmt(name, row.get(metric))


def _groups_table(title: str, groups: dict[str, dict]) -> str:
    """Who got in, per role or per cohort: a planner's target is often the pupils' figure,
    and people barred by policy are shown apart, not as failures."""
    columns = metrics.GROUP_COLUMNS
    rows = [
        [name, *(h.fmt(f"kpi.{m}", g.get(m)) for m in columns)]
        for name, g in list(groups.items())[:MAX_ROWS]
        if g.get("people")
    ]
    if not rows:
        return ""
    return f"<h3>{title}</h3>" + h.table(["", *columns.values()], rows, numeric_from=1)


def _replications(folder: Path, manifest: dict) -> tuple[list[str], str, str]:
    """The same sentences as for one morning, each number with its 95 % interval:
    one run is an anecdote, and the reader must see how much the mornings vary."""
    s = rs.replications_summary(folder / "summary.json")
    e = s.estimates

    def pm(metric: str) -> str:
        est = e.get(metric)
        if est is not None and est.mean is None:
            return _missing_mean(metric, est)
        return h.fmt_ci(metric, *((est.mean, est.low, est.high) if est else (None,) * 3))

    def pm_mean(metric: str) -> str:
        est = e[metric]
        return _missing_mean(metric, est) if est.mean is None else h.fmt(metric, est.mean)

    said = [
        f"{pm('kpi.share_in_class')} of people got in, "
        f"{pm('kpi.share_in_class_5min_after_start')} within 5 minutes of their class "
        f"start; {pm('kpi.gave_up')} gave up (means over {s.replications} replications, "
        "with 95 % confidence intervals: Student t within each metric's range).",
    ]
    down = {m: v.mean or 0 for m, v in e.items() if m.endswith(".unavailable_minutes")}
    if down and max(down.values()) > 0:
        worst = max(down, key=down.__getitem__)
        service = worst.removeprefix("services.").rpartition(".")[0]
        said.append(
            f"The hardest-hit service, {service}, was unavailable {pm(worst)} minutes on average."
        )
    if s.precision is not None and not s.precision_reached:
        said.append(f"The requested precision ({s.precision:.0%}) was not reached.")
    rows = [
        (h.label(m), pm_mean(m), h.interval(m, e[m].low, e[m].high))
        for m in (*KEY_FIGURES, *ATTACK_KPIS)
        if m in e and (m not in ATTACK_KPIS or e[m].mean) and metrics.shown(m, e[m].mean)
    ]
    tables = h.table(["measure", "mean", "95 % confidence interval"], rows)
    services = sorted({m.split(".")[1] for m in e if m.startswith("services.")})
    services.sort(key=lambda name: -(down.get(f"services.{name}.unavailable_minutes") or 0))
    columns = metrics.REPORT_SERVICE_ESTIMATES
    tables += "<h3>Services (mean and 95 % confidence interval)</h3>" + h.table(
        ["service", *columns.values()],
        [[name, *(pm(f"services.{name}.{m}") for m in columns)] for name in services[:MAX_ROWS]],
    )
    return said, tables, f"{s.scenario}: {s.replications} simulated mornings"


def _sweep(folder: Path, manifest: dict) -> tuple[list[str], str, str]:
    """The range the key KPIs span over the variants, and which variants are at its ends:
    what the varied parameters can buy, at best and at worst."""
    with open(folder / "variants.csv", newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    params = header[1 : header.index("n")]
    name = rs.load(folder / "scenario.toml").name

    def point(row: dict) -> str:
        return ", ".join(f"{p.rsplit('.', 1)[-1]}={row[p]}" for p in params)

    reps = manifest.get("replications", "?")
    said = [f"{len(rows)} variants of {', '.join(params)}, {reps} replications each."]
    for metric in (m for m in ANSWER if h.kind_of(m) == metrics.SHARE):
        have = [r for r in rows if r.get(f"{metric}.mean")]
        if not have:
            continue
        lo = min(have, key=lambda r: float(r[f"{metric}.mean"]))
        hi = max(have, key=lambda r: float(r[f"{metric}.mean"]))
        what = "People who got in" if metric == "kpi.share_in_class" else h.label(metric)
        lo_v, hi_v = (h.fmt(metric, float(r[f"{metric}.mean"])) for r in (lo, hi))
        if lo_v == hi_v:
            said.append(f"{what[0].upper()}{what[1:]}: {lo_v} in every variant.")
        else:
            said.append(
                f"{what[0].upper()}{what[1:]}: from {lo_v} ({point(lo)}) to {hi_v} ({point(hi)})."
            )
    table_rows = []
    for row in rows[:MAX_ROWS]:
        cells = [h.pm_from_row(m, row) for m in SWEEP_COLUMNS]
        table_rows.append([row["variant"], *(row[p] for p in params), row["n"], *cells])
    short = [p.rsplit(".", 1)[-1] for p in params]
    tables = h.table(["#", *short, "runs", *(h.label(m) for m in SWEEP_COLUMNS)], table_rows)
    if len(rows) > MAX_ROWS:
        tables += h.paragraphs([f"... {len(rows) - MAX_ROWS} more variants in variants.csv."])
    note = h.paragraphs(
        ["Each cell: mean and 95 % confidence interval (Student t, within the metric's range)."]
    )
    return said, tables + note, f"{name}: {len(rows)} variants side by side"


def _compare(folder: Path, manifest: dict) -> tuple[list[str], str, str]:
    """What the change from A to B does to the key KPIs, and whether each effect is real
    (its 95 % interval excludes 0) or could be luck."""
    c = rs.json_file(folder / "compare.json")
    diffs = c["differences"]
    changes = rs.differences(
        rs.load(folder / "scenario_a.toml"), rs.load(folder / "scenario_b.toml")
    )
    n = max((d["n"] for d in diffs.values()), default=0)
    what = "; ".join(changes[:3]) if changes else "no difference in the scenarios"
    effects = []
    for m in ANSWER:
        if m in diffs:
            d = diffs[m]
            verdict = "significant" if d["significant"] else "not significant"
            name = h.label(m).capitalize()
            effects.append(f"{name}: {h.fmt_diff(m, d['difference'])} ({_ci(m, d)}, {verdict})")
    said = [f"B against A ({what}), over {n} paired replications.", *(f"{e}." for e in effects)]
    sig = [h.label(m) for m in KEY_FIGURES if m in diffs and diffs[m]["significant"]]
    said.append(
        f"Significant differences among the key figures: {', '.join(sig)}."
        if sig
        else "None of the key figures differs significantly: every 95 % interval includes 0."
    )
    others = [m for m in sorted(diffs) if m not in KEY_FIGURES and diffs[m]["significant"]]
    shown = [m for m in KEY_FIGURES if m in diffs] + others[:8]
    rows = [
        (
            h.label(m),
            h.fmt(m, diffs[m]["mean_a"]),
            h.fmt(m, diffs[m]["mean_b"]),
            h.fmt_diff(m, diffs[m]["difference"]),
            _ci(m, diffs[m]),
            "yes" if diffs[m]["significant"] else "no",
        )
        for m in shown
    ]
    tables = h.table(["measure", "A", "B", "B − A", "95 % interval of B − A", "significant"], rows)
    names = f"{c['a']} (A) against {c['b']} (B)" if c["a"] != c["b"] else f"{c['a']}: B against A"
    return said, tables, names


def _plan(folder: Path, manifest: dict) -> tuple[list[str], str, str]:
    """The capacity that is enough, and the evidence: the value just below it fails."""
    p = rs.json_file(folder / "plan.json")
    level = f"{p['confidence'] * 100:g} %"
    lo, hi = p["range"]
    metric, target = p["target"]["metric"], p["target"]
    goal = f"{h.label(metric)} {SYMBOLS[target['op']]} {h.fmt(metric, target['value'])}"
    if p["found"]:
        said = [
            f"{p['parameter']} = {p['answer']} is the smallest value in {lo}..{hi} with "
            f"{goal} ({p['target_text']}, at {level} one-sided confidence)."
        ]
        below = [q for q in p["probes"] if q["value"] < p["answer"]]
        if below:
            q = max(below, key=lambda q: q["value"])
            state = "the result is unsure" if q["verdict"] == "unsure" else "it fails"
            said.append(f"With {q['value']}, {state}.")
        else:
            said.append("It is the lower end of the range searched: a lower value may do too.")
    else:
        said = [f"No value in {lo}..{hi} gives {goal} ({p['target_text']}): even {hi} fails."]
    said.append(f"{len(p['probes'])} values probed, assuming more capacity never hurts.")
    rows = [
        (q["value"], q["n"], h.fmt(metric, q["mean"]), _bounds(metric, q), q["verdict"])
        for q in sorted(p["probes"], key=lambda q: q["value"])
    ]
    header = ["value", "replications", f"mean {h.label(metric)}", "one-sided bounds", "verdict"]
    title = f"{p.get('scenario', folder.name)}: how much {p['parameter']} is needed"
    return said, h.table(header, rows), title


BUILDERS = {
    "single": _single,
    "replications": _replications,
    "sweep": _sweep,
    "compare": _compare,
    "plan": _plan,
    "options": options_kind,
    "sensitivity": sensitivity_kind,
}


# ---------------------------------------------------------------- small pieces


def _timing(k: dict[str, Any]) -> str:
    p50, p95 = k.get("time_to_class_p50_s"), k.get("time_to_class_p95_s")
    if p50 is None:
        return "More than half of the people never got in."
    tail = f"95 % within {h.seconds(p95)}" if p95 is not None else "more than 5 % never got in"
    half = f"Half the people were in class within {h.seconds(p50)} of when they meant to connect"
    return f"{half}; {tail}."


def _attacks(k: dict[str, Any]) -> list[str]:
    if not k.get("attack_waves"):
        return []
    said = (
        f"{k['attack_waves']:,} attack waves sent {k.get('attack_requests', 0):,} requests; "
        f"{h.pct(k.get('attack_blocked_share'))} of them were blocked"
    )
    if k.get("legit_blocked_by_defence"):
        said += f", and defences turned away {k['legit_blocked_by_defence']:,} legitimate requests"
    return [said + "."]


def _attack_rows(k: dict[str, Any]) -> tuple[str, ...]:
    return ATTACK_KPIS if k.get("attack_waves") or k.get("legit_blocked_by_defence") else ()


def _outage(service: dict[str, Any]) -> str:
    """A service's unavailable minutes in words: ``unavailable 130 minutes, from 07:53 to
    10:03`` for one stretch, else ``unavailable 130 minutes in total between 07:53 and
    10:36`` (not 130 minutes from 07:53: the minutes need not follow each other)."""
    minutes = service["unavailable_minutes"]
    first, until = service.get("unavailable_from"), service.get("unavailable_until")
    if first is None or until is None:
        return f"unavailable {minutes} minutes"
    if rs.one_stretch(service):
        return f"unavailable {minutes} minutes, from {first} to {until}"
    return f"unavailable {minutes} minutes in total between {first} and {until}"


def _missing_mean(metric: str, est: Any) -> str:
    """A mean over replications that has no value: unbounded in how many of them."""
    return metrics.missing_mean_text(metric, est.unbounded, est.n)


def _ci(metric: str, d: dict[str, Any]) -> str:
    return h.interval(metric, d.get("low"), d.get("high"), signed=True)


def _bounds(metric: str, probe: dict[str, Any]) -> str:
    return h.interval(metric, probe.get("low"), probe.get("high"))
