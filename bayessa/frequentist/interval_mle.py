r"""The piecewise-exponential model fitted by maximum likelihood under interval censoring.

The hazard is constant on the pieces :math:`(c_k, c_{k+1}]` of the cut points,
:math:`\log\lambda_k(x) = \alpha_k + x^\top\beta` (treatment coding, reference = first level), so
with :math:`\eta = x^\top\beta` and :math:`w_k(t) = |(c_k, c_{k+1}] \cap (0, t]|`

.. math::

    H(t \mid x) = e^{\eta} \sum_k w_k(t)\, e^{\alpha_k}, \qquad S(t \mid x) = e^{-H(t \mid x)}.

Units follow R's ``Surv(L, R, type = "interval2")`` (see :mod:`bayessa.frequentist.npmle`),
optionally with delayed entry :math:`e`; with :math:`L' = \max(L, e)` a unit contributes

=====================  ==========================================================================
exact, :math:`t`       :math:`\log\lambda_{k(t)} - H(t) + H(e)` (:math:`k(t)`: :math:`c_k < t \le c_{k+1}`)
right-censored         :math:`-H(L') + H(e)`
interval, left         :math:`\log\{S(L') - S(R)\} - \log S(e) = -H(L') + H(e) + \log(1 - e^{-D})`,
                       :math:`D = H(R) - H(L')`
=====================  ==========================================================================

The first two rows and the :math:`-H(L') + H(e)` part of the third are the Poisson likelihood of
the ordinary PEM (events and exposure per piece, :func:`bayessa.frequentist.poisson_pem`); the
interval-censored units add :math:`\log(1 - e^{-D_i})`.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, stats

from bayessa.errors import DataError, Problem, SpecError
from bayessa.frequentist import _design
from bayessa.frequentist.npmle import _interval_bounds

__all__ = ["IntervalPEMResult", "interval_pem"]


@dataclass(frozen=True, repr=False)
class IntervalPEMResult:
    r"""Maximum-likelihood PEM under interval censoring. Arrays are in the order of *names*.

    Parameters
    ----------
    names : list of str
        ``interval[(a,b]]`` for the log baseline rates :math:`\alpha_k`, then the effects
        (``x[b]`` for level ``b`` of ``x``; a numeric column by its name).
    coef, se, z, p_value, lower, upper : numpy.ndarray
        Estimates, standard errors (inverse observed information), Wald z, two-sided p and Wald
        limits at *conf_level*.
    cov : numpy.ndarray
        Inverse observed information :math:`\{-\nabla^2 \ell(\hat\theta)\}^{-1}`.
    loglik : float
        Log-likelihood at the estimate (exact times as log densities; R ``survreg``'s
        ``loglik`` for one piece).
    n_iter : int
        Newton iterations run.
    converged : bool
        Whether the Newton step fell below the tolerance.
    conf_level : float
        Confidence level of ``lower`` and ``upper``.
    cuts : numpy.ndarray
        The cut points.
    n_baseline : int
        Number of baseline coefficients (pieces).
    counts : dict
        Units by kind: ``exact``, ``interval``, ``left`` (event in :math:`(e, R]`), ``right``.
    """

    names: list[str]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cov: np.ndarray
    loglik: float
    n_iter: int
    converged: bool
    conf_level: float
    cuts: np.ndarray
    n_baseline: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        """One row per coefficient: ``coef``, ``se``, ``z``, ``p_value``, ``lower``, ``upper``."""
        return pd.DataFrame(
            {"coef": self.coef, "se": self.se, "z": self.z, "p_value": self.p_value,
             "lower": self.lower, "upper": self.upper},
            index=pd.Index(self.names, name="term"),
        )  # fmt: skip

    @property
    def effects(self) -> pd.DataFrame:
        """Hazard ratios, one row per effect (columns as ``PEMResult.table``: ``log_hr``, ..., ``hr``)."""
        tab = self.table.iloc[self.n_baseline :].rename(columns={"coef": "log_hr"})
        return tab.assign(
            hr=np.exp(tab["log_hr"]), hr_lower=np.exp(tab["lower"]), hr_upper=np.exp(tab["upper"])
        )

    @property
    def baseline(self) -> pd.DataFrame:
        """Per piece: ``log_rate``, ``se``, ``lower``, ``upper`` and ``rate`` (reference group)."""
        tab = self.table.iloc[: self.n_baseline][["coef", "se", "lower", "upper"]]
        tab = tab.rename(columns={"coef": "log_rate"})
        return tab.assign(rate=np.exp(tab["log_rate"]))

    def summary(self) -> str:
        """Hazard ratios, baseline rates and the fit as text.

        Returns
        -------
        str
            The hazard-ratio table, the baseline table, the counts and the log-likelihood.
        """
        fmt = lambda v: f"{v:.4g}"  # noqa: E731
        status = "converged" if self.converged else "NOT converged"
        kinds = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        parts = [
            f"Piecewise-exponential model, interval-censored maximum likelihood ({status} in "
            f"{self.n_iter} Newton steps; {self.conf_level:.0%} Wald limits)",
            f"units: {kinds}",
        ]
        if len(self.names) > self.n_baseline:
            parts.append(f"Hazard ratios:\n{self.effects.to_string(float_format=fmt)}")
        parts.append(
            f"Baseline hazard (reference group):\n{self.baseline.to_string(float_format=fmt)}"
        )
        parts.append(f"log-likelihood {self.loglik:.6g}")
        return "\n\n".join(parts)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"IntervalPEMResult(p={len(self.names)}, loglik={self.loglik:.6g}, "
            f"converged={self.converged})"
        )


def _fmt(x: float) -> str:
    return "inf" if np.isinf(x) else f"{x:g}"


def _check_cuts(cuts: Sequence[float]) -> np.ndarray:
    try:
        c = np.asarray(cuts, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(f"cuts must be numbers, got {cuts!r}") from None
    if (
        c.ndim != 1
        or c.size < 2
        or c[0] != 0
        or np.isnan(c).any()
        or np.isinf(c[:-1]).any()
        or np.any(np.diff(c) <= 0)
    ):
        raise SpecError(
            "cuts must be increasing numbers starting at 0, at least two, finite except a last "
            f"inf (e.g. [0, 1, 2, 4, inf]); got {np.ravel(c).tolist()}"
        )
    return c


def _exposure(t: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """w_k(t) = |(c_k, c_k+1] & (0, t]| for every t (rows) and piece k (columns); t finite."""
    width = np.diff(cuts)
    return np.clip(t[:, None] - cuts[None, :-1], 0.0, width[None, :])


def _effects(
    df: pd.DataFrame, covariates: Sequence[str], reference: Mapping[str, Hashable] | None
) -> tuple[list[str], np.ndarray]:
    reference = dict(reference or {})
    unknown = [c for c in reference if c not in covariates]
    if unknown:
        raise SpecError(f"reference given for column(s) not in covariates: {unknown}")
    if len(set(covariates)) != len(covariates):
        raise SpecError(f"covariates must be distinct; got {list(covariates)}")
    missing = [
        Problem("missing values", "fill in or drop these rows", c, df.index[m].tolist())
        for c in covariates
        if (m := df[c].isna().to_numpy()).any()
    ]
    if missing:
        raise DataError(missing)
    names: list[str] = []
    blocks = [np.zeros((len(df), 0))]
    for col in covariates:
        n, x = _design._main_effect(df[col], col, reference.get(col), col in reference)
        names += n
        blocks.append(x)
    return names, np.column_stack(blocks)


@dataclass(frozen=True)
class _Terms:
    """The likelihood's data: the Poisson part per covariate pattern, the interval part per unit."""

    events: np.ndarray  # (n_pat, K) exact events per pattern and piece
    exposure: np.ndarray  # (n_pat, K) time at risk without the event, entry -> L'
    X: np.ndarray  # (n_pat, p) patterns
    U: np.ndarray  # (n_ic, K) overlap of (L', R] with each piece
    Xi: np.ndarray  # (n_ic, p)


def _loglik(theta: np.ndarray, t: _Terms, K: int, derivatives: bool = True):
    """Log-likelihood, gradient and Hessian (the last two None unless *derivatives*)."""
    alpha, beta = theta[:K], theta[K:]
    with np.errstate(over="ignore"):
        mu = t.exposure * np.exp(alpha[None, :] + (t.X @ beta)[:, None])
        rho = t.U * np.exp(alpha[None, :] + (t.Xi @ beta)[:, None])
    D = rho.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = float(np.sum(t.events * (alpha[None, :] + (t.X @ beta)[:, None])) - mu.sum())
        ll += float(np.sum(np.log(-np.expm1(-D))))
    if not derivatives:
        return ll, None, None
    p = theta.size - K
    resid = t.events - mu
    g1 = 1.0 / np.expm1(D)  # d/dD log(1 - exp(-D))
    g2 = -(g1 + g1 * g1)  # second derivative: -exp(D) / expm1(D)^2
    grad = np.concatenate(
        [resid.sum(axis=0) + g1 @ rho, t.X.T @ resid.sum(axis=1) + t.Xi.T @ (g1 * D)]
    )
    hess = np.zeros((K + p, K + p))
    mu_k = mu.sum(axis=0)
    mu_i = mu.sum(axis=1)
    hess[:K, :K] = -np.diag(mu_k) + np.diag(g1 @ rho)
    hess[:K, K:] = -(mu.T @ t.X) + (g1[:, None] * rho).T @ t.Xi
    hess[K:, K:] = -(t.X.T * mu_i) @ t.X + (t.Xi.T * (g1 * D)) @ t.Xi
    hess[K:, :K] = hess[:K, K:].T
    V = np.concatenate([rho, D[:, None] * t.Xi], axis=1)  # gradient of D_i
    hess += (V.T * g2) @ V
    return ll, grad, hess


def _newton(t: _Terms, theta: np.ndarray, K: int, *, tol: float, max_iter: int):
    """Newton–Raphson with step halving; a Levenberg shift where -H is not positive definite."""
    ll, grad, hess = _loglik(theta, t, K)
    converged, n_iter = False, 0
    while n_iter < max_iter:
        n_iter += 1
        info = -hess
        shift = 0.0
        scale = float(np.max(np.abs(np.diag(info)))) or 1.0
        while True:
            try:
                chol = linalg.cho_factor(info + shift * np.eye(info.shape[0]))
                break
            except linalg.LinAlgError:
                shift = max(2 * shift, 1e-10 * scale)
        step = linalg.cho_solve(chol, grad)
        for _ in range(60):
            new = theta + step
            ll_new = _loglik(new, t, K, derivatives=False)[0]
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * (1.0 + abs(ll)):
                break
            step = step / 2
        small = float(np.max(np.abs(step))) < tol
        flat = abs(ll_new - ll) <= 1e-15 * (abs(ll) + 0.1) and shift == 0.0
        theta = new
        ll, grad, hess = _loglik(theta, t, K)
        if small or flat:
            converged = True
            break
    return theta, ll, grad, hess, n_iter, converged


def interval_pem(
    df: pd.DataFrame,
    *,
    lower: str,
    upper: str,
    cuts: Sequence[float],
    covariates: Sequence[str] = (),
    entry: str | None = None,
    reference: Mapping[str, Hashable] | None = None,
    conf_level: float = 0.95,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> IntervalPEMResult:
    r"""Fit :math:`\log\lambda_k(x) = \alpha_k + x^\top\beta` to interval-censored data.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit.
    lower, upper : str
        Bounds of the event time, :math:`T \in (L, R]` (R's ``Surv(L, R, type = "interval2")``):
        ``L == R`` exact; ``R`` missing or inf right-censored at ``L``; ``L`` missing or 0
        left-censored (:math:`(e, R]` with delayed entry).
    cuts : sequence of float
        Cut points :math:`0 = c_0 < c_1 < \dots < c_K`; the last may be inf. Every finite bound
        and entry must lie within :math:`[0, c_K]`.
    covariates : sequence of str
        Main effects. Non-numeric, boolean and categorical columns are treatment-coded against
        their first level (sorted, or category order) unless *reference* names another; numeric
        columns enter linearly (as :func:`~bayessa.frequentist.poisson_pem`).
    entry : str, optional
        Delayed entry (left truncation): the likelihood is conditional on :math:`T > e`. A lower
        bound below the entry is read as the entry (the unit was event-free at entry).
    reference : dict, optional
        Reference level per covariate.
    conf_level : float
        Coverage of the Wald limits.
    tol : float
        Newton–Raphson stops when the largest step is below *tol*.
    max_iter : int

    Returns
    -------
    IntervalPEMResult

    Raises
    ------
    bayessa.errors.DataError
        Bad bounds (see :func:`~bayessa.frequentist.npmle.turnbull`), an event at or before entry,
        times beyond the last cut, missing covariate values.
    bayessa.errors.SpecError
        Bad cuts, covariates or reference levels.

    Warns
    -----
    RuntimeWarning
        If Newton–Raphson does not converge in *max_iter* iterations.

    Notes
    -----
    With :math:`\theta = (\alpha, \beta)`, :math:`z_{ik} = (e_k, x_i)`,
    :math:`\rho_{ik} = u_{ik} e^{z_{ik}^\top\theta}` (:math:`u_{ik}` the overlap of
    :math:`(L'_i, R_i]` with piece :math:`k`) and :math:`D_i = \sum_k \rho_{ik}`, the interval
    term :math:`g(D) = \log(1 - e^{-D})` has :math:`g' = 1/(e^D - 1)`,
    :math:`g'' = -g'(1 + g')`, and

    .. math::

        \nabla \ell_i = g'(D_i) \sum_k \rho_{ik} z_{ik}, \qquad
        \nabla^2 \ell_i = g''(D_i)\, \nabla D_i \nabla D_i^\top + g'(D_i) \sum_k \rho_{ik}
        z_{ik} z_{ik}^\top;

    the Poisson part has the GLM's :math:`\sum (y - \mu) z` and :math:`-\sum \mu z z^\top`. The
    Poisson part is summed per covariate pattern (its sufficient statistics: events and exposure
    per piece), the interval part per unit. Newton–Raphson runs from a constant rate
    (:math:`\beta = 0`) with step halving, and a Levenberg shift where the observed information
    is not positive definite (the interval term makes :math:`\ell` non-concave in general), until
    the largest step is below *tol* — with quadratic convergence the estimate is then exact to
    rounding. Standard errors are from the observed information at the estimate.

    With one piece (``cuts=[0, inf]``) the model is R's
    ``survreg(Surv(L, R, type = "interval2") ~ x, dist = "exponential")`` with
    :math:`\alpha = -\text{(Intercept)}` and :math:`\beta = -\text{coef}`; the tests pin both that
    and an independent R maximisation with several pieces and with delayed entry
    (``tests/reference/make_interval_reference.R``) to 1e-8.

    Examples
    --------
    >>> df = pd.DataFrame({"L": [0.0, 1, 2, 0.5, 3], "R": [1.0, 2, None, 0.5, 4]})
    >>> fit = interval_pem(df, lower="L", upper="R", cuts=[0, float("inf")])
    >>> round(float(fit.coef[0]), 6)
    -0.677213
    """
    c = _check_cuts(cuts)
    if not 0 < conf_level < 1:
        raise SpecError(f"conf_level must be strictly between 0 and 1; got {conf_level!r}")
    covariates = list(covariates)
    lo, hi, e = _interval_bounds(
        df, lower=lower, upper=upper, entry=entry,
        others=[("covariate", col) for col in covariates],
    )  # fmt: skip
    e = np.zeros(lo.size) if e is None else e
    exact = lo == hi
    right = np.isinf(hi)
    ic = ~exact & ~right
    lp = np.maximum(lo, e)
    finite = np.concatenate([lp, hi[~right], e])
    if np.any(finite > c[-1]):
        rows = np.flatnonzero((lp > c[-1]) | (~right & (hi > c[-1])) | (e > c[-1]))
        raise DataError(
            Problem(
                f"times beyond the last cut point {c[-1]:g}",
                "add a last cut point inf (or one beyond every time)",
                f"{lower}, {upper}",
                df.index[rows].tolist(),
            )
        )
    eff_names, Xu = _effects(df, covariates, reference)
    K = c.size - 1
    names = [f"interval[({_fmt(a)},{_fmt(b)}]]" for a, b in zip(c[:-1], c[1:], strict=True)]
    names += eff_names
    piece = np.searchsorted(c, lo, side="left") - 1  # c_k < t <= c_k+1 (used for exact units)
    ev_unit = np.zeros((lo.size, K))
    ev_unit[np.flatnonzero(exact), piece[exact]] = 1.0
    ex_unit = _exposure(lp, c) - _exposure(e, c)
    pat, inv = np.unique(Xu, axis=0, return_inverse=True)
    inv = inv.ravel()
    events = np.zeros((pat.shape[0], K))
    exposure = np.zeros((pat.shape[0], K))
    np.add.at(events, inv, ev_unit)
    np.add.at(exposure, inv, ex_unit)
    U = _exposure(hi[ic], c) - _exposure(lp[ic], c)
    terms = _Terms(events=events, exposure=exposure, X=pat, U=U, Xi=Xu[ic])
    _check_rank(names, np.concatenate([events + exposure, U]), Xu, K)

    # start: one rate for all pieces, events over time at risk (interval units at mid-interval)
    at_risk = float(np.sum(lp - e) + np.sum((hi[ic] - lp[ic]) / 2.0))
    rate0 = (exact.sum() + ic.sum() + 0.5) / max(at_risk, 1e-12)
    theta0 = np.concatenate([np.full(K, np.log(rate0)), np.zeros(Xu.shape[1])])
    theta, ll, _grad, hess, n_iter, converged = _newton(
        terms, theta0, K, tol=tol, max_iter=max_iter
    )
    if not converged:
        warnings.warn(
            f"interval_pem did not converge in {max_iter} Newton steps; estimates are unreliable",
            RuntimeWarning,
            stacklevel=2,
        )
    try:
        cov = linalg.inv(-hess)
    except linalg.LinAlgError:
        cov = np.full_like(hess, np.nan)
    se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
    z = theta / se
    zq = stats.norm.ppf(1 - (1 - conf_level) / 2)
    return IntervalPEMResult(
        names=names,
        coef=theta,
        se=se,
        z=z,
        p_value=2 * stats.norm.sf(np.abs(z)),
        lower=theta - zq * se,
        upper=theta + zq * se,
        cov=cov,
        loglik=ll,
        n_iter=n_iter,
        converged=converged,
        conf_level=conf_level,
        cuts=c,
        n_baseline=K,
        counts={
            "exact": int(exact.sum()),
            "interval": int(np.sum(ic & (lp > e))),
            "left": int(np.sum(ic & (lp == e))),
            "right": int(right.sum()),
        },
    )


def _check_rank(names: list[str], reach: np.ndarray, X: np.ndarray, K: int) -> None:
    """Raise when a piece is never at risk or the effects are collinear (the MLE is undefined)."""
    problems = []
    unused = np.flatnonzero(reach.sum(axis=0) == 0)
    if unused.size:
        problems.append(
            "no unit is followed in piece(s) "
            + ", ".join(names[k] for k in unused)
            + ": their rates are not estimable; merge them with a neighbour (change cuts)"
        )
    if X.shape[1]:
        full = np.column_stack([np.ones(X.shape[0]), X])
        if np.linalg.matrix_rank(full) < full.shape[1]:
            problems.append(
                "the covariates' columns are collinear with each other or constant: "
                + ", ".join(names[K:])
            )
    if problems:
        raise SpecError(problems)
