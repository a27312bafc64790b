r"""Reach: how many units were active, and in how many clusters, over calendar time.

**Observed** (:func:`observed_reach`). At date :math:`d` a unit founded at :math:`f_i \le d` is

* *known active* if it was seen active at or after :math:`d` (its exit -- closure or last
  contact -- is after :math:`d`);
* *known closed* if it closed at or before :math:`d`;
* *unknown* if it was lost to follow-up (last seen at :math:`\ell_i < d` without a closure).

A lost unit counts with the probability that it was still active,
:math:`p_i(d) = \hat S(d - f_i) / \hat S(\ell_i - f_i)`, the Kaplan–Meier estimate (all units,
time since founding) of surviving to its age at :math:`d` given it survived to its age when last
seen -- loss to follow-up assumed independent of closing, as in the survival analysis. So

.. math::

    \hat A(d) = \#\{\text{known active}\} + \sum_{i\ \text{lost}} p_i(d), \qquad
    \hat C(d) = \sum_c \Bigl(1 - \prod_{i \in c} (1 - q_i(d))\Bigr),

with :math:`q_i = 1` for a known active unit, :math:`p_i(d)` for a lost one and 0 otherwise
(clusters treated as independent units' draws). The known-only counts are the lower bounds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayessa.data.columns import TIME_UNITS
from bayessa.frequentist.km import km_arrays
from bayessa.growth.tables import ExpansionData

__all__ = ["STEP_DAYS", "date_grid", "observed_reach"]

_YEAR = TIME_UNITS["years"]
_EPOCH = np.datetime64("1970-01-01", "D")
#: Days between reach dates (a month).
STEP_DAYS = _YEAR / 12


def date_grid(data: ExpansionData, step_days: float = STEP_DAYS) -> np.ndarray:
    """Reach dates: from the first founding day every ``step_days`` to the end of follow-up.

    Parameters
    ----------
    data : ExpansionData
    step_days : float
        Spacing (default a month, 365.25 / 12 days).

    Returns
    -------
    (D,) float64
        Days since 1970 (the last is the end of follow-up).
    """
    e = data.eras
    n = int(np.floor((e.end - e.first) / step_days))
    return e.first + step_days * np.arange(1, n + 1)


def _km_survival(data: ExpansionData):
    u = data.units
    age = np.maximum(u["exit"].to_numpy() - u["founded"].to_numpy(), 0.5) / _YEAR
    fit = km_arrays(age, u["closed"].to_numpy(), None)
    t, s = np.r_[0.0, fit["time"]], np.r_[1.0, fit["surv"]]

    def S(a: np.ndarray) -> np.ndarray:
        return s[np.searchsorted(t, a, side="right") - 1]

    return S


def observed_reach(data: ExpansionData, dates: np.ndarray | None = None) -> pd.DataFrame:
    """Active units and clusters with an active unit, observed, at each date.

    Parameters
    ----------
    data : ExpansionData
    dates : (D,) float, optional
        Days since 1970; default :func:`date_grid`.

    Returns
    -------
    pandas.DataFrame
        ``date`` (ISO), ``day``, ``active_known``, ``active`` (lost units weighted by their
        probability of still being active), ``clusters_known``, ``clusters``.
    """
    d = date_grid(data) if dates is None else np.asarray(dates, dtype=float)
    u = data.units
    f, x = u["founded"].to_numpy(float), u["exit"].to_numpy(float)
    lost = u["lost"].to_numpy()
    S = _km_survival(data)
    started = f[None, :] <= d[:, None]
    known = started & (x[None, :] > d[:, None])
    after_loss = started & lost[None, :] & (x[None, :] <= d[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        p = S((d[:, None] - f[None, :]) / _YEAR) / S((x - f) / _YEAR)[None, :]
    q = np.where(known, 1.0, np.where(after_loss, np.nan_to_num(p), 0.0))
    out = {
        "date": [str(_EPOCH + np.timedelta64(int(v), "D")) for v in d],
        "day": d,
        "active_known": known.sum(axis=1),
        "active": q.sum(axis=1),
    }
    if data.cluster is not None:
        codes = u[data.cluster].cat.codes.to_numpy()
        C = len(data.clusters)
        one = np.zeros((len(d), C), dtype=bool)
        log_none = np.zeros((len(d), C))
        for c in range(C):
            m = codes == c
            one[:, c] = known[:, m].any(axis=1)
            with np.errstate(divide="ignore"):
                log_none[:, c] = np.log1p(-np.minimum(q[:, m], 1.0)).sum(axis=1)
        out["clusters_known"] = one.sum(axis=1)
        out["clusters"] = (1.0 - np.exp(log_none)).sum(axis=1)
    return pd.DataFrame(out)
