"""Convergence gate: R-hat, ESS, MCSE, divergences, E-BFMI, tree depth -> :class:`Diagnostics`.

Thresholds are keyword-only with documented defaults (Vehtari et al. 2021 for rank-normalised
split R-hat, bulk/tail ESS and MCSE; Betancourt 2017 for divergences and E-BFMI). Each check
names the parameter that is worst, explains what a failure means and what to try. The gate
returns data and never prints; the CLI and the report print it.

=====================  ===========================================  ========================
check                  statistic                                    default threshold
=====================  ===========================================  ========================
R-hat                  max rank-normalised split R-hat              <= 1.01
bulk ESS               min bulk effective sample size               >= 400 (100 per chain)
tail ESS               min tail ESS (5% and 95% quantiles)          >= 400
MCSE                   max MCSE / posterior sd of the mean;         <= 0.1;
                       of the 2.5% and 97.5% quantiles              <= 0.2
divergences            divergent transitions after warm-up          <= 0
E-BFMI                 min energy Bayesian fraction of missing      >= 0.3
                       information over chains
tree depth             share of draws at the maximum tree depth     <= 0.01
=====================  ===========================================  ========================
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from bayessa.checks.convergence import parameter_table
from bayessa.posterior.predict import model_variables

__all__ = ["Diagnostics", "check"]


@dataclass(frozen=True)
class Diagnostics:
    """Summary of the convergence checks; ``passed`` is True when every check passes.

    Parameters
    ----------
    max_rhat, min_ess_bulk, min_ess_tail : float
        Largest rank-normalised split R-hat; smallest bulk and tail ESS.
    divergences : int
        Divergent transitions after warm-up.
    min_bfmi, max_treedepth_share : float
        Smallest E-BFMI of a chain (NaN without energy); share of draws at the maximum tree depth.
    n_samples : int
        Posterior draws over all chains.
    passed : bool
        Whether every check passed.
    failures : list of str
        One line per failed check: what failed, where, what it means and what to try.
    thresholds : dict
        The thresholds used, by :func:`check`'s keyword names.
    max_mcse_ratio : float
        Largest MCSE of a posterior mean relative to the posterior sd.
    max_mcse_quantile_ratio : float
        Largest MCSE of a 2.5% or 97.5% quantile (the interval limits) relative to the sd.
    worst : dict
        Check -> the parameter (element) with the worst value, e.g. ``"beta[leader[...]]"``.
    checks : list of dict
        One row per check: ``check``, ``value``, ``threshold``, ``passed``, ``parameter``,
        ``meaning``, ``advice`` (the report's table).
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    min_bfmi: float
    max_treedepth_share: float
    n_samples: int
    passed: bool
    failures: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    max_mcse_ratio: float = float("nan")
    max_mcse_quantile_ratio: float = float("nan")
    worst: dict[str, str] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The gate as plain JSON-ready values (``diagnostics.json``).

        Returns
        -------
        dict
            Every field, as :func:`dataclasses.asdict` gives it.
        """
        return asdict(self)


def _extreme(values, pick) -> tuple[float, str]:
    """Largest (``pick=np.nanargmax``) or smallest finite value of a labelled series, and where."""
    vals = np.asarray(values, dtype=float)
    finite = np.isfinite(vals)
    if not finite.any():
        return float("nan"), ""
    i = int(pick(np.where(finite, vals, np.nan)))
    return float(vals[i]), str(values.index[i])


def _advice(dt, worst: dict[str, str], ess_b: float, rhat: float, min_ess: float) -> dict:
    """Advice per check (:func:`bayessa.checks.advice.advise`) from the run's model and spec."""
    import tomllib

    from bayessa.checks.advice import advise

    info = json.loads(dt.attrs.get("bayessa_model_info", "{}"))
    sampler = tomllib.loads(dt.attrs.get("bayessa_spec", "")).get("sampler", {})
    post = dt["posterior"].dataset
    return advise(
        info, worst, chains=int(post.sizes["chain"]), draws=int(post.sizes["draw"]),
        min_ess_bulk=ess_b, max_rhat=rhat, min_ess=min_ess,
        target_accept=sampler.get("target_accept"),
    )  # fmt: skip


_MEANING = {
    "R-hat": "the chains disagree: they have not converged to the same distribution",
    "bulk ESS": "too few effective draws: posterior means and medians are imprecise",
    "tail ESS": "too few effective draws in the tails: 95% interval limits are imprecise",
    "MCSE": "Monte Carlo error of posterior means is large relative to the posterior spread",
    "MCSE (2.5%/97.5%)": "Monte Carlo error of the 95% interval limits is large relative to "
    "the posterior spread",
    "divergences": "the sampler hit regions of high curvature (e.g. a funnel); the posterior "
    "may be biased there",
    "E-BFMI": "the momentum resampling explores the energy poorly (heavy tails or a funnel)",
    "tree depth": "trajectories hit the maximum tree depth: the posterior is badly scaled or "
    "strongly correlated, and sampling is slow",
}


def check(
    dt,
    *,
    var_names: Sequence[str] | None = None,
    max_rhat: float = 1.01,
    min_ess: float = 400.0,
    max_mcse_ratio: float = 0.1,
    max_mcse_quantile_ratio: float = 0.2,
    max_divergences: int = 0,
    min_bfmi: float = 0.3,
    max_treedepth_share: float = 0.01,
    table=None,
) -> Diagnostics:
    r"""Run the convergence gate on a DataTree with ``posterior`` and ``sample_stats``.

    Parameters
    ----------
    dt : xarray.DataTree
        A fitted run's tree.
    var_names : sequence of str, optional
        Variables to check; default: every model parameter (:func:`bayessa.posterior.predict.model_variables`).
    max_rhat : float, default 1.01
        Largest acceptable rank-normalised split R-hat.
    min_ess : float, default 400
        Smallest acceptable bulk and tail effective sample size.
    max_mcse_ratio : float, default 0.1
        Largest acceptable Monte Carlo standard error of a posterior mean relative to the
        posterior sd (:math:`\mathrm{MCSE}/\mathrm{sd} = 1/\sqrt{\mathrm{ESS}}`, so 0.1
        is an ESS of 100 for the mean): reported means are stable to a tenth of the spread.
    max_mcse_quantile_ratio : float, default 0.2
        The same for the 2.5% and 97.5% quantiles, the limits of the reported 95% intervals.
        Tail quantiles are estimated less precisely: for a normal posterior the ratio is
        :math:`\sqrt{p(1-p)/\mathrm{ESS}}/\phi(z_p) \approx 2.7/\sqrt{\mathrm{ESS}}`,
        0.13 at an ESS of 400, so 0.2 corresponds to a tail ESS of about 180.
    max_divergences : int, default 0
        Divergent transitions allowed after warm-up.
    min_bfmi : float, default 0.3
        Smallest acceptable E-BFMI of any chain.
    max_treedepth_share : float, default 0.01
        Largest acceptable share of draws that hit the maximum tree depth.
    table : pandas.DataFrame, optional
        The statistics of :func:`bayessa.checks.convergence.parameter_table` for ``var_names``,
        if already computed (a fit's summary); default: computed here.

    Returns
    -------
    Diagnostics
        ``passed`` is False when any check fails; ``failures`` says which and what to try.
    """
    post = dt["posterior"].dataset
    names = list(var_names) if var_names is not None else model_variables(post)
    if table is None:
        table = parameter_table(post, names)
    worst = _chain_statistics(table)
    (rhat, rhat_at), (ess_b, ess_b_at), (ess_t, ess_t_at) = worst[:3]
    (mcse_m, mcse_m_at), (mcse_q, mcse_q_at) = worst[3:]
    div, bfmi, depth_share = _sampler_statistics(dt)
    rows = [
        ("R-hat", rhat, max_rhat, rhat <= max_rhat, rhat_at, f"max R-hat {rhat:.3f}"),
        ("bulk ESS", ess_b, min_ess, ess_b >= min_ess, ess_b_at, f"min bulk ESS {ess_b:.0f}"),
        ("tail ESS", ess_t, min_ess, ess_t >= min_ess, ess_t_at, f"min tail ESS {ess_t:.0f}"),
        ("MCSE", mcse_m, max_mcse_ratio, not mcse_m > max_mcse_ratio, mcse_m_at,
         f"max MCSE/sd of a posterior mean {mcse_m:.3f}"),
        ("MCSE (2.5%/97.5%)", mcse_q, max_mcse_quantile_ratio,
         not mcse_q > max_mcse_quantile_ratio, mcse_q_at,
         f"max MCSE/sd of a 2.5% or 97.5% quantile {mcse_q:.3f}"),
        ("divergences", div, max_divergences, div <= max_divergences, "",
         f"{div} divergent transition{'s' if div != 1 else ''}"),
        ("E-BFMI", bfmi, min_bfmi, not bfmi < min_bfmi, "", f"min E-BFMI {bfmi:.2f}"),
        ("tree depth", depth_share, max_treedepth_share, depth_share <= max_treedepth_share, "",
         f"{100 * depth_share:.1f}% of draws at the maximum tree depth"),
    ]  # fmt: skip
    worst_at = {
        "rhat": rhat_at, "ess_bulk": ess_b_at, "ess_tail": ess_t_at, "mcse": mcse_m_at,
        "mcse_quantile": mcse_q_at,
    }  # fmt: skip
    checks, fail = _judge(rows, _advice(dt, worst_at, ess_b, rhat, min_ess))
    thresholds = dict(
        max_rhat=max_rhat,
        min_ess=min_ess,
        max_mcse_ratio=max_mcse_ratio,
        max_mcse_quantile_ratio=max_mcse_quantile_ratio,
        max_divergences=max_divergences,
        min_bfmi=min_bfmi,
        max_treedepth_share=max_treedepth_share,
    )
    return Diagnostics(
        max_rhat=rhat,
        min_ess_bulk=ess_b,
        min_ess_tail=ess_t,
        divergences=div,
        min_bfmi=bfmi,
        max_treedepth_share=depth_share,
        n_samples=int(post.sizes["chain"] * post.sizes["draw"]),
        passed=not fail,
        failures=fail,
        thresholds=thresholds,
        max_mcse_ratio=mcse_m,
        max_mcse_quantile_ratio=mcse_q,
        worst=worst_at,
        checks=checks,
    )


def _chain_statistics(table) -> list[tuple[float, str]]:
    """Worst value and where: max R-hat, min bulk and tail ESS, max MCSE/sd (mean; 2.5%/97.5%).

    Constant elements (e.g. a parameter fixed in every draw) have no R-hat, ESS or MCSE (NaN)
    and are ignored.
    """
    sd = table["sd"].where(table["sd"] > 0)
    quantile = np.fmax(table["mcse_q025"], table["mcse_q975"]) / sd
    return [
        _extreme(table["r_hat"], np.nanargmax),
        _extreme(table["ess_bulk"], np.nanargmin),
        _extreme(table["ess_tail"], np.nanargmin),
        _extreme(table["mcse_mean"] / sd, np.nanargmax),
        _extreme(quantile, np.nanargmax),
    ]


def _sampler_statistics(dt) -> tuple[int, float, float]:
    """Divergences, min E-BFMI over chains and the share of draws at the maximum tree depth."""
    from arviz_stats.base import array_stats

    stats = dt["sample_stats"].dataset if "sample_stats" in dt.children else None
    has = lambda v: stats is not None and v in stats  # noqa: E731
    div = int(stats["diverging"].sum()) if has("diverging") else 0
    bfmi = float("nan")
    if has("energy"):
        energy = stats["energy"].transpose("chain", "draw").to_numpy()
        bfmi = float(np.min(array_stats.bfmi(energy)))
    depth_share = 0.0
    for v in ("maxdepth_reached", "reached_max_treedepth"):
        if has(v):
            depth_share = float(stats[v].mean())
            break
    return div, bfmi, depth_share


def _judge(rows, advice: dict[str, str]) -> tuple[list[dict], list[str]]:
    """One record per check, and one line per failure: what, where, what it means, what to try."""
    checks, fail = [], []
    for name, value, threshold, ok, at, what in rows:
        ok = bool(ok)
        checks.append(
            {
                "check": name,
                "value": float(value),
                "threshold": float(threshold),
                "passed": ok,
                "parameter": at,
                "meaning": _MEANING[name],
                "advice": advice[name],
            }
        )
        if not ok:
            where = f" (worst: {at})" if at else ""
            fail.append(f"{what}{where}: {_MEANING[name]}. Try: {advice[name]}")
    return checks, fail
