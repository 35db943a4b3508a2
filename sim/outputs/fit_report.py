"""The fit report (``sim fit --report FOLDER``): one HTML page, its figures as PNG, the
estimates as CSV and the fitted scenario, written as one folder (all or nothing).

The page says, for every estimate, the method and its uncertainty, because a planner who
plans on a fitted number must know how far to trust it; and it shows the data next to
each fit: the arrival curve of each role with the fitted curve, and per service the
histogram of quiet-period durations with every candidate's density and a QQ plot.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from sim import __version__
from sim.config import clock_to_s
from sim.experiments.fit import FitResult
from sim.experiments.fit_estimators import KS_CAVEAT
from sim.outputs import atomic
from sim.outputs.report import html as h

REPORT = "report.html"
ESTIMATES = "estimates.csv"
SCENARIO = "scenario.toml"
COLUMNS = ("quantity", "value", "low", "high", "n", "method")


class FitReportError(ValueError):
    """A report folder that cannot be written there (one line)."""


def check_report_folder(folder: Path) -> None:
    """Refuse a `folder` that holds something else than an earlier fit report: it is
    replaced whole."""
    if folder.exists() and not folder.is_dir():
        raise FitReportError(f"--report {folder}: it exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / REPORT).is_file():
        raise FitReportError(
            f"--report {folder}: the folder holds other files (not a fit report): "
            "name a new folder or an earlier fit report's"
        )


def write_fit_report(result: FitResult, scenario_text: str, folder: Path | str) -> Path:
    """The report folder of `result`, replacing an earlier one only once complete."""
    folder = Path(folder)
    check_report_folder(folder)
    return atomic.write_folder(folder, lambda tmp: fill(tmp, result, scenario_text))


def estimates_csv(rows: list[dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def fill(tmp: Path, result: FitResult, scenario_text: str) -> None:
    from sim.outputs.figures import save_figure  # heavy (matplotlib): only with a report
    from sim.outputs.plots.fit import arrivals_figure, service_figure

    (tmp / SCENARIO).write_text(scenario_text, encoding="utf-8")
    (tmp / ESTIMATES).write_text(estimates_csv(result.estimates()), encoding="utf-8")
    arrival_figs, service_figs = [], []
    for role in result.roles:
        path = tmp / f"arrivals_{role.role}.png"
        starts = [clock_to_s(s) for s in role.class_starts]
        save_figure(arrivals_figure(role, starts), path)
        arrival_figs.append(
            h.figure(
                path,
                f"{role.role}: first connections per minute (mean over "
                f"{role.days} day(s)) and the fitted curve.",
            )
        )
    for service in result.services:
        if service.fit is None:
            continue
        path = tmp / f"service_{_file_name(service.name)}.png"
        save_figure(service_figure(service), path)
        service_figs.append(
            h.figure(
                path,
                f"{service.name}: durations of served requests on "
                "quiet periods, the candidates' fitted densities, and "
                "the QQ plot of the kind AIC chose.",
            )
        )
    (tmp / REPORT).write_text(page(result, arrival_figs, service_figs), encoding="utf-8")


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def page(result: FitResult, arrival_figs: list[str], service_figs: list[str]) -> str:
    files = ", ".join(result.sources) or "records given in Python"
    summary = h.paragraphs(
        [
            f"{result.records:,} requests of {files} mapped to {len(result.services)} service(s) "
            f"({result.unmapped:,} unmapped, left out), over {result.days} day(s), "
            f"{sum(r.offsets_min.size for r in result.roles):,} person-days.",
            "Every value of the fitted scenario (scenario.toml) is marked FITTED, with its method, "
            "95 % interval and sample size, or ASSUMPTION. Capacity is never fitted: the log shows "
            "what the platform used, not what it had; the peaks are written as hints.",
        ]
    )
    sections = [
        ("summary", "What was fitted", summary),
        ("estimates", "Estimates", estimates_table(result)),
        ("arrivals", "Arrivals per role", arrivals_section(result) + "".join(arrival_figs)),
        ("services", "Service times", services_section(result) + "".join(service_figs)),
        ("behaviour", "Patience and retries", behaviour_section(result)),
        ("capacity", "Capacity hints", capacity_section(result)),
    ]
    footer = f"Written by sim fit (sim {__version__})."
    return h.page("Fit of a scenario to access logs", "sim fit", sections, footer)


def _num(x: float) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return "–"
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def estimates_table(result: FitResult) -> str:
    rows = []
    for r in result.estimates():
        bounds = (r["low"], r["high"])
        shown = "–" if not all(map(math.isfinite, bounds)) else " – ".join(map(_num, bounds))
        rows.append([r["quantity"], r["method"], _num(r["value"]), shown, f"{r['n']:,}"])
    header = ["quantity", "method", "value", "95 % interval", "n"]
    return h.table(header, rows, numeric_from=2)


def arrivals_section(result: FitResult) -> str:
    rows = []
    for role in result.roles:
        normal = role.normal
        quality = "–" if normal is None else f"{normal.ks_distance:.3f}"
        written = (
            "cohort (normal offset)"
            if normal is not None and normal.ks_distance <= result.options.max_ks_distance
            else f"source (rates per {result.options.rate_piece_min} min)"
        )
        rows.append(
            [
                role.role,
                f"{role.people_per_day:,.0f}",
                ", ".join(role.class_starts),
                quality,
                written,
            ]
        )
    text = h.paragraphs(
        [
            "Each person's first request of the day is their connection; it is counted against the "
            "nearest class start, and the offsets are fitted by a normal (maximum likelihood). The "
            "fit quality is the KS distance (the largest gap between the empirical and fitted "
            f"CDFs); above {result.options.max_ks_distance} the role is written as piecewise "
            "Poisson rates taken from the log instead."
        ]
    )
    table = h.table(["role", "people per day", "class starts", "KS distance", "written as"], rows)
    return text + table


def services_section(result: FitResult) -> str:
    rows = []
    for service in result.services:
        if service.fit is None:
            rows.append([service.name, "–", "–", "–", "–", "no served request: ASSUMPTION"])
            continue
        for c in service.fit.candidates:
            rows.append(
                [
                    service.name,
                    c.kind,
                    f"{c.mean_s:.4g} s",
                    f"{c.cv:.3g}",
                    f"{c.aic:,.1f}",
                    f"D = {c.ks_statistic:.3f}, p = {c.ks_pvalue:.3g}"
                    + (" (chosen)" if c is service.fit.chosen else ""),
                ]
            )
    text = h.paragraphs(
        [
            "Durations of served (2xx) requests, fitted only on quiet periods: requests that "
            "started in a second when at most the threshold below of requests were in progress on "
            "their "
            "service (counted from the log's own intervals), the lowest such threshold holding at "
            f"least {result.options.quiet_min_samples:,} requests, so that queueing does not "
            "inflate them. Each kind of the scenario with a density is fitted by maximum "
            "likelihood; the lowest AIC is chosen; intervals are 200-resample bootstraps.",
            f"Goodness of fit: {KS_CAVEAT}.",
        ]
    )
    thresholds = h.table(
        ["service", "quiet threshold (in progress)", "quiet requests", "served requests"],
        [[s.name, s.quiet_threshold, f"{s.quiet_n:,}", f"{s.served_n:,}"] for s in result.services],
    )
    table = h.table(["service", "kind", "mean", "cv", "AIC", "KS test"], rows, numeric_from=2)
    return text + thresholds + table


def behaviour_section(result: FitResult) -> str:
    items = []
    if result.patience is None:
        items.append(
            f"Patience: ASSUMPTION (the default), {result.gave_up_n} client-closed "
            f"requests (499) in the log, fewer than {result.options.min_events}."
        )
    else:
        p = result.patience
        items.append(
            f"Patience: {p.kind}, mean {p.mean_s.value:.3g} s (95 % {p.mean_s.low:.3g}–"
            f"{p.mean_s.high:.3g}), cv {p.cv.value:.3g}; {p.mean_s.method}. Client-closed "
            "requests (499) are patience values, served ones are right-censored (the "
            f"client would have waited longer); {result.gave_up_n:,} closed."
        )
    if result.retry_probability is None:
        items.append(f"Retries: ASSUMPTION (the default), {result.failures} failures in the log.")
    else:
        r = result.retry_probability
        items.append(
            f"Retry probability: {r.value:.3f} (95 % {r.low:.3f}–{r.high:.3f}), the share "
            f"of {r.n:,} failures (5xx, 499, 429) followed by a request of the same "
            f"person to the same service within {result.options.retry_window_s:g} s "
            "(failures at the last allowed attempt left out, and those near the log's end "
            "weighted by the chance their retry would be in it)."
        )
    a = result.max_attempts
    items.append(
        f"Max attempts: {a.value}, FITTED: the longest chain of attempts of one person on one "
        f"service, none of its {a.reached:,} failures retried (chance "
        f"{a.chance_uncapped:.2g} without a cap)."
        if a.fitted
        else f"Max attempts: {a.value}, ASSUMPTION (chains of up to {a.longest} attempts "
        "seen, too few stopped at the longest to tell a cap)."
    )
    if result.backoff is not None:
        b = result.backoff
        items.append(
            f"Backoff: {b.kind}, {b.base_s.value:.3g} s (95 % {b.base_s.low:.3g}–"
            f"{b.base_s.high:.3g}); {b.base_s.method}."
        )
    return h.bullets(items)


def capacity_section(result: FitResult) -> str:
    rows = [
        [
            s.name,
            f"{s.requests:,}",
            f"{s.peak_concurrency:,}",
            f"{s.peak_served_per_min:,.1f}",
            ", ".join(f"{k}: {v:,}" for k, v in s.statuses.items()),
        ]
        for s in result.services
    ]
    text = h.paragraphs(
        [
            "Peak requests in progress (per second) and the highest served-per-minute "
            "rate sustained over 5 minutes: what the platform did, a lower bound of "
            "what it can do. Set servers × workers from them; the scenario does not."
        ]
    )
    return text + h.table(
        ["service", "requests", "peak in progress", "served / min", "statuses"],
        rows,
        numeric_from=1,
    )
