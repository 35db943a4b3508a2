"""Numbers as a person says them (sim/outputs/report/words.py), for the one-page brief:
the brief's examples first, then the edges (none, all, tiny, huge, negative noise)."""

from __future__ import annotations

import math

import pytest

from sim.outputs.report.words import (
    count_words,
    duration_words,
    money_words,
    percent_words,
    share_words,
)


@pytest.mark.parametrize(
    ("share", "said"),
    [
        (0.053, "about 1 in 20"),
        (0.31, "about 1 in 3"),
        (0.968, "almost all (97 %)"),
        (0.5, "about half"),
        (0.48, "about half"),
        (0.6, "about 3 in 5"),
        (0.7, "about 7 in 10"),
        (0.75, "about 3 in 4"),
        (0.9, "about 9 in 10"),
        (0.85, "about 85 %"),
        (0.0163, "about 1 in 60"),
        (0.0011, "about 1 in 1,000"),
        (0.9955, "almost all (99.5 %)"),
        (0.99996, "almost all (over 99.9 %)"),
        (0.0, "none"),
        (1.0, "all"),
        (-1e-12, "none"),
        (1e-9, "almost none"),
    ],
)
def test_shares_as_said(share, said):
    assert share_words(share) == said


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (2031, "about 34 minutes"),
        (4.1, "about 4 seconds"),
        (0.62, "under a second"),
        (1.2, "about 1 second"),
        (65, "about a minute"),
        (4560, "about 1 hour 15 minutes"),
        (7200, "about 2 hours"),
        (3600 * 5.4, "about 5 and a half hours"),
        (-0.01, "under a second"),
    ],
)
def test_durations_as_said(seconds, said):
    assert duration_words(seconds) == said


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (43_431, "about 43,000"),
        (12, "12"),
        (187, "about 190"),
        (1_234_567, "about 1.2 million"),
        (2_000_000, "2 million"),
        (2_040_000, "about 2 million"),
        (999.6, "about 1,000"),
        (0, "0"),
        (-0.4, "0"),
    ],
)
def test_counts_as_said(count, said):
    assert count_words(count) == said


@pytest.mark.parametrize(
    ("share", "said"),
    [(0.43, "43 %"), (0.968, "97 %"), (0.9955, "99.5 %"), (0.003, "0.3 %"), (1.0, "100 %")],
)
def test_percent_never_rounds_to_all_or_none(share, said):
    assert percent_words(share) == said


def test_money_keeps_its_currency_and_says_nothing_of_a_missing_value():
    assert money_words(43_431, "EUR") == "about 43,000 EUR"
    assert money_words(None, "EUR") == "-"
    assert money_words(math.inf, "EUR") == "-"


def test_missing_or_infinite_values_are_a_dash():
    assert share_words(None) == "-"
    assert duration_words(math.inf) == "-"
    assert count_words(math.nan) == "-"
