"""The shape of a replications folder's ``summary.json`` (``sim run --reps``): each
metric's mean over the mornings with its confidence interval, written by
:mod:`sim.outputs.experiment_folder` and read back by the report and the recognition of
results folders through these fields, as :class:`sim.simulation.summary.Summary` is for one run.

A number that is not finite (no interval below two values, a time that never came) is
written as null, as in every table: JSON has no NaN.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a name for annotations: execution imports numpy and the model
    from sim.config.scenario import Scenario
    from sim.experiments.execution import Estimate

CONFIDENCE = 0.95  # of every interval in the summary


class ReplicationsSummaryError(ValueError):
    """What was read is not the summary of replications; the message says what it lacks."""


@dataclass(frozen=True)
class Interval:
    """One metric's estimate as written: its mean and 95 % interval, None where the
    number is not finite."""

    n: int  # the replications that had a value
    mean: float | None
    half_width: float | None  # Student's t, before the metric's bounds (precision targets)
    low: float | None  # the interval within the metric's range
    high: float | None
    method: str  # the interval's method in words
    # the replications whose value was infinite (a percentile of time to class when too
    # many never got in: the mean is null); None in summaries of older versions
    unbounded: int | None

    @classmethod
    def of(cls, e: Estimate) -> Interval:
        return cls(
            n=e.n,
            mean=_finite(e.mean),
            half_width=_finite(e.half_width),
            low=_finite(e.low),
            high=_finite(e.high),
            method=e.method,
            unbounded=e.unbounded,
        )


@dataclass(frozen=True)
class ReplicationsSummary:
    """The content of a replications folder's ``summary.json``, field by field."""

    scenario: str  # the scenario's name
    seed: int  # the root seed; replication i runs on its i-th child stream
    scale: float | None  # the scenario's --scale (1: not scaled; None: older versions)
    replications: int  # the runs the estimates are over
    confidence: float
    precision: float | None  # the relative half-width asked for (--precision), if any
    precision_reached: bool | None  # None when no precision was asked for
    estimates: dict[str, Interval]  # by metric name (sim.measure.metrics)

    @classmethod
    def of(
        cls,
        scenario: Scenario,
        replications: int,
        estimates: dict[str, Estimate],
        precision: float | None,
        precise: bool,
    ) -> ReplicationsSummary:
        return cls(
            scenario=scenario.name,
            seed=scenario.seed,
            scale=scenario.scale,
            replications=replications,
            confidence=CONFIDENCE,
            precision=precision,
            precision_reached=precise if precision is not None else None,
            estimates={name: Interval.of(e) for name, e in estimates.items()},
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``json.dumps``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> ReplicationsSummary:
        """The summary in `data` (``summary.json`` as parsed); a
        :class:`ReplicationsSummaryError` naming what is missing if it is not one."""
        if not cls.recognises(data):
            raise ReplicationsSummaryError("not the summary of replications (no estimates)")
        missing = [f.name for f in fields(cls) if f.name not in data and f.name not in LATER]
        if missing:
            raise ReplicationsSummaryError(
                f"the summary of replications lacks {', '.join(missing)}"
            )
        names = [f.name for f in fields(Interval) if f.name not in LATER]
        bad = [
            m
            for m, e in data["estimates"].items()
            if not isinstance(e, dict) or not set(names) <= set(e)
        ]
        if bad:
            raise ReplicationsSummaryError(
                f"the estimate of {bad[0]} lacks some of {', '.join(names)}"
            )
        every = [f.name for f in fields(Interval)]
        estimates = {
            m: Interval(**{k: e.get(k) for k in every}) for m, e in data["estimates"].items()
        }
        values = {f.name: data.get(f.name) for f in fields(cls)}
        return cls(**{**values, "estimates": estimates})

    @staticmethod
    def recognises(data: Any) -> bool:
        """Whether `data` is shaped as a summary of replications: a table of estimates."""
        return isinstance(data, dict) and isinstance(data.get("estimates"), dict)


LATER = ("scale", "unbounded")
"""Fields of :class:`ReplicationsSummary` and :class:`Interval` that older versions did
not write: None when read from their summaries."""


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
