r"""Numeric covariates and their transforms: ``age``, ``log(age)``, ``scale(age)``, ``center(age)``.

A numeric term :math:`f(x)` enters the log hazard linearly, :math:`\beta f(x)`, so
:math:`\exp(\beta)` is the hazard ratio per unit of :math:`f(x)`. The transforms:

==================  ===================================  ===================================
written             :math:`f(x)`                         hazard ratio reported
==================  ===================================  ===================================
``x``               :math:`x`                            per unit of ``x``
``center(x)``       :math:`x - \bar x`                   per unit of ``x``
``scale(x)``        :math:`(x - \bar x) / s_x`           per SD of ``x`` (:math:`s_x` stated)
``log(x)``          :math:`\ln x`                        per doubling of ``x``
``log2(x)``         :math:`\log_2 x`                     per doubling of ``x``
``log10(x)``        :math:`\log_{10} x`                  per tenfold ``x``
``sqrt(x)``         :math:`\sqrt{x}`                     per unit of :math:`\sqrt{x}`
==================  ===================================  ===================================

:math:`\bar x` and :math:`s_x` (the SD, ``ddof=1`` as R's ``scale()``) are taken over the
**units** (one row per unit, the table as given), not over the split pieces or the cells, and are
stored with the fit so that new data are transformed the same way (formulae's stateful
transforms do the same). Every output also states the reference value :math:`r_x` at which the
baseline hazard is reported (:attr:`NumericTerm.reference`): the median of the units' values unless
the spec's ``[model] reference`` gives one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from bayessa.errors import Problem

__all__ = [
    "NUMERIC_TRANSFORMS",
    "NumericTerm",
    "bspline_column",
    "contrast_step",
    "knot_vector",
    "numeric_reference",
]

#: Transforms a formula may apply to a numeric column, with the step its hazard ratio is given per.
NUMERIC_TRANSFORMS: dict[str, str] = {
    "identity": "unit",
    "center": "unit",
    "scale": "sd",
    "log": "doubling",
    "log2": "doubling",
    "log10": "tenfold",
    "sqrt": "unit of sqrt",
    "bspline": "smooth",
}
_POSITIVE = {"log", "log2", "log10"}
_DEGREE = 3  # cubic B-splines for s(x) (bayessa.model.smooth)


@dataclass(frozen=True)
class NumericTerm:
    r"""A numeric fixed-effect component: ``name`` = ``transform(column)``.

    Parameters
    ----------
    name : str
        As written in the formula, e.g. ``"log(age)"`` (``"age"`` when untransformed).
    column : str
        The data column, e.g. ``"age"``.
    transform : str
        A key of :data:`NUMERIC_TRANSFORMS`.
    center, scale : float
        :math:`\bar x` and :math:`s_x` over the units (used by ``center`` and ``scale``).
    reference : float
        The column's reference value :math:`r_x` (raw scale): the baseline hazard is reported
        there, and profiles that do not give the column are set to it.
    knots, index : tuple of float, int
        For ``transform="bspline"`` (one basis function of a smooth ``s(x)``,
        :mod:`bayessa.model.smooth`): the knot vector and which basis function.
    """

    name: str
    column: str
    transform: str = "identity"
    center: float = 0.0
    scale: float = 1.0
    reference: float = 0.0
    knots: tuple[float, ...] = ()
    index: int = 0

    def values(self, x: np.ndarray | pd.Series) -> np.ndarray:
        """:math:`f(x)` for raw values of the column (float64).

        Parameters
        ----------
        x : array_like
            Raw values of :attr:`column`.

        Returns
        -------
        numpy.ndarray
        """
        x = np.asarray(x, dtype=np.float64)
        match self.transform:
            case "identity":
                return x.copy()
            case "center":
                return x - self.center
            case "scale":
                return (x - self.center) / self.scale
            case "log":
                return np.log(x)
            case "log2":
                return np.log2(x)
            case "log10":
                return np.log10(x)
            case "sqrt":
                return np.sqrt(x)
            case "bspline":
                return bspline_column(x, self.knots, self.index)
        raise ValueError(f"unknown transform {self.transform!r}")  # pragma: no cover

    def problems(self, x: pd.Series) -> list[Problem]:
        """Values outside the transform's domain (``log`` of x <= 0, ``sqrt`` of x < 0).

        Parameters
        ----------
        x : pandas.Series
            Raw values of :attr:`column`, indexed by unit (or cell) id.

        Returns
        -------
        list of Problem
        """
        v = x.to_numpy(dtype=np.float64)
        if self.transform in _POSITIVE:
            bad, need = ~(v > 0), "> 0"
        elif self.transform == "sqrt":
            bad, need = ~(v >= 0), ">= 0"
        elif self.transform == "bspline":
            lo, hi = self.knots[0], self.knots[-1]
            bad = ~((v >= lo) & (v <= hi))
            if bad.any():
                what = f"'{self.name.split('[')[0]}' was fitted on {lo:g} to {hi:g}; values outside"
                fix = "a spline cannot be extrapolated; predict within the fitted range"
                return [Problem(what, fix, column=self.column, ids=list(x.index[bad]))]
            return []
        else:
            return []
        if not bad.any():
            return []
        what = f"'{self.name}' needs {self.column} {need}; some values are not"
        fix = f"use a transform defined for these values, or shift the column (e.g. {self.column} + 1 as a new column)"
        return [Problem(what, fix, column=self.column, ids=list(x.index[bad]))]

    @property
    def step(self) -> str:
        """What the hazard ratio is given per: ``"unit"``, ``"sd"``, ``"doubling"``, ``"tenfold"``."""
        return NUMERIC_TRANSFORMS[self.transform]

    def per(self) -> str:
        """The unit of the reported hazard ratio in words, e.g. ``"per doubling of age"``.

        Returns
        -------
        str
        """
        if self.step == "sd":
            return f"per SD of {self.column} ({self.scale:.4g})"
        if self.step == "unit of sqrt":
            return f"per unit of sqrt({self.column})"
        if self.step == "smooth":
            return "smooth (see its curve)"
        what = {"unit": "per unit of", "doubling": "per doubling of", "tenfold": "per tenfold"}
        return f"{what[self.step]} {self.column}"

    def coefficient_unit(self) -> str:
        r"""What :math:`\exp(\beta)` of this component is a hazard ratio per, in words.

        ``"per unit of age"``, ``"per SD of age (9.07)"``, ``"per e-fold change of size"``
        (``log``), ``"per doubling of size"`` (``log2``), ``"per tenfold size"`` (``log10``),
        ``"per unit of sqrt(size)"``.

        Returns
        -------
        str
        """
        c = self.column
        return {
            "identity": f"per unit of {c}",
            "center": f"per unit of {c}",
            "scale": f"per SD of {c} ({self.scale:.4g})",
            "log": f"per e-fold change of {c}",
            "log2": f"per doubling of {c}",
            "log10": f"per tenfold {c}",
            "sqrt": f"per unit of sqrt({c})",
            "bspline": f"a coefficient of the smooth of {c} (see its curve)",
        }[self.transform]

    def to_dict(self) -> dict:
        """Plain fields, for the run's JSON attrs.

        Returns
        -------
        dict
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> NumericTerm:
        """Inverse of :meth:`to_dict`.

        Parameters
        ----------
        d : mapping

        Returns
        -------
        NumericTerm
        """
        fields = ("name", "column", "transform", "center", "scale", "reference")
        extra = {"knots": tuple(d.get("knots", ())), "index": int(d.get("index", 0))}
        return cls(**{k: d[k] for k in fields}, **extra)


def numeric_reference(x: np.ndarray) -> float:
    """The default reference value of a numeric column: the median of the units' values.

    Parameters
    ----------
    x : array_like
        The column over the units (no missing values).

    Returns
    -------
    float
    """
    return float(np.median(np.asarray(x, dtype=np.float64)))


def contrast_step(terms: list[NumericTerm]) -> tuple[float, float, str]:
    r"""The two values of a numeric column a hazard ratio compares, and the step in words.

    From the reference value :math:`r` to: :math:`r + 1` (``"per unit"``) for linear terms,
    :math:`r + s_x` for ``scale(x)``, :math:`2r` (``"per doubling"``) for ``log``/``log2``,
    :math:`10r` for ``log10``, :math:`(\sqrt r + 1)^2` for ``sqrt``. A column that enters
    through several kinds of term (``age + log(age)``) steps by one unit at :math:`r`, and the
    hazard ratio is then local to :math:`r`.

    Parameters
    ----------
    terms : list of NumericTerm
        The numeric components of one column.

    Returns
    -------
    value, versus : float
        Compared values (``value`` vs ``versus`` = :math:`r`).
    per : str
        E.g. ``"per unit"``, ``"per doubling"``, ``"per SD (9.07)"``.
    """
    r = terms[0].reference
    steps = {t.step for t in terms}
    if len(steps) > 1:
        return r + 1.0, r, f"per unit at {r:.6g}"
    match steps.pop():
        case "sd":
            return r + terms[0].scale, r, f"per SD ({terms[0].scale:.4g})"
        case "doubling":
            return 2.0 * r, r, "per doubling"
        case "tenfold":
            return 10.0 * r, r, "per tenfold"
        case "unit of sqrt":
            return (np.sqrt(r) + 1.0) ** 2, r, "per unit of sqrt"
    return r + 1.0, r, "per unit"


def knot_vector(low: float, high: float, k: int) -> tuple[float, ...]:
    """Clamped knot vector of ``k`` cubic B-splines on equally spaced knots over ``[low, high]``.

    Parameters
    ----------
    low, high : float
        The range of :math:`x`.
    k : int
        Number of basis functions.

    Returns
    -------
    tuple of float
        ``k + 4`` knots.
    """
    inner = np.linspace(low, high, k - _DEGREE + 1)
    return tuple(float(t) for t in np.r_[[low] * _DEGREE, inner, [high] * _DEGREE])


def bspline_column(x: np.ndarray, knots: Sequence[float], index: int) -> np.ndarray:
    """The B-spline basis function ``index`` (0-based) at ``x``, clipped into the knot range.

    Parameters
    ----------
    x : array_like
    knots : sequence of float
        From :func:`knot_vector`.
    index : int

    Returns
    -------
    numpy.ndarray
    """
    from scipy.interpolate import BSpline

    t = np.asarray(knots, dtype=np.float64)
    x = np.clip(np.asarray(x, dtype=np.float64), t[0], t[-1])
    distinct, inverse = np.unique(x, return_inverse=True)  # cells repeat values: evaluate once
    B = BSpline.design_matrix(distinct, t, _DEGREE).tocsc()[:, index].toarray().ravel()
    return B[inverse]
