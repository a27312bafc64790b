"""Validation of a raw table of units: every column checked, every problem collected.

:func:`validate` turns the raw table read by :func:`bayessa.data.read_data` into
:class:`~bayessa.data.SurvivalData`. Each column parser (numbers, ISO dates, event codes,
categories) records row-level problems as boolean masks on a :class:`_Checker`; they are raised
together in one :class:`~bayessa.errors.DataError`, or, with ``on_invalid="exclude"``, the rows are
excluded and listed in the audit. Parsers work on the distinct values of a column (factorised),
so a million-row table with few distinct values validates in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayessa.data.columns import (
    _EPOCH,
    TIME_UNITS,
    Audit,
    Columns,
    Exclusion,
    SurvivalData,
)
from bayessa.errors import DataError, Problem

__all__ = ["MAX_NUMERIC_LEVELS", "level_label", "validate"]

_TRUE = {"1", "true", "1.0"}
_FALSE = {"0", "false", "0.0"}
#: A column coded entirely yes/no (or y/n) is read as yes = event, with a note in the audit.
_YES = {"yes", "y"}
_NO = {"no", "n"}
#: An event on the start date (date forms) is placed half a day after the start.
_HALF_DAY = 0.5
#: A numeric covariate with at most this many distinct whole values gets an audit note: it enters
#: linearly, and ``C(x)`` in the formula would make it categories (integer codes often are).
MAX_NUMERIC_LEVELS = 20


class _Checker:
    """Accumulates row-level problems as boolean masks, table-level problems as messages.

    Unit labels for messages are built only for offending rows (building them for every row of a
    large table would cost more than the validation itself).
    """

    def __init__(self, raw: pd.DataFrame, id_col: str | None):
        self.raw = raw
        self.n = len(raw)
        self.id_col = id_col
        self.row_problems: list[tuple[Problem, np.ndarray]] = []
        self.table_problems: list[Problem] = []
        # assumptions stated in the audit: (rows it concerns or None, text)
        self.notes: list[tuple[np.ndarray | None, str]] = []

    def labels(self, mask: np.ndarray) -> tuple[object, ...]:
        """The unit id of each masked row, or ``row k`` (1-based data row) where it has none."""
        rows = np.flatnonzero(mask)
        if self.id_col is None:
            return tuple(f"row {k + 1}" for k in rows)
        ids = self.raw[self.id_col].to_numpy(dtype=object)[rows]
        return tuple(f"row {k + 1}" if pd.isna(i) else i for k, i in zip(rows, ids, strict=True))

    def rows(self, mask: np.ndarray, column: str | None, what: str, fix: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.row_problems.append((Problem(what, fix, column, self.labels(mask)), mask))

    def table(self, what: str, fix: str, column: str | None = None) -> None:
        self.table_problems.append(Problem(what, fix, column))


def _factorize(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and *stripped string* uniques; missing and blank values get code -1.

    Work is done on the unique values only, so it is cheap on large tables with few levels.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    codes = np.asarray(codes)
    text = np.array([level_label(u) for u in uniques], dtype=object)
    if text.size:
        blank = np.append(text == "", False)  # index -1 (missing) stays -1
        codes = np.where(blank[codes], -1, codes)
    return codes, text


def level_label(value: object) -> str:
    """A value as a level label: whole floats as integers (``1.0`` -> ``"1"``), text stripped.

    A column of integer codes becomes float when it has a missing value (pandas has no missing
    integer in a float column); its levels must still read ``1``, ``15``, not ``1.0``, ``15.0``.

    Parameters
    ----------
    value : object
        A cell of a covariate or cluster column (not missing).

    Returns
    -------
    str
    """
    if isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _examples(raw: pd.Series, mask: np.ndarray) -> str:
    return ", ".join(repr(str(v)) for v in pd.unique(raw[mask])[:3])


def _numeric(raw: pd.Series, name: str, chk: _Checker, *, kind: str) -> np.ndarray:
    """Float array; non-numeric, missing and infinite values are reported."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        chk.rows(
            np.ones(len(raw), bool),
            name,
            f"{kind}s must be numbers but the column holds true/false values",
            f"give {kind}s as numbers",
        )
        return np.full(len(raw), np.nan)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = raw.isna().to_numpy().copy()
    if not pd.api.types.is_numeric_dtype(raw.dtype) and np.isnan(values).any():
        missing |= _factorize(raw)[0] == -1
    chk.rows(
        missing,
        name,
        f"missing {kind}",
        f"fill in every {kind} (or exclude those units with on_invalid='exclude')",
    )
    bad = np.isnan(values) & ~missing
    if bad.any():
        chk.rows(
            bad,
            name,
            f"{kind} values that are not numbers (e.g. {_examples(raw, bad)})",
            f"give plain numbers in the {kind} column, without units or text",
        )
    chk.rows(np.isinf(values), name, f"infinite {kind}", f"give finite {kind}s")
    return values


def _dates(raw: pd.Series, name: str, chk: _Checker, *, allow_missing: bool = False) -> np.ndarray:
    """Days since 1970-01-01 (float) from ISO 8601 dates; unparseable and missing reported."""
    out = np.full(len(raw), np.nan)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        missing = raw.isna().to_numpy()
        ok = ~missing
        out[ok] = (raw[ok].to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.float64)
    else:
        # Parse each distinct string once: dates repeat, and this avoids converting a
        # million-row string column element by element.
        codes, text = _factorize(raw)
        missing = codes == -1
        parsed = pd.to_datetime(pd.Series(text, dtype=object), format="ISO8601", errors="coerce")
        days_u = (parsed.to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.float64)
        days_u[parsed.isna().to_numpy()] = np.nan
        out = np.append(days_u, np.nan)[codes]
        ok = ~np.isnan(out)
    bad = ~ok & ~missing
    if bad.any():
        chk.rows(
            bad,
            name,
            f"dates that are not ISO 8601 (e.g. {_examples(raw, bad)})",
            "write dates as YYYY-MM-DD (ISO 8601), one format for the whole column",
        )
    if not allow_missing:
        chk.rows(
            missing,
            name,
            "missing dates",
            "fill in every date (or exclude those units with on_invalid='exclude')",
        )
    return out


def _blank(raw: pd.Series) -> np.ndarray:
    """Missing or whitespace-only values."""
    if pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        return raw.isna().to_numpy()
    return _factorize(raw)[0] == -1


def _events(raw: pd.Series, name: str, chk: _Checker) -> np.ndarray:
    if pd.api.types.is_bool_dtype(raw.dtype):
        missing = raw.isna().to_numpy()
        bad = np.zeros(len(raw), bool)
        out = raw.fillna(False).to_numpy(dtype=np.int8)
        chk.notes.append((None, f"event column '{name}' holds true/false: true read as event (1)"))
    elif pd.api.types.is_numeric_dtype(raw.dtype):
        v = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(v)
        used = set(np.unique(v[~missing]).tolist())
        if used <= {1.0, 2.0} and 2.0 in used:
            # R's Surv() convention for a status of 1s and 2s: 1 = censored, 2 = event
            bad = np.zeros(len(v), bool)
            out = (v == 2.0).astype(np.int8)
            chk.notes.append(
                (
                    None,
                    f"event column '{name}' coded 1/2 as in R's Surv(): 2 read as event, 1 as censored",
                )
            )
        else:
            bad = ~missing & ~np.isin(v, (0.0, 1.0))
            out = (v == 1.0).astype(np.int8)
    else:
        codes, text = _factorize(raw)
        lower = np.array([t.lower() for t in text], dtype=object)
        is_true = np.append(np.isin(lower, list(_TRUE)), False)[codes]
        is_false = np.append(np.isin(lower, list(_FALSE)), False)[codes]
        missing = codes == -1
        used = set(lower[np.unique(codes[codes >= 0])]) if codes.size else set()
        if used and used <= _YES | _NO:
            # a whole column coded yes/no is unambiguous as a coding (a mixed one is not)
            is_true = np.append(np.isin(lower, list(_YES)), False)[codes]
            is_false = ~missing & ~is_true
            chk.notes.append(
                (
                    None,
                    f"event column '{name}' coded yes/no: yes read as event (1), no as censored (0)",
                )
            )
        elif used & {"true", "false"}:
            chk.notes.append(
                (None, f"event column '{name}' holds true/false: true read as event (1)")
            )
        bad = ~missing & ~is_true & ~is_false
        out = is_true.astype(np.int8)
    chk.rows(missing, name, "missing event values", "code every event as 1 (event) or 0 (censored)")
    if bad.any():
        chk.rows(
            bad,
            name,
            f"event values outside {{0, 1, true, false}} (e.g. {_examples(raw, bad)})",
            "recode the event column as 1 = event happened, 0 = censored (e.g. yes -> 1, no -> 0); "
            "R's 1/2 coding (2 = event) is read when the column holds only 1s and 2s",
        )
    return out


def _is_number(raw: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype)


def _covariate(raw: pd.Series, name: str, columns: Columns, chk: _Checker):
    """A covariate as numbers (float array) or categories, as in R: by type, or as the formula says.

    ``C(x)`` in the formula (``columns.categorical``) reads any column as categories; a numeric
    transform (``columns.numeric``) needs numbers; otherwise numbers stay numbers (entering the
    model linearly) and everything else becomes categories.
    """
    if name in columns.categorical:
        return _categorical(raw, name, chk, role="covariate")
    if not _is_number(raw):
        if name in columns.numeric:
            chk.table(
                f"covariate is {raw.dtype}, not numbers (e.g. {_examples(raw, raw.notna().to_numpy())}), "
                "but the formula applies a numeric transform to it",
                f"convert the column to numbers, or write C({name}) in the formula for categories",
                name,
            )
        return _categorical(raw, name, chk, role="covariate")
    values = raw.to_numpy(dtype=np.float64)
    missing = np.isnan(values)
    chk.rows(
        missing,
        name,
        "missing covariate values",
        "fill in the covariate or exclude those units with on_invalid='exclude'",
    )
    chk.rows(
        np.isinf(values),
        name,
        "infinite covariate values",
        "give a finite number, or exclude those units with on_invalid='exclude'",
    )
    distinct = pd.unique(values[np.isfinite(values)])
    if distinct.size <= MAX_NUMERIC_LEVELS and (np.mod(distinct, 1) == 0).all():
        shown = ", ".join(f"{v:g}" for v in np.sort(distinct)[:5])
        chk.notes.append(
            (
                None,
                f"covariate '{name}' is numeric with {distinct.size} distinct whole values "
                f"({shown}{', ...' if distinct.size > 5 else ''}): it enters linearly, per unit; "
                f"write C({name}) in the formula to treat it as categories",
            )
        )
    return values


def _categorical(raw: pd.Series, name: str, chk: _Checker, *, role: str) -> pd.Categorical:
    """Categorical with stripped string levels (sorted, or in the input's category order)."""
    codes, text = _factorize(raw)
    missing = codes == -1
    chk.rows(
        missing,
        name,
        f"missing {role} values",
        f"fill in the {role} (e.g. a level 'unknown') or exclude those units with on_invalid='exclude'",
    )
    if isinstance(raw.dtype, pd.CategoricalDtype):
        order = [str(c).strip() for c in raw.cat.categories]
        levels = [c for c in dict.fromkeys(order) if c != ""]
    else:
        levels = sorted({t for t in text if t != ""}, key=float if _is_number(raw) else None)
    pos = {lvl: i for i, lvl in enumerate(levels)}
    remap = np.array([pos.get(t, -1) for t in text] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=levels)


def _no_event_levels(frame: pd.DataFrame, columns: Columns) -> list[str]:
    """Notes for covariate levels and clusters without events (legal; the prior carries them)."""
    from bayessa.errors import format_ids

    notes = []
    ev = frame["event"].to_numpy()
    for c in (c for c in columns.covariates if isinstance(frame[c].dtype, pd.CategoricalDtype)):
        counts = np.bincount(frame[c].cat.codes, weights=ev, minlength=len(frame[c].cat.categories))
        for level in frame[c].cat.categories[counts == 0]:
            notes.append(
                f"level '{level}' of '{c}' has no events: its hazard ratio rests on the prior "
                "(no finite maximum-likelihood estimate)"
            )
    if columns.cluster is not None:
        c = columns.cluster
        counts = np.bincount(frame[c].cat.codes, weights=ev, minlength=len(frame[c].cat.categories))
        none = list(frame[c].cat.categories[counts == 0])
        if none:
            notes.append(
                f"{len(none)} of {counts.size} '{c}' levels have no events ({format_ids(none)}): "
                "their effects are shrunk towards zero by the cluster SD"
            )
    return notes


@dataclass
class _FollowUp:
    """Each row's follow-up on the duration scale, before any row is excluded."""

    entry: np.ndarray
    exit: np.ndarray
    event: np.ndarray
    origin: np.ndarray
    end_column: str  # the column(s) holding the end of follow-up, for messages


def validate(
    raw: pd.DataFrame, columns: Columns, *, time_unit: str, on_invalid: str, source: str
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

    Returns
    -------
    SurvivalData

    Raises
    ------
    DataError
        Listing every problem found.
    """
    _check_table(raw, columns, source)
    chk = _Checker(raw, columns.id)
    _check_ids(raw, columns, chk)
    if columns.form == "durations":
        fu = _durations(raw, columns, chk, TIME_UNITS[time_unit])
    else:
        fu = _date_follow_up(raw, columns, chk, TIME_UNITS[time_unit])
    _check_lengths(fu, columns, chk)
    cats = {c: _covariate(raw[c], c, columns, chk) for c in columns.covariates}
    for g in columns.grouping:
        cats[g] = _categorical(raw[g], g, chk, role="cluster")
    keep, exclusions = _decide(chk, on_invalid, source)
    ids = raw[columns.id].to_numpy()[keep] if columns.id is not None else np.flatnonzero(keep) + 1
    frame = pd.DataFrame(
        {
            "id": ids,
            "entry": fu.entry[keep],
            "exit": fu.exit[keep],
            "event": fu.event[keep],
            "origin": fu.origin[keep],
        }
    )
    for c, values in cats.items():
        if isinstance(values, np.ndarray):  # a numeric covariate
            frame[c] = values[keep]
        else:
            frame[c] = pd.Categorical(values[keep]).remove_unused_categories()
    _check_kept(frame, columns, chk, source)
    audit = _audit(raw, columns, chk, frame, keep, exclusions, source)
    return SurvivalData(frame=frame, columns=columns, time_unit=time_unit, audit=audit)


def _check_table(raw: pd.DataFrame, columns: Columns, source: str) -> None:
    """Raise at once for a table with no rows or without the named columns."""
    if len(raw) == 0:
        raise DataError(
            Problem("the table has a header but no rows", "give one row per unit"), source=source
        )
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


def _check_ids(raw: pd.DataFrame, columns: Columns, chk: _Checker) -> None:
    """Missing and duplicated unit ids."""
    if columns.id is None:
        return
    idcol = raw[columns.id]
    chk.rows(idcol.isna().to_numpy(), columns.id, "missing unit ids", "give every unit an id")
    dup = idcol.duplicated(keep=False).to_numpy() & idcol.notna().to_numpy()
    chk.rows(
        dup,
        columns.id,
        "duplicated unit ids",
        "give each unit (one row) a unique id; merge or renumber the duplicates",
    )


def _durations(raw: pd.DataFrame, columns: Columns, chk: _Checker, unit: float) -> _FollowUp:
    """The durations form: ``time`` and ``event``, optional ``entry`` and ``start``/``origin``."""
    n = len(raw)
    exit_ = _numeric(raw[columns.time], columns.time, chk, kind="duration")
    chk.rows(
        exit_ < 0,
        columns.time,
        "negative durations",
        "durations are follow-up lengths and must be >= 0",
    )
    event = _events(raw[columns.event], columns.event, chk)
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
    return _FollowUp(entry, exit_, event, origin, columns.time)


def _date_follow_up(raw: pd.DataFrame, columns: Columns, chk: _Checker, unit: float) -> _FollowUp:
    """The two date forms: ``start``/``stop``/``event``, or ``start``/``event_date``/``censor_date``.

    Differences of whole days are taken first, then one division by the unit's length in days,
    so durations are exact to the rounding of the result.
    """
    origin = _dates(raw[columns.start], columns.start, chk)
    if columns.form == "dates":
        stop = _dates(raw[columns.stop], columns.stop, chk)
        event = _events(raw[columns.event], columns.event, chk)
        stop_name = columns.stop
    else:
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
    return _FollowUp(entry, exit_, event, origin / unit, stop_name)


def _event_and_censor_dates(
    raw: pd.DataFrame, columns: Columns, chk: _Checker
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


def _check_lengths(fu: _FollowUp, columns: Columns, chk: _Checker) -> None:
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
    chk: _Checker, on_invalid: str, source: str
) -> tuple[np.ndarray, tuple[Exclusion, ...]]:
    """Raise for row problems, or (``on_invalid="exclude"``) the rows kept and the exclusions."""
    bad_rows = np.zeros(chk.n, dtype=bool)
    for _, mask in chk.row_problems:
        bad_rows |= mask
    exclusions: tuple[Exclusion, ...] = ()
    if chk.row_problems:
        if on_invalid == "raise":
            raise DataError([p for p, _ in chk.row_problems] + chk.table_problems, source=source)
        exclusions = tuple(
            Exclusion(str(p.what) + (f" [{p.column}]" if p.column else ""), p.ids)
            for p, _ in chk.row_problems
        )
    return ~bad_rows, exclusions


def _check_kept(frame: pd.DataFrame, columns: Columns, chk: _Checker, source: str) -> None:
    """Table-level checks on the rows kept: some rows, some events, covariates that vary."""
    if len(frame) == 0:
        chk.table(
            "no rows left after excluding invalid ones", "fix the problems listed in the audit"
        )
    elif frame["event"].sum() == 0:
        chk.table(
            "no events at all: every unit is censored",
            "a hazard cannot be estimated without events; check the event column coding (1 = event)",
            columns.event or columns.event_date,
        )
    for c in columns.covariates:
        numeric = not isinstance(frame[c].dtype, pd.CategoricalDtype)
        values = pd.unique(frame[c]) if numeric else list(frame[c].cat.categories)
        if len(frame) and len(values) < 2:
            lvl = [f"{v:g}" for v in values] if numeric else values
            chk.table(
                f"covariate has a single {'value' if numeric else 'level'} {lvl}",
                "its effect cannot be estimated; remove it from the covariates (and the formula)",
                c,
            )
    if chk.table_problems:
        raise DataError(chk.table_problems, source=source)


def _audit(raw, columns: Columns, chk: _Checker, frame, keep, exclusions, source: str) -> Audit:
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
