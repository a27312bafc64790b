"""Sampling to an ESS target: add chains until the minimum bulk ESS and R-hat hold, with a cap.

With ``[sampler] ess = 1000`` (``--ess 1000``), after the first ``chains`` chains the pooled
draws are checked: if the smallest bulk ESS over the model's parameters is below the target, or
the largest R-hat above 1.01, another ``chains`` chains are run with a seed derived from the
spec's seed and the round, and pooled with the others; this repeats until both hold or
``max_chains`` would be exceeded. Every chain is a complete, independently initialised and tuned
NUTS run, so pooling them is the ordinary multi-chain estimate (R-hat is computed over all of
them). Why adding chains rather than lengthening them, and why not a better parameterisation of
the county SD, is measured in ``docs/decisions.md``: the county SD's ESS per draw varied between
seeds around the target whatever the adaptation or tuning length, and nutpie cannot extend a
finished chain; a second round of chains starts from a compiled model already in memory.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

__all__ = ["MAX_RHAT", "round_seed", "sample_to_target"]

#: The R-hat the target also requires (the gate's default threshold).
MAX_RHAT = 1.01


def round_seed(seed: int, round_: int) -> int:
    """The seed of the ``round_``-th extra set of chains (round 0 is the spec's seed).

    Parameters
    ----------
    seed : int
        The spec's seed.
    round_ : int
        0 for the first chains, 1, 2, ... for each added set.

    Returns
    -------
    int
        A 32-bit seed from ``SeedSequence([seed, round_])`` (the spec's seed for round 0).
    """
    if round_ == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), round_]).generate_state(1)[0])


def _pool(a, b):
    """Chains of ``a`` then ``b`` (posterior and sample stats), renumbered."""
    import xarray as xr

    out = {}
    for group in ("posterior", "sample_stats"):
        x, y = a[group].dataset, b[group].dataset
        y = y.assign_coords(chain=np.arange(x.sizes["chain"], x.sizes["chain"] + y.sizes["chain"]))
        out[group] = xr.concat([x, y], dim="chain", data_vars="all", coords="minimal")
    return xr.DataTree.from_dict(out)


def _check(dt, timings: dict) -> tuple[Any, float, float, str]:
    """The pooled chains' statistics, their worst ESS and R-hat; timed as ``summary_s``."""
    from bayessa.checks.convergence import parameter_table
    from bayessa.posterior.predict import model_variables

    t = time.perf_counter()
    post = dt["posterior"].dataset
    table = parameter_table(post, model_variables(post))
    timings["summary_s"] = timings.get("summary_s", 0.0) + time.perf_counter() - t
    ess = table["ess_bulk"].min()
    rhat = table["r_hat"].max()
    worst = str(table["ess_bulk"].idxmin()) if np.isfinite(ess) else ""
    return table, float(ess), float(rhat), worst


def sample_to_target(dt, draw_more, sampler, timings: dict) -> tuple[Any, Any, list[dict]]:
    """Pool more chains into ``dt`` until the ESS target and R-hat hold (or the cap).

    Parameters
    ----------
    dt : xarray.DataTree
        The first chains (``posterior``, ``sample_stats``).
    draw_more : callable
        ``draw_more(settings, timings) -> DataTree``: sample ``settings.chains`` chains.
    sampler : SamplerSpec
        ``ess`` (the target; 0: return at once), ``chains``, ``max_chains``, ``seed``.
    timings : dict
        ``sample_s`` and ``compile_s`` are increased by each round's, ``summary_s`` by the
        time of the checks' statistics.

    Returns
    -------
    dt : xarray.DataTree
        All chains.
    table : pandas.DataFrame or None
        :func:`bayessa.checks.convergence.parameter_table` of the pooled chains (None without
        a target).
    rounds : list of dict
        Per round: ``chains`` (pooled so far), ``seed``, ``min_ess_bulk``, ``parameter``,
        ``max_rhat``.
    """
    if not sampler.ess:
        return dt, None, []
    table, ess, rhat, worst = _check(dt, timings)
    rounds = [dict(chains=sampler.chains, seed=sampler.seed, min_ess_bulk=ess, parameter=worst,
                   max_rhat=rhat)]  # fmt: skip
    n_chains = sampler.chains
    while (ess < sampler.ess or not rhat <= MAX_RHAT) and n_chains + sampler.chains <= (
        sampler.max_chains
    ):
        seed = round_seed(sampler.seed, len(rounds))
        more: dict[str, Any] = {}
        dt = _pool(dt, draw_more(replace(sampler, seed=seed), more))
        for k in ("sample_s", "compile_s"):
            timings[k] = timings.get(k, 0.0) + more.get(k, 0.0)
        n_chains += sampler.chains
        table, ess, rhat, worst = _check(dt, timings)
        rounds.append(
            dict(chains=n_chains, seed=seed, min_ess_bulk=ess, parameter=worst, max_rhat=rhat)
        )
    return dt, table, rounds
