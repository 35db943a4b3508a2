"""Experiment results on disk: tables and a manifest beside the per-run records.

The per-run records (``runs/<key>.json``) are written by
:class:`sim.outputs.run_store.RunStore` as runs finish; the tables here are derived from
them and rewritten at the end of every invocation, each file atomically and all of a
folder's tables together (:func:`sim.outputs.atomic.all_or_nothing`), so an interrupted
or failed write leaves the previous complete set and a rerun completes it. Every file is
written by :mod:`sim.outputs.atomic`, with the mode the umask gives (0644 under the
usual 022), like the single-run folder.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import __version__
from sim.config import s_to_clock, to_toml
from sim.config.scale import scale_words
from sim.engine import compiled
from sim.experiments.execution import Estimate, Outcome, last_line, metric_names, series_bands
from sim.experiments.replications import ReplicationsSummary
from sim.experiments.sweep import plain
from sim.measure.metrics import bin_noun
from sim.outputs import atomic
from sim.outputs.figures import save_figure
from sim.outputs.run_folder import software_versions
from sim.simulation import fingerprint

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPLICATIONS = "replications.csv"
SUMMARY = "summary.json"
SERIES_CI = "timeseries_ci.csv"
KPIS_FIGURE = "kpis.png"  # run --reps: the key KPIs, each mean with its interval
SERIES_FIGURE = "timeseries_ci.png"  # run --reps: timeseries_ci.csv's people-level bands
MANIFEST = "manifest.json"
SCENARIO = "scenario.toml"


def runs_table(records: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """One row per run: id, replication, seed, every varied parameter, every metric."""
    params = list(dict.fromkeys(k for r in records for k in r["variant"]))
    metrics = sorted(metric_names(records))  # fresh and stored records: same columns
    header = ["run_id", "scenario", "replication", "seed", *params, *metrics]
    rows = [
        [
            r["key"],
            r["scenario"],
            r["replication"],
            r["seed"],
            *(r["variant"].get(p) for p in params),
            *(r["metrics"].get(m) for m in metrics),
        ]
        for r in records
    ]
    return header, rows


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return buffer.getvalue()


def experiment_manifest(
    command: list[str], outcome: Outcome, extra: dict[str, Any], elapsed_s: float
) -> dict[str, Any]:
    """The manifest of a sweep, comparison, plan or options study: :func:`manifest`, with
    the time it took, the version of pyarrow (it writes the Parquet tables) and the
    variant of each failed run."""
    import pyarrow

    data = manifest(command, outcome, {**extra, "elapsed_s": elapsed_s})
    data["versions"]["pyarrow"] = pyarrow.__version__
    for entry, (job, _) in zip(data["failed"], outcome.failures, strict=True):
        entry["variant"] = {path: plain(v) for path, v in job.variant}
    return data


def manifest(command: list[str], outcome: Outcome, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "command": command,
        "sim_version": __version__,
        "fingerprint": fingerprint.code_fingerprint(),  # of the code of every run used
        "versions": software_versions(),
        # the hot path's modules by how they ran here (a pool's workers import the same
        # package; remote Dask workers have their own install): speeds compare only alike
        "engine": compiled.build(),
        "runs": len(outcome.records),
        "ran_now": outcome.ran,
        "reused": outcome.reused,
        "discarded_other_code": outcome.stale,  # runs of another sim, removed, not used
        "discarded_damaged": outcome.damaged,  # records that did not check out, run again
        "failed": [
            {
                "key": job.key,
                "replication": job.replication,
                "error": last_line(err, ""),
            }
            for job, err in outcome.failures
        ],
        "run_wall_s": sum(r["wall_s"] for r in outcome.records),
        **extra,
    }


@atomic.all_or_nothing()
def write_replications(
    folder: Path,
    scenario: Any,
    outcome: Outcome,
    estimates: dict[str, Estimate],
    precision: float | None,
    precise: bool,
    command: list[str],
) -> None:
    atomic.write_text(folder / SCENARIO, to_toml(scenario))
    atomic.write_text(folder / REPLICATIONS, csv_text(*runs_table(outcome.records)))
    summary = ReplicationsSummary.of(scenario, len(outcome.records), estimates, precision, precise)
    text = json.dumps(summary.to_json(), indent=2, sort_keys=True) + "\n"
    atomic.write_text(folder / SUMMARY, text)
    if outcome.records:
        series = _series_csv(outcome.records)
        atomic.write_text(folder / SERIES_CI, series)
        _replication_figures(folder, scenario, len(outcome.records), estimates, series)
    atomic.write_text(
        folder / MANIFEST,
        json.dumps(manifest(command, outcome, _seed_and_scale(scenario)), indent=2) + "\n",
    )


def _seed_and_scale(scenario: Any) -> dict[str, Any]:
    """What a replications manifest says of its scenario beyond the command line."""
    return {"seeds": [scenario.seed], "scale": scenario.scale}


def _replication_figures(
    folder: Path, scenario: Any, n: int, estimates: dict[str, Estimate], series: str
) -> None:
    """The figures of a ``--reps`` folder: the key KPIs with their intervals
    (:data:`KPIS_FIGURE`) and the per-minute bands drawn from the very text of
    ``timeseries_ci.csv`` (:data:`SERIES_FIGURE`), so that figure and table agree."""
    from sim.outputs.plots.experiments import read_series_csv, series_bands_figure

    save_figure(kpis_figure(scenario, n, estimates), folder / KPIS_FIGURE)
    title = f"{_about(scenario, n)}\nper {bin_noun(scenario.measure.bin_s)}: mean and 95 % band"
    bands = series_bands_figure(read_series_csv(series), title)
    save_figure(bands, folder / SERIES_FIGURE)


def kpis_figure(scenario: Any, n: int, estimates: dict[str, Estimate]) -> Figure:
    """The key KPIs of `n` replications, each mean with its interval (:data:`KPIS_FIGURE`)."""
    from sim.outputs.plots.experiments import replications_figure  # matplotlib: only when drawing

    title = f"{_about(scenario, n)}\nmean and 95 % confidence interval"
    return replications_figure(estimates, title)


def _about(scenario: Any, n: int) -> str:
    """A figure's first title line: the scenario, its runs and seed, and its scale when
    it was scaled (a small morning must say it is one)."""
    about = f"{scenario.name}: {n} replication{'s' if n != 1 else ''} (seed {scenario.seed})"
    return " ".join(filter(None, (about, scale_words(scenario.scale))))


def _series_csv(records: list[dict[str, Any]]) -> str:
    bands = series_bands(records)
    starts, width = records[0]["bin_start_s"], records[0]["bin_s"]
    header = ["clock", "bin_start_s", "bin_s"]
    for name in bands:
        header += [f"{name}.mean", f"{name}.low", f"{name}.high"]
    rows = []
    for i, t in enumerate(starts):
        row: list[Any] = [s_to_clock(t), t, width]
        for band in bands.values():
            row += [band["mean"][i], band["low"][i], band["high"][i]]
        rows.append(row)
    return csv_text(header, rows)


def _cell(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return "" if not math.isfinite(value) else f"{float(value):.10g}"
    return "" if value is None else value


# ---------------------------------------------------------------- sweeps and comparisons


def write_table(folder: Path, stem: str, header: list[str], rows: list[list[Any]]) -> None:
    """`<stem>.csv` and `<stem>.parquet`, each written atomically; non-finite numbers are
    empty cells (CSV) or nulls (Parquet), as in every other table."""
    atomic.write_text(folder / f"{stem}.csv", csv_text(header, rows))
    _write_parquet(folder / f"{stem}.parquet", header, rows)


def _write_parquet(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    import pyarrow as pa  # only sweeps need it: imported on first use
    import pyarrow.parquet as pq

    columns = {}
    for i, name in enumerate(header):
        values = [_null_if_not_finite(row[i]) for row in rows]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds: keep them as text
            columns[name] = pa.array([None if v is None else str(v) for v in values])
    atomic.replace_with(path, lambda tmp: pq.write_table(pa.table(columns), tmp))


def _null_if_not_finite(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value
