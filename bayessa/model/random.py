r"""Random-effect terms of the PEM: intercepts per level, and random slopes with an LKJ prior.

For term :math:`t` with grouping factor :math:`g_t` (levels :math:`\ell`) and slope columns
:math:`z_{c}` (fixed-effect columns that also vary by level),

.. math::

    \log \lambda_c \mathrel{+}= u^{(t)}_{g_t(c)} + z_c^\top v^{(t)}_{g_t(c)} .

*Intercepts only* (``(1 | g)``): :math:`u^{(t)} \sim \mathrm{ZeroSumNormal}(\sigma_t)`, centred
or non-centred by the events per level (:func:`bayessa.model.pem.choose_parameterization`; the
first term is the *cluster*, with ``cluster_parameterization``, the others take
``random_parameterization``). Sum-to-zero removes the ridge with the baseline.

*With slopes* (``(1 + x | g)``): the intercept and the :math:`q - 1` slopes of a level are
correlated,

.. math::

    (u_\ell, v_\ell \odot s) = \operatorname{diag}(\sigma)\, L\, z_\ell, \qquad
    L L^\top = R \sim \mathrm{LKJ}(\eta = 2), \qquad \sigma_j \sim p_{\text{cluster\_sd}},

with :math:`z` standard normal and summing to zero over the levels (so the fixed slope is the
average of the levels' slopes), always non-centred. A numeric slope column is taken per SD
(:math:`s_j`, :func:`bayessa.model.pem.column_scales`) so that one prior fits every slope;
:math:`v` is stored per unit. :math:`\eta = 2` (:data:`LKJ_ETA`) puts mild mass away from
correlations of :math:`\pm 1` (Stan's recommended weakly-informative choice; brms uses 1).

Variable names: the first term is ``cluster_effect``, ``cluster_sd`` (as with one random
intercept); a further term on ``region`` is ``region_effect``, ``region_sd``. With slopes also
``<p>_slope`` (dims ``(g, <p>_slope_coef)``), ``<p>_slope_sd`` and ``<p>_corr`` (the
correlations of each pair, dims ``<p>_corr_pair``, e.g. ``"Intercept ~ leader[professional]"``),
where ``<p>`` is that prefix; ``<p>_chol`` (the packed Cholesky factor) and ``<p>_z`` are
sampling internals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["LKJ_ETA", "random_prefix", "random_term_effects"]

#: Shape of the LKJ prior on the correlation of a term's intercept and slopes.
LKJ_ETA = 2.0


def random_prefix(index: int, name: str) -> str:
    """The variable-name prefix of the ``index``-th random term: ``"cluster"`` for the first.

    Parameters
    ----------
    index : int
    name : str
        The grouping factor.

    Returns
    -------
    str
    """
    return "cluster" if index == 0 else name


def random_term_effects(term, prefix: str, form: str, sd_prior, scales: np.ndarray, codes):
    r"""The contribution of one random term to the log hazard of each cell (a PyTensor vector).

    Parameters
    ----------
    term : RandomTerm
        From :mod:`bayessa.model.design`.
    prefix : str
        :func:`random_prefix`.
    form : {"centered", "noncentered"}
        For intercept-only terms; slopes are always non-centred.
    sd_prior : Prior
        The ``cluster_sd`` prior (of every SD of the term).
    scales : (q - 1,) array
        The slope columns' scales (1 for 0/1 columns).
    codes : int vector (or ``pm.Data``)
        Each cell's level.

    Returns
    -------
    pytensor vector
    """
    if not term.slopes:
        return _intercepts(term, prefix, form, sd_prior)[codes]
    u, v = _correlated(term, prefix, sd_prior, scales)
    return u[codes] + (term.Z * v[codes]).sum(axis=1)


def _intercepts(term, prefix: str, form: str, sd_prior):
    import pymc as pm

    from bayessa.model.priors import prior_rv

    sd = prior_rv(pm, f"{prefix}_sd", sd_prior)
    if form == "centered":
        return pm.ZeroSumNormal(f"{prefix}_effect", sigma=sd, dims=term.name)
    z = pm.ZeroSumNormal(f"{prefix}_z", sigma=1.0, dims=term.name)
    return pm.Deterministic(f"{prefix}_effect", sd * z, dims=term.name)


def _correlated(term, prefix: str, sd_prior, scales: Sequence[float]):
    import pymc as pm
    import pytensor.tensor as pt

    from bayessa.model.priors import prior_dist

    model = pm.modelcontext(None)
    q = 1 + len(term.slopes)
    re = ["Intercept", *term.slopes]
    pairs = [(i, j) for i in range(q) for j in range(i + 1, q)]
    model.add_coord(f"{prefix}_re", re)
    model.add_coord(f"{prefix}_corr_pair", [f"{re[i]} ~ {re[j]}" for i, j in pairs])
    model.add_coord(f"{prefix}_slope_coef", list(term.slopes))
    # an explicit initial value (no correlation, SDs of 0.1): PyMC's default comes from a Scan
    # over the LKJ draw, whose compilation looks for a BLAS library (and warns without one)
    diag = np.cumsum(np.arange(1, q + 1)) - 1  # positions of the diagonal in the packed factor
    init = np.zeros(q * (q + 1) // 2)
    init[diag] = 0.1
    packed = pm.LKJCholeskyCov(
        f"{prefix}_chol", eta=LKJ_ETA, n=q, sd_dist=prior_dist(pm, sd_prior, shape=q),
        compute_corr=False, store_in_trace=False, initval=init,
    )  # fmt: skip
    # products written elementwise: q is small, and a matrix product would make PyTensor look
    # for a BLAS library (and warn on machines without one) when PyMC compiles initial points
    chol = pm.math.expand_packed_triangular(q, packed, lower=True)
    rows, cols = (np.array(ix, dtype=np.int64) for ix in zip(*pairs, strict=True))
    sds = pt.sqrt((chol**2).sum(axis=1))
    corr = (chol[rows] * chol[cols]).sum(axis=1) / (sds[rows] * sds[cols])
    pm.Deterministic(f"{prefix}_sd", sds[0])
    pm.Deterministic(f"{prefix}_slope_sd", sds[1:], dims=f"{prefix}_slope_coef")
    pm.Deterministic(f"{prefix}_corr", corr, dims=f"{prefix}_corr_pair")
    z = pm.ZeroSumNormal(f"{prefix}_z", sigma=1.0, dims=(f"{prefix}_re", term.name))
    # w = chol @ z, (q, levels), rows summing to zero; unrolled (q is small) so that no rewrite
    # turns it into a BLAS product
    w = pt.stack([sum(chol[i, k] * z[k] for k in range(i + 1)) for i in range(q)])
    u = pm.Deterministic(f"{prefix}_effect", w[0], dims=term.name)
    v = w[1:].T / np.asarray(scales, dtype=np.float64)  # per SD -> per unit of the column
    v = pm.Deterministic(f"{prefix}_slope", v, dims=(term.name, f"{prefix}_slope_coef"))
    return u, v
