"""From a table and a spec to the model's inputs: resolve the spec, then read, split, aggregate, design.

:func:`prepare` composes the data layer's steps and the design::

    read + validate -> split (Lexis) -> aggregate -> design

and keeps every intermediate in a :class:`Prepared`, for prediction and the per-unit likelihood.
Tables larger than memory take the same steps partition by partition on Dask
(:mod:`bayessa.data.partitioned`), and :func:`prepare_cells` starts from cells alone (a cells
file, :mod:`bayessa.data.cell_file`): the Prepared then has no units (``data`` is None).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayessa.data.cells import Cells, aggregate
from bayessa.data.columns import Audit, Columns, SurvivalData
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
    "cells_spec",
    "columns_for",
    "prepare",
    "prepare_cells",
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
    data : SurvivalData or None
        The validated units; None when the cells come without them (read partition by
        partition, or from a cells file: ``cells.units`` summarises them).
    pieces : Pieces
        Their Lexis split (without units: the split's contract and no rows).
    cells : Cells
        The pieces aggregated into cells.
    design : Design
        The fixed-effect matrix and random-intercept codes of the cells.
    spec : Spec, optional
        The spec as applied: with the cut points chosen from the data when it gave none.
    """

    data: SurvivalData | None
    pieces: Pieces
    cells: Cells
    design: Design
    spec: Spec | None = None

    @property
    def audit(self) -> Audit:
        """The data audit: of the units, or of the units the cells were summed from."""
        return self.data.audit if self.data is not None else self.cells.units.audit


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
    engine: str = "auto",
    scheduler: str | None = None,
    workers: int = 2,
    timings: dict | None = None,
) -> Prepared:
    """Read, validate, split, aggregate and build the design for ``spec``.

    Parameters
    ----------
    data : path, DataFrame, dask.dataframe.DataFrame or None
        The units; ``None`` takes the spec's ``[data] path``.
    spec : Spec
    changes : path or DataFrame, optional
        A table of covariate changes; ``None`` takes the spec's ``[data.changes] path``, if any.
    engine : {"auto", "memory", "dask"}, default "auto"
        ``"dask"``: read, validate, split and aggregate partition by partition
        (:func:`bayessa.data.partitioned.partitioned_cells`), keeping only the cells;
        ``"auto"``: so for Parquet data above
        :data:`~bayessa.data.partitioned.DASK_MIN_ROWS` rows
        (:func:`~bayessa.data.partitioned.choose_engine`).
    scheduler : str, optional
        A running Dask scheduler's address (default: a local cluster).
    workers : int, default 2
        Worker processes of the local cluster.
    timings : dict, optional
        Filled with ``engine`` and the seconds of each step: ``read_validate_s``, ``split_s``,
        ``aggregate_s`` in memory, the passes of
        :func:`~bayessa.data.partitioned.partitioned_cells` on Dask; then ``design_s``.

    Returns
    -------
    Prepared
        Without units (``data`` None) from the Dask engine.

    Raises
    ------
    DataError
        The table fails validation (every problem listed).
    SpecError
        No data at all, or a spec the data cannot satisfy.
    """
    from bayessa.data.partitioned import choose_engine

    source = data if data is not None else spec.data.path
    if source is None:
        raise SpecError("no data given: pass a path or DataFrame, or set [data] path in the spec")
    columns = columns_for(spec)
    ch = spec.data.changes
    timings = {} if timings is None else timings
    timings["engine"] = choose_engine(engine, source, columns, spec.time.cuts)
    if timings["engine"] == "dask":
        if changes is not None or ch.get("path"):
            raise SpecError(
                "a change table gives units several rows, which the Dask engine does not read; "
                "use --engine memory"
            )
        cells = _partitioned(source, spec, columns, scheduler, workers, timings)
        t0 = time.perf_counter()
        prepared = prepare_cells(cells, spec)
        timings["design_s"] = round(time.perf_counter() - t0, 3)
        return prepared
    t0 = time.perf_counter()
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
    timings["read_validate_s"] = round(time.perf_counter() - t0, 3)
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
    t1 = time.perf_counter()
    cells = aggregate(pieces)
    t2 = time.perf_counter()
    design = build_design(
        cells.frame, spec.model.formula, reference=spec.model.reference or None, units=sd.units
    )
    t3 = time.perf_counter()
    timings |= {"split_s": round(t1 - t0 - timings["read_validate_s"], 3),
                "aggregate_s": round(t2 - t1, 3), "design_s": round(t3 - t2, 3)}  # fmt: skip
    return Prepared(data=sd, pieces=pieces, cells=cells, design=design, spec=spec)


def _partitioned(source, spec: Spec, columns: Columns, scheduler, workers: int, timings) -> Cells:
    """The cells of ``source`` for ``spec``, read partition by partition on Dask."""
    from bayessa.data.partitioned import partitioned_cells

    t = spec.time
    return partitioned_cells(
        source,
        columns,
        cuts=t.cuts,
        time_unit=spec.data.time_unit,
        on_invalid=spec.data.on_invalid,
        periods=list(t.periods) or None,
        period_labels=list(t.period_labels) or None,
        period_name=t.period_name,
        administrative_censoring=t.administrative_censoring,
        scheduler=scheduler,
        workers=workers,
        timings=timings,
    )


def prepare_cells(cells: Cells | str | Path, spec: Spec) -> Prepared:
    """The model's inputs from cells without their units: a cells file, or the Dask engine's.

    The cells' split contract applies: a spec without cut points (a spec-free fit) takes the
    cells' cut points, calendar periods and time unit; a spec with cut points must agree with
    them. The formula may use any of the cells' covariates, the period and the cluster.

    Parameters
    ----------
    cells : Cells or path
        Cells with a :class:`~bayessa.data.cells.UnitSummary`, or a cells file
        (:func:`bayessa.data.cell_file.read_cells`).
    spec : Spec

    Returns
    -------
    Prepared
        With ``data`` None; ``spec`` with the cells' split.

    Raises
    ------
    SpecError
        The spec's split differs from the cells', or the formula uses a variable the cells do
        not carry.
    DataError
        Not a cells file.
    """
    from bayessa.data.cell_file import read_cells

    if not isinstance(cells, Cells):
        cells, _ = read_cells(cells)
    spec = _cells_split(spec, cells)
    keys = [k for k in cells.keys if k != "interval"]
    m = spec.model
    used = [*parse_formula(m.formula).variables, *parse_formula(m.formula).grouping_columns]
    missing = [v for v in dict.fromkeys([*used, *([m.strata] if m.strata else [])])
               if v not in keys]  # fmt: skip
    if missing:
        raise SpecError(
            f"the formula uses {missing}, which the cells do not carry (they have {keys}); "
            "write the cells again with a spec whose formula uses them"
        )
    numeric = cells.units.unit_values() if cells.units.numeric else None
    design = build_design(cells.frame, m.formula, reference=m.reference or None, units=numeric)
    return Prepared(data=None, pieces=cells.pieces, cells=cells, design=design, spec=spec)


def cells_spec(path: str | Path) -> Spec | None:
    """The spec a cells file was written for (stored in its metadata), or None.

    Parameters
    ----------
    path : str or Path
        A cells file (:func:`bayessa.data.cell_file.write_cells`).

    Returns
    -------
    Spec or None
    """
    import tomllib

    from bayessa.data.cell_file import read_cells

    meta = read_cells(path)[1]
    if not meta.get("spec"):
        return None
    return Spec.from_dict(tomllib.loads(meta["spec"]), source=str(path))


def _cells_split(spec: Spec, cells: Cells) -> Spec:
    """``spec`` with the cells' split; a spec with cut points must agree with it."""
    p = cells.pieces
    theirs = {
        "time__cuts": [float(c) for c in p.cuts],
        "time__periods": [str(c) for c in p.periods],
        "time__period_labels": list(p.period_labels) if p.periods else [],
        "time__period_name": p.period_name,
        "time__administrative_censoring": bool(p.administrative_censoring),
        "data__time_unit": p.time_unit,
    }
    if not spec.time.cuts:
        return spec.with_overrides(**theirs)
    t = spec.time
    mine = {
        "time__cuts": [float(c) for c in t.cuts],
        "time__periods": [str(c) for c in t.periods],
        "time__period_labels": list(t.period_labels) or theirs["time__period_labels"],
        "time__period_name": t.period_name,
        "time__administrative_censoring": bool(t.administrative_censoring),
        "data__time_unit": spec.data.time_unit,
    }
    differ = [
        f"{k.replace('__', '.')}: the cells have {theirs[k]!r}, the spec {mine[k]!r}"
        for k in theirs
        if mine[k] != theirs[k]
    ]
    if differ:
        raise SpecError(
            ["the spec's split differs from the one the cells were made with", *differ,
             "write the cells again with this spec (python -m bayessa.cells), or drop the "
             "spec's [time] cut points to take the cells' split"]
        )  # fmt: skip
    return spec
