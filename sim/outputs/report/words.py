"""Numbers as a person says them, for the one-page brief (:mod:`sim.outputs.report.brief`).

A minister reads "about 1 in 20 pupils never got in", not "5.3 % (4.1 % to 6.5 %)". These
functions round a figure the way one would say it aloud: a share as "1 in N" or "k in n"
with small numbers, a time in seconds, minutes or hours, a count to two significant
digits. The precise figures, with their intervals, stay in the rest of the report.

Pure functions of plain numbers; a missing or infinite value is ``-``. Quantities that
cannot be negative (shares, times, counts, money) are read as 0 below 0 (the noise of
an estimate), never said as negative.
"""

from __future__ import annotations

import math
from fractions import Fraction

MISSING = "-"
ALMOST_ALL = 0.95  # from here on, "almost all (97 %)"
ALMOST_NONE = 1e-6  # below, "almost none" (1 in more than a million)
SMALL_DENOMINATORS = (2, 3, 4, 5, 10)  # "k in n" for shares these say well
NICE_MANTISSAS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)  # "1 in 20", "1 in 250", "1 in 1,000"
ONE_IN_BELOW = 0.2  # "1 in N" only for shares below 1 in 5
TOLERANCE_ABS, TOLERANCE_REL = 0.025, 0.1  # how far "about k in n" may be from the share
HOUR, MINUTE = 3600.0, 60.0


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def share_words(x: float | None) -> str:
    """A share of people: ``0.053`` -> "about 1 in 20", ``0.31`` -> "about 1 in 3",
    ``0.968`` -> "almost all (97 %)"."""
    if not _finite(x):
        return MISSING
    x = min(max(x, 0.0), 1.0)
    if x == 0:
        return "none"
    if x == 1:
        return "all"
    if x < ALMOST_NONE:
        return "almost none"
    if x >= ALMOST_ALL:
        return f"almost all ({percent_words(x)})"
    fraction = _simple_fraction(x)
    if fraction is not None:
        if fraction == Fraction(1, 2):
            return "about half"
        return f"about {fraction.numerator} in {fraction.denominator}"
    if x < ONE_IN_BELOW:
        return f"about 1 in {_nice(1 / x):,}"
    return f"about {round(x * 100)} %"


def percent_words(x: float | None) -> str:
    """A share in whole per cent, never rounded up to 100 % nor down to 0 % when it is
    not all or none: 0.43 -> "43 %", 0.968 -> "97 %", 0.9955 -> "99.5 %"."""
    if not _finite(x):
        return MISSING
    x = min(max(x, 0.0), 1.0)
    if x in (0.0, 1.0):
        return f"{x * 100:g} %"
    whole = round(x * 100)
    if 0 < whole < 100:
        return f"{whole} %"
    if whole == 0:
        return f"{math.ceil(x * 1000) / 10:g} %" if x >= 0.001 else "under 0.1 %"
    return f"{math.floor(x * 1000) / 10:g} %" if x < 0.999 else "over 99.9 %"


def _simple_fraction(x: float) -> Fraction | None:
    """The fraction k/n with the smallest n of :data:`SMALL_DENOMINATORS` close enough to
    `x` (within both tolerances), if any."""
    tolerance = min(TOLERANCE_ABS, TOLERANCE_REL * x)
    for n in SMALL_DENOMINATORS:
        for k in range(1, n):
            if math.gcd(k, n) == 1 and abs(x - k / n) <= tolerance:
                return Fraction(k, n)
    return None


def _nice(n: float) -> int:
    """The round number nearest `n` on a log scale: 6.7 -> 7, 18.9 -> 20, 61 -> 60,
    909 -> 1,000 (any whole number up to 10, then fewer: one says 1 in 1,000, not 1 in 900)."""
    exponent = math.floor(math.log10(n))
    candidates = [*range(5, 11)]
    candidates += [
        m * 10**e for e in (exponent - 1, exponent, exponent + 1) for m in NICE_MANTISSAS
    ]
    best = min(candidates, key=lambda c: abs(math.log(c / n)))
    return round(best)


def duration_words(seconds: float | None) -> str:
    """A time: 4.1 -> "about 4 seconds", 2031 -> "about 34 minutes", 4560 -> "about
    1 hour 15 minutes", 19440 -> "about 5 and a half hours"."""
    if not _finite(seconds):
        return MISSING
    if seconds < 1:
        return "under a second"
    if round(seconds) < MINUTE:
        n = round(seconds)
        return f"about {n} second{'s' * (n != 1)}"
    minutes = round(seconds / MINUTE)
    if minutes == 1:
        return "about a minute"
    if minutes < MINUTE:
        return f"about {minutes} minutes"
    if seconds < 3 * HOUR:
        hours, rest = divmod(5 * round(seconds / (5 * MINUTE)), 60)
        tail = f" {rest} minutes" if rest else ""
        return f"about {hours} hour{'s' * (hours != 1)}{tail}"
    halves = round(seconds / (HOUR / 2))
    hours, half = divmod(halves, 2)
    return f"about {hours} and a half hours" if half else f"about {hours} hours"


def count_words(x: float | None) -> str:
    """A count: 12 -> "12", 187 -> "about 190", 43,431 -> "about 43,000", 1,234,567 ->
    "about 1.2 million". "about" unless the figure is said exactly."""
    if not _finite(x):
        return MISSING
    x = max(x, 0.0)
    if x < 100:
        said = round(x)
        return str(said) if said == x else f"about {said}"
    digits = 2 - 1 - math.floor(math.log10(x))
    rounded = round(x, digits)
    about = "" if rounded == x else "about "
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if rounded >= size:
            return f"{about}{rounded / size:g} {word}"
    return f"{about}{round(rounded):,}"


def money_words(x: float | None, currency: str) -> str:
    """An amount of money: 43,431 EUR -> "about 43,000 EUR"."""
    said = count_words(x)
    return said if said == MISSING else f"{said} {currency}".strip()
