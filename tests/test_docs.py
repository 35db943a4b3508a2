"""The run time of the 6 April scenario is measured in one place (docs/performance.md)
and quoted, the same, everywhere else: README.md and the scenario files once said 7,
40 and 41 minutes for the same one-to-one run.

The measured row is read from docs/performance.md's table; every run-time claim about
a one-to-one run of 6 April in README.md, docs/ (every page) and experiments/*.toml (a
duration in minutes after "takes", "took", "per run" or "run ... on a machine") must be
that figure, with a pointer to where it was measured.
"""

from __future__ import annotations

import re

from tests.conftest import ROOT

PERFORMANCE = ROOT / "docs" / "performance.md"
QUOTING = [
    ROOT / "README.md",
    ROOT / "benchmarks" / "README.md",
    ROOT / "experiments" / "2021-04-06.toml",
    ROOT / "experiments" / "2021-04-06-options.toml",
    *sorted((ROOT / "docs").rglob("*.md")),
]
ROW = re.compile(
    r"^\| 6 April one-to-one, [^|]+\| `[^`]*sim run experiments/2021-04-06\.toml[^`]*` [^|]*"
    r"\| [\d.]+ s \| (?P<whole>\d+ min \d+ s) \| (?P<rss>[\d,]+ MiB) \|",
    re.MULTILINE,
)
DURATION = r"~?\d+(?:\.\d+)? ?min(?:utes)?(?: \d+ s)?"
CLAIM = re.compile(  # a duration stated as a run's time
    rf"(?:takes|took|runs? in|in) (?P<a>{DURATION})|(?P<b>{DURATION}) (?:per run|on a)",
)


def measured() -> tuple[str, str]:
    rows = ROW.findall(PERFORMANCE.read_text(encoding="utf-8"))
    assert len(rows) == 1, rows  # one measurement of record
    return rows[0]


def one_to_one_claims(text: str) -> list[tuple[str, str]]:
    """Each run time (a duration in minutes) stated within a few lines after a mention
    of a one-to-one run of 6 April, with the text around it: (claim, context)."""
    flat = " ".join(text.replace("#", " ").split())
    found = []
    for m in CLAIM.finditer(flat):
        before = flat[max(0, m.start() - 200) : m.start()]
        about_april = re.search(r"2021-04-06\.toml|6 April", before)
        one_to_one = re.search(r"one-to-one|--scale 1\b", before)
        if about_april and one_to_one and "national" not in before:
            found.append((m["a"] or m["b"], flat[max(0, m.start() - 200) : m.end() + 200]))
    return found


def test_performance_states_the_figure_with_its_machine_and_commit() -> None:
    whole, rss = measured()
    assert (whole, rss) == ("7 min 14 s", "1,922 MiB")
    text = " ".join(PERFORMANCE.read_text(encoding="utf-8").split())
    assert f"**{whole}** for the whole command" in text and f"**{rss}** peak RSS" in text
    assert "commit 95f6c68" in text and "2-core virtual machine" in text


def test_every_one_to_one_run_time_of_6_april_is_the_measured_one() -> None:
    whole, rss = measured()
    quoted = 0
    for path in QUOTING:
        for claim, context in one_to_one_claims(path.read_text(encoding="utf-8")):
            assert claim == whole, (path.name, claim, context)
            assert rss in context and "performance.md" in context, (path, context)
            assert "95f6c68" in context and "2-core" in context, (path, context)
            quoted += 1
    assert quoted >= 3  # the April 2021 page and both scenario files
