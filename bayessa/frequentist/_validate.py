"""Input checks shared by the Kaplan–Meier and log-rank functions.

Every problem found is collected and raised once as :class:`~bayessa.errors.DataError`; row-level
problems carry the offending row labels (``df.index``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayessa.errors import DataError, Problem

__all__ = ["SurvivalArrays", "check_columns", "check_survival_frame", "factorize"]


@dataclass(frozen=True)
class SurvivalArrays:
    """Validated survival data as plain arrays (one element per row of the input)."""

    time: np.ndarray  # float64
    event: np.ndarray  # bool
    entry: np.ndarray | None  # float64, or None without delayed entry
    group: np.ndarray | None  # int codes into group_levels
    group_levels: list[Hashable]
    strata: np.ndarray | None  # int codes into strata_levels
    strata_levels: list[Hashable]


def factorize(values: pd.Series) -> tuple[np.ndarray, list[Hashable]]:
    """Integer codes and levels; levels sorted (categorical: category order, unused dropped).

    Sorting matches R, where ``factor()`` sorts character and numeric levels.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.cat.remove_unused_categories()
        return values.cat.codes.to_numpy(np.int64), list(values.cat.categories)
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), list(uniques)


def _numeric(df: pd.DataFrame, col: str, role: str, problems: list[Problem]) -> np.ndarray:
    """The column as float64; non-numeric, missing and infinite values become problems."""
    raw = df[col]
    labels = df.index
    if pd.api.types.is_bool_dtype(raw.dtype):
        problems.append(
            Problem(
                f"{role} column holds true/false values, not numbers",
                f"pass the numeric {role} column",
                col,
            )
        )
        return np.full(len(raw), np.nan)
    values = pd.to_numeric(raw, errors="coerce")
    present = raw.notna().to_numpy()
    values_np = values.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = present & np.isnan(values_np)
    if bad.any():
        problems.append(
            Problem(
                f"non-numeric {role} values",
                f"{role}s must be numbers; correct these rows or convert the column",
                col,
                labels[bad].tolist(),
            )
        )
    missing = ~present
    if missing.any():
        problems.append(
            Problem(
                f"missing {role} values",
                f"every row needs a {role}; fill in or drop these rows",
                col,
                labels[missing].tolist(),
            )
        )
    inf = np.isinf(values_np)
    if inf.any():
        problems.append(
            Problem(
                f"infinite {role} values",
                f"{role}s must be finite; censor at the last time seen instead",
                col,
                labels[inf].tolist(),
            )
        )
    with np.errstate(invalid="ignore"):
        negative = values_np < 0
    if negative.any():
        problems.append(
            Problem(
                f"negative {role} values",
                f"{role}s must be >= 0; correct or remove these rows",
                col,
                labels[negative].tolist(),
            )
        )
    return values_np


def _event(df: pd.DataFrame, col: str, problems: list[Problem]) -> np.ndarray:
    """The event column as bool; only 0, 1, True and False are accepted."""
    raw = df[col]
    labels = df.index
    missing = raw.isna().to_numpy()
    if pd.api.types.is_bool_dtype(raw.dtype):
        ok = ~missing
        value = raw.fillna(False).to_numpy(dtype=bool)
    elif pd.api.types.is_numeric_dtype(raw.dtype):
        num = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = (num == 0) | (num == 1)
        value = num == 1
    else:
        ok = np.array([v is True or v is False or (_is_number(v) and v in (0, 1)) for v in raw])
        value = np.array([bool(v) if ok_i else False for v, ok_i in zip(raw, ok, strict=True)])
    if missing.any():
        problems.append(
            Problem(
                "missing event indicators",
                "every row needs 1 (event) or 0 (censored); fill in or drop these rows",
                col,
                labels[missing].tolist(),
            )
        )
    bad = ~ok & ~missing
    if bad.any():
        found = pd.unique(raw[bad])
        shown = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in found[:5])
        shown += f" and {len(found) - 5} more" if len(found) > 5 else ""
        problems.append(
            Problem(
                f"event values other than 0/1 or True/False (found {shown})",
                "code the event as 1 (event) or 0 (censored)",
                col,
                labels[bad].tolist(),
            )
        )
    return value.astype(bool)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _labels(df: pd.DataFrame, col: str, role: str, problems: list[Problem]) -> None:
    missing = df[col].isna().to_numpy()
    if missing.any():
        problems.append(
            Problem(
                f"missing {role} values",
                f"give every row a {role}, or drop these rows",
                col,
                df.index[missing].tolist(),
            )
        )


def check_columns(df: pd.DataFrame, roles: list[tuple[str, str | None]]) -> None:
    """Raise one DataError for role columns missing from ``df``, or for a table without rows.

    Parameters
    ----------
    df : pandas.DataFrame
    roles : list of (role, column or None)
    """
    absent = [(role, col) for role, col in roles if col is not None and col not in df.columns]
    if absent:
        available = ", ".join(map(str, df.columns[:20])) or "none"
        raise DataError(
            [
                Problem(
                    f"{role} column '{col}' not found",
                    f"pass {role}= one of the columns in the data ({available})",
                    col,
                )
                for role, col in absent
            ]
        )
    if len(df) == 0:
        raise DataError(Problem("the data have no rows", "give one row per unit"))


def check_survival_frame(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    entry: str | None = None,
    group: str | None = None,
    strata: str | None = None,
    min_groups: int = 0,
    need_events: bool = False,
) -> SurvivalArrays:
    """Validate the survival columns of *df* and return them as arrays.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit.
    time, event, entry, group, strata : str
        Column names (``entry``, ``group``, ``strata`` optional).
    min_groups : int
        Raise unless the group column has at least this many levels (2 for a test).
    need_events : bool
        Raise when there is no event at all (a test is undefined then).

    Raises
    ------
    bayessa.errors.DataError
        Listing every problem found.
    TypeError
        If *df* is not a DataFrame.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    roles: Sequence[tuple[str, str | None]] = [
        ("time", time),
        ("event", event),
        ("entry", entry),
        ("group", group),
        ("strata", strata),
    ]
    check_columns(df, roles)

    problems: list[Problem] = []
    t = _numeric(df, time, "time", problems)
    d = _event(df, event, problems)
    e = _numeric(df, entry, "entry time", problems) if entry is not None else None
    if e is not None:
        with np.errstate(invalid="ignore"):
            late = e >= t
        if late.any():
            problems.append(
                Problem(
                    f"entry time not before the exit time '{time}'",
                    "a unit must enter before it leaves (entry < time); correct these rows",
                    entry,
                    df.index[late].tolist(),
                )
            )
    for role, col in (("group", group), ("stratum", strata)):
        if col is not None:
            _labels(df, col, role, problems)
    if problems:
        raise DataError(problems)

    g, g_levels = factorize(df[group]) if group is not None else (None, [])
    s, s_levels = factorize(df[strata]) if strata is not None else (None, [])
    if group is not None and len(g_levels) < min_groups:
        problems.append(
            Problem(
                f"only {len(g_levels)} group level ({g_levels[0]!r}); a test needs at least "
                f"{min_groups}",
                "compare two or more groups, or check that the right column was passed",
                group,
            )
        )
    if need_events and not d.any():
        problems.append(
            Problem(
                "no events: every row is censored, so the test is undefined",
                "check the event coding (1 = event, 0 = censored)",
                event,
            )
        )
    if problems:
        raise DataError(problems)
    return SurvivalArrays(t, d, e, g, g_levels, s, s_levels)
