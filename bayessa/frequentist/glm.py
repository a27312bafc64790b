r"""Poisson GLM with a log-exposure offset, fitted by IRLS; the piecewise-exponential model (PEM).

The maximum-likelihood counterpart of the Bayesian PEM: with events :math:`y_i` and exposure
:math:`E_i` per cell, :math:`y_i \sim \text{Poisson}(E_i \exp(x_i^\top\beta))`. Matches R's
``glm(family = poisson, offset = log(exposure))`` to the tolerance of the convergence criterion.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from bayessa.errors import DataError, Problem, SpecError
from bayessa.frequentist import _design

__all__ = ["GLMResult", "PEMResult", "poisson_glm", "poisson_pem"]


@dataclass(frozen=True, repr=False)
class GLMResult:
    r"""Poisson GLM fit. Arrays are in the order of *names*.

    Parameters
    ----------
    names : list of str
        Coefficient names (the columns of the design matrix).
    coef, se, z, p_value, lower, upper : numpy.ndarray
        Estimates, standard errors (inverse Fisher information), Wald z, two-sided p and Wald
        limits at *conf_level*.
    cov : numpy.ndarray
        Inverse Fisher information :math:`(X^\top W X)^{-1}` at the estimate.
    loglik, deviance, aic : float
        Log-likelihood (with the :math:`-\log y!` term, as R's ``logLik``), residual deviance,
        :math:`-2\ell + 2p`.
    df_residual : int
        Cells minus coefficients.
    n_iter : int
        IRLS iterations run.
    converged : bool
        Whether the relative change of the deviance fell below the tolerance.
    conf_level : float
        Confidence level of ``lower`` and ``upper``.
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
    deviance: float
    aic: float
    df_residual: int
    n_iter: int
    converged: bool
    conf_level: float

    @property
    def table(self) -> pd.DataFrame:
        """One row per coefficient: ``coef``, ``se``, ``z``, ``p_value``, ``lower``, ``upper``."""
        return pd.DataFrame(
            {
                "coef": self.coef,
                "se": self.se,
                "z": self.z,
                "p_value": self.p_value,
                "lower": self.lower,
                "upper": self.upper,
            },
            index=pd.Index(self.names, name="term"),
        )

    def summary(self) -> str:
        """Coefficient table and fit statistics as text.

        Returns
        -------
        str
            The coefficient table, then log-likelihood, deviance (df) and AIC.
        """
        status = "converged" if self.converged else "NOT converged"
        return (
            f"Poisson GLM, log link, log(exposure) offset ({status} in {self.n_iter} iterations)\n"
            f"{self.table.to_string(float_format=lambda v: f'{v:.4g}')}\n"
            f"log-likelihood {self.loglik:.6g}, deviance {self.deviance:.6g} on "
            f"{self.df_residual} df, AIC {self.aic:.6g}"
        )

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"GLMResult(p={len(self.names)}, loglik={self.loglik:.6g}, converged={self.converged})"
        )


def _check_glm_input(
    y: np.ndarray, exposure: np.ndarray, X: np.ndarray, names: Sequence[str]
) -> list[Problem]:
    problems: list[Problem] = []
    n = y.shape[0]
    if y.ndim != 1 or exposure.shape != (n,) or X.ndim != 2 or X.shape[0] != n:
        return [
            Problem(
                f"shapes do not match: events {y.shape}, exposure {exposure.shape}, X {X.shape}",
                "give one events and exposure value and one row of X per cell",
            )
        ]
    if len(names) != X.shape[1]:
        problems.append(
            Problem(f"{len(names)} names for {X.shape[1]} columns of X", "one name per column")
        )
    if n == 0:
        problems.append(Problem("no cells", "give at least one cell"))
    bad_y = np.flatnonzero(~np.isfinite(y) | (y < 0))
    if bad_y.size:
        problems.append(
            Problem(
                "event counts missing, infinite or negative",
                "events must be finite and >= 0",
                "events",
                bad_y.tolist(),
            )
        )
    bad_e = np.flatnonzero(~np.isfinite(exposure) | (exposure <= 0))
    if bad_e.size:
        problems.append(
            Problem(
                "exposure missing, infinite or not positive",
                "exposure must be finite and > 0; drop cells with no exposure",
                "exposure",
                bad_e.tolist(),
            )
        )
    bad_x = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad_x.size:
        problems.append(
            Problem(
                "design matrix has missing or infinite values",
                "fix the covariates",
                None,
                bad_x.tolist(),
            )
        )
    return problems


def poisson_glm(
    events: np.ndarray | Sequence[float],
    exposure: np.ndarray | Sequence[float],
    X: np.ndarray,
    names: Sequence[str],
    *,
    conf_level: float = 0.95,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> GLMResult:
    r"""Maximum-likelihood Poisson regression with offset :math:`\log(\text{exposure})`.

    Parameters
    ----------
    events : array_like, shape (n,)
        Event counts per cell (>= 0; need not be integers, as with weighted data).
    exposure : array_like, shape (n,)
        Person-time per cell (> 0).
    X : array_like, shape (n, p)
        Design matrix of full column rank (include the baseline columns; no intercept is added).
    names : sequence of str, length p
    conf_level : float
        Coverage of the Wald intervals.
    tol : float
        Convergence when :math:`|D_k - D_{k-1}| / (|D_k| + 0.1) < \text{tol}` (R's criterion,
        with R's default ``1e-8`` tightened).
    max_iter : int

    Returns
    -------
    GLMResult

    Notes
    -----
    The log link is canonical, so IRLS is Newton's method: with
    :math:`\mu = E \exp(X\beta)`, :math:`W = \operatorname{diag}(\mu)` and working response
    :math:`z = X\beta + (y - \mu)/\mu`, iterate :math:`\beta \leftarrow (X^\top W X)^{-1}
    X^\top W z` (solved by QR of :math:`W^{1/2}X`) from R's start :math:`\mu = y + 0.1`,
    halving the step if the deviance is not finite or increases.

    .. math::

        \ell = \sum_i y_i \log\mu_i - \mu_i - \log y_i!, \qquad
        D = 2 \sum_i \{ y_i \log(y_i/\mu_i) - (y_i - \mu_i) \}, \qquad
        \widehat{\operatorname{cov}}(\hat\beta) = (X^\top \hat W X)^{-1}.

    A cell pattern with no events drives its coefficient towards :math:`-\infty`; as in R the
    deviance still converges and the estimate is large and negative with a huge standard error.
    A ``RuntimeWarning`` is issued if *max_iter* is reached.
    """
    y = np.asarray(events, dtype=np.float64)
    off_e = np.asarray(exposure, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    names = [str(n) for n in names]
    problems = _check_glm_input(y, off_e, X, names)
    if problems:
        raise DataError(problems)
    if not 0 < conf_level < 1:
        raise SpecError(f"conf_level must be strictly between 0 and 1; got {conf_level!r}")
    _check_rank(X, names)
    beta, mu, dev, n_iter, converged = _irls(y, X, np.log(off_e), tol=tol, max_iter=max_iter)
    if not converged:
        warnings.warn(
            f"Poisson GLM did not converge in {max_iter} iterations; estimates are unreliable",
            RuntimeWarning,
            stacklevel=2,
        )
    rr = np.linalg.qr(X * np.sqrt(mu)[:, None], mode="r")
    rinv = linalg.solve_triangular(rr, np.eye(X.shape[1]))
    cov = rinv @ rinv.T
    se = np.sqrt(np.diag(cov))
    z = beta / se
    zq = stats.norm.ppf(1 - (1 - conf_level) / 2)
    loglik = float(np.sum(special.xlogy(y, mu) - mu - special.gammaln(y + 1)))
    return GLMResult(
        names=names,
        coef=beta,
        se=se,
        z=z,
        p_value=2 * stats.norm.sf(np.abs(z)),
        lower=beta - zq * se,
        upper=beta + zq * se,
        cov=cov,
        loglik=loglik,
        deviance=dev,
        aic=-2 * loglik + 2 * X.shape[1],
        df_residual=int(y.size - X.shape[1]),
        n_iter=n_iter,
        converged=converged,
        conf_level=conf_level,
    )


def _check_rank(X: np.ndarray, names: list[str]) -> None:
    """Raise naming the aliased columns when ``X`` is rank deficient (pivoted QR)."""
    q, r, piv = linalg.qr(X, mode="economic", pivoting=True)
    rank = int(np.sum(np.abs(np.diag(r)) > 1e-9 * abs(r[0, 0]))) if r.size else 0
    if rank < X.shape[1]:
        aliased = sorted(piv[rank:].tolist())
        raise DataError(
            Problem(
                "the design matrix is rank deficient: column(s) "
                + ", ".join(names[i] for i in aliased)
                + " are linear combinations of the others",
                "drop those terms or merge levels that have no cells of their own",
            )
        )


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    return float(2.0 * np.sum(special.xlogy(y, y) - special.xlogy(y, mu) - (y - mu)))


def _irls(y, X, offset, *, tol: float, max_iter: int):
    """IRLS from R's start with step halving (see :func:`poisson_glm`'s Notes).

    Returns
    -------
    beta, mu, deviance, n_iter, converged
    """

    def wls(mu: np.ndarray, eta: np.ndarray) -> np.ndarray:
        sw = np.sqrt(mu)
        z = eta - offset + (y - mu) / mu
        qq, rr = np.linalg.qr(X * sw[:, None])
        return linalg.solve_triangular(rr, qq.T @ (z * sw))

    mu = y + 0.1
    beta = wls(mu, np.log(mu))
    eta = X @ beta + offset
    with np.errstate(over="ignore"):
        mu = np.exp(eta)
        dev = _deviance(y, mu)
    converged, n_iter = False, 1
    while n_iter < max_iter:
        n_iter += 1
        new = wls(mu, eta)
        for _ in range(60):  # step halving
            with np.errstate(over="ignore", invalid="ignore"):
                eta_new = X @ new + offset
                mu_new = np.exp(eta_new)
                dev_new = _deviance(y, mu_new)
            if np.isfinite(dev_new) and dev_new <= dev * (1 + 1e-12) + 1e-12:
                break
            new = (new + beta) / 2.0
        crit = abs(dev_new - dev) / (abs(dev_new) + 0.1)
        beta, eta, mu, dev = new, eta_new, mu_new, dev_new
        if crit < tol:
            converged = True
            break
    return beta, mu, dev, n_iter, converged


@dataclass(frozen=True, repr=False)
class PEMResult:
    """Piecewise-exponential model fitted as a Poisson GLM.

    Parameters
    ----------
    glm : GLMResult
        The full fit (baseline and effects).
    table : pandas.DataFrame
        One row per effect (index ``term``, e.g. ``leader[professional]``,
        ``leader[professional]:era[formal]``): ``log_hr``, ``se``, ``z``, ``p_value``,
        ``lower``, ``upper`` (log scale), ``hr``, ``hr_lower``, ``hr_upper``.
    baseline : pandas.DataFrame
        One row per interval (index ``interval[level]``): ``log_rate``, ``se``, ``lower``,
        ``upper`` and ``rate`` (hazard in the reference group, events per unit exposure).
    """

    glm: GLMResult
    table: pd.DataFrame
    baseline: pd.DataFrame

    def summary(self) -> str:
        """Hazard-ratio table and baseline as text.

        Returns
        -------
        str
            The hazard-ratio table, the baseline table, log-likelihood and deviance (df).
        """
        fmt = lambda v: f"{v:.4g}"  # noqa: E731
        return (
            f"Piecewise-exponential model (Poisson GLM, {self.glm.conf_level:.0%} Wald limits)\n\n"
            f"Hazard ratios:\n{self.table.to_string(float_format=fmt)}\n\n"
            f"Baseline hazard (reference group):\n{self.baseline.to_string(float_format=fmt)}\n\n"
            f"log-likelihood {self.glm.loglik:.6g}, deviance {self.glm.deviance:.6g} on "
            f"{self.glm.df_residual} df"
        )

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"PEMResult(effects={list(self.table.index)})"


def poisson_pem(
    cells: pd.DataFrame,
    *,
    covariates: Sequence[str] = (),
    interactions: Iterable[tuple[str, str]] = (),
    design: tuple[Sequence[str], np.ndarray] | None = None,
    interval: str = "interval",
    events: str = "events",
    exposure: str = "exposure",
    reference: Mapping[str, Hashable] | None = None,
    conf_level: float = 0.95,
) -> PEMResult:
    r"""Fit :math:`\log h = \text{baseline}[\text{interval}] + X\beta` to aggregated cells.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per cell (interval x covariate pattern) with event counts and exposure.
    covariates : list of str
        Main effects. Non-numeric, boolean and categorical columns are treatment-coded against
        their first level (sorted, or category order) unless *reference* names another; numeric
        columns enter linearly (name a numeric column in *reference* to code it as categorical).
    interactions : iterable of (str, str)
        Pairwise interactions between covariates, named ``a[x]:b[y]``.
    design : (names, X), optional
        Effect columns built elsewhere, ``X`` of shape ``(n_cells, p)``, used instead of
        *covariates* and *interactions*: any formula the model takes (numeric covariates,
        transforms, three-way interactions), e.g. a fit's ``Design`` (``design.coef_names``,
        ``design.X``) or :meth:`bayessa.posterior.predict.DesignInfo.rows` of the cells.
    interval, events, exposure : str
        Column names.
    reference : dict, optional
        Reference level per covariate.
    conf_level : float

    Returns
    -------
    PEMResult

    Notes
    -----
    Equivalent to R's
    ``glm(events ~ 0 + factor(interval) + x1 + x2 + x1:x2, family = poisson,
    offset = log(exposure))``: one log-rate per interval (no intercept) and treatment contrasts.
    Because the Poisson kernel depends on the data only through events and exposure per cell,
    fitting aggregated cells gives the same estimates as fitting one row per unit and interval.
    """
    interactions = [tuple(p) for p in interactions]
    _check_cells(cells, [interval, events, exposure, *covariates], events, exposure)
    if design is not None:
        names, X, n_base = _design.given_design(cells, interval, design, covariates)
    else:
        names, X, n_base = _design.pem_design(
            cells,
            interval=interval,
            covariates=list(covariates),
            interactions=interactions,
            reference=reference,
        )
    try:
        fit = poisson_glm(
            cells[events].to_numpy(np.float64),
            cells[exposure].to_numpy(np.float64),
            X,
            names,
            conf_level=conf_level,
        )
    except DataError as err:  # report cell row labels rather than positions
        labels = cells.index
        raise DataError(
            [
                Problem(p.what, p.fix, p.column, [labels[i] for i in p.ids])
                if isinstance(p, Problem)
                else p
                for p in err.problems
            ]
        ) from None
    tab = fit.table.drop(columns="coef").assign(log_hr=fit.coef)
    effects = tab.iloc[n_base:][["log_hr", "se", "z", "p_value", "lower", "upper"]]
    effects = effects.assign(
        hr=np.exp(effects["log_hr"]),
        hr_lower=np.exp(effects["lower"]),
        hr_upper=np.exp(effects["upper"]),
    )
    base = tab.iloc[:n_base][["log_hr", "se", "lower", "upper"]].rename(
        columns={"log_hr": "log_rate"}
    )
    base = base.assign(rate=np.exp(base["log_rate"]))
    return PEMResult(glm=fit, table=effects, baseline=base)


def _check_cells(cells: pd.DataFrame, needed: list[str], events: str, exposure: str) -> None:
    """Raise naming absent columns, missing values (with cell labels) and non-numeric counts."""
    absent = [c for c in dict.fromkeys(needed) if c not in cells.columns]
    if absent:
        raise DataError(
            [
                Problem(
                    f"column '{c}' not found",
                    "pass the name of a column of the cells table "
                    f"({', '.join(map(str, cells.columns[:20]))})",
                    c,
                )
                for c in absent
            ]
        )
    missing = [
        Problem("missing values", "fill in or drop these cells", c, cells.index[m].tolist())
        for c in dict.fromkeys(needed)
        if (m := cells[c].isna().to_numpy()).any()
    ]
    nonnum = [
        Problem("non-numeric values", "events and exposure must be numbers", c)
        for c in (events, exposure)
        if not pd.api.types.is_numeric_dtype(cells[c].dtype)
        or pd.api.types.is_bool_dtype(cells[c].dtype)
    ]
    if missing or nonnum or len(cells) == 0:
        raise DataError(missing + nonnum or [Problem("no cells", "give at least one cell")])
