"""Which assumptions matter, from Python: :func:`sensitivity` (``sim sensitivity``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.api.experiments import Experiment, frame
from sim.api.runs import in_notebook
from sim.api.scenarios import scaled
from sim.config import Scenario
from sim.config.uncertain import Uncertain
from sim.experiments import execution
from sim.experiments import sensitivity as sa
from sim.experiments.execution import MemoryStore, Progress
from sim.outputs import folders
from sim.outputs.run_store import RunStore
from sim.outputs.sensitivity_folder import write_sensitivity

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


class Sensitivity(Experiment):
    """The uncertain parameters of a scenario ranked by how much they move each KPI
    (``sim sensitivity``): Morris screening or Sobol indices over runs made with common
    random numbers."""

    kind = folders.SENSITIVITY

    def __init__(
        self,
        base: Scenario,
        ranges: Sequence[Uncertain],
        design: Any,
        jobs,
        outcome,
        metrics: Sequence[str],
        command: list[str],
        about: dict[str, Any],
    ) -> None:
        super().__init__(jobs, outcome, command)
        self.base = base  # scaled, without the points' values
        self.ranges = list(ranges)
        self.method, self.seed = about["method"], base.seed
        length = base.end_s - base.start_s  # an unbounded percentile counts as this
        self.analyses = [
            sa.analyse(
                self.method,
                ranges,
                design,
                sa.values_at_points(self.jobs, outcome, m, length),
                self.seed,
            )
            for m in metrics
        ]
        self.about = about

    def __repr__(self) -> str:
        first = self.analyses[0]
        return f"<Sensitivity {first.metric}: {', '.join(first.ranking)}>"

    @property
    def ranking(self) -> list[str]:
        """The parameters (keys), the one that moves the first KPI most first."""
        return list(self.analyses[0].ranking)

    @property
    def indices(self) -> pd.DataFrame:
        """One row per KPI and parameter, ranked: range, rank and the method's indices
        (``sensitivity.csv``)."""
        return frame(*sa.indices_table(self.analyses, self.ranges))

    @property
    def samples(self) -> pd.DataFrame:
        """One row per point: its parameters' values and KPIs (``samples.csv``)."""
        shown = sa.shown_metrics([a.metric for a in self.analyses], self.outcome)
        return frame(*sa.samples_table(self.jobs, self.outcome, shown))

    @property
    def data(self) -> dict[str, Any]:
        """What sensitivity.json holds (the report's source)."""
        return sa.sensitivity_data(
            self.base,
            self.ranges,
            self.analyses,
            method=self.method,
            samples=self.samples_asked,
            points=len(self.jobs),
            seed=self.seed,
        )

    @property
    def samples_asked(self) -> int:
        return self.about["samples"]

    def figure(self, metric: str | None = None) -> Figure:
        """The tornado chart of `metric` (default: the first analysed)."""
        from sim.outputs.plots.sensitivity import tornado_figure  # matplotlib: only when drawing

        return in_notebook(tornado_figure(self.data, metric))

    def _manifest(self, extra: dict[str, Any]) -> dict[str, Any]:
        """The experiments' manifest, with the version of SALib (it drew the points and
        computed the indices)."""
        from importlib.metadata import PackageNotFoundError, version

        data = super()._manifest(extra)
        with contextlib.suppress(PackageNotFoundError):  # a tree without its metadata
            data["versions"]["SALib"] = version("SALib")
        return data

    def _write(self, folder: Path, plots: bool = True) -> None:
        write_sensitivity(
            folder,
            self.base,
            self.ranges,
            self.analyses,
            self.jobs,
            self.outcome,
            self.data,
            self._manifest(self.about),
            plots=plots,
        )


@dataclass(frozen=True)
class SensitivityPlan:
    """A sensitivity analysis ready to run, every input checked: the ranges, SALib's
    design, the points and their (scaled) scenarios, the base and the KPIs asked for."""

    base: Scenario  # scaled, without its [uncertain] table
    ranges: tuple[Uncertain, ...]
    method: str
    samples: int
    design: Any  # SALib's matrix, one row per point
    points: tuple[sa.Point, ...]
    scenarios: tuple[Scenario, ...]
    metrics: tuple[str, ...]


def plan_sensitivity(
    scenario: Scenario,
    uncertain: Mapping[str, Sequence[float]] | None = None,
    *,
    method: str = "morris",
    samples: int | None = None,
    metrics: Sequence[str] = (),
    scale: float = 1.0,
    seed: int | None = None,
) -> SensitivityPlan:
    """Check every input of :func:`sensitivity` and draw its points, before any run;
    ValueError (`sim.ScenarioError` included) in one line otherwise."""
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    given = {k: [float(v) for v in pair] for k, pair in (uncertain or {}).items()}
    ranges = sa.uncertain_ranges(scenario, given)
    samples = samples or sa.DEFAULT_SAMPLES.get(method, 0)
    sa.check_samples(method, samples, len(ranges))
    names = tuple(sa.metric_name(m) for m in metrics)
    for metric in names:
        sa.check_metric(metric, scenario)
    design = sa.sample_matrix(ranges, method, samples, scenario.seed)
    points = sa.points_of(ranges, design)
    scenarios = [scaled(s, scale) for s in sa.point_scenarios(scenario, ranges, points)]
    base = scaled(sa.without_ranges(scenario), scale)
    return SensitivityPlan(
        base, tuple(ranges), method, samples, design, tuple(points), tuple(scenarios), names
    )


def sensitivity(
    scenario: Scenario | SensitivityPlan,
    uncertain: Mapping[str, Sequence[float]] | None = None,
    *,
    method: str = "morris",
    samples: int | None = None,
    metrics: Sequence[str] = (),
    scale: float = 1.0,
    seed: int | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    folder: str | Path | None = None,
    plots: bool = True,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> Sensitivity:
    """Rank the uncertain parameters of `scenario` by how much they move each KPI of
    `metrics` (``sim sensitivity``; default: the share in class by class start + 5 min,
    or the share who got in where nobody has a class).

    `uncertain` maps dotted paths to ranges, ``{"behaviour.retry_probability": (0.6,
    0.95)}``; without, the scenario's own ``[uncertain]`` table. `method` is ``morris``
    (`samples` trajectories, default 10: ``samples * (D + 1)`` runs for D parameters)
    or ``sobol`` (`samples` a power of 2, default 32: ``samples * (D + 2)`` runs). Every
    point runs once with the scenario's seed (or `seed`): common random numbers. With
    `scale`, the scenario and the ranges (full-size values) are scaled alike. Raises
    ValueError (`sim.ScenarioError` included) on bad input, before any run. `scenario`
    may also be a :class:`SensitivityPlan` (:func:`plan_sensitivity`), then run as it is.

    Examples:
        >>> import sim
        >>> base = sim.load("teaching/surge", scale=0.2)
        >>> found = sim.sensitivity(base, {"services.login.servers": (1, 4),
        ...     "measure.warmup_min": (0, 5)}, samples=4, jobs=1)
        >>> found.ranking[0]
        'services.login.servers'
    """
    plan = scenario
    if not isinstance(plan, SensitivityPlan):
        plan = plan_sensitivity(
            plan,
            uncertain,
            method=method,
            samples=samples,
            metrics=metrics,
            scale=scale,
            seed=seed,
        )
    base = plan.base
    store, target = _store(folder)
    jobs_list = sa.sensitivity_jobs(plan.scenarios, plan.points, base.seed)
    started = time.perf_counter()
    outcome = execution.execute(jobs_list, store, jobs, scheduler, progress)
    chosen = list(plan.metrics) or [sa.default_metric(outcome)]
    about = {
        "method": plan.method,
        "samples": plan.samples,
        "points": len(plan.points),
        "uncertain": {r.key: [r.low, r.high] for r in plan.ranges},
        "metrics": chosen,
        "seeds": [base.seed],
        "scale": base.scale,
    }
    call = command or [f"sim.sensitivity({base.name!r}, ...)"]
    result = Sensitivity(base, plan.ranges, plan.design, jobs_list, outcome, chosen, call, about)
    result.started = started
    if target is not None:
        result._write(target, plots)
    return result


def _store(folder: str | Path | None):
    """The run store of `folder` (checked: missing, empty or a sensitivity folder), or
    memory without one."""
    if folder is None:
        return MemoryStore(), None
    target = folders.prepare(Path(folder), folders.SENSITIVITY)
    return RunStore(target), target
