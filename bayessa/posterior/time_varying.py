r"""Hazard ratios by age interval for coefficients with time-varying effects.

A coefficient :math:`j` named in ``time_varying`` has a deviation :math:`\delta_{j,k}` in each
age interval :math:`k`, summing to zero over the intervals (:mod:`bayessa.model.pem`), so its
log hazard ratio in interval :math:`k` is

.. math::

    \log \mathrm{HR}_{j,k} = \beta_j + \delta_{j,k},

and :math:`\beta_j`, what :meth:`bayessa.api.result.FitResult.hazard_ratios` reports, is their
unweighted average over the intervals. :func:`interval_hazard_ratios` summarises the posterior
of every :math:`\mathrm{HR}_{j,k}`: median, equal-tailed interval and
:math:`P(\mathrm{HR}_{j,k} > 1)`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["INTERVAL_HR_COLUMNS", "interval_hazard_ratios"]

#: The columns of :func:`interval_hazard_ratios`.
INTERVAL_HR_COLUMNS = [
    "coef", "interval", "start", "end", "log_hr_mean", "log_hr_sd", "hr_median", "hr_lower",
    "hr_upper", "p_hr_gt_1",
]  # fmt: skip


def interval_hazard_ratios(posterior, cuts, *, ci_prob: float = 0.95) -> pd.DataFrame:
    """Posterior hazard ratio of each time-varying coefficient in each age interval.

    Parameters
    ----------
    posterior : xarray.Dataset
        With ``beta`` (chain, draw, coef) and ``tv_delta`` (chain, draw, tv_coef, interval).
    cuts : sequence of float
        The cut points (``len(interval) + 1`` of them; the last may be ``inf``).
    ci_prob : float, default 0.95
        Probability of the equal-tailed interval.

    Returns
    -------
    pandas.DataFrame
        One row per (coefficient, interval), in interval order within each coefficient; columns
        :data:`INTERVAL_HR_COLUMNS` (``start``/``end`` are the interval's cut points). Empty
        when the model has no time-varying effects.
    """
    if "tv_delta" not in posterior or "beta" not in posterior:
        return pd.DataFrame(columns=INTERVAL_HR_COLUMNS)
    cuts = np.asarray(cuts, dtype=float)
    intervals = [str(k) for k in posterior["interval"].values]
    if len(cuts) != len(intervals) + 1:
        raise ValueError(f"{len(intervals)} intervals need {len(intervals) + 1} cut points")
    stacked = ("chain", "draw")
    beta = posterior["beta"]
    rows = []
    a = (1 - ci_prob) / 2
    for name in posterior["tv_coef"].values:
        b = beta.sel(coef=name).stack(sample=stacked).to_numpy()  # (S,)
        d = (
            posterior["tv_delta"]
            .sel(tv_coef=name)
            .stack(sample=stacked)
            .transpose("interval", "sample")
            .to_numpy()
        )  # (K, S)
        log_hr = b[None, :] + d
        q = np.quantile(log_hr, [a, 0.5, 1 - a], axis=1)
        for k, label in enumerate(intervals):
            rows.append(
                {
                    "coef": str(name),
                    "interval": label,
                    "start": cuts[k],
                    "end": cuts[k + 1],
                    "log_hr_mean": log_hr[k].mean(),
                    "log_hr_sd": log_hr[k].std(ddof=1) if log_hr.shape[1] > 1 else np.nan,
                    "hr_median": np.exp(q[1, k]),
                    "hr_lower": np.exp(q[0, k]),
                    "hr_upper": np.exp(q[2, k]),
                    "p_hr_gt_1": (log_hr[k] > 0).mean(),
                }
            )
    return pd.DataFrame(rows, columns=INTERVAL_HR_COLUMNS)
