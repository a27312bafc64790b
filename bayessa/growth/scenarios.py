r"""Reach and the counterfactual from the three fitted models (founding, mix, survival).

:func:`reach_model` pairs posterior draws of the founding-rate model, of the mix of traits among
new units (the joint categories of the survival formula's unit variables, e.g. leader type x
setting) and of the survival model (each thinned with its own seed: the three posteriors are
independent, so pairing draws by position draws from their product) into a
:class:`~bayessa.growth.counterfactual.ReachModel`. :func:`reach_tables` then gives

* ``reach.csv``: observed active groups and clusters (:func:`~bayessa.growth.reach.observed_reach`)
  beside the posterior predictive median and 95% band: active groups in cluster :math:`c` are
  Poisson with mean :math:`A_c(d)` (a thinned Poisson process), a cluster is reached with
  probability :math:`1 - e^{-A_c(d)}` (under a negative-binomial founding model the band is that
  of the expected rates, with Poisson noise: a little too narrow);
* ``counterfactual.csv``: expected active groups with the eras as observed and had founding, mix
  and survival stayed as in the first era;
* the group-years summary: the posterior difference and its Shapley split into the three factors.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from bayessa._rng import as_generator
from bayessa.data.columns import TIME_UNITS
from bayessa.errors import SpecError
from bayessa.growth.counterfactual import FACTORS, ReachModel, expected_active, shapley_shares
from bayessa.growth.reach import STEP_DAYS, date_grid, observed_reach
from bayessa.growth.tables import ExpansionData

__all__ = ["reach_model", "reach_tables", "survival_traits"]

_YEAR = TIME_UNITS["years"]
_JOIN = "|"


def survival_traits(tree, era: str | None) -> tuple[str, ...]:
    """The survival formula's unit variables besides the era: the traits of the mix.

    Parameters
    ----------
    tree : xarray.DataTree
        The survival run.
    era : str or None
        The era column (``[expansion] era``).

    Returns
    -------
    tuple of str

    Raises
    ------
    SpecError
        A variable that is numeric, or not a unit trait (the counterfactual cannot hold it).
    """
    from bayessa.posterior.predict import DesignInfo

    info = DesignInfo.from_datatree(tree)
    traits = tuple(v for v in info.profile_variables if v != era)
    if numeric := [v for v in traits if v in info.numeric_columns]:
        raise SpecError(
            f"the counterfactual needs categorical traits, but the survival formula has numeric "
            f"{numeric}; fit the survival model with categorical unit variables and the era"
        )
    if info.strata or info.time_varying_coefs:
        raise SpecError("the counterfactual needs a survival model without strata and "
                        "time-varying effects")  # fmt: skip
    return traits


def _survival_log_hazard(tree, data: ExpansionData, era: str | None, levels, n: int, seed: int):
    """(S, E, C, X, K) log hazard and the cut points, from the survival run."""
    from bayessa.posterior.predict import DesignInfo, draws, profile_log_hazard, thin

    info = DesignInfo.from_datatree(tree)
    post = thin(tree["posterior"].dataset, n, seed=seed)
    traits = [lv.split(_JOIN) for lv in levels]
    names = survival_traits(tree, era)
    E, X = len(data.eras.labels), len(levels)
    rows = []
    for e in data.eras.labels:
        for t in traits:
            row = dict(zip(names, t, strict=True))
            if era is not None and era in info.profile_variables:
                row[era] = e
            rows.append(row)
    eta = profile_log_hazard(post, info, pd.DataFrame(rows))  # (S, E*X, K)
    S, _, K = eta.shape
    eta = eta.reshape(S, E, X, K)
    C = max(len(data.clusters), 1)
    u = np.zeros((S, C))
    if info.cluster and "cluster_effect" in post and data.clusters:
        fitted = [str(c) for c in info.cluster_levels]
        effect = draws(post, "cluster_effect")
        for c, name in enumerate(data.clusters):
            if name in fitted:
                u[:, c] = effect[:, fitted.index(name)]
    return eta[:, :, None, :, :] + u[:, None, :, None, None], np.asarray(info.cuts, dtype=float)


def reach_model(
    data: ExpansionData, founding, mix, survival_tree, *, era: str | None, n_draws: int = 400,
    seed: int = 0,
) -> ReachModel:  # fmt: skip
    """Pair the three models' draws into a :class:`~bayessa.growth.counterfactual.ReachModel`.

    Parameters
    ----------
    data : ExpansionData
    founding : FoundingFit
    mix : CompositionFit
        Of the survival traits' joint categories (:func:`survival_traits`).
    survival_tree : xarray.DataTree
        The survival run.
    era : str or None
        The era column of the survival formula.
    n_draws : int, default 400
        Posterior draws kept of each model.
    seed : int, default 0
        Seed of the thinning (each model its own stream).

    Returns
    -------
    ReachModel
    """
    seeds = np.random.SeedSequence(seed).generate_state(3)
    rate = founding.slice_rate_draws(max_draws=n_draws, seed=int(seeds[0]))
    first = founding.slice_rate_draws(era=0, max_draws=n_draws, seed=int(seeds[0]))
    probs = np.stack([mix.prob_draws(e, max_draws=n_draws, seed=int(seeds[1]))
                      for e in range(len(data.eras.labels))], axis=1)  # fmt: skip
    log_h, cuts = _survival_log_hazard(survival_tree, data, era, mix.levels, n_draws, int(seeds[2]))
    S = min(len(rate), len(probs), len(log_h))
    s = data.slices
    return ReachModel(
        slice_start=s["start"].to_numpy(float), slice_stop=s["stop"].to_numpy(float),
        slice_era=s["era"].cat.codes.to_numpy(), rate=rate[:S], rate_first_era=first[:S],
        mix=probs[:S], log_hazard=log_h[:S], cuts=cuts,
    )  # fmt: skip


def _band(x: np.ndarray, prob: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = (1 - prob) / 2
    lo, med, hi = np.quantile(x, [a, 0.5, 1 - a], axis=0)
    return med, lo, hi


def reach_tables(
    data: ExpansionData, m: ReachModel, *, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Reach with its predictive band, the counterfactual curve and the group-years summary.

    Parameters
    ----------
    data : ExpansionData
    m : ReachModel
    seed : int, default 0
        Seed of the predictive draws.

    Returns
    -------
    reach, counterfactual, summary : pandas.DataFrame
        ``reach.csv``, ``counterfactual.csv`` and the group-years summary (``quantity``,
        ``median``, ``lower``, ``upper``, ``p_gt_0``).
    """
    dates = date_grid(data)
    n = len(dates)
    first, step = float(data.eras.first), STEP_DAYS
    rng = as_generator(seed)
    scen: dict[frozenset, np.ndarray] = {}
    for k in range(len(FACTORS) + 1):
        for T in combinations(FACTORS, k):
            kw = {f: ("observed" if f in T else "first") for f in FACTORS}
            scen[frozenset(T)] = expected_active(m, first, step, n, **kw)
    A = scen[frozenset(FACTORS)]  # (S, D, C) as observed
    reach = observed_reach(data, dates)
    groups = rng.poisson(A.sum(axis=2))
    med, lo, hi = _band(groups)
    reach = reach.assign(predicted_groups=med, groups_lower=lo, groups_upper=hi)
    if data.cluster is not None:
        reached = (rng.uniform(size=A.shape) < -np.expm1(-A)).sum(axis=2)
        med, lo, hi = _band(reached)
        reach = reach.assign(predicted_clusters=med, clusters_lower=lo, clusters_upper=hi)
    cf = scen[frozenset()]
    obs_med, obs_lo, obs_hi = _band(A.sum(axis=2))
    cf_med, cf_lo, cf_hi = _band(cf.sum(axis=2))
    d_med, d_lo, d_hi = _band(A.sum(axis=2) - cf.sum(axis=2))
    curve = pd.DataFrame({
        "date": reach["date"], "observed_eras": obs_med, "observed_lower": obs_lo,
        "observed_upper": obs_hi, "counterfactual": cf_med, "counterfactual_lower": cf_lo,
        "counterfactual_upper": cf_hi, "difference": d_med, "difference_lower": d_lo,
        "difference_upper": d_hi,
    })  # fmt: skip
    years = {T: a.sum(axis=(1, 2)) * step / _YEAR for T, a in scen.items()}
    shares = shapley_shares(years)
    rows = [("group-years as observed", years[frozenset(FACTORS)]),
            ("group-years had all stayed as in the first era", years[frozenset()]),
            ("difference", years[frozenset(FACTORS)] - years[frozenset()])]  # fmt: skip
    rows += [(f"of which {f}", shares[f]) for f in FACTORS]
    out = []
    for q, v in rows:
        med, lo, hi = _band(v)
        out.append({"quantity": q, "median": float(med), "lower": float(lo), "upper": float(hi),
                    "p_gt_0": float(np.mean(v > 0))})  # fmt: skip
    summary = pd.DataFrame(out)
    return reach, curve, summary
