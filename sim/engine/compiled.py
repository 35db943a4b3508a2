"""Which modules of the hot path run compiled, and which interpreted.

``pip install .`` compiles :data:`MODULES` with Cython when it can (setup.py reads the
list here); an editable install, ``SIM_PURE_PYTHON=1`` or a missing C compiler leave
them interpreted, with the same results bit for bit but about half the speed. A
measurement of speed means little without knowing which: ``sim --version`` says it,
and every experiment's ``manifest.json`` records it.

Told by the files, without importing the modules (``sim --version`` stays instant): the
import system loads an extension module (``people.cpython-311-x86_64-linux-gnu.so``)
rather than the ``.py`` beside it, so a module runs compiled if such a file is there.
A module already imported is asked directly: it runs compiled if its file is not the
``.py`` (as tests/engine/test_compiled.py checks).
"""

from __future__ import annotations

import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

MODULES = (
    "sim.engine.kernel",
    "sim.model.services",
    "sim.model.people",
    "sim.engine.monitor",
    "sim.engine.draws",
)
"""The engine's hot path, compiled by setup.py from the same ``.py`` files (typed by the
``.pxd`` files beside them and by Cython's pure-mode annotations)."""

PACKAGE = Path(__file__).resolve().parents[1]  # the sim package, where it is installed


def runs_compiled(module: str) -> bool:
    """Whether `module` (one of :data:`MODULES`) runs, or would run, compiled."""
    loaded = sys.modules.get(module)
    if loaded is not None:
        return not str(loaded.__file__).endswith(".py")
    stem = PACKAGE.joinpath(*module.split(".")[1:])
    return any(stem.with_name(stem.name + suffix).is_file() for suffix in EXTENSION_SUFFIXES)


def build() -> dict[str, list[str]]:
    """``{"compiled": [...], "interpreted": [...]}``: the modules of :data:`MODULES`
    by how they run, in the order of :data:`MODULES` (as ``manifest.json`` records it)."""
    compiled = [m for m in MODULES if runs_compiled(m)]
    return {"compiled": compiled, "interpreted": [m for m in MODULES if m not in compiled]}


def describe() -> str:
    """One line for ``sim --version``: ``compiled: a, b; interpreted: c`` (the groups
    that are not empty)."""
    return "; ".join(f"{how}: {', '.join(names)}" for how, names in build().items() if names)
