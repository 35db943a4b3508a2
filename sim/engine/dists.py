"""Distributions that know their mean and variance, and fast buffered samplers.

A distribution here is a small immutable object with ``mean``, ``variance`` and a
vectorised ``sample(rng, n)``. Knowing the first two moments lets one generic test
check every sampler against theory, and lets the teaching tools print Pollaczek-Khinchine
or Erlang formulas next to simulated values.

The model draws one value at a time, millions of times. Calling numpy for each single
draw costs about a microsecond; a :func:`sampler` instead draws a block of values at
once and hands them out one by one, which is several times cheaper and still fully
determined by the stream's seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from sim.config.base import (
    DeterministicSpec,
    ExponentialSpec,
    GammaSpec,
    LognormalSpec,
    NeverSpec,
    SequenceSpec,
    UniformSpec,
)
from sim.engine.draws import COMPILED, Draws


@dataclass(frozen=True)
class Exponential:
    mean: float

    @property
    def variance(self) -> float:
        return self.mean**2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)


@dataclass(frozen=True)
class Deterministic:
    value: float

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value, dtype=float)


@dataclass(frozen=True)
class MeanAndCv:
    """A distribution given by its mean and coefficient of variation (sd / mean): its
    variance follows from both."""

    mean: float
    cv: float

    @property
    def variance(self) -> float:
        return (self.cv * self.mean) ** 2


@dataclass(frozen=True)
class Lognormal(MeanAndCv):
    """Lognormal given by its mean and coefficient of variation (sd / mean)."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sigma2 = math.log1p(self.cv**2)
        mu = math.log(self.mean) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), n)


@dataclass(frozen=True)
class Gamma(MeanAndCv):
    """Gamma given by its mean and coefficient of variation (cv = 1 is exponential)."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean / shape, n)


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


@dataclass(frozen=True)
class Sequence:
    """A fixed cycle of values, for hand-computable tests. Uses no randomness."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def variance(self) -> float:
        return float(np.var(self.values))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        reps = -(-n // len(self.values))
        return np.tile(np.asarray(self.values, dtype=float), reps)[:n]


@dataclass(frozen=True)
class Never:
    """Infinite patience: the client never times out."""

    @property
    def mean(self) -> float:
        return math.inf

    @property
    def variance(self) -> float:
        return math.nan

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, math.inf)


Distribution = Exponential | Deterministic | Lognormal | Gamma | Uniform | Sequence | Never


Draw = Callable[[], float]
"""A source of random draws: each call returns the next one."""


def sampler(dist: Distribution, rng: np.random.Generator, block: int = 1024) -> Draw:
    """Draws of `dist` from `rng`, handed out one at a time and drawn `block` at a time.

    A :class:`Sequence` restarts its cycle at the beginning, never at a block boundary,
    so hand-computed traces stay valid whatever the block size. The draw function is the
    ``__next__`` of an endless chain of blocks, all in C: a draw is made millions of
    times a morning, and this costs a third of a Python method call. Where
    :mod:`sim.engine.draws` is compiled, its :class:`~sim.engine.draws.Draws` hands out the same
    values from arrays of doubles instead, which spares a cache miss per draw.
    """
    if isinstance(dist, Sequence):
        block = len(dist.values) * max(1, block // len(dist.values))
    if COMPILED:  # blocks as arrays of doubles (sim.engine.draws)
        return Draws(lambda: dist.sample(rng, block))
    blocks = iter(lambda: dist.sample(rng, block).tolist(), None)  # never None: endless
    return chain.from_iterable(blocks).__next__


def uniform_sampler(rng: np.random.Generator, block: int = 1024) -> Draw:
    """Uniform(0, 1) draws, for decisions such as "retry or not"."""
    return sampler(Uniform(0.0, 1.0), rng, block)


def from_spec(spec: Any) -> Distribution:
    """The runtime distribution (in seconds) described by a validated spec."""
    match spec:
        case ExponentialSpec():
            return Exponential(spec.mean_s)
        case DeterministicSpec():
            return Deterministic(spec.value_s)
        case LognormalSpec():
            return Lognormal(spec.mean_s, spec.cv)
        case GammaSpec():
            return Gamma(spec.mean_s, spec.cv)
        case UniformSpec():
            return Uniform(spec.low_s, spec.high_s)
        case SequenceSpec():
            return Sequence(tuple(spec.values_s))
        case NeverSpec():
            return Never()
    raise TypeError(f"not a distribution spec: {spec!r}")
