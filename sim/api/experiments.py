"""Many mornings from Python: replications, sweeps, comparisons, plans and options
studies, each returning the tables the command line writes, as pandas DataFrames, and
the figures it draws.

Every function takes the runs' places as the command line does: ``jobs`` local
processes (default: all cores; 1 runs in this process), or a Dask ``scheduler``. With a
``folder``, each run is stored there as it finishes (an interrupted call made again
reuses them) and the folder is completed at the end, as the command writes it; without,
the runs are kept in memory and `save` writes the folder later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.api.runs import Run, in_notebook
from sim.api.scenarios import scaled
from sim.config import Scenario, catalog, to_dict
from sim.experiments import compare as pairs
from sim.experiments import execution
from sim.experiments import options as studies
from sim.experiments import plan as search
from sim.experiments import robust as worlds_of
from sim.experiments import sweep as design
from sim.experiments.execution import Estimate, Job, MemoryStore, Outcome, Progress, Store
from sim.outputs import experiment_folder, folders, study_folders
from sim.outputs.run_folder import SUMMARY
from sim.outputs.run_store import RunStore
from sim.simulation.runner import ProgressCallback
from sim.simulation.runner import run as simulate

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

ESTIMATE_COLUMNS = ("n", "mean", "low", "high", "half_width", "method")


class Experiment:
    """What every experiment holds: its jobs and what running them gave."""

    kind: str  # of results folder (sim.outputs.folders)

    def __init__(self, jobs: Sequence[Job], outcome: Outcome, command: list[str]) -> None:
        self.jobs = list(jobs)
        self.outcome = outcome  # records in job order, failures, reuse counts
        self.command = command  # what made it, for manifest.json
        self.started = time.perf_counter()

    @property
    def failures(self) -> list[tuple[Job, str]]:
        """The runs that failed, each with the last words of its error."""
        return self.outcome.failures

    def save(self, folder: str | Path) -> Path:
        """Write the results folder the command writes (every run's record in
        ``runs/``, the tables, the manifest and the figures) to `folder`; return it. A
        folder holding anything but results of this kind is refused
        (`sim.FolderError`)."""
        target = folders.prepare(Path(folder), self.kind)
        store = RunStore(target)
        for record in self.outcome.records:
            if store.get(record["key"]) is None:
                store.put(record)
        self._write(target)
        return target

    def _write(self, folder: Path) -> None:
        raise NotImplementedError

    def _manifest(self, extra: dict[str, Any]) -> dict[str, Any]:
        return experiment_folder.experiment_manifest(
            self.command, self.outcome, extra, time.perf_counter() - self.started
        )


class Replications(Experiment):
    """Independent replications of one scenario (``sim run --reps``): every metric's
    mean with its 95 % confidence interval."""

    kind = folders.REPLICATIONS

    def __init__(
        self,
        scenario: Scenario,
        jobs: Sequence[Job],
        outcome: Outcome,
        command: list[str],
        precision: float | None = None,
        precise: bool = True,
    ) -> None:
        super().__init__(jobs, outcome, command)
        self.scenario = scenario
        self.precision = precision  # asked for: relative half-width of the headline KPIs
        self.precise = precise  # whether it was reached (True when none was asked for)
        self.by_metric: dict[str, Estimate] = execution.summarize(outcome.records)

    def __repr__(self) -> str:
        return f"<Replications {self.scenario.name!r}: {len(self.outcome.records)} runs>"

    @property
    def estimates(self) -> pd.DataFrame:
        """One row per metric (index): n, mean, low, high (the 95 % interval, within
        what the metric can be), half_width (Student t's), method."""
        return estimates_frame(self.by_metric)

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: its key, replication, seed and every metric
        (``replications.csv``)."""
        return frame(*experiment_folder.runs_table(self.outcome.records))

    def figure(self) -> Figure:
        """The key KPIs, each mean with its interval (``kpis.png``)."""
        n = len(self.outcome.records)
        return in_notebook(experiment_folder.kpis_figure(self.scenario, n, self.by_metric))

    def _write(self, folder: Path) -> None:
        experiment_folder.write_replications(
            folder,
            self.scenario,
            self.outcome,
            self.by_metric,
            self.precision,
            self.precise,
            self.command,
        )


class Sweep(Experiment):
    """Variants of one scenario over a grid (or a Latin hypercube) of parameters, each
    replicated (``sim sweep``)."""

    kind = folders.SWEEP

    def __init__(self, base: Scenario, jobs, outcome, command, about: dict[str, Any]) -> None:
        super().__init__(jobs, outcome, command)
        self.base = base
        self.about = about  # the design, for the manifest
        self.by_variant = design.variant_estimates(self.jobs, outcome)

    def __repr__(self) -> str:
        return f"<Sweep {self.base.name!r}: {len(self.by_variant)} variants>"

    @property
    def variants(self) -> pd.DataFrame:
        """One row per variant: its parameters, n, and every metric's mean, low and high
        (``variants.csv``)."""
        return frame(*design.aggregate_table(self.by_variant))

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: variant, parameters, replication, seed, every metric
        (``runs.csv``)."""
        return frame(*design.runs_table(self.jobs, self.outcome))

    def figures(self, targets: Mapping[str, float] | None = None) -> dict[str, Figure]:
        """The sweep's figures by file name; `targets` (metric: value) are drawn as lines."""
        from sim.outputs.plots.experiments import sweep_figures

        return in_notebook(sweep_figures(self.by_variant, dict(targets or {})))

    def _write(
        self, folder: Path, targets: Mapping[str, float] | None = None, plots: bool = True
    ) -> None:
        study_folders.write_sweep(
            folder,
            self.base,
            self.jobs,
            self.outcome,
            self._manifest(self.about),
            plots=plots,
            targets=dict(targets or {}),
        )


class Comparison(Experiment):
    """Scenario B against A, replication by replication under common random numbers
    (``sim compare``): every metric's paired difference B − A with its interval."""

    kind = folders.COMPARE

    def __init__(self, a: Scenario, b: Scenario, jobs, outcome, command, reps: int) -> None:
        super().__init__(jobs, outcome, command)
        self.a, self.b, self.reps = a, b, reps
        self.sources = (a.name, b.name)  # where A and B came from, for the manifest
        self.by_metric: dict[str, pairs.Difference] = pairs.paired(*pairs.sides(jobs, outcome))

    def __repr__(self) -> str:
        return f"<Comparison {self.a.name!r} -> {self.b.name!r}: {self.reps} pairs>"

    @property
    def differences(self) -> pd.DataFrame:
        """One row per metric (index): A's and B's means, B − A with its 95 % interval,
        and whether it is significant (``compare.csv``)."""
        return frame(*pairs.compare_table(self.by_metric)).set_index("metric")

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run of either side (``runs.csv``)."""
        return frame(*design.runs_table(self.jobs, self.outcome))

    def figure(self) -> Figure:
        """The headline KPIs' differences with their intervals (``compare.png``)."""
        return in_notebook(study_folders.compare_figure(self.a, self.b, self.by_metric, self.jobs))

    def _write(self, folder: Path, plots: bool = True) -> None:
        about = {"replications": self.reps, "seeds": [self.a.seed], "scale": self.a.scale}
        data = self._manifest({**about, "a": self.sources[0], "b": self.sources[1]})
        study_folders.write_compare(
            folder, self.a, self.b, self.jobs, self.outcome, data, plots=plots
        )


class Plan(Experiment):
    """The smallest value of a capacity parameter for which a target holds (``sim plan``),
    found by bisection; each probe a set of replications decided at a confidence."""

    kind = folders.PLAN

    def __init__(self, base: Scenario, found: search.PlanResult, command, about) -> None:
        super().__init__([], found.outcome(), command)
        self.base = base  # the scenario before the parameter is set
        self.search = found
        self.about = about  # scale, replications: for plan.json and the manifest

    def __repr__(self) -> str:
        s = self.search
        return f"<Plan {s.parameter} for {s.target}: {s.answer if s.found else 'none'}>"

    @property
    def answer(self) -> Any:
        """The smallest value found to hold, or None."""
        return self.search.answer

    @property
    def probes(self) -> pd.DataFrame:
        """One row per probe, in the order probed: value, n, mean, one-sided bounds,
        verdict, runs reused and made (``plan.csv``)."""
        data = search.plan_data(self.search)
        return frame(
            list(search.PROBE_COLUMNS),
            [[p[c] for c in search.PROBE_COLUMNS] for p in data["probes"]],
        )

    def figure(self) -> Figure:
        """Each probe's mean and bound against the target (``plan.png``)."""
        from sim.outputs.plots.plan import plan_figure

        return in_notebook(plan_figure(search.plan_data(self.search, **self.about)))

    def _write(self, folder: Path) -> None:
        study_folders.write_plan(folder, self.base, self.search, self.about, self.command)


class Options(Experiment):
    """A scenario and the options of a study (``sim options``), each replicated on the
    same random numbers: what each option changes, with its interval, and which meet the
    study's target."""

    kind = folders.OPTIONS

    def __init__(
        self,
        study: studies.Study,
        jobs,
        outcome,
        command,
        about,
        worlds: worlds_of.RobustPlan | None = None,
    ) -> None:
        super().__init__(jobs, outcome, command)
        self.study = study
        self.about = about  # the study's files, replications, seeds: for the manifest
        self.worlds = worlds  # the plausible worlds each option also ran in, if any
        self.robust: dict[str, worlds_of.Verdict] = {}
        if worlds is not None:
            self.robust = worlds_of.verdicts(study, worlds.worlds, worlds.jobs, outcome)
        verdicts = {name: v.as_json() for name, v in self.robust.items()}
        self.results: list[studies.OptionResult] = studies.analyse(
            study, self.jobs, outcome, verdicts
        )

    def __repr__(self) -> str:
        return f"<Options {self.study.name!r}: {len(self.results) - 1} options, best {self.best}>"

    @property
    def table(self) -> pd.DataFrame:
        """One row per option, the baseline first (index: option): what it changes, the
        study's metrics with their intervals, the difference from the baseline and the
        verdict on the target (``options.csv``)."""
        return frame(*studies.study_table(self.results)).set_index("option")

    @property
    def best(self) -> str | None:
        """The option that meets the target best (or does best, without a target); None
        if none meets it."""
        winner = studies.best(self.results, self.study.target)
        return None if winner is None else winner.name

    def figures(self) -> dict[str, Figure]:
        """The study's figures by file name (``options.png``...)."""
        from sim.outputs.plots import options as drawings  # matplotlib: only when drawing

        drawn = drawings.study_figures(self.study, self.results)
        return in_notebook({f"{stem}.png": figure for stem, figure in drawn.items()})

    def _write(self, folder: Path, plots: bool = True) -> None:
        data = self._manifest(self.about)
        robust = None
        if self.worlds is not None and self.study.target is not None:
            table = worlds_of.worlds_table(self.worlds, self.outcome, self.study.target)
            robust = ({name: v.as_json() for name, v in self.robust.items()}, table)
        study_folders.write_study(
            folder, self.study, self.jobs, self.outcome, data, plots=plots, robust=robust
        )


def replicate(
    scenario: Scenario,
    reps: int = 5,
    *,
    precision: float | None = None,
    max_reps: int = 100,
    jobs: int | None = None,
    scheduler: str | None = None,
    folder: str | Path | None = None,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> Replications:
    """Replications 0..`reps`-1 of `scenario` (``sim run --reps``). With `precision`
    (e.g. 0.02), replications are added until every headline KPI's 95 % half-width is
    within that share of its mean, or `max_reps`. `progress(done, total)` is called as
    runs finish; `command` is recorded in the folder's manifest.

    Examples:
        >>> import sim
        >>> reps = sim.replicate(sim.load("teaching/single_queue"), 3, jobs=1)
        >>> list(reps.estimates.columns)
        ['n', 'mean', 'low', 'high', 'half_width', 'method']
    """
    check_reps(reps)
    store, target = _store(folder, folders.REPLICATIONS)
    outcome, precise = execution.replicate(
        scenario,
        reps,
        store,
        precision=precision,
        max_reps=max(max_reps, reps),
        n_jobs=jobs,
        scheduler=scheduler,
        progress=progress,
    )
    jobs_list = [Job(scenario, r["replication"], scenario.seed) for r in outcome.records]
    call = command or [f"sim.replicate({scenario.name!r}, {reps})"]
    result = Replications(scenario, jobs_list, outcome, call, precision, precise)
    if target is not None:
        result._write(target)
    return result


def sweep(
    scenario: Scenario,
    vary: Mapping[str, Sequence[Any] | str],
    *,
    reps: int = 5,
    sample: int | None = None,
    scale: float = 1.0,
    jobs: int | None = None,
    scheduler: str | None = None,
    folder: str | Path | None = None,
    targets: Mapping[str, float] | None = None,
    plots: bool = True,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> Sweep:
    """Every variant of `scenario` over the values in `vary` (``sim sweep``):
    ``{"services.login.servers": [4, 6, 8]}``, or a range as text, ``"4:8:2"`` (``"4:8"``
    with `sample`: a Latin hypercube of that many variants). Each variant runs `reps`
    replications with common random numbers. With `scale`, the scenario and the varied
    values (full-size ones) are scaled alike. With a `folder`, its figures are drawn
    unless `plots` is False; `targets` (metric: value) are drawn on them.
    """
    check_reps(reps)
    factors = [
        design.parse_vary(f"{path}={values}")
        if isinstance(values, str)
        else design.Factor(path, tuple(values))
        for path, values in vary.items()
    ]
    points, variants = design.design(scenario, factors, sample)
    if scale != 1.0:
        variants = [scaled(v, scale) for v in variants]
        scenario = scaled(scenario, scale)
    store, target = _store(folder, folders.SWEEP)
    jobs_list = design.sweep_jobs(variants, points, reps)
    started = time.perf_counter()
    outcome = execution.execute(jobs_list, store, jobs, scheduler, progress)
    about = {
        "design": "latin_hypercube" if sample else "grid",
        "sample": sample,
        "sample_seed": scenario.seed if sample else None,
        "vary": [f"{f.path}={_shown_values(f)}" for f in factors],
        "variants": len(points),
        "replications": reps,
        "seeds": sorted({job.seed for job in jobs_list}),
        "scale": scenario.scale,  # of the scaled base: with any scale of its file
    }
    result = Sweep(scenario, jobs_list, outcome, command or ["sim.sweep(...)"], about)
    result.started = started
    if target is not None:
        result._write(target, targets, plots)
    return result


def compare(
    a: Scenario,
    b: Scenario,
    *,
    reps: int = 10,
    labels: Sequence[Sequence[tuple[str, Any]]] = ((), ()),
    jobs: int | None = None,
    scheduler: str | None = None,
    folder: str | Path | None = None,
    plots: bool = True,
    progress: Progress | None = None,
    command: list[str] | None = None,
    sources: tuple[str, str] | None = None,
) -> Comparison:
    """B against A (``sim compare``): replication k of each runs on the same random
    numbers (A's seed), so that B − A is the change's effect with little noise. `labels`
    name what makes each side (``(("services.login.servers", 6),)``), kept in the runs;
    `sources`, the files A and B came from, in the folder's manifest (default: names).
    """
    check_reps(reps)
    store, target = _store(folder, folders.COMPARE)
    jobs_list = pairs.compare_jobs(a, b, reps, labels)
    started = time.perf_counter()
    outcome = execution.execute(jobs_list, store, jobs, scheduler, progress)
    result = Comparison(a, b, jobs_list, outcome, command or ["sim.compare(...)"], reps)
    result.started = started
    result.sources = sources or result.sources
    if target is not None:
        result._write(target, plots)
    return result


# ---------------------------------------------------------------- helpers


def check_reps(reps: int) -> None:
    if not 1 <= reps <= execution.MAX_REPS:
        raise ValueError(f"reps must be 1 to {execution.MAX_REPS:,}, got {reps}")


def _store(folder: str | Path | None, kind: str) -> tuple[Store, Path | None]:
    """Where the runs are kept: the folder's run store, or memory without a folder."""
    if folder is None:
        return MemoryStore(), None
    target = folders.prepare(Path(folder), kind)
    return RunStore(target), target


def _shown_values(factor: design.Factor) -> str:
    if factor.values:
        return ",".join(str(design.plain(v)) for v in factor.values)
    return f"{factor.low:g}:{factor.high:g}"


def frame(header: list[str], rows: list[list[Any]]) -> pd.DataFrame:
    """A table of the command line's (header, rows) as a DataFrame; missing values NaN."""
    import pandas as pd  # heavy: only when a table is asked for

    return pd.DataFrame(rows, columns=header)


def estimates_frame(estimates: Mapping[str, Estimate]) -> pd.DataFrame:
    """Estimates by metric as a DataFrame (index: metric; `ESTIMATE_COLUMNS`)."""
    import pandas as pd  # heavy: only when a table is asked for

    rows = {
        name: [e.n, e.mean, e.low, e.high, e.half_width, e.method] for name, e in estimates.items()
    }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(ESTIMATE_COLUMNS))
    table.index.name = "metric"
    return table


def plan(
    scenario: Scenario,
    parameter: str,
    low: float,
    high: float,
    target: str,
    *,
    step: float | None = None,
    scale: float = 1.0,
    confidence: float = 0.95,
    reps: int = 5,
    max_reps: int = 20,
    jobs: int | None = None,
    scheduler: str | None = None,
    folder: str | Path | None = None,
    on_probe: Callable[[search.Probe], None] | None = None,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> Plan:
    """The smallest value of `parameter` in `low`..`high` (by `step`) for which `target`
    holds on the mean at one-sided `confidence` (``sim plan``): ``sim.plan(scenario,
    "services.login.servers", 2, 40, "share_in_class_5min_after_start>=0.95")``.
    Bisection, assuming more capacity never hurts; each probe runs `reps` replications,
    up to `max_reps` while unsure. With `scale`, the scenario and the values (full-size
    ones) are scaled alike. `on_probe` is called with each probe as it is decided.
    Raises ValueError on bad input, `sim.experiments.plan.RunsFailed` if a probe's
    runs fail.

    Examples:
        >>> import sim
        >>> base = sim.load("teaching/single_queue")
        >>> sim.plan(base, "services.login.servers", 1, 4, "kpi.share_in_class>=0.9", jobs=1).answer
        1
    """
    if not 0.5 <= confidence < 1:
        raise ValueError(f"confidence must be at least 0.5 and below 1, got {confidence}")
    if reps < 2:
        raise ValueError(f"reps must be at least 2 (a confidence bound needs two runs), got {reps}")
    check_reps(reps)
    goal = search.parse_target(target)
    current = search.lookup(to_dict(scenario), parameter)
    values = search.candidates(current, parameter, low, high, step)

    def make(value: Any) -> Scenario:
        return scaled(design.variants(scenario, [((parameter, value),)])[0], scale)

    base = scaled(scenario, scale)
    store, where = _store(folder, folders.PLAN)
    found = search.plan(
        make,
        parameter,
        values,
        goal,
        confidence=confidence,
        reps=reps,
        max_reps=max_reps,
        store=store,
        n_jobs=jobs,
        scheduler=scheduler,
        on_probe=on_probe,
        progress=progress,
    )
    about = {"scenario": base.name, "seed": base.seed, "scale": base.scale, "reps": reps}
    result = Plan(
        base, found, command or ["sim.plan(...)"], {**about, "max_reps": max(reps, max_reps)}
    )
    if where is not None:
        result._write(where)
    return result


def load_study(
    study: str | Path,
    *,
    set: Sequence[str] = (),
    scale: float | None = None,
    reps: int | None = None,
    seed: int | None = None,
    only: Sequence[str] = (),
    worlds: int | None = None,
) -> studies.Study:
    """An options study (a TOML file or a shipped example's name, as ``sim options``
    takes it), resolved: `set` (``path=value`` texts) changes the baseline and every
    option; `scale`, `reps`, `seed` and `worlds` (plausible worlds of its
    ``[uncertain]`` table, 0: none) replace the file's; `only` keeps the options of
    these names (and the baseline). Raises `sim.ScenarioError`."""
    path = catalog.find(study)
    return studies.load_study(
        path, sets=list(set), scale=scale, reps=reps, seed=seed, only=list(only), worlds=worlds
    )


def options(
    study: str | Path | studies.Study,
    *,
    set: Sequence[str] = (),
    scale: float | None = None,
    reps: int | None = None,
    seed: int | None = None,
    only: Sequence[str] = (),
    worlds: int | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    folder: str | Path | None = None,
    plots: bool = True,
    progress: Progress | None = None,
    command: list[str] | None = None,
    robust: worlds_of.RobustPlan | None = None,
) -> Options:
    """The options study `study` (``sim options``): the baseline and each option run
    `reps` replications on the same random numbers; ``.table`` says what each changes
    and whether it meets the target, ``.best`` names the one that does best. `set`,
    `scale`, `reps`, `seed` and `only` (some of the options, by name) as in
    :func:`load_study`. With a `folder`, the baseline's
    first replication is also kept as a full run folder in ``baseline/`` (what the report
    shows), as the command does (:func:`run_baseline`).

    A study with a target and an ``[uncertain]`` table also runs the baseline and every
    option in its plausible worlds (`worlds` of them, default the file's; 0: none), and
    ``.robust`` gives each one's verdict across them (:mod:`sim.experiments.robust`);
    `robust` is that plan made already (:func:`sim.experiments.robust.plan_robust`).

    Examples:
        >>> import sim
        >>> study = sim.options("teaching/surge-options", reps=2, jobs=1)
        >>> study.table.index[0], study.best is not None
        ('baseline', True)
    """
    if not isinstance(study, studies.Study):
        study = load_study(
            study, set=set, scale=scale, reps=reps, seed=seed, only=only, worlds=worlds
        )
    robust = robust or worlds_of.plan_robust(study)
    store, target = _store(folder, folders.OPTIONS)
    jobs_list = studies.study_jobs(study)
    started = time.perf_counter()
    if target is not None:
        run_baseline(study, jobs_list[0], target, store)
    in_worlds = list(robust.jobs) if robust is not None else []
    outcome = execution.execute([*jobs_list, *in_worlds], store, jobs, scheduler, progress)
    about = {
        "study": str(study.path),
        "scenario": study.baseline.name,
        "scenario_file": str(study.path.parent / study.spec.scenario),
        "replications": study.reps,
        "seeds": [study.baseline.seed],
        "scale": study.baseline.scale,
    }
    if only:
        about["only"] = list(only)
    if robust is not None:
        about["worlds"] = len(robust.worlds)
    call = command or ["sim.options(...)"]
    result = Options(study, jobs_list, outcome, call, about, robust)
    result.started = started
    if target is not None:
        result._write(target, plots)
    return result


def run_baseline(
    study: studies.Study,
    job: Job,
    folder: Path,
    store: Store,
    progress: ProgressCallback | None = None,
) -> Run | None:
    """The baseline's first replication, run in this process, its full results folder
    (dashboard included) kept in ``folder/baseline/`` and its record stored, so that the
    runs that follow do not make it again; None when both are there already (a study
    run again). Raises `sim.experiments.plan.UnknownMetric` if the study's target names
    a metric the runs do not have (before any other run), RuntimeError if the run's
    record does not check out (a fault of the model)."""
    baseline = folder / studies.BASELINE
    record = store.get(job.key)
    morning = None
    if record is None or not (baseline / SUMMARY).is_file():
        result = simulate(
            job.scenario.flat, seed=job.seed, replication=job.replication, progress=progress
        )
        morning = Run(result)
        morning.save(baseline)
        record = execution.record_of(job, result)
        if problem := execution.invalid_record(record):
            raise RuntimeError(f"the baseline run failed: {problem}")
        store.put(record)
    if study.target is not None:
        search.metric_of(record, study.target.metric)
    return morning
