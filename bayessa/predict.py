"""Posterior quantities computed from the posterior draws (never by re-running the sampler).

Everything here reads only the posterior (an ``xarray.Dataset`` with ``chain`` and ``draw`` dims),
so it can be tested on a fake posterior.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

__all__ = ["log_rate"]


def _draws(posterior: xr.Dataset, name: str) -> np.ndarray:
    """(chain * draw, ...) array of a posterior variable."""
    v = posterior[name].transpose("chain", "draw", ...).to_numpy()
    return v.reshape(-1, *v.shape[2:])


def log_rate(
    posterior: xr.Dataset,
    *,
    interval: np.ndarray,
    X: np.ndarray,
    stratum: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
    tv_columns: Sequence[int] = (),
) -> np.ndarray:
    """Posterior draws of the log hazard for rows (cells or covariate profiles).

    .. math::

        \\log \\lambda_r = \\alpha_{s(r), k(r)} + x_r^\\top \\beta
            + \\sum_j x_{r, j} \\delta_{j, k(r)} + u_{g(r)}

    Parameters
    ----------
    posterior : xarray.Dataset
        With ``baseline`` and, where the model has them, ``beta``, ``tv_delta``,
        ``cluster_effect``.
    interval : (n,) int
        Age-interval index of each row.
    X : (n, p) float
        Fixed-effect rows (:meth:`bayessa.design.Design.transform`).
    stratum : (n,) int, optional
        Baseline stratum of each row (stratified models).
    cluster : (n,) int, optional
        Cluster of each row; ``None`` gives the log hazard at :math:`u = 0` (a cluster of
        average effect, which is the mean cluster since the effects sum to zero).
    tv_columns : sequence of int
        Columns of ``X`` that carry time-varying deviations, in the order of ``tv_coef``.

    Returns
    -------
    (n_samples, n) float64, samples = chain x draw flattened.
    """
    base = _draws(posterior, "baseline")
    eta = base[:, stratum, interval] if stratum is not None else base[:, interval]
    if "beta" in posterior and X.shape[1]:
        eta = eta + _draws(posterior, "beta") @ X.T
    if len(tv_columns):
        delta = _draws(posterior, "tv_delta")  # (S, tv, K)
        eta = eta + np.einsum("rj,sjr->sr", X[:, list(tv_columns)], delta[:, :, interval])
    if cluster is not None and "cluster_effect" in posterior:
        eta = eta + _draws(posterior, "cluster_effect")[:, cluster]
    return eta
