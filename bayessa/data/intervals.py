r"""The interval form of follow-up: an event known only to lie between two times.

A unit is seen without the event at time :math:`L` (``time_lower``: the last date a group was
seen meeting) and with it at :math:`R` (``time_upper``: the first date it was found closed), so
its event time :math:`T` is only known to lie in :math:`(L, R]`. The two columns follow R's
``Surv(L, R, type = "interval2")``:

========================  =========================================================
``L == R``                an event observed exactly at :math:`L`
``L < R``                 an event in :math:`(L, R]` (interval-censored)
``R`` blank or ``inf``    no event up to :math:`L` (right-censored at :math:`L`)
``L`` blank               an event in :math:`(e, R]`, :math:`e` the entry (left-censored)
========================  =========================================================

The bounds are durations since the unit's time zero, or dates (with ``start``, the date of time
zero; then differences of whole days divided by the unit's length, as in the date forms). The
likelihood of an interval-censored unit entering at :math:`e` is

.. math::

    \frac{S(L) - S(R)}{S(e)} = \underbrace{e^{-\{H(L) - H(e)\}}}_{\text{at risk on } (e, L]}
    \;\bigl(1 - e^{-\{H(R) - H(L)\}}\bigr),

so :func:`interval_follow_up` records it as a unit followed on :math:`(e, L]` without an event
(``exit`` = :math:`L`, ``event`` = 0: the first factor, which aggregates into cells like any
follow-up) plus the bound ``upper`` = :math:`R` (the second factor, :mod:`bayessa.data.lexis`
splits :math:`(L, R]` into its own pieces).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayessa.data.columns import Columns
from bayessa.data.parsing import _HALF_DAY, Checker, FollowUp, _blank, _dates, _examples

__all__ = ["interval_follow_up"]


def _bound(raw: pd.Series, name: str, chk: Checker, dates: bool) -> np.ndarray:
    """A bound in days (dates) or time units (numbers); blank -> NaN, ``inf`` allowed (numbers)."""
    if dates:
        return _dates(raw, name, chk, allow_missing=True)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & ~_blank(raw)
    chk.rows(
        bad,
        name,
        f"values that are neither numbers nor blank (e.g. {_examples(raw, bad)})"
        if bad.any()
        else "",
        "give plain numbers (a blank or inf upper bound means no event was seen)",
    )
    return values


def _holds_dates(raw: pd.Series) -> bool:
    """Whether a bound column holds dates (text that is not numbers, or datetimes)."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return True
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return False
    text = pd.Series(raw[~_blank(raw)].astype(str).str.strip().unique())
    words = text[pd.to_numeric(text, errors="coerce").isna()]
    return bool(pd.to_datetime(words, format="ISO8601", errors="coerce").notna().any())


def interval_follow_up(raw: pd.DataFrame, columns: Columns, chk: Checker, unit: float) -> FollowUp:
    """Follow-up of the interval form: ``time_lower``, ``time_upper``, optional entry and start.

    Parameters
    ----------
    raw : DataFrame
        The table as read.
    columns : Columns
        Roles with ``time_lower`` and ``time_upper`` (and optionally ``entry``, ``start`` or
        ``origin``).
    chk : Checker
        Collects row-level problems: a lower bound after the upper one, negative times, both
        bounds blank, bounds before entry, text that is neither a number nor a date.
    unit : float
        Days per time unit.

    Returns
    -------
    FollowUp
        ``exit`` = :math:`L` (or the event time when ``L == R``; :math:`R` for a blank lower
        bound), ``event`` 1 only for exact events, ``upper`` = :math:`R` for interval-censored
        units and NaN otherwise.
    """
    lo_name, hi_name = columns.time_lower, columns.time_upper
    n = len(raw)
    as_dates = _holds_dates(raw[lo_name]) or _holds_dates(raw[hi_name])
    origin = np.full(n, np.nan)
    if as_dates and columns.start is None:
        chk.table(
            f"'{lo_name}'/'{hi_name}' hold dates but no start date column was named",
            "name the date of each unit's time zero with start=... (--start COL), or give the "
            "bounds as durations",
        )
        return _empty(n, lo_name)
    if columns.start is not None:
        origin = _dates(raw[columns.start], columns.start, chk)
    elif columns.origin is not None:
        origin = pd.to_numeric(raw[columns.origin], errors="coerce").to_numpy(np.float64) * unit
    lo = _bound(raw[lo_name], lo_name, chk, as_dates)
    hi = _bound(raw[hi_name], hi_name, chk, as_dates)
    if as_dates:  # whole days since time zero, then the time unit
        lo, hi = lo - origin, hi - origin
    lo, hi = lo / (unit if as_dates else 1.0), hi / (unit if as_dates else 1.0)
    entry = _entry(raw, columns, chk, origin, unit, as_dates)
    _check_bounds(lo, hi, entry, columns, chk)
    exact = np.isfinite(lo) & (lo == hi)
    right = np.isfinite(lo) & ~(hi < np.inf)  # NaN or inf upper bound
    left = np.isnan(lo) & np.isfinite(hi)
    exit_ = np.where(left, entry, lo)  # exact: the event time; otherwise L (entry if blank)
    upper = np.where(~exact & ~right & np.isfinite(hi), hi, np.nan)
    event = exact.astype(np.int8)
    if as_dates:  # an event on the start date: half a day, as in the date forms
        same_day = exact & (exit_ == 0) & (entry == 0)
        exit_ = np.where(same_day, _HALF_DAY / unit, exit_)
        if same_day.any():
            chk.notes.append((same_day, f"event on the start date ({columns.start}): placed "
                              "half a day after the start"))  # fmt: skip
    if left.any():
        chk.notes.append((left, f"blank '{lo_name}': the event lies between entry and '{hi_name}' "
                          "(left-censored)"))  # fmt: skip
    ic = np.isfinite(upper)
    if ic.any():
        chk.notes.append((None, f"interval censoring: {int(ic.sum())} of {n} units have their "
                          f"event known only to lie in ({lo_name}, {hi_name}]; {int(exact.sum())} "
                          f"exact, {int(right.sum())} right-censored"))  # fmt: skip
    return FollowUp(entry, exit_, event, origin / unit, f"{lo_name}/{hi_name}", upper=upper)


def _entry(raw, columns: Columns, chk: Checker, origin, unit: float, as_dates: bool) -> np.ndarray:
    """Entry times (0 without an entry column): a duration, or a date with date bounds."""
    n = len(raw)
    if columns.entry is None:
        return np.zeros(n)
    if as_dates:
        entry = (_dates(raw[columns.entry], columns.entry, chk) - origin) / unit
    else:
        entry = pd.to_numeric(raw[columns.entry], errors="coerce").to_numpy(np.float64)
        chk.rows(
            np.isnan(entry),
            columns.entry,
            "missing or non-numeric entry times",
            "give each unit's entry time as a number",
        )
    chk.rows(
        entry < 0,
        columns.entry,
        "entry before time zero",
        "entry is the time since time zero at which observation began; it must be >= 0",
    )
    return entry


def _check_bounds(lo, hi, entry, columns: Columns, chk: Checker) -> None:
    """Row problems of the bounds: order, sign, both blank, before entry."""
    lo_name, hi_name = columns.time_lower, columns.time_upper
    chk.rows(
        np.isnan(lo) & ~(hi < np.inf),
        lo_name,
        f"both '{lo_name}' and '{hi_name}' are blank",
        f"give '{lo_name}' (the last time seen without the event) for every unit",
    )
    chk.rows(
        np.isinf(lo),
        lo_name,
        "infinite lower bounds",
        f"'{lo_name}' is the last time the unit was seen without the event: a finite time",
    )
    chk.rows(
        (lo < 0) | (hi < 0),
        f"{lo_name}/{hi_name}",
        "bounds before time zero",
        "times are measured from each unit's time zero (start) and must be >= 0",
    )
    chk.rows(
        lo > hi,
        f"{lo_name}/{hi_name}",
        f"'{lo_name}' after '{hi_name}'",
        f"'{lo_name}' is the last time seen without the event and '{hi_name}' the first time "
        "seen with it; swap or correct them",
    )
    chk.rows(
        ((lo < entry) & (lo >= 0)) | (np.isnan(lo) & (hi <= entry)),
        columns.entry or lo_name,
        "event or last contact before entry",
        "a unit is observed from its entry: its bounds must lie after it",
    )
    chk.rows(
        (lo == entry) & ~(hi < np.inf),
        lo_name,
        "follow-up of zero length (no event seen and last contact at entry)",
        "a unit followed for no time carries no information; remove it or correct its dates",
    )


def _empty(n: int, end_column: str) -> FollowUp:
    """A placeholder follow-up when a table-level problem stops parsing."""
    nan = np.full(n, np.nan)
    return FollowUp(np.zeros(n), nan, np.zeros(n, np.int8), nan, end_column, upper=nan)
