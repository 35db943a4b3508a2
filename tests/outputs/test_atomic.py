"""One module writes results atomically (sim/outputs/atomic.py): it alone names temporary
files and folders, renames them into place, sets their modes and removes the leftovers of
writers that are gone. Every other module calls it, so that a fix there (a mode, a race,
a stale name) is a fix everywhere."""

from __future__ import annotations

import re

from tests.conftest import ROOT

ATOMIC = ROOT / "sim" / "outputs" / "atomic.py"
WRITING = re.compile(
    r"\btempfile\b|mkstemp|mkdtemp|os\.replace\(|\.rename\(|\.chmod\(|\.(?:tmp|old)-"
)
"""What only the atomic module does: temporary names, renames into place, modes."""


def atomic_writes(text: str) -> list[str]:
    return [
        f"line {number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if WRITING.search(line)
    ]


def test_only_the_atomic_module_names_temporaries_and_renames_them_into_place():
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "sim").rglob("*.py"))
        if path != ATOMIC and (lines := atomic_writes(path.read_text(encoding="utf-8")))
    }
    assert not found, f"atomic writes outside sim/outputs/atomic.py: {found}"


def test_the_scan_sees_each_kind_of_atomic_write():
    samples = [
        "fd, tmp = tempfile.mkstemp(dir=parent)",
        "os.replace(tmp, path)",
        "tmp.rename(target)",
        "os.chmod(tmp, 0o644)",
        'old = target.with_name(f".{target.name}.old-{os.getpid()}")',
    ]
    assert len(atomic_writes("\n".join(samples))) == len(samples)
    assert atomic_writes(ATOMIC.read_text(encoding="utf-8"))  # it does them all
