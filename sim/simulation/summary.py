"""The shape of ``summary.json``: one run's figures, written by
:mod:`sim.outputs.run_folder` and read back by the report, ``sim animate`` and the
recognition of results folders through these fields, not through key names spelt
again in each of them.

``kpi`` and ``services`` hold the metrics of :mod:`sim.measure.metrics` (the KPIs with
``by_role`` and ``by_cohort``; one row per service). Everything but ``wall_s`` and
``speed`` is seeded: the same scenario and seed give the same bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from sim import __version__
from sim.simulation import fingerprint

if TYPE_CHECKING:
    from sim.simulation.runner import RunResult


class SummaryError(ValueError):
    """What was read is not the summary of a run; the message says what it lacks."""


@dataclass(frozen=True)
class Speed:
    """How fast the run went (not seeded: the machine's, not the model's)."""

    people_per_s: float
    requests_per_s: float
    events_per_s: float


@dataclass(frozen=True)
class Summary:
    """The content of ``summary.json``, field by field."""

    scenario: str  # the scenario's name
    seed: int
    replication: int
    scale: float | None  # the scenario's --scale (1: not scaled; None: a run of older code)
    sim_version: str
    fingerprint: str | None  # of the code that made the run (None: a run of older code)
    simulated_s: float  # the simulated morning, end less start
    kpi: dict[str, Any]
    services: dict[str, dict[str, Any]]
    events: int
    wall_s: float
    speed: Speed

    @classmethod
    def of(cls, result: RunResult) -> Summary:
        """The summary of `result`."""
        wall = max(result.wall_s, 1e-9)
        requests = sum(s["arrivals"] for s in result.service_summary.values())
        return cls(
            scenario=result.scenario.name,
            seed=result.seed,
            replication=result.replication,
            scale=result.scenario.scale,
            sim_version=__version__,
            fingerprint=fingerprint.code_fingerprint(),
            simulated_s=result.scenario.end_s - result.scenario.start_s,
            kpi=result.kpi,
            services=result.service_summary,
            events=result.events,
            wall_s=round(result.wall_s, 3),
            speed=Speed(
                people_per_s=round(result.kpi["arrived"] / wall, 1),
                requests_per_s=round(requests / wall, 1),
                events_per_s=round(result.events / wall, 1),
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``json.dumps``, the fields in their order."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Summary:
        """The summary in `data` (``summary.json`` as parsed); :class:`SummaryError` if
        it is not one. A field that older versions did not write is None."""
        if not cls.recognises(data):
            raise SummaryError("not the summary of one run (no kpi or sim_version)")
        missing = [f.name for f in fields(cls) if f.name not in data and f.name not in LATER]
        if missing:
            raise SummaryError(f"the summary of a run lacks {', '.join(missing)}")
        if not isinstance(data["kpi"], dict) or not isinstance(data["services"], dict):
            raise SummaryError("the kpi and services of a run's summary are not tables")
        speed = data["speed"]
        if not isinstance(speed, dict) or not all(f.name in speed for f in fields(Speed)):
            raise SummaryError("the summary of a run has no speed of the run")
        values = {f.name: data.get(f.name) for f in fields(cls)}
        return cls(**{**values, "speed": Speed(**{f.name: speed[f.name] for f in fields(Speed)})})

    @staticmethod
    def recognises(data: Any) -> bool:
        """Whether `data` is shaped as a run's summary: its KPIs, and the version of sim
        that wrote it (a user's own ``summary.json`` has no reason to name it)."""
        return isinstance(data, dict) and "kpi" in data and "sim_version" in data


LATER = ("fingerprint", "scale")
"""Fields of :class:`Summary` that runs of older versions did not write."""
