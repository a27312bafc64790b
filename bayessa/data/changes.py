r"""A base table plus a table of changes -> the counting-process form (R's ``tmerge(..., tdc())``).

The base table has one row per unit, as always, with each covariate's value at entry. The change
table has one row per change: the unit id, the time of the change (a duration since the unit's
time zero on the analysis time scale, or a date) and the new value of one or more covariates. A
value holds from its time until the unit's next change of that covariate, so unit :math:`i` with
change times :math:`t_1 < \dots < t_k` inside its follow-up :math:`(e_i, x_i]` gets the rows
:math:`(e_i, t_1], (t_1, t_2], \dots, (t_k, x_i]`, its event on the last. This is R's
``tmerge(base, base, id, event(time, status))`` followed by ``tmerge(..., tdc(time, value))``,
with R's conventions:

* a change at or before the unit's entry sets the value from entry on (R: *early*/*leading*);
* a change at or after the unit's exit is ignored and counted in the audit (R: *late*/*trailing*);
* a blank value means that covariate does not change at that time (R's ``na.rm = TRUE``);
* two changes of one covariate at the same time with different values are an error (R keeps
  one of them silently).

Change-table columns that are not covariates of the formula are ignored and named in the audit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from bayessa.data.columns import TIME_UNITS, SurvivalData
from bayessa.data.parsing import Checker, _dates, _factorize, _is_number, _numeric
from bayessa.data.validation import single_valued
from bayessa.errors import DataError, Problem, SpecError, format_ids

__all__ = ["apply_changes"]


def apply_changes(
    base: SurvivalData,
    changes: pd.DataFrame,
    *,
    id: str,
    time: str,
    source: str = "change table",
) -> SurvivalData:
    """Merge a table of covariate changes into one-row-per-unit data.

    Parameters
    ----------
    base : SurvivalData
        Validated units, one row each (any follow-up form).
    changes : DataFrame
        The change table (:func:`bayessa.data.read.read_table`); never modified.
    id : str
        Its unit id column (the base table's ids).
    time : str
        Its column of change times: numbers on the analysis time scale (time since the unit's
        time zero), or ISO 8601 dates (the data must then know each unit's calendar time zero).
    source : str, default "change table"
        A name for messages (the path).

    Returns
    -------
    SurvivalData
        In the counting-process form (``counting=True``): one row per unit and stretch of
        constant covariates, ordered by unit and time.

    Raises
    ------
    DataError
        Every problem of the change table at once: missing columns, ids not in the base table,
        missing or unreadable times, values that do not fit the covariate, conflicting changes.
    SpecError
        Base data already with several rows per unit, or dates without calendar time zeros.
    """
    if base.counting:
        raise SpecError(
            "a change table needs one row per unit in the base table, but the data already have "
            "several rows per unit (tstart/tstop); merge the changes into those rows instead"
        )
    missing = [c for c in (id, time) if c not in changes.columns]
    if missing:
        avail = ", ".join(map(str, changes.columns[:30]))
        raise DataError(
            [Problem(f"column '{c}' not found", f"the change table has: {avail}") for c in missing],
            source=source,
        )
    value_cols = [c for c in base.covariates if c in changes.columns]
    ignored = [c for c in changes.columns if c not in (id, time) and c not in value_cols]
    chk = Checker(changes, id, unique_ids=False)
    units = base.frame
    code = _unit_codes(units["id"], changes[id], id, chk)
    t = _change_times(changes[time], time, base, code, chk)
    values = {c: _values(changes[c], c, units[c], chk) for c in value_cols}
    _conflicts(code, t, values, id, chk)
    if chk.row_problems or chk.table_problems:
        raise DataError([p for p, _ in chk.row_problems] + chk.table_problems, source=source)
    if not value_cols:
        raise DataError(
            Problem(
                "the change table has no column of a covariate in the formula "
                f"(it has {', '.join(map(str, changes.columns[:20]))})",
                "name the covariates that change in the formula, or check the column names",
            ),
            source=source,
        )
    frame, counts = _merge(units, code, t, values)
    if single := single_valued(frame, base.covariates):
        raise DataError(single, source=source)
    audit = base.audit
    counts["rows"] = len(frame)
    for note in _notes(counts, len(changes), ignored, source):
        audit = audit.with_note(note)
    return replace(base, frame=frame, audit=audit, counting=True)


def _unit_codes(base_ids: pd.Series, ids: pd.Series, name: str, chk: Checker) -> np.ndarray:
    """Row of the base table of each change (-1: unknown or missing id)."""
    code = pd.Index(base_ids).get_indexer(ids)
    if code.dtype.kind != "i":  # pragma: no cover - get_indexer returns integers
        code = np.asarray(code, dtype=np.int64)
    # ids may differ only in type (1 vs "1"): match on their text as well
    unknown = code < 0
    if unknown.any():
        by_text = pd.Index(base_ids.astype(str).str.strip()).get_indexer(
            ids[unknown].astype(str).str.strip()
        )
        code[unknown] = by_text
    chk.rows(ids.isna().to_numpy(), name, "changes without a unit id", "give every change its id")
    chk.rows(
        (code < 0) & ids.notna().to_numpy(),
        name,
        "changes for ids that are not in the base table",
        "correct the ids, or add those units to the base table (a change needs the unit's "
        "follow-up)",
    )
    return code


def _change_times(
    raw: pd.Series, name: str, base: SurvivalData, code: np.ndarray, chk: Checker
) -> np.ndarray:
    """Change times on the analysis scale: numbers as given, dates minus the unit's time zero."""
    as_numbers = pd.to_numeric(raw, errors="coerce")
    if _is_number(raw) or as_numbers.notna().any():  # a stray text value is reported as such
        return _numeric(raw, name, chk, kind="change time")
    if not base.has_calendar:
        raise SpecError(
            f"the change times in '{name}' are dates, but the units' calendar time zero is not "
            "known; give the base table's follow-up as dates (start=...), or the change times "
            "as durations since each unit's time zero"
        )
    days = _dates(raw, name, chk)
    origin = base.frame["origin"].to_numpy()
    known = code >= 0
    out = np.full(len(raw), np.nan)
    out[known] = days[known] / TIME_UNITS[base.time_unit] - origin[code[known]]
    return out


def _values(raw: pd.Series, name: str, base_col: pd.Series, chk: Checker):
    """New values of one covariate (NaN / None where blank: no change), typed as in the base."""
    codes, text = _factorize(raw)  # level labels: 1.0 reads "1", as in the base table
    blank = codes < 0
    if isinstance(base_col.dtype, pd.CategoricalDtype):
        return pd.Categorical(np.append(text, None)[codes])
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    chk.rows(
        np.isnan(values) & ~blank,
        name,
        "new values that are not numbers (the covariate is numeric in the base table)",
        "give numbers, or a blank where the covariate does not change",
    )
    chk.rows(np.isinf(values), name, "infinite new values", "give finite numbers")
    return values


def _conflicts(code: np.ndarray, t: np.ndarray, values: dict, id_name: str, chk: Checker) -> None:
    """Two changes of one covariate for one unit at one time with different values."""
    key = pd.DataFrame({"u": code, "t": t})
    for name, v in values.items():
        val = pd.Series(np.asarray(v, dtype=object))
        given = val.notna().to_numpy()
        k = key[given].assign(v=val[given].astype(str).to_numpy())
        n_distinct = k.groupby(["u", "t"])["v"].transform("nunique").to_numpy()
        mask = np.zeros(len(code), dtype=bool)
        mask[np.flatnonzero(given)[n_distinct > 1]] = True
        chk.rows(
            mask,
            name,
            "conflicting changes: one unit, one time, different new values",
            f"keep one change of '{name}' per unit and time",
        )


def _merge(units: pd.DataFrame, code: np.ndarray, t: np.ndarray, values: dict):
    """The counting-process rows and the counts of changes before entry, inside and after exit."""
    entry, exit_ = units["entry"].to_numpy(), units["exit"].to_numpy()
    e_u, x_u = entry[code], exit_[code]
    early, late = t <= e_u, t >= x_u
    # a change with every value blank changes nothing and splits no row (R's na.rm = TRUE)
    given = np.zeros(len(code), dtype=bool)
    for v in values.values():
        given |= ~pd.isna(np.asarray(v, dtype=object))
    inside = ~early & ~late & given
    breaks = pd.DataFrame({"u": code[inside], "t": t[inside]}).drop_duplicates()
    breaks = breaks.sort_values(["u", "t"], kind="stable")
    n = len(units)
    starts = pd.concat(
        [pd.DataFrame({"u": np.arange(n), "t": entry}), breaks], ignore_index=True
    ).sort_values(["u", "t"], kind="stable")
    u = starts["u"].to_numpy()
    s = starts["t"].to_numpy()
    last = np.r_[u[1:] != u[:-1], True]
    stop = np.where(last, exit_[u], np.r_[s[1:], np.nan])
    frame = units.iloc[u].reset_index(drop=True)
    frame["entry"], frame["exit"] = s, stop
    frame["event"] = np.where(last, units["event"].to_numpy()[u], 0).astype(np.int8)
    rows = pd.DataFrame({"u": u, "t": s, "row": np.arange(len(u))})
    when = np.where(early, e_u, t)  # a change at or before entry holds from entry
    for name, v in values.items():
        given = ~late & ~pd.isna(np.asarray(v, dtype=object))
        ch = pd.DataFrame({"u": code[given], "t": when[given], "k": np.flatnonzero(given)})
        hit = pd.merge_asof(
            rows.sort_values("t", kind="stable"),
            ch.sort_values("t", kind="stable"),
            on="t",
            by="u",
            direction="backward",
        ).sort_values("row")
        k = hit["k"].to_numpy()
        changed = ~np.isnan(k)
        frame[name] = _combine(frame[name], v, changed, k)
    counts = {
        "early": int(early.sum()),
        "inside": int(inside.sum()),
        "late": int(late.sum()),
        "blank": int((~early & ~late & ~given).sum()),
        "units": int(np.unique(code[inside]).size),
    }
    return frame, counts


def _combine(column: pd.Series, new, changed: np.ndarray, k: np.ndarray) -> pd.Series:
    """The base column with the rows after a change set to the change's value."""
    idx = k[changed].astype(np.int64)
    if not isinstance(column.dtype, pd.CategoricalDtype):
        out = column.to_numpy(dtype=np.float64).copy()
        out[changed] = np.asarray(new, dtype=np.float64)[idx]
        return pd.Series(out)
    base_levels = list(column.cat.categories)
    new_text = np.asarray(new, dtype=object)[idx]
    extra = sorted({str(x) for x in new_text} - set(base_levels))
    text = column.astype(object).to_numpy().copy()
    text[changed] = new_text
    numeric = all(_is_float(x) for x in base_levels + extra)
    levels = sorted(set(base_levels) | set(extra), key=float if numeric else None)
    if column.cat.ordered or not _sorted(base_levels, numeric):
        levels = base_levels + extra  # the input's own order, new levels after it
    return pd.Series(pd.Categorical(text, categories=levels)).cat.remove_unused_categories()


def _is_float(x: str) -> bool:
    try:
        float(x)
    except ValueError:
        return False
    return True


def _sorted(levels: list[str], numeric: bool) -> bool:
    return levels == sorted(levels, key=float if numeric else None)


def _notes(counts: dict, n_changes: int, ignored: list[str], source: str) -> list[str]:
    notes = [
        f"{n_changes} changes read from {source}: {counts['inside']} during follow-up "
        f"(in {counts['units']} units), {counts['early']} at or before a unit's entry (they set "
        f"the value from entry), {counts['late']} at or after a unit's exit (ignored); "
        f"follow-up is now {counts['rows']} rows, each with the values in force on it"
    ]
    if counts["blank"]:
        notes.append(
            f"{counts['blank']} changes during follow-up had every value blank: they change "
            "nothing and split no row"
        )
    if ignored:
        notes.append(
            f"change-table column(s) not in the formula were ignored: {format_ids(ignored)}"
        )
    return notes
