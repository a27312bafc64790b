r"""The likelihood of interval-censored units: :math:`\log\{1 - e^{-(H(R) - H(L))}\}` per unit.

A unit whose event is known only to lie in :math:`(L, R]` contributes
:math:`\{S(L) - S(R)\} / S(e)`. Its first factor, survival on :math:`(e, L]`, is ordinary
exposure and sits in the cells (:mod:`bayessa.data.intervals`). The second is

.. math::

    \ell_i = \log\bigl(1 - e^{-\Delta_i}\bigr), \qquad
    \Delta_i = H_i(R_i) - H_i(L_i) = \sum_{j \in (L_i, R_i]} t_j\, e^{\eta_{c(j)}},

a sum over the pieces :math:`j` of :math:`(L_i, R_i]` (split like any follow-up, at the age and
calendar cuts), each of length :math:`t_j` in cell :math:`c(j)` with linear predictor
:math:`\eta_{c(j)}` (the cells' own, so the hazard is the model's by construction).

**Keeping it fast.** These terms do not aggregate into events and exposure, but units whose
:math:`(L, R]` crosses the same cells with the same lengths have the same :math:`\ell_i`: they
share an *interval pattern* (inspection schedules on a grid of dates, whole years, common
covariates make them common). :func:`interval_patterns` groups them; the model evaluates
:math:`\sum_p w_p \log(1 - e^{-\Delta_p})` over the patterns :math:`p` (with :math:`w_p` units
each), a gather and a row sum over a (patterns x widest pattern) array. ``log1mexp`` keeps it
accurate for tiny and large :math:`\Delta`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayessa.data.cells import Cells

__all__ = ["IntervalPatterns", "add_interval_likelihood", "interval_patterns"]


@dataclass(frozen=True)
class IntervalPatterns:
    """Interval-censored units grouped by the cells and lengths their :math:`(L, R]` crosses.

    Parameters
    ----------
    cell : (P, W) int64
        The cells of each pattern's pieces (padded with cell 0).
    length : (P, W) float64
        The pieces' lengths (0 for padding).
    weight : (P,) float64
        Units per pattern.
    units : (n,) int64
        The interval-censored units (codes of :attr:`bayessa.data.SurvivalData.unit_codes`).
    unit_pattern : (n,) int64
        The pattern of each of ``units``.
    """

    cell: np.ndarray
    length: np.ndarray
    weight: np.ndarray
    units: np.ndarray
    unit_pattern: np.ndarray

    @property
    def n_patterns(self) -> int:
        """Number of distinct patterns."""
        return len(self.weight)

    def delta(self, rate_cells: np.ndarray) -> np.ndarray:
        r"""The cumulative hazard over each pattern's :math:`(L, R]`, per draw.

        Parameters
        ----------
        rate_cells : (S, n_cells) float64
            Hazard :math:`e^{\eta_c}` per draw and cell.

        Returns
        -------
        (S, P) float64
            :math:`\Delta_p = \sum_j t_j \lambda_{c(j)}`.
        """
        return np.einsum("spw,pw->sp", rate_cells[:, self.cell], self.length)


def interval_patterns(cells: Cells) -> IntervalPatterns | None:
    """Group the interval-censored units of ``cells`` by pattern (None when there are none).

    Parameters
    ----------
    cells : Cells
        Aggregated cells with ``interval_cell`` (:func:`bayessa.data.aggregate`).

    Returns
    -------
    IntervalPatterns or None
    """
    if cells.interval_cell is None or cells.interval_cell.size == 0:
        return None
    p = cells.pieces
    unit = np.asarray(p.interval_unit, dtype=np.int64)
    length = p.interval_frame["exposure"].to_numpy(np.float64)
    order = np.argsort(unit, kind="stable")  # pieces by unit (they already are: row-major split)
    units, n_per = np.unique(unit, return_counts=True)
    slot = np.arange(unit.size) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    W = int(n_per.max())
    cell_pad = np.full((units.size, W), -1, dtype=np.int64)
    len_pad = np.zeros((units.size, W))
    row = np.repeat(np.arange(units.size), n_per)
    cell_pad[row, slot] = cells.interval_cell[order]
    len_pad[row, slot] = length[order]
    key = np.concatenate([cell_pad, len_pad.view(np.int64)], axis=1)
    uniq, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    cell = uniq[:, :W].copy()
    lengths = np.ascontiguousarray(uniq[:, W:]).view(np.float64)
    cell[cell < 0] = 0  # padding: length 0, any cell
    return IntervalPatterns(
        cell=cell, length=lengths, weight=counts.astype(np.float64), units=units,
        unit_pattern=inverse.reshape(-1).astype(np.int64),
    )  # fmt: skip


def add_interval_likelihood(eta, patterns: IntervalPatterns) -> None:
    r"""Add :math:`\sum_p w_p \log(1 - e^{-\Delta_p})` to the model as ``interval_censored``.

    Parameters
    ----------
    eta : tensor (n_cells,)
        The cells' log hazard.
    patterns : IntervalPatterns
    """
    import pymc as pm
    import pytensor.tensor as pt

    delta = (pt.exp(eta)[patterns.cell] * patterns.length).sum(axis=1)
    pm.Potential("interval_censored", (patterns.weight * pt.log1mexp(-delta)).sum())
