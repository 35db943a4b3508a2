"""Conditions on a metric, such as ``kpi.share_in_class>=0.95``: the ``--assert`` checks
of run, sweep and compare, and the ``--target`` of plan share one syntax and meaning."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from sim.measure.metrics import kind_of

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_CRITERION = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+|inf)\s*$")


@dataclass(frozen=True)
class Criterion:
    """``metric op value``. An observed None of a time (an infinite percentile) counts as
    +inf; of any other metric (a share of nobody, such as pupils' share where there are
    none) it holds no condition: a target on people who are not there is not met."""

    metric: str
    op: str
    value: float

    def holds(self, observed: float | None) -> bool:
        if observed is None:
            if kind_of(self.metric) != "s":
                return False
            observed = math.inf
        return OPERATORS[self.op](observed, self.value)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def parse_criterion(text: str, option: str) -> Criterion:
    """``metric<=value`` (or ``>=``, ``<``, ``>``); a bare name is a ``kpi.`` metric
    (``gave_up`` means ``kpi.gave_up``, ``by_role.pupil.gave_up`` means
    ``kpi.by_role.pupil.gave_up``). `option` names the flag in the error message."""
    match = _CRITERION.match(text)
    if not match:
        raise ValueError(f"{option} expects metric<=value (or >=, <, >), got {text!r}")
    metric, op, value = match.groups()
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{option} {text!r}: {value!r} is not a number") from None
    if not metric.startswith(("kpi.", "services.")):
        metric = f"kpi.{metric}"
    return Criterion(metric, op, number)
