r"""The curve of a smooth effect ``s(x)``: its log hazard ratio against the reference value.

For a smooth of column :math:`x` with basis coefficients :math:`b` (:mod:`bayessa.model.smooth`),
each posterior draw gives

.. math::

    \log \mathrm{HR}(x) = f(x) - f(r) = \sum_j b_j \bigl(B_j(x) - B_j(r)\bigr),

evaluated on an even grid over the range the spline was fitted on (no extrapolation). The table
holds its posterior median, equal-tailed interval and :math:`P(\mathrm{HR}(x) > 1)` at each grid
point; :math:`x = r` is on the grid, where the HR is exactly 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayessa.errors import SpecError
from bayessa.model.smooth import smooth_groups
from bayessa.posterior.predict import DesignInfo, draws

__all__ = ["SMOOTH_COLUMNS", "smooth_columns", "smooth_table"]

#: Columns of :func:`smooth_table`.
SMOOTH_COLUMNS = (
    "variable", "x", "log_hr_median", "log_hr_lower", "log_hr_upper",
    "hr_median", "hr_lower", "hr_upper", "p_hr_gt_1", "reference",
)  # fmt: skip


def smooth_columns(info: DesignInfo) -> list[str]:
    """The columns that enter the model through a smooth ``s(x)``, in formula order.

    Parameters
    ----------
    info : DesignInfo

    Returns
    -------
    list of str
    """
    groups = smooth_groups(info.numeric, info.coef_levels)
    return [v for v in info.variables if v in groups]


def smooth_table(dt, column: str, *, ci_prob: float = 0.95, n_grid: int = 101) -> pd.DataFrame:
    """The posterior log hazard ratio of ``s(column)`` on a grid, against its reference value.

    Parameters
    ----------
    dt : xarray.DataTree
        A run's DataTree.
    column : str
        The smoothed column, e.g. ``"age"``.
    ci_prob : float, default 0.95
        Probability of the equal-tailed interval.
    n_grid : int, default 101
        Grid points over the fitted range (the reference value is added).

    Returns
    -------
    pandas.DataFrame
        :data:`SMOOTH_COLUMNS`, one row per grid point.

    Raises
    ------
    SpecError
        ``column`` has no smooth in the model.
    """
    info = DesignInfo.from_datatree(dt)
    groups = smooth_groups(info.numeric, info.coef_levels)
    if column not in groups:
        have = ", ".join(f"s({c})" for c in groups) or "none"
        raise SpecError(f"'{column}' has no smooth s({column}) in the model; smooths: {have}")
    idx = groups[column]
    terms = [info.numeric[info.coef_levels[j][0][0]] for j in idx]
    lo, hi, ref = terms[0].knots[0], terms[0].knots[-1], terms[0].reference
    x = np.union1d(np.linspace(lo, hi, n_grid), [ref])
    W = np.column_stack([t.values(x) - t.values(np.array([ref]))[0] for t in terms])
    lhr = draws(dt["posterior"].dataset, "beta")[:, idx] @ W.T  # (samples, grid)
    a = (1 - ci_prob) / 2
    q = np.quantile(lhr, [a, 0.5, 1 - a], axis=0)
    return pd.DataFrame(
        {
            "variable": column,
            "x": x,
            "log_hr_median": q[1],
            "log_hr_lower": q[0],
            "log_hr_upper": q[2],
            "hr_median": np.exp(q[1]),
            "hr_lower": np.exp(q[0]),
            "hr_upper": np.exp(q[2]),
            "p_hr_gt_1": (lhr > 0).mean(axis=0),
            "reference": ref,
        }
    )
