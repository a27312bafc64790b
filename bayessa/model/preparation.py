"""From a table and a spec to the model's inputs: resolve the spec, then read, split, aggregate, design.

:func:`prepare` composes the data layer's steps and the design::

    read + validate -> split (Lexis) -> aggregate -> design

and keeps every intermediate in a :class:`Prepared`, for prediction and the per-unit likelihood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayessa.data.cells import Cells, aggregate
from bayessa.data.columns import Columns, SurvivalData
from bayessa.data.lexis import Pieces, split
from bayessa.data.read import read_data
from bayessa.errors import SpecError
from bayessa.model.cuts import automatic_cuts, describe_rule
from bayessa.model.design import Design, build_design
from bayessa.model.formula import parse_formula
from bayessa.model.spec import CLEAR, Spec, load_spec
from bayessa.resources import bundled_spec

__all__ = [
    "DEFAULT_SPEC",
    "OVERRIDES",
    "Prepared",
    "CHANGE_ARGS",
    "ROLES",
    "columns_for",
    "prepare",
    "resolve_spec",
]

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
    "ess": "sampler__ess",
    "max_chains": "sampler__max_chains",
    "formula": "model__formula",
    "baseline": "model__baseline",
    "cluster_parameterization": "model__cluster_parameterization",
    "baseline_parameterization": "model__baseline_parameterization",
    "reference": "model__reference",
    "strata": "model__strata",
    "time_varying": "model__time_varying",
    "cuts": "time__cuts",
    "administrative_censoring": "time__administrative_censoring",
    "time_unit": "data__time_unit",
    "on_invalid": "data__on_invalid",
    "censored": "data__censored",
}
#: Column roles accepted as keyword arguments (``time="days"``) or in ``columns={...}``.
ROLES = (
    "id",
    "time",
    "event",
    "start",
    "stop",
    "event_date",
    "censor_date",
    "entry",
    "origin",
    "tstart",
    "tstop",
    "time_lower",
    "time_upper",
)
#: The roles that together say how follow-up is given; naming one replaces the spec's form.
_FOLLOW_UP = (
    "time", "event", "start", "stop", "event_date", "censor_date", "tstart", "tstop",
    "time_lower", "time_upper",
)  # fmt: skip
#: Arguments naming a change table (``[data.changes]``): its path, time column and id column.
CHANGE_ARGS = {"changes": "path", "change_time": "time", "change_id": "id"}


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
    spec : Spec, optional
        The spec as applied: with the cut points chosen from the data when it gave none.
    """

    data: SurvivalData
    pieces: Pieces
    cells: Cells
    design: Design
    spec: Spec | None = None


def resolve_spec(
    spec: Spec | str | Path | None = None,
    *,
    data: str | Path | pd.DataFrame | None = None,
    **overrides: Any,
) -> Spec:
    """The spec of an analysis: a spec file, the bundled analysis, or one for the user's own table.

    Without a spec and without data this is the bundled default analysis (:data:`DEFAULT_SPEC`).
    Without a spec but with data it is a **spec-free** analysis of that table: nothing of the
    bundled analysis applies -- no id column (units are numbered by row), reference levels are
    the first level of each variable, the cut points are chosen from the data
    (:mod:`bayessa.model.cuts`), the priors are the defaults (per year, converted to the data's
    time unit), and the name is the file's stem.

    Parameters
    ----------
    spec : Spec or path, optional
        A spec (or its TOML file).
    data : path or DataFrame, optional
        The user's table; only decides between the bundled and a spec-free analysis, and names
        the latter.
    **overrides
        Keys of :data:`OVERRIDES` (``draws``, ``formula``, ``cuts``, ``time_unit``,
        ``reference={...}``, ``strata``, ...), column roles (``time="t"``, ``event="status"``,
        ``id``, ``start``, ``stop``, ``entry``, ``tstart``, ``tstop``, ...),
        ``columns={role: column}``, and a change table's ``changes`` (a path; a DataFrame is
        passed to :func:`prepare` instead), ``change_time`` and ``change_id``. ``None``
        values are ignored. Naming a follow-up column replaces the spec's follow-up form.
        Giving ``draws`` or ``chains`` without ``ess`` drops the spec's ESS target: that
        amount of sampling is what is asked for.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        An unknown override, a spec-free analysis without a formula, or a value the spec refuses.
    """
    roles = dict(overrides.pop("columns", None) or {})
    given = {key: overrides.pop(arg, None) for arg, key in CHANGE_ARGS.items()}
    # a change table given as a DataFrame goes to prepare() itself, not into the spec
    change = {k: v for k, v in given.items() if v is not None and not isinstance(v, pd.DataFrame)}
    for role in ROLES:
        if role in overrides:
            value = overrides.pop(role)
            if value is not None:
                roles[role] = value
    unknown = sorted(set(overrides) - set(OVERRIDES)) + sorted(set(roles) - set(ROLES))
    if unknown:
        raise SpecError(
            f"unknown argument(s) {unknown}; allowed: {sorted(OVERRIDES)}, column roles "
            f"{list(ROLES)} and columns={{role: column}}"
        )
    if spec is None and data is not None:
        spec = _spec_free(data, overrides)
    elif spec is None:
        spec = DEFAULT_SPEC
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    changes = {OVERRIDES[k]: v for k, v in overrides.items() if v is not None}
    if "time__cuts" in changes:
        changes["time__cuts"] = [float(c) for c in changes["time__cuts"]]
    if "model__time_varying" in changes:
        changes["model__time_varying"] = list(changes["model__time_varying"])
    if any(r in roles for r in _FOLLOW_UP):
        # a new follow-up form replaces the spec's: clear its follow-up columns first
        changes |= {f"data__{r}": CLEAR for r in _FOLLOW_UP}
    changes |= {f"data__{k}": (CLEAR if v is None else v) for k, v in roles.items()}
    if change:
        changes["data__changes"] = {**spec.data.changes, **{k: str(v) for k, v in change.items()}}
    if ({"sampler__draws", "sampler__chains"} & set(changes)) and "sampler__ess" not in changes:
        # an explicit amount of sampling is what is asked for: no ESS target adds chains to it
        changes["sampler__ess"] = 0
    if "model__formula" in changes and "model__reference" not in changes:
        # reference levels of variables the new formula no longer uses would be errors
        used = set(parse_formula(changes["model__formula"]).variables)
        changes["model__reference"] = {k: v for k, v in spec.model.reference.items() if k in used}
    return spec.with_overrides(**changes) if changes else spec


def _spec_free(data: str | Path | pd.DataFrame, overrides: dict[str, Any]) -> Spec:
    """The base spec of an analysis of the user's own table (see :func:`resolve_spec`)."""
    problems = []
    if isinstance(data, str | Path) and not Path(data).exists():
        problems.append(f"data file '{data}' does not exist; check the path")
    if not overrides.get("formula"):
        problems.append(
            'no formula: a fit of your own data needs one, e.g. formula="trt + celltype" '
            '(--formula "trt + celltype"); add "+ (1 | center)" for a random intercept per center'
        )
    if problems:
        raise SpecError(problems)
    name = "model"
    if isinstance(data, str | Path):
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(data).name.split(".")[0]).strip("_")
        name = stem or name
    return Spec(name=name, description=f"spec-free fit of {data if name != 'model' else 'a table'}")


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
    t, m, d = spec.time, spec.model, spec.data
    terms = parse_formula(m.formula)
    # competing risks with a formula per cause: the cells carry every formula's variables
    others = [parse_formula(f) for f in m.formulas.values()]
    variables = list(dict.fromkeys([*terms.variables, *(v for o in others for v in o.variables)]))
    period_used = t.period_name in variables
    if period_used and not t.periods:
        raise SpecError(
            f"the formula uses '{t.period_name}', the calendar period, but no calendar cut points "
            'are given; set [time] periods = ["1989-01-01", ...]'
        )
    grouping = list(
        dict.fromkeys([*terms.grouping_columns, *(g for o in others for g in o.grouping_columns)])
    )
    covs = [v for v in variables if v != t.period_name and v not in grouping]
    if m.strata and m.strata not in covs:
        covs.append(m.strata)
    categorical = [*terms.categorical, *(c for o in others for c in o.categorical)]
    categorical += [m.strata] if m.strata else []
    numeric = [*terms.numeric_columns, *(c for o in others for c in o.numeric_columns)]
    return d.columns(
        tuple(covs),
        grouping[0] if grouping else None,
        categorical=tuple(dict.fromkeys(categorical)),
        numeric=tuple(dict.fromkeys(numeric)),
        groups=tuple(grouping[1:]),
    )


def prepare(
    data: str | Path | pd.DataFrame | None,
    spec: Spec,
    *,
    changes: str | Path | pd.DataFrame | None = None,
) -> Prepared:
    """Read, validate, split, aggregate and build the design for ``spec``.

    Parameters
    ----------
    data : path, DataFrame or None
        The units; ``None`` takes the spec's ``[data] path``.
    spec : Spec
    changes : path or DataFrame, optional
        A table of covariate changes; ``None`` takes the spec's ``[data.changes] path``, if any.

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
    ch = spec.data.changes
    if changes is None:
        changes = ch.get("path")
    elif ch.get("time") is None:
        raise SpecError(
            "a change table needs the column of its change times: change_time=... "
            "(--change-time COL; [data.changes] time)"
        )
    sd = read_data(
        source,
        columns,
        time_unit=spec.data.time_unit,
        on_invalid=spec.data.on_invalid,
        changes=changes,
        change_time=ch.get("time"),
        change_id=ch.get("id"),
    )
    t = spec.time
    notes: tuple[str, ...] = ()
    if not t.cuts:
        f = sd.frame
        times = f["exit"].to_numpy()[f["event"].to_numpy() == 1]
        if sd.has_intervals:  # events between inspections: the middle of their interval
            ic = sd.interval_censored
            mid = 0.5 * (f["exit"].to_numpy()[ic] + f["upper"].to_numpy()[ic])
            times = np.concatenate([times, mid])
        cuts = automatic_cuts(times)
        notes = (describe_rule(cuts, sd.n_events, sd.time_unit),)
        spec = spec.with_overrides(time__cuts=list(cuts))
        t = spec.time
    pieces = split(
        sd,
        t.cuts,
        periods=list(t.periods) or None,
        period_labels=list(t.period_labels) or None,
        period_name=t.period_name,
        administrative_censoring=t.administrative_censoring,
    )
    if notes:
        pieces = replace(pieces, notes=notes + pieces.notes)
    cells = aggregate(pieces)
    design = build_design(
        cells.frame, spec.model.formula, reference=spec.model.reference or None, units=sd.units
    )
    return Prepared(data=sd, pieces=pieces, cells=cells, design=design, spec=spec)
