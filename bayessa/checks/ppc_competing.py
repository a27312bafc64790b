r"""Predictive checks of competing risks: replicates that draw the cause, and the incidence check.

Each cause's fit gives the hazard of that cause for every unit along its follow-up
(:func:`bayessa.checks.ppc.draw_times`). A replicate draws a latent time :math:`T_{ij}` per cause
from paired posterior draws, takes the first, :math:`T_i = \min_j T_{ij}`, with cause
:math:`\arg\min_j T_{ij}`, and censors it as the unit was: at its observed exit when it had no
event of any cause, else at the administrative end of the study (the rule of
:mod:`bayessa.checks.ppc`). The Aalen–Johansen incidence of each replicate then gives a band that
the observed incidence should lie in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayessa._rng import as_generator
from bayessa.checks.ppc import _cluster_effects, draw_times, unit_layout
from bayessa.errors import SpecError
from bayessa.posterior.predict import thin
from bayessa.posterior.rundir import open_tree

__all__ = ["incidence_check", "replicate_causes"]


def replicate_causes(
    trees: Mapping[str, Any], *, n_draws: int | None = None, seed=None
) -> xr.Dataset:
    """Replicated exit times and causes of every unit, one replicate per paired posterior draw.

    Parameters
    ----------
    trees : mapping of str to run
        Each cause's run (FitResult, DataTree or run directory), in the causes' order.
    n_draws : int, optional
        About this many draws per cause (evenly spaced per chain); default all.
    seed : int or numpy.random.Generator, optional
        Seed of the exponential variates.

    Returns
    -------
    xarray.Dataset
        ``time`` and ``cause`` (0 censored, ``j`` the ``j``-th cause) along (sample, unit), the
        observed ``observed_time`` and ``observed_cause`` along unit; the causes in
        ``attrs["bayessa_causes"]``.
    """
    causes = list(trees)
    opened = {c: open_tree(t) for c, t in trees.items()}
    lays = {c: unit_layout(t) for c, t in opened.items()}
    first = lays[causes[0]]
    if any(not np.array_equal(lay.ids, first.ids) for lay in lays.values()):
        raise SpecError("the causes' runs do not hold the same units; fit them together")
    event_any = np.any([lay.event for lay in lays.values()], axis=0)
    exit_, origin, cuts = first.exit, first.origin, first.cuts
    if np.isfinite(origin).all():
        c_event = np.max(origin + exit_) - origin
    else:
        c_event = np.full(exit_.size, exit_.max())
    censor = np.minimum(np.where(event_any, c_event, exit_), cuts[-1])
    rng = as_generator(seed, allow_none=True)
    posts = {
        c: thin(t["posterior"].dataset, n_draws, method="per_chain") for c, t in opened.items()
    }
    S = min(p.sizes["chain"] * p.sizes["draw"] for p in posts.values())
    latent = []
    for c in causes:
        post = posts[c]
        u = _cluster_effects(post, "fitted", rng)
        t, hit = draw_times(post, lays[c], censor, u, rng)
        latent.append(np.where(hit == 1, t, np.inf)[:S])
    latent = np.stack(latent)  # (J, S, n)
    first_time = latent.min(axis=0)
    happened = np.isfinite(first_time)
    cause = np.where(happened, latent.argmin(axis=0) + 1, 0).astype(np.int8)
    time = np.where(happened, first_time, censor[None, :])
    dims = ("sample", "unit")
    observed = np.zeros(first.ids.size, dtype=np.int8)
    for j, c in enumerate(causes, start=1):
        observed[lays[c].event] = j
    return xr.Dataset(
        {
            "time": (dims, time),
            "cause": (dims, cause),
            "observed_time": ("unit", exit_),
            "observed_cause": ("unit", observed),
        },
        coords={"sample": np.arange(S), "unit": first.ids},
        attrs={"bayessa_causes": list(causes)},
    )


def _step(table: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """An incidence table (one cause) as a step function on ``grid``."""
    t, f = table["time"].to_numpy(), table["cif"].to_numpy()
    at = np.searchsorted(t, grid, side="right") - 1
    return np.where(at >= 0, f[np.maximum(at, 0)], 0.0)


def incidence_check(
    trees: Mapping[str, Any],
    *,
    n_replicates: int = 100,
    seed: int = 0,
    grid: np.ndarray | None = None,
    prob: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Observed Aalen–Johansen incidence of each cause and the band of its replicates.

    Parameters
    ----------
    trees : mapping of str to run
        Each cause's run, in the causes' order.
    n_replicates : int, default 100
        Replicates (paired posterior draws).
    seed : int, default 0
        Seed.
    grid : (T,) float, optional
        Times of the band; default 60 points over the observed follow-up.
    prob : float, default 0.95
        Probability of the pointwise band.

    Returns
    -------
    observed : DataFrame
        ``cause``, ``time``, ``cif`` on the grid.
    band : DataFrame
        ``cause``, ``time``, ``median``, ``lower``, ``upper`` of the replicates.
    """
    from bayessa.frequentist.cuminc import cumulative_incidence

    causes = list(trees)
    rep = replicate_causes(trees, n_draws=n_replicates, seed=seed)
    obs_time, obs_cause = rep["observed_time"].values, rep["observed_cause"].values
    grid = np.linspace(0, obs_time.max(), 61)[1:] if grid is None else np.asarray(grid)

    def curves(time, cause):
        df = pd.DataFrame({"time": time, "cause": cause})
        if not (df["cause"] > 0).any():
            return np.zeros((len(causes), grid.size))
        aj = cumulative_incidence(df, time="time", event="cause", censor_value=0)
        return np.stack([_step(aj[aj["cause"] == j], grid) for j in range(1, len(causes) + 1)])

    observed = curves(obs_time, obs_cause)
    reps = np.stack([curves(rep["time"].values[s], rep["cause"].values[s])
                     for s in range(rep.sizes["sample"])])  # fmt: skip
    lo, hi = np.quantile(reps, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    med = np.median(reps, axis=0)
    obs_rows, band_rows = [], []
    for j, c in enumerate(causes):
        obs_rows.append(pd.DataFrame({"cause": c, "time": grid, "cif": observed[j]}))
        band_rows.append(pd.DataFrame({"cause": c, "time": grid, "median": med[j],
                                       "lower": lo[j], "upper": hi[j]}))  # fmt: skip
    return pd.concat(obs_rows, ignore_index=True), pd.concat(band_rows, ignore_index=True)
