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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayessa.data.lexis import Pieces

__all__ = ["Cells", "aggregate"]

# Above this many possible cells the mixed-radix key is sparse; use np.unique instead of bincount.
_DENSE_LIMIT = 20_000_000


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
    """

    frame: pd.DataFrame
    keys: tuple[str, ...]
    pieces: Pieces
    piece_cell: np.ndarray
    cause_events: np.ndarray | None = None
    interval_cell: np.ndarray | None = None

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
    codes, values = _key_codes(f, keys)
    sizes = [len(v.categories) if isinstance(v, pd.CategoricalDtype) else len(v) for v in values]
    key = np.zeros(len(f), dtype=np.int64)
    for code, size in zip(codes, sizes, strict=True):
        key *= size
        key += code
    total = int(np.prod(sizes, dtype=np.float64))
    exposure = f["exposure"].to_numpy()
    event = f["event"].to_numpy()
    ordinary = (np.arange(len(f)) < n_ordinary).astype(np.int64)
    if total <= _DENSE_LIMIT:
        expo = np.bincount(key, weights=exposure, minlength=total)
        count = np.bincount(key, weights=ordinary, minlength=total)
        present = np.flatnonzero(np.bincount(key, minlength=total))
        ev = np.bincount(key, weights=event, minlength=total)[present]
        lookup = np.full(total, -1, dtype=np.int64)
        lookup[present] = np.arange(present.size)
        piece_cell = lookup[key]
        cell_key, expo, count = present, expo[present], count[present]
    else:
        cell_key, piece_cell = np.unique(key, return_inverse=True)
        expo = np.bincount(piece_cell, weights=exposure)
        ev = np.bincount(piece_cell, weights=event)
        count = np.bincount(piece_cell, weights=ordinary)
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
    out["events"] = np.rint(ev).astype(np.int64)
    out["exposure"] = expo
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
