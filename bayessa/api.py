"""The Python API: ``bayessa.fit(data, spec, **overrides)`` and ``bayessa.load(run_dir)``.

A fit composes the pure steps of the pipeline::

    read + validate -> split (Lexis) -> aggregate -> design -> model -> sample -> DataTree

and returns a :class:`~bayessa.result.FitResult` whose DataTree holds everything later steps need.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bayessa.aggregate import Cells, aggregate
from bayessa.data import Columns, SurvivalData, read_data
from bayessa.design import Design, build_design, parse_formula
from bayessa.errors import SpecError
from bayessa.spec import Spec, load_spec
from bayessa.split import Pieces, split

__all__ = ["DEFAULT_SPEC", "Prepared", "fit", "prepare", "resolve_spec"]

ROOT = Path(__file__).resolve().parents[1]
#: The default analysis of the bundled data.
DEFAULT_SPEC = ROOT / "models" / "partnership.toml"

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
    """The data after each pipeline step, kept for prediction and the per-unit likelihood."""

    data: SurvivalData
    pieces: Pieces
    cells: Cells
    design: Design


def resolve_spec(spec: Spec | str | Path | None, **overrides: Any) -> Spec:
    """Load a spec (default: models/partnership.toml) and apply keyword overrides."""
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
    """Column roles for reading: follow-up columns from [data], covariates and cluster from the formula."""
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
    """Read, validate, split, aggregate and build the design for ``spec``."""
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


def fit(
    data: str | Path | pd.DataFrame | None = None,
    spec: Spec | str | Path | None = None,
    *,
    progress: bool | None = None,
    log_likelihood: bool | str = "auto",
    **overrides: Any,
):
    """Fit a hierarchical piecewise-exponential model.

    Parameters
    ----------
    data : path or DataFrame, optional
        The units (CSV, Parquet or DataFrame); default: the spec's ``[data] path``.
    spec : Spec or path, optional
        Model spec; default ``models/partnership.toml``.
    progress : bool, optional
        Progress bar; default only on a terminal.
    log_likelihood : bool or "auto"
        Store the per-unit log-likelihood (for LOO). ``"auto"``: when units x samples is at most
        :data:`bayessa.loglik.DEFAULT_MAX_ELEMENTS`.
    **overrides
        ``draws``, ``tune``, ``chains``, ``seed``, ``target_accept``, ``sampler``, ``cores``,
        ``formula``, ``baseline``, ``cluster_parameterization``, ``cuts``,
        ``administrative_censoring``; ``data={...}`` for [data] fields (column names).

    Returns
    -------
    FitResult
    """
    from bayessa.inference import sample
    from bayessa.model import build_model
    from bayessa.result import FitResult, assemble

    spec = resolve_spec(spec, **overrides)
    timings: dict[str, Any] = {}
    t0 = time.perf_counter()
    prepared = prepare(data, spec)
    timings["prepare_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    model, info = build_model(prepared.cells, prepared.design, spec)
    timings["build_s"] = time.perf_counter() - t1
    dt = sample(model, spec.sampler, progress=progress, timings=timings)
    t3 = time.perf_counter()
    dt = assemble(dt, prepared, spec, info, log_likelihood=log_likelihood)
    timings["assemble_s"] = time.perf_counter() - t3
    dt.attrs["bayessa_timings"] = json.dumps(timings)
    return FitResult(idata=dt, spec=spec, prepared=prepared, info=info)
