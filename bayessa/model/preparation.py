"""From a table and a spec to the model's inputs: resolve the spec, then read, split, aggregate, design.

:func:`prepare` composes the data layer's steps and the design::

    read + validate -> split (Lexis) -> aggregate -> design

and keeps every intermediate in a :class:`Prepared`, for prediction and the per-unit likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bayessa.data.cells import Cells, aggregate
from bayessa.data.columns import Columns, SurvivalData
from bayessa.data.lexis import Pieces, split
from bayessa.data.read import read_data
from bayessa.errors import SpecError
from bayessa.model.design import Design, build_design, parse_formula
from bayessa.model.spec import Spec, load_spec
from bayessa.resources import bundled_spec

__all__ = ["DEFAULT_SPEC", "OVERRIDES", "Prepared", "columns_for", "prepare", "resolve_spec"]

#: The default analysis of the bundled data (package data; ``models/partnership.toml`` in a checkout).
DEFAULT_SPEC = bundled_spec("partnership")

# Keyword overrides accepted by fit() and the CLI, mapped to spec fields.
OVERRIDES = {
    "draws": "sampler__draws",
    "tune": "sampler__tune",
    "chains": "sampler__chains",
    "seed": "sampler__seed",
    "target_accept": "sampler__target_accept",
    "sampler": "sampler__backend",
    "cores": "sampler__cores",
    "formula": "model__formula",
    "baseline": "model__baseline",
    "cluster_parameterization": "model__cluster_parameterization",
    "cuts": "time__cuts",
    "administrative_censoring": "time__administrative_censoring",
}


@dataclass(frozen=True)
class Prepared:
    """The data after each pipeline step, kept for prediction and the per-unit likelihood.

    Parameters
    ----------
    data : SurvivalData
        The validated units.
    pieces : Pieces
        Their Lexis split.
    cells : Cells
        The pieces aggregated into cells.
    design : Design
        The fixed-effect matrix and random-intercept codes of the cells.
    """

    data: SurvivalData
    pieces: Pieces
    cells: Cells
    design: Design


def resolve_spec(spec: Spec | str | Path | None, **overrides: Any) -> Spec:
    """Load a spec and apply keyword overrides.

    Parameters
    ----------
    spec : Spec or path, optional
        Default: the bundled default analysis (:data:`DEFAULT_SPEC`).
    **overrides
        Keys of :data:`OVERRIDES` (``draws``, ``formula``, ``cuts``, ...) and ``data={...}`` for
        ``[data]`` fields. ``None`` values are ignored.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        An unknown override, or a value the spec refuses.
    """
    if spec is None:
        spec = DEFAULT_SPEC
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    unknown = sorted(set(overrides) - set(OVERRIDES) - {"data"})
    if unknown:
        raise SpecError(f"unknown override(s) {unknown}; allowed: {sorted(OVERRIDES)}")
    changes = {OVERRIDES[k]: v for k, v in overrides.items() if k in OVERRIDES and v is not None}
    if "time__cuts" in changes:
        changes["time__cuts"] = [float(c) for c in changes["time__cuts"]]
    data_changes = overrides.get("data") or {}
    for k, v in data_changes.items():
        changes[f"data__{k}"] = v
    if "model__formula" in changes:
        # reference levels of variables the new formula no longer uses would be errors
        used = set(parse_formula(changes["model__formula"]).variables)
        changes["model__reference"] = {k: v for k, v in spec.model.reference.items() if k in used}
    return spec.with_overrides(**changes) if changes else spec


def columns_for(spec: Spec) -> Columns:
    """Column roles for reading: follow-up columns from [data], covariates and cluster from the formula.

    Parameters
    ----------
    spec : Spec

    Returns
    -------
    Columns

    Raises
    ------
    SpecError
        The formula uses the calendar period but the spec gives no calendar cut points.
    """
    terms = parse_formula(spec.model.formula)
    t, m, d = spec.time, spec.model, spec.data
    period_used = t.period_name in terms.variables
    if period_used and not t.periods:
        raise SpecError(
            f"the formula uses '{t.period_name}', the calendar period, but no calendar cut points "
            'are given; set [time] periods = ["1989-01-01", ...]'
        )
    covs = [v for v in terms.variables if v != t.period_name]
    if m.strata and m.strata not in covs:
        covs.append(m.strata)
    cluster = terms.random[0] if terms.random else None
    return d.columns(tuple(covs), cluster)


def prepare(data: str | Path | pd.DataFrame | None, spec: Spec) -> Prepared:
    """Read, validate, split, aggregate and build the design for ``spec``.

    Parameters
    ----------
    data : path, DataFrame or None
        The units; ``None`` takes the spec's ``[data] path``.
    spec : Spec

    Returns
    -------
    Prepared

    Raises
    ------
    DataError
        The table fails validation (every problem listed).
    SpecError
        No data at all, or a spec the data cannot satisfy.
    """
    source = data if data is not None else spec.data.path
    if source is None:
        raise SpecError("no data given: pass a path or DataFrame, or set [data] path in the spec")
    columns = columns_for(spec)
    sd = read_data(source, columns, time_unit=spec.data.time_unit, on_invalid=spec.data.on_invalid)
    t = spec.time
    pieces = split(
        sd,
        t.cuts,
        periods=list(t.periods) or None,
        period_labels=list(t.period_labels) or None,
        period_name=t.period_name,
        administrative_censoring=t.administrative_censoring,
    )
    cells = aggregate(pieces)
    design = build_design(cells.frame, spec.model.formula, reference=spec.model.reference or None)
    return Prepared(data=sd, pieces=pieces, cells=cells, design=design)
