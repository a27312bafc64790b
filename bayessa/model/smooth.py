r"""Smooth effects ``s(x)``: a penalised cubic B-spline on the log-hazard scale (a P-spline).

For a numeric column :math:`x` observed on :math:`[l, h]` (over the units), with
:math:`u = (x - l)/(h - l)` and ``k`` cubic B-splines :math:`B_1, \dots, B_k` on equally spaced
knots (spacing :math:`\Delta = 1/(k - 3)` in :math:`u`), the smooth is

.. math::

    f(x) = \sum_{j=2}^{k} b_j \bigl(B_j(x) - B_j(r)\bigr),

the log hazard ratio against the reference value :math:`r` (the units' median unless the spec's
``reference`` gives one), so :math:`f(r) = 0` and the baseline stays the hazard at :math:`r`. The
B-splines sum to one, so a constant in :math:`b` is not identified: :math:`b_1 = 0`. The
coefficients follow a second-order random walk (Eilers and Marx's P-spline penalty, as R-INLA's
``rw2`` and the baseline's), written as an integrated walk of the slope so that its linear part
has a proper prior:

.. math::

    b_{j+1} = b_j + \gamma_j \Delta, \qquad \gamma_1 \sim p_{\text{effects}}, \qquad
    \gamma_{j} = \gamma_{j-1} + \sigma_s \sqrt{\Delta}\, z_j, \quad z_j \sim N(0, 1),

with :math:`\sigma_s \sim p_{\text{smooth\_sd}}` (default half-normal(1)). :math:`\gamma` is a
slope per range of :math:`x` (a change of the log hazard across the whole observed range), so the
priors mean the same whatever the unit of :math:`x` and whatever ``k``: as :math:`\sigma_s \to 0`
the smooth becomes a straight line with the ``effects`` prior on its change over the range.

In the design each basis function :math:`B_j - B_j(r)` is a numeric column (component
``s(x)[j]``), so predictions, the per-unit likelihood and predictive checks need nothing new; the
model gives those coefficients this prior instead of the ``effects`` prior.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bayessa.model.numeric import NumericTerm, knot_vector

__all__ = [
    "DEFAULT_K",
    "MAX_K",
    "MIN_K",
    "smooth_basis_terms",
    "smooth_coefficients",
    "smooth_groups",
]

#: Basis functions of ``s(x)`` when ``k`` is not given (as mgcv's default).
DEFAULT_K = 10
#: The fewest and most basis functions allowed.
MIN_K, MAX_K = 4, 40
_DEGREE = 3  # cubic, as bayessa.model.numeric's bspline_column


def smooth_basis_terms(
    name: str, column: str, k: int, x_units: np.ndarray, reference: float
) -> list[NumericTerm]:
    """The numeric components ``s(x)[2]`` ... ``s(x)[k]`` of a smooth (:math:`b_1 = 0`).

    Parameters
    ----------
    name : str
        ``"s(age)"``.
    column : str
        ``"age"``.
    k : int
        Number of basis functions.
    x_units : array_like
        The column over the units: its range places the knots.
    reference : float
        The reference value :math:`r`.

    Returns
    -------
    list of NumericTerm
    """
    x = np.asarray(x_units, dtype=np.float64)
    knots = knot_vector(float(x.min()), float(x.max()), k)
    mean, sd = float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else 0.0
    return [
        NumericTerm(f"{name}[{j + 1}]", column, "bspline", mean, sd, reference, knots, j)
        for j in range(1, k)
    ]


def smooth_groups(numeric: Mapping[str, NumericTerm], coef_levels) -> dict[str, list[int]]:
    """Column -> indices of its smooth's coefficients (in basis order), from a design's coding.

    Parameters
    ----------
    numeric : mapping of str to NumericTerm
    coef_levels : sequence
        Each coefficient's ``(component, level)`` pairs.

    Returns
    -------
    dict of str to list of int
    """
    out: dict[str, list[int]] = {}
    for j, combo in enumerate(coef_levels):
        if len(combo) == 1 and combo[0][1] is None:
            t = numeric.get(combo[0][0])
            if t is not None and t.transform == "bspline":
                out.setdefault(t.column, []).append(j)
    return out


def smooth_coefficients(column: str, k: int, sd_prior, slope_prior, form: str = "noncentered"):
    r"""The coefficients :math:`b_2, \dots, b_k` of one smooth, as a PyTensor vector.

    Creates ``s_<column>_sd`` (:math:`\sigma_s`), ``s_<column>_slope`` (:math:`\gamma_1`) and
    ``s_<column>_z`` or ``s_<column>_step`` (the steps) in the current PyMC model; the coefficients become
    part of ``beta`` (``beta[s(x)[j]]``).

    Parameters
    ----------
    column : str
    k : int
    sd_prior, slope_prior : callable
        ``(name) -> random variable`` for :math:`\sigma_s` and :math:`\gamma_1`.
    form : {"noncentered", "centered"}, default "noncentered"
        Non-centred steps ``s_<column>_z`` (standard normal, scaled), or centred ones
        ``s_<column>_step`` :math:`\sim N(0, \sigma_s^2 \Delta)` (better when the data inform
        every basis function: :func:`bayessa.model.pem.model_info` chooses).

    Returns
    -------
    pytensor vector of length ``k - 1``
    """
    import pymc as pm
    import pytensor.tensor as pt

    delta = 1.0 / (k - _DEGREE)
    sigma = sd_prior(f"s_{column}_sd")
    slope0 = slope_prior(f"s_{column}_slope")
    if form == "centered":
        steps = pm.Normal(f"s_{column}_step", 0.0, sigma * np.sqrt(delta), shape=(k - 2,))
    else:
        steps = sigma * np.sqrt(delta) * pm.Normal(f"s_{column}_z", 0.0, 1.0, shape=(k - 2,))
    slope = pt.concatenate([pt.reshape(slope0, (1,)), slope0 + pt.cumsum(steps)])
    return pt.cumsum(slope * delta)  # b_2 ... b_k, with b_1 = 0
