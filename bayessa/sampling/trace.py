"""From nutpie's raw trace (Arrow record batches, one per chain) to a DataTree.

:func:`nutpie.sample` converts its trace with ``arviz.from_dict``, which needs the ``arviz``
meta-package: importing it loads ArviZ's plotting (matplotlib) and LOO (SciPy) code, ~0.8 s of a
warm fit that uses neither, and the conversion itself took 0.38 s for the default model (through
``xarray.apply_ufunc`` per variable). :func:`trace_to_tree` builds the same two groups from the
raw trace (``return_raw_trace=True``) with NumPy: the same variables, dims, coordinates, values and
dtypes (tested against nutpie's own conversion), without warm-up draws.

What is kept follows nutpie's defaults: the posterior holds the model's variables on their own
(constrained) scale, not the unconstrained copies nutpie samples (``*_log__`` and the like); the
sample statistics are the per-draw scalars (step size, tree depth, energy, divergences, ...), not
the per-draw vectors nutpie stores only on request (gradients, mass matrix, divergence positions).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np

__all__ = ["trace_to_tree"]

#: Per-draw vectors that nutpie stores but drops from its converted trace by default.
_SKIPPED_STATS = frozenset(
    ["gradient", "unconstrained_draw", "mass_matrix_inv", "mass_matrix_eigvals"]
    + ["mass_matrix_stds", "divergence_start", "divergence_end", "divergence_momentum"]
    + ["divergence_start_gradient", "transformed_position", "transformed_gradient"]
    + ["transformation_mu", "chain", "draw"]
)


def _column(batch, name: str, rows: slice) -> tuple[np.ndarray, list[str]]:
    """One variable of one chain's batch: values (draws, *shape) and the item dims."""
    import pyarrow

    col = batch.column(name)
    meta = col.field.metadata or {}
    dims = meta[b"dims"].decode().split(",") if meta.get(b"dims") else []
    shape = tuple(int(s) for s in meta[b"shape"].decode().split(",")) if meta.get(b"shape") else ()
    arr = pyarrow.array(col)[rows]
    n = len(arr)
    if hasattr(arr, "flatten"):  # a list column: one vector per draw
        arr = arr.flatten()
    if arr.null_count and (
        pyarrow.types.is_integer(arr.type) or pyarrow.types.is_boolean(arr.type)
    ):
        arr = arr.fill_null(
            pyarrow.scalar(0 if pyarrow.types.is_integer(arr.type) else False, arr.type)
        )
    values = arr.to_numpy(zero_copy_only=False)  # missing floats -> NaN, missing text -> None
    return values.reshape((n, *shape)), dims


def _group(batches, rows: list[slice], names: list[str], coords: dict[str, Any], attrs: dict):
    import xarray as xr

    data_vars = {}
    for name in names:
        per_chain = [_column(b, name, r) for b, r in zip(batches, rows, strict=True)]
        values = np.stack([v for v, _ in per_chain])
        dims = per_chain[0][1] or [f"{name}_dim_{i}" for i in range(values.ndim - 2)]
        for dim, size in zip(dims, values.shape[2:], strict=True):
            if dim not in coords:  # as ArviZ does: integer coordinates for unlabelled axes
                coords = {**coords, dim: np.arange(size)}
        data_vars[name] = (("chain", "draw", *dims), values)
    n_chains, n_draws = len(batches), rows[0].stop - rows[0].start
    used = {d for v in data_vars.values() for d in v[0]}
    group_coords = {k: v for k, v in coords.items() if k in used}
    group_coords.update(chain=np.arange(n_chains), draw=np.arange(n_draws))
    return xr.Dataset(data_vars, coords=group_coords, attrs=attrs)


def trace_to_tree(
    raw: Any,
    *,
    unconstrained_names: list[str],
    coords: dict[str, Any],
    settings: dict | None = None,
):
    """Convert a raw nutpie trace to a DataTree (posterior draws only, no warm-up).

    Parameters
    ----------
    raw : nutpie PyTrace
        What :func:`nutpie.sample` returns with ``return_raw_trace=True`` (Arrow storage).
    unconstrained_names : list of str
        The unconstrained copies of transformed variables (nutpie's ``reparameterized_names``),
        left out of the posterior.
    coords : dict
        Coordinate values by dimension name (the compiled model's ``coords``).
    settings : dict, optional
        The sampler's settings, recorded in the ``sample_stats`` attributes as nutpie does.

    Returns
    -------
    xarray.DataTree
        Groups ``posterior`` and ``sample_stats``; every chain must have the same number of
        draws after warm-up.
    """
    import xarray as xr

    if not raw.is_arrow():
        raise ValueError("expected nutpie's Arrow trace (the default storage)")
    draws, stats = raw.get_arrow_trace()
    rows = []
    for stat in stats:
        n_tune = int(np.asarray(stat.column("tuning").to_numpy()).sum())
        rows.append(slice(n_tune, stat.num_rows))
    lengths = {r.stop - r.start for r in rows}
    if len(lengths) != 1:
        raise ValueError(f"chains have different numbers of draws: {sorted(lengths)}")
    created = datetime.now(UTC).isoformat()
    base = {"created_at": created, "sample_dims": ["chain", "draw"]}
    skip = set(unconstrained_names)
    posterior = _group(
        draws, rows, [n for n in draws[0].column_names if n not in skip], coords, dict(base)
    )
    stat_attrs = dict(base, inference_library="nutpie")
    if settings is not None:
        stat_attrs["inference_library_settings"] = json.dumps(settings)
    stat_names = [n for n in stats[0].column_names if n not in _SKIPPED_STATS]
    sample_stats = _group(stats, rows, stat_names, {}, stat_attrs)
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": sample_stats})
