r"""Per-unit log-likelihood from aggregated fits, for LOO with the unit (group) as the observation.

Sampling uses the cells; afterwards the survival log-likelihood of unit :math:`i` is rebuilt from
its pieces :math:`j` (cell :math:`c(j)`, exposure :math:`t_j`, event :math:`d_j`):

.. math::

    \ell_i = \sum_{j \in i} \left( d_j \log \lambda_{c(j)} - \lambda_{c(j)} t_j \right),

which sums over units to the cell Poisson log-likelihood minus the constant
:math:`\sum_c (D_c \log T_c - \log D_c!)`. A unit whose event is known only to lie in
:math:`(L_i, R_i]` adds :math:`\log(1 - e^{-\Delta_i})` (:mod:`bayessa.model.intervals`), so
that its :math:`\ell_i` is :math:`\log\{S_i(L_i) - S_i(R_i)\} - \log S_i(e_i)`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from bayessa.data.cells import Cells

__all__ = ["DEFAULT_MAX_ELEMENTS", "unit_log_likelihood"]

#: Store the per-unit log-likelihood by default only when units x samples is at most this
#: (50M float64 = 400 MB); beyond it LOO must be asked for explicitly.
DEFAULT_MAX_ELEMENTS = 50_000_000


def unit_log_likelihood(log_rate_cells: np.ndarray, cells: Cells) -> np.ndarray:
    r"""Survival log-likelihood per unit and sample.

    Parameters
    ----------
    log_rate_cells : (n_samples, n_cells)
        Posterior draws of :math:`\log \lambda_c` (:func:`bayessa.posterior.predict.log_rate`).
    cells : Cells

    Returns
    -------
    (n_samples, n_units) float64
    """
    p = cells.pieces
    f = p.frame
    n_units, n_cells = p.n_units, cells.n_cells
    unit = p.unit_index
    cell = cells.piece_cell
    # exposure of each unit in each cell (sparse): H_i = sum_c lambda_c A[c, i]
    A = sp.csr_matrix((f["exposure"].to_numpy(), (cell, unit)), shape=(n_cells, n_units))
    rate = np.exp(log_rate_cells)
    ll = -np.asarray((A.T @ rate.T).T)
    ev = f["event"].to_numpy() == 1
    ll[:, unit[ev]] += log_rate_cells[:, cell[ev]]
    if cells.interval_cell is not None:  # events in (L, R]: log(1 - exp(-Delta))
        ic = p.interval_frame["exposure"].to_numpy()
        B = sp.csr_matrix((ic, (cells.interval_cell, p.interval_unit)), shape=(n_cells, n_units))
        has = np.zeros(n_units, dtype=bool)
        has[p.interval_unit] = True
        delta = np.asarray((B.T @ rate.T).T)[:, has]
        ll[:, has] += np.log(-np.expm1(-delta))
    return ll
