r"""Per-unit log-likelihood from aggregated fits, for LOO with the unit (group) as the observation.

Sampling uses the cells; afterwards the survival log-likelihood of unit :math:`i` is rebuilt from
its pieces :math:`j` (cell :math:`c(j)`, exposure :math:`t_j`, event :math:`d_j`):

.. math::

    \ell_i = \sum_{j \in i} \left( d_j \log \lambda_{c(j)} - \lambda_{c(j)} t_j \right),

which sums over units to the cell Poisson log-likelihood minus the constant
:math:`\sum_c (D_c \log T_c - \log D_c!)`.
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
    return ll
