r"""Competing risks: the Aalen–Johansen cumulative incidence and Gray's k-sample test.

With causes :math:`j = 1, \dots, J`, distinct times :math:`t_1 < t_2 < \dots`, :math:`n_i` units
at risk just before :math:`t_i` (at risk at :math:`t` when :math:`t \le` time), :math:`d_{ji}`
events of cause :math:`j` and :math:`d_i = \sum_j d_{ji}` at :math:`t_i`, and
:math:`S(t_{i-1})` the Kaplan–Meier survival from all causes just before :math:`t_i`, the
cumulative incidence of cause :math:`j` is (Aalen–Johansen)

.. math::

    F_j(t) = \sum_{t_i \le t} S(t_{i-1}) \frac{d_{ji}}{n_i}.

Its variance is Gray's (1988) delta-method estimate, computed exactly as R's
``cmprsk::cuminc`` (Fortran ``cinc``): with :math:`S_i = S(t_i)`, :math:`F = F_j(t_i)` and, for
the events of cause :math:`j` and of the other causes at each time, the hypergeometric factor
:math:`c = 1 - (d - 1)/(n_i - 1)`, three running sums

.. math::

    v_1 \mathrel{+}= a^2 w,\quad v_2 \mathrel{+}= b a w,\quad v_3 \mathrel{+}= b^2 w, \qquad
    w = \frac{S_{i-1}^2\, c\, d}{n_i^2},

with :math:`(a, b) = (F/S_i, 1/S_i)` for the other causes' events and
:math:`(1 + F/S_i, 1/S_i)` for cause :math:`j` (:math:`b = 0` when :math:`S_i = 0`), give
:math:`\widehat{\mathrm{Var}}\,F_j(t_i) = v_1 + F^2 v_3 - 2 F v_2`.

**Gray's test** compares the cumulative incidence of one cause among groups through the
subdistribution hazards, weighted by :math:`(1 - F_j(t-))^\rho` (pooled :math:`F_j`); the score
for the first :math:`G - 1` groups and its covariance are summed over strata, and the statistic
:math:`s^\top V^{-1} s` is chi-square with :math:`G - 1` degrees of freedom. The computation is a
transcription of ``cmprsk``'s Fortran ``crstm``/``crst`` (Gray's own code), so the statistics agree
with R to rounding; a singular covariance gives the statistic -1, as R does.

Confidence limits of :math:`F_j` (not given by ``cuminc``) are on the log(-log) scale, as
``tidycmprsk`` reports them: :math:`F^{\exp(\pm z\, \mathrm{se} / |F \log F|)}` (the upper
limit with the minus sign).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bayessa.errors import DataError, Problem, SpecError

__all__ = ["GrayTestResult", "cause_specific_logrank", "cumulative_incidence", "gray_test"]


@dataclass(frozen=True)
class _Data:
    time: np.ndarray  # float64, sorted
    cause: np.ndarray  # int: 0 censored, 1..J the causes
    causes: list[Hashable]  # the causes' labels, in code order 1..J
    group: np.ndarray  # int codes
    groups: list[Hashable]
    strata: np.ndarray  # int codes (zeros without strata)


def _prepare(df, time, event, group, strata, censor_value) -> _Data:
    """Sorted arrays; every problem of the columns raised at once."""
    problems: list[Problem] = []
    for col in (time, event, group, strata):
        if col is not None and col not in df.columns:
            problems.append(Problem(f"column '{col}' not found", "name an existing column", col))
    if problems:
        raise DataError(problems)
    t = pd.to_numeric(df[time], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        problems.append(
            Problem(
                "times that are missing, negative or not numbers",
                "give times >= 0",
                time,
                tuple(df.index[bad][:20]),
            )  # fmt: skip
        )
    ev = df[event]
    if ev.isna().any():
        problems.append(
            Problem(
                "missing event codes",
                "code every row: a cause, or the censoring value",
                event,
                tuple(df.index[ev.isna().to_numpy()][:20]),
            )  # fmt: skip
        )
    if censor_value is None:
        censor_value = 0 if pd.api.types.is_numeric_dtype(ev.dtype) else "censored"
    is_cens = (ev == censor_value).to_numpy()
    if not is_cens.any() and censor_value == "censored" and not (ev == 0).any():
        problems.append(
            Problem(
                "no row has the censoring value 'censored'",
                "name the value that marks a censored row with censor_value=... "
                f"(the column holds {', '.join(map(str, pd.unique(ev.dropna())[:6]))})",
                event,
            )
        )
    if problems:
        raise DataError(problems)
    labels = sorted(pd.unique(ev[~is_cens]))
    if len(labels) == 0:
        raise DataError(Problem("no events of any cause", "check the event coding", event))
    cause = np.where(is_cens, 0, pd.Index(labels).get_indexer(ev) + 1)
    g = df[group] if group is not None else pd.Series(0, index=df.index)
    gcodes, glabels = pd.factorize(g, sort=True)
    s = df[strata] if strata is not None else pd.Series(0, index=df.index)
    scodes, _ = pd.factorize(s, sort=True)
    if (gcodes < 0).any() or (scodes < 0).any():
        raise DataError(Problem("missing group or strata values", "fill them in", group))
    order = np.argsort(t, kind="stable")
    return _Data(t[order], cause[order], list(labels), gcodes[order], list(glabels), scodes[order])


def _cinc(time: np.ndarray, failed: np.ndarray, of_cause: np.ndarray):
    """Jump times, estimates and variances of one cause in one group (``cmprsk``'s ``cinc``)."""
    n = time.size
    uniq, start = np.unique(time, return_index=True)
    ends = np.r_[start[1:], n]
    fk, v1, v2, v3, F = 1.0, 0.0, 0.0, 0.0, 0.0
    out_t, out_f, out_v = [], [], []
    for u, a, b in zip(uniq, start, ends, strict=True):
        rs = float(n - a)
        nd1 = int(of_cause[a:b].sum())
        nd2 = int(failed[a:b].sum()) - nd1
        if nd1 + nd2 == 0:
            continue
        fkn = fk * (rs - nd1 - nd2) / rs
        if nd1 > 0:
            F = F + fk * nd1 / rs
        if nd2 > 0 and fkn > 0:
            t5 = 1.0 - (nd2 - 1.0) / (rs - 1.0) if nd2 > 1 else 1.0
            t6 = fk * fk * t5 * nd2 / (rs * rs)
            t3, t4 = 1.0 / fkn, F / fkn
            v1, v2, v3 = v1 + t4 * t4 * t6, v2 + t3 * t4 * t6, v3 + t3 * t3 * t6
        if nd1 > 0:
            t5 = 1.0 - (nd1 - 1.0) / (rs - 1.0) if nd1 > 1 else 1.0
            t6 = fk * fk * t5 * nd1 / (rs * rs)
            t3 = 1.0 / fkn if fkn > 0 else 0.0
            t4 = 1.0 + t3 * F
            v1, v2, v3 = v1 + t4 * t4 * t6, v2 + t3 * t4 * t6, v3 + t3 * t3 * t6
            out_t.append(u)
            out_f.append(F)
            out_v.append(v1 + F * F * v3 - 2.0 * F * v2)
        fk = fkn
    return np.array(out_t), np.array(out_f), np.array(out_v)


def cumulative_incidence(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None = None,
    censor_value: Hashable | None = None,
    conf_level: float = 0.95,
    se: str = "gray",
) -> pd.DataFrame:
    r"""Aalen–Johansen cumulative incidence of each cause, per group, with its standard error.

    Parameters
    ----------
    df : DataFrame
        One row per unit; never modified.
    time : str
        Follow-up time (>= 0).
    event : str
        The outcome: the censoring value, or the cause of the event (numbers or text).
    group : str, optional
        Groups to estimate separately (levels sorted, as R's ``factor``).
    censor_value : optional
        The value of ``event`` that marks a censored row; default 0 for a numeric column,
        ``"censored"`` for text.
    conf_level : float, default 0.95
        Level of the pointwise limits (log(-log) scale).
    se : {"gray", "ij"}, default "gray"
        Gray's delta-method variance (``cmprsk::cuminc``), or the infinitesimal jackknife of
        R's ``survfit`` for multi-state curves (:func:`_ij_std_err`).

    Returns
    -------
    DataFrame
        Long: one row per group, cause and time at which that cause's incidence jumps:
        ``group`` (when given), ``cause``, ``time``, ``cif``, ``std_err`` (the square root of
        ``cmprsk::cuminc``'s ``var``, or ``survfit``'s ``std.err``), ``lower``, ``upper``.

    Raises
    ------
    DataError
        Missing columns, bad times or event codes, no events.
    """
    if not 0 < conf_level < 1:
        raise SpecError(f"conf_level must be between 0 and 1, got {conf_level}")
    if se not in ("gray", "ij"):
        raise SpecError(f"se must be 'gray' (cmprsk::cuminc) or 'ij' (survfit), got {se!r}")
    d = _prepare(df, time, event, group, None, censor_value)
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    frames = []
    for gi, glabel in enumerate(d.groups):
        sel = d.group == gi
        ij = _ij_std_err(d.time[sel], d.cause[sel], len(d.causes)) if se == "ij" else None
        for ci, clabel in enumerate(d.causes, start=1):
            t, f, v = _cinc(d.time[sel], d.cause[sel] > 0, d.cause[sel] == ci)
            std = np.sqrt(np.maximum(v, 0.0))
            if ij is not None:
                std = ij[1][np.searchsorted(ij[0], t), ci]
            # F = 1 (every unit of the group ended from this cause): limits (1, 1)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                k = z * std / np.abs(f * np.log(f))  # the SE of log(-log F), times z
                lower, upper = f ** np.exp(k), f ** np.exp(-k)
            frame = pd.DataFrame(
                {"cause": clabel, "time": t, "cif": f, "std_err": std, "lower": lower,
                 "upper": upper}
            )  # fmt: skip
            if group is not None:
                frame.insert(0, "group", glabel)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _ij_std_err(time: np.ndarray, cause: np.ndarray, n_causes: int):
    r"""``survfit``'s infinitesimal-jackknife standard errors of the Aalen–Johansen states.

    With :math:`U_{ik}` the derivative of state :math:`k`'s probability with respect to unit
    :math:`i`'s case weight (state 0: event-free), at each time with :math:`d` events among
    :math:`Y` at risk (:math:`Y_i` and :math:`dN_{ik}` unit :math:`i`'s indicators,
    :math:`S = P_0(t-)`):

    .. math::

        U_{i0} \leftarrow U_{i0}(1 - d/Y) - Y_i S (dN_i - d/Y) / Y, \qquad
        U_{ik} \leftarrow U_{ik} + U_{i0}(t-) d_k / Y + Y_i S (dN_{ik} - d_k / Y) / Y,

    and the standard error is :math:`\sqrt{\sum_i U_{ik}^2}` (no tie correction). Work is
    units x event times.

    Returns
    -------
    times : (T,) float
        The event times (any cause).
    se : (T, 1 + J) float
        Standard errors of the event-free state and of each cause after each time.
    """
    n = time.size
    U = np.zeros((n, n_causes + 1))
    S = 1.0
    times, out = [], []
    for u in np.unique(time[cause > 0]):
        at = time == u
        risk = (time >= u).astype(np.float64)
        Y = risk.sum()
        dk = np.bincount(cause[at], minlength=n_causes + 1)[1:].astype(np.float64)
        d = dk.sum()
        dN = (at & (cause > 0)).astype(np.float64)
        u0 = U[:, 0].copy()
        U[:, 0] = u0 * (1 - d / Y) - risk * S * (dN - d / Y) / Y
        for k in range(1, n_causes + 1):
            dNk = (at & (cause == k)).astype(np.float64)
            U[:, k] += u0 * dk[k - 1] / Y + risk * S * (dNk - dk[k - 1] / Y) / Y
        S *= 1 - d / Y
        times.append(u)
        out.append(np.sqrt(np.sum(U * U, axis=0)))
    return np.array(times), np.array(out)


@dataclass(frozen=True)
class GrayTestResult:
    """Gray's test for each cause (:func:`gray_test`).

    Parameters
    ----------
    table : DataFrame
        One row per cause: ``statistic``, ``df``, ``p_value`` (``-1`` and NaN when the score's
        covariance is singular, as R reports).
    scores : dict
        Per cause, the score of the first ``G - 1`` groups.
    covariances : dict
        Per cause, its covariance matrix.
    rho : float
        The weight's power.
    """

    table: pd.DataFrame
    scores: dict
    covariances: dict
    rho: float


def gray_test(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    strata: str | None = None,
    rho: float = 0.0,
    censor_value: Hashable | None = None,
) -> GrayTestResult:
    r"""Gray's k-sample test of equal cumulative incidence, one test per cause.

    Parameters
    ----------
    df : DataFrame
        One row per unit; never modified.
    time, event : str
        As :func:`cumulative_incidence`.
    group : str
        The groups compared.
    strata : str, optional
        Strata: scores and covariances are summed over them.
    rho : float, default 0
        Power of the weight :math:`(1 - F(t-))^\rho`.
    censor_value : optional
        As :func:`cumulative_incidence`.

    Returns
    -------
    GrayTestResult
    """
    d = _prepare(df, time, event, group, strata, censor_value)
    G = len(d.groups)
    if G < 2:
        raise DataError(Problem(f"'{group}' has one level", "compare at least two groups", group))
    rows, scores, covs = [], {}, {}
    for ci, clabel in enumerate(d.causes, start=1):
        m = np.where(d.cause == 0, 0, np.where(d.cause == ci, 1, 2))
        s, V = np.zeros(G - 1), np.zeros((G - 1, G - 1))
        for k in np.unique(d.strata):
            sel = d.strata == k
            st, vt = _crst(d.time[sel], m[sel], d.group[sel], G, rho)
            s, V = s + st, V + vt
        stat = -1.0
        if np.linalg.matrix_rank(V) == G - 1:
            stat = float(s @ np.linalg.solve(V, s))
        p = float(stats.chi2.sf(stat, G - 1)) if stat >= 0 else float("nan")
        rows.append({"cause": clabel, "statistic": stat, "df": G - 1, "p_value": p})
        scores[clabel], covs[clabel] = s, V
    return GrayTestResult(pd.DataFrame(rows).set_index("cause"), scores, covs, rho)


def _crst(y: np.ndarray, m: np.ndarray, ig: np.ndarray, ng: int, rho: float):
    """Score and covariance of one stratum: a transcription of ``cmprsk``'s ``crst``."""
    ng1 = ng - 1
    rs = np.bincount(ig, minlength=ng).astype(np.float64)
    s = np.zeros(ng1)
    v = np.zeros((ng1, ng1))
    f1m, f1 = np.zeros(ng), np.zeros(ng)
    skmm, skm = np.ones(ng), np.ones(ng)
    v3, v2, c = np.zeros(ng), np.zeros((ng1, ng)), np.zeros((ng, ng))
    fm = 0.0
    uniq, start = np.unique(y, return_index=True)
    ends = np.r_[start[1:], y.size]
    for lo, hi in zip(start, ends, strict=True):
        d = np.zeros((3, ng))
        np.add.at(d, (m[lo:hi], ig[lo:hi]), 1.0)
        nd1, nd2 = d[1].sum(), d[2].sum()
        if nd1 > 0 or nd2 > 0:
            on = rs > 0
            skm = np.where(on, skmm * (rs - d[1] - d[2]) / np.where(on, rs, 1), skm)
            f1 = np.where(on, f1m + skmm * d[1] / np.where(on, rs, 1), f1)
            tr = np.sum(np.where(on, rs / skmm, 0.0))
            tq = np.sum(np.where(on, rs * (1 - f1m) / skmm, 0.0))
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            a = np.zeros((ng, ng))
            for i in range(ng):
                if rs[i] <= 0:
                    continue
                t1 = rs[i] / skmm[i]
                a[i, i] = fb * t1 * (1 - t1 / tr)
                if a[i, i] != 0:
                    c[i, i] += a[i, i] * nd1 / (tr * (1 - fm))
                for j in range(i + 1, ng):
                    if rs[j] <= 0:
                        continue
                    a[i, j] = -fb * t1 * rs[j] / (skmm[j] * tr)
                    if a[i, j] != 0:
                        c[i, j] += a[i, j] * nd1 / (tr * (1 - fm))
            low = np.tril_indices(ng, -1)
            a[low], c[low] = a.T[low], c.T[low]
            for i in range(ng1):
                if rs[i] > 0:
                    s[i] += fb * (d[1, i] - nd1 * rs[i] * (1 - f1m[i]) / (skmm[i] * tq))
            if nd1 > 0:
                for k in range(ng):
                    if rs[k] <= 0:
                        continue
                    t4 = 1 - (1 - f) / skm[k] if skm[k] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (tr * skmm[k] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                    v3[k] += t4 * t4 * t3
                    t1 = a[:ng1, k] - t4 * c[:ng1, k]
                    v2[:, k] += t1 * t4 * t3
                    v += np.tril(np.outer(t1, t1)) * t3
            if nd2 > 0:
                for k in range(ng):
                    if skm[k] <= 0 or d[2, k] <= 0:
                        continue
                    t4 = (1 - f) / skm[k]
                    t5 = 1 - (d[2, k] - 1.0) / (rs[k] - 1.0) if d[2, k] > 1 else 1.0
                    t3 = t5 * (skmm[k] ** 2) * d[2, k] / rs[k] ** 2
                    v3[k] += t4 * t4 * t3
                    t1 = t4 * c[:ng1, k]
                    v2[:, k] -= t1 * t4 * t3
                    v += np.tril(np.outer(t1, t1)) * t3
        else:
            f = fm
        if hi >= y.size:
            break
        rs -= np.bincount(ig[lo:hi], minlength=ng)
        fm, f1m, skmm = f, f1.copy(), skm.copy()
    for i in range(ng1):
        for j in range(i + 1):
            v[i, j] += np.sum(c[i] * c[j] * v3 + c[i] * v2[j] + c[j] * v2[i])
    v = np.tril(v) + np.tril(v, -1).T
    return s, v


def cause_specific_logrank(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    censor_value: Hashable | None = None,
    **kwargs,
) -> dict:
    """The log-rank test of each cause's own hazard, the other causes' events censored.

    Parameters
    ----------
    df : DataFrame
        One row per unit; never modified.
    time, event, group : str
        As :func:`cumulative_incidence`.
    censor_value : optional
        As :func:`cumulative_incidence`.
    **kwargs
        Passed to :func:`bayessa.frequentist.logrank` (``strata``, ``rho``, ``entry``, ...).

    Returns
    -------
    dict
        Cause -> :class:`~bayessa.frequentist.rank_tests.LogRankResult`.
    """
    from bayessa.frequentist.rank_tests import logrank

    d = _prepare(df, time, event, group, None, censor_value)
    out = {}
    for cause in d.causes:
        own = df.assign(_cause_event=(df[event] == cause).astype(int))
        out[cause] = logrank(own, time=time, event="_cause_event", group=group, **kwargs)
    return out
