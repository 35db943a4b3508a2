# The source of queueing_lab.ipynb (python docs/notebooks/make_notebooks.py writes it).

# %% [markdown]
# # A queueing lab
#
# Every service of the simulator is a queue: requests arrive, wait for a free worker,
# are served, leave. This lab starts from the simplest queue, checks the simulator
# against the textbook formulas, then adds what real people do: they lose patience,
# and they try again.
#
# All the mornings here are the teaching scenario `teaching/single_queue`: one login
# service, requests arriving at random (a Poisson stream), exponential service times,
# 30 minutes of which the first 2 are left out of the measures (the queue starts
# empty). A run takes a fraction of a second, and has a fixed seed.

# %%
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import sim
from sim.experiments.validate import theory


def queue(rate, workers, service_s=0.5, **changes):
    """The single queue: `rate` arrivals per second, `workers` workers taking
    `service_s` seconds on average; `changes` are other fields, by their dotted path."""
    return sim.load(
        "teaching/single_queue",
        set={
            "sources.arrivals.rate_per_s": rate,
            "services.login.workers_per_server": workers,
            "services.login.service_time.mean_s": service_s,
            **changes,
        },
    )


def estimate(reps, metric):
    """mean [low, high] of a metric over replications, as one line of text."""
    row = reps.estimates.loc[metric]
    return f"{row['mean']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


# %% [markdown]
# ## M/M/1: one worker
#
# One worker serving 2 requests per second (0.5 s each), 1.5 arrivals per second: the
# worker is busy ρ = 1.5 / 2 = 75 % of the time, and theory says a request waits on
# average ρ / (μ − λ) = 1.5 s. Five replications give the simulated mean with its 95 %
# confidence interval.

# %%
lam, mu = 1.5, 2.0
mm1 = sim.replicate(queue(lam, 1), 5, jobs=1)
print("utilisation   theory", lam / mu, " simulated", estimate(mm1, "services.login.utilization"))
print(
    "mean wait (s) theory",
    round(theory.mmc_mean_wait(lam, mu, 1), 3),
    " simulated",
    estimate(mm1, "services.login.mean_wait_s"),
)

# %% [markdown]
# ## M/M/c: several workers, and Erlang C
#
# Now four workers and 6 arrivals per second: still 75 % busy. With c workers a request
# waits only when all are busy; the probability of that is **Erlang C**. To measure it,
# we borrow a trick from `sim validate`: every request "gives up" as soon as it has to
# wait at all (a patience of 1 ns), but stays in the queue and is served anyway, so the
# queue is unchanged and the share who gave up is the share who waited.

# %%
lam, mu, c = 6.0, 2.0, 4
probe = {
    "behaviour.patience": {"kind": "deterministic", "value_s": 1e-9},
    "behaviour.patience_covers": "wait",
}
mmc = sim.replicate(queue(lam, c, **probe), 5, jobs=1)
table = pd.DataFrame(
    {
        "theory": [theory.erlang_c(c, lam / mu), theory.mmc_mean_wait(lam, mu, c)],
        "simulated": [
            estimate(mmc, "kpi.failed_attempts_share"),
            estimate(mmc, "services.login.mean_wait_s"),
        ],
    },
    index=["P(wait), Erlang C", "mean wait (s)"],
)
table

# %% [markdown]
# At the same 75 % load, a request waits about 6 times less with four workers sharing
# one queue than with the single worker above (0.25 s against 1.5 s): with several
# workers, a burst of arrivals is more often met by one that is free. That is pooling.
#
# ## The hockey stick
#
# Push the arrival rate towards the capacity (4 workers × 2 per second = 8 per second)
# and the mean wait explodes: from 75 % to 95 % busy it is multiplied by almost 9. A
# sweep runs each rate three times; the line is the M/M/c formula.

# %%
rates = [3.0, 4.0, 5.0, 6.0, 6.5, 7.0, 7.3, 7.6]
swept = sim.sweep(queue(6.0, c), {"sources.arrivals.rate_per_s": rates}, reps=3, jobs=2)
curve = swept.variants.set_index("sources.arrivals.rate_per_s")
wait = curve["services.login.mean_wait_s.mean"]
curve["theory"] = [theory.mmc_mean_wait(r, mu, c) for r in rates]
curve[["services.login.utilization.mean", "services.login.mean_wait_s.mean", "theory"]]

# %%
rho = np.linspace(0.3, 0.96, 100)
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(rho, [theory.mmc_mean_wait(r * c * mu, mu, c) for r in rho], label="theory (Erlang C)")
ax.errorbar(
    np.array(rates) / (c * mu),
    wait,
    yerr=[
        wait - curve["services.login.mean_wait_s.low"],
        curve["services.login.mean_wait_s.high"] - wait,
    ],
    fmt="o",
    capsize=3,
    label="simulated, 95 % interval",
)
ax.set_xlabel("utilisation ρ = λ / (c μ)")
ax.set_ylabel("mean wait in queue (s)")
ax.set_title("M/M/4: the hockey stick")
ax.legend()
plt.show()

# %% [markdown]
# The simulation follows the formula: within 15 % up to 90 % load. Nearer to capacity
# a 30-minute morning is short for a queue that takes minutes to settle, so the runs
# scatter more (that is the hockey stick too).

# %%
close = curve[np.array(rates) / (c * mu) <= 0.9]
assert ((close["services.login.mean_wait_s.mean"] / close["theory"] - 1).abs() < 0.15).all()

# %% [markdown]
# ## Patience: Erlang A
#
# Real people do not wait for ever. Give each request a patience (exponential, 2 s on
# average, counted while it waits) after which it leaves the queue. At 95 % load some
# leave, and the queue is shorter for those who stay. The Erlang A model (M/M/c+M)
# predicts both.

# %%
lam, patience_s = 7.6, 2.0
impatient = {
    "behaviour.patience": {"kind": "exponential", "mean_s": patience_s},
    "behaviour.patience_covers": "wait",
    "services.login.drop_abandoned": True,  # who leaves, leaves the queue
}
erlang_a = theory.erlang_a(lam, mu, c, 1 / patience_s)
patient = sim.replicate(queue(lam, c, **impatient), 5, jobs=1)
pd.DataFrame(
    {
        "theory": [erlang_a.p_abandon, erlang_a.mean_wait_served],
        "simulated": [
            estimate(patient, "kpi.failed_attempts_share"),
            estimate(patient, "services.login.mean_wait_s"),
        ],
    },
    index=["P(abandon), Erlang A", "mean wait of the served (s)"],
)

# %% [markdown]
# ## Retries
#
# People who gave up come back: 90 % of them try again after 2 seconds, up to 5 times.
# Each retry is one more request, just when the service has none to spare. `sim.compare`
# runs the queue without and with retries on the same random numbers.

# %%
retrying = {
    "behaviour.retry_probability": 0.9,
    "behaviour.max_attempts": 5,
    "behaviour.backoff": {"kind": "constant", "delay_s": 2.0},
}
retries = sim.compare(
    queue(lam, c, **impatient), queue(lam, c, **impatient, **retrying), reps=3, jobs=2
)
retries.differences.loc[
    [
        "services.login.arrivals",
        "services.login.utilization",
        "services.login.mean_wait_s",
        "kpi.share_in_class",
    ],
    ["mean_a", "mean_b", "difference", "low", "high"],
]

# %% [markdown]
# More requests reach the service (each person counts several times), it is busier and
# everybody waits longer; but more people get served in the end ("share in class" here
# means: got through). Whether retries help or hurt depends on how much room is left:
# with none, they turn a short overload into a long one (the `teaching/retry_storm`
# scenario).

# %%
assert retries.differences.loc["services.login.arrivals", "low"] > 0
assert retries.differences.loc["services.login.mean_wait_s", "low"] > 0

# %% [markdown]
# ## Your turn
#
# Move the sliders: each change runs a 10-minute morning (well under a second) and
# redraws the queue minute by minute. The dashed line is the M/M/c mean queue when
# nobody gives up and the load is below capacity. (On the documentation site there is
# no Python behind the page, so the sliders do nothing; run the notebook to play.)


# %%
def lab(rate=7.0, workers=4, patience_s=20.0, retry_probability=0.0):
    """One short morning of the single queue, drawn minute by minute."""
    scenario = queue(
        rate,
        workers,
        end="08:10",
        **{
            "behaviour.patience": {"kind": "exponential", "mean_s": patience_s},
            "behaviour.patience_covers": "wait",
            "services.login.drop_abandoned": True,
            "behaviour.retry_probability": retry_probability,
            "behaviour.max_attempts": 5,
            "behaviour.backoff": {"kind": "constant", "delay_s": 2.0},
        },
    )
    morning = sim.run(scenario)
    minutes = morning.timeseries.iloc[2:]  # after the warm-up
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(range(2, 2 + len(minutes)), minutes["login.mean_queue"], marker=".")
    if rate < workers * mu:
        lq = theory.mmc_mean_wait(rate, mu, workers) * rate  # Little's law: Lq = λ Wq
        left.axhline(lq, color="grey", linestyle="--", label="M/M/c, no patience")
        left.legend()
    left.set_xlabel("minute")
    left.set_ylabel("requests waiting")
    right.plot(range(2, 2 + len(minutes)), minutes["login.served"] / 60, label="served")
    right.plot(range(2, 2 + len(minutes)), minutes["login.abandoned"] / 60, label="gave up")
    right.set_xlabel("minute")
    right.set_ylabel("per second")
    right.legend()
    services = morning.services.loc["login"]
    fig.suptitle(
        f"ρ = {rate / (workers * mu):.0%} offered, {services['utilization']:.0%} busy, "
        f"mean wait {services['mean_wait_s']:.2f} s, "
        f"{morning.kpi['failed_attempts_share']:.0%} of attempts failed"
    )
    plt.show()


# %%
_ = widgets.interact(
    lab,
    rate=widgets.FloatSlider(value=7.0, min=1.0, max=12.0, step=0.5, description="arrivals/s"),
    workers=widgets.IntSlider(value=4, min=1, max=8, description="workers"),
    patience_s=widgets.FloatSlider(
        value=20.0, min=1.0, max=60.0, step=1.0, description="patience s"
    ),
    retry_probability=widgets.FloatSlider(
        value=0.0, min=0.0, max=1.0, step=0.1, description="retry p"
    ),
)
# %% [markdown]
# The same, drawn once without sliders (what the page shows without a kernel):

# %%
lab()
