"""Read and validate survival data: one row per unit -> :class:`SurvivalData`.

Input is a table with one row per unit (a self-help group, a patient, a firm) in one of three forms:

* **durations**: ``time`` (follow-up length) and ``event`` (0/1);
* **dates**: ``start`` and ``stop`` (ISO 8601 dates) and ``event``;
* **event and censoring dates**: ``start``, ``event_date`` (blank when no event) and ``censor_date``
  (date of last contact, used when ``event_date`` is blank); the event indicator is derived;

or, when the event time is known only to lie in an interval, the **interval** form (R's
``Surv(L, R, type = "interval2")``): ``time_lower`` and ``time_upper`` (durations, or dates with
``start``): ``L == R`` an event at ``L``, ``L < R`` an event in ``(L, R]``, a blank upper bound
right-censored at ``L``, a blank lower bound an event in ``(entry, R]``;

or with several rows per unit in the **counting-process** form (R's ``Surv(tstart, tstop,
event)``): ``id``, ``tstart``, ``tstop`` (durations on the analysis time scale, or dates) and
``event`` on the unit's last row, covariates constant within a row, so that a covariate may change
during follow-up. A base table plus a table of changes (R's ``tmerge(..., tdc())``) becomes this
form through :mod:`bayessa.data.changes`.

Optionally: ``entry`` (delayed entry / left truncation: a duration, or a date in the date forms),
categorical ``covariates``, a ``cluster`` column (e.g. county) and, with durations, ``start`` (the
calendar date of time zero) or ``origin`` (numeric calendar time of time zero) for calendar splitting.

Validation (:mod:`bayessa.data.validation`) collects every problem and raises one :class:`~bayessa.errors.DataError`. With
``on_invalid="exclude"`` row-level problems exclude the offending units instead, and the
:class:`Audit` lists every exclusion with its reason; table-level problems (missing columns, an
empty table, no events, a covariate with one level) always raise.

Time scale. Dates are converted to durations in ``time_unit`` (``"years"`` by default, 1 year =
365.25 days). Calendar time (``origin``) is measured on the same scale, counted from 1970-01-01,
so that age and calendar time advance together on a Lexis diagram.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from bayessa.errors import SpecError

__all__ = ["Audit", "Columns", "Exclusion", "RESERVED", "SurvivalData", "TIME_UNITS", "to_calendar"]

#: Days per unit of each supported time scale.
TIME_UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}
_EPOCH = np.datetime64("1970-01-01", "D")
RESERVED = ("id", "entry", "exit", "event", "origin", "cause", "upper")


@dataclass(frozen=True)
class Columns:
    """Which input columns play which role.

    Exactly one follow-up form must be given: ``time`` (durations), ``start`` + ``stop`` (dates) or
    ``start`` + ``event_date`` + ``censor_date`` (dates; event derived from ``event_date``).
    ``event`` is required with the first two forms.

    Parameters
    ----------
    id : str, optional
        Unit id column (default: the row numbers).
    time : str, optional
        Follow-up length (durations form).
    event : str, optional
        Event indicator, 0/1 or true/false (durations and dates forms).
    start : str, optional
        Start date (date forms); with durations, the calendar date of time zero.
    stop : str, optional
        Stop date (dates form).
    event_date : str, optional
        Event date, blank when no event (event-dates form).
    censor_date : str, optional
        Date of last contact, used when ``event_date`` is blank (event-dates form).
    entry : str, optional
        Delayed entry: a duration, or a date in the date forms.
    tstart, tstop : str, optional
        Start and end of each row of the counting-process form (several rows per unit): durations
        since the unit's time zero, or dates (time zero is then ``start`` when given, else the
        unit's first ``tstart``).
    origin : str, optional
        Numeric calendar time of time zero (durations form), on the ``time_unit`` scale.
    covariates : tuple of str, default ()
        Covariate columns: numeric ones stay numbers, the others become categories.
    cluster : str, optional
        Cluster column (e.g. county).
    categorical : tuple of str, default ()
        Covariates read as categories whatever their type (the formula's ``C(x)``).
    numeric : tuple of str, default ()
        Covariates that must be numbers (the formula's ``log(x)``, ``scale(x)``, ...).
    groups : tuple of str, default ()
        Further grouping columns of random effects beside the cluster (``(1 | region)``, the
        parts of ``(1 | region/county)``); read as labels, like the cluster.
    censored : str, optional
        Competing risks: the value of ``event`` that marks a censored unit; every other value
        is the cause of the event (``event = "outcome"``, ``censored = "censored"``).
    time_lower, time_upper : str, optional
        Interval censoring: the last time the unit was known to be without the event and the
        first time it was known to have had it (durations, or dates with ``start``: the last
        date a group was seen meeting, the first date it was found closed).
    """

    id: str | None = None
    time: str | None = None
    event: str | None = None
    start: str | None = None
    stop: str | None = None
    event_date: str | None = None
    censor_date: str | None = None
    entry: str | None = None
    origin: str | None = None
    tstart: str | None = None
    tstop: str | None = None
    covariates: tuple[str, ...] = ()
    cluster: str | None = None
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    censored: str | None = None
    time_lower: str | None = None
    time_upper: str | None = None

    @property
    def grouping(self) -> tuple[str, ...]:
        """The cluster, then the further grouping columns."""
        return ((self.cluster,) if self.cluster else ()) + self.groups

    def __post_init__(self) -> None:
        for name in ("covariates", "categorical", "numeric", "groups"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def form(self) -> str:
        """``"durations"``, ``"dates"``, ``"event_dates"``, ``"interval"`` or ``"counting"``."""
        if self.tstart is not None or self.tstop is not None:
            return "counting"
        if self.time_lower is not None or self.time_upper is not None:
            return "interval"
        if self.time is not None:
            return "durations"
        if self.event_date is not None or self.censor_date is not None:
            return "event_dates"
        return "dates"

    def check(self) -> None:
        """Raise :class:`SpecError` listing every inconsistency in the column roles."""
        problems: list[str] = []
        form = self.form
        if form == "counting":
            problems += self._check_counting()
        elif form == "interval":
            problems += self._check_interval()
        elif form == "durations":
            if self.stop or self.event_date or self.censor_date:
                problems.append(
                    "both a duration column ('time') and date columns were given; "
                    "use either time + event, or start + stop + event"
                )
        elif form == "dates":
            if not (self.start and self.stop):
                problems.append(
                    "no follow-up given: name a duration column (time=...) and an event column, "
                    "or start and stop date columns and an event column"
                )
        elif not (self.start and self.event_date and self.censor_date):
            problems.append(
                "the event-date form needs all of start, event_date and censor_date columns"
            )
        if self.censored is not None and form == "event_dates":
            problems.append(
                "competing risks (censored=...) need an event column naming each unit's cause; "
                "the event-date form has none: give start, stop and event columns"
            )
        if form == "event_dates" and self.event is not None:
            problems.append(
                "event is derived from event_date (blank = no event); do not also name an event column"
            )
        if form not in ("event_dates", "interval") and self.event is None:
            problems.append(
                "no event column named; name it with event=... (values 0/1 or true/false)"
            )
        if self.origin is not None and self.start is not None:
            problems.append("give either origin (numeric calendar time) or start (date), not both")
        roles = [c for c in self.used() if c is not None]
        dupes = sorted({c for c in roles if roles.count(c) > 1})
        if dupes:
            problems.append(f"column(s) {dupes} are named for more than one role")
        clash = sorted(set(self.covariates + self.grouping) & set(RESERVED))
        if clash:
            problems.append(
                f"covariate/cluster name(s) {clash} clash with bayessa's reserved names "
                f"{list(RESERVED)}; rename the column(s)"
            )
        if problems:
            raise SpecError(problems)

    def _check_counting(self) -> list[str]:
        """Problems of the counting-process roles (several rows per unit)."""
        problems = []
        if not (self.tstart and self.tstop):
            problems.append(
                "the counting-process form needs both tstart and tstop columns (each row's start "
                "and end on the analysis time scale, or dates)"
            )
        other = [
            n for n in ("time", "stop", "event_date", "censor_date", "entry") if getattr(self, n)
        ]
        if other:
            problems.append(
                f"tstart/tstop rows were given together with {other}; in the counting-process "
                "form each row's tstart and tstop are its follow-up (a later first tstart is "
                "delayed entry): drop the other follow-up columns"
            )
        if self.id is None:
            problems.append(
                "the counting-process form needs an id column (id=...) saying which rows belong "
                "to one unit"
            )
        return problems

    def _check_interval(self) -> list[str]:
        """Problems of the interval-censoring roles (``time_lower``, ``time_upper``)."""
        problems = []
        if not (self.time_lower and self.time_upper):
            problems.append(
                "interval censoring needs both time_lower (last time known without the event) and "
                "time_upper (first time known to have had it; blank = right-censored) columns"
            )
        other = [
            n for n in ("time", "stop", "event_date", "censor_date", "event") if getattr(self, n)
        ]
        if other:
            problems.append(
                f"time_lower/time_upper were given together with {other}; in the interval form "
                "the two bounds are the follow-up and say whether the event happened (L == R "
                "exact, L < R in (L, R], blank upper bound censored): drop the other columns"
            )
        if self.censored is not None:
            problems.append(
                "competing risks (censored=...) with interval-censored event times are not "
                "supported: fit the causes with exact times, or the interval-censored ending "
                "without causes"
            )
        return problems

    def used(self) -> list[str]:
        """Every input column this mapping reads, in a stable order.

        Returns
        -------
        list of str
            The role columns in field order, then the covariates and the cluster (unset roles left
            out).
        """
        single = [
            self.id,
            self.time,
            self.event,
            self.start,
            self.stop,
            self.event_date,
            self.censor_date,
            self.entry,
            self.origin,
            self.tstart,
            self.tstop,
            self.time_lower,
            self.time_upper,
        ]
        return [c for c in single if c is not None] + list(self.covariates) + list(self.grouping)


@dataclass(frozen=True)
class Exclusion:
    """Units excluded for one reason.

    Parameters
    ----------
    reason : str
        Why the units were excluded.
    ids : tuple
        The excluded units' ids.
    count : int, optional
        How many units were excluded when ``ids`` holds only the first of them (data validated
        partition by partition); default ``len(ids)``.
    """

    reason: str
    ids: tuple[object, ...]
    count: int | None = None

    @property
    def n(self) -> int:
        """How many units were excluded for this reason."""
        return len(self.ids) if self.count is None else self.count


@dataclass(frozen=True)
class Audit:
    """What happened to the input rows: read, kept, excluded (and why), and stated assumptions.

    Parameters
    ----------
    source : str
        Where the data came from (a path, or ``"DataFrame"``).
    rows_read : int
        Rows in the input.
    rows_kept : int
        Rows kept after validation.
    exclusions : tuple of Exclusion, default ()
        Units excluded, grouped by reason (``on_invalid="exclude"``).
    notes : tuple of str, default ()
        Stated assumptions and other remarks.
    """

    source: str
    rows_read: int
    rows_kept: int
    exclusions: tuple[Exclusion, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def rows_excluded(self) -> int:
        """Number of rows excluded (``on_invalid='exclude'``)."""
        return self.rows_read - self.rows_kept

    def with_note(self, note: str) -> Audit:
        """A copy of the audit with one more note.

        Parameters
        ----------
        note : str
            The note to add at the end.

        Returns
        -------
        Audit
        """
        return replace(self, notes=(*self.notes, note))

    def to_dict(self) -> dict:
        """The audit as plain JSON-ready values.

        Returns
        -------
        dict
            ``source``, ``rows_read``, ``rows_kept``, ``rows_excluded``, ``exclusions`` (reason,
            count and the first 20 ids as strings) and ``notes``.
        """
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_excluded": self.rows_excluded,
            "exclusions": [
                {"reason": e.reason, "count": e.n, "ids": [str(i) for i in e.ids[:20]]}
                for e in self.exclusions
            ],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Audit:
        """The audit written by :meth:`to_dict` (exclusions keep their first 20 ids and count).

        Parameters
        ----------
        d : dict

        Returns
        -------
        Audit
        """
        exclusions = tuple(
            Exclusion(e["reason"], tuple(e["ids"]), int(e["count"])) for e in d["exclusions"]
        )
        return cls(d["source"], int(d["rows_read"]), int(d["rows_kept"]), exclusions,
                   tuple(d["notes"]))  # fmt: skip

    def __str__(self) -> str:
        lines = [
            f"Data audit ({self.source}): {self.rows_read} rows read, {self.rows_kept} kept, "
            f"{self.rows_excluded} excluded."
        ]
        from bayessa.errors import format_ids

        for e in self.exclusions:
            lines.append(f"  excluded {e.n}: {e.reason} ({format_ids(e.ids, total=e.n)})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class SurvivalData:
    """Validated survival data: one row per unit, or several (the counting-process form).

    ``frame`` has the columns ``id``, ``entry``, ``exit`` (time since the unit's time zero, in
    ``time_unit``), ``event`` (int8, 0/1), ``origin`` (calendar time of time zero on the same scale,
    NaN if unknown), then each covariate (numbers, or pandas Categoricals) and the cluster
    (Categorical) under their own names. In the counting-process form a unit has several rows,
    contiguous and ordered by time, each with the covariates that held during ``(entry, exit]``;
    only the last may have ``event = 1``, and the unit's time zero and cluster are the same on all
    of them. :attr:`units` is then one row per unit (first entry, last exit, the event, the
    covariates at entry) and :attr:`unit_codes` maps rows to units.

    In the interval form ``frame`` also has ``upper``: for a unit whose event is known only to
    lie in :math:`(L, R]`, ``exit`` is :math:`L`, ``event`` is 0 (no event up to ``exit``) and
    ``upper`` is :math:`R`; ``upper`` is NaN for units observed exactly or right-censored
    (:attr:`interval_censored`).

    Parameters
    ----------
    frame : DataFrame
        The units, with the columns above.
    columns : Columns
        The input columns' roles.
    time_unit : str
        Unit of ``entry``, ``exit`` and ``origin``: a key of :data:`TIME_UNITS`.
    audit : Audit
        Rows read, kept and excluded, and notes.
    id_name : str, default "id"
        Name of the unit id.
    counting : bool, default False
        Whether a unit may have several rows (the counting-process form, or a change table
        merged in); ``frame`` is then ordered by unit and time.
    causes : tuple of str, default ()
        Competing risks: the causes of the event, in order; ``frame`` then has a ``cause``
        column (0 censored, ``k`` the ``k``-th cause), on the unit's last row.
    """

    frame: pd.DataFrame
    columns: Columns
    time_unit: str
    audit: Audit
    id_name: str = "id"
    counting: bool = False
    causes: tuple[str, ...] = ()

    @property
    def covariates(self) -> tuple[str, ...]:
        """Names of the covariate columns."""
        return self.columns.covariates

    @property
    def cluster(self) -> str | None:
        """Name of the cluster column, or None."""
        return self.columns.cluster

    @property
    def groups(self) -> tuple[str, ...]:
        """Further grouping columns of random effects."""
        return self.columns.groups

    @property
    def grouping(self) -> tuple[str, ...]:
        """The cluster, then the further grouping columns."""
        return self.columns.grouping

    @cached_property
    def unit_codes(self) -> np.ndarray:
        """The unit (0, 1, ... in order of first row) of each row of ``frame``, int64."""
        if not self.counting:
            return np.arange(len(self.frame), dtype=np.int64)
        return pd.factorize(self.frame["id"])[0].astype(np.int64)

    @cached_property
    def units(self) -> pd.DataFrame:
        """One row per unit: first entry, last exit, the event, time zero, covariates at entry.

        Without several rows per unit this is ``frame`` itself.
        """
        if not self.has_paths:
            return self.frame
        codes = self.unit_codes
        first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        last = np.r_[first[1:] - 1, len(codes) - 1]
        out = self.frame.iloc[first].reset_index(drop=True)
        out["exit"] = self.frame["exit"].to_numpy()[last]
        out["event"] = self.frame["event"].to_numpy()[last]
        return out

    @property
    def has_paths(self) -> bool:
        """Whether some unit has several rows (covariates that change during follow-up)."""
        return self.counting and self.n_units < len(self.frame)

    @property
    def n_units(self) -> int:
        """Number of units."""
        if not self.counting:
            return len(self.frame)
        return int(self.unit_codes.max()) + 1 if len(self.frame) else 0

    @property
    def n_events(self) -> int:
        """Number of events (exactly observed and interval-censored)."""
        return int(self.frame["event"].sum()) + int(self.interval_censored.sum())

    @property
    def interval_censored(self) -> np.ndarray:
        """Which rows have an event known only to lie in ``(exit, upper]`` (bool array)."""
        if "upper" not in self.frame:
            return np.zeros(len(self.frame), dtype=bool)
        return np.isfinite(self.frame["upper"].to_numpy(np.float64))

    @property
    def has_intervals(self) -> bool:
        """Whether some unit's event time is interval-censored."""
        return bool(self.interval_censored.any())

    @property
    def has_calendar(self) -> bool:
        """Whether every unit's time zero is known in calendar time."""
        return bool(self.frame["origin"].notna().all())

    @property
    def data_hash(self) -> str:
        """SHA-256 of the validated table (ids, times, events, covariates): identifies the data."""
        h = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        return hashlib.sha256(h.tobytes()).hexdigest()


def to_calendar(dates: object, time_unit: str = "years") -> np.ndarray:
    """Convert dates (ISO strings, datetimes) to calendar time: days since 1970-01-01 / unit.

    Parameters
    ----------
    dates : scalar or array_like
        ISO 8601 date strings or datetimes; a scalar is treated as one date.
    time_unit : str, default "years"
        A key of :data:`TIME_UNITS` (1 year = 365.25 days).

    Returns
    -------
    ndarray of float64
        Days since 1970-01-01 divided by the days per ``time_unit``, one per date.
    """
    d = pd.to_datetime(pd.Series(np.atleast_1d(dates)), format="ISO8601")
    days = (d.to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.float64)
    return days / TIME_UNITS[time_unit]
