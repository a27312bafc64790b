"""Convergence gate: R-hat, ESS, divergences, E-BFMI, tree depth -> :class:`Diagnostics`.

Thresholds are keyword-only with documented defaults (Vehtari et al. 2021 for R-hat and ESS;
Betancourt 2017 for E-BFMI). The gate returns data and never prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["Diagnostics", "check", "model_variables"]

# Sampler-internal reparameterisation variables: not parameters a user reads, excluded from the gate.
_INTERNAL = ("_z",)


def model_variables(posterior) -> list[str]:
    """Posterior variables that are model parameters (not the non-centred ``*_z`` helpers)."""
    return [v for v in posterior.data_vars if not str(v).endswith(_INTERNAL)]


@dataclass(frozen=True)
class Diagnostics:
    """Summary of the convergence checks; ``passed`` is True when every check passes."""

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

    def to_dict(self) -> dict:
        return asdict(self)


def check(
    dt,
    *,
    var_names: Sequence[str] | None = None,
    max_rhat: float = 1.01,
    min_ess: float = 400.0,
    max_divergences: int = 0,
    min_bfmi: float = 0.3,
    max_treedepth_share: float = 0.01,
) -> Diagnostics:
    """Run the convergence gate on a DataTree with ``posterior`` and ``sample_stats``.

    Parameters
    ----------
    dt : xarray.DataTree
    var_names : sequence of str, optional
        Variables to check; default: every model parameter (:func:`model_variables`).
    max_rhat : float, default 1.01
        Largest acceptable rank-normalised split R-hat.
    min_ess : float, default 400
        Smallest acceptable bulk and tail effective sample size.
    max_divergences : int, default 0
        Divergent transitions allowed after warm-up.
    min_bfmi : float, default 0.3
        Smallest acceptable E-BFMI of any chain.
    max_treedepth_share : float, default 0.01
        Largest acceptable share of draws that hit the maximum tree depth.
    """
    import arviz as az

    post = dt["posterior"].dataset
    names = list(var_names) if var_names is not None else model_variables(post)
    rhat = az.rhat(dt, var_names=names)
    ess_b = az.ess(dt, var_names=names, method="bulk")
    ess_t = az.ess(dt, var_names=names, method="tail")

    def extreme(ds, fn) -> float:
        vals = [float(fn(ds[v].to_numpy())) for v in ds.data_vars if ds[v].size]
        vals = [v for v in vals if np.isfinite(v)]
        return float(fn(np.array(vals))) if vals else float("nan")

    stats = dt["sample_stats"].dataset
    div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    bfmi = float(np.min(az.bfmi(dt)["energy"].to_numpy())) if "energy" in stats else float("nan")
    depth_share = 0.0
    if "maxdepth_reached" in stats:
        depth_share = float(stats["maxdepth_reached"].mean())
    elif "reached_max_treedepth" in stats:
        depth_share = float(stats["reached_max_treedepth"].mean())
    d = dict(
        max_rhat=extreme(rhat, np.max),
        min_ess_bulk=extreme(ess_b, np.min),
        min_ess_tail=extreme(ess_t, np.min),
        divergences=div,
        min_bfmi=bfmi,
        max_treedepth_share=depth_share,
    )
    fail = []
    if not d["max_rhat"] <= max_rhat:
        fail.append(
            f"max R-hat {d['max_rhat']:.3f} > {max_rhat}: chains disagree; run longer (more tune/draws) or reparameterise"
        )
    if not d["min_ess_bulk"] >= min_ess:
        fail.append(
            f"min bulk ESS {d['min_ess_bulk']:.0f} < {min_ess:g}: draw more samples or improve mixing"
        )
    if not d["min_ess_tail"] >= min_ess:
        fail.append(
            f"min tail ESS {d['min_ess_tail']:.0f} < {min_ess:g}: intervals are unreliable; draw more samples"
        )
    if d["divergences"] > max_divergences:
        fail.append(
            f"{d['divergences']} divergent transitions: raise target_accept (e.g. 0.95) or switch the cluster parameterisation"
        )
    if np.isfinite(bfmi) and bfmi < min_bfmi:
        fail.append(
            f"E-BFMI {bfmi:.2f} < {min_bfmi}: the sampler explores the energy poorly; reparameterise or tighten priors on SDs"
        )
    if depth_share > max_treedepth_share:
        fail.append(
            f"{100 * depth_share:.1f}% of draws hit the maximum tree depth: the posterior is badly scaled or very correlated"
        )
    n = int(post.sizes["chain"] * post.sizes["draw"])
    thresholds = dict(
        max_rhat=max_rhat,
        min_ess=min_ess,
        max_divergences=max_divergences,
        min_bfmi=min_bfmi,
        max_treedepth_share=max_treedepth_share,
    )
    return Diagnostics(**d, n_samples=n, passed=not fail, failures=fail, thresholds=thresholds)
