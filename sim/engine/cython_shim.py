"""Cython's pure-mode names, as no-ops: what the compiled modules use when Cython is absent.

The hot path (``COMPILED`` in setup.py, :data:`sim.engine.compiled.MODULES`) is typed
with Cython's decorators and types (``@cython.cclass``, ``cython.double``, ...), which
Cython reads when ``pip install .`` compiles it. Cython is needed to build the package,
not to run it (it is in ``build-system.requires`` only), so each of those modules
starts with::

    try:
        import cython
    except ModuleNotFoundError:
        from sim.engine import cython_shim as cython

(Cython recognises its pure mode by the literal ``import cython``.) Interpreted, every
decorator here returns what it decorates and every type is the Python type it stands
for: the code runs as written, with the same results (tests/engine/test_compiled.py runs
mornings with Cython made unimportable). SQLAlchemy 2 does the same
(``sqlalchemy/util/cython.py``). Only the names the code uses are here;
tests/engine/test_compiled.py checks that none is missing.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

compiled = False
"""What ``cython.compiled`` says in a module that runs interpreted."""

# C types, as the Python types that hold their values
int = builtins.int  # Cython's names shadow the builtins here, on purpose
long = builtins.int
longlong = builtins.int
Py_ssize_t = builtins.int
double = builtins.float
bint = builtins.bool


def _same(thing: T) -> T:
    return thing


cclass = _same  # a class compiled as an extension type
final = _same  # no subclass: methods called directly
no_gc = _same  # instances not tracked by the cyclic garbage collector
cfunc = _same  # a C function: called directly, not through Python
inline = _same  # a C function inlined where it is called


def freelist(size: builtins.int) -> Callable[[T], T]:
    """``@cython.freelist(n)``: keep `n` freed instances for reuse."""
    return _same


def locals(**types: Any) -> Callable[[T], T]:
    """``@cython.locals(name=type, ...)``: the C types of a function's local variables."""
    return _same
