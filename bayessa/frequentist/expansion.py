r"""Classical tests of the expansion analysis: founding-rate ratios and the composition of new units.

The frequentist counterpart of the expansion models (``bayessa.growth``), from plain tables:

* :func:`founding_rate_ratios`: counts of new units per cell (era, and optionally calendar slice
  and cluster) with their exposure in years, fitted by a Poisson or negative-binomial GLM with a
  :math:`\log(\text{years})` offset: rate ratios between eras, the likelihood-ratio test of no
  era effect, Pearson's dispersion and the rate of each era. Matches R's
  ``glm(family = poisson)`` and ``MASS::glm.nb``.
* :func:`composition_tests`: a trait of new units (leader type, setting) by era -- Pearson's
  chi-square test and Fisher's exact test, as R's ``chisq.test`` and ``fisher.test``.

These are the tests of the study's own time. Conventions, R commands and tolerances:
``docs/frequentist.md``; the numbers are pinned to R by
``tests/frequentist/test_expansion_reference.py``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, optimize, special, stats

from bayessa.errors import DataError, Problem, SpecError

__all__ = [
    "CompositionTestResult",
    "FoundingRateResult",
    "composition_tests",
    "founding_rate_ratios",
]

Family = Literal["poisson", "negbin"]

#: FEXACT's tolerance (R's fisher.test for tables larger than 2 x 2): a table is as extreme as
#: the observed one when log P <= log P_obs + 3.45254e-7.
_FEXACT_TOL = 3.45254e-7
#: fisher.test's relative tolerance for 2 x 2 tables: P <= P_obs * (1 + 1e-7).
_REL_ERR_2X2 = 1 + 1e-7
_EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------- input checks


def _levels(values: pd.Series) -> tuple[np.ndarray, list[Hashable]]:
    """Integer codes and levels: categorical -> category order (unused dropped), else sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.cat.remove_unused_categories()
        return values.cat.codes.to_numpy(np.int64), list(values.cat.categories)
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # mixed types: sort by their text
        codes, uniques = pd.factorize(values.astype(str), sort=True)
    return codes.astype(np.int64), list(uniques)


def _check_columns(df: pd.DataFrame, needed: list[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(
            Problem(f"{what} must be a pandas DataFrame, got {type(df).__name__}",
                    "pass a DataFrame with one row per " + ("cell" if what == "counts" else "unit"))
        )  # fmt: skip
    absent = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if absent:
        shown = ", ".join(map(str, df.columns[:20]))
        raise DataError(
            [Problem(f"column '{c}' not found", f"pass the name of a column of {what} ({shown})", c)
             for c in absent]
        )  # fmt: skip
    if len(df) == 0:
        raise DataError(Problem(f"{what} has no rows", "give at least one row"))
    missing = [
        Problem("missing values", "fill in or drop these rows", c, df.index[m].tolist())
        for c in dict.fromkeys(needed)
        if (m := df[c].isna().to_numpy()).any()
    ]
    if missing:
        raise DataError(missing)


def _count_column(df: pd.DataFrame, col: str, problems: list[Problem]) -> np.ndarray:
    raw = df[col]
    if not pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        problems.append(Problem("non-numeric counts", "counts of new units must be numbers", col))
        return np.zeros(len(df))
    y = raw.to_numpy(np.float64)
    bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
    if bad.any():
        problems.append(
            Problem("counts infinite, negative or not whole numbers",
                    "counts of new units must be integers >= 0", col, df.index[bad].tolist())
        )  # fmt: skip
    return y


def _exposure_column(df: pd.DataFrame, col: str, problems: list[Problem]) -> np.ndarray:
    raw = df[col]
    if not pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        problems.append(Problem("non-numeric exposure", "exposure (years) must be numbers", col))
        return np.ones(len(df))
    t = raw.to_numpy(np.float64)
    bad = ~np.isfinite(t) | (t <= 0)
    if bad.any():
        problems.append(
            Problem("exposure infinite, zero or negative",
                    "each cell needs a positive length in years; drop cells with no exposure",
                    col, df.index[bad].tolist())
        )  # fmt: skip
    return t


def _check_conf_level(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise SpecError(f"conf_level must be strictly between 0 and 1; got {conf_level!r}")
    return float(stats.norm.ppf(1 - (1 - conf_level) / 2))


# ----------------------------------------------------------------------------- GLM fitting


@dataclass
class _Fit:
    beta: np.ndarray
    cov: np.ndarray
    mu: np.ndarray
    loglik: float
    deviance: float
    pearson: float
    theta: float | None = None
    theta_se: float | None = None
    notes: list[str] = field(default_factory=list)


def _variance(mu: np.ndarray, theta: float | None) -> np.ndarray:
    return mu if theta is None else mu + mu * mu / theta


def _deviance(y: np.ndarray, mu: np.ndarray, theta: float | None) -> float:
    if theta is None:
        return float(2.0 * np.sum(special.xlogy(y, y) - special.xlogy(y, mu) - (y - mu)))
    # MASS negative.binomial()$dev.resids
    return float(
        2.0 * np.sum(special.xlogy(y, np.maximum(y, 1.0) / mu)
                     - (y + theta) * np.log((y + theta) / (mu + theta)))
    )  # fmt: skip


def _loglik(y: np.ndarray, mu: np.ndarray, theta: float | None) -> float:
    if theta is None:
        return float(np.sum(special.xlogy(y, mu) - mu - special.gammaln(y + 1)))
    # MASS glm.nb's loglik()
    return float(
        np.sum(special.gammaln(theta + y) - special.gammaln(theta) - special.gammaln(y + 1)
               + theta * np.log(theta) + y * np.log(mu + (y == 0))
               - (theta + y) * np.log(theta + mu))
    )  # fmt: skip


def _irls(
    y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray,
    theta: float | None,
    beta: np.ndarray | None,
    *,
    tol: float = 1e-13,
    max_iter: int = 200,
) -> tuple[np.ndarray, np.ndarray]:
    """IRLS for the log link with Poisson (``theta=None``) or NB(theta) variance.

    Starts at *beta*, or at R's start (Poisson ``mu = y + 0.1``, NB ``mu = y + (y == 0)/6``);
    halves the step when the deviance is not finite or increases; stops when
    :math:`|D_k - D_{k-1}| / (|D_k| + 0.1) <` *tol*. Returns ``beta, mu``.
    """

    def wls(mu: np.ndarray, eta: np.ndarray) -> np.ndarray:
        w = mu / (1.0 + mu / theta) if theta is not None else mu
        sw = np.sqrt(w)
        z = eta - offset + (y - mu) / mu
        qq, rr = np.linalg.qr(X * sw[:, None])
        return linalg.solve_triangular(rr, qq.T @ (z * sw))

    if beta is None:
        mu = y + 0.1 if theta is None else y + (y == 0) / 6.0
        beta = wls(mu, np.log(mu))
    eta = X @ beta + offset
    with np.errstate(over="ignore"):
        mu = np.exp(eta)
        dev = _deviance(y, mu, theta)
    for _ in range(max_iter):
        new = wls(mu, eta)
        for _ in range(60):  # step halving
            with np.errstate(over="ignore", invalid="ignore"):
                eta_new = X @ new + offset
                mu_new = np.exp(eta_new)
                dev_new = _deviance(y, mu_new, theta)
            if np.isfinite(dev_new) and dev_new <= dev * (1 + 1e-12) + 1e-12:
                break
            new = (new + beta) / 2.0
        crit = abs(dev_new - dev) / (abs(dev_new) + 0.1)
        # a (near-)saturated model's deviance is rounding noise around 0: then the step decides
        step = np.max(np.abs(new - beta)) if beta is not None else np.inf
        beta, eta, mu, dev = new, eta_new, mu_new, dev_new
        if crit < tol or step < 1e-12 * (1.0 + np.max(np.abs(beta))):
            return beta, mu
    raise RuntimeError(f"IRLS did not converge in {max_iter} iterations")


def _theta_score_info(y: np.ndarray, mu: np.ndarray, th: float) -> tuple[float, float]:
    """MASS theta.ml's score and (observed) information for theta."""
    score = np.sum(special.digamma(th + y) - special.digamma(th) + np.log(th) + 1
                   - np.log(th + mu) - (y + th) / (mu + th))  # fmt: skip
    info = np.sum(-special.polygamma(1, th + y) + special.polygamma(1, th) - 1 / th
                  + 2 / (mu + th) - (y + th) / (mu + th) ** 2)  # fmt: skip
    return float(score), float(info)


def _theta_ml(y: np.ndarray, mu: np.ndarray, start: float | None) -> float:
    """Newton's method for the NB theta given mu (MASS theta.ml), iterated to convergence.

    Returns ``inf`` when the likelihood increases without bound in theta (no overdispersion).
    """
    if start is None:  # MASS's moment start, n / sum((y/mu - 1)^2)
        den = float(np.sum((y / mu - 1) ** 2))
        start = len(y) / den if den > 0 else 1.0
    th = start
    for _ in range(500):
        th = abs(th)
        if not np.isfinite(th) or th > 1e10:
            return math.inf
        score, info = _theta_score_info(y, mu, th)
        if info <= 0:  # not concave here: move in the direction of the score
            new = th * (4.0 if score > 0 else 0.25)
        else:
            new = th + score / info
            if new <= 0:
                new = th / 10.0
        if abs(new - th) <= 1e-13 * new:
            return float(new)
        th = new
    return math.inf if th > 1e6 else float(th)


def _fit(y: np.ndarray, X: np.ndarray, offset: np.ndarray, family: Family) -> _Fit:
    """Fit the GLM (NB: alternating IRLS for beta and Newton for theta, as MASS glm.nb)."""
    beta, mu = _irls(y, X, offset, None, None)
    theta: float | None = None
    notes: list[str] = []
    if family == "negbin":
        th = _theta_ml(y, mu, None)
        b = beta
        for _ in range(500):
            if not np.isfinite(th):
                break
            b, mu = _irls(y, X, offset, th, b)
            new = _theta_ml(y, mu, th)
            done = np.isfinite(new) and abs(new - th) <= 1e-12 * new
            th = new
            if done:
                break
        else:
            raise RuntimeError("the negative-binomial fit did not converge (theta alternation)")
        if np.isfinite(th):
            beta, mu = _irls(y, X, offset, th, b)
            theta = th
        else:
            warnings.warn(
                "negative binomial: theta -> infinity (no overdispersion beyond the Poisson "
                "variance); the fit is the Poisson fit. R's glm.nb warns 'iteration limit "
                "reached' here. Use family='poisson'.",
                RuntimeWarning,
                stacklevel=3,
            )
            notes.append("theta -> infinity: the NB fit reduced to the Poisson fit")
            theta = math.inf
    th_var = None if theta is None or not np.isfinite(theta) else theta
    w = mu / (1.0 + mu / th_var) if th_var is not None else mu
    rr = np.linalg.qr(X * np.sqrt(w)[:, None], mode="r")
    rinv = linalg.solve_triangular(rr, np.eye(X.shape[1]))
    theta_se = None
    if th_var is not None:
        theta_se = 1.0 / math.sqrt(_theta_score_info(y, mu, th_var)[1])
    elif theta is not None:
        theta_se = math.nan
    return _Fit(
        beta=beta,
        cov=rinv @ rinv.T,
        mu=mu,
        loglik=_loglik(y, mu, th_var),
        deviance=_deviance(y, mu, th_var),
        pearson=float(np.sum((y - mu) ** 2 / _variance(mu, th_var))),
        theta=theta,
        theta_se=theta_se,
        notes=notes,
    )


def _indicators(codes: np.ndarray, levels: list[int]) -> np.ndarray:
    return (codes[:, None] == np.asarray(levels)[None, :]).astype(np.float64)


def _full_rank(X: np.ndarray) -> bool:
    if X.shape[1] == 0:
        return True
    _, r, _ = linalg.qr(X, mode="economic", pivoting=True)
    return int(np.sum(np.abs(np.diag(r)) > 1e-9 * abs(r[0, 0]))) == X.shape[1]


# ----------------------------------------------------------------------------- rate ratios


@dataclass(frozen=True, repr=False)
class FoundingRateResult:
    r"""Founding-rate ratios between eras from a Poisson or negative-binomial GLM.

    Parameters
    ----------
    family : {"poisson", "negbin"}
    eras : tuple
        Era levels in their order (category order, or sorted).
    reference : hashable
        The reference era.
    cluster : str or None
        The cluster column (fixed effects), if any.
    rates : pandas.DataFrame
        One row per era (index ``era``): ``groups`` and ``years`` (sums over the era's rows),
        ``rate`` (per unit of *years*), ``se_log`` (standard error of :math:`\log` rate),
        ``lower``, ``upper`` (Wald, on the log scale) and, for the Poisson family,
        ``exact_lower``, ``exact_upper`` (Garwood's exact interval, R's ``poisson.test``; NaN for
        the NB family).
    ratios : pandas.DataFrame
        One row per contrast: ``era``, ``versus``, ``kind`` (``"reference"``: each era vs the
        reference; ``"consecutive"``: each era vs the one before), ``log_rr``, ``se``, ``z``,
        ``p_value``, ``rate_ratio``, ``lower``, ``upper`` (Wald).
    tests : pandas.DataFrame
        Index ``test``: ``"lr_era"`` (LR test of no era effect), ``"pearson_dispersion"``
        (Pearson's :math:`X^2` on the residual df) and, for the NB family,
        ``"lr_poisson_vs_negbin"``; columns ``statistic``, ``df``, ``p_value``.
    coefficients : pandas.DataFrame
        The fit in cell-means form (index ``term``: ``era[<level>]`` = log rate of the era in
        the reference cluster, ``<cluster>[<level>]`` = log rate ratio to the reference
        cluster): ``coef``, ``se``, ``z``, ``p_value``.
    cov : numpy.ndarray
        Covariance of the coefficients, in the order of ``coefficients``.
    loglik, deviance, aic : float
        Log-likelihood (with :math:`-\log y!`), residual deviance, AIC (R's: :math:`-2\ell +
        2p`, NB :math:`+2` more for theta; *p* counts every level's coefficient).
    df_residual : int
        Rows minus coefficients (R's count).
    dispersion : float
        Pearson :math:`X^2` / ``df_residual`` (NaN when ``df_residual`` is 0).
    theta, theta_se : float or None
        NB shape :math:`\theta` (variance :math:`\mu + \mu^2/\theta`) and its standard error.
    conf_level : float
    notes : tuple of str
        Levels without foundings, a degenerate theta.
    """

    family: str
    eras: tuple[Hashable, ...]
    reference: Hashable
    cluster: str | None
    rates: pd.DataFrame
    ratios: pd.DataFrame
    tests: pd.DataFrame
    coefficients: pd.DataFrame
    cov: np.ndarray
    loglik: float
    deviance: float
    aic: float
    df_residual: int
    dispersion: float
    theta: float | None
    theta_se: float | None
    conf_level: float
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """Rates, rate ratios and tests as text.

        Returns
        -------
        str
        """
        fmt = lambda v: f"{v:.4g}"  # noqa: E731
        fam = (
            "Poisson" if self.family == "poisson" else f"negative binomial (theta {self.theta:.4g})"
        )
        lines = [
            f"Founding rates by era: {fam} GLM, log(years) offset"
            + (f", {self.cluster} fixed effects" if self.cluster else "")
            + f" ({self.conf_level:.0%} Wald limits)",
            "",
            self.rates.to_string(float_format=fmt),
            "",
            self.ratios.to_string(float_format=fmt, index=False),
            "",
            self.tests.to_string(float_format=fmt),
            f"log-likelihood {self.loglik:.6g}, deviance {self.deviance:.6g} on "
            f"{self.df_residual} df, AIC {self.aic:.6g}",
        ]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"FoundingRateResult(family={self.family!r}, eras={list(self.eras)}, "
            f"reference={self.reference!r})"
        )


def founding_rate_ratios(
    counts: pd.DataFrame,
    *,
    groups: str = "groups",
    years: str = "years",
    era: str = "era",
    cluster: str | None = None,
    reference: Hashable | None = None,
    family: Family = "poisson",
    conf_level: float = 0.95,
) -> FoundingRateResult:
    r"""Rate ratios of new units between eras: Poisson (or negative-binomial) GLM with offset.

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per cell: the number of new units *groups* founded during *years* of exposure
        in era *era* (and cluster *cluster*). Cells can be whole eras, calendar slices of eras,
        or slices by cluster (e.g. ``bayessa.growth``'s founding counts).
    groups, years, era : str
        Column names: counts (integers >= 0), exposure in years (> 0), era.
    cluster : str, optional
        A column whose levels get fixed effects (e.g. county).
    reference : hashable, optional
        Reference era for the rate ratios; default the first era (category order for a
        categorical column, else sorted).
    family : {"poisson", "negbin"}
        ``"negbin"``: negative binomial with :math:`\theta` by maximum likelihood (MASS
        ``glm.nb``).
    conf_level : float
        Coverage of the Wald limits and exact intervals.

    Returns
    -------
    FoundingRateResult

    Raises
    ------
    DataError
        Missing columns or values, counts that are negative or not whole, exposure that is not
        positive, fewer than two eras, eras confounded with clusters.
    SpecError
        Unknown family or reference era, *conf_level* outside (0, 1).

    Notes
    -----
    The model, for cell *i* in era :math:`e(i)` and cluster :math:`c(i)`:

    .. math::

        N_i \sim \text{Poisson}(\mu_i) \text{ or } \text{NB}(\mu_i, \theta), \qquad
        \log\mu_i = \log t_i + \alpha_{e(i)} + \gamma_{c(i)}, \quad \gamma_1 = 0,

    with NB variance :math:`\mu + \mu^2/\theta`. It is R's
    ``glm(groups ~ era + cluster, offset = log(years), family = poisson)`` (or
    ``MASS::glm.nb(groups ~ era + cluster + offset(log(years)))``), fitted by IRLS to
    :math:`|\Delta D|/(|D| + 0.1) < 10^{-13}`; for the NB family IRLS for :math:`\beta`
    alternates with Newton's method for :math:`\theta` (MASS's ``theta.ml`` score and
    information) until :math:`\theta` changes by less than :math:`10^{-12}` relative.

    * Rate ratio of era *a* to era *b*: :math:`\exp(\hat\alpha_a - \hat\alpha_b)`, standard
      error :math:`\sqrt{c^\top V c}` from the inverse Fisher information *V* (for NB with
      :math:`\theta` treated as known, as ``summary.negbin``), Wald limits
      :math:`\exp(\log RR \mp z_{1-\alpha/2}\,\text{se})`.
    * LR test of no era effect: :math:`2(\ell_1 - \ell_0)` on :math:`E - 1` df, the null
      model without era (:math:`\log\mu_i = \log t_i + \gamma_{c(i)}`; NB with its own
      :math:`\theta`).
    * Pearson dispersion :math:`X^2 = \sum_i (N_i - \hat\mu_i)^2/V(\hat\mu_i)` and
      :math:`X^2/\text{df}`, with :math:`P(\chi^2_{\text{df}} > X^2)`: values well above 1
      suggest overdispersion (use ``family="negbin"``). For NB,
      :math:`2(\ell_{NB} - \ell_{P})` tests :math:`\theta = \infty` with
      :math:`p = P(\chi^2_1 > s)/2` (the boundary: a 50:50 mixture of :math:`\chi^2_0` and
      :math:`\chi^2_1`).
    * Rates: from the era-only model of the same family (the model itself without
      clusters); Poisson: :math:`\sum N / \sum t` per era with
      :math:`\text{se}(\log\text{rate}) = 1/\sqrt{\sum N}` and Garwood's exact interval
      :math:`[\chi^2_{2N,\alpha/2}/2T, \chi^2_{2N+2,1-\alpha/2}/2T]`. With one row per cluster
      the rate is per cluster-year.

    An era or cluster with no foundings at all has no finite MLE (its coefficient
    :math:`\to -\infty`); its rows are fitted with :math:`\hat\mu = 0`, where they contribute
    nothing to the likelihood (the limit R's ``glm`` approaches). Ratios involving such an era
    are 0 or ``inf`` with NaN standard error and limits; the LR test, deviance and the other
    estimates are exact. Degrees of freedom and AIC count every level, as R does.
    """
    if family not in ("poisson", "negbin"):
        raise SpecError(f"family must be 'poisson' or 'negbin'; got {family!r}")
    z = _check_conf_level(conf_level)
    needed = [groups, years, era] + ([cluster] if cluster is not None else [])
    _check_columns(counts, needed, "counts")
    problems: list[Problem] = []
    y = _count_column(counts, groups, problems)
    t = _exposure_column(counts, years, problems)
    if problems:
        raise DataError(problems)
    e_codes, eras = _levels(counts[era])
    if len(eras) < 2:
        raise DataError(
            Problem(f"only one era ({eras[0]!r}): rate ratios compare eras",
                    "give cells from at least two eras", era)
        )  # fmt: skip
    if reference is None:
        reference = eras[0]
    elif reference not in eras:
        raise SpecError(f"reference era {reference!r} is not an era of column '{era}': {eras}")
    E = len(eras)
    if cluster is not None:
        c_codes, clusters = _levels(counts[cluster])
    else:
        c_codes, clusters = np.zeros(len(y), np.int64), []
    offset = np.log(t)
    e_tot = np.bincount(e_codes, weights=y, minlength=E)
    zero_eras = [k for k in range(E) if e_tot[k] == 0]
    if len(zero_eras) == E:
        raise DataError(
            Problem("no foundings in any era", "rates cannot be compared without any count",
                    groups)
        )  # fmt: skip
    c_tot = np.bincount(c_codes, weights=y, minlength=max(len(clusters), 1))
    zero_cl = [k for k in range(len(clusters)) if c_tot[k] == 0]
    kept_eras = [k for k in range(E) if k not in zero_eras]
    kept_cl = [k for k in range(len(clusters)) if k not in zero_cl]
    notes = []
    if zero_eras:
        notes.append(
            "no foundings in era(s) " + ", ".join(map(str, (eras[k] for k in zero_eras)))
            + ": rate 0, ratios 0 / inf without standard errors"
        )  # fmt: skip
    if zero_cl:
        notes.append(
            f"no foundings in {len(zero_cl)} {cluster} level(s) ("
            + ", ".join(map(str, (clusters[k] for k in zero_cl)))
            + "): fitted as 0 (their fixed effects have no finite estimate)"
        )

    # full model: era (cell means) + cluster (treatment, first kept level as reference)
    rows = ~np.isin(e_codes, zero_eras) & ~np.isin(c_codes, zero_cl)
    X = np.hstack([_indicators(e_codes[rows], kept_eras),
                   _indicators(c_codes[rows], kept_cl[1:])])  # fmt: skip
    names = [f"era[{eras[k]}]" for k in kept_eras] + [f"{cluster}[{clusters[k]}]"
                                                       for k in kept_cl[1:]]  # fmt: skip
    if not _full_rank(X):
        raise DataError(
            Problem(f"era and {cluster} are confounded (the design is rank deficient)",
                    f"each {cluster} level must appear in more than one era, or drop "
                    f"cluster={cluster!r}", cluster)
        )  # fmt: skip
    full = _fit(y[rows], X, offset[rows], family)
    notes += full.notes

    # null model: no era
    rows0 = ~np.isin(c_codes, zero_cl)
    X0 = np.hstack([np.ones((int(rows0.sum()), 1)), _indicators(c_codes[rows0], kept_cl[1:])])
    null = _fit(y[rows0], X0, offset[rows0], family)
    # era-only model for the rates
    rows_e = ~np.isin(e_codes, zero_eras)
    if cluster is None:
        era_only = full
    elif family == "poisson":
        era_only = None  # closed form below
    else:
        era_only = _fit(y[rows_e], _indicators(e_codes[rows_e], kept_eras), offset[rows_e], family)

    p_full = E + max(len(clusters) - 1, 0)
    df_res = len(y) - p_full
    se = np.sqrt(np.diag(full.cov))
    zc = full.beta / se
    coefficients = pd.DataFrame(
        {"coef": full.beta, "se": se, "z": zc, "p_value": 2 * stats.norm.sf(np.abs(zc))},
        index=pd.Index(names, name="term"),
    )

    # rates per era
    years_e = np.bincount(e_codes, weights=t, minlength=E)
    rate = np.zeros(E)
    se_log = np.full(E, np.nan)
    if era_only is None:
        rate[kept_eras] = e_tot[kept_eras] / years_e[kept_eras]
        se_log[kept_eras] = 1.0 / np.sqrt(e_tot[kept_eras])
    else:
        rate[kept_eras] = np.exp(era_only.beta[: len(kept_eras)])
        se_log[kept_eras] = np.sqrt(np.diag(era_only.cov))[: len(kept_eras)]
    alpha = (1 - conf_level) / 2
    if family == "poisson":
        exact_lower = np.where(e_tot > 0, stats.gamma.ppf(alpha, np.maximum(e_tot, 1)), 0.0)
        exact_lower = exact_lower / years_e
        exact_upper = stats.gamma.ppf(1 - alpha, e_tot + 1) / years_e
    else:
        exact_lower = exact_upper = np.full(E, np.nan)
    rates = pd.DataFrame(
        {
            "groups": e_tot.astype(np.int64),
            "years": years_e,
            "rate": rate,
            "se_log": se_log,
            "lower": rate * np.exp(-z * se_log),
            "upper": rate * np.exp(z * se_log),
            "exact_lower": exact_lower,
            "exact_upper": exact_upper,
        },
        index=pd.Index(eras, name="era"),
    )

    # rate ratios from the era block of the covariance
    log_rate = np.full(E, -np.inf)
    log_rate[kept_eras] = full.beta[: len(kept_eras)]
    V = np.full((E, E), np.nan)
    V[np.ix_(kept_eras, kept_eras)] = full.cov[: len(kept_eras), : len(kept_eras)]
    ref = eras.index(reference)
    pairs = [(a, ref, "reference") for a in range(E) if a != ref]
    pairs += [(a, a - 1, "consecutive") for a in range(1, E)]
    out = []
    for a, b, kind in pairs:
        with np.errstate(invalid="ignore"):
            lr = log_rate[a] - log_rate[b]
        s = math.sqrt(V[a, a] + V[b, b] - 2 * V[a, b]) if np.isfinite(lr) else math.nan
        zz = lr / s if np.isfinite(lr) else math.nan
        out.append({
            "era": eras[a], "versus": eras[b], "kind": kind, "log_rr": lr, "se": s, "z": zz,
            "p_value": 2 * stats.norm.sf(abs(zz)), "rate_ratio": math.exp(lr),
            "lower": math.exp(lr - z * s), "upper": math.exp(lr + z * s),
        })  # fmt: skip
    ratios = pd.DataFrame(out)

    # tests
    lr_stat = 2.0 * (full.loglik - null.loglik)
    tests = {
        "lr_era": (lr_stat, E - 1, stats.chi2.sf(lr_stat, E - 1)),
        "pearson_dispersion": (
            full.pearson,
            df_res,
            stats.chi2.sf(full.pearson, df_res) if df_res > 0 else math.nan,
        ),
    }
    if family == "negbin":
        pois = _fit(y[rows], X, offset[rows], "poisson")
        s = max(2.0 * (full.loglik - pois.loglik), 0.0)
        tests["lr_poisson_vs_negbin"] = (s, 1, stats.chi2.sf(s, 1) / 2)
    tests_df = pd.DataFrame.from_dict(
        tests, orient="index", columns=["statistic", "df", "p_value"]
    ).rename_axis("test")
    return FoundingRateResult(
        family=family,
        eras=tuple(eras),
        reference=reference,
        cluster=cluster,
        rates=rates,
        ratios=ratios,
        tests=tests_df,
        coefficients=coefficients,
        cov=full.cov,
        loglik=full.loglik,
        deviance=full.deviance,
        aic=-2 * full.loglik + 2 * p_full + (2 if family == "negbin" else 0),
        df_residual=df_res,
        dispersion=full.pearson / df_res if df_res > 0 else math.nan,
        theta=full.theta,
        theta_se=full.theta_se,
        conf_level=conf_level,
        notes=tuple(notes),
    )


# ----------------------------------------------------------------------------- composition


@dataclass(frozen=True, repr=False)
class CompositionTestResult:
    r"""Chi-square and Fisher tests of a trait of new units by era.

    Parameters
    ----------
    variable, era : str
        The column names.
    table : pandas.DataFrame
        Counts, one row per level of *variable*, one column per era.
    shares : pandas.DataFrame
        Column proportions (the trait's share within each era).
    expected : pandas.DataFrame
        :math:`E_{ij} = r_i c_j / n`.
    residuals, stdres : pandas.DataFrame
        Pearson residuals :math:`(O - E)/\sqrt{E}` and standardized residuals
        :math:`(O - E)/\sqrt{E(1 - r_i/n)(1 - c_j/n)}` (R's ``residuals``, ``stdres``).
    chisq_statistic, chisq_df, chisq_p_value : float
        Pearson's test (``chisq_df`` NaN for the Monte Carlo p-value, as R).
    yates : bool
        Whether Yates' continuity correction was applied (2 x 2 tables with ``correct=True``).
    chisq_method : str
    fisher_p_value : float
        Two-sided p-value of Fisher's exact test.
    fisher_method : str
        ``"exact (hypergeometric)"`` (2 x 2), ``"exact (enumeration of N tables)"`` or
        ``"Monte Carlo (B tables)"``.
    odds_ratio, odds_ratio_lower, odds_ratio_upper : float
        2 x 2 only (NaN otherwise): the conditional MLE of the odds ratio of the first row
        in the first column (R's ``fisher.test`` estimate) and its exact limits.
    min_expected : float
        Smallest expected count (R warns below 5: the chi-square approximation may be poor).
    conf_level : float
    notes : tuple of str
    """

    variable: str
    era: str
    table: pd.DataFrame
    shares: pd.DataFrame
    expected: pd.DataFrame
    residuals: pd.DataFrame
    stdres: pd.DataFrame
    chisq_statistic: float
    chisq_df: float
    chisq_p_value: float
    yates: bool
    chisq_method: str
    fisher_p_value: float
    fisher_method: str
    odds_ratio: float
    odds_ratio_lower: float
    odds_ratio_upper: float
    min_expected: float
    conf_level: float
    notes: tuple[str, ...] = ()

    @property
    def tests(self) -> pd.DataFrame:
        """One row per test (``chisq``, ``fisher``): ``statistic``, ``df``, ``p_value``, ``method``."""
        return pd.DataFrame(
            {
                "statistic": [self.chisq_statistic, math.nan],
                "df": [self.chisq_df, math.nan],
                "p_value": [self.chisq_p_value, self.fisher_p_value],
                "method": [self.chisq_method, self.fisher_method],
            },
            index=pd.Index(["chisq", "fisher"], name="test"),
        )

    def summary(self) -> str:
        """Table, shares and tests as text.

        Returns
        -------
        str
        """
        fmt = lambda v: f"{v:.4g}"  # noqa: E731
        lines = [
            f"{self.variable} by {self.era}",
            self.table.to_string(),
            "",
            "shares within era:",
            self.shares.to_string(float_format=fmt),
            "",
            self.tests.to_string(float_format=fmt),
        ]
        if np.isfinite(self.odds_ratio) or self.odds_ratio == math.inf:
            lines.append(
                f"odds ratio (conditional MLE) {self.odds_ratio:.4g}, {self.conf_level:.0%} "
                f"limits {self.odds_ratio_lower:.4g} to {self.odds_ratio_upper:.4g}"
            )
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"CompositionTestResult({self.variable!r} by {self.era!r}, "
            f"chisq p={self.chisq_p_value:.4g}, fisher p={self.fisher_p_value:.4g})"
        )


def composition_tests(
    df: pd.DataFrame,
    *,
    variable: str,
    era: str,
    correct: bool = True,
    simulate: bool = False,
    seed: int | np.random.Generator | None = None,
    n_sim: int = 2000,
    conf_level: float = 0.95,
    max_tables: int = 1_000_000,
) -> CompositionTestResult:
    r"""Pearson's chi-square and Fisher's exact test of *variable* by *era* (R's tests).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per new unit.
    variable : str
        The trait (e.g. leader type, setting); levels sorted, or category order.
    era : str
        The era at founding; levels sorted, or category order. Levels without units are left
        out of the table (as R's ``table`` of a character vector).
    correct : bool
        Yates' continuity correction for 2 x 2 tables (R's ``chisq.test(correct = TRUE)``,
        the default); never applied to larger tables.
    simulate : bool
        Monte Carlo p-values for both tests (R's ``simulate.p.value = TRUE``) from *n_sim*
        random tables with the observed margins (Patefield's algorithm). Without it, Fisher's
        test is exact, unless the table has more than *max_tables* tables with its margins:
        then its p-value is by Monte Carlo and a note says so.
    seed : int or numpy.random.Generator, optional
        For the Monte Carlo p-values (reproducible with an int).
    n_sim : int
        Monte Carlo tables (R's ``B``; its default 2000).
    conf_level : float
        Coverage of the 2 x 2 odds-ratio interval.
    max_tables : int
        Largest number of tables enumerated for an exact r x c test.

    Returns
    -------
    CompositionTestResult

    Raises
    ------
    DataError
        Missing columns or values; fewer than two levels of *variable* or *era*.
    SpecError
        *conf_level* outside (0, 1), *n_sim* < 1.

    Notes
    -----
    With :math:`O_{ij}` the counts, :math:`r_i, c_j, n` the margins and
    :math:`E_{ij} = r_i c_j / n`:

    .. math::

        X^2 = \sum_{ij} \frac{(|O_{ij} - E_{ij}| - Y)^2}{E_{ij}}, \qquad
        Y = \min(0.5, \min_{ij} |O_{ij} - E_{ij}|) \text{ (2 x 2, correct) else } 0,

    on :math:`(r - 1)(c - 1)` df. Fisher's test conditions on the margins: a table has
    probability :math:`P(T) = \prod_i r_i! \prod_j c_j! / (n! \prod_{ij} T_{ij}!)` and the
    two-sided p-value sums :math:`P(T)` over the tables no more probable than the observed:

    * 2 x 2: :math:`P(T) \le P_{obs}(1 + 10^{-7})` over the hypergeometric support (R);
      conditional MLE of the odds ratio (the root of :math:`E_\psi[T_{11}] = O_{11}` under the
      noncentral hypergeometric) and limits :math:`\psi_L, \psi_U` with
      :math:`P_{\psi_L}(T_{11} \ge O_{11}) = P_{\psi_U}(T_{11} \le O_{11}) = (1 - \text{conf})/2`,
      solved to :math:`10^{-14}` in :math:`\log\psi` (R's ``uniroot`` stops at about
      :math:`10^{-4}`).
    * larger: every table with the margins is enumerated column by column (exact, like R's
      FEXACT network algorithm, which sums the same tables faster) and counted when
      :math:`\log P(T) \le \log P_{obs} + 3.45254 \times 10^{-7}` (FEXACT's tolerance).
    * Monte Carlo (R's ``simulate.p.value``): :math:`p = (1 + \#\{b: S_b \text{ at least as
      extreme as } S_{obs}\})/(B + 1)` with :math:`S = -\sum \log T_{ij}!` (Fisher) or the
      uncorrected :math:`X^2` (chi-square) and R's :math:`64\epsilon` slack for ties. The same
      random tables serve both tests; they are not R's random numbers, so only the
      distribution of the p-value matches R.
    """
    _check_conf_level(conf_level)
    if n_sim < 1:
        raise SpecError(f"n_sim must be >= 1; got {n_sim!r}")
    _check_columns(df, [variable, era], "the data")
    v_codes, v_levels = _levels(df[variable])
    e_codes, e_levels = _levels(df[era])
    problems = [
        Problem(f"only {len(lv)} level ({', '.join(map(repr, lv))}): a test of composition "
                "needs at least two", "give units with at least two levels", col)
        for col, lv in ((variable, v_levels), (era, e_levels)) if len(lv) < 2
    ]  # fmt: skip
    if problems:
        raise DataError(problems)
    r, c = len(v_levels), len(e_levels)
    x = np.bincount(v_codes * c + e_codes, minlength=r * c).reshape(r, c).astype(np.int64)
    rs, cs, n = x.sum(axis=1), x.sum(axis=0), int(x.sum())
    E = np.outer(rs, cs) / n
    two = r == 2 and c == 2
    notes: list[str] = []
    rng = np.random.default_rng(seed)
    sims: np.ndarray | None = None

    def simulated() -> np.ndarray:
        nonlocal sims
        if sims is None:
            sims = stats.random_table(rs, cs, seed=rng).rvs(n_sim, method="patefield")
        return sims

    # chi-square
    if simulate:
        stat = float(np.sum((x - E) ** 2 / E))
        sim = np.sum((simulated() - E) ** 2 / E, axis=(1, 2))
        p_chi = (1 + np.sum(sim >= (1 - 64 * _EPS) * stat)) / (n_sim + 1)
        df_chi, yates = math.nan, False
        chi_method = f"Pearson's chi-square, Monte Carlo p-value ({n_sim} tables)"
    else:
        yates = bool(correct and two)
        yc = min(0.5, float(np.min(np.abs(x - E)))) if yates else 0.0
        stat = float(np.sum((np.abs(x - E) - yc) ** 2 / E))
        df_chi = float((r - 1) * (c - 1))
        p_chi = float(stats.chi2.sf(stat, df_chi))
        chi_method = "Pearson's chi-square" + (
            " with Yates' continuity correction" if yates else ""
        )
    if E.min() < 5 and not simulate:
        notes.append(
            f"smallest expected count {E.min():.3g} < 5: the chi-square approximation may be "
            "poor (R warns); prefer Fisher's test"
        )

    # Fisher
    or_est = or_lo = or_hi = math.nan
    if two:
        p_f, or_est, or_lo, or_hi = _fisher_2x2(x, conf_level)
        f_method = "exact (hypergeometric)"
    else:
        exact = None if simulate else _fisher_exact_rxc(x, max_tables)
        if exact is not None:
            p_f, n_tab = exact
            f_method = f"exact (enumeration of {n_tab} tables)"
        else:
            obs = -float(np.sum(special.gammaln(x + 1)))
            sim = -np.sum(special.gammaln(simulated() + 1), axis=(1, 2))
            p_f = float((1 + np.sum(sim <= obs / (1 + 64 * _EPS))) / (n_sim + 1))
            f_method = f"Monte Carlo ({n_sim} tables)"
            if not simulate:
                notes.append(
                    f"more than {max_tables} tables have these margins: Fisher's p-value is by "
                    f"Monte Carlo from {n_sim} tables (R's FEXACT would need more workspace or "
                    "simulate.p.value = TRUE)"
                )
    frame = lambda a: pd.DataFrame(  # noqa: E731
        a, index=pd.Index(v_levels, name=variable), columns=pd.Index(e_levels, name=era)
    )
    return CompositionTestResult(
        variable=variable,
        era=era,
        table=frame(x),
        shares=frame(x / cs[None, :]),
        expected=frame(E),
        residuals=frame((x - E) / np.sqrt(E)),
        stdres=frame((x - E) / np.sqrt(E * np.outer(1 - rs / n, 1 - cs / n))),
        chisq_statistic=stat,
        chisq_df=df_chi,
        chisq_p_value=float(p_chi),
        yates=yates,
        chisq_method=chi_method,
        fisher_p_value=float(min(1.0, max(0.0, p_f))),
        fisher_method=f_method,
        odds_ratio=or_est,
        odds_ratio_lower=or_lo,
        odds_ratio_upper=or_hi,
        min_expected=float(E.min()),
        conf_level=conf_level,
        notes=tuple(notes),
    )


def _fisher_2x2(x: np.ndarray, conf_level: float) -> tuple[float, float, float, float]:
    """R's fisher.test for a 2 x 2 table: two-sided p, conditional MLE of the OR and limits."""
    m, nn, k, x11 = int(x[:, 0].sum()), int(x[:, 1].sum()), int(x[0].sum()), int(x[0, 0])
    lo, hi = max(0, k - nn), min(k, m)
    support = np.arange(lo, hi + 1)
    logdc = stats.hypergeom.logpmf(support, m + nn, m, k)

    def dnhyper(log_psi: float) -> np.ndarray:
        d = logdc + log_psi * support
        d = np.exp(d - d.max())
        return d / d.sum()

    d1 = dnhyper(0.0)
    p = float(np.sum(d1[d1 <= d1[x11 - lo] * _REL_ERR_2X2]))

    def root(f) -> float:
        a, b = -1.0, 1.0
        while f(a) > 0:
            a *= 2
        while f(b) < 0:
            b *= 2
        return float(np.exp(optimize.brentq(f, a, b, xtol=1e-14, rtol=4 * _EPS, maxiter=500)))

    # all three functions increase with log psi
    mle = (0.0 if x11 == lo else math.inf if x11 == hi
           else root(lambda s: float(support @ dnhyper(s)) - x11))  # fmt: skip
    alpha = (1 - conf_level) / 2
    upper = (math.inf if x11 == hi
             else root(lambda s: alpha - float(dnhyper(s)[support <= x11].sum())))  # fmt: skip
    lower = (0.0 if x11 == lo
             else root(lambda s: float(dnhyper(s)[support >= x11].sum()) - alpha))  # fmt: skip
    return p, mle, lower, upper


def _fisher_exact_rxc(x: np.ndarray, max_tables: int) -> tuple[float, int] | None:
    """Two-sided Fisher p by enumerating every table with the margins of *x* (None: too many).

    Columns are filled one at a time (the last is the remainder of the row sums), each column
    row by row within the bounds that keep the table completable; partial tables never
    outnumber the complete ones, so the enumeration stops as soon as *max_tables* is passed.
    """
    if x.shape[0] > x.shape[1]:  # short column vectors
        x = x.T
    x = x[:, np.argsort(x.sum(axis=0), kind="stable")]  # largest column last (determined)
    rs, cs = x.sum(axis=1), x.sum(axis=0)
    r = len(rs)
    lf = special.gammaln(np.arange(int(rs.sum()) + 2, dtype=np.float64) + 1)
    const = lf[rs].sum() + lf[cs].sum() - lf[int(rs.sum())]
    log_p_obs = const - lf[x].sum()
    R = rs[None, :].copy()  # remaining row sums, one row per partial table
    L = np.zeros(1)  # sum of log T_ij! so far
    for cj in cs[:-1]:
        need = np.full(len(R), int(cj))
        for i in range(r):
            tail = R[:, i + 1 :].sum(axis=1)
            lo = np.maximum(0, need - tail)
            hi = np.minimum(R[:, i], need)
            cnt = hi - lo + 1
            total = int(cnt.sum())
            if total > max_tables:
                return None
            parent = np.repeat(np.arange(len(R)), cnt)
            starts = np.cumsum(cnt) - cnt
            val = lo[parent] + (np.arange(total) - starts[parent])
            R = R[parent]
            R[:, i] -= val
            need = need[parent] - val
            L = L[parent] + lf[val]
    log_p = const - (L + lf[R].sum(axis=1))
    keep = log_p <= log_p_obs + _FEXACT_TOL
    return float(math.fsum(np.exp(log_p[keep]))), len(log_p)
