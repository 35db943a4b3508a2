"""Building blocks of the scenario schema: the strict base model, clock times, units,
and distributions (in seconds) that the engine turns into samplers."""

from __future__ import annotations

import math
import re
import sys
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from sim import dists


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line meant for the user."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------- clock times

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def _check_clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError(f"clock time must look like '08:00' or '08:00:30', got {value!r}")
    return value


ClockTime = Annotated[str, AfterValidator(_check_clock)]


def clock_to_s(value: str) -> float:
    """Seconds since midnight of a clock time such as ``"08:30"``."""
    hours, minutes, seconds = _CLOCK.match(value).groups()  # type: ignore[union-attr]
    return 3600.0 * int(hours) + 60.0 * int(minutes) + float(seconds or 0)


def s_to_clock(seconds: float) -> str:
    """``"HH:MM"`` (or ``"HH:MM:SS"``) for seconds since midnight."""
    whole = round(seconds)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}" if s == 0 else f"{h:02d}:{m:02d}:{s:02d}"


PositiveFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
Cv = Annotated[float, Field(ge=0.001, le=100)]
"""A coefficient of variation: beyond these bounds the samplers' arithmetic overflows
(and no real duration is that regular or that wild)."""

MAX_LOG = math.log(sys.float_info.max)


def overflows(base: float, exponent: int) -> bool:
    """True if ``base ** exponent`` is beyond the largest float (Python then raises)."""
    return exponent > 0 and base > 1 and exponent >= MAX_LOG / math.log(base)


# ---------------------------------------------------------------- distributions (seconds)


class ExponentialSpec(Strict):
    kind: Literal["exponential"]
    mean_s: PositiveFloat


class DeterministicSpec(Strict):
    kind: Literal["deterministic"]
    value_s: NonNegFloat


class LognormalSpec(Strict):
    kind: Literal["lognormal"]
    mean_s: PositiveFloat
    cv: Cv


class GammaSpec(Strict):
    kind: Literal["gamma"]
    mean_s: PositiveFloat
    cv: Cv


class UniformSpec(Strict):
    kind: Literal["uniform"]
    low_s: NonNegFloat
    high_s: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self) -> UniformSpec:
        if self.high_s <= self.low_s:
            raise ValueError("high_s must be greater than low_s")
        return self


class SequenceSpec(Strict):
    kind: Literal["sequence"]
    values_s: Annotated[list[NonNegFloat], Field(min_length=1)]


class NeverSpec(Strict):
    kind: Literal["never"]


ServiceTimeSpec = Annotated[
    ExponentialSpec | DeterministicSpec | LognormalSpec | GammaSpec | UniformSpec | SequenceSpec,
    Field(discriminator="kind"),
]
DurationSpec = Annotated[
    ExponentialSpec
    | DeterministicSpec
    | LognormalSpec
    | GammaSpec
    | UniformSpec
    | SequenceSpec
    | NeverSpec,
    Field(discriminator="kind"),
]


def make_dist(spec: Any) -> dists.Distribution:
    """The runtime distribution (in seconds) described by a validated spec."""
    match spec:
        case ExponentialSpec():
            return dists.Exponential(spec.mean_s)
        case DeterministicSpec():
            return dists.Deterministic(spec.value_s)
        case LognormalSpec():
            return dists.Lognormal(spec.mean_s, spec.cv)
        case GammaSpec():
            return dists.Gamma(spec.mean_s, spec.cv)
        case UniformSpec():
            return dists.Uniform(spec.low_s, spec.high_s)
        case SequenceSpec():
            return dists.Sequence(tuple(spec.values_s))
        case NeverSpec():
            return dists.Never()
    raise TypeError(f"not a distribution spec: {spec!r}")
