"""A sensitivity analysis in words and table rows, the same in the terminal
(``sim sensitivity``) and in the report: which assumption matters most, by how much,
and which barely matter. Read from sensitivity.json's data
(:func:`sim.experiments.sensitivity.sensitivity_data`), never recomputed.

Morris' mu* is written in the KPI's unit, a share's in percentage points (an effect on
a share is not a share): "12.3 ± 2.1 points", the mean change for one Morris step (two
thirds of the parameter's range). Sobol's indices are shares of the KPI's
variance: "64 ± 9 %". A parameter *barely matters* when its index is below
:data:`SMALL` of the largest one. One whose index is larger but whose 95 % interval
reaches 0 is *not told apart from no effect* at this number of samples (a wide
interval, not a small effect: more ``--samples`` narrow it), and is said so, never
"barely".
"""

from __future__ import annotations

import math
from typing import Any

from sim.measure.metrics import kind_of, label, unit
from sim.outputs.tables import number

SMALL = 0.02  # of the largest index: below it, a parameter barely matters
SHOWN_AFTER_FIRST = 2  # the runners-up named in the sentence


def effect_text(metric: str, value: float | None, half: float | None = None) -> str:
    """Morris' effect of a parameter on `metric`, in its unit: ``12.3 ± 2.1 points``
    (a share), ``41 ± 12 s``, ``350 ± 80``."""
    if value is None:
        return "-"
    share = kind_of(metric) == "share"
    scale = 100 if share else 1
    text = _digits(value * scale)
    if half is not None and math.isfinite(half):
        text += f" ± {_digits(half * scale)}"
    if share:
        return f"{text} points"
    what = unit(metric)
    return text if what in ("count", "people", "attempts") else f"{text} {what}"


def variance_share_text(value: float | None, half: float | None = None) -> str:
    """A Sobol index as a share of the variance: ``64 ± 9 %`` (clipped at 0 and 100 %:
    the estimator can stray beyond them with few samples)."""
    if value is None:
        return "-"
    text = f"{min(max(value, 0.0), 1.0) * 100:.0f}"
    if half is not None and math.isfinite(half):
        text += f" ± {half * 100:.0f}"
    return f"{text} %"


def _digits(x: float) -> str:
    return number(x) if abs(x) >= 100 or x == 0 else f"{x:.3g}"


def index_of(data: dict[str, Any], entry: dict[str, Any], key: str) -> tuple[float, float]:
    """The ranking index of parameter `key` and its half-width (NaN where missing)."""
    by = data["ranked_by"]
    values = entry["indices"][key]
    value, half = values.get(by), values.get(f"{by}_conf")
    return (
        math.nan if value is None else value,
        math.nan if half is None else half,
    )


def index_text(data: dict[str, Any], entry: dict[str, Any], key: str) -> str:
    """The ranking index of `key` with its interval, in words of its method."""
    value, half = index_of(data, entry, key)
    if math.isnan(value):
        return "-"
    if data["method"] == "sobol":
        return variance_share_text(value, half)
    return effect_text(entry["metric"], value, half)


def barely(data: dict[str, Any], entry: dict[str, Any]) -> list[str]:
    """The parameters that barely move the KPI (see the module's docstring)."""
    top = max((index_of(data, entry, k)[0] for k in entry["ranking"]), default=0.0)
    return [
        key
        for key in entry["ranking"]
        if (value := index_of(data, entry, key)[0]) <= SMALL * top and not math.isnan(value)
    ]


def unsure(data: dict[str, Any], entry: dict[str, Any]) -> list[str]:
    """The parameters whose index is not small but whose interval reaches 0: not told
    apart from no effect at this number of samples."""
    small = set(barely(data, entry))
    found = []
    for key in entry["ranking"]:
        value, half = index_of(data, entry, key)
        if key not in small and math.isfinite(half) and value <= half:
            found.append(key)
    return found


def ranking_sentences(data: dict[str, Any], entry: dict[str, Any]) -> list[str]:
    """The answer: the parameter that matters most, by how much, the next ones, and
    those that barely matter."""
    labels = {p["key"]: p["label"] for p in data["parameters"]}
    ranges = {p["key"]: (p["low"], p["high"]) for p in data["parameters"]}
    metric = entry["metric"]
    what = label(metric)
    if entry.get("note"):
        return [f"{what[0].upper()}{what[1:]}: {entry['note']}."]
    first, *rest = entry["ranking"]
    low, high = ranges[first]
    if data["method"] == "sobol":
        values = entry["indices"][first]
        said = (
            f"{labels[first]} matters most: it explains "
            f"{variance_share_text(values.get('ST'), values.get('ST_conf'))} of the variance of "
            f"{what} with its interactions, "
            f"{variance_share_text(values.get('S1'), values.get('S1_conf'))} alone "
            f"(Sobol ST and S1, over {_g(low)} to {_g(high)})"
        )
    else:
        said = (
            f"{labels[first]} matters most: a step of two thirds of its range "
            f"({_g(low)} to {_g(high)}) changes {what} by {index_text(data, entry, first)} "
            "on average (Morris mu*, 95 % interval)"
        )
    small, wide = barely(data, entry), unsure(data, entry)
    after = [k for k in rest if k not in small][:SHOWN_AFTER_FIRST]
    if after:
        said += "; then " + " and ".join(
            f"{labels[k]} ({index_text(data, entry, k)})" for k in after
        )
    sentences = [said[0].upper() + said[1:] + "."]
    if [k for k in wide if k != first]:
        names = ", ".join(labels[k] for k in wide if k != first)
        sentences.append(
            f"Not told apart from no effect at {data['points']} points: {names} (an interval "
            "reaching 0; more --samples narrow it)."
        )
    if small and small != [first]:
        names = ", ".join(labels[k] for k in small if k != first)
        sentences.append(
            f"Barely or not at all: {names} (an index below {SMALL:.0%} of the largest)."
        )
    if entry.get("censored"):
        sentences.append(
            f"At {entry['censored']} of {data['points']} points so many never got in that "
            f"{what} was unbounded; it counts there as the run's length."
        )
    return sentences


def _g(value: float) -> str:
    return f"{value:g}"


def effect_unit(metric: str) -> str:
    """The unit of Morris' effects on `metric`, for a column's header."""
    if kind_of(metric) == "share":
        return "points"
    what = unit(metric)
    return "" if what in ("count", "people", "attempts") else what


def ranking_rows(data: dict[str, Any], entry: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The ranking as a table: rank, parameter, range, the method's indices (the unit
    in the headers, so that the rows fit 80 columns)."""
    labels = {p["key"]: p["label"] for p in data["parameters"]}
    ranges = {p["key"]: (p["low"], p["high"]) for p in data["parameters"]}
    metric = entry["metric"]
    if data["method"] == "sobol":
        header = ["#", "parameter", "range", "ST, total (%)", "S1, alone (%)"]
    else:
        what = effect_unit(metric)
        header = ["#", "parameter", "range", "mu*, mean effect", "sigma"]
        header = [*header[:3], *(f"{h} ({what})" if what else h for h in header[3:])]
    rows = []
    for rank, key in enumerate(entry["ranking"], start=1):
        i = entry["indices"][key]
        low, high = ranges[key]
        if data["method"] == "sobol":
            cells = [
                variance_share_text(i.get("ST"), i.get("ST_conf")).removesuffix(" %"),
                variance_share_text(i.get("S1"), i.get("S1_conf")).removesuffix(" %"),
            ]
        else:
            cells = [
                _bare(effect_text(metric, i.get("mu_star"), i.get("mu_star_conf")), metric),
                _bare(effect_text(metric, i.get("sigma")), metric),
            ]
        rows.append([str(rank), labels[key], f"{_g(low)} .. {_g(high)}", *cells])
    return header, rows


def _bare(text: str, metric: str) -> str:
    """An effect without its unit (the column's header says it)."""
    what = effect_unit(metric)
    return text.removesuffix(f" {what}") if what else text
