# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Posterior predictive checks
#
# A survival model is checked by simulating data from it and comparing them with what was
# observed. Here we fit the default model (`models/partnership.toml`: leader type × era at
# founding + setting, county random intercepts) to the bundled **synthetic** SA-groups data
# (see `data/README.md`), draw replicated group lifetimes from the posterior, and compare:
#
# 1. Kaplan–Meier curves of the replicates against the observed curve, per leader type and era;
# 2. events per age interval and per county;
# 3. the LOO-PIT of every group's lifetime;
# 4. a test statistic — the share of groups still meeting at 5 years — with its posterior
#    predictive p-value.
#
# **How the replicates are made.** Each replicate keeps every group's founding date, leader,
# era, setting, county and follow-up: a lifetime is drawn from the group's own piecewise-
# exponential hazard (one posterior draw per replicate) and censored where the group was
# censored. Groups that closed have no censoring time of their own; they are censored at the end
# of the study (1999-06-30), as if they had been followed to the end. So a replicated
# Kaplan–Meier curve is directly comparable with the observed one
# (`bayessa.replicate_lifetimes`; the details are in the `bayessa.checks.ppc` docstring).

# %%
import os

import matplotlib.pyplot as plt

import bayessa
from bayessa.checks import ppc_stats
from bayessa.plots import ppc as plots_ppc

# The test suite runs this notebook with small draws (BAYESSA_NB_DRAWS=200, 2 chains).
DRAWS = int(os.environ.get("BAYESSA_NB_DRAWS", "1000"))
CHAINS = int(os.environ.get("BAYESSA_NB_CHAINS", "4"))

# %% [markdown]
# The fit. Check the convergence gate first: with the test suite's small draws it may fail, and
# the checks below then only show that the notebook runs; read them from a run with the default
# draws.

# %%
result = bayessa.fit(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=20251125)
diagnostics = result.diagnostics()
print("convergence gate passed:", diagnostics.passed)

# %%
replicates = bayessa.replicate_lifetimes(result, n_draws=1000, seed=1)
replicates

# %% [markdown]
# ## Kaplan–Meier curves: replicated against observed
#
# **How to read it.** Each thin blue line is the Kaplan–Meier curve of one replicated data set,
# the shaded band holds 90% of them at each age, and the black line is the observed curve. If
# the model describes the data, the black line runs inside the band at every age. A black line
# that leaves the band systematically — above it early and below it late, say — means the
# model's hazard has the wrong shape over group age for that kind of group. Wiggles of the black
# line inside the band are noise.

# %%
curves = ppc_stats.km_curves(result, replicates, by="leader")
axes = plots_ppc.plot_km_ppc_grid(curves)

# %%
curves = ppc_stats.km_curves(result, replicates, by="era")
axes = plots_ppc.plot_km_ppc_grid(curves)

# %% [markdown]
# Groups founded later were followed for a shorter time, so their curves stop earlier: the
# replicates stop where follow-up stops, as the data do.
#
# ## Events per age interval and per county
#
# **How to read it.** Black dots are the observed numbers of closures; blue bars hold 90% of the
# replicated numbers, with their median marked. About one dot in ten may fall outside its bar by
# chance. Dots outside their bars in neighbouring age intervals suggest the baseline hazard is
# too smooth (or too rough) there; a county far outside its bar is one whose groups the model
# cannot explain with its county effect.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
plots_ppc.plot_event_counts(ppc_stats.event_counts(result, replicates, by="interval"), ax=ax)
fig.tight_layout()

# %%
fig, ax = plt.subplots(figsize=(12, 4))
plots_ppc.plot_event_counts(ppc_stats.event_counts(result, replicates, by="county"), ax=ax)
fig.tight_layout()

# %% [markdown]
# The replicates above keep each county's fitted effect. Replicating with **new** county
# effects drawn from the fitted county distribution (`clusters="new"`) checks that distribution
# itself: the observed counts should still be plausible, with wider bars.

# %%
new_counties = bayessa.replicate_lifetimes(result, n_draws=1000, seed=2, clusters="new")
fig, ax = plt.subplots(figsize=(12, 4))
plots_ppc.plot_event_counts(ppc_stats.event_counts(result, new_counties, by="county"), ax=ax)
ax.set_title("replicates with new county effects")
fig.tight_layout()

# %% [markdown]
# ## LOO-PIT
#
# For every group, the leave-one-out predictive probability that it closes before its observed
# exit (PSIS-LOO, with the group as the observation). For a censored group only a lower bound is
# known, so its PIT is drawn uniformly above that bound; with a well-calibrated model and
# independent censoring the PIT values are uniform (`bayessa.checks.ppc_stats.loo_pit`).
#
# **How to read it.** The black line is the difference between the PIT values' empirical CDF
# and the uniform CDF; the band holds it with 95% probability if the model is calibrated. A line
# above the band at small values means more groups closed earlier than predicted; an S shape
# means the predictive distributions are too narrow (or, inverted, too wide). Pareto *k* above
# 0.7 flags groups whose LOO estimate is unreliable.

# %%
pit = ppc_stats.loo_pit(result, seed=3)
ax = plots_ppc.plot_loo_pit(pit)
print(f"groups with Pareto k > 0.7: {int((pit['pareto_k'] > 0.7).sum())} of {pit.sizes['unit']}")

# %% [markdown]
# ## A test statistic: the share of groups still meeting at 5 years
#
# The statistic is the Kaplan–Meier survival at age 5, computed on the observed data and on
# every replicate. The posterior predictive p-value is the share of replicates whose statistic
# is at least the observed one.
#
# **How to read it.** The observed value (black line) should sit inside the histogram; a
# p-value near 0 or 1 (say below 0.05 or above 0.95) means the model rarely produces a share as
# extreme as the observed one.

# %%
s5 = ppc_stats.km_survival_at(5.0)
overall = ppc_stats.ppc_statistic(result, replicates, s5)
print(overall)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
plots_ppc.plot_ppc_statistic(overall, ax=axes[0])
for ax, level in zip(axes[1:], ["consumer", "professional"], strict=True):
    stat = ppc_stats.ppc_statistic(result, replicates, s5, by="leader", level=level)
    print(stat)
    plots_ppc.plot_ppc_statistic(stat, ax=ax)
fig.tight_layout()

# %% [markdown]
# ## Summary
#
# The checks compare the fitted model with the data it was fitted to, so they are lenient: they
# find misfit, they do not prove fit. Run them with the default draws (unset
# `BAYESSA_NB_DRAWS`) before reading anything into a borderline p-value.
