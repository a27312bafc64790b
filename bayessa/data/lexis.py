r"""Lexis splitting: each unit's follow-up cut at age cut points and, optionally, calendar dates.

A unit followed from age (time since its own time zero) ``entry`` to ``exit`` is cut into pieces at
the age cut points :math:`0 = a_0 < a_1 < \dots < a_K` and at the calendar cut points
:math:`c_1 < \dots < c_{P-1}`, which fall at ages :math:`c_j - o_i` for a unit whose time zero is
at calendar time :math:`o_i`. Each piece lies in exactly one age interval
:math:`(a_{k}, a_{k+1}]` and one calendar period, so a covariate can be either the period at time
zero (fixed, e.g. era at founding) or the current calendar period (time-varying).

Output contract (``Pieces.frame``), one row per piece, ordered by unit then time:

=============  ===================================================================
``id``         unit id
``interval``   age-interval label, e.g. ``"(0,0.5]"`` (Categorical, all intervals)
``period``     calendar-period label (Categorical); ``"all"`` when not split by calendar
``start``      piece start (age)
``stop``       piece stop (age)
``exposure``   ``stop - start``
``event``      1 in the unit's last piece if its event happened there, else 0
covariates     the unit's covariates and cluster (Categoricals)
=============  ===================================================================

Per row of the data, exposures sum to ``exit - entry`` (or to ``min(exit, a_K) - entry`` with
administrative censoring) and events sum to the row's event; a unit with several rows (the
counting-process form) has the pieces of all of them, each carrying its row's covariates, and
``Pieces.unit_index`` names the unit. Delayed entry starts the first piece at ``entry``.
The cut points and arguments are stored on the result so the same split can be replayed on new data
with :meth:`Pieces.replay` (the pammtools habit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayessa.data.columns import SurvivalData, to_calendar
from bayessa.errors import DataError, Problem, SpecError

__all__ = ["Pieces", "check_cuts", "interval_labels", "split"]


def _fmt(x: float) -> str:
    return "inf" if np.isinf(x) else f"{x:g}"


def interval_labels(cuts: Sequence[float]) -> list[str]:
    """Labels ``"(a,b]"`` for consecutive cut points.

    Parameters
    ----------
    cuts : sequence of float
        Cut points; ``inf`` is written ``inf``.

    Returns
    -------
    list of str
        One label per interval (``len(cuts) - 1``).
    """
    return [f"({_fmt(a)},{_fmt(b)}]" for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def check_cuts(cuts: Sequence[float], *, name: str = "cuts") -> np.ndarray:
    """Validate age cut points: at least two, finite except a last ``inf``, start at 0, increasing.

    Parameters
    ----------
    cuts : sequence of float
        Age cut points.
    name : str, default "cuts"
        What to call them in messages.

    Returns
    -------
    ndarray of float64
        The cut points.

    Raises
    ------
    SpecError
        Listing every problem found.
    """
    try:
        a = np.asarray(cuts, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(f"{name} must be numbers, got {cuts!r}") from None
    problems = []
    if a.ndim != 1 or a.size < 2:
        problems.append(
            f"{name} needs at least two cut points (e.g. 0, 1, 2, 5), got {list(np.ravel(a))}"
        )
    else:
        if np.isnan(a).any() or np.isinf(a[:-1]).any() or a[-1] == -np.inf:
            problems.append(
                f"{name} must be finite numbers (only the last may be inf), got {a.tolist()}"
            )
        if a[0] != 0:
            problems.append(f"{name} must start at 0 (time zero), got first cut point {a[0]:g}")
        if (a < 0).any():
            problems.append(f"{name} must not be negative, got {a.tolist()}")
        if not (np.diff(a) > 0).all():
            problems.append(
                f"{name} must be strictly increasing, got {a.tolist()}; sort them and remove duplicates"
            )
    if problems:
        raise SpecError(problems)
    return a


@dataclass(frozen=True)
class Pieces:
    """The result of :func:`split`: pieces plus everything needed to replay the split.

    Parameters
    ----------
    frame : DataFrame
        One row per piece (see the module's output contract), ordered by unit then time.
    cuts : ndarray of float64
        Age cut points, from 0; the last may be ``inf``.
    periods : tuple
        Calendar cut points as given (dates or numbers); empty when not split by calendar.
    period_labels : tuple of str
        One label per calendar period (``("all",)`` when not split by calendar).
    period_name : str
        Name of the calendar-period column of ``frame``.
    administrative_censoring : bool
        Whether follow-up was censored at the last cut point.
    covariates : tuple of str
        Covariate columns of ``frame``.
    cluster : str or None
        Cluster column of ``frame``, if any.
    time_unit : str
        Time scale of the ages.
    unit_index : ndarray of int, shape (n_pieces,)
        The unit of each piece (0, 1, ...: :attr:`SurvivalData.unit_codes`); with one row per
        unit, the row of the SurvivalData frame.
    n_units : int
        Number of units split.
    notes : tuple of str, default ()
        What administrative censoring changed, and age intervals with no exposure.
    groups : tuple of str, default ()
        Further grouping columns of random effects (besides the cluster).
    row_index : ndarray of int, optional
        The row of the SurvivalData frame of each piece (several per unit in the
        counting-process form); None when it is ``unit_index``.
    causes : tuple of str, default ()
        Competing risks: the causes; ``frame`` then has ``cause`` (0, or the event's cause).
    interval_frame : DataFrame, optional
        Interval censoring: the pieces of each interval-censored unit's :math:`(L, R]` (the
        event lies somewhere in it), with the columns of ``frame`` (``exposure`` is the piece's
        length, ``event`` 0). ``frame`` holds the same units' follow-up up to :math:`L`.
    interval_unit : ndarray of int, optional
        The unit of each row of ``interval_frame``.
    """

    frame: pd.DataFrame
    cuts: np.ndarray
    periods: tuple[object, ...]
    period_labels: tuple[str, ...]
    period_name: str
    administrative_censoring: bool
    covariates: tuple[str, ...]
    cluster: str | None
    time_unit: str
    unit_index: np.ndarray  # row of each piece's unit in the SurvivalData frame
    n_units: int
    notes: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    row_index: np.ndarray | None = None
    causes: tuple[str, ...] = ()
    interval_frame: pd.DataFrame | None = None
    interval_unit: np.ndarray | None = None

    @property
    def grouping(self) -> tuple[str, ...]:
        """The cluster, then the further grouping columns."""
        return ((self.cluster,) if self.cluster else ()) + self.groups

    @property
    def interval_labels(self) -> list[str]:
        """Labels of the age intervals, R's right-closed ``(a, b]`` form."""
        return interval_labels(self.cuts)

    @property
    def widths(self) -> np.ndarray:
        """Interval widths (the last is inf if the last cut point is)."""
        return np.diff(self.cuts)

    def replay(self, data: SurvivalData) -> Pieces:
        """Split new data with exactly the same cut points, periods and options.

        Parameters
        ----------
        data : SurvivalData
            Validated units, with the same covariates and cluster.

        Returns
        -------
        Pieces
        """
        return split(
            data,
            self.cuts,
            periods=self.periods or None,
            period_labels=self.period_labels if self.periods else None,
            period_name=self.period_name,
            administrative_censoring=self.administrative_censoring,
        )


def _period_setup(
    data: SurvivalData,
    periods: Sequence[object] | None,
    period_labels: Sequence[str] | None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    if not periods:
        if period_labels is not None and len(period_labels) != 1:
            raise SpecError("period_labels given without calendar cut points (periods)")
        return np.empty(0), tuple(period_labels or ("all",))
    if not data.has_calendar:
        raise SpecError(
            "calendar periods need the calendar time of each unit's time zero: give a start-date "
            "column (start=...) or a numeric origin column (origin=...)"
        )
    try:
        numeric = all(isinstance(p, (int, float, np.number)) for p in periods)
        c = (
            np.asarray(periods, dtype=float)
            if numeric
            else to_calendar(list(periods), data.time_unit)
        )
    except (ValueError, TypeError):
        raise SpecError(
            f"calendar cut points must be ISO 8601 dates or numbers, got {list(periods)!r}"
        ) from None
    if not (np.diff(c) > 0).all():
        raise SpecError(f"calendar cut points must be strictly increasing, got {list(periods)!r}")
    if period_labels is None:
        names = [str(p) for p in periods]
        period_labels = (
            [f"before {names[0]}"]
            + [f"{a} to {b}" for a, b in zip(names[:-1], names[1:], strict=True)]
            + [f"from {names[-1]}"]
        )
    if len(period_labels) != len(c) + 1:
        raise SpecError(
            f"{len(c)} calendar cut points make {len(c) + 1} periods but {len(period_labels)} period_labels were given"
        )
    if len(set(period_labels)) != len(period_labels):
        raise SpecError(f"period_labels must be distinct, got {list(period_labels)}")
    return c, tuple(str(p) for p in period_labels)


def split(
    data: SurvivalData,
    cuts: Sequence[float],
    *,
    periods: Sequence[object] | None = None,
    period_labels: Sequence[str] | None = None,
    period_name: str = "period",
    administrative_censoring: bool = False,
) -> Pieces:
    r"""Split follow-up at age cut points and, optionally, calendar cut points.

    Parameters
    ----------
    data : SurvivalData
        Validated units (:func:`bayessa.read_data`).
    cuts : sequence of float
        Age cut points :math:`0 = a_0 < \dots < a_K`; the last may be ``inf`` for an open interval.
    periods : sequence of dates or numbers, optional
        Calendar cut points; dates are converted on the data's time scale.
    period_labels : sequence of str, optional
        One label per calendar period (``len(periods) + 1``).
    period_name : str
        Name of the calendar-period column (e.g. ``"calendar_era"``).
    administrative_censoring : bool
        If False (default), follow-up beyond the last cut point is an error. If True, units are
        censored at :math:`a_K`: events after it become censorings, and units entering at or after
        it contribute nothing. Both are counted in ``Pieces.notes``.

    Returns
    -------
    Pieces
    """
    a = check_cuts(cuts)
    c, plabels = _period_setup(data, periods, period_labels)
    reserved = {"id", "interval", "start", "stop", "exposure", "event", "cause"}
    names = set(data.covariates) | set(data.grouping)
    if period_name in reserved or period_name in names:
        raise SpecError(
            f"period_name '{period_name}' clashes with a column of the pieces; choose another name"
        )
    f = data.frame
    entry = f["entry"].to_numpy(np.float64)
    exit_, event, notes = _censor_at_last_cut(f, a[-1], data.time_unit, administrative_censoring)
    origin = f["origin"].to_numpy(np.float64)
    row, start, stop = _pieces(entry, exit_, a, c, origin)
    interval = np.searchsorted(a, 0.5 * (start + stop), side="left") - 1
    notes += _empty_intervals(a, interval, stop - start)
    ev = _event_on_last_piece(row, event, len(f))
    frame = _piece_frame(data, row, start, stop, ev, a, c, plabels, period_name)
    if data.causes:  # competing risks: the cause of the event, on its piece (0 elsewhere)
        frame["cause"] = (ev * f["cause"].to_numpy()[row]).astype(np.int8)
    ic_frame, ic_unit = None, None
    if data.has_intervals:  # the (L, R] of interval-censored units: pieces of their own
        upper, more = _interval_upper(f, exit_, a[-1], data.time_unit, administrative_censoring)
        notes += more
        ic = np.flatnonzero(np.isfinite(upper))
        irow, istart, istop = _pieces(exit_[ic], upper[ic], a, c, origin[ic])
        irow = ic[irow]
        ic_frame = _piece_frame(
            data, irow, istart, istop, np.zeros(irow.size, np.int8), a, c, plabels, period_name
        )
        ic_unit = data.unit_codes[irow]
    return Pieces(
        frame=frame,
        cuts=a,
        periods=tuple(periods or ()),
        period_labels=plabels,
        period_name=period_name,
        administrative_censoring=administrative_censoring,
        covariates=data.covariates,
        cluster=data.cluster,
        time_unit=data.time_unit,
        unit_index=data.unit_codes[row] if data.has_paths else row,
        n_units=data.n_units,
        notes=tuple(notes),
        groups=data.groups,
        row_index=row if data.has_paths else None,
        causes=data.causes,
        interval_frame=ic_frame,
        interval_unit=ic_unit,
    )


def _piece_frame(data, row, start, stop, ev, a, c, plabels, period_name: str) -> pd.DataFrame:
    """The pieces' frame: id, interval, period, bounds, exposure, event and the covariates."""
    f = data.frame
    mid = 0.5 * (start + stop)
    interval = np.searchsorted(a, mid, side="left") - 1
    out = {
        "id": f["id"].to_numpy()[row],
        "interval": pd.Categorical.from_codes(interval, categories=interval_labels(a)),
    }
    if c.size:
        pcode = np.searchsorted(c, f["origin"].to_numpy(np.float64)[row] + mid, side="right")
    else:
        pcode = np.zeros(row.size, dtype=np.int64)
    out[period_name] = pd.Categorical.from_codes(pcode, categories=list(plabels))
    out |= {"start": start, "stop": stop, "exposure": stop - start, "event": ev}
    for name in (*data.covariates, *data.grouping):
        col = f[name].array
        if isinstance(col, pd.Categorical):
            out[name] = pd.Categorical.from_codes(col.codes[row], dtype=col.dtype)
        else:  # a numeric covariate
            out[name] = f[name].to_numpy()[row]
    return pd.DataFrame(out)


def _interval_upper(
    f: pd.DataFrame, lower: np.ndarray, last: float, time_unit: str, administrative: bool
) -> tuple[np.ndarray, list[str]]:
    r"""Upper bounds of interval-censored units; beyond the last cut point an error or censored.

    With administrative censoring at :math:`a_K`, an event known only to lie in :math:`(L, R]`
    with :math:`R > a_K` may have happened after :math:`a_K`: the unit counts as followed up to
    :math:`\min(L, a_K)` without an event (what is known for certain).
    """
    upper = f["upper"].to_numpy(np.float64).copy()
    beyond = np.isfinite(upper) & (upper > last)
    if not beyond.any():
        return upper, []
    if not administrative:
        raise DataError(
            Problem(
                f"interval-censored events whose upper bound is beyond the last cut point "
                f"{last:g} {time_unit}",
                "extend the cut points (a last cut point of inf makes an open last interval) "
                "or censor at the last cut point (administrative_censoring=True / --admin-censor)",
                column="upper",
                ids=tuple(f["id"].to_numpy()[beyond]),
            )
        )
    upper[beyond] = np.nan
    note = (
        f"administrative censoring at {last:g} {time_unit}: {int(beyond.sum())} interval-censored "
        "units whose interval reaches beyond it count as censored at their lower bound"
    )
    return upper, [note]


def _censor_at_last_cut(
    f: pd.DataFrame, last: float, time_unit: str, administrative_censoring: bool
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Exit and event after censoring at the last cut point, or an error for follow-up beyond it."""
    entry = f["entry"].to_numpy(np.float64)
    exit_ = f["exit"].to_numpy(np.float64)
    event = f["event"].to_numpy(np.int8)
    beyond = exit_ > last
    n_ev = 0
    if beyond.any():
        if not administrative_censoring:
            ids = f["id"].to_numpy()[beyond]
            raise DataError(
                Problem(
                    f"follow-up beyond the last cut point {last:g} {time_unit}",
                    "extend the cut points (a last cut point of inf makes an open last interval) "
                    "or censor at the last cut point explicitly (administrative_censoring=True / --admin-censor)",
                    column="exit",
                    ids=tuple(ids),
                )
            )
        n_ev = int((event[beyond] == 1).sum())
        event = np.where(beyond, 0, event).astype(np.int8)
        exit_ = np.minimum(exit_, last)
    notes = _censoring_notes(last, time_unit, int(beyond.sum()), n_ev, int((entry >= last).sum()))
    return exit_, event, notes


def _censoring_notes(
    last: float, time_unit: str, n_beyond: int, n_events_beyond: int, n_late: int
) -> list[str]:
    """The split's notes on follow-up at the last cut point, from the counts of units concerned.

    Parameters
    ----------
    last : float
        The last cut point.
    time_unit : str
        The time scale.
    n_beyond : int
        Units followed beyond the last cut point (censored there).
    n_events_beyond : int
        Their events after it, not counted.
    n_late : int
        Units entering at or after the last cut point (no exposure).

    Returns
    -------
    list of str
        Notes for :attr:`Pieces.notes`, in the order :func:`split` states them.
    """
    notes = []
    if n_beyond:
        notes.append(
            f"administrative censoring at {last:g} {time_unit}: {n_beyond} units "
            f"followed beyond it were censored there ({n_events_beyond} later events not counted)"
        )
    if n_late:
        notes.append(
            f"{n_late} units entered at or after the last cut point {last:g} and contribute no exposure"
        )
    return notes


def _pieces(
    entry: np.ndarray, exit_: np.ndarray, a: np.ndarray, c: np.ndarray, origin: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Each unit's ``(entry, exit]`` cut at the age cuts ``a`` and the calendar cuts ``c``.

    Candidate break points per unit are its entry, the interior age cuts, the calendar cuts on
    the age scale (:math:`c - \mathrm{origin}`) and its exit, clipped to the follow-up and
    sorted; consecutive distinct ones bound the pieces.

    Returns
    -------
    unit, start, stop : arrays
        The unit index (row of the data) of each piece, ordered by unit then time, and its
        bounds on the age scale.
    """
    cols = [entry[:, None], np.broadcast_to(a[1:-1], (len(entry), a.size - 2))]
    if c.size:
        cols.append(c[None, :] - origin[:, None])
    cols.append(exit_[:, None])
    bp = np.concatenate(cols, axis=1)
    np.clip(bp, entry[:, None], exit_[:, None], out=bp)
    bp.sort(axis=1)
    lo, hi = bp[:, :-1], bp[:, 1:]
    keep = hi > lo
    unit = np.nonzero(keep)[0]  # row-major: ordered by unit, then time
    return unit, lo[keep], hi[keep]


def _empty_intervals(a: np.ndarray, interval: np.ndarray, exposure: np.ndarray) -> list[str]:
    """A note naming the age intervals without any follow-up (their hazard is prior only).

    Parameters
    ----------
    a : ndarray
        The age cut points.
    interval : ndarray of int
        The age interval of each piece (or cell).
    exposure : ndarray
        Its exposure.

    Returns
    -------
    list of str
        One note, or none when every interval has follow-up.
    """
    empty = np.bincount(interval, weights=exposure, minlength=a.size - 1) == 0
    if not empty.any():
        return []
    labels = [lab for lab, e in zip(interval_labels(a), empty, strict=True) if e]
    return [
        f"no follow-up in interval(s) {', '.join(labels)}: their baseline hazard comes from "
        "the prior alone (extrapolated by a random-walk baseline), not from data; remove "
        "those cut points if that is not wanted"
    ]


def _event_on_last_piece(unit: np.ndarray, event: np.ndarray, n_units: int) -> np.ndarray:
    """Event indicator per piece: a unit's event falls on its last piece."""
    n_pieces = np.bincount(unit, minlength=n_units)
    is_last = np.zeros(unit.size, dtype=bool)
    is_last[np.cumsum(n_pieces)[n_pieces > 0] - 1] = True
    return (is_last & (event[unit] == 1)).astype(np.int8)
