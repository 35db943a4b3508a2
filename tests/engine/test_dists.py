"""Distributions against their own stated moments, the buffered sampler, and the spec mapping.

The moment test is one generic check for every distribution: draw ``N`` values with a
fixed seed and compare the sample mean with ``.mean`` and the sample variance with
``.variance``, within ``Z`` standard errors of the estimator:

- mean: ``SE = sqrt(variance / N)``;
- sample variance: ``SE = sqrt((mu4 - sigma**4) / N)``, with ``mu4`` the fourth central
  moment, computed analytically below (and checked against scipy's kurtosis).

``Z = 4.5`` is a false alarm of about 7 in a million per check for a correct sampler
(normal approximation; the sample variance of a heavy-tailed lognormal is skewed, so its
real rate is somewhat higher, still small); the seeds are fixed, so the test is
deterministic. A mis-parametrised sampler (a scale where a rate is meant, sigma where
sigma**2 is meant, a cv applied as a variance) is off by far more: at N = 200,000 the
lognormal of mean 20 s, cv 1 has a 0.22 % SE on the mean and a 1.4 % SE on the
variance, and the usual slips land 10 to 240 SE away.
"""

from __future__ import annotations

import math
import typing

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from sim.config.base import DurationSpec, ServiceTimeSpec
from sim.engine import dists
from sim.engine.dists import (
    Deterministic,
    Exponential,
    Gamma,
    Lognormal,
    Never,
    Sequence,
    Uniform,
    from_spec,
    sampler,
    uniform_sampler,
)

N = 200_000  # a multiple of every Sequence length below, so its cycles are whole
Z = 4.5
SEED = 20210406

# Every finite distribution, with the parameters the default scenario uses and a few that
# stress the parametrisation: at cv = 1, cv and cv**2 coincide, so only cv != 1 catches a
# cv used as a variance (gamma with shape 1/cv instead of 1/cv**2 is 238 SE off at cv 0.5,
# 0.8 SE at cv 1); gamma shape < 1; an uneven cycle.
CASES = [
    Exponential(2.0),
    Exponential(0.05),
    Deterministic(0.7),
    Lognormal(20.0, 1.0),
    Lognormal(0.5, 1.5),
    Lognormal(1.0, 0.3),
    Gamma(0.3, 1.0),
    Gamma(1.0, 0.5),
    Gamma(2.0, 2.0),
    Uniform(0.0, 1.0),
    Uniform(1.0, 3.0),
    Sequence((1.0, 2.0, 3.0, 10.0)),
    Sequence((0.5,)),
]


def fourth_central_moment(dist: dists.Distribution) -> float:
    """E[(X - mean)^4], from the distribution's parameters (not from its samples)."""
    var = dist.variance
    match dist:
        case Exponential():
            return 9.0 * var**2  # excess kurtosis 6
        case Deterministic():
            return 0.0
        case Gamma(cv=cv):
            return (3.0 + 6.0 * cv**2) * var**2  # shape k = 1 / cv^2, excess kurtosis 6 / k
        case Lognormal(cv=cv):
            w = 1.0 + cv**2  # exp(sigma^2)
            excess = w**4 + 2.0 * w**3 + 3.0 * w**2 - 6.0
            return (excess + 3.0) * var**2
        case Uniform(low=low, high=high):
            return (high - low) ** 4 / 80.0
        case Sequence(values=values):
            v = np.asarray(values)
            return float(np.mean((v - v.mean()) ** 4))
    raise TypeError(dist)


def _scipy_twin(dist: dists.Distribution):
    """The same law in scipy's parametrisation, to check the analytic moments above."""
    match dist:
        case Exponential(mean=m):
            return stats.expon(scale=m)
        case Gamma(mean=m, cv=cv):
            return stats.gamma(1 / cv**2, scale=m * cv**2)
        case Lognormal(mean=m, cv=cv):
            s2 = math.log1p(cv**2)
            return stats.lognorm(math.sqrt(s2), scale=m * math.exp(-s2 / 2))
        case Uniform(low=low, high=high):
            return stats.uniform(low, high - low)
    return None


def _id(dist: dists.Distribution) -> str:
    return repr(dist).replace(" ", "")


@pytest.mark.parametrize("dist", CASES, ids=_id)
def test_sample_moments_match_stated_mean_and_variance(dist: dists.Distribution) -> None:
    rng = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(CASES.index(dist),)))
    x = dist.sample(rng, N)
    assert x.shape == (N,)
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    var = dist.variance
    mu4 = fourth_central_moment(dist)
    random = not isinstance(dist, Sequence | Deterministic)  # else the moments are exact
    se_mean = math.sqrt(var / N) if random else 0.0
    se_var = math.sqrt(max(mu4 - var**2, 0.0) / N) if random else 0.0
    rounding = 1e-9 * max(abs(dist.mean), var, 1.0)  # floating-point sums of exact values
    mean, sample_var = float(x.mean()), float(x.var(ddof=1))
    assert abs(mean - dist.mean) <= Z * se_mean + rounding, (
        f"mean {mean:.6g} vs stated {dist.mean:.6g} (SE {se_mean:.3g})"
    )
    # the sample variance of whole cycles has ddof=1; the stated one is over the cycle
    expected_var = var * N / (N - 1) if isinstance(dist, Sequence) else var
    assert abs(sample_var - expected_var) <= Z * se_var + rounding, (
        f"variance {sample_var:.6g} vs stated {var:.6g} (SE {se_var:.3g})"
    )


@pytest.mark.parametrize("dist", [d for d in CASES if _scipy_twin(d) is not None], ids=_id)
def test_moments_used_for_tolerances_agree_with_scipy(dist: dists.Distribution) -> None:
    """The SEs above rest on ``.mean``, ``.variance`` and mu4: check all three independently."""
    twin = _scipy_twin(dist)
    mean, var, kurt = (float(v) for v in twin.stats(moments="mvk"))
    assert dist.mean == pytest.approx(mean, rel=1e-12)
    assert dist.variance == pytest.approx(var, rel=1e-12)
    assert fourth_central_moment(dist) == pytest.approx((kurt + 3.0) * var**2, rel=1e-9)


# ---------------------------------------------------------------- Sampler


RANDOM = [d for d in CASES if not isinstance(d, Sequence | Deterministic)]


@pytest.mark.parametrize("dist", RANDOM, ids=_id)
def test_sampler_stream_does_not_depend_on_block_size(dist: dists.Distribution) -> None:
    """Checked empirically: numpy's Generator consumes its bit stream draw by draw, with no
    state carried between calls for these methods, so 1 x 3000 draws equal 3000 x 1 draws,
    bit for bit. Results therefore do not depend on the sampler's block size."""
    n = 3000
    reference = dist.sample(np.random.default_rng(SEED), n).tolist()
    for block in (1, 7, 1000, 1024, 4096):
        draw = sampler(dist, np.random.default_rng(SEED), block)
        assert [draw() for _ in range(n)] == reference, f"block {block}"


def test_sampler_is_reproducible_and_draws_from_its_own_generator() -> None:
    a = sampler(Lognormal(20.0, 1.0), np.random.default_rng(1))
    b = sampler(Lognormal(20.0, 1.0), np.random.default_rng(1))
    c = sampler(Lognormal(20.0, 1.0), np.random.default_rng(2))
    first = [a() for _ in range(2500)]
    assert first == [b() for _ in range(2500)]
    assert first != [c() for _ in range(2500)]
    assert all(isinstance(v, float) for v in first)  # plain floats, not numpy scalars


def test_uniform_sampler_is_standard_uniform() -> None:
    draw = uniform_sampler(np.random.default_rng(SEED))
    x = np.array([draw() for _ in range(20_000)])
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) <= Z * math.sqrt(1 / 12 / len(x))


@pytest.mark.parametrize("block", [1, 2, 3, 4, 5, 1024])
def test_sequence_cycles_from_the_start_whatever_the_block(block: int) -> None:
    values = (1.0, 2.0, 3.0)
    draw = sampler(Sequence(values), np.random.default_rng(0), block)
    assert [draw() for _ in range(10)] == [1.0, 2.0, 3.0] * 3 + [1.0]
    # the vectorised form restarts at the first value too, for any n
    assert Sequence(values).sample(np.random.default_rng(0), 4).tolist() == [1.0, 2.0, 3.0, 1.0]


def test_sequence_and_deterministic_use_no_randomness() -> None:
    rng = np.random.default_rng(SEED)
    state = rng.bit_generator.state
    Sequence((1.0, 2.0)).sample(rng, 100)
    Deterministic(0.7).sample(rng, 100)
    assert rng.bit_generator.state == state


def test_never_is_infinite() -> None:
    never = Never()
    assert never.mean == math.inf
    assert math.isnan(never.variance)
    assert np.all(np.isposinf(never.sample(np.random.default_rng(0), 5000)))
    draw = sampler(never, np.random.default_rng(0), block=16)
    assert all(draw() == math.inf for _ in range(100))


# ---------------------------------------------------------------- from_spec


SPECS = [
    ({"kind": "exponential", "mean_s": 0.2}, Exponential(0.2)),
    ({"kind": "deterministic", "value_s": 1.5}, Deterministic(1.5)),
    ({"kind": "deterministic", "value_s": 0}, Deterministic(0.0)),
    ({"kind": "lognormal", "mean_s": 20.0, "cv": 1.5}, Lognormal(20.0, 1.5)),
    ({"kind": "gamma", "mean_s": 0.3, "cv": 0.5}, Gamma(0.3, 0.5)),
    ({"kind": "uniform", "low_s": 1, "high_s": 4}, Uniform(1.0, 4.0)),
    ({"kind": "sequence", "values_s": [3, 1, 2]}, Sequence((3.0, 1.0, 2.0))),
    ({"kind": "never"}, Never()),
]


def _kinds(spec_union) -> set[str]:
    union = typing.get_args(spec_union)[0]
    return {typing.get_args(cls.model_fields["kind"].annotation)[0] for cls in union.__args__}


@pytest.mark.parametrize(
    "raw, expected", SPECS, ids=[f"{r['kind']}-{i}" for i, (r, _) in enumerate(SPECS)]
)
def test_from_spec_maps_each_kind_with_its_parameters(raw: dict, expected) -> None:
    dist = from_spec(TypeAdapter(DurationSpec).validate_python(raw))
    assert type(dist) is type(expected)
    assert dist == expected
    for value in vars(dist).values():  # parameters are floats, whatever the TOML wrote
        items = value if isinstance(value, tuple) else (value,)
        assert all(type(v) is float for v in items)


def test_from_spec_covers_every_kind_and_every_distribution() -> None:
    covered = {raw["kind"] for raw, _ in SPECS}
    assert covered == _kinds(DurationSpec)
    assert _kinds(ServiceTimeSpec) == _kinds(DurationSpec) - {"never"}
    assert {type(d) for _, d in SPECS} == set(typing.get_args(dists.Distribution))


def test_from_spec_rejects_what_is_not_a_spec() -> None:
    with pytest.raises(TypeError):
        from_spec({"kind": "exponential", "mean_s": 1.0})
