"""Random draws handed out one at a time from blocks drawn at once (see
:func:`sim.engine.dists.sampler`), compiled for the hot path.

A morning makes hundreds of millions of draws, from a few hundred streams (patience,
service times, think times, seats, ...). Handed out from a list of Python floats, each
draw touches a float object made when its block was drawn, long before, and scattered
in memory: at national size, one cache miss per draw (CHANGELOG.md, performance history). Here,
compiled, a block is a contiguous array of doubles read in order, and each draw is a
fresh float from Python's free list: the same values, read from memory that the
processor fetches ahead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

try:  # the literal import Cython compiles by; without Cython, its names as no-ops
    import cython
except ModuleNotFoundError:
    from sim.engine import cython_shim as cython

COMPILED = cython.compiled
"""Whether this module runs compiled: interpreted, a chain of lists is faster (see
:func:`sim.engine.dists.sampler`)."""


@cython.final
@cython.cclass
class Draws:
    """``draws()`` is the next value of the blocks that ``refill()`` returns in turn
    (1-d float arrays, never empty)."""

    __slots__ = ("_block", "_next", "_refill", "_size")
    _block: cython.double[::1]  # the current block, contiguous
    _next: cython.Py_ssize_t  # the index of the next draw in it
    _refill: object  # the function that draws the next block
    _size: cython.Py_ssize_t

    def __init__(self, refill: Callable[[], np.ndarray]) -> None:
        self._refill = refill
        self._block = np.ascontiguousarray(refill(), dtype=np.float64)
        self._size = len(self._block)
        self._next = 0

    @cython.locals(i=cython.Py_ssize_t)
    def __call__(self) -> float:
        i = self._next
        if i == self._size:
            self._block = np.ascontiguousarray(self._refill(), dtype=np.float64)
            self._size = len(self._block)
            i = 0
        self._next = i + 1
        return self._block[i]
