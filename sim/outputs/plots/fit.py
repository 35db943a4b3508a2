"""Figures of a fit report: the arrival curve of each role with its fitted curve, and per
service the histogram of quiet-period durations with the candidates' densities and the
QQ plot of the chosen one. House style (:mod:`sim.outputs.plots.style`)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sim.experiments.fit import RoleEstimate, ServiceEstimate
from sim.experiments.fit_estimators import frozen
from sim.outputs.plots.style import BLACK, GREY, OKABE_ITO, clock_axis, figure, grid


def arrivals_figure(role: RoleEstimate, class_starts_s: list[float]) -> Figure:
    """First connections per minute of the day (mean over days), with the fitted normal
    offset around the class starts (its shares), the class starts marked."""
    fig = figure(7.5, 3.2)
    ax = fig.add_subplot()
    minutes = np.flatnonzero(role.per_minute)
    low, high = int(minutes.min()), int(minutes.max()) + 1
    pad = max(5, (high - low) // 10)
    low, high = max(low - pad, 0), min(high + pad, 1440)
    x = np.arange(low, high) * 60.0
    ax.bar(
        x + 30,
        role.per_minute[low:high],
        width=60,
        color=OKABE_ITO[0],
        alpha=0.6,
        label="log: first connections per minute",
    )
    if role.normal is not None:
        from scipy import stats

        mean, sd = role.normal.mean_min.value, max(role.normal.sd_min.value, 1e-3)
        curve = np.zeros(x.size)
        for start, share in zip(class_starts_s, role.shares, strict=True):
            dist = stats.norm((start / 60) + mean, sd)
            curve += share * role.people_per_day * (dist.cdf(x / 60 + 1) - dist.cdf(x / 60))
        ax.plot(
            x + 30,
            curve,
            color=BLACK,
            linewidth=1.5,
            label=f"fitted normal offset (KS distance {role.normal.ks_distance:.3f})",
        )
    for start in class_starts_s:
        ax.axvline(start, color=GREY, linestyle=":", linewidth=1)
    clock_axis(ax, x[0], x[-1] + 60)
    ax.set_ylabel("people per minute")
    ax.set_title(f"{role.role}: first connections (class starts dotted)", loc="left")
    grid(ax, "y")
    ax.legend(fontsize="small")
    return fig


def service_figure(service: ServiceEstimate) -> Figure:
    """Quiet-period durations: histogram with each candidate's fitted density (left),
    QQ plot of the chosen kind (right)."""
    fit = service.fit
    fig = figure(9.0, 3.4)
    hist, qq = fig.subplots(1, 2, width_ratios=[1.6, 1])
    x = fit.sample
    top = float(np.quantile(x, 0.99))
    hist.hist(
        x[x <= top],
        bins=60,
        density=True,
        color=GREY,
        alpha=0.45,
        label=f"quiet requests (n = {x.size:,}, 99 % shown)",
    )
    grid_x = np.linspace(top / 400, top, 400)
    for colour, c in zip(OKABE_ITO[:3], fit.candidates, strict=False):
        chosen = " (chosen)" if c is fit.chosen else ""
        hist.plot(
            grid_x,
            frozen(c.kind, c.mean_s, c.cv).pdf(grid_x),
            color=colour,
            linewidth=2 if chosen else 1.2,
            label=f"{c.kind}, AIC {c.aic:,.0f}{chosen}",
        )
    hist.set_xlabel("duration (s)")
    hist.set_ylabel("density (1/s)")
    hist.set_title(f"{service.name}: service time on quiet periods", loc="left")
    hist.legend(fontsize="small")
    grid(hist)
    probs = (np.arange(1, 201) - 0.5) / 200
    theory = frozen(fit.chosen.kind, fit.chosen.mean_s, fit.chosen.cv).ppf(probs)
    observed = np.quantile(x, probs)
    qq.scatter(theory, observed, s=8, color=OKABE_ITO[0])
    edge = float(max(theory.max(), observed.max()))
    qq.plot([0, edge], [0, edge], color=BLACK, linestyle="--", linewidth=1)
    qq.set_xlabel(f"{fit.chosen.kind} quantile (s)")
    qq.set_ylabel("observed quantile (s)")
    qq.set_title("QQ plot of the chosen kind", loc="left")
    grid(qq)
    return fig
