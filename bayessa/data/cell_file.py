"""Cells as a product: a Parquet file of the cells, with their audit and split contract.

``python -m bayessa.cells`` writes one (:func:`write_cells`); ``python -m bayessa.fit --cells``
fits from it (:func:`read_cells`). The table holds one row per cell: ``interval``, the period
column, every covariate and grouping column of the cells (categories as dictionary columns,
numeric covariates as numbers), then ``events``, ``exposure`` and ``n_pieces``. The Parquet
metadata (key ``bayessa.cells``, JSON) hold what the cells alone do not say:

* the **split contract**, so the split can be replayed on other data: cut points, calendar cut
  points and their labels, the period column's name, administrative censoring, time unit, the
  covariates, cluster and grouping columns, and the split's notes;
* the **units**: the audit (rows read, kept, exclusions with their first ids and counts, notes),
  the numbers of units and events, a hash of the validated data, and each numeric covariate's
  values over the units with their counts (a numeric term's centre, scale and reference are
  taken over the units);
* the spec the cells were made for (TOML), and the engine and version that made them.

The file is written atomically: into a temporary file beside it, renamed into place at the end,
so an interrupted run leaves no half-written file (nor the temporary one).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numpy as np

from bayessa.data.cells import Cells, UnitSummary
from bayessa.data.columns import Audit
from bayessa.data.lexis import Pieces, check_cuts
from bayessa.errors import DataError, Problem, SpecError

__all__ = ["CELLS_FORMAT", "METADATA_KEY", "read_cells", "write_cells"]

#: The format written in the metadata; a file of another format is refused.
CELLS_FORMAT = "bayessa-cells/1"
#: The Parquet metadata key of the JSON document.
METADATA_KEY = b"bayessa.cells"


def _number(x: float):
    return float(x) if np.isfinite(x) else "inf"


def write_cells(
    cells: Cells, path: str | Path, *, spec: str | None = None, engine: str = "memory"
) -> Path:
    """Write cells, their audit and split contract to a Parquet file, atomically.

    Parameters
    ----------
    cells : Cells
        With ``units`` set (:class:`~bayessa.data.cells.UnitSummary`: cells reduced partition
        by partition have it; give in-memory cells ``units=UnitSummary.of(data)``).
    path : str or Path
        The file to write (replaced if it exists).
    spec : str, optional
        The spec the cells were made for, as TOML.
    engine : str, default "memory"
        The engine that made them, for the record.

    Returns
    -------
    Path

    Raises
    ------
    SpecError
        The cells have no unit summary, or the file cannot be written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bayessa import __version__

    if cells.units is None:
        raise SpecError("cells without their UnitSummary cannot be written (see write_cells)")
    if cells.cause_events is not None or cells.interval_cell is not None:
        raise SpecError(
            "cells of competing risks or interval-censored units are not written to a cells "
            "file (their likelihood needs more than events and exposure per cell)"
        )
    p, u = cells.pieces, cells.units
    meta = {
        "format": CELLS_FORMAT,
        "keys": list(cells.keys),
        "split": {
            "cuts": [_number(x) for x in p.cuts],
            "periods": [c if isinstance(c, int | float) else str(c) for c in p.periods],
            "period_labels": list(p.period_labels),
            "period_name": p.period_name,
            "administrative_censoring": bool(p.administrative_censoring),
            "time_unit": p.time_unit,
            "covariates": list(p.covariates),
            "cluster": p.cluster,
            "groups": list(p.groups),
            "notes": list(p.notes),
        },
        "units": {
            "n_units": int(u.n_units),
            "n_events": int(u.n_events),
            "data_hash": u.data_hash,
            "max_exit": _number(u.max_exit) if not np.isnan(u.max_exit) else None,
            "audit": u.audit.to_dict(),
            "numeric": {
                c: {"values": v.tolist(), "counts": n.tolist()} for c, (v, n) in u.numeric.items()
            },
            "levels": {
                c: {"levels": list(lv), "counts": np.asarray(n).tolist()}
                for c, (lv, n) in u.levels.items()
            },
        },
        "spec": spec,
        "engine": engine,
        "bayessa": __version__,
    }
    table = pa.Table.from_pandas(cells.frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta).encode("utf-8")}
    )
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise SpecError(
            f"cannot write {path}: {err.strerror or err}; choose a writable --out"
        ) from None
    finally:  # an error or an interruption leaves nothing behind
        tmp.unlink(missing_ok=True)
    return path


def read_cells(path: str | Path) -> tuple[Cells, dict]:
    """Read a cells file written by :func:`write_cells`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    cells : Cells
        Without pieces (``Cells.has_pieces`` is False): ``pieces`` holds the split contract
        and no rows, ``units`` the :class:`~bayessa.data.cells.UnitSummary`.
    meta : dict
        The metadata document (``spec``, ``engine``, ``bayessa``, ...).

    Raises
    ------
    DataError
        The file is missing, not Parquet, or not a cells file of this format.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise DataError(
            Problem(f"cells file '{path}' does not exist", "check the path, or write it with "
                    "python -m bayessa.cells --data ... --model SPEC --out FILE"),
            source=str(path),
        )  # fmt: skip
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise DataError(
            Problem(f"not a Parquet file ({str(err).splitlines()[0]})",
                    "give a file written by python -m bayessa.cells"),
            source=str(path),
        ) from None  # fmt: skip
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    meta = json.loads(raw) if raw else {}
    if meta.get("format") != CELLS_FORMAT:
        raise DataError(
            Problem(
                "a Parquet file without bayessa's cells metadata"
                + (f" (format {meta.get('format')!r})" if meta else ""),
                "give a cells file written by python -m bayessa.cells, or pass the units as --data",
            ),
            source=str(path),
        )
    frame = table.to_pandas()
    s, u = meta["split"], meta["units"]
    keys = tuple(meta["keys"])
    cuts = check_cuts([float(x) for x in s["cuts"]])
    empty = frame.drop(columns=["events", "exposure", "n_pieces"]).iloc[:0]
    pieces = Pieces(
        frame=empty.assign(
            id=np.empty(0, object),
            start=np.empty(0),
            stop=np.empty(0),
            exposure=np.empty(0),
            event=np.empty(0, np.int8),
        ),  # fmt: skip
        cuts=cuts,
        periods=tuple(s["periods"]),
        period_labels=tuple(s["period_labels"]),
        period_name=s["period_name"],
        administrative_censoring=bool(s["administrative_censoring"]),
        covariates=tuple(s["covariates"]),
        cluster=s["cluster"],
        time_unit=s["time_unit"],
        unit_index=np.empty(0, dtype=np.int64),
        n_units=int(u["n_units"]),
        notes=tuple(s["notes"]),
        groups=tuple(s["groups"]),
    )
    numeric = {
        c: (np.asarray(v["values"], np.float64), np.asarray(v["counts"], np.int64))
        for c, v in u["numeric"].items()
    }
    levels = {
        c: (list(v["levels"]), np.asarray(v["counts"], np.int64)) for c, v in u["levels"].items()
    }
    units = UnitSummary(
        Audit.from_dict(u["audit"]), int(u["n_units"]), int(u["n_events"]), u["data_hash"],
        numeric, levels, float(u["max_exit"]) if u.get("max_exit") is not None else float("nan"),
    )  # fmt: skip
    for c in ("events", "n_pieces"):
        frame[c] = frame[c].astype(np.int64)
    cells = Cells(frame, keys, pieces, np.empty(0, dtype=np.int64), units=units)
    return cells, meta
