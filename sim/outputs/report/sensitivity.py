"""The answer of a sensitivity analysis (``sim sensitivity``), for
:mod:`sim.outputs.report.page`: which assumption matters most for the KPI, by how much,
and which barely matter (:mod:`sim.outputs.sensitivity_words`, the terminal's words), then
the ranking table of each KPI analysed and the ranges that were explored. Read from
sensitivity.json; nothing is recomputed."""

from __future__ import annotations

from pathlib import Path

from sim.measure.metrics import label
from sim.outputs.report import html as h
from sim.outputs.report import scenario as rs
from sim.outputs.sensitivity_words import ranking_rows, ranking_sentences

METHOD_WORDS = {
    "morris": "Morris screening: mu* is how much the KPI moves, on average, when the "
    "parameter goes across its range (its 95 % bootstrap interval after ±); sigma is how "
    "much that effect varies with the other parameters (interactions, or a bent response).",
    "sobol": "Sobol indices: ST is the share of the KPI's variance due to the parameter "
    "with all its interactions, S1 alone (each with its 95 % bootstrap interval).",
}


def sensitivity_kind(folder: Path, manifest: dict) -> tuple[list[str], str, str]:
    """Sentences, tables and title of a sensitivity analysis folder."""
    data = rs.json_file(folder / "sensitivity.json")
    first, *others = data["metrics"]
    said = ranking_sentences(data, first)
    for entry in others:
        said.append(f"For {label(entry['metric'])}: " + " ".join(ranking_sentences(data, entry)))
    said.append(
        f"{data['points']} runs of {data['scenario']}, each point once with seed "
        f"{data['seed']} (common random numbers: two points differ by their parameters "
        "only)."
    )
    tables = ""
    for entry in data["metrics"]:
        header, rows = ranking_rows(data, entry)
        tables += f"<h3>{h.esc(label(entry['metric']).capitalize())}</h3>"
        tables += h.table(header, rows, numeric_from=3)
    tables += h.paragraphs([METHOD_WORDS[data["method"]]])
    fields = [
        f"{p['label']}: {', '.join(p['fields'])} from {p['low']:g} to {p['high']:g}"
        + (" (an integer field: values rounded)" if p["integer"] else "")
        for p in data["parameters"]
    ]
    tables += "<h3>The ranges explored</h3>" + h.bullets(fields)
    title = f"{data['scenario']}: which assumptions matter"
    return said, tables, title
