"""One morning from Python: `run` and what it returns, `Run`, whose tables
are pandas DataFrames and whose folder is the one ``sim run`` writes."""

from __future__ import annotations

import sys
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.config import Scenario
from sim.model.people import Fate
from sim.outputs import folders
from sim.outputs.figures import save_dashboard
from sim.outputs.run_folder import DASHBOARD, timeseries_columns, write_results
from sim.simulation.runner import ProgressCallback, RunResult
from sim.simulation.runner import run as simulate

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

PEOPLE_TIMES = ("intended_s", "class_start_s", "reached_s", "lobby_s", "ended_s")


class Run:
    """One simulated morning: its KPIs, services, per-bin and per-person tables.

    Made by `run`. The tables are pandas DataFrames, made when first read, then
    kept (pandas is imported only then: the command line never needs it).
    """

    def __init__(self, result: RunResult) -> None:
        self.result = result  # everything measured, as arrays (sim.simulation.runner)

    def __repr__(self) -> str:
        k = self.kpi
        share = "-" if k["share_in_class"] is None else f"{k['share_in_class']:.1%}"
        return (
            f"<Run {self.scenario.name!r} seed={self.seed}: {k['arrived']:,} people, "
            f"{share} got in, {k['gave_up']:,} gave up>"
        )

    @property
    def scenario(self) -> Scenario:
        """The scenario as given (platforms not expanded)."""
        return self.result.source

    @property
    def seed(self) -> int:
        return self.result.seed

    @property
    def kpi(self) -> dict[str, Any]:
        """The morning's KPIs (``share_in_class``, ``gave_up``, ...), with ``by_role`` and
        ``by_cohort``: the ``kpi`` of ``summary.json``; see the metrics reference."""
        return self.result.kpi

    @cached_property
    def services(self) -> pd.DataFrame:
        """One row per service (index: its name): arrivals, utilisation, waits,
        unavailability... (the ``services`` of ``summary.json``)."""
        import pandas as pd  # heavy: only when a table is asked for

        table = pd.DataFrame.from_dict(self.result.service_summary, orient="index")
        table.index.name = "service"
        return table

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """One row per time bin (``measure.bin_s`` seconds, a minute by default), indexed
        by the bin's start as a clock time (a ``Timedelta`` since midnight, whose ``freq``
        is the bin): the columns of ``timeseries.csv``. Counts are per bin, levels means
        over the bin."""
        import pandas as pd  # heavy: only when a table is asked for

        columns = timeseries_columns(self.result)
        clock = pd.to_timedelta(columns["bin_start_s"], unit="s")
        freq = pd.Timedelta(seconds=self.result.bin_s) if len(clock) > 1 else None
        index = pd.TimedeltaIndex(clock, name="clock", freq=freq)
        return pd.DataFrame(columns, index=index)

    @cached_property
    def people(self) -> pd.DataFrame:
        """One row per person (index: ``person``): group, role, the times of their morning
        in seconds since midnight (NaN where it did not happen), fate, attempts and
        failures: the columns of the per-person table of the results folder."""
        import pandas as pd  # heavy: only when a table is asked for

        p = self.result.people
        group = p["group"]
        table = {
            "group": pd.Categorical.from_codes(group, categories=self.result.group_names),
            "role": np.asarray(self.result.group_roles, dtype=object)[group],
            **{name: p[name.removesuffix("_s")] for name in PEOPLE_TIMES},
            "fate": pd.Categorical.from_codes(p["fate"], categories=[f.name.lower() for f in Fate]),
            "attempts": p["attempts"],
            "failures": p["failures"],
        }
        return pd.DataFrame(table, index=pd.RangeIndex(len(group), name="person"))

    def dashboard(self) -> Figure:
        """The five-panel dashboard of the morning (``dashboard.png``), as a matplotlib
        figure."""
        from sim.outputs.plots.dashboard import dashboard  # matplotlib: only when drawing

        return in_notebook(dashboard(self.result))

    def save(
        self,
        folder: str | Path,
        *,
        dashboard: bool = True,
        people: str = "parquet",
        command: list[str] | None = None,
    ) -> Path:
        """Write the results folder ``sim run`` writes (scenario, summary, manifest,
        tables, and the dashboard unless `dashboard` is False) to `folder`, all of it or
        nothing; return it. `people` is the per-person table's format, as ``sim run
        --people`` takes it: ``"parquet"`` (``people.parquet``), ``"csv"``
        (``people.csv.gz``) or ``"none"``. `command`, the command line that made the run,
        is kept in ``manifest.json`` (left out when not given: a Python call is not one).
        A folder that holds anything but earlier results of one run is refused
        (`sim.FolderError`), as on the command line."""
        target = folders.prepare(Path(folder), folders.SINGLE)
        extra = {DASHBOARD: lambda path: save_dashboard(self.result, path)} if dashboard else {}
        return write_results(self.result, target, extra, people=people, command=command)


def run(
    scenario: Scenario,
    *,
    seed: int | None = None,
    trace: bool = False,
    trace_silent: bool = False,
    progress: ProgressCallback | None = None,
) -> Run:
    """Simulate one morning of `scenario` (see `sim.load`): the code path of
    ``sim run``. `seed` replaces the scenario's seed for this run; `trace` keeps one row
    per request a person waited for (``trace.csv.gz``); `trace_silent` (which implies
    `trace`) also one per request made during a session or a lesson without waiting
    for the answer, flagged in the trace's ``silent`` column (``sim run
    --log-silent``); `progress` is called with the simulated clock as the run goes.

    Examples:
        >>> import sim
        >>> morning = sim.run(sim.load("teaching/single_queue"))
        >>> morning
        <Run 'teaching-single-queue' seed=1: ... people, ... got in, 0 gave up>
    """
    return Run(
        simulate(
            scenario.flat, seed=seed, progress=progress, trace=trace, trace_silent=trace_silent
        )
    )


def in_notebook(drawn):
    """`drawn` (a figure, or figures by name), shown when it ends a notebook cell.

    The figures are made without pyplot (they are written to files, and pyplot would
    keep every one alive), and IPython draws a bare ``Figure`` only once a PNG formatter
    is registered for it, which ``%matplotlib inline`` or pyplot's first figure do: in
    an IPython shell without one, register it here (what ``%matplotlib inline`` does);
    anywhere else, nothing."""
    shell = _ipython()
    if shell is not None:
        from matplotlib.figure import Figure

        try:
            shell.display_formatter.formatters["image/png"].lookup_by_type(Figure)
        except KeyError:
            from IPython.core.pylabtools import select_figure_formats

            select_figure_formats(shell, {"png"})
    return drawn


def _ipython():
    """The running IPython shell (a notebook's kernel), or None."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()
