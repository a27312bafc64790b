r"""Log-rank family of k-sample tests: log-rank, Peto–Peto (G-rho), Fleming–Harrington, trend.

Stratified tests, delayed entry. Results match R ``survival::survdiff`` wherever it applies
(right-censored data, ``rho``); conventions in :func:`logrank` and ``docs/frequentist.md``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import pandas as pd
from scipy import stats

from bayessa.errors import DataError, Problem, SpecError
from bayessa.frequentist._validate import SurvivalArrays, check_survival_frame

__all__ = ["LogRankResult", "logrank", "logrank_trend"]


@dataclass(frozen=True, repr=False)
class LogRankResult:
    """Result of :func:`logrank` or :func:`logrank_trend`.

    Parameters
    ----------
    statistic : float
        Chi-square statistic.
    df : int
        Degrees of freedom (groups with positive expected count, minus 1; 1 for trend).
    p_value : float
        Upper-tail chi-square probability.
    table : pandas.DataFrame
        One row per group (index: the levels): ``n`` (rows), ``observed``, ``expected``,
        ``(O-E)^2/E``, ``(O-E)^2/V`` with V the diagonal of *variance*; weighted counts
        when ``rho`` or ``gamma`` is not 0, as in R.
    observed, expected : numpy.ndarray
        Weighted observed and expected events per group, summed over strata.
    variance : numpy.ndarray
        k x k covariance matrix of ``observed - expected``.
    rho, gamma : float
        Weight exponents.
    groups : list
        Group levels, in the order of the arrays.
    group_name, strata_name : str or None
        Column names (for printing).
    strata : list
        Strata levels (empty when unstratified).
    test : str
        ``"k-sample"`` or ``"trend"``.
    scores : numpy.ndarray or None
        Trend scores per group (trend test only).
    """

    statistic: float
    df: int
    p_value: float
    table: pd.DataFrame
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    rho: float
    gamma: float
    groups: list[Hashable]
    group_name: str | None = None
    strata_name: str | None = None
    strata: list[Hashable] = field(default_factory=list)
    test: str = "k-sample"
    scores: np.ndarray | None = None

    @property
    def title(self) -> str:
        """Name of the test in words."""
        if self.rho == 0 and self.gamma == 0:
            name = "Log-rank test"
        elif self.gamma == 0:
            name = f"G-rho test, rho = {self.rho:g}" + (" (Peto-Peto)" if self.rho == 1 else "")
        else:
            name = f"Fleming-Harrington test, rho = {self.rho:g}, gamma = {self.gamma:g}"
        if self.test == "trend":
            name = f"Test for trend ({name[0].lower()}{name[1:]})"
        if self.strata_name is not None:
            name += f", stratified by {self.strata_name} ({len(self.strata)} strata)"
        return name

    def summary(self) -> str:
        """The per-group table and the test, laid out like R's ``print(survdiff)``.

        Returns
        -------
        str
            The title, the per-group table (with scores for trend) and the chi-square line.
        """
        label = [f"{self.group_name}={g}" if self.group_name else str(g) for g in self.groups]
        cols = ["N", "Observed", "Expected", "(O-E)^2/E", "(O-E)^2/V"]
        body = [[_fmt(v) for v in row] for row in self.table.to_numpy(dtype=float)]
        if self.scores is not None:
            cols.append("Score")
            body = [r + [_fmt(s)] for r, s in zip(body, self.scores, strict=True)]
        w0 = max(len(s) for s in label)
        widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(cols)]
        lines = [self.title, ""]
        lines.append(" " * w0 + "".join(f" {c:>{w}}" for c, w in zip(cols, widths, strict=True)))
        for name, row in zip(label, body, strict=True):
            cells = "".join(f" {c:>{w}}" for c, w in zip(row, widths, strict=True))
            lines.append(f"{name:<{w0}}{cells}")
        s = "" if self.df == 1 else "s"
        lines += [
            "",
            f" Chisq= {_fmt(self.statistic)}  on {self.df} degree{s} of freedom, "
            f"p= {self.p_value:.3g}",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"LogRankResult(test={self.test!r}, statistic={self.statistic:.6g}, df={self.df}, "
            f"p_value={self.p_value:.6g}, rho={self.rho:g}, gamma={self.gamma:g})"
        )


def _fmt(v: float) -> str:
    if np.isnan(v):
        return "NA"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.3g}" if abs(v) >= 1 else f"{v:.3f}" if abs(v) >= 1e-3 else f"{v:.3g}"


def _groups_sorted(codes: np.ndarray, k: int, values: np.ndarray) -> list[np.ndarray]:
    """Sorted *values* of each group (a loop over groups, not units)."""
    order = np.lexsort((values, codes))
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    v = values[order]
    return [v[bounds[j] : bounds[j + 1]] for j in range(k)]


def _stratum(
    t: np.ndarray,
    d: np.ndarray,
    g: np.ndarray,
    e: np.ndarray | None,
    k: int,
    rho: float,
    gamma: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted O, E and V of one stratum, by sorting and counting at the distinct event times."""
    times = np.unique(t[d])
    if times.size == 0:
        return np.zeros(k), np.zeros(k), np.zeros((k, k))
    ti = np.searchsorted(times, t[d])
    dk = np.bincount(ti * k + g[d], minlength=times.size * k).reshape(times.size, k)
    nk = np.empty((times.size, k))
    for j, tj in enumerate(_groups_sorted(g, k, t)):
        nk[:, j] = tj.size - np.searchsorted(tj, times, side="left")  # exit >= t
    if e is not None:
        for j, ej in enumerate(_groups_sorted(g, k, e)):
            nk[:, j] -= ej.size - np.searchsorted(ej, times, side="left")  # not yet entered
    n = nk.sum(axis=1)
    dsum = dk.sum(axis=1).astype(np.float64)
    s_after = np.cumprod(1.0 - dsum / n)
    s_before = np.concatenate(([1.0], s_after[:-1]))  # pooled KM, left-continuous S(t-)
    w = s_before**rho * (1.0 - s_before) ** gamma
    p = nk / n[:, None]
    obs = w @ dk
    exp = (w * dsum) @ p
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(n > 1, w**2 * dsum * (n - dsum) / (n - 1.0), 0.0)
    var = np.diag(c @ p) - p.T @ (c[:, None] * p)
    return obs, exp, var


def _components(
    a: SurvivalArrays, rho: float, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    assert a.group is not None
    k = len(a.group_levels)
    obs, exp, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
    if a.strata is None:
        parts = [np.arange(a.time.size)]
    else:
        order = np.argsort(a.strata, kind="stable")
        bounds = np.searchsorted(a.strata[order], np.arange(len(a.strata_levels) + 1))
        parts = [order[bounds[i] : bounds[i + 1]] for i in range(len(a.strata_levels))]
    for idx in parts:
        e = a.entry[idx] if a.entry is not None else None
        o, x, v = _stratum(a.time[idx], a.event[idx], a.group[idx], e, k, rho, gamma)
        obs += o
        exp += x
        var += v
    return obs, exp, var


def _check_weights(rho: float, gamma: float) -> None:
    problems = [
        f"{name} must be a finite number >= 0; got {value!r}"
        for name, value in (("rho", rho), ("gamma", gamma))
        if not (isinstance(value, Real) and np.isfinite(value) and value >= 0)
    ]
    if problems:
        raise SpecError(problems)


def _singular(group: str) -> DataError:
    return DataError(
        Problem(
            "the variance matrix of observed - expected is singular (too few units at risk "
            "in some groups at the event times)",
            "merge sparse groups or check the group coding",
            group,
        )
    )


def _table(
    a: SurvivalArrays, group: str, obs: np.ndarray, exp: np.ndarray, var: np.ndarray
) -> pd.DataFrame:
    assert a.group is not None
    n = np.bincount(a.group, minlength=len(a.group_levels))
    with np.errstate(divide="ignore", invalid="ignore"):
        oe_e = (obs - exp) ** 2 / exp
        oe_v = (obs - exp) ** 2 / np.diag(var)
    index = pd.Index(a.group_levels, name=group, dtype=object)
    return pd.DataFrame(
        {"n": n, "observed": obs, "expected": exp, "(O-E)^2/E": oe_e, "(O-E)^2/V": oe_v},
        index=index,
    )


def logrank(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    strata: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    entry: str | None = None,
) -> LogRankResult:
    r"""k-sample test of equal hazards: log-rank, G-rho (Peto–Peto) or Fleming–Harrington.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit.
    time, event : str
        Exit time and event indicator (1/True = event).
    group : str
        Groups compared (at least two levels; sorted, or category order).
    strata : str, optional
        Stratified test: O, E and V are computed within strata and summed.
    rho, gamma : float
        Weight exponents (>= 0); ``rho = gamma = 0`` is the log-rank test, ``rho = 1`` the
        Peto–Peto test (R ``survdiff(rho = 1)``).
    entry : str, optional
        Delayed-entry time (left truncation), ``entry < time``.

    Returns
    -------
    LogRankResult

    Notes
    -----
    At each distinct event time :math:`t` of a stratum, with :math:`n_{g}` at risk and
    :math:`d_{g}` events in group :math:`g`, :math:`n = \sum_g n_g`, :math:`d = \sum_g d_g`,
    and weight :math:`w(t) = \hat S(t-)^{\rho}\,\{1 - \hat S(t-)\}^{\gamma}` with :math:`\hat S`
    the Kaplan–Meier estimate of the pooled stratum (left-continuous, as R's ``survdiff``):

    .. math::

        O_g = \sum_t w\,d_g, \quad E_g = \sum_t w\,d\,\frac{n_g}{n}, \quad
        V_{gh} = \sum_t w^2\,\frac{d\,(n - d)}{n - 1}\,\frac{n_g}{n}
        \Bigl(\delta_{gh} - \frac{n_h}{n}\Bigr),

    summed over strata (terms with :math:`n = 1` contribute no variance). Ties are handled with
    the hypergeometric variance (the factor :math:`(n-d)/(n-1)`), so this is the score test of the
    Cox model with the exact (discrete) partial likelihood. The statistic is
    :math:`(O - E)^\top V^{-}(O - E)` computed, as R does, by dropping the first group with a
    positive expected count and inverting the rest; ``df`` is the number of groups with
    :math:`E_g > 0` minus one. With weights, ``observed`` and ``expected`` are the weighted
    sums (R reports the same). A unit is at risk at :math:`t` when
    :math:`\text{entry} < t \le \text{time}`; with *entry* the pooled Kaplan–Meier estimate in
    the weight uses these risk sets. R's ``survdiff`` accepts neither delayed entry nor
    ``gamma``; those cases are validated against a direct loop over event times and the exact
    Cox score test (``tests/reference/make_reference.R``).
    """
    _check_weights(rho, gamma)
    a = check_survival_frame(
        df,
        time=time,
        event=event,
        group=group,
        strata=strata,
        entry=entry,
        min_groups=2,
        need_events=True,
    )
    obs, exp, var = _components(a, float(rho), float(gamma))
    keep = np.flatnonzero(exp > 0)
    dof = int(keep.size - 1)
    if keep.size < 2:
        chisq = 0.0
    else:
        u = (obs - exp)[keep[1:]]
        try:
            chisq = float(u @ np.linalg.solve(var[np.ix_(keep[1:], keep[1:])], u))
        except np.linalg.LinAlgError:
            raise _singular(group) from None
    p = float(stats.chi2.sf(chisq, dof)) if dof > 0 else float("nan")
    return LogRankResult(
        statistic=chisq,
        df=dof,
        p_value=p,
        table=_table(a, group, obs, exp, var),
        observed=obs,
        expected=exp,
        variance=var,
        rho=float(rho),
        gamma=float(gamma),
        groups=list(a.group_levels),
        group_name=group,
        strata_name=strata,
        strata=list(a.strata_levels),
    )


def _scores(
    scores: Mapping[Hashable, float] | Sequence[float] | np.ndarray | None, levels: list[Hashable]
) -> np.ndarray:
    k = len(levels)
    if scores is None:
        return np.arange(1.0, k + 1.0)
    if isinstance(scores, Mapping):
        missing = [lv for lv in levels if lv not in scores]
        if missing:
            raise SpecError(
                f"scores give no value for group level(s) {', '.join(map(repr, missing))}; "
                "give one score per level"
            )
        out = np.array([scores[lv] for lv in levels], dtype=np.float64)
    else:
        out = np.asarray(scores, dtype=np.float64)
        if out.shape != (k,):
            raise SpecError(
                f"{out.size} scores for {k} group levels ({', '.join(map(repr, levels))}); "
                "give one score per level, in this order, or a mapping level -> score"
            )
    if not np.all(np.isfinite(out)) or np.ptp(out) == 0:
        raise SpecError("scores must be finite and not all equal")
    return out


def logrank_trend(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    scores: Mapping[Hashable, float] | Sequence[float] | None = None,
    strata: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    entry: str | None = None,
) -> LogRankResult:
    r"""Test for trend in hazard across ordered groups (1 degree of freedom).

    Parameters
    ----------
    df, time, event, group, strata, rho, gamma, entry
        As :func:`logrank`.
    scores : mapping or sequence, optional
        Score of each group level: a mapping level -> score, or a sequence in the order of the
        (sorted) levels. Default :math:`1, \dots, k` in level order. The statistic is unchanged
        by an affine change of the scores.

    Returns
    -------
    LogRankResult
        With ``test == "trend"``, ``df == 1`` and ``scores``; *table* holds the k-sample
        components.

    Notes
    -----
    With :math:`O, E, V` of :func:`logrank` and scores :math:`c`,

    .. math:: X^2 = \frac{\{c^\top (O - E)\}^2}{c^\top V c} \sim \chi^2_1,

    the score test of a Cox model with the score as a numeric covariate (exact partial
    likelihood); with strata, :math:`O, E, V` are summed over strata first.
    """
    _check_weights(rho, gamma)
    a = check_survival_frame(
        df,
        time=time,
        event=event,
        group=group,
        strata=strata,
        entry=entry,
        min_groups=2,
        need_events=True,
    )
    c = _scores(scores, a.group_levels)
    obs, exp, var = _components(a, float(rho), float(gamma))
    u = float(c @ (obs - exp))
    v = float(c @ var @ c)
    if not v > 0:
        raise _singular(group)
    chisq = u * u / v
    return LogRankResult(
        statistic=chisq,
        df=1,
        p_value=float(stats.chi2.sf(chisq, 1)),
        table=_table(a, group, obs, exp, var),
        observed=obs,
        expected=exp,
        variance=var,
        rho=float(rho),
        gamma=float(gamma),
        groups=list(a.group_levels),
        group_name=group,
        strata_name=strata,
        strata=list(a.strata_levels),
        test="trend",
        scores=c,
    )
