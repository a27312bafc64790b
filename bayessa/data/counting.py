r"""The counting-process form: several rows per unit, covariates constant within a row.

A unit followed from its time zero may have its covariates change during follow-up (a group
taken over by a professional, a patient who receives a transplant). R writes this as
``Surv(tstart, tstop, event)`` with one row per stretch of constant covariates; bayessa reads the
same layout. Row :math:`r` of unit :math:`i` covers :math:`(s_{ir}, e_{ir}]` on the unit's time
scale, and the hazard on it uses that row's covariates, so the piecewise-exponential likelihood
of the unit is the sum over its rows,

.. math::

    \ell_i = \sum_r \Bigl( d_{ir} \log \lambda_i(e_{ir}) - \int_{s_{ir}}^{e_{ir}}
    \lambda_i(t)\,dt \Bigr),

with :math:`d_{ir} = 0` on every row but the last. A first ``tstart`` after 0 is delayed entry;
a gap between rows (:math:`s_{i,r+1} > e_{ir}`) is time not at risk, legal and stated in the
audit.

Rules checked here (each problem names the unit ids and the fix): ``tstop > tstart`` on every
row, ``tstart >= 0``; a unit's rows do not overlap; only a unit's last row may have an event; a
unit's time zero (``start``/``origin``) and its grouping columns (cluster) are the same on all its
rows. Rows need not be sorted; they are ordered by unit (first appearance) and time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayessa.data.columns import Columns
from bayessa.data.parsing import Checker, FollowUp, _dates, _is_number, _numeric, event_column

__all__ = ["counting_follow_up", "order_unit_rows"]


def counting_follow_up(raw: pd.DataFrame, columns: Columns, chk: Checker, unit: float) -> FollowUp:
    """Each row's ``(tstart, tstop]`` on the unit's time scale, its event and time zero.

    ``tstart``/``tstop`` are durations since the unit's time zero when they are numbers. When
    they are dates, time zero is the ``start`` date column if named, else the unit's earliest
    ``tstart`` (so its first row starts at 0); days are differenced first, then divided by the
    unit's length, as in the other date forms.

    Parameters
    ----------
    raw : DataFrame
        The table as read.
    columns : Columns
        Roles; ``columns.form == "counting"``.
    chk : Checker
        Collects the problems.
    unit : float
        Days per unit of the time scale.

    Returns
    -------
    FollowUp
    """
    ts, te = columns.tstart, columns.tstop
    event, cause, causes = event_column(raw[columns.event], columns.event, columns.censored, chk)
    if _is_number(raw[ts]) and _is_number(raw[te]):
        entry = _numeric(raw[ts], ts, chk, kind="tstart")
        exit_ = _numeric(raw[te], te, chk, kind="tstop")
        origin = np.full(len(raw), np.nan)
        if columns.start is not None:
            origin = _dates(raw[columns.start], columns.start, chk) / unit
        elif columns.origin is not None:
            origin = _numeric(raw[columns.origin], columns.origin, chk, kind="origin")
        chk.rows(
            entry < 0,
            ts,
            "negative tstart",
            "tstart is the time since the unit's time zero at which the row begins; it must be >= 0",
        )
    else:
        start_days = _dates(raw[ts], ts, chk)
        stop_days = _dates(raw[te], te, chk)
        if columns.start is not None:
            zero = _dates(raw[columns.start], columns.start, chk)
            chk.rows(
                start_days < zero,
                ts,
                f"tstart dates before the unit's time zero ({columns.start})",
                "a row cannot begin before time zero; check the dates",
            )
        else:
            # time zero: each unit's earliest tstart date
            ids = raw[columns.id]
            zero = pd.Series(start_days).groupby(ids.to_numpy(), sort=False).transform("min")
            zero = zero.to_numpy()
            chk.notes.append(
                (None, f"time zero of each unit is its earliest {ts} date (no start column named)")
            )
        entry, exit_ = (start_days - zero) / unit, (stop_days - zero) / unit
        origin = zero / unit
    both = np.isfinite(entry) & np.isfinite(exit_)
    chk.rows(
        both & (exit_ <= entry),
        te,
        f"rows with {te} at or before {ts}",
        f"each row covers ({ts}, {te}] and must have {te} > {ts}; remove empty rows or correct "
        "the times",
    )
    return FollowUp(entry, exit_, event, origin, te, cause, causes)


def order_unit_rows(
    raw: pd.DataFrame,
    columns: Columns,
    fu: FollowUp,
    grouping: dict[str, pd.Categorical],
    chk: Checker,
) -> np.ndarray:
    """Check the rows of each unit together; return the row order (by unit, then time).

    Parameters
    ----------
    raw : DataFrame
        The table as read.
    columns : Columns
        Roles (``id``, ``tstart``, ``tstop``).
    fu : FollowUp
        Each row's follow-up (:func:`counting_follow_up`).
    grouping : dict of str to Categorical
        The grouping columns (cluster), which must not change within a unit.
    chk : Checker
        Collects problems, and the gap note.

    Returns
    -------
    ndarray of int64
        A permutation of the rows: units in order of first appearance, each unit's rows by
        ``tstart``.
    """
    unit = pd.factorize(raw[columns.id], use_na_sentinel=True)[0]
    order = np.lexsort((np.nan_to_num(fu.entry, nan=np.inf), unit))
    u, s, e = unit[order], fu.entry[order], fu.exit[order]
    same = np.r_[False, (u[1:] == u[:-1]) & (u[1:] >= 0)]  # row follows a row of its unit
    prev_e = np.r_[np.nan, e[:-1]]

    def back(mask_sorted: np.ndarray) -> np.ndarray:
        out = np.zeros(len(order), dtype=bool)
        out[order[mask_sorted]] = True
        return out

    ts, te = columns.tstart, columns.tstop
    chk.rows(
        back(same & (s < prev_e)),
        ts,
        "overlapping rows of a unit (a row starts before the unit's previous row ends)",
        f"a unit's rows must cover disjoint intervals ({ts}, {te}]; merge or correct them "
        "(time-varying values belong in consecutive rows, each ending where the next starts)",
    )
    last = np.r_[u[1:] != u[:-1], True]
    ev = fu.event[order] == 1
    chk.rows(
        back(ev & ~last),
        columns.event,
        "an event on a row that is not the unit's last",
        "an event ends follow-up: it belongs on the unit's last row (later rows must be "
        "removed, or the event was recorded on the wrong row)",
    )
    for name, values in [("origin", fu.origin), *grouping.items()]:
        v = np.asarray(values.codes if isinstance(values, pd.Categorical) else values)[order]
        prev = np.r_[v[:1], v[:-1]]
        differs = same & (v != prev) & ~(pd.isna(v) & pd.isna(prev))
        column = (columns.start or columns.origin or ts) if name == "origin" else name
        what = "time zero" if name == "origin" else f"'{name}'"
        chk.rows(
            back(differs),
            column,
            f"{what} changes between the rows of a unit",
            f"give each unit one {what} on all its rows"
            + (
                ""
                if name == "origin"
                else f" (a grouping column); a changing '{name}' would "
                "be a covariate in the formula"
            ),
        )
    gaps = same & (s > prev_e)
    if gaps.any():
        units_with_gaps = np.unique(u[gaps])
        chk.notes.append(
            (
                back(gaps),
                f"gaps between rows ({int(gaps.sum())} gaps in {units_with_gaps.size} units): "
                "time not at risk, contributing no exposure",
            )
        )
    return order
