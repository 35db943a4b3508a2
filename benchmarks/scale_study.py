"""How far a scaled run (`sim run --scale f`) is from the one-to-one run, KPI by KPI.

Reads results folders that `sim run` wrote (a single run: summary.json with `kpi`; a
replications folder: summary.json with `estimates`) and prints, for each, the KPIs a
planner reads, counts per person or divided by the scale (classes opened), and the
outage of each service, so that the scaled columns can be read against the one-to-one
one. Run by hand; the folders come from, for example::

    sim run experiments/2021-04-06.toml --out results/a06-1 --no-dashboard
    sim run experiments/2021-04-06.toml --scale 0.1 --reps 3 --out results/a06-0.1
    sim run experiments/2021-04-06.toml --scale 0.01 --reps 10 --out results/a06-0.01
    python benchmarks/scale_study.py 1=results/a06-1 0.1=results/a06-0.1 0.01=results/a06-0.01
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

ROWS = (  # (label, metric, how to normalise: "share", "per_person", "per_scale", "s")
    ("in class within 5 min of the start", "kpi.share_in_class_5min_after_start", "share"),
    ("got in at all", "kpi.share_in_class", "share"),
    ("gave up (share of people)", "kpi.gave_up", "per_person"),
    ("attempts per person", "kpi.attempts", "per_person"),
    ("failed attempts", "kpi.failed_attempts_share", "share"),
    ("time to class, median (s)", "kpi.time_to_class_p50_s", "s"),
    ("classes opened / scale", "kpi.classes_opened", "per_scale"),
)


def load(folder: Path) -> tuple[dict[str, float | None], dict[str, float | None], int]:
    """Means and half-widths of every metric (half-width None for a single run), and the
    number of runs."""
    data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    if "estimates" in data:
        est = data["estimates"]
        return (
            {k: v["mean"] for k, v in est.items()},
            {k: v["half_width"] for k, v in est.items()},
            data["replications"],
        )
    means: dict[str, float | None] = {f"kpi.{k}": v for k, v in data["kpi"].items()}
    for name, service in data["services"].items():
        for key, value in service.items():
            if isinstance(value, int | float):
                means[f"services.{name}.{key}"] = value
    return means, dict.fromkeys(means), 1


def cell(mean: float | None, half: float | None, how: str, people: float, f: float) -> str:
    if mean is None or not math.isfinite(mean):
        return "undefined"
    scale = {"per_person": 1 / people, "per_scale": 1 / f, "share": 100.0}.get(how, 1.0)
    digits = {"share": 1, "per_person": 3, "per_scale": 0, "s": 1}[how]
    text = f"{mean * scale:,.{digits}f}"
    if half is not None and math.isfinite(half):
        text += f" ± {half * scale:,.{digits}f}"
    return text + (" %" if how == "share" else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="SCALE=FOLDER, e.g. 0.1=results/a06-0.1")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    columns = []
    for item in args.runs:
        f, _, folder = item.partition("=")
        means, halves, n = load(Path(folder))
        columns.append((float(f), means, halves, n))
    header = ["KPI", *(f"scale {f:g} ({n} run{'s' * (n > 1)})" for f, _, _, n in columns)]
    rows = []
    for label, metric, how in ROWS:
        rows.append(
            [label]
            + [
                cell(m.get(metric), h.get(metric), how, m.get("kpi.people") or 1, f)
                for f, m, h, _ in columns
            ]
        )
    services = sorted(
        {k.split(".")[1] for _, m, _, _ in columns for k in m if k.endswith(".unavailable_minutes")}
    )
    for name in services:
        metric = f"services.{name}.unavailable_minutes"
        values = [m.get(metric) for _, m, _, _ in columns]
        if not any(values):
            continue
        rows.append(
            [f"{name} unavailable (min)"]
            + [cell(m.get(metric), h.get(metric), "s", 1, f) for f, m, h, _ in columns]
        )
    if args.json:
        print(json.dumps({"header": header, "rows": rows}, indent=2))
        return 0
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
