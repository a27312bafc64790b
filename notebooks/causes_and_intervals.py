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
# # Predictive checks for causes of closure and for closures seen only at contacts
#
# The bundled **synthetic** SA-groups data (see `data/README.md`) record *why* a group closed
# (folded, merged, lost its venue) and, from yearly contacts, *between which two contacts* it
# closed. This notebook checks two models against those data by simulating from them:
#
# 1. **Competing risks** (`models/closure_reasons.toml`): one cause-specific hazard model per
#    cause. Replicates draw every group's latent time of each cause from paired posterior draws
#    and keep the first; we compare the cumulative incidence of each cause in the data
#    (Aalen–Johansen) with the replicates'.
# 2. **Interval censoring** (`models/interval_closure.toml`): the closure is only known to lie
#    in (last seen meeting, first found closed]. The likelihood is S(L) − S(R); we check the
#    model with the LOO-PIT drawn inside each interval and with the replicates' survival against
#    Turnbull's nonparametric estimate.

# %%
import os

import matplotlib.pyplot as plt

import bayessa
from bayessa.checks import ppc_stats
from bayessa.checks.ppc_competing import incidence_check
from bayessa.errors import SpecError
from bayessa.plots import incidence as plots_incidence
from bayessa.plots import ppc as plots_ppc

# The test suite runs this notebook with small draws (BAYESSA_NB_DRAWS=200, 2 chains).
DRAWS = int(os.environ.get("BAYESSA_NB_DRAWS", "1000"))
CHAINS = int(os.environ.get("BAYESSA_NB_CHAINS", "4"))

# %% [markdown]
# ## 1. Causes of closure
#
# `bayessa.fit` with a `censored` value fits one model per cause on the same cells (the other
# causes' closures count as censorings in each).

# %%
causes = bayessa.fit(spec="../models/closure_reasons.toml", draws=DRAWS, tune=DRAWS,
                     chains=CHAINS, seed=1, progress=False)  # fmt: skip
causes.hazard_ratios()

# %% [markdown]
# **How to read it.** For each cause, the thick line is the observed cumulative incidence
# (Aalen–Johansen: the share of groups that closed *for that reason* by each age, the other
# reasons competing) and the band holds 95% of the replicated curves. The observed line should
# run inside its band; a cause whose line leaves the band early or late has a hazard of the
# wrong shape over group age. The curves of the causes add up to one minus the survival.

# %%
runs = {cause: fit.idata for cause, fit in causes.results.items()}
observed, band = incidence_check(runs, n_replicates=100, seed=0)
ax = plots_incidence.incidence_ppc(observed, band)

# %% [markdown]
# ## 2. Closures known only between two contacts
#
# The same analysis as the partnership model, but the closure date is replaced by the two
# contact dates around it (`start = founded`, `time_lower = last_seen_meeting`,
# `time_upper = first_found_closed`; a blank upper date means the group was still meeting).

# %%
interval = bayessa.fit(spec="../models/interval_closure.toml", draws=DRAWS, tune=DRAWS,
                       chains=CHAINS, seed=2, progress=False)  # fmt: skip
interval.hazard_ratios()

# %% [markdown]
# ### LOO-PIT with interval-censored closures
#
# For a group that closed at a known time the PIT is its leave-one-out predictive probability of
# closing by then; for a censored group it is drawn uniformly above that probability at its last
# contact; for a group that closed between two contacts it is drawn uniformly between the
# probabilities at the two contacts, F(L) and F(R). Under the model every PIT is uniform.
#
# **How to read it.** As in the exact-data notebook: the line is the PIT values' ECDF minus the
# uniform CDF, and it should stay inside the 95% band.

# %%
pit = ppc_stats.loo_pit(interval, seed=3)
ax = plots_ppc.plot_loo_pit(pit)
n_ic = int((pit["event"] == 2).sum())
print(f"{n_ic} of {pit.sizes['unit']} closures known only between two contacts")

# %% [markdown]
# ### Survival of the replicates against Turnbull's estimate
#
# The observed closure times are not known, so the observed curve is Turnbull's
# nonparametric maximum-likelihood estimate (the interval-censored analogue of Kaplan–Meier);
# the replicates are the model's latent lifetimes. Both estimate the same survival function.
# Turnbull's estimate places each drop somewhere inside an interval (here at its middle), so it
# is a staircase with wide flat steps: judge it by where it runs, not by its corners.

# %%
replicates = bayessa.replicate_lifetimes(interval, n_draws=200, seed=4)
curves = ppc_stats.km_curves(interval, replicates, by="leader")
axes = plots_ppc.plot_km_ppc_grid(curves)

# %% [markdown]
# Event counts per age interval and test statistics need each closure's time; with
# interval-censored closures `event_counts` and `ppc_statistic` say so and point here.

# %%
try:
    ppc_stats.event_counts(interval, replicates)
except SpecError as err:
    print(err)
plt.show()
