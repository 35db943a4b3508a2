"""Every case of `sim validate`, by name: the queue cases and the law cases, which build
on the helpers of :mod:`sim.experiments.validate.checks`."""

from __future__ import annotations

from sim.experiments.validate.checks import Case
from sim.experiments.validate.laws import LAW_CASES
from sim.experiments.validate.queues import QUEUE_CASES


def all_cases() -> dict[str, Case]:
    """Every case by name, in the order `sim validate` runs them."""
    return {case.name: case for case in (*QUEUE_CASES, *LAW_CASES)}
