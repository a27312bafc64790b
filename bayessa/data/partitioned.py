r"""The data layer partition by partition on Dask: read -> validate -> split -> aggregate -> cells.

The model needs only the cells: events and exposure per (interval, period, covariates, cluster)
cell. Reading, validating and splitting need the units, and hold them all in memory
(about 0.9 GB per million units). :func:`partitioned_cells` maps those steps over the partitions
of a Parquet dataset (or of a Dask DataFrame) and reduces their cells, so that memory stays that
of a few partitions whatever the number of units; on a :class:`distributed.LocalCluster` by
default, or on a running Dask cluster.

The cells are **exactly** those of the in-memory path (:func:`bayessa.data.read.read_data`,
:func:`bayessa.data.lexis.split`, :func:`bayessa.data.cells.aggregate`): same rows, order, labels
and values. What makes them so:

* **The same functions** parse, check and split each partition
  (:mod:`bayessa.data.validation`, :mod:`bayessa.data.lexis`, :mod:`bayessa.data.cells`), in
  chunks of at most ``chunk_rows`` rows.
* **Whole-table facts first.** A column's coding belongs to the whole column: a first pass
  (*scan*) collects each categorical column's levels, the event column's coding (0/1, R's 1/2,
  yes/no), the distinct values of numeric covariates and the row counts, and every partition is
  then parsed with them (:class:`~bayessa.data.validation.TableFacts`). Cell keys are codes of
  the whole table's levels; levels that no kept unit has are dropped at the end, as in memory.
* **Duplicate ids without collecting the table.** Each partition's ids are hashed (64 bits) and
  sorted; the hashes are range-partitioned into buckets of a few million, each checked on its
  own (spilled to a temporary folder with a local cluster, so that memory stays flat), and
  equal hashes are verified on the ids themselves.
* **Exact sums.** Exposure is summed per cell in parts whose sums are exact
  (:func:`bayessa.data.cells.exposure_parts`), so the cells do not depend on how the data are
  partitioned.
* **One message.** Problems are merged over all partitions in row order: the same
  :class:`~bayessa.errors.DataError`, with the first ids and the count over the whole table, the
  same audit (counts summed, exclusions with their first ids and counts) and the same notes.

Not supported here (a clear :class:`~bayessa.errors.SpecError`): several rows per unit (the
counting-process form, change tables), competing risks and interval censoring, and cut points
chosen from the data (give them). A worker that dies is replaced and its partition retried by
Dask; if it keeps dying the run fails with a :class:`~bayessa.errors.ClusterError` and nothing
is returned.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayessa.data.cells import Cells, UnitSummary, _cell_sums, combine_parts
from bayessa.data.columns import TIME_UNITS, Audit, Columns, Exclusion, SurvivalData
from bayessa.data.lexis import (
    Pieces,
    _censoring_notes,
    _empty_intervals,
    check_cuts,
    interval_labels,
    split,
)
from bayessa.data.parsing import (
    _EXAMPLES,
    MAX_NUMERIC_LEVELS,
    Checker,
    _column_levels,
    _event_values,
    _is_number,
    _split_examples,
)
from bayessa.data.validation import (
    TableFacts,
    _check_columns,
    _check_counts,
    _check_rows,
    _no_event_notes,
    _parse,
    _unit_frame,
    single_valued,
)
from bayessa.errors import ClusterError, DataError, Problem, SpecError, format_ids

__all__ = [
    "CHUNK_ROWS",
    "DASK_MIN_ROWS",
    "ENGINES",
    "ParquetPart",
    "choose_engine",
    "dask_client",
    "dataset_parts",
    "partitioned_cells",
]

#: The data engines: ``"memory"`` (read the table into memory), ``"dask"`` (partition by
#: partition, :func:`partitioned_cells`), ``"auto"`` (Dask for Parquet data above
#: :data:`DASK_MIN_ROWS` rows).
ENGINES = ("auto", "memory", "dask")
#: With ``engine="auto"``, Parquet data of more rows than this are read partition by partition
#: (in memory they would take about 4.5 GB).
DASK_MIN_ROWS = 5_000_000
#: Rows validated, split and aggregated at a time within a partition (about 0.25 GB).
CHUNK_ROWS = 250_000
#: Ids kept per problem and exclusion (the audit lists 20, messages show 5).
KEEP_IDS = 20
#: Ids per bucket when looking for duplicates (8 bytes each).
BUCKET_IDS = 4_000_000
#: Seconds to wait for a running scheduler to answer.
CONNECT_TIMEOUT = 20

_PARQUET = (".parquet", ".pq", ".parq")
_N_PARTS = 5  # exposure parts per cell (bayessa.data.cells.exposure_parts)


# ---------------------------------------------------------------------------- partitions


@dataclass(frozen=True)
class ParquetPart:
    """One partition of a Parquet dataset: a file, or some of its row groups.

    Parameters
    ----------
    path : str
        The file.
    rows : int
        Its rows (of those row groups).
    schema : pyarrow.Schema
        The dataset's schema, unified over its files (as reading them into one table would):
        every chunk is cast to it, so that each column has one type in every partition.
    row_groups : tuple of int, optional
        The row groups of this partition (default: all).
    """

    path: str
    rows: int
    schema: Any
    row_groups: tuple[int, ...] | None = None

    def chunks(self, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
        """The partition's ``columns`` as DataFrames of at most ``chunk_rows`` rows, in order.

        Parameters
        ----------
        columns : sequence of str
            Columns to read (a column a file lacks is all missing, as in a dataset read whole).
        chunk_rows : int
            Rows per chunk.

        Yields
        ------
        pandas.DataFrame
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        f = pq.ParquetFile(self.path)
        have = [c for c in columns if c in f.schema_arrow.names]
        target = pa.schema([self.schema.field(c) for c in columns])
        for batch in f.iter_batches(
            batch_size=chunk_rows, row_groups=self.row_groups, columns=have
        ):
            table = pa.Table.from_batches([batch])
            for c in columns:
                if c not in have:
                    table = table.append_column(c, pa.nulls(len(table), target.field(c).type))
            yield table.select(list(columns)).cast(target).to_pandas()


def _chunks(part, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """A partition (a :class:`ParquetPart`, or a pandas DataFrame) in chunks of ``columns``."""
    if isinstance(part, pd.DataFrame):
        for i in range(0, max(len(part), 1), chunk_rows):
            yield part.iloc[i : i + chunk_rows][list(columns)]
        return
    yield from part.chunks(columns, chunk_rows)


def dataset_parts(source: str | Path) -> tuple[list[ParquetPart], list[str]] | None:
    """The partitions of a Parquet dataset (folder or glob) or file, or None for other sources.

    A dataset's files are partitions in name order; a single file's row groups are grouped into
    partitions of about a million rows.

    Parameters
    ----------
    source : str or Path
        A folder of ``.parquet`` files, a glob of them, or one Parquet file.

    Returns
    -------
    (list of ParquetPart, list of str) or None
        The partitions and notes for the audit (``"read N Parquet files as one table"`` for a
        dataset, as :func:`bayessa.data.read.read_table` says); None when ``source`` is not
        Parquet.

    Raises
    ------
    DataError
        The files do not share one set of column types, or cannot be read.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bayessa.data.read import _dataset_files

    text = str(source)
    files = _dataset_files(source)
    notes: list[str] = []
    if files is None:
        if Path(text).suffix.lower() not in _PARQUET or not Path(text).is_file():
            return None
        files = [Path(text)]
    else:
        notes.append(f"read {len(files)} Parquet files as one table")
    try:
        metas = [pq.ParquetFile(f).metadata for f in files]
        schema = pa.unify_schemas(
            [m.schema.to_arrow_schema() for m in metas], promote_options="permissive"
        )
    except (OSError, pa.ArrowInvalid, pa.ArrowTypeError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            Problem(
                f"the {len(files)} Parquet files could not be read as one table: {msg}",
                "every file of a dataset must hold the same columns with the same types",
            ),
            source=text,
        ) from None
    parts = []
    for f, m in zip(files, metas, strict=True):
        if len(files) > 1 or m.num_row_groups == 1:
            parts.append(ParquetPart(str(f), m.num_rows, schema))
            continue
        group, rows = [], 0
        for g in range(m.num_row_groups):  # a large single file: ~1M rows per partition
            group.append(g)
            rows += m.row_group(g).num_rows
            if rows >= 1_000_000 or g == m.num_row_groups - 1:
                parts.append(ParquetPart(str(f), rows, schema, tuple(group)))
                group, rows = [], 0
    return parts, notes


def choose_engine(engine: str, source, columns: Columns, cuts: Sequence[float]) -> str:
    """The engine that reads ``source``: ``"memory"`` or ``"dask"``.

    ``"auto"`` chooses Dask for a Dask DataFrame, and for Parquet data of more than
    :data:`DASK_MIN_ROWS` rows (counted from the files' metadata) when the engine reads their
    form (not several rows per unit, competing risks or interval censoring) and cut points are
    given; the in-memory path otherwise.

    Parameters
    ----------
    engine : {"auto", "memory", "dask"}
    source : path, DataFrame or dask.dataframe.DataFrame
    columns : Columns
    cuts : sequence of float
        The spec's cut points (empty: chosen from the data, which needs the units in memory).

    Returns
    -------
    str

    Raises
    ------
    SpecError
        An unknown engine.
    """
    if engine not in ENGINES:
        raise SpecError(f"engine must be one of {list(ENGINES)}, not '{engine}'")
    if engine != "auto":
        return engine
    if hasattr(source, "to_delayed") and hasattr(source, "npartitions"):
        return "dask"
    if not isinstance(source, str | Path):
        return "memory"
    try:
        got = dataset_parts(source)
        _unsupported(columns, cuts)
    except (DataError, SpecError):
        return "memory"  # the in-memory path says what is wrong, or reads what Dask does not
    if got is None or sum(p.rows for p in got[0]) <= DASK_MIN_ROWS:
        return "memory"
    return "dask"


# ---------------------------------------------------------------------------- the cluster


@contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator[tuple[Any, bool]]:
    """A Dask client: on a new local cluster, or connected to a running scheduler.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); default: a
        ``LocalCluster`` of ``workers`` single-threaded worker processes, closed at the end.
    workers : int, default 2
        Worker processes of the local cluster.

    Yields
    ------
    (distributed.Client, bool)
        The client, and whether its cluster is local (started here: workers share this
        machine's disk).

    Raises
    ------
    SpecError
        Dask is not installed, or the cluster cannot be started or reached.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SpecError(
            "the Dask engine needs dask.distributed: pip install 'bayessa[dask]' (or read the "
            "data in memory: --engine memory)"
        ) from None
    cluster = None
    try:  # connect first: a wrong address fails before any work is done
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: never clash with another cluster
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError, TypeError, RuntimeError) as err:
        if cluster is not None:
            cluster.close()
        where = f"the Dask scheduler '{scheduler}'" if scheduler else "a local Dask cluster"
        raise SpecError(
            f"cannot start or reach {where}: {err}; check --scheduler (e.g. tcp://host:8786)"
        ) from None
    try:
        yield client, cluster is not None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _gather(client, futures: list, what: str) -> list:
    """The futures' results in order; a cluster failure becomes a :class:`ClusterError`."""
    from bayessa.errors import BayessaError

    try:
        return client.gather(futures)
    except BayessaError:
        raise
    except Exception as err:  # noqa: BLE001 - KilledWorker, lost connections, cancelled futures
        kind = type(err).__name__
        raise ClusterError(
            f"the Dask cluster failed while {what} ({kind}: {err}). A worker that dies is "
            "replaced and its partition retried; this one kept failing (out of memory? give "
            "the workers more memory, or use fewer of them). Nothing was written."
        ) from None


# ---------------------------------------------------------------------------- pass 1: scan


def _roles(raw: pd.DataFrame, columns: Columns) -> dict[str, str]:
    """How each covariate and grouping column is parsed: ``"levels"`` (categories) or ``"numeric"``."""
    out = {}
    for c in columns.covariates:
        categorical = c in columns.categorical or not _is_number(raw[c])
        out[c] = "levels" if categorical else "numeric"
    for g in columns.grouping:
        out[g] = "levels"
    return out


def _level_kind(raw: pd.Series) -> str:
    """How a partition's levels merge: category order, sorted text, or sorted numbers."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        return "categories"
    return "numbers" if _is_number(raw) else "text"


def _merge_levels(kind: str, a: list[str], b: list[str]) -> list[str]:
    """The levels of two partitions together, as :func:`_column_levels` orders a whole column."""
    if kind == "categories":
        return list(dict.fromkeys([*a, *b]))
    return sorted(set(a) | set(b), key=float if kind == "numbers" else None)


def _merge_distinct(a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
    """Distinct values of both, up to ``MAX_NUMERIC_LEVELS + 1`` (more say only 'many')."""
    both = b if a is None else np.concatenate([a, b])
    return pd.unique(both)[: MAX_NUMERIC_LEVELS + 1]


def _hash_ids(ids: pd.Series) -> np.ndarray:
    """64-bit hashes of non-missing ids (pandas' stable hash of the values)."""
    ids = ids[ids.notna()]
    return pd.util.hash_pandas_object(ids, index=False).to_numpy(np.uint64)


def _scan(part, columns: Columns, chunk_rows: int, spill: str | None, index: int) -> dict:
    """Pass 1 on one partition: rows, levels, event coding, numeric values, sorted id hashes."""
    used = [c for c in (columns.id, columns.event) if c] + [
        *columns.covariates,
        *columns.grouping,
    ]
    out: dict[str, Any] = {"rows": 0, "levels": {}, "kinds": {}, "distinct": {}, "used": set()}
    hashes = []
    for raw in _chunks(part, list(dict.fromkeys(used)), chunk_rows):
        out["rows"] += len(raw)
        if columns.id is not None:
            hashes.append(_hash_ids(raw[columns.id]))
        if columns.event is not None:
            out["used"] |= _event_values(raw[columns.event])
        for c, role in _roles(raw, columns).items():
            if role == "levels":
                kind = out["kinds"].setdefault(c, _level_kind(raw[c]))
                out["levels"][c] = _merge_levels(
                    kind, out["levels"].get(c, []), _column_levels(raw[c])
                )
            else:
                v = raw[c].to_numpy(dtype=np.float64)
                out["distinct"][c] = _merge_distinct(out["distinct"].get(c), v[np.isfinite(v)])
    h = np.sort(np.concatenate(hashes)) if hashes else np.empty(0, np.uint64)
    if spill is not None:
        path = Path(spill) / f"ids-{index:06d}.npy"
        np.save(path, h)
        out["hashes"] = str(path)
    else:
        out["hashes"] = h
    return out


def _merge_scans(scans: list[dict], columns: Columns) -> TableFacts:
    """The whole table's facts from the partitions' scans (duplicates found separately)."""
    levels: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    distinct: dict[str, np.ndarray] = {}
    used: set = set()
    for s in scans:
        used |= s["used"]
        for c, lv in s["levels"].items():
            kind = kinds.setdefault(c, s["kinds"][c])
            levels[c] = _merge_levels(kind, levels.get(c, []), lv)
        for c, v in s["distinct"].items():
            distinct[c] = _merge_distinct(distinct.get(c), v)
    return TableFacts(
        levels=levels,
        event_used=frozenset(used) if columns.event is not None else None,
        distinct=distinct,
    )


def _range_slice(hashes, lo: int, hi: int | None) -> np.ndarray:
    """The sorted hashes in ``[lo, hi)`` (``hi`` None: to the end), from an array or a file."""
    h = np.load(hashes, mmap_mode="r") if isinstance(hashes, str) else hashes
    i = int(np.searchsorted(h, np.uint64(lo)))
    j = len(h) if hi is None else int(np.searchsorted(h, np.uint64(hi)))
    return np.array(h[i:j])


def _bucket_duplicates(slices: list, lo: int, hi: int | None) -> np.ndarray:
    """Hashes that occur more than once in one bucket (slices: arrays or spilled files)."""
    got = [s if isinstance(s, np.ndarray) else _range_slice(s, lo, hi) for s in slices]
    a = np.sort(np.concatenate(got)) if got else np.empty(0, np.uint64)
    return np.unique(a[1:][a[1:] == a[:-1]])


def _candidate_ids(part, columns: Columns, chunk_rows: int, candidates: np.ndarray) -> list:
    """The ids of a partition whose hash is among ``candidates`` (possible duplicates)."""
    out: list = []
    for raw in _chunks(part, [columns.id], chunk_rows):
        ids = raw[columns.id]
        ids = ids[ids.notna()]
        hit = np.isin(pd.util.hash_pandas_object(ids, index=False).to_numpy(), candidates)
        out += ids[hit].tolist()
    return out


def _duplicated_ids(client, parts, scans, scan_futures, columns, chunk_rows, spill) -> frozenset:
    """The ids on more than one row of the whole table: hashes by bucket, then verified."""
    if columns.id is None:
        return frozenset()
    n = sum(s["rows"] for s in scans)
    buckets = max(1, -(-n // BUCKET_IDS))
    edges = [int(i * (2**64) // buckets) for i in range(buckets)] + [None]
    futures = []
    for b in range(buckets):
        lo, hi = edges[b], edges[b + 1]
        if spill is not None:  # the bucket task reads its range of every spilled file
            slices = [s["hashes"] for s in scans]
        else:  # a cluster elsewhere: slice each partition's hashes where they are
            slices = [client.submit(_scan_slice, f, lo, hi, pure=False) for f in scan_futures]
        futures.append(client.submit(_bucket_duplicates, slices, lo, hi, pure=False))
    found = _gather(client, futures, "looking for duplicated ids")
    candidates = np.concatenate(found) if found else np.empty(0, np.uint64)
    if candidates.size == 0:
        return frozenset()
    ids = _gather(
        client,
        [client.submit(_candidate_ids, p, columns, chunk_rows, candidates, pure=False)
         for p in parts],
        "checking duplicated ids",
    )  # fmt: skip
    counts = pd.Series([i for part in ids for i in part], dtype=object).value_counts()
    return frozenset(counts.index[counts.to_numpy() > 1])


def _scan_slice(scan: dict, lo: int, hi: int | None) -> np.ndarray:
    return _range_slice(scan["hashes"], lo, hi)


# ---------------------------------------------------------------------------- pass 2: cells


@dataclass
class _Found:
    """What partitions found (merged in row order): counts, problems, notes, cell sums."""

    rows_read: int = 0
    rows_kept: int = 0
    n_events: int = 0
    problems: dict = field(default_factory=dict)  # key -> [examples, ids, count]
    table: dict = field(default_factory=dict)
    fatal: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)  # text -> None or [count, ids]
    kept: dict = field(default_factory=dict)  # column -> units per level
    events: dict = field(default_factory=dict)  # column -> events per level
    numeric: dict = field(default_factory=dict)  # column -> [(values, counts), ...]
    max_exit: float = float("-inf")
    beyond: int = 0
    beyond_events: int = 0
    late: int = 0
    beyond_ids: list = field(default_factory=list)
    cells: list = field(default_factory=list)
    hashes: list = field(default_factory=list)
    period_labels: tuple | None = None
    order: _Order = field(default_factory=lambda: _Order())  # of the checks
    note_order: _Order = field(default_factory=lambda: _Order())

    def merge(self, other: _Found) -> _Found:
        """Add what ``other`` (later rows) found."""
        self.order.merge(other.order)
        self.note_order.merge(other.note_order)
        self.rows_read += other.rows_read
        self.rows_kept += other.rows_kept
        self.n_events += other.n_events
        for name in ("problems", "table", "fatal"):
            mine = getattr(self, name)
            for key, (ex, ids, n) in getattr(other, name).items():
                _add_problem(mine, key, ex, ids, n)
        for text, value in other.notes.items():
            _add_note(self.notes, text, value)
        for name in ("kept", "events"):
            mine = getattr(self, name)
            for c, v in getattr(other, name).items():
                mine[c] = mine[c] + v if c in mine else v
        for c, v in other.numeric.items():
            self.numeric.setdefault(c, []).extend(v)
        self.max_exit = max(self.max_exit, other.max_exit)
        self.beyond += other.beyond
        self.beyond_events += other.beyond_events
        self.late += other.late
        self.beyond_ids = (self.beyond_ids + other.beyond_ids)[:KEEP_IDS]
        self.cells += other.cells
        self.hashes += other.hashes
        self.period_labels = self.period_labels or other.period_labels
        return self


class _Order:
    """The order of things every partition lists in the same order, each only some of them.

    The checks of a table are made in one order (the order of its problems in a message); a
    partition finds some of them. Each partition's sequence adds "a before b" for consecutive
    items; the whole order is their topological order, ties broken by first appearance.
    """

    def __init__(self) -> None:
        self.first: dict = {}
        self.after: dict = {}

    def add(self, seq: Sequence) -> None:
        seq = list(dict.fromkeys(seq))
        for k in seq:
            self.first.setdefault(k, len(self.first))
        for a, b in zip(seq, seq[1:], strict=False):
            self.after.setdefault(a, set()).add(b)

    def merge(self, other: _Order) -> None:
        for k in other.first:
            self.first.setdefault(k, len(self.first))
        for a, bs in other.after.items():
            self.after.setdefault(a, set()).update(bs)

    def sort(self, keys) -> list:
        """``keys`` in the order: Kahn's algorithm over the known items, first seen first."""
        import heapq

        before = {k: 0 for k in self.first}
        for bs in self.after.values():
            for b in bs:
                before[b] += 1
        heap = [(i, k) for k, i in self.first.items() if before[k] == 0]
        heapq.heapify(heap)
        rank: dict = {}
        while heap:
            _, k = heapq.heappop(heap)
            rank[k] = len(rank)
            for b in self.after.get(k, ()):
                before[b] -= 1
                if before[b] == 0:
                    heapq.heappush(heap, (self.first[b], b))
        return sorted(keys, key=lambda k: rank.get(k, len(rank) + self.first.get(k, 0)))


def _add_problem(into: dict, key: tuple, examples: list, ids: list, n: int) -> None:
    if key in into:
        ex0, ids0, n0 = into[key]
        into[key] = [list(dict.fromkeys([*ex0, *examples]))[:3], (ids0 + ids)[:KEEP_IDS], n0 + n]
    else:
        into[key] = [list(examples)[:3], list(ids)[:KEEP_IDS], n]


def _add_note(into: dict, text: str, value) -> None:
    if value is None or text not in into:
        into.setdefault(text, value if value is None else [value[0], list(value[1])])
        return
    into[text] = [into[text][0] + value[0], (into[text][1] + value[1])[:KEEP_IDS]]


def _problem_key(p: Problem) -> tuple:
    base, tail = _split_examples(p.what)
    return (base, tail, p.fix, p.column)


def _record(into: dict, p: Problem, raw: pd.DataFrame, mask: np.ndarray | None) -> None:
    """Add one problem of a chunk: its examples (recomputed from the rows), first ids, count."""
    key = _problem_key(p)
    examples: list = []
    if key[1] is not None:  # the text quotes offending values
        col = raw[p.column] if p.column in raw else None
        if col is not None and mask is not None:
            examples = [str(v) for v in pd.unique(col[mask])[:3]]
        elif col is not None:
            examples = [str(v) for v in pd.unique(col[col.notna()])[:3]]
    _add_problem(into, key, examples, list(p.ids[:KEEP_IDS]), p.n_ids)


def _problems(found: dict, order: _Order | None = None) -> list[Problem]:
    """Merged problems in the checks' order, their examples quoted as the parsers quote them."""
    out = []
    keys = list(found) if order is None else order.sort(found)
    for base, tail, fix, column in keys:
        examples, ids, n = found[(base, tail, fix, column)]
        what = base
        if tail is not None:
            what = f"{base}{_EXAMPLES}{', '.join(repr(e) for e in examples)}){tail}"
        out.append(Problem(what, fix, column, tuple(ids), count=n))
    return out


@dataclass(frozen=True)
class _SplitArgs:
    cuts: tuple[float, ...]
    periods: tuple | None
    period_labels: tuple | None
    period_name: str
    administrative_censoring: bool


def _cells_part(
    part,
    offset: int,
    columns: Columns,
    facts: TableFacts,
    args: _SplitArgs,
    time_unit: str,
    on_invalid: str,
    source: str,
    chunk_rows: int,
    index: int,
    on_partition: Callable[[int], None] | None,
) -> _Found:
    """Pass 2 on one partition: validate, split and sum its cells, chunk by chunk."""
    if on_partition is not None:
        on_partition(index)
    found = _Found()
    for raw in _chunks(part, columns.used(), chunk_rows):
        found.merge(_cells_chunk(raw, offset, columns, facts, args, time_unit, on_invalid, source))
        offset += len(raw)
    return found


def _cells_chunk(raw, offset, columns, facts, args, time_unit, on_invalid, source) -> _Found:
    """Validate, split and sum one chunk (the in-memory path's functions, with ``facts``)."""
    found = _Found(rows_read=len(raw))
    chk = Checker(raw, columns.id, row_offset=offset)
    try:
        fu, cats = _parse(raw, columns, chk, TIME_UNITS[time_unit], source, facts)
    except DataError as err:  # table problems of the follow-up: the same in every partition
        for p in err.problems:
            _record(found.fatal, p, raw, None)
        return found
    finally:
        found.order.add([_problem_key(Problem(*c)) for c in chk.checked])
    bad = np.zeros(len(raw), dtype=bool)
    for p, mask in chk.row_problems:
        bad |= mask
        _record(found.problems, p, raw, mask)
    for p in chk.table_problems:
        _record(found.table, p, raw, None)
    keep = ~bad
    found.rows_kept = int(keep.sum())
    if on_invalid == "raise" and chk.row_problems:
        return found  # the run fails: no need to split
    found.note_order.add([text for mask, text in chk.notes])
    for mask, text in chk.notes:
        if mask is None:
            _add_note(found.notes, text, None)
        elif (mask & keep).any():
            ids = chk.labels(mask & keep)
            _add_note(found.notes, text, [len(ids), list(ids[:KEEP_IDS])])
    rows = np.flatnonzero(keep)
    frame = _unit_frame(raw, columns, fu, cats, rows, offset)
    event = frame["event"].to_numpy()
    found.n_events = int(event.sum())
    for c, values in cats.items():
        if isinstance(values, np.ndarray):
            v, n = np.unique(frame[c].to_numpy(np.float64), return_counts=True)
            found.numeric[c] = [(v, n.astype(np.int64))]
        else:
            codes, k = frame[c].cat.codes.to_numpy(), len(values.categories)
            found.kept[c] = np.bincount(codes, minlength=k)
            found.events[c] = np.bincount(codes, weights=event, minlength=k)
    if len(frame):
        h = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        found.hashes.append(hashlib.sha256(h.tobytes()).digest())
    last = float(args.cuts[-1])
    exit_ = frame["exit"].to_numpy(np.float64)
    found.max_exit = float(exit_.max()) if exit_.size else found.max_exit
    beyond = exit_ > last
    found.beyond = int(beyond.sum())
    found.beyond_events = int((event[beyond] == 1).sum())
    found.late = int((frame["entry"].to_numpy(np.float64) >= last).sum())
    if found.beyond and not args.administrative_censoring:
        found.beyond_ids = list(frame["id"].to_numpy()[beyond][:KEEP_IDS])
        return found  # the run fails: follow-up beyond the last cut point
    if not len(frame):
        return found
    # the pieces need no ids here (follow-up beyond the last cut point was caught above):
    # row numbers spare copying each id to every piece
    lean = frame.assign(id=np.arange(len(frame), dtype=np.int64))
    data = SurvivalData(lean, columns, time_unit, Audit(source, len(frame), len(frame)))
    pieces = split(
        data,
        args.cuts,
        periods=list(args.periods) if args.periods else None,
        period_labels=list(args.period_labels) if args.period_labels else None,
        period_name=args.period_name,
        administrative_censoring=args.administrative_censoring,
    )
    found.period_labels = pieces.period_labels
    keys = _keys(columns, args.period_name)
    out, ev, parts, count, _ = _cell_sums(pieces.frame, keys, len(pieces.frame))
    cells = {k: (v.codes.astype(np.int64) if isinstance(v, pd.Categorical) else v)
             for k, v in out.items()}  # fmt: skip
    cells |= {"events": np.rint(ev).astype(np.int64), "n_pieces": count.astype(np.int64)}
    cells |= {f"_part{j}": parts[:, j] for j in range(parts.shape[1])}
    found.cells.append(pd.DataFrame(cells))
    return found


def _keys(columns: Columns, period_name: str) -> tuple[str, ...]:
    """The cells' key columns, as :func:`bayessa.data.cells.aggregate` orders them."""
    return ("interval", period_name, *columns.covariates, *columns.grouping)


# ---------------------------------------------------------------------------- the reduce


def _unsupported(columns: Columns, cuts) -> None:
    """Refuse what the partitioned engine does not do, saying what to do instead."""
    problems = []
    if columns.form == "counting":
        problems.append(
            "several rows per unit (tstart/tstop, or a change table) are not read partition "
            "by partition: a unit's rows must be together; use --engine memory"
        )
    if columns.form == "interval":
        problems.append(
            "interval-censored event times (time_lower/time_upper) are not read partition by "
            "partition; use --engine memory"
        )
    if columns.censored is not None:
        problems.append(
            "competing risks (censored=...) are not read partition by partition; use "
            "--engine memory, or fit one cause at a time with a 0/1 event column"
        )
    if not cuts:
        problems.append(
            "cut points chosen from the data need every event time; give the cut points "
            "(--cuts or [time] cuts) to read the data partition by partition"
        )
    if problems:
        raise SpecError(problems)


def partitioned_cells(
    source: str | Path | Any,
    columns: Columns | Mapping[str, object],
    *,
    cuts: Sequence[float],
    time_unit: str = "years",
    on_invalid: str = "raise",
    periods: Sequence[object] | None = None,
    period_labels: Sequence[str] | None = None,
    period_name: str = "period",
    administrative_censoring: bool = False,
    scheduler: str | None = None,
    workers: int = 2,
    chunk_rows: int = CHUNK_ROWS,
    on_partition: Callable[[int], None] | None = None,
    timings: dict | None = None,
) -> Cells:
    """Read, validate, split and aggregate a table partition by partition on Dask.

    The result equals ``aggregate(split(read_data(source, columns, ...), cuts, ...))`` cell by
    cell, without the pieces and the units: ``Cells.pieces`` holds the split's contract (cut
    points, periods, names, notes) and no rows, and ``Cells.units`` the audit, counts, a data
    hash and each numeric covariate's values over the units (:class:`UnitSummary`).

    Parameters
    ----------
    source : path or dask.dataframe.DataFrame
        A Parquet dataset (a folder of ``.parquet`` files, or a glob of them), one Parquet
        file (partitions of its row groups), or a Dask DataFrame (its partitions).
    columns : Columns or mapping
        Column roles (:class:`~bayessa.data.columns.Columns`): durations, dates or event and
        censoring dates, delayed entry, calendar origin, covariates, cluster and grouping.
    cuts : sequence of float
        Age cut points (:func:`bayessa.data.lexis.split`); required here.
    time_unit, on_invalid
        As for :func:`bayessa.data.read.read_data`.
    periods, period_labels, period_name, administrative_censoring
        As for :func:`bayessa.data.lexis.split`.
    scheduler : str, optional
        Address of a running Dask scheduler; default: a local cluster of ``workers``
        processes.
    workers : int, default 2
        Worker processes of the local cluster.
    chunk_rows : int, default CHUNK_ROWS
        Rows validated, split and aggregated at a time in a worker.
    on_partition : callable, optional
        Called in the worker with a partition's index before its cells are computed (progress,
        or a fault injected by a test).
    timings : dict, optional
        Filled with the seconds of each step: ``cluster_s`` (starting or reaching it),
        ``scan_s``, ``duplicates_s``, ``cells_s`` (validate, split, aggregate),
        ``close_s`` (closing the cluster) and ``reduce_s``, and the number of ``partitions``.

    Returns
    -------
    Cells
        With ``units`` set and no pieces (``Cells.has_pieces`` is False).

    Raises
    ------
    DataError
        Every problem of the data, as the in-memory path reports it (first ids and counts over
        all partitions).
    SpecError
        Inconsistent roles, a form the engine does not read (several rows per unit, competing
        risks, interval censoring), no cut points, or no Dask.
    ClusterError
        A worker kept dying (Dask retries a partition whose worker died), or the scheduler was
        lost.
    """
    if not isinstance(columns, Columns):
        columns = Columns(**dict(columns))
    columns.check()
    if time_unit not in TIME_UNITS:
        raise SpecError(f"time_unit '{time_unit}' is not one of {sorted(TIME_UNITS)}")
    if on_invalid not in {"raise", "exclude"}:
        raise SpecError(f"on_invalid must be 'raise' or 'exclude', not '{on_invalid}'")
    _unsupported(columns, cuts)
    a = check_cuts(cuts)
    args = _SplitArgs(
        tuple(float(x) for x in a),
        tuple(periods) if periods else None,
        tuple(period_labels) if period_labels else None,
        period_name,
        administrative_censoring,
    )
    parts, notes, name, names = _partitions(source)
    _check_columns(pd.DataFrame(columns=names), columns, name)
    clock = _Clock(timings)
    with dask_client(scheduler, workers) as (client, local), _spill(local) as spill:
        clock("cluster_s")
        found, facts = _run(
            client, parts, columns, args, time_unit, on_invalid, name, chunk_rows, spill,
            on_partition, clock,
        )  # fmt: skip
    clock("close_s")
    cells = _finish(found, facts, columns, args, time_unit, on_invalid, name, notes)
    clock("reduce_s")
    if timings is not None:
        timings["partitions"] = len(parts)
    return cells


class _Clock:
    """Records the seconds since the last call under a name (nothing without a dict)."""

    def __init__(self, timings: dict | None):
        import time

        self.timings, self.now, self.t = timings, time.perf_counter, time.perf_counter()

    def __call__(self, name: str) -> None:
        t = self.now()
        if self.timings is not None:
            self.timings[name] = round(t - self.t, 3)
        self.t = t


def _partitions(source) -> tuple[list, list[str], str, list[str]]:
    """The partitions of ``source``, notes for the audit, its name and its columns."""
    if isinstance(source, str | Path):
        got = dataset_parts(source)
        if got is None:
            raise SpecError(
                f"the Dask engine reads Parquet (a file, a folder of .parquet files or a glob), "
                f"not '{source}'; convert it once (pandas: read it, then .to_parquet(...)), or "
                "read it in memory (--engine memory)"
            )
        parts, notes = got
        return parts, notes, str(source), list(parts[0].schema.names)
    if hasattr(source, "to_delayed") and hasattr(source, "npartitions"):
        return list(source.to_delayed()), [], "Dask DataFrame", [str(c) for c in source.columns]
    raise SpecError(
        f"the Dask engine reads a Parquet dataset or a Dask DataFrame, not {type(source).__name__}"
    )


@contextmanager
def _spill(local: bool) -> Iterator[str | None]:
    """A temporary folder for the id hashes when the workers share this machine's disk."""
    if not local:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="bayessa-ids-") as d:
        yield d


def _run(client, parts, columns, args, time_unit, on_invalid, name, chunk_rows, spill, hook, clock):
    """The passes on the cluster: scan, duplicates, cells; returns what they found."""
    from dask import delayed

    scan = [
        client.compute(delayed(_scan, pure=False)(p, columns, chunk_rows, spill, i))
        for i, p in enumerate(parts)
    ]
    scans = _gather(client, scan, "scanning the partitions")
    clock("scan_s")
    n_rows = sum(s["rows"] for s in scans)
    _check_rows(n_rows, name)
    facts = _merge_scans(scans, columns)
    dup = _duplicated_ids(client, parts, scans, scan, columns, chunk_rows, spill)
    clock("duplicates_s")
    facts = TableFacts(facts.levels, facts.event_used, facts.distinct, dup)
    offsets = np.cumsum([0] + [s["rows"] for s in scans])[:-1]  # rows before each partition
    del scan, scans  # the hashes are no longer needed
    futures = [
        client.compute(
            delayed(_cells_part, pure=False)(
                p, int(offsets[i]), columns, facts, args, time_unit, on_invalid, name,
                chunk_rows, i, hook,
            )
        )
        for i, p in enumerate(parts)
    ]  # fmt: skip
    found = _Found()
    for f in _gather(client, futures, "computing the cells"):
        found.merge(f)
    clock("cells_s")
    return found, facts


def _finish(found, facts, columns, args, time_unit, on_invalid, name, notes) -> Cells:
    """Raise the problems found, or assemble the cells, their contract and the audit."""
    if found.fatal:
        raise DataError(_problems(found.fatal, found.order), source=name)
    row_problems = _problems(found.problems, found.order)
    if row_problems and on_invalid == "raise":
        raise DataError(row_problems + _problems(found.table, found.order), source=name)
    levels = {c: lv for c, lv in facts.levels.items() if c in found.kept or c in columns.grouping}
    kept = {
        c: [lv for lv, n in zip(levels[c], found.kept.get(c, []), strict=False) if n > 0]
        for c in levels
    }
    numeric = _numeric_counts(found.numeric)
    chk = Checker(pd.DataFrame(), None)
    chk.table_problems = _problems(found.table, found.order)
    _check_counts(found.rows_kept, found.n_events, columns, chk)
    for c in columns.covariates:
        if c in numeric:
            one = pd.DataFrame({c: numeric[c][0]})
        else:
            one = pd.DataFrame({c: pd.Categorical(kept.get(c, []), categories=kept.get(c, []))})
        if found.rows_kept:
            chk.table_problems += single_valued(one, (c,))
    if chk.table_problems:
        raise DataError(chk.table_problems, source=name)
    a = np.asarray(args.cuts)
    if found.beyond and not args.administrative_censoring:
        raise DataError(
            Problem(
                f"follow-up beyond the last cut point {a[-1]:g} {time_unit}",
                "extend the cut points (a last cut point of inf makes an open last interval) "
                "or censor at the last cut point explicitly (administrative_censoring=True / --admin-censor)",
                column="exit",
                ids=tuple(found.beyond_ids),
                count=found.beyond,
            )
        )
    frame = _cell_frame(found, columns, args, levels, kept, numeric, a)
    split_notes = _censoring_notes(a[-1], time_unit, found.beyond, found.beyond_events, found.late)
    split_notes += _empty_intervals(
        a, frame["interval"].cat.codes.to_numpy(), frame["exposure"].to_numpy()
    )
    audit = _audit(found, columns, levels, kept, name, notes)
    h = hashlib.sha256(b"".join(found.hashes)).hexdigest()
    counts = {c: (kept[c], np.asarray(found.kept[c])[np.asarray(found.kept[c]) > 0])
              for c in kept if c in found.kept}  # fmt: skip
    units = UnitSummary(audit, found.rows_kept, found.n_events, h, numeric, counts,
                        found.max_exit if found.rows_kept else float("nan"))  # fmt: skip
    pieces = Pieces(
        frame=_empty_pieces(frame, args.period_name),
        cuts=a,
        periods=tuple(args.periods or ()),
        period_labels=tuple(frame[args.period_name].cat.categories),
        period_name=args.period_name,
        administrative_censoring=args.administrative_censoring,
        covariates=columns.covariates,
        cluster=columns.cluster,
        time_unit=time_unit,
        unit_index=np.empty(0, dtype=np.int64),
        n_units=found.rows_kept,
        notes=tuple(split_notes),
        groups=columns.groups,
    )
    keys = _keys(columns, args.period_name)
    return Cells(frame, keys, pieces, np.empty(0, dtype=np.int64), units=units)


def _numeric_counts(found: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each numeric covariate's distinct values over the kept units and their counts."""
    out = {}
    for c, pairs in found.items():
        v = np.concatenate([p[0] for p in pairs])
        n = np.concatenate([p[1] for p in pairs])
        s = pd.Series(n).groupby(v).sum()
        out[c] = (s.index.to_numpy(np.float64), s.to_numpy(np.int64))
    return out


def _cell_frame(found, columns, args, levels, kept, numeric, a) -> pd.DataFrame:
    """The cells: partitions' sums per key, codes of the kept levels, as ``aggregate`` orders them."""
    keys = list(_keys(columns, args.period_name))
    parts = [f"_part{j}" for j in range(_N_PARTS)]
    if found.cells:
        both = pd.concat(found.cells, ignore_index=True)
    else:  # no follow-up within the cut points at all: no cells, as in memory
        both = pd.DataFrame({c: np.empty(0, np.int64) for c in keys + ["events", "n_pieces"]})
        both[parts] = np.empty((0, _N_PARTS))
    g = both.groupby(keys, sort=True)[["events", "n_pieces", *parts]].sum().reset_index()
    labels = list(found.period_labels or args.period_labels or ("all",))
    out: dict[str, Any] = {
        "interval": pd.Categorical.from_codes(g["interval"], categories=interval_labels(a)),
        args.period_name: pd.Categorical.from_codes(g[args.period_name], categories=labels),
    }
    for c in (*columns.covariates, *columns.grouping):
        if c in numeric:
            out[c] = g[c].to_numpy(np.float64)
            continue
        new = {lv: i for i, lv in enumerate(kept[c])}
        remap = np.array([new.get(lv, -1) for lv in levels[c]], dtype=np.int64)
        out[c] = pd.Categorical.from_codes(remap[g[c].to_numpy()], categories=kept[c])
    out["events"] = g["events"].to_numpy(np.int64)
    out["exposure"] = combine_parts(g[parts].to_numpy(np.float64))
    out["n_pieces"] = g["n_pieces"].to_numpy(np.int64)
    return pd.DataFrame(out)


def _empty_pieces(cells: pd.DataFrame, period_name: str) -> pd.DataFrame:
    """A pieces frame with the split's columns and no rows (the pieces are not kept)."""
    keys = cells.drop(columns=["events", "exposure", "n_pieces"]).iloc[:0]
    empty = np.empty(0)
    return pd.concat(
        [
            pd.DataFrame({"id": np.empty(0, dtype=object)}),
            keys[["interval", period_name]],
            pd.DataFrame({"start": empty, "stop": empty, "exposure": empty,
                          "event": np.empty(0, np.int8)}),
            keys.drop(columns=["interval", period_name]),
        ],
        axis=1,
    )  # fmt: skip


def _audit(found, columns, levels, kept, name, notes) -> Audit:
    """The audit as :func:`bayessa.data.validation.validate` writes it, summed over partitions."""
    exclusions = tuple(
        Exclusion(str(p.what) + (f" [{p.column}]" if p.column else ""), tuple(p.ids), p.n_ids)
        for p in _problems(found.problems, found.order)
    )
    audit = Audit(name, found.rows_read, found.rows_kept, exclusions)
    if columns.id is None:
        audit = audit.with_note(
            "no id column named: units are identified by row number (1 = first data row)"
        )
    for note in notes:
        audit = audit.with_note(note)
    for text in found.note_order.sort(found.notes):
        value = found.notes[text]
        if value is None:
            audit = audit.with_note(text)
        else:
            n, ids = value
            audit = audit.with_note(f"{n} unit(s) ({format_ids(ids, total=n)}): {text}")
    events = {}
    for c in kept:
        mask = np.asarray(found.kept.get(c, np.zeros(len(levels[c]))), dtype=np.int64) > 0
        ev = np.asarray(found.events.get(c, np.zeros(len(levels[c]))))
        events[c] = (kept[c], ev[mask] if ev.size else ev)
    for note in _no_event_notes(columns, events):
        audit = audit.with_note(note)
    return audit
