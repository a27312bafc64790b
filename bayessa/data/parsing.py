"""Column parsers of a raw table: numbers, ISO dates, event codes, categories, covariates.

Each parser records row-level problems as boolean masks on a :class:`Checker`, which
:func:`bayessa.data.validation.validate` raises together in one :class:`~bayessa.errors.DataError`
(or turns into exclusions). Parsers work on the distinct values of a column (factorised), so a
million-row table with few distinct values is parsed in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayessa.data.columns import _EPOCH, Columns
from bayessa.errors import Problem

__all__ = ["MAX_NUMERIC_LEVELS", "event_column", "level_label"]

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


class Checker:
    """Accumulates row-level problems as boolean masks, table-level problems as messages.

    Unit labels for messages are built only for offending rows (building them for every row of a
    large table would cost more than the validation itself). In the counting-process form
    (``unique_ids=False``) a unit has several rows, and its id is named once.

    Parameters
    ----------
    raw : DataFrame
        The table as read.
    id_col : str or None
        The unit id column (None: units are named by row).
    unique_ids : bool, default True
        Whether each id names one row.
    row_offset : int, default 0
        Data rows before the first row of ``raw`` (a partition of a larger table): rows are
        named by their place in the whole table.
    """

    def __init__(
        self,
        raw: pd.DataFrame,
        id_col: str | None,
        *,
        unique_ids: bool = True,
        row_offset: int = 0,
    ):
        self.raw = raw
        self.unique_ids = unique_ids
        self.n = len(raw)
        self.id_col = id_col
        self.row_offset = row_offset
        self.row_problems: list[tuple[Problem, np.ndarray]] = []
        self.table_problems: list[Problem] = []
        # every check made, found or not, in order (what, fix, column): the order of the
        # problems of a table validated partition by partition (bayessa.data.partitioned)
        self.checked: list[tuple[str, str, str | None]] = []
        # assumptions stated in the audit: (rows it concerns or None, text)
        self.notes: list[tuple[np.ndarray | None, str]] = []

    def labels(self, mask: np.ndarray) -> tuple[object, ...]:
        """The unit id of each masked row, or ``row k`` (1-based data row) where it has none."""
        rows = np.flatnonzero(mask) + self.row_offset
        if self.id_col is None:
            return tuple(f"row {k + 1}" for k in rows)
        ids = self.raw[self.id_col].to_numpy(dtype=object)[rows - self.row_offset]
        labels = tuple(f"row {k + 1}" if pd.isna(i) else i for k, i in zip(rows, ids, strict=True))
        return labels if self.unique_ids else tuple(dict.fromkeys(labels))

    def rows(self, mask: np.ndarray, column: str | None, what: str, fix: str) -> None:
        """Record a row-level problem for the rows in ``mask`` (nothing when it is empty)."""
        mask = np.asarray(mask, dtype=bool)
        self.checked.append((what, fix, column))
        if mask.any():
            self.row_problems.append((Problem(what, fix, column, self.labels(mask)), mask))

    def table(self, what: str, fix: str, column: str | None = None) -> None:
        """Record a table-level problem (always raised)."""
        self.checked.append((what, fix, column))
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


#: How a problem's text quotes examples of the offending values (``_split_examples``).
_EXAMPLES = " (e.g. "


def _examples(raw: pd.Series, mask: np.ndarray) -> str:
    return ", ".join(repr(str(v)) for v in pd.unique(raw[mask])[:3])


def _split_examples(what: str) -> tuple[str, str | None]:
    """A problem's text without the examples it quotes, and where they were.

    The parsers name up to three offending values, ``"dates that are not ISO 8601 (e.g.
    '2020-13-01', 'soon')"``. Data validated partition by partition
    (:mod:`bayessa.data.partitioned`) merge one problem found in several partitions by its text
    without them, and quote the first three distinct values over all partitions.

    Parameters
    ----------
    what : str
        A problem's ``what``.

    Returns
    -------
    base : str
        The text before the examples (all of it when it quotes none).
    tail : str or None
        The rest after the examples' closing parenthesis (``""`` at the end), or None when
        the text quotes no examples.
    """
    head, sep, rest = what.partition(_EXAMPLES)
    if not sep:
        return what, None
    return head, rest[rest.rfind(")") + 1 :] if ")" in rest else ""


def _numeric(raw: pd.Series, name: str, chk: Checker, *, kind: str) -> np.ndarray:
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


def _dates(raw: pd.Series, name: str, chk: Checker, *, allow_missing: bool = False) -> np.ndarray:
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


def _event_values(raw: pd.Series) -> frozenset:
    """The distinct values that decide how an event column is read (its coding).

    Numbers (a numeric column), or lower-case stripped text; empty for a boolean column. The
    coding (0/1, R's 1/2, yes/no) is a property of the whole column, so data read partition by
    partition decide it on the union of these sets (:func:`event_column`'s ``used``).

    Parameters
    ----------
    raw : Series
        The event column.

    Returns
    -------
    frozenset
    """
    if pd.api.types.is_bool_dtype(raw.dtype):
        return frozenset()
    if pd.api.types.is_numeric_dtype(raw.dtype):
        v = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        return frozenset(np.unique(v[~np.isnan(v)]).tolist())
    codes, text = _factorize(raw)
    return frozenset(t.lower() for t in text[np.unique(codes[codes >= 0])])


def _events(raw: pd.Series, name: str, chk: Checker, used: frozenset | None = None) -> np.ndarray:
    used = _event_values(raw) if used is None else used
    if pd.api.types.is_bool_dtype(raw.dtype):
        missing = raw.isna().to_numpy()
        bad = np.zeros(len(raw), bool)
        out = raw.fillna(False).to_numpy(dtype=np.int8)
        chk.notes.append((None, f"event column '{name}' holds true/false: true read as event (1)"))
    elif pd.api.types.is_numeric_dtype(raw.dtype):
        v = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(v)
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


def event_column(
    raw: pd.Series, name: str, censored: str | None, chk: Checker, used: frozenset | None = None
):
    """The event indicator and, with competing risks (``censored`` given), each row's cause.

    Parameters
    ----------
    raw : Series
        The event column.
    name : str
        Its name, for messages.
    censored : str or None
        The value marking a censored row; None: a 0/1 event column.
    chk : Checker
        Collects the problems.
    used : frozenset, optional
        The column's ``_event_values`` over the whole table, when ``raw`` is one partition of
        it; default: those of ``raw``.

    Returns
    -------
    event : ndarray of int8
        1 for an event (of any cause).
    cause : ndarray of int8 or None
        0 censored, ``k`` for the ``k``-th cause (None without competing risks).
    causes : tuple of str
        The causes, sorted (empty without competing risks).
    """
    if censored is None:
        return _events(raw, name, chk, used), None, ()
    codes, text = _factorize(raw)
    chk.rows(codes == -1, name, "missing outcomes",
             f"give every unit its outcome: a cause, or '{censored}' when censored")  # fmt: skip
    labels = sorted({t for t in text if t != "" and t != str(censored)})
    if not labels:
        chk.table("no event of any cause: every outcome is the censoring value",
                  f"check censored = '{censored}' and the outcome column", name)  # fmt: skip
    if str(censored) not in set(text):
        chk.notes.append((None, f"no unit has the censoring value '{censored}' in '{name}'"))
    pos = {lvl: i + 1 for i, lvl in enumerate(labels)}
    lookup = np.array([pos.get(t, 0) for t in text] + [0], dtype=np.int8)
    cause = lookup[codes]
    if len(labels) == 1:
        chk.notes.append(
            (None, f"'{name}' has one cause ('{labels[0]}'): the model has no competing risk")
        )
    return (cause > 0).astype(np.int8), cause, tuple(labels)


def _is_number(raw: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype)


def _covariate(
    raw: pd.Series,
    name: str,
    columns: Columns,
    chk: Checker,
    levels: list[str] | None = None,
    distinct: np.ndarray | None = None,
):
    """A covariate as numbers (float array) or categories, as in R: by type, or as the formula says.

    ``C(x)`` in the formula (``columns.categorical``) reads any column as categories; a numeric
    transform (``columns.numeric``) needs numbers; otherwise numbers stay numbers (entering the
    model linearly) and everything else becomes categories. For one partition of a larger table,
    ``levels`` are a categorical column's levels over the whole table, and ``distinct`` a
    numeric column's distinct finite values there (up to ``MAX_NUMERIC_LEVELS + 1`` of them).
    """
    if name in columns.categorical:
        return _categorical(raw, name, chk, role="covariate", levels=levels)
    if not _is_number(raw):
        if name in columns.numeric:
            chk.table(
                f"covariate is {raw.dtype}, not numbers (e.g. {_examples(raw, raw.notna().to_numpy())}), "
                "but the formula applies a numeric transform to it",
                f"convert the column to numbers, or write C({name}) in the formula for categories",
                name,
            )
        return _categorical(raw, name, chk, role="covariate", levels=levels)
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
    if distinct is None:
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


def _column_levels(raw: pd.Series) -> list[str]:
    """The levels of a categorical column: stripped text, in its category order or sorted.

    A pandas Categorical keeps its categories' order (Stata and SPSS value labels, a Parquet
    dictionary); other columns are sorted, numerically when they hold numbers.

    Parameters
    ----------
    raw : Series
        The column as read.

    Returns
    -------
    list of str
    """
    if isinstance(raw.dtype, pd.CategoricalDtype):
        order = [str(c).strip() for c in raw.cat.categories]
        return [c for c in dict.fromkeys(order) if c != ""]
    _, text = _factorize(raw)
    return sorted({t for t in text if t != ""}, key=float if _is_number(raw) else None)


def _categorical(
    raw: pd.Series, name: str, chk: Checker, *, role: str, levels: list[str] | None = None
) -> pd.Categorical:
    """Categorical with stripped string levels (sorted, or in the input's category order).

    ``levels``: the column's levels over a whole table of which ``raw`` is one partition.
    """
    codes, text = _factorize(raw)
    missing = codes == -1
    chk.rows(
        missing,
        name,
        f"missing {role} values",
        f"fill in the {role} (e.g. a level 'unknown') or exclude those units with on_invalid='exclude'",
    )
    if levels is None:
        levels = _column_levels(raw)
    pos = {lvl: i for i, lvl in enumerate(levels)}
    remap = np.array([pos.get(t, -1) for t in text] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=levels)


@dataclass
class FollowUp:
    """Each row's follow-up on the duration scale, before any row is excluded.

    Parameters
    ----------
    entry, exit : ndarray of float64
        Start and end of each row's follow-up, time since the unit's time zero.
    event : ndarray of int8
        Event at the end of the row (1) or not (0).
    origin : ndarray of float64
        Calendar time of the unit's time zero (NaN if unknown).
    end_column : str
        The column(s) holding the end of follow-up, for messages.
    cause : ndarray of int8, optional
        Competing risks: 0 censored, ``k`` the ``k``-th of ``causes``.
    causes : tuple of str, default ()
        The causes.
    upper : ndarray of float64, optional
        Interval censoring: the upper bound :math:`R` of an event known to lie in
        ``(exit, R]``; NaN for units observed exactly or right-censored.
    """

    entry: np.ndarray
    exit: np.ndarray
    event: np.ndarray
    origin: np.ndarray
    end_column: str
    cause: np.ndarray | None = None
    causes: tuple[str, ...] = ()
    upper: np.ndarray | None = None
