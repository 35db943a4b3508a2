"""The page of ``sim report``: number formats, tables, figures and the HTML shell.

A report is read by people who decide, often offline, often forwarded by e-mail: one
file with everything in it. So figures are PNG data URIs, the style sheet sits in the
page, and nothing needs JavaScript or the network. Every piece of text that comes from a
results folder (scenario names, descriptions, cohort names, file notes) goes through
:func:`esc`, because a scenario file is input, not markup.

Numbers are written the way the documentation writes them: ``96.2 %``, ``2,866``, ``12.3 s``.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.measure.metrics import kind_of, label
from sim.measure.metrics import metric as metric_info

CAPTIONS = {
    "dashboard.png": "The morning at a glance: arrivals, latency percentiles per service "
    "(log scale), failure rates by cause, and people in class against intended, on clock "
    "time with the class starts marked.",
    "compare.png": "Difference B − A of each headline KPI with its 95 % confidence "
    "interval: an interval that excludes 0 is a real (significant) difference.",
    "options.png": "Each option against the target: the mean with its 95 % confidence "
    "interval (the baseline, the morning as it was, on top), and the longest unavailability of "
    "any service.",
    "timeline.png": "People who got in over the morning, with and without each "
    "option (mean over replications, 95 % band), against those who meant to connect by "
    "then: the gap is the harm, and where it opens tells when.",
    "frontier.png": "What each option costs (its infrastructure) against what it achieves, "
    "each with its 95 % confidence interval: the filled points are the options no other "
    "beats on both (the cost-risk frontier), the ringed one the cheapest that meets the "
    "target, the dashed line the target.",
    "baseline/dashboard.png": "The morning as it was (the baseline's first replication): "
    "arrivals, latency per service, servers up and crashes, failures by cause, people "
    "in class, with class starts and attacks marked.",
    "kpis.png": "The key figures over the replications: each mean (dot) with its 95 % "
    "confidence interval (whisker), one panel per unit; a short whisker is a figure the "
    "replications pin down.",
    "timeseries_ci.png": "Per time bin over the morning (timeseries_ci.csv, bins of its "
    "bin_s seconds): people who "
    "meant to connect, got in and gave up, and people in a lesson, each the mean over "
    "the replications with its 95 % band.",
    "tornado.png": "Which assumption moves the KPI most: one bar per uncertain parameter, "
    "the largest on top, with its 95 % interval (Morris: mu*, the mean effect across the "
    "parameter's range, and sigma, how much it varies; Sobol: the shares of the variance, "
    "ST with interactions and S1 alone).",
    "plan.png": "Each probed value: the mean of the target metric with the one-sided "
    "confidence bounds its verdict rests on; the target is the horizontal line, the "
    "answer the vertical one.",
}


def esc(value: Any) -> str:
    """Text from a results folder, safe inside HTML elements and attributes."""
    return html.escape(str(value), quote=True)


def number(x: float) -> str:
    """Counts as integers with thousands separators; small values to 3 digits."""
    if abs(x) >= 100 or x == int(x):
        return f"{round(x):,}"
    return f"{x:.3g}"


def pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x * 100:.{digits}f} %"


def seconds(x: float) -> str:
    x = 0.0 if abs(x) < 0.05 else x  # no "-0.0 s"
    return f"{x:.1f} s" if abs(x) < 120 else f"{x / 60:.1f} min"


def fmt(metric: str, value: float | None) -> str:
    """One value of `metric`, in its unit."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return metric_info(metric).none_text
    kind = kind_of(metric)
    if kind == "share":
        return pct(value)
    return seconds(value) if kind == "s" else number(value)


def fmt_ci(metric: str, mean: float | None, low: float | None, high: float | None) -> str:
    """A mean with its 95 % confidence interval, e.g. ``93 % (91 % to 95 %)``; the interval
    is the estimate's own, within the metric's range (it need not be symmetric)."""
    if mean is None:
        return fmt(metric, None)
    if low is None or high is None:
        return f"{fmt(metric, mean)} (no interval)"
    return f"{fmt(metric, mean)} ({fmt(metric, low)} to {fmt(metric, high)})"


def fmt_diff(metric: str, value: float | None) -> str:
    """A signed difference B − A; shares in percentage points."""
    if value is None:
        return "undefined"
    if value == 0:
        return "0"
    sign = "+" if value > 0 else "−"
    if kind_of(metric) == "share":
        return f"{sign}{abs(value) * 100:.1f} points"
    text = seconds(abs(value)) if kind_of(metric) == "s" else number(abs(value))
    return f"{sign}{text}"


def interval(metric: str, low: float | None, high: float | None, signed: bool = False) -> str:
    """A confidence interval ``low .. high`` in the metric's unit (signed for differences)."""
    if low is None or high is None:
        return "–"
    write = (lambda v: fmt_diff(metric, v)) if signed else (lambda v: fmt(metric, v))
    return f"{write(low).removesuffix(' points')} .. {write(high)}"


def pm_from_row(metric: str, row: dict[str, str]) -> str:
    """Mean and interval from a table row with ``<metric>.mean/.low/.high`` cells (an empty
    cell is a value that is not finite, or no interval)."""
    mean, low, high = (row.get(f"{metric}.{part}") or None for part in ("mean", "low", "high"))
    if mean is None:
        return fmt(metric, None)
    bounds = (float(low), float(high)) if low is not None and high is not None else (None, None)
    return fmt_ci(metric, float(mean), *bounds)


def figures(folder: Path, order: Sequence[str]) -> str:
    """Every PNG of `folder`, known ones first (dashboard, plan, comparison, then the
    sweep's KPI plots and heatmaps in the order of `order`), each with a caption."""

    def rank(path: Path) -> tuple[int, int, str]:
        stem = path.stem.split("_", 1)[-1]
        metric = f"kpi.{stem}"
        position = order.index(metric) if metric in order else len(order)
        group = {"kpi": 1, "heatmap": 2}.get(path.stem.split("_", 1)[0], 3)
        return (0 if path.name in CAPTIONS else group, position, path.name)

    pieces = []
    found = sorted(folder.glob("*.png"), key=rank) + _sub_figures(folder)
    for path in [p for p in found if _own_file(folder, p)]:
        kind, _, stem = path.stem.partition("_")
        name = path.relative_to(folder).as_posix()
        if name in CAPTIONS:
            caption = CAPTIONS[name]
        elif kind == "kpi":
            caption = (
                f"{label('kpi.' + stem).capitalize()}: the mean of each variant against the "
                "first varied parameter, with its 95 % confidence band."
            )
        elif kind == "heatmap":
            caption = (
                f"{label('kpi.' + stem).capitalize()}: the mean over the two varied parameters."
            )
        else:
            caption = path.stem.replace("_", " ")
        pieces.append(figure(path, caption))
    if pieces:
        return "".join(pieces)
    bands = " The per-bin means with 95 % bands are in timeseries_ci.csv."
    return paragraphs(
        [
            "This folder holds no figures."
            + (bands if (folder / "timeseries_ci.csv").is_file() else "")
        ]
    )


def _own_file(folder: Path, path: Path) -> bool:
    """Whether `path` may be embedded in the page: a regular file inside `folder`, not a
    link. A link named ``zz.png`` to a secret put the secret's bytes into a report meant
    to be passed around; a results folder's own figures are never links."""
    if path.is_symlink() or not path.is_file():
        return False
    return path.resolve().is_relative_to(folder.resolve())


def _sub_figures(folder: Path) -> list[Path]:
    """Figures of a results folder kept inside another (an options study's baseline)."""
    return [folder / name for name in CAPTIONS if "/" in name and (folder / name).is_file()]


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric_from: int = 1) -> str:
    """An HTML table; cells are escaped, columns from `numeric_from` are right-aligned."""
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i >= numeric_from else f"<th>{esc(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{esc(c)}</td>' if i >= numeric_from else f"<td>{esc(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(path: Path, caption: str) -> str:
    """A PNG embedded as a data URI, with its caption and its file name."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)} <span class=file>({esc(path.name)})</span></figcaption>"
        "</figure>"
    )


def paragraphs(texts: Sequence[str], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return "".join(f"<p{attr}>{esc(t)}</p>" for t in texts)


def bullets(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def page(
    title: str,
    kicker: str,
    sections: Sequence[tuple[str, str, str]],
    footer: str,
    cls: str = "",
) -> str:
    """The whole document; `sections` are (id, heading, inner HTML) in reading order;
    `cls` the body's class (``brief``: a page laid out to print on one A4 sheet)."""
    body = "".join(
        f'<section id="{sid}"><h2>{esc(heading)}</h2>{inner}</section>'
        for sid, heading, inner in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}{PRINT_CSS}</style></head>"
        f"<body{f' class={cls}' if cls else ''}><main>"
        f'<p class="kicker">{esc(kicker)}</p><h1>{esc(title)}</h1>{body}'
        f"<footer>{esc(footer)}</footer></main></body></html>\n"
    )


CSS = """
body{margin:0;background:#f6f7f9;color:#1d232b;font:16px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:28px;margin:4px 0 16px}h2{font-size:20px;margin:32px 0 8px;
border-bottom:2px solid #e3e6ea;padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}
.kicker{color:#5b6672;text-transform:uppercase;letter-spacing:.06em;font-size:13px;margin:0}
.headline{font-size:19px;border-left:5px solid #0072b2;background:#eef5fb;margin:8px 0;
padding:10px 16px}.warning{border-left:5px solid #d55e00;background:#fdf0e8;
padding:8px 16px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:14px;min-width:60%}
th,td{padding:5px 10px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}.num{text-align:right;font-variant-numeric:
tabular-nums}tbody tr:nth-child(even){background:#fafbfc}
figure{margin:16px 0 28px}img{max-width:100%;height:auto;border:1px solid #e3e6ea}
figcaption{color:#3f4852;font-size:14px;margin-top:6px}.file{color:#8a949e}
pre{background:#f0f2f5;padding:10px 14px;overflow-x:auto;font-size:13px;white-space:
pre-wrap;word-break:break-word}code{background:#f0f2f5;padding:1px 4px}
details{margin:8px 0}summary{cursor:pointer;color:#0072b2}
footer{margin-top:40px;color:#8a949e;font-size:13px}
"""

PRINT_CSS = """
.small{color:#5b6672;font-size:13px}table.options td.short{white-space:nowrap}
table.options td.name{min-width:9em}
.beside{display:flex;gap:18px;align-items:flex-start}.beside figure{flex:1;margin-top:4px}
.beside .assumed{flex:1}table.options td.what{min-width:12em}
table.options td.meets{min-width:7em}table.options td.robust{min-width:10em}
.beside .assumed h3{margin-top:4px}ul.changes code{font-size:13px;word-break:break-all}
@page{size:A4;margin:11mm 13mm 10mm}
@media print{
body{background:#fff;font-size:11pt}main{max-width:none;margin:0;padding:0}
nav{display:none}
h1{font-size:17pt;margin:0 0 6pt}h2{font-size:13pt;margin:14pt 0 4pt}
h3{font-size:11pt;margin:8pt 0 3pt}.headline{font-size:12pt;padding:5pt 9pt}
table{font-size:9pt;min-width:0;width:100%;page-break-inside:auto}
tr,figure,img{page-break-inside:avoid;break-inside:avoid}th,td{padding:2pt 5pt}
img{max-height:120mm;width:auto;max-width:100%}figure{margin:6pt 0}
figcaption{font-size:9pt}pre{font-size:8pt}
#brief+section,#figures,#assumptions,#changes{break-before:page;page-break-before:always}
footer{font-size:8pt;margin-top:8pt}
}
@media print{
body.brief{font-size:9pt;line-height:1.28}body.brief h1{font-size:14pt}
body.brief .kicker{font-size:8pt}body.brief h2{display:none}
body.brief footer{margin-top:4pt;font-size:7pt}body.brief .small{font-size:8pt}
#brief{font-size:9pt;line-height:1.28}#brief .headline{font-size:10.5pt;margin:4pt 0}
#brief ul{margin:2pt 0;padding-left:14pt}#brief li{margin:0}#brief p{margin:3pt 0}
#brief table{font-size:8pt;margin:3pt 0 4pt}#brief td,#brief th{padding:1.5pt 4pt}
#brief img{max-height:58mm}body.brief #brief img{max-height:62mm}
#brief figure{margin:3pt 0;text-align:center}
#brief .assumed li{break-inside:avoid}
}
"""
