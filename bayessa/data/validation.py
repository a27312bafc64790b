"""Validation of a raw table of units: every column checked, every problem collected.

:func:`validate` turns the raw table read by :func:`bayessa.data.read_data` into
:class:`~bayessa.data.SurvivalData`. Each column parser (numbers, ISO dates, event codes,
categories) records row-level problems as boolean masks on a :class:`Checker`; they are raised
together in one :class:`~bayessa.errors.DataError`, or, with ``on_invalid="exclude"``, the rows are
excluded and listed in the audit. Parsers work on the distinct values of a column (factorised),
so a million-row table with few distinct values validates in about a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from bayessa.data.columns import (
    TIME_UNITS,
    Audit,
    Columns,
    Exclusion,
    SurvivalData,
)
from bayessa.data.counting import counting_follow_up, order_unit_rows
from bayessa.data.intervals import interval_follow_up
from bayessa.data.parsing import (
    _HALF_DAY,
    Checker,
    FollowUp,
    _blank,
    _categorical,
    _covariate,
    _dates,
    _numeric,
    event_column,
)
from bayessa.errors import DataError, Problem

__all__ = ["TableFacts", "single_valued", "validate"]


@dataclass(frozen=True)
class TableFacts:
    """What validating one partition of a table must know about the whole table.

    A column's coding is a property of the whole column: the levels of a categorical column,
    how its event column is coded (0/1, R's 1/2, yes/no), whether a numeric covariate has few
    distinct values, which ids occur on more than one row. Data validated partition by partition
    (:mod:`bayessa.data.partitioned`) find these in a first pass and give them to every
    partition, so that each is parsed exactly as the whole table would be.

    Parameters
    ----------
    levels : mapping of str to list of str
        Levels of each categorical covariate and grouping column
        (``bayessa.data.parsing._column_levels`` over the whole table).
    event_used : frozenset, optional
        The event column's ``bayessa.data.parsing._event_values`` over the whole table.
    distinct : mapping of str to ndarray
        Each numeric covariate's distinct finite values, up to
        :data:`~bayessa.data.parsing.MAX_NUMERIC_LEVELS` + 1 of them.
    duplicated : frozenset
        The ids found on more than one row of the whole table.
    """

    levels: Mapping[str, list[str]] = field(default_factory=dict)
    event_used: frozenset | None = None
    distinct: Mapping[str, np.ndarray] = field(default_factory=dict)
    duplicated: frozenset = frozenset()


def _no_event_levels(frame: pd.DataFrame, columns: Columns) -> list[str]:
    """Notes for covariate levels and clusters without events (legal; the prior carries them)."""
    ev = _had_event(frame)
    events = {}
    for c in (*columns.covariates, *([columns.cluster] if columns.cluster else [])):
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            cats = frame[c].cat.categories
            events[c] = (
                list(cats),
                np.bincount(frame[c].cat.codes, weights=ev, minlength=len(cats)),
            )
    return _no_event_notes(columns, events)


def _no_event_notes(columns: Columns, events: Mapping[str, tuple[list, np.ndarray]]) -> list[str]:
    """The notes of :func:`_no_event_levels` from the events per level of each column."""
    from bayessa.errors import format_ids

    notes = []
    for c in (c for c in columns.covariates if c in events):
        levels, counts = events[c]
        for level in np.asarray(levels, dtype=object)[np.asarray(counts) == 0]:
            notes.append(
                f"level '{level}' of '{c}' has no events: its hazard ratio rests on the prior "
                "(no finite maximum-likelihood estimate)"
            )
    if columns.cluster is not None:
        levels, counts = events[columns.cluster]
        counts = np.asarray(counts)
        none = [lv for lv, n in zip(levels, counts, strict=True) if n == 0]
        c = columns.cluster
        if none:
            notes.append(
                f"{len(none)} of {counts.size} '{c}' levels have no events ({format_ids(none)}): "
                "their effects are shrunk towards zero by the cluster SD"
            )
    return notes


def _had_event(frame: pd.DataFrame) -> np.ndarray:
    """Rows with an event, exact or interval-censored (1/0)."""
    ev = frame["event"].to_numpy()
    if "upper" in frame:
        ev = ev + np.isfinite(frame["upper"].to_numpy(np.float64))
    return ev


def validate(
    raw: pd.DataFrame,
    columns: Columns,
    *,
    time_unit: str,
    on_invalid: str,
    source: str,
    vary_later: bool = False,
) -> SurvivalData:
    """Validate a raw table of units and normalise it to :class:`SurvivalData`.

    Every problem is collected before anything is raised: table-level ones (missing columns, no
    rows, no events, a covariate with one level) and row-level ones (naming the column, the first
    offending unit ids with a count, and the fix).

    Parameters
    ----------
    raw : DataFrame
        The table as read (:func:`bayessa.data.read.read_table`); never modified.
    columns : Columns
        The column roles; ``columns.form`` selects the follow-up layout.
    time_unit : str
        A key of :data:`~bayessa.data.columns.TIME_UNITS`; dates become durations in it.
    on_invalid : {"raise", "exclude"}
        Row-level problems raise, or exclude their rows (listed in the audit).
    source : str
        A name for messages (the path).
    vary_later : bool, default False
        A change table will be merged: a covariate with a single value at entry is not yet an
        error (:func:`bayessa.data.changes.apply_changes` checks it after the merge).

    Returns
    -------
    SurvivalData

    Raises
    ------
    DataError
        Listing every problem found.
    """
    _check_table(raw, columns, source)
    counting = columns.form == "counting"
    chk = Checker(raw, columns.id, unique_ids=not counting)
    fu, cats = _parse(raw, columns, chk, TIME_UNITS[time_unit], source)
    order = np.arange(len(raw))
    if counting:
        grouping = {g: cats[g] for g in columns.grouping}
        order = order_unit_rows(raw, columns, fu, grouping, chk)
    keep, exclusions = _decide(chk, on_invalid, source, raw[columns.id] if counting else None)
    rows = order[keep[order]]  # kept rows, by unit and time
    frame = _unit_frame(raw, columns, fu, cats, rows)
    for c, values in cats.items():
        if not isinstance(values, np.ndarray):
            frame[c] = frame[c].cat.remove_unused_categories()
    _check_kept(frame, columns, chk, source, vary_later)
    audit = _audit(raw, columns, chk, frame, keep, exclusions, source)
    data = SurvivalData(
        frame=frame, columns=columns, time_unit=time_unit, audit=audit, counting=counting,
        causes=fu.causes,
    )  # fmt: skip
    if counting:
        changed = int((np.bincount(data.unit_codes) > 1).sum()) if len(frame) else 0
        audit = audit.with_note(
            f"counting-process form: {len(frame)} rows for {data.n_units} units "
            f"({changed} with more than one row); each row's covariates hold on its "
            f"({columns.tstart}, {columns.tstop}]"
        )
        data = replace(data, audit=audit)
    return data


def _parse(
    raw: pd.DataFrame,
    columns: Columns,
    chk: Checker,
    unit: float,
    source: str,
    facts: TableFacts | None = None,
) -> tuple[FollowUp, dict]:
    """Parse every column: ids, follow-up, covariates and grouping; problems go to ``chk``.

    Table-level problems of the follow-up raise at once. ``facts``: what the whole table says
    about its columns when ``raw`` is one partition of it.
    """
    _check_ids(raw, columns, chk, None if facts is None else facts.duplicated)
    used = None if facts is None else facts.event_used
    if columns.form == "counting":
        fu = counting_follow_up(raw, columns, chk, unit)
    elif columns.form == "interval":
        fu = interval_follow_up(raw, columns, chk, unit)
    elif columns.form == "durations":
        fu = _durations(raw, columns, chk, unit, used)
    else:
        fu = _date_follow_up(raw, columns, chk, unit, used)
    if chk.table_problems:
        raise DataError(chk.table_problems, source=source)
    if columns.form not in ("counting", "interval"):
        _check_lengths(fu, columns, chk)
    levels = {} if facts is None else facts.levels
    distinct = {} if facts is None else facts.distinct
    cats = {
        c: _covariate(raw[c], c, columns, chk, levels.get(c), distinct.get(c))
        for c in columns.covariates
    }
    for g in columns.grouping:
        cats[g] = _categorical(raw[g], g, chk, role="cluster", levels=levels.get(g))
    return fu, cats


def _unit_frame(
    raw: pd.DataFrame, columns: Columns, fu: FollowUp, cats: dict, rows: np.ndarray, offset: int = 0
) -> pd.DataFrame:
    """The validated frame of the kept ``rows`` (ids: the id column, else 1-based row numbers).

    Categorical columns keep every level of ``cats`` (used or not); ``offset`` is the number of
    data rows before ``raw`` when it is one partition of a table.
    """
    ids = raw[columns.id].to_numpy()[rows] if columns.id is not None else rows + 1 + offset
    frame = pd.DataFrame(
        {
            "id": ids,
            "entry": fu.entry[rows],
            "exit": fu.exit[rows],
            "event": fu.event[rows],
            "origin": fu.origin[rows],
        }
    )
    if fu.cause is not None:  # competing risks: the cause of each row's event (0: none)
        frame["cause"] = fu.cause[rows]
    if fu.upper is not None:  # interval censoring: the event lies in (exit, upper]
        frame["upper"] = fu.upper[rows]
    for c, values in cats.items():  # numbers (a numeric covariate), or a Categorical
        frame[c] = values[rows]
    return frame


def _check_table(raw: pd.DataFrame, columns: Columns, source: str) -> None:
    """Raise at once for a table with no rows or without the named columns."""
    _check_rows(len(raw), source)
    _check_columns(raw, columns, source)


def _check_rows(n: int, source: str) -> None:
    """Raise for a table with a header but no rows."""
    if n == 0:
        raise DataError(
            Problem("the table has a header but no rows", "give one row per unit"), source=source
        )


def _check_columns(raw: pd.DataFrame, columns: Columns, source: str) -> None:
    """Raise for named columns the table does not have (with a hint at its layout)."""
    missing_cols = [c for c in columns.used() if c not in raw.columns]
    if missing_cols:
        hint = _layout_hint(raw, missing_cols, columns)
        if hint is not None:
            raise DataError(hint, source=source)
        avail = ", ".join(map(str, raw.columns[:30]))
        raise DataError(
            [
                Problem(
                    f"column '{c}' not found", f"name an existing column; the table has: {avail}"
                )
                for c in missing_cols
            ],
            source=source,
        )


def _check_ids(
    raw: pd.DataFrame, columns: Columns, chk: Checker, duplicated: frozenset | None = None
) -> None:
    """Missing and duplicated unit ids (``duplicated``: those of the whole table, if given)."""
    if columns.id is None:
        return
    idcol = raw[columns.id]
    chk.rows(idcol.isna().to_numpy(), columns.id, "missing unit ids", "give every unit an id")
    if columns.form == "counting":
        return  # several rows per unit: their ids repeat
    if duplicated is None:
        dup = idcol.duplicated(keep=False).to_numpy()
    else:
        dup = idcol.isin(duplicated).to_numpy() if duplicated else np.zeros(len(idcol), bool)
    dup = dup & idcol.notna().to_numpy()
    chk.rows(
        dup,
        columns.id,
        "duplicated unit ids",
        "give each unit (one row) a unique id; merge or renumber the duplicates; if a unit's "
        "covariates change during follow-up, give one row per stretch with tstart and tstop "
        "columns (the counting-process form), or a change table",
    )


def _durations(
    raw: pd.DataFrame, columns: Columns, chk: Checker, unit: float, used: frozenset | None = None
) -> FollowUp:
    """The durations form: ``time`` and ``event``, optional ``entry`` and ``start``/``origin``."""
    n = len(raw)
    exit_ = _numeric(raw[columns.time], columns.time, chk, kind="duration")
    chk.rows(
        exit_ < 0,
        columns.time,
        "negative durations",
        "durations are follow-up lengths and must be >= 0",
    )
    event, cause, causes = event_column(
        raw[columns.event], columns.event, columns.censored, chk, used
    )
    origin = np.full(n, np.nan)
    if columns.start is not None:
        origin = _dates(raw[columns.start], columns.start, chk) / unit
    elif columns.origin is not None:
        origin = _numeric(raw[columns.origin], columns.origin, chk, kind="origin")
    entry = np.zeros(n)
    if columns.entry is not None:
        entry = _numeric(raw[columns.entry], columns.entry, chk, kind="entry time")
        chk.rows(
            entry < 0,
            columns.entry,
            "negative entry times",
            "entry is the time since time zero at which observation began; it must be >= 0",
        )
    return FollowUp(entry, exit_, event, origin, columns.time, cause, causes)


def _date_follow_up(
    raw: pd.DataFrame, columns: Columns, chk: Checker, unit: float, used: frozenset | None = None
) -> FollowUp:
    """The two date forms: ``start``/``stop``/``event``, or ``start``/``event_date``/``censor_date``.

    Differences of whole days are taken first, then one division by the unit's length in days,
    so durations are exact to the rounding of the result.
    """
    origin = _dates(raw[columns.start], columns.start, chk)
    if columns.form == "dates":
        stop = _dates(raw[columns.stop], columns.stop, chk)
        event, cause, causes = event_column(
            raw[columns.event], columns.event, columns.censored, chk, used
        )
        stop_name = columns.stop
    else:
        cause, causes = None, ()
        stop, event = _event_and_censor_dates(raw, columns, chk)
        stop_name = f"{columns.event_date}/{columns.censor_date}"
    exit_ = (stop - origin) / unit
    chk.rows(
        exit_ < 0,
        stop_name,
        f"end of follow-up before {columns.start}",
        "check the dates: the end (event or last contact) must be on or after the start",
    )
    entry = np.zeros(len(raw))
    if columns.entry is not None:
        entry = (_dates(raw[columns.entry], columns.entry, chk) - origin) / unit
        chk.rows(
            entry < 0,
            columns.entry,
            f"entry dates before {columns.start}",
            "observation cannot begin before time zero; check the dates",
        )
    # An event on the start date happened during the first day; with day-resolution dates
    # its time is taken as half a day (a follow-up of zero would carry no exposure).
    same_day = (exit_ == 0) & (event == 1) & (entry == 0)
    if same_day.any():
        exit_ = np.where(same_day, _HALF_DAY * TIME_UNITS["days"] / unit, exit_)
        chk.notes.append(
            (
                same_day,
                f"event on the start date ({columns.start}): placed half a day after the start",
            )
        )
    return FollowUp(entry, exit_, event, origin / unit, stop_name, cause, causes)


def _event_and_censor_dates(
    raw: pd.DataFrame, columns: Columns, chk: Checker
) -> tuple[np.ndarray, np.ndarray]:
    """End of follow-up (days) and event status from an event date (blank: none) and a censor date."""
    ev_date = _dates(raw[columns.event_date], columns.event_date, chk, allow_missing=True)
    cens = _dates(raw[columns.censor_date], columns.censor_date, chk, allow_missing=True)
    event_blank = _blank(raw[columns.event_date])
    event = (~event_blank).astype(np.int8)
    chk.rows(
        event_blank & _blank(raw[columns.censor_date]),
        columns.censor_date,
        f"no event date and no {columns.censor_date} (censoring date)",
        "give the date of last contact for units without an event",
    )
    return np.where(event == 1, ev_date, cens), event


def _check_lengths(fu: FollowUp, columns: Columns, chk: Checker) -> None:
    """Entry at or after exit (delayed entry), or zero-length follow-up from time zero."""
    entry, exit_ = fu.entry, fu.exit
    both = np.isfinite(entry) & np.isfinite(exit_) & (entry >= 0) & (exit_ >= 0)
    if columns.entry is not None:
        chk.rows(
            both & (entry >= exit_),
            columns.entry,
            "entry at or after the end of follow-up",
            "entry must be strictly before exit; units observed for no time carry no information and should be removed",
        )
    else:
        chk.rows(
            both & (exit_ == 0),
            fu.end_column,
            "zero-length follow-up (exit equals entry at time zero)",
            "a unit followed for no time carries no information; remove it, or correct its end date or duration",
        )


def _decide(
    chk: Checker, on_invalid: str, source: str, ids: pd.Series | None = None
) -> tuple[np.ndarray, tuple[Exclusion, ...]]:
    """Raise for row problems, or (``on_invalid="exclude"``) the rows kept and the exclusions.

    With ``ids`` (several rows per unit) a problem in one row excludes all the unit's rows.
    """
    bad_rows = np.zeros(chk.n, dtype=bool)
    for _, mask in chk.row_problems:
        bad_rows |= mask
    if ids is not None and bad_rows.any():
        bad_rows |= ids.isin(ids[bad_rows]).to_numpy()
    exclusions: tuple[Exclusion, ...] = ()
    if chk.row_problems:
        if on_invalid == "raise":
            raise DataError([p for p, _ in chk.row_problems] + chk.table_problems, source=source)
        exclusions = tuple(
            Exclusion(str(p.what) + (f" [{p.column}]" if p.column else ""), p.ids)
            for p, _ in chk.row_problems
        )
    return ~bad_rows, exclusions


def _check_kept(
    frame: pd.DataFrame, columns: Columns, chk: Checker, source: str, vary_later: bool
) -> None:
    """Table-level checks on the rows kept: some rows, some events, covariates that vary.

    With ``vary_later`` (a change table follows) a covariate may have one value at entry.
    """
    _check_counts(len(frame), int(_had_event(frame).sum()), columns, chk)
    if not vary_later:
        chk.table_problems += single_valued(frame, columns.covariates)
    if chk.table_problems:
        raise DataError(chk.table_problems, source=source)


def _check_counts(n_rows: int, n_events: int, columns: Columns, chk: Checker) -> None:
    """Table problems of the rows kept: none left, or no event among them."""
    if n_rows == 0:
        chk.table(
            "no rows left after excluding invalid ones", "fix the problems listed in the audit"
        )
    elif n_events == 0:
        chk.table(
            "no events at all: every unit is censored",
            "a hazard cannot be estimated without events; check the event column coding (1 = event)",
            columns.event or columns.event_date,
        )


def single_valued(frame: pd.DataFrame, covariates: tuple[str, ...]) -> list[Problem]:
    """A problem for each covariate with a single value or level (its effect is not estimable).

    Parameters
    ----------
    frame : DataFrame
        Validated rows.
    covariates : tuple of str
        The covariate columns.

    Returns
    -------
    list of Problem
    """
    problems = []
    for c in covariates:
        numeric = not isinstance(frame[c].dtype, pd.CategoricalDtype)
        values = pd.unique(frame[c]) if numeric else list(frame[c].cat.categories)
        if len(frame) and len(values) < 2:
            lvl = [f"{v:g}" for v in values] if numeric else values
            problems.append(
                Problem(
                    f"covariate has a single {'value' if numeric else 'level'} {lvl}",
                    "its effect cannot be estimated; remove it from the covariates (and the "
                    "formula)",
                    c,
                )
            )
    return problems


def _audit(raw, columns: Columns, chk: Checker, frame, keep, exclusions, source: str) -> Audit:
    """What was read, kept and excluded, with the notes the checks made."""
    from bayessa.errors import format_ids

    audit = Audit(
        source=source, rows_read=len(raw), rows_kept=int(keep.sum()), exclusions=exclusions
    )
    if columns.id is None:
        audit = audit.with_note(
            "no id column named: units are identified by row number (1 = first data row)"
        )
    for note in raw.attrs.get("bayessa_notes", []):
        audit = audit.with_note(note)
    for mask, text in chk.notes:
        if mask is None:
            audit = audit.with_note(text)
        elif (mask & keep).any():
            ids = chk.labels(mask & keep)
            audit = audit.with_note(f"{len(ids)} unit(s) ({format_ids(ids)}): {text}")
    for note in _no_event_levels(frame, columns):
        audit = audit.with_note(note)
    return audit


_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _layout_hint(raw: pd.DataFrame, missing: list[str], columns: Columns) -> Problem | None:
    """One clear problem when the file's layout hides the named columns.

    One clear problem when the named columns are missing because of the file's layout:
    another separator than commas, or no header row (the first row holds data).
    """
    names = [str(c) for c in raw.columns]
    if len(names) == 1:
        for sep, word in _SEPARATORS.items():
            if sep in names[0] and any(m in names[0].split(sep) for m in missing):
                return Problem(
                    f"the file is separated by {word}, not commas (its one column is '{names[0][:60]}')",
                    "save it as comma-separated CSV (or as Parquet)",
                )
    if len(missing) == len(columns.used()):
        looks_like_data = [
            n
            for n in names
            if n.startswith("Unnamed:")
            or not pd.isna(pd.to_numeric(n, errors="coerce"))
            or not pd.isna(pd.to_datetime(n, format="ISO8601", errors="coerce"))
        ]
        if looks_like_data:
            return Problem(
                "none of the named columns is in the header, and the header row looks like data "
                f"({', '.join(repr(n) for n in names[:4])}, ...)",
                f"add a header row naming the columns (e.g. {', '.join(columns.used()[:4])}, ...) "
                "as the first line of the file",
            )
    return None
