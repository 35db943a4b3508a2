"""The estimators of ``sim fit``, as pure functions on arrays: each returns its value,
its interval, its sample size and its method in words, so that the written scenario and
the fit report can say how much each number can be trusted.

- service times: maximum likelihood among the scenario's distribution kinds that have a
  density on (0, inf) (exponential, lognormal, gamma), chosen by AIC, with a
  Kolmogorov-Smirnov test and bootstrap intervals for the mean and the cv;
- connect offsets: a normal by maximum likelihood, with its KS distance (the fit quality);
- patience: a right-censored MLE (client-closed requests are patience values, served
  ones are lower bounds of it);
- retries: a binomial share with its Wilson interval, and the backoff from the gaps.

The caller (:mod:`sim.experiments.fit`) feeds them bounded samples (reservoirs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

Z95 = 1.959963984540054
KINDS = ("exponential", "lognormal", "gamma")
"""The service-time kinds fitted: the scenario's kinds with a density on (0, inf)
(deterministic, uniform and sequence are not candidates for measured durations)."""
MIN_DURATION_S = 0.0005
"""Logged durations of 0 (below the log's millisecond) are read as half a millisecond:
every candidate's log-likelihood needs positive values."""
BOOTSTRAP = 200
SEED = 20190419  # every resample and reservoir of a fit draws from this seed
CV_BOUNDS = (0.001, 100.0)  # the schema's bounds of a cv
KS_CAVEAT = (
    "KS p-value with parameters estimated from the same data: too high (Lilliefors), "
    "so a small p rejects the fit, a large one does not prove it"
)


@dataclass(frozen=True)
class Candidate:
    """One distribution kind fitted by maximum likelihood to a sample."""

    kind: str
    mean_s: float
    cv: float
    loglik: float
    params: int
    ks_statistic: float
    ks_pvalue: float

    @property
    def aic(self) -> float:
        return 2 * self.params - 2 * self.loglik


@dataclass(frozen=True)
class Estimate:
    """A fitted number with its 95 % interval, sample size and method in words."""

    value: float
    low: float
    high: float
    n: int
    method: str


@dataclass(frozen=True)
class DurationFit:
    """The chosen kind (lowest AIC) of a duration sample, with every candidate."""

    chosen: Candidate
    candidates: tuple[Candidate, ...]
    mean_s: Estimate
    cv: Estimate
    sample: np.ndarray = field(repr=False)

    def spec(self) -> dict[str, object]:
        """The scenario's distribution table of the chosen kind."""
        if self.chosen.kind == "exponential":
            return {"kind": "exponential", "mean_s": self.chosen.mean_s}
        return {"kind": self.chosen.kind, "mean_s": self.chosen.mean_s, "cv": self.chosen.cv}


# ---------------------------------------------------------------- one kind, by MLE


def positive(durations: np.ndarray) -> np.ndarray:
    return np.maximum(np.asarray(durations, dtype=float), MIN_DURATION_S)


def gamma_shape(log_of_mean: np.ndarray, mean_of_log: np.ndarray) -> np.ndarray:
    """The gamma shape's MLE, vectorised over samples: Minka's start, then Newton on
    ``log k - digamma(k) = log(mean) - mean(log)``."""
    from scipy.special import digamma, polygamma

    s = np.maximum(log_of_mean - mean_of_log, 1e-12)
    k = (3 - s + np.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
    for _ in range(20):
        step = (np.log(k) - digamma(k) - s) / (1 / k - polygamma(1, k))
        k = np.maximum(k - step, k / 10)
    return k


def mean_and_cv(kind: str, x: np.ndarray) -> tuple[float, float]:
    """The MLE of `kind` on `x` (positive), as the scenario's (mean_s, cv)."""
    means, cvs = mean_and_cv_many(kind, x[None, :])
    return float(means[0]), float(cvs[0])


def mean_and_cv_many(kind: str, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean_s, cv) of `kind` fitted to each row of `samples`, for the bootstrap."""
    mean = samples.mean(axis=1)
    if kind == "exponential":
        return mean, np.ones_like(mean)
    logs = np.log(samples)
    if kind == "lognormal":
        sigma2 = logs.var(axis=1)
        return np.exp(logs.mean(axis=1) + sigma2 / 2), np.sqrt(np.expm1(sigma2))
    shape = gamma_shape(np.log(mean), logs.mean(axis=1))
    return mean, 1 / np.sqrt(shape)


def frozen(kind: str, mean_s: float, cv: float):
    """The scipy distribution of a scenario's (kind, mean_s, cv)."""
    from scipy import stats

    if kind == "exponential":
        return stats.expon(scale=mean_s)
    if kind == "lognormal":
        sigma2 = math.log1p(cv**2)
        return stats.lognorm(s=math.sqrt(sigma2), scale=math.exp(math.log(mean_s) - sigma2 / 2))
    shape = 1 / cv**2
    return stats.gamma(shape, scale=mean_s / shape)


def candidate(kind: str, x: np.ndarray) -> Candidate:
    """`kind` fitted to `x` by maximum likelihood, with its log-likelihood and KS test."""
    from scipy import stats

    mean_s, cv = mean_and_cv(kind, x)
    cv = min(max(cv, CV_BOUNDS[0]), CV_BOUNDS[1])
    dist = frozen(kind, mean_s, cv)
    ks = stats.kstest(x, dist.cdf)
    return Candidate(
        kind=kind,
        mean_s=mean_s,
        cv=cv,
        loglik=float(np.sum(dist.logpdf(x))),
        params=1 if kind == "exponential" else 2,
        ks_statistic=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
    )


def fit_durations(durations: np.ndarray, kinds: tuple[str, ...] = KINDS) -> DurationFit:
    """Every kind of `kinds` fitted to `durations` by maximum likelihood; the lowest AIC
    chosen, its mean and cv given 95 % percentile-bootstrap intervals."""
    x = positive(durations)
    if x.size < 2:
        raise ValueError("fitting a distribution needs at least 2 durations")
    candidates = tuple(sorted((candidate(k, x) for k in kinds), key=lambda c: c.aic))
    chosen = candidates[0]
    mean_s, cv = bootstrap(chosen, x)
    return DurationFit(chosen, candidates, mean_s, cv, x)


def bootstrap(chosen: Candidate, x: np.ndarray) -> tuple[Estimate, Estimate]:
    """95 % percentile-bootstrap intervals of the mean and cv of the chosen kind
    (:data:`BOOTSTRAP` resamples, in blocks to bound memory)."""
    rng = np.random.default_rng(SEED)
    means, cvs = [], []
    per_block = max(1, 2_000_000 // x.size)
    for start in range(0, BOOTSTRAP, per_block):
        rows = min(per_block, BOOTSTRAP - start)
        sample = x[rng.integers(0, x.size, (rows, x.size))]
        m, c = mean_and_cv_many(chosen.kind, sample)
        means.append(m)
        cvs.append(c)
    method = f"maximum likelihood ({chosen.kind}, chosen by AIC), {BOOTSTRAP}-resample bootstrap"
    lo_m, hi_m = np.percentile(np.concatenate(means), [2.5, 97.5])
    lo_c, hi_c = np.percentile(np.concatenate(cvs), [2.5, 97.5])
    if chosen.kind == "exponential":
        lo_c = hi_c = 1.0
    n = int(x.size)
    return (
        Estimate(chosen.mean_s, float(lo_m), float(hi_m), n, method),
        Estimate(chosen.cv, float(lo_c), float(hi_c), n, method),
    )


# ---------------------------------------------------------------- quiet periods


def quiet_threshold(concurrency: np.ndarray, min_samples: int) -> int:
    """The lowest concurrency c such that at least `min_samples` requests (or all, if
    fewer) had at most c requests in progress on their service when they started."""
    if concurrency.size == 0:
        return 0
    levels = np.sort(concurrency)
    wanted = min(min_samples, levels.size)
    return int(levels[wanted - 1])


# ---------------------------------------------------------------- connect offsets


@dataclass(frozen=True)
class NormalFit:
    mean_min: Estimate
    sd_min: Estimate
    ks_distance: float


def fit_normal(offsets_min: np.ndarray) -> NormalFit:
    """A normal by maximum likelihood, intervals from its sampling distributions (t for
    the mean, chi-square for the sd), and the KS distance as the fit quality."""
    from scipy import stats

    x = np.asarray(offsets_min, dtype=float)
    n = x.size
    mean, sd = float(x.mean()), float(x.std())
    half = Z95 * sd / math.sqrt(n)
    if n > 1 and sd > 0:
        lo_sd = sd * math.sqrt(n / stats.chi2.ppf(0.975, n - 1))
        hi_sd = sd * math.sqrt(n / stats.chi2.ppf(0.025, n - 1))
        ks = float(stats.kstest(x, stats.norm(mean, sd).cdf).statistic)
    else:
        lo_sd, hi_sd, ks = sd, sd, 1.0
    method = "maximum likelihood (normal); t and chi-square intervals"
    return NormalFit(
        Estimate(mean, mean - half, mean + half, n, method),
        Estimate(sd, lo_sd, hi_sd, n, method),
        ks,
    )


# ---------------------------------------------------------------- patience


@dataclass(frozen=True)
class PatienceFit:
    kind: str
    mean_s: Estimate
    cv: Estimate

    def spec(self) -> dict[str, object]:
        if self.kind == "exponential":
            return {"kind": "exponential", "mean_s": self.mean_s.value}
        return {"kind": "lognormal", "mean_s": self.mean_s.value, "cv": self.cv.value}


def fit_patience(
    gave_up: np.ndarray,
    served: np.ndarray,
    *,
    gave_up_total: int | None = None,
    served_total: int | None = None,
    served_time_total: float | None = None,
) -> PatienceFit:
    """Patience by a right-censored MLE: a client-closed request's duration is a
    patience value, a served request's a lower bound of it. `gave_up` and `served` may be
    samples of the whole (the totals then weight them). Exponential (exact, from the
    totals) and lognormal (numerical) compared by AIC."""
    d = positive(gave_up)
    c = positive(served)
    n_d = gave_up_total or d.size
    n_c = served_total if served_total is not None else c.size
    time_c = served_time_total if served_time_total is not None else float(c.sum())
    w_d = n_d / d.size
    w_c = n_c / c.size if c.size else 0.0
    # exponential: events over exposure
    exposure = w_d * float(d.sum()) + time_c
    mean_exp = exposure / n_d
    loglik_exp = -n_d * math.log(mean_exp) - exposure / mean_exp
    from scipy import stats

    lo_exp = 2 * exposure / stats.chi2.ppf(0.975, 2 * n_d)
    hi_exp = 2 * exposure / stats.chi2.ppf(0.025, 2 * n_d)
    theta, cov, loglik_ln = _censored_lognormal(d, c, w_d, w_c)
    if 2 * 2 - 2 * loglik_ln < 2 * 1 - 2 * loglik_exp:
        return _lognormal_patience(theta, cov, n_d + n_c)
    method = "censored maximum likelihood (exponential, by AIC); chi-square interval"
    n = int(n_d + n_c)
    return PatienceFit(
        "exponential",
        Estimate(mean_exp, lo_exp, hi_exp, n, method),
        Estimate(1.0, 1.0, 1.0, n, method),
    )


def _censored_lognormal(
    d: np.ndarray, c: np.ndarray, w_d: float, w_c: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """(mu, log sigma), their covariance (inverse observed information, numerical) and
    the log-likelihood of a lognormal with events `d` and right-censored `c`."""
    from scipy import optimize, stats

    log_d, log_c = np.log(d), np.log(c)

    def nll(theta: np.ndarray) -> float:
        mu, sigma = theta[0], math.exp(theta[1])
        events = stats.norm.logpdf(log_d, mu, sigma) - log_d
        censored = stats.norm.logsf(log_c, mu, sigma)
        return -(w_d * events.sum() + w_c * censored.sum())

    start = np.array([log_d.mean(), math.log(max(log_d.std(), 0.1))])
    best = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-6})
    hessian = _hessian(nll, best.x)
    try:
        cov = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        cov = np.full((2, 2), np.nan)
    return best.x, cov, -float(best.fun)


def _hessian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    out = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            e_i, e_j = np.eye(2)[i] * h, np.eye(2)[j] * h
            out[i, j] = (
                f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)
            ) / (4 * h * h)
    return out


def _lognormal_patience(theta: np.ndarray, cov: np.ndarray, n: int) -> PatienceFit:
    """Mean and cv of the fitted lognormal, intervals by drawing the parameters from
    their asymptotic normal distribution (the delta method, by simulation)."""
    mu, log_sigma = theta
    sigma2 = math.exp(2 * log_sigma)
    mean = math.exp(mu + sigma2 / 2)
    cv = min(max(math.sqrt(math.expm1(sigma2)), CV_BOUNDS[0]), CV_BOUNDS[1])
    rng = np.random.default_rng(SEED)
    if np.all(np.isfinite(cov)) and np.all(np.linalg.eigvalsh(cov) >= 0):
        draws = rng.multivariate_normal(theta, cov, 4000)
        s2 = np.exp(2 * draws[:, 1])
        means = np.exp(draws[:, 0] + s2 / 2)
        cvs = np.sqrt(np.expm1(s2))
        (lo_m, hi_m), (lo_c, hi_c) = (np.percentile(v, [2.5, 97.5]) for v in (means, cvs))
    else:
        lo_m = hi_m = mean
        lo_c = hi_c = cv
    method = "censored maximum likelihood (lognormal, by AIC); observed-information interval"
    return PatienceFit(
        "lognormal",
        Estimate(mean, float(lo_m), float(hi_m), n, method),
        Estimate(cv, float(lo_c), float(hi_c), n, method),
    )


# ---------------------------------------------------------------- retries


def wilson(successes: int, trials: int) -> Estimate:
    """A share with its 95 % Wilson score interval."""
    if trials == 0:
        return Estimate(math.nan, 0.0, 1.0, 0, "binomial share; Wilson interval")
    p = successes / trials
    denom = 1 + Z95**2 / trials
    centre = (p + Z95**2 / (2 * trials)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / trials + Z95**2 / (4 * trials**2)) / denom
    return Estimate(
        p,
        0.0 if successes == 0 else max(0.0, centre - half),  # (exact at the ends: no
        1.0 if successes == trials else min(1.0, centre + half),  # rounding below 1)
        trials,
        "binomial share; Wilson interval",
    )


@dataclass(frozen=True)
class BackoffFit:
    kind: str  # "constant" | "exponential_jitter"
    base_s: Estimate
    factor: float | None
    factor_fitted: bool

    def spec(self) -> dict[str, object]:
        if self.kind == "constant":
            return {"kind": "constant", "delay_s": self.base_s.value}
        return {"kind": "exponential_jitter", "base_s": self.base_s.value, "factor": self.factor}


CONSTANT_CV = 0.25
"""Gaps before a first retry more regular than this (cv) are a constant backoff; more
spread ones a jittered exponential backoff (uniform gaps have a cv of 0.58)."""


def fit_backoff(
    first_gaps: np.ndarray, second_gaps: np.ndarray, min_second: int = 30
) -> BackoffFit:
    """The backoff from the gaps between a failure and the retry: the first retries'
    gaps give the base (a constant: their mean; full jitter: twice their mean, since a
    jittered gap is uniform below the delay), the second retries' the factor (the ratio
    of the mean gaps), when there are `min_second` of them."""
    first = np.asarray(first_gaps, dtype=float)
    n = int(first.size)
    mean = float(first.mean())
    half = Z95 * float(first.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    cv = float(first.std()) / mean if mean > 0 else 0.0
    if cv < CONSTANT_CV:
        method = "mean gap before a first retry (constant backoff, cv below 0.25); t interval"
        estimate = Estimate(mean, max(0.0, mean - half), mean + half, n, method)
        return BackoffFit("constant", estimate, None, False)
    method = "twice the mean gap before a first retry (full jitter); t interval"
    estimate = Estimate(2 * mean, max(1e-3, 2 * (mean - half)), 2 * (mean + half), n, method)
    second = np.asarray(second_gaps, dtype=float)
    if second.size >= min_second and mean > 0:
        factor = max(1.0, float(second.mean()) / mean)
        return BackoffFit("exponential_jitter", estimate, round(factor, 3), True)
    return BackoffFit("exponential_jitter", estimate, 2.0, False)
