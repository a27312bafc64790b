r"""The Poisson log-likelihood of the cells, factored over covariate patterns.

A cell is an age interval :math:`k` crossed with a *pattern* :math:`p`: everything else that keys
it (covariate values, calendar period, stratum, cluster). Without time-varying effects the log
hazard separates as :math:`\log\lambda_{kp} = \alpha_{s(p),k} + \phi_p`, with :math:`\phi_p` the
fixed and random effects of the pattern, so the log-likelihood of the cells (up to the constant
:math:`\sum_c D_c \log T_c - \log D_c!`) is

.. math::

    \ell = \sum_c \bigl(D_c \log\lambda_c - \lambda_c T_c\bigr)
         = \sum_{s,k} D_{sk}\, \alpha_{sk} + \sum_p D_p\, \phi_p
           - \sum_p e^{\phi_p} \sum_k T_{kp}\, e^{\alpha_{s(p),k}},

with :math:`D_{sk}` the events of stratum :math:`s` in interval :math:`k`, :math:`D_p` those of
pattern :math:`p` and :math:`T_{kp}` its exposure in interval :math:`k`. The linear predictor, its
exponential and their gradients are then computed once per pattern instead of once per cell, and
the intervals enter only through the small matrix :math:`T` (patterns x intervals). With
:math:`K` intervals that is up to :math:`K` times less work per gradient; it is exact, not an
approximation (tested: equal to the per-cell Poisson log-density up to that constant).

:func:`use_patterns` decides when the model is built this way: large models (more than
:data:`MIN_CELLS` cells) without time-varying effects whose cells share patterns (at least
:data:`MIN_CELLS_PER_PATTERN` cells per pattern on average), and not when the data must be
inputs of the compiled model (``data_containers``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "MIN_CELLS",
    "MIN_CELLS_PER_PATTERN",
    "Patterns",
    "add_pattern_likelihood",
    "cell_patterns",
    "use_patterns",
]

#: Models with at most this many cells keep the per-cell Poisson likelihood (they are fast
#: already; their data can be compiled-model inputs).
MIN_CELLS = 2000
#: The factored form needs at least this many cells per pattern on average to save work.
MIN_CELLS_PER_PATTERN = 2.0


@dataclass(frozen=True)
class Patterns:
    """Cells grouped by pattern (all keys but the age interval).

    Parameters
    ----------
    index : (n_cells,) int
        Each cell's pattern.
    first : (P,) int
        One cell of each pattern (its design row, stratum and random-effect levels).
    events : (P,) float
        Events per pattern, :math:`D_p`.
    events_by_interval : (S, K) float
        Events per stratum and interval, :math:`D_{sk}`.
    exposure : (P, K) float
        Exposure of each pattern in each interval, :math:`T_{kp}` (0 where it has none).
    stratum : (P,) int
        Each pattern's stratum.
    """

    index: np.ndarray
    first: np.ndarray
    events: np.ndarray
    events_by_interval: np.ndarray
    exposure: np.ndarray
    stratum: np.ndarray

    @property
    def n_patterns(self) -> int:
        """Number of patterns."""
        return int(self.first.size)


def cell_patterns(cells, stratum: np.ndarray, n_strata: int) -> Patterns:
    """Group the cells by every key but the age interval.

    Parameters
    ----------
    cells : Cells
        The aggregated data.
    stratum : (n_cells,) int
        Each cell's baseline stratum (0 without strata).
    n_strata : int
        Number of strata (1 without).

    Returns
    -------
    Patterns
    """
    f = cells.frame
    keys = [k for k in cells.keys if k != "interval"]
    if keys:
        codes = [pd.factorize(f[k], use_na_sentinel=False)[0] for k in keys]
        index, _ = pd.factorize(pd.MultiIndex.from_arrays(codes), use_na_sentinel=False)
    else:
        index = np.zeros(len(f), dtype=np.int64)
    index = np.asarray(index, dtype=np.int64)
    P = int(index.max()) + 1 if index.size else 0
    interval = f["interval"].cat.codes.to_numpy().astype(np.int64)
    K = len(f["interval"].cat.categories)
    events = f["events"].to_numpy(np.float64)
    first = np.full(P, -1, dtype=np.int64)
    first[index[::-1]] = np.arange(len(f))[::-1]  # the first cell of each pattern
    exposure = np.zeros((P, K))
    np.add.at(exposure, (index, interval), f["exposure"].to_numpy(np.float64))
    by_interval = np.zeros((n_strata, K))
    np.add.at(by_interval, (stratum, interval), events)
    return Patterns(
        index=index,
        first=first,
        events=np.bincount(index, weights=events, minlength=P),
        events_by_interval=by_interval,
        exposure=exposure,
        stratum=np.asarray(stratum, dtype=np.int64)[first],
    )


def use_patterns(
    n_cells: int, n_patterns: int, *, time_varying: bool, data_containers: bool
) -> bool:
    """Whether to build the factored likelihood (see the module notes).

    Parameters
    ----------
    n_cells, n_patterns : int
        Cells, and patterns among them.
    time_varying : bool
        The model has time-varying effects (the log hazard does not separate).
    data_containers : bool
        The data must be inputs of the compiled model.

    Returns
    -------
    bool
    """
    return (
        not time_varying
        and not data_containers
        and n_cells > MIN_CELLS
        and n_cells >= MIN_CELLS_PER_PATTERN * max(n_patterns, 1)
    )


def add_pattern_likelihood(phi, centred, patterns: Patterns) -> None:
    r"""Add the factored log-likelihood to the model being built (a ``pm.Potential``).

    Parameters
    ----------
    phi : pytensor vector (P,)
        :math:`\phi_p`, the fixed and random effects of each pattern (centred columns).
    centred : pytensor matrix (S, K)
        :math:`\alpha`, the baseline log hazard of each stratum and interval at the centring.
    patterns : Patterns
    """
    import pymc as pm
    import pytensor.tensor as pt

    # elementwise products and sums only: a matrix product would compile to BLAS calls
    rate0 = pt.exp(centred)[patterns.stratum]  # (P, K)
    at_risk = pt.sum(patterns.exposure * rate0, axis=1)  # sum_k T_kp exp(alpha_s(p),k)
    loglik = (
        pt.sum(patterns.events_by_interval * centred)
        + pt.sum(patterns.events * phi)
        - pt.sum(pt.exp(phi) * at_risk)
    )
    pm.Potential("events_loglik", loglik)
