"""Completing a sampled DataTree: data groups, the per-unit log-likelihood, attrs (the layout).

DataTree layout (ArviZ 1.x; survival layout as ArviZ's Kaplan-Meier PPC helpers expect):

=================  ===========================================================================
posterior          model parameters (``baseline``, ``beta``, ``cluster_effect``, ...)
sample_stats       sampler statistics (divergences, energy, tree depth, ...)
observed_data      ``time`` (unit): exit time; ``events`` (cell): events per cell
constant_data      ``time`` (unit): event status (1 event, 0 censored), same name as the times;
                   with covariates that change during follow-up also ``row_unit``,
                   ``row_entry``, ``row_exit`` and ``row_<covariate>`` (row): each unit's rows
                   (unit covariates are then the values at entry);
                   ``entry`` (unit); ``origin`` (unit, calendar time of time zero, NaN if
                   unknown); ``exposure`` (cell); ``interval`` (cell); unit covariates;
                   with interval censoring ``time_upper`` (unit): the upper bound R of an
                   event known only to lie in (time, R] (``time`` is then L, status 0), NaN
                   for units observed exactly or right-censored
log_likelihood     ``time`` (chain, draw, unit): per-unit survival log-likelihood, for LOO
attrs              spec (TOML), data hash, seed, package versions, model facts, data audit
=================  ===========================================================================

A run fitted from cells without their units (read partition by partition, or from a cells
file) has no ``unit`` dimension: ``observed_data`` holds the cells' ``events``,
``constant_data`` their ``exposure``, ``interval`` and keys, there is no ``log_likelihood``
group, and the attr ``bayessa_units`` says why (JSON: ``n_units``, ``n_events``, ``reason``,
``max_exit``, and ``levels``: the units per level of each categorical column).
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["NO_UNITS", "assemble", "versions"]

#: Why a run fitted from cells alone lacks what needs the units.
NO_UNITS = (
    "the run was fitted from cells without their units (read partition by partition, or from "
    "a cells file): the per-unit log-likelihood (LOO), Kaplan-Meier curves, log-rank tests, "
    "predictive checks and survival standardised over the units need each unit's follow-up; "
    "fit from the units (--data, --engine memory) where they fit in memory"
)


def versions() -> dict[str, str]:
    """Versions of bayessa and the libraries a result depends on.

    Returns
    -------
    dict of str to str
        Package -> version (``python`` first); packages not installed are left out.
    """
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in (
        "bayessa",
        "pymc",
        "pytensor",
        "arviz",
        "arviz-base",
        "arviz-stats",
        "nutpie",
        "numpy",
        "pandas",
        "xarray",
        "formulae",
    ):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def assemble(dt, prepared, spec, info, *, log_likelihood: bool | str = "auto"):
    """Add data groups, the per-unit log-likelihood and attrs to a sampled DataTree.

    Parameters
    ----------
    dt : xarray.DataTree
        The sampler's output (``posterior``, ``sample_stats``).
    prepared : bayessa.model.preparation.Prepared
    spec : bayessa.model.spec.Spec
    info : bayessa.model.pem.ModelInfo
    log_likelihood : bool or "auto"
        Store the per-unit log-likelihood; ``"auto"``: when units x samples is at most
        :data:`bayessa.model.loglik.DEFAULT_MAX_ELEMENTS`.

    Returns
    -------
    xarray.DataTree
        ``dt``, completed in place to the layout in this module's docstring.
    """
    const = _data_groups(dt, prepared)
    store = _log_likelihood_group(dt, prepared, spec, info, const, log_likelihood)
    _drop_object_stats(dt)
    _attrs(dt, prepared, spec, info, store)
    return dt


def _data_groups(dt, prepared) -> dict:
    """``observed_data`` and ``constant_data``: unit times and status, cell events and exposure."""
    data, cells = prepared.data, prepared.cells
    if data is None:  # cells without their units
        return _cell_groups(dt, prepared)
    f, c = data.units, cells.frame
    units = f["id"].astype(str).to_numpy()
    unit_vars = {
        "time": ("unit", f["exit"].to_numpy()),
    }
    const = {
        "time": ("unit", f["event"].to_numpy().astype(np.int8)),
        "entry": ("unit", f["entry"].to_numpy()),
        # calendar time of each unit's time zero (NaN if unknown): predictive replicates need it
        "origin": ("unit", f["origin"].to_numpy(np.float64)),
        "exposure": ("cell", c["exposure"].to_numpy()),
        "interval": ("cell", c["interval"].cat.codes.to_numpy().astype(np.int16)),
    }
    if data.has_intervals:  # events known only to lie in (time, time_upper]
        const["time_upper"] = ("unit", f["upper"].to_numpy(np.float64))
    for v in (*data.covariates, *data.grouping):
        const[f"unit_{v}"] = ("unit", _stored(f[v]))
    for term in prepared.design.random:  # a factor of combinations, '(1 | region/county)'
        if len(term.columns) > 1:
            const[f"unit_{term.name}"] = ("unit", term.unit_labels(f))
    for k in cells.keys:
        if k != "interval":
            const[f"cell_{k}"] = ("cell", _stored(c[k]))
    coords = {"unit": units, "cell": np.arange(len(c))}
    if data.has_paths:  # covariates that change: each unit's rows, for replicates along paths
        rows = data.frame
        const["row_unit"] = ("row", data.unit_codes.astype(np.int64))
        const["row_entry"] = ("row", rows["entry"].to_numpy())
        const["row_exit"] = ("row", rows["exit"].to_numpy())
        for v in data.covariates:
            const[f"row_{v}"] = ("row", _stored(rows[v]))
        coords["row"] = np.arange(len(rows))
    dt["observed_data"] = xr.Dataset(
        {**unit_vars, "events": ("cell", c["events"].to_numpy())}, coords=coords
    )
    dt["constant_data"] = xr.Dataset(const, coords=coords)
    return const


def _cell_groups(dt, prepared) -> dict:
    """The data groups of a run fitted from cells alone: events, exposure, interval, keys."""
    c = prepared.cells.frame
    const = {
        "exposure": ("cell", c["exposure"].to_numpy()),
        "interval": ("cell", c["interval"].cat.codes.to_numpy().astype(np.int16)),
    }
    for k in prepared.cells.keys:
        if k != "interval":
            const[f"cell_{k}"] = ("cell", _stored(c[k]))
    coords = {"cell": np.arange(len(c))}
    dt["observed_data"] = xr.Dataset({"events": ("cell", c["events"].to_numpy())}, coords=coords)
    dt["constant_data"] = xr.Dataset(const, coords=coords)
    return const


def _stored(column: pd.Series) -> np.ndarray:
    """A covariate as stored in the run: categories as text, numeric values as float64."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.astype(str).to_numpy()
    return column.to_numpy(dtype=np.float64)


def _log_likelihood_group(dt, prepared, spec, info, const, log_likelihood) -> bool:
    """The per-unit log-likelihood (``log_likelihood/time``), when asked or small enough."""
    from bayessa.model.loglik import DEFAULT_MAX_ELEMENTS, unit_log_likelihood
    from bayessa.model.random import random_prefix
    from bayessa.posterior.predict import log_rate

    if prepared.data is None:  # no units: nothing to compute it from
        return False
    f, c, cells, design = prepared.data.units, prepared.cells.frame, prepared.cells, prepared.design
    units = f["id"].astype(str).to_numpy()
    post = dt["posterior"].dataset
    S = post.sizes["chain"] * post.sizes["draw"]
    store = (
        log_likelihood if isinstance(log_likelihood, bool) else len(f) * S <= DEFAULT_MAX_ELEMENTS
    )
    if store:
        rows = dict(
            interval=const["interval"][1].astype(np.int64),
            X=design.X,
            stratum=c[spec.model.strata].cat.codes.to_numpy().astype(np.int64)
            if info.strata
            else None,
            random=[(random_prefix(i, t.name), t.codes, t.Z) for i, t in enumerate(design.random)],
            tv_columns=[design.coef_names.index(n) for n in info.time_varying_coefs],
        )
        # one chain at a time: the (draws x cells) temporaries stay small and are reused
        ll = np.empty((post.sizes["chain"], post.sizes["draw"], len(units)))
        for i in range(post.sizes["chain"]):
            ll[i] = unit_log_likelihood(log_rate(post.isel(chain=[i]), **rows), cells)
        dt["log_likelihood"] = xr.Dataset(
            {"time": (("chain", "draw", "unit"), ll)},
            coords={"chain": post["chain"].values, "draw": post["draw"].values, "unit": units},
        )
    return store


def _drop_object_stats(dt) -> None:
    """Sampler statistics of object dtype (messages) do not belong in a numeric archive."""
    # Sampler statistics of object dtype (messages) do not belong in a numeric archive.
    stats = dt["sample_stats"].dataset
    drop = [v for v in stats.data_vars if stats[v].dtype == object]
    if drop:
        dt["sample_stats"] = stats.drop_vars(drop)


def _attrs(dt, prepared, spec, info, store: bool) -> None:
    """Spec, data hash, seed, versions, model facts, audit, cuts and the design, as attrs."""
    data, design = prepared.data, prepared.design
    units = prepared.cells.units if data is None else None
    if units is not None:
        levels = {c: dict(zip(lv, map(int, n), strict=True)) for c, (lv, n) in units.levels.items()}
        dt.attrs["bayessa_units"] = json.dumps(
            {"n_units": units.n_units, "n_events": units.n_events, "levels": levels,
             "max_exit": units.max_exit, "reason": NO_UNITS}
        )  # fmt: skip
    dt.attrs.update(
        {
            "bayessa_spec": spec.to_toml(),
            "bayessa_data_hash": (units or data).data_hash,
            "bayessa_seed": int(spec.sampler.seed),
            "bayessa_versions": json.dumps(versions()),
            "bayessa_model_info": json.dumps(asdict(info)),
            "bayessa_audit": json.dumps(prepared.audit.to_dict()),
            "bayessa_split_notes": json.dumps(list(prepared.pieces.notes)),
            "bayessa_cuts": json.dumps(
                [float(x) if np.isfinite(x) else "inf" for x in prepared.pieces.cuts]
            ),
            "bayessa_time_unit": prepared.pieces.time_unit,
            # What prediction needs to rebuild design rows from a loaded run (no prepared data):
            # each coefficient's (variable, level) pairs, levels (reference first), the terms.
            "bayessa_design": json.dumps(
                {
                    "formula": design.formula,
                    "variables": list(design.variables),
                    "levels": {k: list(v) for k, v in design.levels.items()},
                    "reference": dict(design.reference),
                    "terms": list(design.terms),
                    "coef_names": list(design.coef_names),
                    "coef_levels": [[list(p) for p in c] for c in design.coef_levels],
                    "numeric": {k: t.to_dict() for k, t in design.numeric.items()},
                    "x_reference": [float(x) for x in design.x_reference],
                    "cluster": design.random[0].name if design.random else None,
                    "cluster_levels": list(design.random[0].levels) if design.random else [],
                }
            ),
            "bayessa_log_likelihood": "stored"
            if store
            else f"not stored ({NO_UNITS})"
            if units is not None
            else "not stored (units x samples too large; pass log_likelihood=True)",
        }
    )
