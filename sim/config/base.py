"""Building blocks of the scenario schema: the strict base model, clock times, units,
and distributions (in seconds) that the engine turns into samplers.

The schema's modules do without ``from __future__ import annotations``: with it, pydantic
compiles every field's annotation from its string, a few hundredths of a second of each
command's start (docs/performance.md, start-up); a class naming itself is quoted."""

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


class Strict(BaseModel):
    """Unknown keys refused, values frozen, no NaN or infinity, and strict types: a
    boolean is not a number (``servers = true`` ran as 1 server) and ``"3"`` is not 3
    (TOML and ``--set`` give numbers their own type; an integer is still a float)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, strict=True, defer_build=True
    )


# ---------------------------------------------------------------- clock times

# \Z, not $: "$" also matches before a final newline, and "08:30\n" was accepted
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\Z")


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


def _power(n: int) -> str:
    """``10^6`` for a power of ten, else the number with thousands separators."""
    if n == 2**63 - 1:
        return "2^63 - 1"
    digits = str(n)
    if n >= 1000 and digits == "1" + "0" * (len(digits) - 1):
        return f"10^{len(digits) - 1}"
    return f"{n:,}"


def at_most(limit: float, what: str, why: str) -> AfterValidator:
    """A bound with its reason in the message (one line: ``at most 10^6 workers per
    server: <why>``): beyond it, numbers overflow a C long in the engine or make a run
    that never ends, and a plain "less than or equal to" would not say which."""
    shown = _power(limit) if isinstance(limit, int) else f"{limit:g}"

    def check(value: float) -> float:
        if value > limit:
            raise ValueError(f"at most {' '.join(filter(None, (shown, what)))}: {why}")
        return value

    return AfterValidator(check)


def at_least(limit: float, what: str, why: str) -> AfterValidator:
    """The lower bound of a positive quantity, with its reason (see :func:`at_most`)."""

    def check(value: float) -> float:
        if value < limit:
            raise ValueError(f"at least {limit:g} {what}: {why}")
        return value

    return AfterValidator(check)


MANY = "beyond any real platform, and the engine's counters are 64-bit"
MAX_SERVERS = 10**6
"""Servers of one service (or classroom): a million is more than any platform runs."""
MAX_PEOPLE = 10**10
"""People of one cohort: more than the world's population."""
MAX_COUNT = 10**9
"""Any other count (backlog, burst, knee, bots, seats): a billion is beyond real use."""
MIN_THINK_S = 0.001
"""A think time's mean: below a millisecond, a person's requests are an endless burst."""

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
    """Exponential: mean `mean_s`, variance `mean_s²`; memoryless, the textbook case."""

    kind: Literal["exponential"] = Field(description="which distribution")
    mean_s: PositiveFloat = Field(description="mean (s)")


class DeterministicSpec(Strict):
    """Always the same value: mean `value_s`, variance 0."""

    kind: Literal["deterministic"] = Field(description="which distribution")
    value_s: NonNegFloat = Field(description="the value, every time (s)")


def count(limit: int, what: str, low: int = 0) -> Any:
    """An integer from `low` to `limit` (a strict int: no boolean, no float)."""
    return Annotated[int, Field(ge=low), at_most(limit, what, MANY)]


MeanS = Annotated[PositiveFloat, Field(description="mean (s)")]
CvOfMean = Annotated[
    Cv,
    Field(
        description=(
            "coefficient of variation, standard deviation over mean (beyond 0.001 to 100 the "
            "samplers' arithmetic overflows)"
        )
    ),
]
"""The fields of a distribution given by its mean and coefficient of variation."""


class LognormalSpec(Strict):
    """Lognormal: mean `mean_s`, variance `(cv · mean_s)²`; a long tail of slow ones."""

    kind: Literal["lognormal"] = Field(description="which distribution")
    mean_s: MeanS
    cv: CvOfMean


class GammaSpec(Strict):
    """Gamma: mean `mean_s`, variance `(cv · mean_s)²`."""

    kind: Literal["gamma"] = Field(description="which distribution")
    mean_s: MeanS
    cv: CvOfMean


class UniformSpec(Strict):
    """Uniform between `low_s` and `high_s`: mean `(low_s + high_s) / 2`, variance
    `(high_s − low_s)² / 12`."""

    kind: Literal["uniform"] = Field(description="which distribution")
    low_s: NonNegFloat = Field(description="smallest value (s)")
    high_s: PositiveFloat = Field(description="largest value (s), above `low_s`")

    @model_validator(mode="after")
    def _ordered(self) -> "UniformSpec":
        if self.high_s <= self.low_s:
            raise ValueError("high_s must be greater than low_s")
        return self


class SequenceSpec(Strict):
    """Cycles through the values given, for tests computed by hand."""

    kind: Literal["sequence"] = Field(description="which distribution")
    values_s: Annotated[list[NonNegFloat], Field(min_length=1)] = Field(
        description="the values, taken in turn and again from the first (s)"
    )


class NeverSpec(Strict):
    """Infinite: a patience that never times out (not a service time)."""

    kind: Literal["never"] = Field(description="which distribution")


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


def spec_mean(spec: Any) -> float:
    """The mean (seconds) of the distribution a validated spec describes, for the
    schema's own checks; the engine's samplers are :func:`sim.engine.dists.from_spec`."""
    match spec:
        case ExponentialSpec() | LognormalSpec() | GammaSpec():
            return spec.mean_s
        case DeterministicSpec():
            return spec.value_s
        case UniformSpec():
            return (spec.low_s + spec.high_s) / 2
        case SequenceSpec():
            return math.fsum(spec.values_s) / len(spec.values_s)
        case NeverSpec():
            return math.inf
    raise TypeError(f"not a distribution spec: {spec!r}")
