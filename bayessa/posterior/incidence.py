r"""Cumulative incidence of competing causes from cause-specific piecewise-exponential hazards.

With cause-specific hazards :math:`\lambda_{jk}` constant on interval :math:`k` (width
:math:`w_k`, start :math:`a_k`), the all-cause hazard :math:`\Lambda_k = \sum_j \lambda_{jk}`
and :math:`S(a_k) = \exp(-\sum_{l<k} \Lambda_l w_l)`, the cumulative incidence of cause
:math:`j` and its restricted mean time lost to :math:`\tau` are, with :math:`o_k(t)` the overlap
of :math:`(0, t]` with interval :math:`k`,

.. math::

    F_j(t) = \sum_k \frac{\lambda_{jk}}{\Lambda_k} S(a_k) \bigl(1 - e^{-\Lambda_k o_k(t)}\bigr),
    \qquad
    \mathrm{RMTL}_j(\tau) = \int_0^\tau F_j(t)\,dt
    = \sum_k \Bigl[F_j(a_k)\, o_k + \frac{\lambda_{jk}}{\Lambda_k} S(a_k)
      \Bigl(o_k - \frac{1 - e^{-\Lambda_k o_k}}{\Lambda_k}\Bigr)\Bigr], \; o_k = o_k(\tau),

exactly, per posterior draw. The causes' posteriors come from separate (independent) fits, so
draw :math:`s` of one cause is paired with draw :math:`s` of another. Marginal over cluster
effects, each cause's effect :math:`u_j \sim N(0, \sigma_j)` is independent of the others' (the
causes' models share no parameter), and the expectation is a product Gauss--Hermite rule over
the causes' nodes.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "MAX_NODE_COMBINATIONS",
    "cause_incidence",
    "incidence_draws",
    "restricted_mean_time_lost",
]

#: The product rule over the causes' cluster effects uses at most this many node combinations:
#: with three or more causes each cause's rule is cut to ``floor(this ** (1 / J))`` nodes (at
#: least 6). Measured against 24 nodes per cause with three causes (10 nodes each): the incidence
#: differs by 1e-9 at cluster SD 0.5 and 9e-6 at SD 1, far below the Monte Carlo error of a
#: posterior median from 1,000 draws (~1e-3 of a probability); 24^3 combinations took 12x longer.
MAX_NODE_COMBINATIONS = 1024


def _overlap(t: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """``(T, K)``: the length of ``(0, t]`` inside each interval."""
    lo, hi = cuts[:-1], cuts[1:]
    return np.clip(np.minimum(np.asarray(t, float)[:, None], hi) - lo, 0.0, None)


def _parts(rates: np.ndarray, cuts: np.ndarray):
    """All-cause hazard ``(S, K)``, survival at each interval's start ``(S, K)``, the widths."""
    total = rates.sum(axis=0)  # (S, K)
    widths = np.diff(cuts)
    inner = np.where(np.isfinite(widths), widths, 0.0)
    at_start = np.exp(-np.concatenate([np.zeros((total.shape[0], 1)),
                                       np.cumsum(total * inner, axis=1)[:, :-1]], axis=1))  # fmt: skip
    return total, at_start


def incidence_draws(log_hazards: np.ndarray, cuts: np.ndarray, times) -> np.ndarray:
    r"""Draws of every cause's :math:`F_j(t)`, ``(J, S, T)``.

    Parameters
    ----------
    log_hazards : (J, S, K) float
        Log hazard of each cause, draw and interval.
    cuts : (K + 1,) float
        The cut points (the last may be ``inf``).
    times : (T,) float
        Times in :math:`[0, a_K]`.

    Returns
    -------
    (J, S, T) float
    """
    rates = np.exp(log_hazards)
    total, at_start = _parts(rates, cuts)
    o = _overlap(times, cuts)  # (T, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, rates / total, 0.0)  # (J, S, K)
    gain = at_start[:, None, :] * (1.0 - np.exp(-total[:, None, :] * o[None]))  # (S, T, K)
    return np.einsum("jsk,stk->jst", share, gain)


def restricted_mean_time_lost(log_hazards: np.ndarray, cuts: np.ndarray, tau: float) -> np.ndarray:
    r"""Draws of every cause's restricted mean time lost to ``tau``, ``(J, S)``.

    Parameters
    ----------
    log_hazards : (J, S, K) float
        As :func:`incidence_draws`.
    cuts : (K + 1,) float
        The cut points.
    tau : float
        The horizon.

    Returns
    -------
    (J, S) float
    """
    rates = np.exp(log_hazards)
    total, at_start = _parts(rates, cuts)
    o = _overlap(np.array([tau]), cuts)[0]  # (K,)
    starts = cuts[:-1]
    f_start = incidence_draws(log_hazards, cuts, starts)  # (J, S, K): F_j at each a_k
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, rates / total, 0.0)
        inner = np.where(total > 0, o - (1 - np.exp(-total * o)) / total, 0.0)  # (S, K)
    return np.sum(f_start * o + share * at_start * inner, axis=2)


def _fewer_nodes(mixtures):
    """The causes' curves with at most :data:`MAX_NODE_COMBINATIONS` node combinations."""
    from dataclasses import replace

    from bayessa.posterior.curves import _hermite

    sizes = [1 if m.shifts is None else m.shifts.shape[1] for m in mixtures]
    if np.prod(sizes, dtype=float) <= MAX_NODE_COMBINATIONS:
        return mixtures
    marginal = sum(m.shifts is not None for m in mixtures)
    k = max(6, int(MAX_NODE_COMBINATIONS ** (1.0 / marginal)))
    out = []
    for m in mixtures:
        if m.shifts is None or m.shifts.shape[1] <= k:
            out.append(m)
            continue
        # the rule integrates u^2 exactly: the weighted mean square of the shifts is sd^2
        sd = np.sqrt(m.shifts**2 @ m.shift_weights)
        shifts, weights = _hermite(sd, k)
        out.append(replace(m, shifts=shifts, shift_weights=weights))
    return out


def cause_incidence(mixtures, times, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Incidence and RMTL draws of the causes' curves, marginal over their cluster effects.

    Parameters
    ----------
    mixtures : sequence of Mixture
        One single-profile curve per cause (:meth:`bayessa.posterior.curves.Predictor.profile`),
        each with its quadrature shifts when marginal over its cluster effects. Draws are paired
        by position (thinned to the smallest number of draws).
    times : (T,) float
        Times.
    tau : float
        RMTL horizon.

    Returns
    -------
    cif : (J, S, T) float
    rmtl : (J, S) float
    """
    S = min(m.log_hazard.shape[0] for m in mixtures)
    eta = np.stack([m.log_hazard[:S, 0, :] for m in mixtures])  # (J, S, K)
    cuts = mixtures[0].cuts
    mixtures = _fewer_nodes(mixtures)
    nodes = [
        [(None, 1.0)] if m.shifts is None else [(m.shifts[:S, j], w) for j, w in
                                                enumerate(m.shift_weights)]
        for m in mixtures
    ]  # fmt: skip
    cif = np.zeros((len(mixtures), S, len(times)))
    rmtl = np.zeros((len(mixtures), S))
    for combo in itertools.product(*nodes):
        weight = float(np.prod([w for _, w in combo]))
        shifted = np.stack([e if z is None else e + z[:, None] for e, (z, _) in
                            zip(eta, combo, strict=True)])  # fmt: skip
        cif += weight * incidence_draws(shifted, cuts, times)
        rmtl += weight * restricted_mean_time_lost(shifted, cuts, tau)
    return cif, rmtl
