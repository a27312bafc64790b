"""Reading a table of units: :func:`read_table` (raw) and :func:`read_data` (validated).

See :mod:`bayessa.data.columns` for the column roles and the three layouts of follow-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from bayessa.data.columns import TIME_UNITS, Columns, SurvivalData
from bayessa.data.validation import validate
from bayessa.errors import DataError, Problem, SpecError

__all__ = ["read_data", "read_table"]


def read_table(source: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Read a table of units as it is: the one reader behind every command and function.

    Parameters
    ----------
    source : path or DataFrame
        A CSV file (UTF-8, header row; ``.csv``, ``.txt`` or any other suffix), a Parquet file
        (``.parquet``, ``.pq``), or a DataFrame (returned as it is, never modified).

    Returns
    -------
    (DataFrame, str)
        The raw table and a name for messages (the path, or ``"DataFrame"``). A byte-order mark
        is noted in ``df.attrs["bayessa_notes"]``.

    Raises
    ------
    DataError
        The path is missing, a directory, empty, not UTF-8, or not a table.
    """
    if isinstance(source, pd.DataFrame):
        return source, "DataFrame"
    path = Path(source)
    if path.is_dir():
        raise DataError(
            Problem(
                f"'{path}' is a directory, not a data file",
                "give the path of a CSV or Parquet file",
            ),
            source=str(path),
        )
    if not path.exists():
        raise DataError(
            Problem(f"file '{path}' does not exist", "check the path"), source=str(path)
        )
    parquet = path.suffix.lower() in {".parquet", ".pq", ".parq"}
    try:
        if parquet:
            return pd.read_parquet(path), str(path)
        if path.stat().st_size == 0:
            raise DataError(
                Problem(
                    "the file is empty", "give a CSV file with a header row and one row per unit"
                ),
                source=str(path),
            )
        try:
            df = pd.read_csv(path, engine="pyarrow", encoding="utf-8")
        except (ValueError, TypeError, pd.errors.ParserError):
            # pyarrow is strict about ragged rows; the C parser gives line-numbered messages.
            df = pd.read_csv(path, encoding="utf-8-sig")
    except DataError:
        raise
    except UnicodeDecodeError as err:
        raise DataError(
            Problem(
                f"the file is not UTF-8 text ({err.reason})",
                "save the table as UTF-8 CSV or as Parquet",
            ),
            source=str(path),
        ) from None
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            Problem(
                f"the file could not be read as a table ({'Parquet' if parquet else 'CSV'}): {msg}",
                "give a comma-separated CSV (header row, one row per unit) or a Parquet file",
            ),
            source=str(path),
        ) from None
    # A byte-order mark survives some parsers as part of the first header name.
    df.columns = [str(c).lstrip("\ufeff").strip() for c in df.columns]
    with open(path, "rb") as fh:
        if fh.read(3) == b"\xef\xbb\xbf":
            df.attrs["bayessa_notes"] = [
                "the file starts with a UTF-8 byte-order mark; it was ignored"
            ]
    return df, str(path)


def read_data(
    source: str | Path | pd.DataFrame,
    columns: Columns | Mapping[str, object],
    *,
    time_unit: str = "years",
    on_invalid: str = "raise",
) -> SurvivalData:
    """Read and validate a table of units.

    Parameters
    ----------
    source : path or DataFrame
        CSV (UTF-8, header row) or Parquet file, or a pandas DataFrame (never modified).
    columns : Columns or mapping
        Roles of the columns; see :class:`Columns`.
    time_unit : {"years", "months", "weeks", "days"}
        Unit of the duration scale when follow-up is given as dates (1 year = 365.25 days).
        With durations it only labels the scale.
    on_invalid : {"raise", "exclude"}
        ``"raise"`` (default): any invalid row is an error. ``"exclude"``: rows with row-level
        problems are excluded and listed in the audit.

    Returns
    -------
    SurvivalData

    Raises
    ------
    DataError
        Listing every problem: column, offending unit ids (first few and a count) and the fix.
    SpecError
        If the column roles themselves are inconsistent.
    """
    if not isinstance(columns, Columns):
        columns = Columns(**dict(columns))
    columns.check()
    if time_unit not in TIME_UNITS:
        raise SpecError(f"time_unit '{time_unit}' is not one of {sorted(TIME_UNITS)}")
    if on_invalid not in {"raise", "exclude"}:
        raise SpecError(f"on_invalid must be 'raise' or 'exclude', not '{on_invalid}'")
    raw, source_name = read_table(source)
    return validate(raw, columns, time_unit=time_unit, on_invalid=on_invalid, source=source_name)
