"""The Python API's fit: ``bayessa.fit(data, spec, **overrides)``.

A fit composes the pure steps of the pipeline::

    read + validate -> split (Lexis) -> aggregate -> design -> model -> sample -> DataTree

and returns a :class:`~bayessa.api.result.FitResult` whose DataTree holds everything later steps
need.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from bayessa.errors import SpecError
from bayessa.model.preparation import cells_spec, prepare, prepare_cells, resolve_spec
from bayessa.model.spec import Spec

__all__ = ["DATA_INPUT_MAX_CELLS", "PREFETCH", "data_as_inputs", "fit", "fit_prepared"]

#: Up to this many cells the data enter the compiled model as inputs (``pm.Data``), so a refit
#: of the same structure to other data (filtered rows, a new sample with the same levels) loads
#: the compiled model from the cache. Above it they are constants: measured on the default
#: model, inputs sampled as fast as constants at 758 cells (1.1-1.3 s vs 1.0-1.4 s, 4 x 1,000
#: draws) but 1.7x slower at 3,168 cells (100,000 groups: 3.0-3.8 s vs 1.8-2.1 s), where the
#: one-off compilation matters less than every sampling run.
DATA_INPUT_MAX_CELLS = 2000

#: Modules the steps after sampling import (the summary's statistics, the run's netCDF archive,
#: the report's figures), imported while the chains run: the main thread only waits then.
PREFETCH = (
    "arviz_stats",
    "h5netcdf",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
)


def data_as_inputs(cells) -> bool:
    """Whether the data enter the compiled model as inputs rather than constants.

    Parameters
    ----------
    cells : Cells
        The aggregated data.

    Returns
    -------
    bool
        True up to :data:`DATA_INPUT_MAX_CELLS` cells, and without interval-censored units
        (their :math:`(L, R]` terms are constants of the model).
    """
    return cells.n_cells <= DATA_INPUT_MAX_CELLS and cells.interval_cell is None


def fit(
    data: str | Path | pd.DataFrame | None = None,
    spec: Spec | str | Path | None = None,
    *,
    cells: str | Path | None = None,
    engine: str = "auto",
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool | None = None,
    log_likelihood: bool | str = "auto",
    **overrides: Any,
):
    """Fit a hierarchical piecewise-exponential model.

    Three ways to say what to fit: nothing (the bundled default analysis of the bundled data), a
    spec file (with optional overrides), or your own table with its column roles and a formula --
    a **spec-free** fit, where nothing of the bundled analysis applies (see
    :func:`bayessa.model.preparation.resolve_spec`).

    Parameters
    ----------
    data : path or DataFrame, optional
        The units (CSV, Parquet, Feather, Stata, SPSS, Excel or a DataFrame); default: the spec's
        ``[data] path``.
    spec : Spec or path, optional
        Model spec; default: the bundled default analysis when ``data`` is not given, a
        spec-free analysis of ``data`` when it is, the spec stored in the cells file with
        ``cells``.
    cells : path, optional
        Fit from a cells file (``python -m bayessa.cells``) instead of ``data``: the run has no
        units (no per-unit log-likelihood, Kaplan-Meier curves or predictive checks).
    engine : {"auto", "memory", "dask"}, default "auto"
        How ``data`` are read: in memory, or partition by partition on Dask (keeping only the
        cells, as from a cells file); ``"auto"``: Dask for Parquet data of more than
        :data:`bayessa.data.partitioned.DASK_MIN_ROWS` rows.
    scheduler : str, optional
        A running Dask scheduler's address (default: a local cluster).
    workers : int, default 2
        Worker processes of the local Dask cluster.
    progress : bool, optional
        Progress bar; default only on a terminal.
    log_likelihood : bool or "auto"
        Store the per-unit log-likelihood (for LOO). ``"auto"``: when units x samples is at most
        :data:`bayessa.model.loglik.DEFAULT_MAX_ELEMENTS`.
    **overrides
        Column roles: ``time``, ``event``, ``start``, ``stop``, ``event_date``,
        ``censor_date``, ``entry``, ``id``, ``origin``, ``tstart``/``tstop`` (several rows per
        unit: the counting-process form) (or ``columns={role: column}``). A table of covariate
        changes: ``changes`` (path or DataFrame), ``change_time`` (its column of change times or
        dates), ``change_id`` (its id column; default the data's ``id``). Model:
        ``formula``, ``reference={variable: level}``, ``strata``, ``time_varying``,
        ``baseline``, ``cluster_parameterization``, ``baseline_parameterization``, ``cuts``
        (default: chosen from the data), ``administrative_censoring``, ``time_unit``
        (``"days"``, ``"weeks"``, ``"months"``, ``"years"``), ``on_invalid``. Sampler:
        ``draws``, ``tune``, ``chains``, ``seed``, ``target_accept``, ``sampler``, ``cores``,
        ``ess`` (a minimum bulk ESS to sample to, adding chains; :mod:`bayessa.api.ess_target`),
        ``max_chains``. Competing risks: ``censored`` (the ``event`` value of a censored unit;
        the others are causes).

    Returns
    -------
    FitResult or CompetingRisksResult
        With competing risks (``censored=...``): one cause-specific fit per cause
        (:class:`bayessa.api.competing.CompetingRisksResult`).

    Examples
    --------
    R's ``veteran`` data, durations in days, with nothing but the table::

        result = bayessa.fit(
            "veteran.csv", formula="trt + celltype", time="time", event="status",
            time_unit="days",
        )
        result.hazard_ratios()
    """
    changes = overrides.get("changes")
    if cells is not None:
        if data is not None:
            raise SpecError("give either data or cells (a cells file), not both")
        if spec is None and not overrides.get("formula"):
            spec = cells_spec(cells)
    spec = resolve_spec(spec, data=data if cells is None else cells, **overrides)
    timings: dict[str, Any] = {}
    t0 = time.perf_counter()
    if cells is not None:
        prepared = prepare_cells(cells, spec)
    else:
        table_changes = changes if isinstance(changes, pd.DataFrame) else None
        prepared = prepare(data, spec, changes=table_changes, engine=engine,
                           scheduler=scheduler, workers=workers)  # fmt: skip
    spec = prepared.spec  # with the cut points chosen from the data, if it gave none
    timings["prepare_s"] = time.perf_counter() - t0
    if prepared.cells.causes:  # competing risks: a cause-specific model per cause
        from bayessa.api.competing import CompetingRisksResult
        from bayessa.model.causes import cause_spec, for_cause

        results = {}
        for cause in prepared.cells.causes:
            spec_c = cause_spec(spec, cause, prepared.cells.causes)
            results[cause] = fit_prepared(
                for_cause(prepared, cause, spec_c), spec_c, progress=progress,
                log_likelihood=log_likelihood, timings=dict(timings),
            )  # fmt: skip
        return CompetingRisksResult(results, spec=spec, prepared=prepared)
    return fit_prepared(
        prepared, spec, progress=progress, log_likelihood=log_likelihood, timings=timings
    )


def fit_prepared(
    prepared, spec: Spec, *, progress: bool | None, log_likelihood: bool | str, timings: dict
):
    """Build, sample and assemble the model of prepared data.

    The part of :func:`fit` after :func:`bayessa.model.preparation.prepare`.

    Parameters
    ----------
    prepared : Prepared
        Data, pieces, cells and design.
    spec : Spec
        The spec as applied (cut points set).
    progress : bool or None
        Progress bar; None: only on a terminal.
    log_likelihood : bool or "auto"
        Store the per-unit log-likelihood.
    timings : dict
        Timings so far (updated).

    Returns
    -------
    FitResult
    """
    from bayessa.api.ess_target import sample_to_target
    from bayessa.api.result import FitResult
    from bayessa.model.pem import build_model, model_info
    from bayessa.posterior.datatree import assemble
    from bayessa.sampling.nuts import sample
    from bayessa.sampling.warm import fit_key

    cells, design, inputs = prepared.cells, prepared.design, data_as_inputs(prepared.cells)
    info = model_info(cells, design, spec)
    key = None
    if spec.sampler.backend == "nutpie":  # the model is built only if no warm entry holds it
        key = fit_key(cells, design, spec, data_containers=inputs)
    timings["build_s"] = 0.0

    def build():
        return build_model(cells, design, spec, data_containers=inputs)[0]

    dt = sample(
        build, spec.sampler, progress=progress, timings=timings, warm_key=key, prefetch=PREFETCH
    )

    def draw_more(settings, more_timings):
        return sample(build, settings, progress=progress, timings=more_timings, warm_key=key)

    dt, table, rounds = sample_to_target(dt, draw_more, spec.sampler, timings)
    t3 = time.perf_counter()
    dt = assemble(dt, prepared, spec, info, log_likelihood=log_likelihood)
    timings["assemble_s"] = time.perf_counter() - t3
    dt.attrs["bayessa_timings"] = json.dumps(timings)
    if rounds:
        dt.attrs["bayessa_ess_rounds"] = json.dumps(rounds)
    result = FitResult(idata=dt, spec=spec, prepared=prepared, info=info)
    result._table = table  # the statistics of the pooled chains, already computed
    return result
