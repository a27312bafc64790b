"""Reading a table of units: :func:`read_table` (raw) and :func:`read_data` (validated).

See :mod:`bayessa.data.columns` for the column roles and the three layouts of follow-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path

import pandas as pd

from bayessa.data.columns import TIME_UNITS, Columns, SurvivalData
from bayessa.data.validation import validate
from bayessa.errors import DataError, Problem, SpecError

__all__ = ["FORMATS", "read_data", "read_table"]


#: Suffix -> (format name, optional package it needs). Anything else is read as CSV; a CSV may
#: be compressed (``.csv.gz``, ``.bz2``, ``.zip``, ``.xz``, ``.zst``: pandas infers it).
FORMATS: dict[str, tuple[str, str | None]] = {
    ".parquet": ("Parquet", None),
    ".pq": ("Parquet", None),
    ".parq": ("Parquet", None),
    ".feather": ("Feather", None),
    ".arrow": ("Feather", None),
    ".dta": ("Stata", None),
    ".sav": ("SPSS", "pyreadstat"),
    ".zsav": ("SPSS", "pyreadstat"),
    ".xlsx": ("Excel", "openpyxl"),
    ".xlsm": ("Excel", "openpyxl"),
}


def read_table(source: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Read a table of units as it is: the one reader behind every command and function.

    Parameters
    ----------
    source : path or DataFrame
        A Parquet dataset -- a folder of ``.parquet`` files (other files in it are ignored) or
        a glob pattern (``"runs/data/part-*.parquet"``) -- read as one table, or a file in one
        of :data:`FORMATS` by its suffix: Parquet, Feather/Arrow, Stata ``.dta``,
        SPSS ``.sav`` (with ``bayessa[formats]``), Excel ``.xlsx`` (its first sheet; with
        ``bayessa[formats]``); any other suffix is read as CSV (UTF-8, header row; compressed
        files too). Stata and SPSS value labels become categories, in their labelled order. A
        DataFrame is returned as it is (never modified).

    Returns
    -------
    (DataFrame, str)
        The raw table and a name for messages (the path, or ``"DataFrame"``). Notes for the
        audit (a byte-order mark; the sheet read) are in ``df.attrs["bayessa_notes"]``.

    Raises
    ------
    DataError
        The path is missing, a directory without Parquet files, empty, not UTF-8, not a table,
        or its reader is not installed (naming the extra to install); a dataset's files do not
        share one set of columns.
    """
    if isinstance(source, pd.DataFrame):
        return source, "DataFrame"
    files = _dataset_files(source)
    if files is not None:
        return _read_dataset(files), str(source)
    path = Path(source)
    if not path.exists():
        raise DataError(
            Problem(f"file '{path}' does not exist", "check the path"), source=str(path)
        )
    kind, needs = FORMATS.get(path.suffix.lower(), ("CSV", None))
    if path.suffix.lower() == ".xls":
        raise DataError(
            Problem("old Excel .xls files are not read", "save the sheet as .xlsx or CSV"),
            source=str(path),
        )
    if needs is not None and find_spec(needs) is None:
        raise DataError(
            Problem(
                f"reading {kind} files needs the optional package {needs}, which is not installed",
                "pip install 'bayessa[formats]' (or save the table as CSV or Parquet)",
            ),
            source=str(path),
        )
    try:
        if path.stat().st_size == 0:
            raise DataError(
                Problem(
                    "the file is empty", "give a CSV file with a header row and one row per unit"
                ),
                source=str(path),
            )
        df = _READERS.get(kind, _read_csv)(path)
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
    except (OSError, ValueError, TypeError, KeyError, pd.errors.ParserError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            Problem(
                f"the file could not be read as a table ({kind}): {msg}",
                "give a comma-separated CSV (header row, one row per unit) or a Parquet file",
            ),
            source=str(path),
        ) from None
    # A byte-order mark survives some parsers as part of the first header name.
    df.columns = [str(c).lstrip("\ufeff").strip() for c in df.columns]
    return df, str(path)


_PARQUET = (".parquet", ".pq", ".parq")


def _dataset_files(source) -> list[Path] | None:
    """The files of a Parquet dataset (a folder, or a glob pattern), or None for one file."""
    import glob

    text = str(source)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        if not files:
            raise DataError(
                Problem(f"no file matches '{text}'", "check the pattern (e.g. dir/part-*.parquet)"),
                source=text,
            )
        other = [f.name for f in files if f.suffix.lower() not in _PARQUET]
        if other:
            raise DataError(
                Problem(
                    f"{len(other)} of the {len(files)} files matching '{text}' are not Parquet "
                    f"(e.g. {other[0]})",
                    "a pattern reads a Parquet dataset: match only .parquet files",
                ),
                source=text,
            )
        return files
    path = Path(text)
    if not path.is_dir():
        return None
    files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in _PARQUET)
    if not files:
        raise DataError(
            Problem(
                f"'{path}' is a directory without Parquet files, not a data file",
                "give the path of a CSV or Parquet file, or a folder of .parquet files",
            ),
            source=str(path),
        )
    return files


def _read_dataset(files: list[Path]) -> pd.DataFrame:
    """The files of a Parquet dataset as one table, in file-name order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        tables = [pq.read_table(f) for f in files]
        table = pa.concat_tables(tables, promote_options="permissive")
    except (OSError, pa.ArrowInvalid, pa.ArrowTypeError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            Problem(
                f"the {len(files)} Parquet files could not be read as one table: {msg}",
                "every file of a dataset must hold the same columns with the same types",
            ),
            source=str(files[0].parent),
        ) from None
    df = table.to_pandas()
    df.attrs["bayessa_notes"] = [f"read {len(files)} Parquet files as one table"]
    return df


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, engine="pyarrow", encoding="utf-8")
    except (ValueError, TypeError, pd.errors.ParserError):
        # pyarrow is strict about ragged rows; the C parser gives line-numbered messages.
        df = pd.read_csv(path, encoding="utf-8-sig")
    with open(path, "rb") as fh:
        if fh.read(3) == b"\xef\xbb\xbf":
            df.attrs["bayessa_notes"] = [
                "the file starts with a UTF-8 byte-order mark; it was ignored"
            ]
    return df


def _read_excel(path: Path) -> pd.DataFrame:
    with pd.ExcelFile(path, engine="openpyxl") as book:
        names = book.sheet_names
        df = pd.read_excel(book, sheet_name=names[0])
    if len(names) > 1:
        df.attrs["bayessa_notes"] = [f"the first of {len(names)} sheets was read ('{names[0]}')"]
    return df


def _read_stata(path: Path) -> pd.DataFrame:
    # value labels -> categories in label order; an unlabelled value among labelled ones stays
    return pd.read_stata(path, convert_categoricals=True, convert_missing=False)


def _read_spss(path: Path) -> pd.DataFrame:
    return pd.read_spss(path, convert_categoricals=True)


_READERS = {
    "Parquet": pd.read_parquet,
    "Feather": pd.read_feather,
    "Stata": _read_stata,
    "SPSS": _read_spss,
    "Excel": _read_excel,
}


def read_data(
    source: str | Path | pd.DataFrame,
    columns: Columns | Mapping[str, object],
    *,
    time_unit: str = "years",
    on_invalid: str = "raise",
    changes: str | Path | pd.DataFrame | None = None,
    change_time: str | None = None,
    change_id: str | None = None,
) -> SurvivalData:
    """Read and validate a table of units, and merge a table of covariate changes into it.

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
    changes : path or DataFrame, optional
        A table of covariate changes (unit id, time of the change, new values), merged as R's
        ``tmerge(..., tdc())`` (:func:`bayessa.data.changes.apply_changes`): the result has one
        row per unit and stretch of constant covariates.
    change_time : str, optional
        The change table's column of change times (durations since the unit's time zero) or
        dates; required with *changes*.
    change_id : str, optional
        The change table's unit id column (default: the data's id column).

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
    if changes is not None and (change_time is None or (change_id or columns.id) is None):
        raise SpecError(
            "a change table needs change_time (its column of change times or dates) and unit "
            "ids: name the data's id column (id=...) and, if the change table calls it "
            "differently, change_id=..."
        )
    raw, source_name = read_table(source)
    data = validate(
        raw,
        columns,
        time_unit=time_unit,
        on_invalid=on_invalid,
        source=source_name,
        vary_later=changes is not None,
    )
    if changes is None:
        return data
    from bayessa.data.changes import apply_changes

    table, name = read_table(changes)
    return apply_changes(data, table, id=change_id or columns.id, time=change_time, source=name)
