r"""Prior sensitivity by power-scaling (Kallioinen et al. 2024, as R's priorsense).

Power-scaling the prior by :math:`\alpha` gives the posterior
:math:`p_\alpha(\theta \mid y) \propto p(\theta)^\alpha\, p(y \mid \theta)`; :math:`\alpha < 1`
widens the prior, :math:`\alpha > 1` narrows it. Its draws are the fitted ones with importance
weights

.. math::

    w^{(s)} \propto p(\theta^{(s)})^{\alpha - 1},

Pareto-smoothed (PSIS), so no refit is needed; the Pareto :math:`\hat k` of the weights says when
the reweighting is reliable (:math:`\hat k < 0.7`).

Which priors are scaled. Only the priors a spec sets (the ``[priors]`` table) are power-scaled:
``beta`` (``effects``), ``baseline_start`` / ``baseline_centred`` (``baseline_level``),
``baseline_sd`` (``baseline_smoothing``), ``baseline_slope``, ``cluster_sd`` and ``tv_sd``
(``time_varying_sd``). The standard-normal innovations of the baseline random walk and the
cluster effects given their SD are parts of the hierarchical model, not choices, and are not
scaled (as priorsense recommends for hierarchical models). The log prior is evaluated in closed
form from the spec, on the parameters' natural (constrained) scale without Jacobian, as Stan's
and brms' ``lprior``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from bayessa.errors import SpecError
from bayessa.model.spec import Prior, Spec
from bayessa.model.units import priors_in_unit
from bayessa.posterior.rundir import open_tree

__all__ = [
    "PRIOR_OF",
    "PRIOR_OF_SMOOTH",
    "log_prior",
    "power_scaled_hazard_ratios",
    "prior_sensitivity",
    "with_log_prior",
]

#: Posterior variable -> the spec's prior that it follows.
PRIOR_OF: dict[str, str] = {
    "beta": "effects",
    "beta_z": "effects",  # with numeric covariates the prior is on the effect per SD
    "baseline_centred": "baseline_level",
    "baseline_start": "baseline_level",
    "baseline_sd": "baseline_smoothing",
    "baseline_slope": "baseline_slope",
    "cluster_sd": "cluster_sd",
    "tv_sd": "time_varying_sd",
}
#: Smooths' parameters, ``s_<column>_sd`` and ``s_<column>_slope``, by suffix.
PRIOR_OF_SMOOTH: dict[str, str] = {"_sd": "smooth_sd", "_slope": "effects"}


def _logpdf(prior: Prior, x: np.ndarray) -> np.ndarray:
    p = prior.params
    match prior.dist:
        case "normal":
            return stats.norm.logpdf(x, p["mu"], p["sigma"])
        case "student_t":
            return stats.t.logpdf(x, p["nu"], p["mu"], p["sigma"])
        case "halfnormal":
            return stats.halfnorm.logpdf(x, scale=p["sigma"])
        case "halfstudent_t":
            return np.where(
                x >= 0, np.log(2.0) + stats.t.logpdf(x, p["nu"], 0.0, p["sigma"]), -np.inf
            )
        case "exponential":
            return stats.expon.logpdf(x, scale=1.0 / p["lam"])
    raise SpecError(f"unknown prior family '{prior.dist}'")  # pragma: no cover


def log_prior(source: Any, *, group: str = "posterior") -> xr.Dataset:
    """Elementwise log prior density of every spec-set prior term, per draw.

    Parameters
    ----------
    source : FitResult, xarray.DataTree, str or Path
        A run made by bayessa (its spec is read from ``attrs["bayessa_spec"]``).
    group : str, default "posterior"
        The group of draws to evaluate (e.g. ``"prior"``).

    Returns
    -------
    xarray.Dataset
        One variable per parameter in :data:`PRIOR_OF` that the model has, with the parameter's
        dims (e.g. ``beta`` (chain, draw, coef)); the layout of ArviZ's ``log_prior`` group.
    """
    tree = open_tree(source)
    spec = Spec.from_dict(tomllib.loads(tree.attrs["bayessa_spec"]))
    priors = priors_in_unit(spec.priors, spec.data.time_unit, spec.model.baseline)
    post = tree[group].dataset
    sampled = {n: k for n, k in PRIOR_OF.items() if n in post}
    for name in (str(v) for v in post.data_vars if str(v).startswith("s_")):
        for suffix, key in PRIOR_OF_SMOOTH.items():
            if name.endswith(suffix):
                sampled[name] = key
    if "beta_z" in sampled:  # beta is then derived from beta_z, which carries the prior
        del sampled["beta"]
    out = {
        name: xr.apply_ufunc(lambda x, pr=priors[key]: _logpdf(pr, x), post[name])
        for name, key in sampled.items()
    }
    return xr.Dataset(out)


def with_log_prior(source: Any) -> xr.DataTree:
    """A copy of the fit's DataTree with a ``log_prior`` group (for ArviZ's ``psense``).

    Parameters
    ----------
    source : FitResult, xarray.DataTree, str or Path
        A run made by bayessa.

    Returns
    -------
    xarray.DataTree
        The copy; ``log_prior`` is :func:`log_prior` of its posterior.
    """
    tree = open_tree(source).copy()
    tree["log_prior"] = log_prior(tree)
    return tree


def prior_sensitivity(
    source: Any,
    *,
    var_names: Sequence[str] = ("beta",),
    prior_terms: Sequence[str] | None = None,
    alphas: tuple[float, float] = (0.99, 1.01),
    threshold: float = 0.05,
) -> pd.DataFrame:
    r"""Power-scaling sensitivity of posterior quantities to the prior and to the likelihood.

    ArviZ's :func:`arviz_stats.psense_summary` on the fit with :func:`log_prior` added: the
    cumulative Jensen-Shannon distance between the posterior and its power-scaled versions,
    per unit change of :math:`\log_2 \alpha`. Prior sensitivity above ``threshold`` (0.05) with
    likelihood sensitivity above it too suggests prior-data conflict; prior sensitivity above
    it with likelihood sensitivity below suggests a strong prior or a weak likelihood.

    Parameters
    ----------
    source : FitResult or DataTree
        A fit with the per-unit log-likelihood.
    var_names : sequence of str
        Posterior variables to assess (default the log hazard ratios ``beta``).
    prior_terms : sequence of str, optional
        Which prior terms to power-scale (keys of :data:`PRIOR_OF`); default all the model has.
    alphas : (float, float)
        Power-scaling factors around 1 for the derivative.
    threshold : float
        Diagnosis threshold.

    Returns
    -------
    pandas.DataFrame
        ``prior``, ``likelihood`` sensitivity and ``diagnosis`` per parameter element.
    """
    from arviz_stats import psense_summary

    tree = with_log_prior(source)
    if "log_likelihood" not in tree.children:
        raise SpecError("prior_sensitivity needs the per-unit log-likelihood; refit with log_likelihood=True")  # fmt: skip
    return psense_summary(
        tree,
        var_names=list(var_names),
        prior_var_names=list(prior_terms) if prior_terms else None,
        likelihood_var_names=["time"],
        alphas=alphas,
        threshold=threshold,
    )


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: Sequence[float]) -> np.ndarray:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    cw = (cw - 0.5 * w[order]) / cw[-1]
    return np.interp(q, cw, x[order])


def power_scaled_hazard_ratios(
    source: Any,
    *,
    alphas: Sequence[float] = (0.5, 1.0, 2.0),
    prior_terms: Sequence[str] | None = None,
    ci_prob: float = 0.95,
) -> pd.DataFrame:
    r"""Hazard ratios under power-scaled priors, by PSIS reweighting of the fitted draws.

    Parameters
    ----------
    source : FitResult or DataTree
    alphas : sequence of float
        Power-scaling factors; :math:`\alpha = 1` is the fitted posterior, :math:`\alpha = 0.5`
        a prior twice as wide (on the log scale of its density), 2 one twice as sharp.
    prior_terms : sequence of str, optional
        Prior terms to scale (keys of :data:`PRIOR_OF`); default all the model has.
    ci_prob : float
        Probability of the equal-tailed interval.

    Returns
    -------
    pandas.DataFrame
        One row per (``alpha``, ``coef``): ``hr_median``, ``hr_lower``, ``hr_upper``,
        ``p_hr_gt_1`` (weighted) and ``pareto_k`` of the weights (reliable below 0.7).
    """
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)

    tree = open_tree(source)
    lp_ds = log_prior(tree)
    terms = list(prior_terms) if prior_terms else list(lp_ds.data_vars)
    unknown = sorted(set(terms) - set(lp_ds.data_vars))
    if unknown:
        raise SpecError(f"unknown prior term(s) {unknown}; the model has {list(lp_ds.data_vars)}")
    lp = sum(lp_ds[t].sum([d for d in lp_ds[t].dims if d not in ("chain", "draw")]) for t in terms)
    beta = tree["posterior"]["beta"].transpose("chain", "draw", "coef")
    b = beta.to_numpy().reshape(-1, beta.sizes["coef"])
    a = (1 - ci_prob) / 2
    rows = []
    for alpha in alphas:
        if alpha == 1.0:
            w, k = np.ones(b.shape[0]), 0.0
        else:
            raw = (alpha - 1.0) * lp
            lw = lp.azstats.power_scale_lw(alpha=alpha, dim=["chain", "draw"])
            k = float(
                raw.azstats.pareto_khat(
                    sample_dims=["chain", "draw"], tail="right", log_weights=True
                )
            )
            lw_np = lw.transpose("chain", "draw").to_numpy().ravel()
            w = np.exp(lw_np - lw_np.max())
        w = w / w.sum()
        for j, coef in enumerate(beta["coef"].values):
            q = _weighted_quantile(b[:, j], w, [a, 0.5, 1 - a])
            rows.append(
                {
                    "alpha": float(alpha),
                    "coef": str(coef),
                    "hr_median": np.exp(q[1]),
                    "hr_lower": np.exp(q[0]),
                    "hr_upper": np.exp(q[2]),
                    "p_hr_gt_1": float(w @ (b[:, j] > 0)),
                    "pareto_k": k,
                }
            )
    return pd.DataFrame(rows)
