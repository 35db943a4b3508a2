# The source of planning.ipynb (python docs/notebooks/make_notebooks.py writes it).

# %% [markdown]
# # Planning a morning
#
# You run the login service of a region's secondary schools. On the first morning of
# remote learning about 100,000 pupils, teachers and parents connect, most of them
# around the lessons at 8:00 and 9:00. How much login capacity do you need so that
# **95 % of the pupils are in class by 5 minutes after their lesson starts**? And would
# staggering the lessons do the same job for free?
#
# This notebook answers with the shipped `default` scenario (`experiments/default.toml`,
# whose header says which values are published figures and which are assumptions) and
# the Python API ([how-to](../how-to/python.md)). Every run has a fixed seed: run the
# notebook again and you get the same numbers.

# %%
import matplotlib.pyplot as plt
import pandas as pd

import sim

SCALE = 0.25  # a quarter of the people, every capacity divided by four: ~3 s a run
scenario = sim.load("default", scale=SCALE)
morning = sim.run(scenario)
morning

# %% [markdown]
# ## Why a quarter, and how far to trust it
#
# `scale=0.25` simulates 25,500 people instead of 102,000, with every server count
# divided by four, so that each service carries the same load per worker. A run takes
# about 3 seconds instead of 13, which is what lets us try many capacities below.
#
# It is a sketch, not the answer. Congestion has sharp tipping points, and a small
# system sits at them differently: on the April 2021 scenario a tenth of the people was
# 2 to 5 points pessimistic on the shares of people in class, and a hundredth was far
# off ([how far `--scale` can be trusted](../explanation/april-2021.md#scale)).
# Capacities are rounded too, and a service left with less than one server becomes one
# server holding the scaled workers (a pooled queue, which waits a little less). A
# quarter is chosen because it rounds nothing here: the full-size login service has 3
# servers of 4 workers; a quarter of it is one server of 3 workers, so **one worker at
# this scale stands for one full-size server**. Explore at a quarter, then confirm the
# plan at full size (the last cell shows how).

# %% [markdown]
# ## The morning, role by role
#
# `kpi["by_role"]` holds the KPIs of each role (the
# [metrics reference](../reference/metrics.md) says what each means). Parents have no
# lesson, so their "in class by start + 5 min" is empty.

# %%
columns = [
    "people",
    "share_in_class",
    "share_in_class_5min_after_start",
    "time_to_class_p95_s",
    "gave_up",
]
pd.DataFrame(morning.kpi["by_role"]).T[columns]

# %%
morning.services[["arrivals", "utilization", "mean_wait_s", "p95_wait_s"]]

# %% [markdown]
# The login service is where people wait (its utilisation is an average over the whole
# morning: it is saturated only around 8:00 and 9:00). Pupils miss the target: too many
# of them are still queueing or retrying their login when the lesson starts.
#
# ## How much login capacity?
#
# We vary the workers of the login server, from today's 3 (3 full-size servers) up. A
# sweep runs every capacity 3 times (replications with common random numbers, so that
# the variants differ only by the capacity) and gives each KPI's mean with its 95 %
# confidence interval.

# %%
TARGET = 0.95
METRIC = "kpi.by_role.pupil.share_in_class_5min_after_start"
swept = sim.sweep(scenario, {"services.login.workers_per_server": [3, 4, 5]}, reps=3, jobs=2)
table = swept.variants.set_index("services.login.workers_per_server")
table[[f"{METRIC}.mean", f"{METRIC}.low", f"{METRIC}.high"]]

# %% [markdown]
# The sweep shows the curve; `sim.plan` answers the question itself. It bisects over the
# capacities, runs replications at each probe until it is sure at 95 % confidence whether
# the target holds, and returns the smallest capacity that meets it.

# %%
found = sim.plan(
    scenario,
    "services.login.workers_per_server",
    3,
    6,
    f"by_role.pupil.share_in_class_5min_after_start>={TARGET}",
    reps=3,
    jobs=2,
)
print(f"smallest login capacity: {found.answer} workers at scale {SCALE}, ")
print(f"that is {found.answer} full-size servers of 4 workers (today: 3)")
found.probes

# %% [markdown]
# The planner and the sweep agree: the capacity found meets the target in the sweep
# too, and the one below it does not.

# %%
mean = table[f"{METRIC}.mean"]
assert found.answer is not None, "no capacity up to 6 workers meets the target"
assert mean[found.answer] >= TARGET
assert found.answer == 3 or mean[found.answer - 1] < TARGET

# %% [markdown]
# ## What if the lessons were staggered?
#
# Instead of buying capacity, spread the demand: the lycées start a quarter of an hour
# later (8:15 and 9:15) while the collèges keep 8:00 and 9:00. The class start times of
# each cohort are its `class_starts` ([scenario reference](../reference/scenario.md)).
# `sim.compare` runs both mornings on the same random numbers, replication by
# replication, and gives each KPI's difference (B − A) with its 95 % interval.

# %%
staggered = sim.load(
    "default",
    scale=SCALE,
    set={"cohorts.lycee_pupils.class_starts": ["08:15", "09:15"]},
)
diff = sim.compare(scenario, staggered, reps=3, jobs=2)
diff.differences.loc[[METRIC, "kpi.share_in_class", "kpi.gave_up", "services.login.mean_wait_s"]]

# %% [markdown]
# With the lycées a quarter of an hour later, the two waves of logins no longer arrive
# at once: today's 3 servers get the pupils above the target, and nobody buys anything.
# (The next cell checks that this sentence is still true.)

# %%
stagger = diff.differences.loc[METRIC]
assert stagger["mean_b"] >= TARGET and stagger["low"] > 0

# %% [markdown]
# ## The what-if, in one picture
#
# The share of pupils in class by start + 5 min against login capacity, with its 95 %
# interval, and where the staggered start lands with today's capacity.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
ax.errorbar(
    table.index,
    mean,
    yerr=[mean - table[f"{METRIC}.low"], table[f"{METRIC}.high"] - mean],
    marker="o",
    capsize=3,
    label="more login servers",
)
ax.axhline(TARGET, color="grey", linestyle="--", label=f"target {TARGET:.0%}")
ax.scatter(
    [3], [stagger["mean_b"]], color="tab:orange", zorder=3, label="3 servers, lycées staggered"
)
ax.set_xlabel("login servers (full size; workers at scale 0.25)")
ax.set_xticks(table.index)
ax.set_ylabel("pupils in class by start + 5 min")
ax.yaxis.set_major_formatter("{x:.0%}")
ax.legend(loc="lower right")
ax.set_title("Capacity or staggering?")
plt.show()

# %% [markdown]
# ## Before you buy
#
# Confirm the answer at full size, where capacity is counted in servers: the same
# call on the full-size scenario (about 13 s a run, so a few minutes):
#
# ```python
# full = sim.load("default")
# sim.plan(full, "services.login.servers", 3, 6,
#          "by_role.pupil.share_in_class_5min_after_start>=0.95").answer
# ```
