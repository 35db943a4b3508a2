"""A scenario fitted to access logs from Python: `fit` and what it returns, `Fit`, the
same as ``sim fit`` writes (the command is built on it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.config import Scenario
from sim.config.access_logs import AccessLogError, read_records
from sim.config.log_mapping import LogMapping, load_mapping, mapping_from_dict
from sim.experiments.fit import FitOptions, FitResult, fit_records
from sim.experiments.fit_scenario import fitted_scenario, scenario_text, with_given
from sim.outputs import atomic
from sim.outputs.fit_report import write_fit_report

if TYPE_CHECKING:
    import pandas as pd


class Fit:
    """A scenario fitted to access logs: ``.scenario``, ``.estimates``, ``.text`` (the
    commented TOML), ``.save(path)``, ``.report(folder)``. Made by `fit`."""

    def __init__(self, result: FitResult, name: str = "fitted", given: Sequence[Any] = ()) -> None:
        self.result = result  # every estimate, with its samples (sim.experiments.fit)
        self.given = [g[0] if isinstance(g, tuple) else g.partition("=")[0].strip() for g in given]
        """The dotted paths given (``set``), marked GIVEN in the text."""
        self.text = with_given(scenario_text(result, name), list(given))
        self.scenario: Scenario = fitted_scenario(self.text)

    def __repr__(self) -> str:
        return (
            f"<Fit {self.scenario.name!r}: {self.result.records:,} requests, "
            f"{len(self.result.roles)} role(s), {len(self.result.services)} service(s)>"
        )

    @cached_property
    def estimates(self) -> pd.DataFrame:
        """One row per fitted number: quantity, value, low, high (95 %), n, method."""
        import pandas as pd

        return pd.DataFrame(self.result.estimates())

    def save(self, path: str | Path) -> Path:
        """Write the scenario (commented TOML) to `path`, atomically."""
        return atomic.write_text(Path(path), self.text)

    def report(self, folder: str | Path) -> Path:
        """Write the HTML fit report, its figures, estimates.csv and scenario.toml into
        `folder` (replaced whole, once complete); returns its report.html."""
        return write_fit_report(self.result, self.text, folder) / "report.html"


def fit(
    logs: str | Path | Iterable[str | Path],
    mapping: str | Path | Mapping[str, Any] | LogMapping | None = None,
    *,
    class_starts: Iterable[str] | None = None,
    format: str = "auto",
    name: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    set: Mapping[str, Any] | Sequence[str] | None = None,  # the name of --set
    **options: Any,
) -> Fit:
    """A scenario fitted to the access logs `logs` (files, gzip or not; nginx, apache or
    csv, see docs/how-to/fit.md), with `mapping` (a mapping file, a dict of its tables,
    or a ``LogMapping``; None: one service, everybody a pupil).

    `set` gives what the planner knows and no log shows, capacity above all, as
    ``sim.load``'s `set` (``{"services.login.servers": 4}``, or ``sim run --set``
    strings): written into the scenario, marked GIVEN.

    `class_starts` are the clock times the connect offsets are measured from (None:
    the mapping's ``[classes] starts``, else 09:00); `options`
    are the fields of :class:`sim.experiments.fit.FitOptions` (``retry_window_s``,
    ``quiet_min_samples``, ``min_events``, ``max_ks_distance``...). A bad file, mapping
    or option raises `sim.ScenarioError` in one line.

    Example::

        fitted = sim.fit(["access.log.1.gz", "access.log"], "mapping.toml",
                         class_starts=["08:00", "09:00"])
        fitted.estimates                    # quantity, value, low, high, n, method
        fitted = sim.fit("access.log", "mapping.toml",
                         set={"services.login.servers": 4})  # capacity: GIVEN
        fitted.save("my-platform.toml")     # the scenario, every value marked
        fitted.report("fit-report")         # report.html, figures, estimates.csv
        sim.run(fitted.scenario)
    """
    paths = [Path(logs)] if isinstance(logs, (str, Path)) else [Path(p) for p in logs]
    if not paths:
        raise AccessLogError("fit needs at least one log file")
    chosen = _mapping(mapping)
    fit_options = _options(class_starts, chosen, options)
    records = read_records(paths, format, on_progress)
    try:
        result = fit_records(records, chosen, fit_options, [str(p) for p in paths])
    except ValueError as e:
        if isinstance(e, AccessLogError):
            raise
        raise AccessLogError(f"{', '.join(map(str, paths))}: {e}") from None
    given = list(set.items()) if isinstance(set, Mapping) else list(set or [])
    return Fit(result, name or paths[0].name.split(".")[0], given)


def _mapping(mapping: str | Path | Mapping[str, Any] | LogMapping | None) -> LogMapping:
    if isinstance(mapping, LogMapping):
        return mapping
    if isinstance(mapping, Mapping):
        return mapping_from_dict(dict(mapping))
    return load_mapping(mapping)


def _options(
    class_starts: Iterable[str] | None, mapping: LogMapping, options: dict[str, Any]
) -> FitOptions:
    from pydantic import TypeAdapter, ValidationError

    from sim.config.base import ClockTime  # the schema's clock times

    given = "--class-start" if class_starts is not None else "the mapping's [classes]"
    starts = tuple(class_starts if class_starts is not None else mapping.classes.starts)
    if class_starts is None and not starts:
        starts, given = ("09:00",), ""
    if not starts:
        raise AccessLogError("class starts: give at least one, e.g. '09:00'")
    for start in starts:
        try:
            TypeAdapter(ClockTime).validate_python(start)
        except ValidationError:
            raise AccessLogError(
                f"class start: clock time must look like '08:00' or '08:00:30', got {start!r}"
            ) from None
    allowed = sorted(f for f in FitOptions.__dataclass_fields__ if not f.startswith("class_"))
    for key, value in options.items():
        if key not in allowed:
            raise AccessLogError(f"fit option {key!r} is unknown; one of {', '.join(allowed)}")
        whole = isinstance(FitOptions.__dataclass_fields__[key].default, int)
        kinds = int if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
            what = "a whole number" if whole else "a number"
            raise AccessLogError(f"fit option {key} must be {what} above 0, got {value!r}")
    return FitOptions(class_starts=starts, class_starts_from=given, **options)
