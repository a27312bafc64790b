r"""Aggregate pieces into cells: exact sufficient statistics of the piecewise-exponential likelihood.

With a hazard that is constant within a cell :math:`c` (age interval x calendar period x covariate
pattern x cluster), :math:`\lambda_c`, the log-likelihood of the pieces :math:`j \in c` is

.. math::

    \ell = \sum_c \sum_{j \in c} \left( d_j \log \lambda_c - \lambda_c t_j \right)
          = \sum_c \left( D_c \log \lambda_c - \lambda_c T_c \right),
    \qquad D_c = \sum_{j\in c} d_j,\; T_c = \sum_{j \in c} t_j,

so the events :math:`D_c` and exposure :math:`T_c` per cell are sufficient and the Poisson
likelihood of the cells, :math:`D_c \sim \mathrm{Poisson}(\lambda_c T_c)`, differs from that of the
pieces only by a constant. Aggregation therefore changes nothing in the posterior while cutting the
work per gradient from the number of pieces to the number of cells.

**Exposure sums do not depend on the order of the pieces.** Floating-point addition is not
associative: summed piece by piece, a cell's exposure would depend on the order of its pieces,
and the cells of a table read partition by partition (:mod:`bayessa.data.partitioned`) would
differ from those of the same table in memory in the last bits. Each exposure is therefore split
exactly into parts on fixed binary grids (Rump, Ogita and Oishi's *ExtractScalar*: with
:math:`\sigma = 2^k`, :math:`q = \mathrm{fl}(\mathrm{fl}(\sigma + x) - \sigma)` is a multiple of
:math:`2^{k-53}` and :math:`x - q` is exact), whose sums per cell are exact in float64 whatever
their order (:func:`exposure_parts`); the parts' sums are added once, largest first
(:func:`combine_parts`). This holds for pieces of at most :math:`2^{30}` time units and cells of
at most :math:`2^{31}` pieces; bits below :math:`2^{-75}` of a time unit are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayessa.data.columns import Audit, SurvivalData
from bayessa.data.lexis import Pieces

__all__ = ["Cells", "UnitSummary", "aggregate", "combine_parts", "exposure_parts"]

# Above this many possible cells the mixed-radix key is sparse; use np.unique instead of bincount.
_DENSE_LIMIT = 20_000_000

#: Longest piece whose exposure is summed exactly (time units), and the grids of the parts:
#: :math:`\sigma_j = 2^{k_j}`, each 21 bits below the last (cells of up to 2**31 pieces).
MAX_EXPOSURE = 2.0**30
_SIGMAS = tuple(2.0**k for k in (62, 41, 20, -1, -22))


def exposure_parts(index: np.ndarray, exposure: np.ndarray, n: int) -> np.ndarray:
    """Exposure summed per cell in parts whose sums are exact, whatever the order of the pieces.

    Parameters
    ----------
    index : ndarray of int
        The cell of each piece (0 to ``n - 1``).
    exposure : ndarray of float64
        Each piece's exposure, in ``[0, MAX_EXPOSURE]``.
    n : int
        Number of cells.

    Returns
    -------
    ndarray of float64, shape (n, 5)
        Part ``j`` of every cell: the sum of its pieces' parts on grid ``j``. Parts of the same
        cell from different partitions of the data add exactly; :func:`combine_parts` gives the
        exposure.

    Raises
    ------
    DataError
        A piece longer than :data:`MAX_EXPOSURE` (follow-up in the wrong time unit).
    """
    r = np.asarray(exposure, dtype=np.float64)
    if r.size and not r.max() <= MAX_EXPOSURE:
        from bayessa.errors import DataError, Problem

        raise DataError(
            Problem(
                f"follow-up of more than {MAX_EXPOSURE:.0f} time units within one age interval",
                "check the time unit of the durations (time_unit / --time-unit) and the cut points",
            )
        )
    parts = np.empty((n, len(_SIGMAS)))
    r, q = r.copy(), np.empty_like(r)
    for j, sigma in enumerate(_SIGMAS):
        np.add(r, sigma, out=q)
        np.subtract(q, sigma, out=q)  # a multiple of sigma * 2**-53; r - q is exact
        np.subtract(r, q, out=r)
        parts[:, j] = np.bincount(index, weights=q, minlength=n)
    return parts


def combine_parts(parts: np.ndarray) -> np.ndarray:
    """Exposure per cell from its exact parts (:func:`exposure_parts`), added largest first.

    Parameters
    ----------
    parts : ndarray of float64, shape (n, 5)

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    out = parts[:, 0].copy()
    for j in range(1, parts.shape[1]):
        out += parts[:, j]
    return out


@dataclass(frozen=True)
class UnitSummary:
    """What cells keep of the units they were summed from, when the units are not at hand.

    Cells reduced partition by partition (:mod:`bayessa.data.partitioned`) or read from a
    cells file (:mod:`bayessa.data.cell_file`) come without their units; this is what the
    steps after them need of the units: the audit, counts, a hash of the data, and each numeric
    covariate's distribution over the units (its centre, scale and reference value are taken
    over the units, :func:`bayessa.model.design.build_design`).

    Parameters
    ----------
    audit : Audit
        Rows read, kept and excluded, and notes.
    n_units : int
        Units kept.
    n_events : int
        Their events.
    data_hash : str
        SHA-256 identifying the validated data.
    numeric : mapping of str to (ndarray, ndarray), optional
        Numeric covariate -> its distinct values over the units (sorted) and the number of
        units with each.
    levels : mapping of str to (list of str, ndarray), optional
        Categorical covariate or grouping column -> its levels and the number of units with
        each (the crude rates of the report: units, events and follow-up per level).
    max_exit : float, default nan
        The latest end of follow-up (the end of the curves when the last interval is open).
    """

    audit: Audit
    n_units: int
    n_events: int
    data_hash: str
    numeric: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    levels: Mapping[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)
    max_exit: float = float("nan")

    @classmethod
    def of(cls, data: SurvivalData) -> UnitSummary:
        """The summary of validated units (one row each; not the counting-process form).

        Parameters
        ----------
        data : SurvivalData

        Returns
        -------
        UnitSummary
        """
        u = data.units
        numeric, levels = {}, {}
        for c in (*data.covariates, *data.grouping):
            if isinstance(u[c].dtype, pd.CategoricalDtype):
                cats = u[c].cat.categories
                levels[c] = (list(cats), np.bincount(u[c].cat.codes, minlength=len(cats)))
            else:
                values, counts = np.unique(u[c].to_numpy(np.float64), return_counts=True)
                numeric[c] = (values, counts.astype(np.int64))
        exit_ = u["exit"].to_numpy(np.float64)
        return cls(
            data.audit, data.n_units, data.n_events, data.data_hash, numeric, levels,
            float(exit_.max()) if exit_.size else float("nan"),
        )  # fmt: skip

    def unit_values(self) -> pd.DataFrame:
        """Each numeric covariate over the units, one row per unit (sorted by value).

        Returns
        -------
        pandas.DataFrame
            One column per numeric covariate (no column without them, and then no rows).
        """
        return pd.DataFrame({c: np.repeat(v, n) for c, (v, n) in self.numeric.items()})


@dataclass(frozen=True)
class Cells:
    """Cells with summed events and exposure.

    ``frame`` columns: ``interval``, the period column, each covariate, the cluster (Categoricals;
    a numeric covariate holds its value, float64),
    ``events`` (int64), ``exposure`` (float64) and ``n_pieces``. ``piece_cell[j]`` is the row of
    piece ``j``'s cell, so per-unit quantities (e.g. the log-likelihood for LOO) can be recovered.

    Parameters
    ----------
    frame : DataFrame
        One row per cell, with the columns above.
    keys : tuple of str
        The key columns in order: ``interval``, the period column, the covariates, the cluster
        and further grouping columns.
    pieces : Pieces
        The pieces the cells were summed from.
    piece_cell : ndarray of int64, shape (n_pieces,)
        The row in ``frame`` of each piece's cell.
    cause_events : ndarray of int64, shape (n_cells, J), optional
        Competing risks: the events of each cause per cell (``events`` is their sum).
    interval_cell : ndarray of int64, shape (n_interval_pieces,), optional
        Interval censoring: the row in ``frame`` of each piece of
        ``pieces.interval_frame`` (the :math:`(L, R]` of interval-censored units). A cell
        reached only by such pieces has ``events`` and ``exposure`` 0.
    units : UnitSummary, optional
        Set when the cells come without their pieces and units (reduced partition by
        partition, or read from a cells file): ``pieces`` then holds the split's contract
        (cut points, periods, names, notes) and no rows, and ``piece_cell`` is empty.
    """

    frame: pd.DataFrame
    keys: tuple[str, ...]
    pieces: Pieces
    piece_cell: np.ndarray
    cause_events: np.ndarray | None = None
    interval_cell: np.ndarray | None = None
    units: UnitSummary | None = None

    @property
    def has_pieces(self) -> bool:
        """Whether the pieces (and so the units) the cells were summed from are at hand."""
        return self.units is None

    @property
    def causes(self) -> tuple[str, ...]:
        """The causes of competing risks (empty without)."""
        return self.pieces.causes

    def for_cause(self, cause: str) -> Cells:
        """The cells with the events of one cause only (the others' events count as censored).

        Parameters
        ----------
        cause : str
            One of :attr:`causes`.

        Returns
        -------
        Cells
            Same cells, exposure and pieces; ``events`` of that cause; its pieces' ``event``
            marks only that cause's events.
        """
        from dataclasses import replace

        j = self.causes.index(cause)
        frame = self.frame.assign(events=self.cause_events[:, j])
        pf = self.pieces.frame
        pieces = replace(
            self.pieces,
            frame=pf.assign(event=(pf["cause"].to_numpy() == j + 1).astype(np.int8)),
            causes=(),
        )
        return Cells(frame=frame, keys=self.keys, pieces=pieces,
                     piece_cell=self.piece_cell)  # fmt: skip

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return len(self.frame)

    @property
    def events(self) -> np.ndarray:
        """Events per cell, ``(n_cells,)``."""
        return self.frame["events"].to_numpy()

    @property
    def effective_events(self) -> np.ndarray:
        """Events per cell, with each interval-censored event shared over its pieces' cells.

        An event known to lie in :math:`(L, R]` counts in each cell the interval crosses in
        proportion to the length there. For the data-driven choices that count events
        (parameterisations, centring, prior scales); the likelihood uses the exact terms.

        Returns
        -------
        (n_cells,) float64
        """
        ev = self.frame["events"].to_numpy(np.float64)
        if self.interval_cell is None or self.interval_cell.size == 0:
            return ev
        p = self.pieces
        length = p.interval_frame["exposure"].to_numpy(np.float64)
        total = np.bincount(p.interval_unit, weights=length)
        share = length / total[p.interval_unit]
        return ev + np.bincount(self.interval_cell, weights=share, minlength=len(ev))

    @property
    def exposure(self) -> np.ndarray:
        """Exposure (time at risk) per cell, ``(n_cells,)``."""
        return self.frame["exposure"].to_numpy()


def _key_codes(f: pd.DataFrame, keys) -> tuple[list[np.ndarray], list]:
    """Integer codes of each key column, and what they decode to.

    Categoricals decode through their dtype; a numeric covariate is factorized on its distinct
    values (sorted), so a cell holds exactly one value of it.
    """
    codes, values = [], []
    for k in keys:
        col = f[k]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes.append(col.cat.codes.to_numpy().astype(np.int64))
            values.append(col.dtype)
        else:
            code, uniques = pd.factorize(col.to_numpy(), sort=True)
            codes.append(code.astype(np.int64))
            values.append(np.asarray(uniques))
    return codes, values


def _cell_sums(f: pd.DataFrame, keys, n_ordinary: int):
    """Each cell's key values, events, exposure parts and pieces, and each piece's cell.

    The first ``n_ordinary`` rows of ``f`` are counted as pieces; the others (the pieces of an
    interval-censored unit's :math:`(L, R]`) only make their cells exist. Cells are ordered by
    their key codes (first key slowest).

    Returns
    -------
    out : dict
        Key column -> one value per cell (Categoricals keep the pieces' dtype).
    ev : ndarray of float64
        Events per cell.
    parts : ndarray, shape (n_cells, 5)
        Exposure parts (:func:`exposure_parts`).
    count : ndarray of float64
        Pieces per cell.
    piece_cell : ndarray of int64
        The cell of each row of ``f``.
    """
    codes, values = _key_codes(f, keys)
    sizes = [len(v.categories) if isinstance(v, pd.CategoricalDtype) else len(v) for v in values]
    key = np.zeros(len(f), dtype=np.int64)
    for code, size in zip(codes, sizes, strict=True):
        key *= size
        key += code
    total = int(np.prod(sizes, dtype=np.float64))
    event = f["event"].to_numpy()
    ordinary = (np.arange(len(f)) < n_ordinary).astype(np.int64)
    if total <= _DENSE_LIMIT:
        present = np.flatnonzero(np.bincount(key, minlength=total))
        lookup = np.full(total, -1, dtype=np.int64)
        lookup[present] = np.arange(present.size)
        piece_cell = lookup[key]
        cell_key = present
    else:
        cell_key, piece_cell = np.unique(key, return_inverse=True)
    n = cell_key.size
    parts = exposure_parts(piece_cell, f["exposure"].to_numpy(), n)
    ev = np.bincount(piece_cell, weights=event, minlength=n)
    count = np.bincount(piece_cell, weights=ordinary, minlength=n)
    out: dict[str, object] = {}
    rem = cell_key.copy()
    decoded = []
    for size in reversed(sizes):
        decoded.append(rem % size)
        rem //= size
    decoded.reverse()
    for k, code, vals in zip(keys, decoded, values, strict=True):
        if isinstance(vals, pd.CategoricalDtype):
            out[k] = pd.Categorical.from_codes(code, dtype=vals)
        else:  # numeric: a cell holds one distinct value
            out[k] = vals[code]
    return out, ev, parts, count, piece_cell


def aggregate(pieces: Pieces) -> Cells:
    """Collapse pieces into cells (interval x period x covariates x cluster).

    Cells with no exposure are not produced, except those the :math:`(L, R]` of an
    interval-censored unit reaches (``Cells.interval_cell``), which hold no events and no
    exposure but carry that unit's hazard. Cells are ordered by their key codes (interval
    slowest... cluster fastest), which makes the output deterministic.

    Parameters
    ----------
    pieces : Pieces
        The Lexis-split pieces (:func:`bayessa.data.lexis.split`), with categorical key columns.

    Returns
    -------
    Cells
    """
    keys = (
        "interval",
        pieces.period_name,
        *pieces.covariates,
        *pieces.grouping,
    )
    f, n_ordinary = pieces.frame, len(pieces.frame)
    if pieces.interval_frame is not None:  # their cells too: keys of both, counts of the first
        icf = pieces.interval_frame
        f = pd.concat(
            [f[[*keys, "exposure", "event"]], icf[list(keys)].assign(exposure=0.0, event=0)],
            ignore_index=True,
        )
    out, ev, parts, count, piece_cell = _cell_sums(f, keys, n_ordinary)
    out["events"] = np.rint(ev).astype(np.int64)
    out["exposure"] = combine_parts(parts)
    out["n_pieces"] = count.astype(np.int64)
    interval_cell = piece_cell[n_ordinary:] if pieces.interval_frame is not None else None
    piece_cell = piece_cell[:n_ordinary]
    cause_events = None
    if pieces.causes:  # events of each cause per cell
        cause = f["cause"].to_numpy()
        n_cells = len(out["events"])
        cause_events = np.stack(
            [np.bincount(piece_cell, weights=cause == j, minlength=n_cells)
             for j in range(1, len(pieces.causes) + 1)], axis=1,
        ).round().astype(np.int64)  # fmt: skip
    return Cells(frame=pd.DataFrame(out), keys=keys, pieces=pieces, piece_cell=piece_cell,
                 cause_events=cause_events, interval_cell=interval_cell)  # fmt: skip
