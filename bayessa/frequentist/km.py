r"""Kaplan–Meier estimate, Greenwood standard errors, medians and restricted means.

The numbers match R ``survival`` (``survfit``, ``summary.survfit``, ``print.survfit``); the
conventions are documented on :func:`kaplan_meier` and in ``docs/frequentist.md``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from bayessa.errors import SpecError
from bayessa.frequentist._validate import SurvivalArrays, check_survival_frame

__all__ = ["ConfType", "kaplan_meier", "km_arrays", "km_median", "km_rmst", "km_summary"]

ConfType = Literal["log", "log-log", "plain"]
_CONF_TYPES = ("log", "log-log", "plain")
_TOL = float(np.sqrt(np.finfo(float).eps))  # R: .Machine$double.eps^0.5


def km_arrays(t: np.ndarray, d: np.ndarray, e: np.ndarray | None) -> dict[str, np.ndarray]:
    r"""Product-limit estimate for one group, one row per distinct exit time (sorting + counts).

    .. math::

        \hat S(t) = \prod_{t_j \le t} \Bigl(1 - \frac{d_j}{n_j}\Bigr),

    with :math:`n_j` the units at risk at :math:`t_j` (entry < :math:`t_j` <= exit) and
    :math:`d_j` the events there.

    Parameters
    ----------
    t : (n,) float
        Exit times.
    d : (n,) bool
        Event indicators.
    e : (n,) float or None
        Entry times (delayed entry), or None.

    Returns
    -------
    dict of arrays
        One entry per distinct exit time: ``time``, ``n_risk``, ``n_event``, ``n_censor``,
        ``surv``, ``se_log`` (Greenwood SE of log S) and ``std_err`` (of S).
    """
    times, inv = np.unique(t, return_inverse=True)
    total = np.bincount(inv, minlength=times.size)
    n_event = np.bincount(inv[d], minlength=times.size)
    # units with exit >= t_j ...
    n_risk = t.size - np.concatenate(([0], np.cumsum(total)[:-1]))
    if e is not None:
        # ... less those that have not entered yet (entry >= t_j): at risk iff entry < t_j <= exit
        n_risk = n_risk - (e.size - np.searchsorted(np.sort(e), times, side="left"))
    n = n_risk.astype(np.float64)
    dd = n_event.astype(np.float64)
    surv = np.cumprod(1.0 - dd / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n_event > 0, dd / (n * (n - dd)), 0.0)  # inf where every unit fails
        se_log = np.sqrt(np.cumsum(term))
        std_err = surv * se_log  # 0 * inf -> NaN where S = 0, as in R
    return {
        "time": times,
        "n_risk": n_risk.astype(np.int64),
        "n_event": n_event.astype(np.int64),
        "n_censor": (total - n_event).astype(np.int64),
        "surv": surv,
        "se_log": se_log,
        "std_err": std_err,
    }


def _limits(
    surv: np.ndarray, se_log: np.ndarray, conf_type: str, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits exactly as R's ``survfit_confint(logse = TRUE)``."""
    z = stats.norm.ppf(1.0 - (1.0 - conf_level) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = se_log * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            logp = np.log(np.where(surv == 0, np.nan, surv))
            return np.exp(logp - z * se_log), np.minimum(np.exp(logp + z * se_log), 1.0)
        p = np.where((surv == 0) | (surv == 1), np.nan, surv)
        lp = np.log(p)
        half = z * se_log / lp
        loglog = np.log(-lp)
        return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))


def _check_conf(conf_type: str, conf_level: float) -> None:
    problems = []
    if conf_type not in _CONF_TYPES:
        problems.append(f"conf_type must be one of {', '.join(_CONF_TYPES)}; got {conf_type!r}")
    if not 0.0 < conf_level < 1.0:
        problems.append(f"conf_level must be strictly between 0 and 1; got {conf_level!r}")
    if problems:
        raise SpecError(problems)


def _by_group(arrays: SurvivalArrays) -> list[tuple[Hashable | None, np.ndarray]]:
    if arrays.group is None:
        return [(None, np.arange(arrays.time.size))]
    order = np.argsort(arrays.group, kind="stable")
    bounds = np.searchsorted(arrays.group[order], np.arange(len(arrays.group_levels) + 1))
    return [
        (level, order[bounds[i] : bounds[i + 1]]) for i, level in enumerate(arrays.group_levels)
    ]


def _fits(
    df: pd.DataFrame, time: str, event: str, group: str | None, entry: str | None
) -> list[tuple[Hashable | None, dict[str, np.ndarray], int]]:
    a = check_survival_frame(df, time=time, event=event, entry=entry, group=group)
    out = []
    for level, idx in _by_group(a):
        e = a.entry[idx] if a.entry is not None else None
        out.append((level, km_arrays(a.time[idx], a.event[idx], e), idx.size))
    return out


def kaplan_meier(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None = None,
    entry: str | None = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    r"""Kaplan–Meier survival curve(s) with Greenwood standard errors and pointwise limits.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit.
    time, event : str
        Exit time (>= 0) and event indicator (1/True = event, 0/False = censored).
    group : str, optional
        One curve per level (levels sorted, or in category order for a categorical column).
    entry : str, optional
        Delayed-entry (left-truncation) time, ``entry < time``; R's ``Surv(entry, time, event)``.
    conf_type : {"log", "log-log", "plain"}
        Scale of the pointwise interval (R's ``conf.type``; "log" is R's default).
    conf_level : float
        Coverage of the pointwise interval.

    Returns
    -------
    pandas.DataFrame
        One row per group and distinct exit time (event or censoring), as R's ``survfit`` object
        or ``summary(fit, censored = TRUE)``: ``group`` (only with *group*), ``time``,
        ``n_risk``, ``n_event``, ``n_censor``, ``surv``, ``std_err``, ``lower``, ``upper``.

    Notes
    -----
    With distinct times :math:`t_j`, :math:`d_j` events and :math:`n_j` at risk,

    .. math::

        \hat S(t) = \prod_{t_j \le t} \Bigl(1 - \frac{d_j}{n_j}\Bigr), \qquad
        \widehat{\operatorname{se}}\{\log \hat S(t)\} = \sigma(t) =
        \Bigl(\sum_{t_j \le t} \frac{d_j}{n_j (n_j - d_j)}\Bigr)^{1/2}

    (Greenwood). ``std_err`` is :math:`\hat S(t)\,\sigma(t)`, the standard error of
    :math:`\hat S(t)` (R's ``summary(fit)$std.err``; ``fit$std.err`` is :math:`\sigma`).
    Ties: all :math:`d_j` events at :math:`t_j` leave together (the product-limit estimate needs
    no tie correction); units censored at :math:`t_j` are still at risk at :math:`t_j`.
    Risk set: a unit is at risk at :math:`t` when :math:`\text{entry} < t \le \text{time}`
    (entry 0 without *entry*). With :math:`z = \Phi^{-1}\{1 - (1 - \text{conf\_level})/2\}`:

    .. math::

        \text{plain: } \hat S \pm z \hat S \sigma \text{ clipped to } [0, 1]; \quad
        \text{log: } \hat S e^{\pm z \sigma} \text{ (upper clipped at 1)}; \quad
        \text{log-log: } \hat S^{\exp(\pm z \sigma / \log \hat S)}.

    As in R, limits are NaN where :math:`\hat S = 0` (all types; there :math:`\sigma = \infty` and
    ``std_err`` is NaN), and log-log limits are also NaN where :math:`\hat S = 1`.
    R's ``timefix`` rounding of nearly equal times is not applied: times are compared exactly.

    Examples
    --------
    >>> df = pd.DataFrame({"t": [1, 2, 2, 3], "d": [1, 1, 0, 1]})
    >>> kaplan_meier(df, time="t", event="d")[["time", "n_risk", "surv"]]
       time  n_risk  surv
    0   1.0       4  0.75
    1   2.0       3  0.50
    2   3.0       1  0.00
    """
    _check_conf(conf_type, conf_level)
    frames = []
    for level, fit, _ in _fits(df, time, event, group, entry):
        lower, upper = _limits(fit["surv"], fit["se_log"], conf_type, conf_level)
        cols = {k: v for k, v in fit.items() if k != "se_log"}
        frame = pd.DataFrame({**cols, "lower": lower, "upper": upper})
        if group is not None:
            frame.insert(0, "group", pd.Series([level] * len(frame), dtype=object))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _minmin(y: np.ndarray, x: np.ndarray) -> float:
    """First time the curve *y* is at or below one half (R ``survmean``'s ``minmin``).

    Where the curve equals 0.5 (within ``sqrt(eps)``) on an interval, the midpoint of that
    interval is returned.
    """
    keep = ~np.isnan(y) & (y < 0.5 + _TOL)
    if not keep.any():
        return float("nan")
    x, y = x[keep], y[keep]
    below = y < y[0]
    if abs(y[0] - 0.5) < _TOL and below.any():
        return float((x[0] + x[np.argmax(below)]) / 2.0)
    return float(x[0])


def _rmean(fit: dict[str, np.ndarray], tau: float) -> tuple[float, float]:
    """Restricted mean and its standard error, transcribed from R ``survmean``."""
    t, s, n, d = fit["time"], fit["surv"], fit["n_risk"], fit["n_event"]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n - d == 0, 0.0, d / (n * (n - d).astype(np.float64)))
    keep = t <= tau
    if not keep.any():
        ttime, tsurv, hh = np.array([tau]), np.array([1.0]), np.array([0.0])
    else:
        ttime = np.append(t[keep], tau)
        tsurv = np.append(s[keep], s[keep][-1])
        hh = np.append(hh[keep], 0.0)
    start = 0.0  # R: min(0, times); times are >= 0 here
    rect = np.diff(np.concatenate(([start], ttime))) * np.concatenate(([1.0], tsurv[:-1]))
    var = np.sum(np.cumsum(rect[1:][::-1]) ** 2 * hh[::-1][1:])
    return float(rect.sum() + start), float(np.sqrt(var))


def km_summary(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None = None,
    entry: str | None = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    tau: float | None = None,
) -> pd.DataFrame:
    r"""Per-group summary as R's ``print(survfit, rmean = tau)`` / ``summary(fit)$table``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit.
    time, event : str
        Exit time (>= 0) and event indicator (1/True = event, 0/False = censored).
    group : str, optional
        One row per level (levels sorted, or in category order for a categorical column).
    entry : str, optional
        Delayed-entry (left-truncation) time, ``entry < time``; R's ``Surv(entry, time, event)``.
    conf_type : {"log", "log-log", "plain"}, default "log"
        Scale of the pointwise interval whose curves give the median's limits (R's ``conf.type``).
    conf_level : float, default 0.95
        Coverage of the pointwise interval.
    tau : float, optional
        Horizon of the restricted mean; without it no ``tau``, ``rmean``, ``se_rmean`` columns.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group`` (only with *group*), ``records`` (rows), ``n_max`` (largest
        risk set), ``n_start`` (risk set at the first time), ``events``, then with *tau*
        ``tau``, ``rmean`` and ``se_rmean``, then ``median``, ``median_lower``, ``median_upper``.

    Notes
    -----
    The median is the first time at which :math:`\hat S(t) \le 1/2`; where :math:`\hat S` equals
    1/2 (within :math:`\sqrt{\epsilon}`) on an interval :math:`[t_a, t_b)` it is
    :math:`(t_a + t_b)/2`. The limits apply the same rule to the pointwise lower and upper
    curves of *conf_type* (``median_lower`` from the lower curve); NaN when a curve never
    reaches 1/2 (R prints ``NA``).

    The restricted mean to horizon :math:`\tau` and its standard error (R's ``*rmean`` and
    ``*se(rmean)``) are

    .. math::

        \hat\mu(\tau) = \int_0^\tau \hat S(t)\,dt, \qquad
        \widehat{\operatorname{var}} = \sum_{t_j \le \tau} A_j^2 \frac{d_j}{n_j (n_j - d_j)},
        \quad A_j = \int_{t_j}^{\tau} \hat S(t)\,dt,

    with terms where :math:`n_j = d_j` set to 0, as R does.
    """
    _check_conf(conf_type, conf_level)
    rows = []
    for level, fit, records in _fits(df, time, event, group, entry):
        lower, upper = _limits(fit["surv"], fit["se_log"], conf_type, conf_level)
        row: dict[str, object] = {} if group is None else {"group": level}
        row |= {
            "records": records,
            "n_max": int(fit["n_risk"].max()),
            "n_start": int(fit["n_risk"][0]),
            "events": int(fit["n_event"].sum()),
        }
        if tau is not None:
            mean, se = _rmean(fit, float(tau))
            row |= {"tau": float(tau), "rmean": mean, "se_rmean": se}
        row |= {
            "median": _minmin(fit["surv"], fit["time"]),
            "median_lower": _minmin(lower, fit["time"]),
            "median_upper": _minmin(upper, fit["time"]),
        }
        rows.append(row)
    out = pd.DataFrame(rows)
    if group is not None:
        out["group"] = out["group"].astype(object)
    return out


def km_median(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None = None,
    entry: str | None = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    r"""Median survival with its confidence interval, as R's ``print(survfit)``.

    See :func:`km_summary` for the rule (midpoint where :math:`\hat S = 1/2` on an interval).
    Columns: ``group`` (only with *group*), ``records``, ``n_max``, ``n_start``, ``events``,
    ``median``, ``median_lower``, ``median_upper``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit.
    time, event : str
        Exit time (>= 0) and event indicator (1/True = event, 0/False = censored).
    group : str, optional
        One row per level (levels sorted, or in category order for a categorical column).
    entry : str, optional
        Delayed-entry (left-truncation) time, ``entry < time``; R's ``Surv(entry, time, event)``.
    conf_type : {"log", "log-log", "plain"}, default "log"
        Scale of the pointwise interval whose curves give the median's limits (R's ``conf.type``).
    conf_level : float, default 0.95
        Coverage of the pointwise interval.

    Returns
    -------
    pandas.DataFrame
        One row per group, with the columns above.
    """
    return km_summary(
        df,
        time=time,
        event=event,
        group=group,
        entry=entry,
        conf_type=conf_type,
        conf_level=conf_level,
    )


def km_rmst(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    tau: float,
    group: str | None = None,
    entry: str | None = None,
) -> pd.DataFrame:
    """Restricted mean survival time to *tau* with its standard error.

    Equals R's ``*rmean`` and ``*se(rmean)`` from ``print(survfit, rmean = tau)``; formula in
    :func:`km_summary`. Columns: ``group`` (only with *group*), ``tau``, ``rmst``, ``se``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit.
    time, event : str
        Exit time (>= 0) and event indicator (1/True = event, 0/False = censored).
    tau : float
        The horizon: a positive finite time.
    group : str, optional
        One row per level (levels sorted, or in category order for a categorical column).
    entry : str, optional
        Delayed-entry (left-truncation) time, ``entry < time``; R's ``Surv(entry, time, event)``.

    Returns
    -------
    pandas.DataFrame
        One row per group, with the columns above.

    Raises
    ------
    SpecError
        *tau* is not positive and finite.
    """
    if not np.isfinite(tau) or tau <= 0:
        raise SpecError(f"tau must be a positive finite time; got {tau!r}")
    s = km_summary(df, time=time, event=event, group=group, entry=entry, tau=tau)
    out = s[(["group"] if group is not None else []) + ["tau", "rmean", "se_rmean"]]
    return out.rename(columns={"rmean": "rmst", "se_rmean": "se"})
