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
# # How the partnership changed SA's expansion
#
# The SA study asked two questions. The survival notebooks answer the second (did
# professional-led groups survive less well?). This one answers the first: **how did the
# partnership with the Mental Health Association in Michigan change the organisation's
# expansion?** — more groups founded, more of them in mental-health settings and led by
# professionals, more of Michigan reached.
#
# The data are the bundled **synthetic** SA groups (`data/README.md`: every number below is
# made up by a simulator whose truth we know), one row per group, the same table as the survival
# analysis. The eras are calendar periods: *before* the partnership (from July 1985), *early*
# partnership (from 1989) and *formal* partnership (from 1993); the spec's `[expansion]` table
# says so (`models/partnership.toml`).

# %%
import os

import matplotlib.pyplot as plt

import bayessa
from bayessa.plots import expansion as plots

# The test suite runs this notebook with small draws (BAYESSA_NB_DRAWS=200, 2 chains).
DRAWS = int(os.environ.get("BAYESSA_NB_DRAWS", "1000"))
CHAINS = int(os.environ.get("BAYESSA_NB_CHAINS", "4"))

# %% [markdown]
# ## Fit everything
#
# `bayessa.expansion` fits four models, each sampled with NUTS:
#
# * the **founding rate**: groups founded per calendar year and county, Poisson (or negative
#   binomial when the counts are overdispersed) with era effects and county intercepts;
# * the **composition** of new groups: one logistic (or multinomial) model per trait with era
#   effects and county intercepts;
# * the **mix** of leader type × setting among new groups, and the **survival** model of the
#   spec (leader × era + setting, county intercepts), which together with the founding rate
#   give reach and the counterfactual.

# %%
res = bayessa.expansion(
    spec="../models/partnership.toml", draws=DRAWS, tune=DRAWS, chains=CHAINS,
    composition=["leader", "setting"], progress=False,
)  # fmt: skip

# %% [markdown]
# ## 1. Founding rate
#
# New groups per year statewide in each era, with the rate ratios between eras and the
# probability that the later era's rate is higher. In the simulation the rates were 15.9, 26.5
# and 31.8 groups a year.

# %%
res.founding_table()

# %%
res.founding_contrasts()

# %%
eras = res.data.per_era()
fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
plots.foundings_per_year(res.data.units, "leader", ax=axes[0], eras=eras)
plots.foundings_per_year(res.data.units, "setting", ax=axes[1], eras=eras)
fig.tight_layout()

# %% [markdown]
# The frequentist cross-check, as the study's era would have done it: a Poisson GLM of the
# foundings per era with the years as exposure.

# %%
print(res.frequentist["founding"].ratios.to_string())

# %% [markdown]
# ## 2. Composition of new groups
#
# Shares by era (standardised over the county mix), and how they changed. In the simulation the
# share of professional-led new groups was 0.16, 0.34 and 0.46; of groups in mental-health
# settings 0.25, 0.45 and 0.60.

# %%
table = res.composition_table()
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
plots.shares_by_era(table, "leader", ax=axes[0])
plots.shares_by_era(table, "setting", ax=axes[1])
fig.tight_layout()

# %%
res.composition_contrasts()

# %%
for v in ("leader", "setting"):
    t = res.frequentist[v]
    print(f"{v} x era: chi-square {t.chisq_statistic:.2f} on {t.chisq_df:g} df "
          f"(p = {t.chisq_p_value:.2g}); Fisher p = {t.fisher_p_value:.2g}")  # fmt: skip

# %% [markdown]
# ## 3. Reach
#
# Active groups, and counties with an active group, over time. The black line is observed:
# groups known to be meeting, plus groups lost to follow-up counted with the Kaplan–Meier
# chance that they were still meeting. The band is what the founding, mix and survival models
# predict together (95%). The observed line should run inside the band.

# %%
fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
plots.reach_curves(res.reach, "groups", ax=axes[0], eras=eras)
plots.reach_curves(res.reach, "counties", ax=axes[1], eras=eras)
fig.tight_layout()

# %% [markdown]
# ## 4. The counterfactual
#
# Had the founding rate, the mix of new groups and their survival stayed as before the
# partnership, how many groups would have been active? The difference in group-years is split
# into the part due to more foundings, to a different mix (more professional-led groups in
# mental-health settings, which close sooner) and to survival by era, with the Shapley
# decomposition (the parts add up to the difference).

# %%
ax = plots.counterfactual_curve(res.counterfactual, eras=eras)

# %%
res.group_years

# %% [markdown]
# ## Saving the run
#
# `res.save("runs/expansion")` writes the tables (`founding.csv`, `composition.csv`,
# `reach.csv`, `counterfactual.csv`, ...), the DataTree of every model (`idata.nc`), the
# survival run it fitted (`survival/`) and `report.html` — the same as
# `python -m bayessa.expansion --out runs/expansion`.

# %%
plt.show()
