r"""One simulation of simulation-based calibration (SBC): prior draw -> data -> fit -> ranks.

The design is the study's own: every unit of the spec's data keeps its covariates, cluster, time
zero (calendar founding date) and delayed entry; only its event time and loss to follow-up are
new. For a prior draw :math:`\tilde\theta` the hazard of unit :math:`i` on its Lexis piece
:math:`j` (cell :math:`c(j)`) is :math:`\lambda_{c(j)}(\tilde\theta)`, and

.. math::

    T_i = H_i^{-1}(E_i), \quad E_i \sim \mathrm{Exp}(1), \qquad
    D_i = e_i + \mathrm{Exp}(\rho), \qquad
    X_i = \min(T_i, D_i, h_i), \quad \delta_i = [T_i \le \min(D_i, h_i)],

with :math:`H_i` the cumulative hazard from the entry age :math:`e_i` (left truncation: the draw
is conditional on survival to entry), :math:`\rho` the loss-to-follow-up rate and :math:`h_i` the
unit's administrative horizon: the study end minus its time zero (at most the last cut point).

The simulated table (durations form) goes through the normal pipeline, ``read_data`` -> ``split``
-> ``aggregate`` -> ``build_design`` (:func:`bayessa.model.preparation.prepare`). Its cells are mapped onto a
fixed *template*: every cell (age interval x period x covariates x cluster) a unit could reach
before its horizon. The model is built once on the template with the events and log-exposure in
``pm.Data`` containers, compiled once per worker by nutpie, and re-used with ``with_data``; a
template cell the simulated units never reach gets log-exposure :data:`ABSENT_LOG_EXPOSURE`
(exposure :math:`10^{-300}`), which changes the log-likelihood by :math:`\lambda \cdot 10^{-300}`,
nothing in double precision. The exact sufficient statistics are also computed directly from the
simulated times; the pipeline's must agree with them.

Two choices keep the experiment coherent with the model:

* the fixed-effect columns are centred at a vector fixed before simulating (the event-weighted
  means of the *real* data, the centring the real fit uses), because the prior sits on the centred
  baseline (:func:`bayessa.model.build_model`, ``center``);
* the cluster parameterisation is the one ``auto`` picks on the real data.

Prior draws come from the model itself (``pymc.draw`` on the template model), so they follow the
spec's priors, including the sum-to-zero cluster effects, exactly.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayessa.errors import DataError, SpecError

__all__ = [
    "ABSENT_LOG_EXPOSURE",
    "SBCConfig",
    "Template",
    "build_template",
    "draw_prior",
    "fit_one",
    "simulate",
]

#: Log-exposure of a template cell that no simulated unit reaches (exposure 1e-300).
ABSENT_LOG_EXPOSURE = float(np.log(1e-300))
#: Variables whose scalar elements are ranked (those present in the model).
RANKED = ("beta", "baseline", "baseline_sd", "cluster_sd", "tv_sd")
LOGLIK = "log_likelihood"


@dataclass(frozen=True)
class SBCConfig:
    r"""Everything that defines an SBC run (hashable: workers cache their compiled model by it).

    ``draws``/``tune``/``chains`` are per fit; ``rank_draws`` (:math:`L`) posterior draws, evenly
    thinned from the ``chains x draws``, enter each rank. ``dropout`` is the loss-to-follow-up
    rate per time unit; ``study_end`` (ISO date) defaults to the latest end of follow-up in the data.
    ``contact_days`` and ``contact_jitter_days`` are the inspection schedule of an
    interval-censored spec (:mod:`bayessa.sbc.intervals`); other specs ignore them.

    Parameters
    ----------
    model : str
        Path of the model spec.
    data : str, optional
        Path of the data whose design is kept; default: the spec's data.
    sims : int, default 200
        Simulations.
    seed : int, default 20251125
        Seed of the prior draws and of every simulation's streams.
    chains, draws, tune : int
        Per fit: chains (default 2), draws per chain (500), tuning draws per chain (500).
    rank_draws : int, default 100
        Thinned posterior draws per rank, :math:`L` (at most ``chains * draws``).
    dropout : float, default 0.02
        Loss-to-follow-up rate per time unit (>= 0).
    study_end : str, optional
        Administrative censoring date (ISO 8601).
    contact_days : float, default 365.25
        Interval censoring: a unit is contacted :math:`\lfloor j \cdot` ``contact_days``
        :math:`\rfloor` days after its time zero, :math:`j = 1, 2, \dots` (the bundled data's
        yearly contacts, :data:`bayessa.simulate.sa_groups.CONTACT_INTERVAL_DAYS`).
    contact_jitter_days : int, default 60
        Each contact moved by a whole number of days drawn uniformly from
        :math:`[-J, J]` (:data:`bayessa.simulate.sa_groups.CONTACT_JITTER_DAYS`); less than half
        of ``contact_days``, so the contacts keep their order.
    """

    model: str
    data: str | None = None
    sims: int = 200
    seed: int = 20251125
    chains: int = 2
    draws: int = 500
    tune: int = 500
    rank_draws: int = 100
    dropout: float = 0.02
    study_end: str | None = None
    contact_days: float = 365.25
    contact_jitter_days: int = 60

    def check(self) -> None:
        """Raise SpecError naming every invalid setting."""
        problems = []
        for k in ("sims", "chains", "draws", "rank_draws"):
            if getattr(self, k) < 1:
                problems.append(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.tune < 0 or self.seed < 0:
            problems.append("tune and seed must be >= 0")
        if self.rank_draws > self.chains * self.draws:
            problems.append(
                f"rank_draws ({self.rank_draws}) cannot exceed chains x draws "
                f"({self.chains * self.draws}); lower --rank-draws or raise --draws"
            )
        if not (np.isfinite(self.dropout) and self.dropout >= 0):
            problems.append(f"dropout must be a rate >= 0, got {self.dropout}")
        if not (np.isfinite(self.contact_days) and self.contact_days >= 1):
            problems.append(f"contact_days must be at least 1 day, got {self.contact_days}")
        elif not (
            float(self.contact_jitter_days).is_integer()
            and 0 <= self.contact_jitter_days < self.contact_days / 2
        ):
            problems.append(
                f"contact_jitter_days must be whole days >= 0, less than half of contact_days "
                f"({self.contact_days:g}), so that contacts keep their order; got "
                f"{self.contact_jitter_days}"
            )
        if problems:
            raise SpecError(problems)


@dataclass
class Template:
    """The fixed design, cells and model of an SBC run (see the module docstring).

    Parameters
    ----------
    config : SBCConfig
        The run's settings.
    spec : Spec
        The real spec, with the cluster (and random-walk) parameterisation fixed.
    sim_spec : Spec
        The same spec, reading the simulated durations table.
    units : pandas.DataFrame
        One row per unit: id, entry, origin, covariates, cluster.
    horizon : numpy.ndarray
        Administrative end of follow-up per unit, on the age scale.
    pieces : Pieces
        The units followed to their horizons, split.
    cells : Cells
        Every reachable cell.
    design : Design
        The cells' design.
    center : numpy.ndarray
        Centring of the fixed-effect columns (event-weighted means of the real data).
    model : pymc.Model
        The SBC model, with ``pm.Data`` events and log-exposure.
    info : ModelInfo
        Facts about that model.
    quantities : list of (str, str, tuple of int), optional
        Label, variable and index of every ranked scalar.
    _key_index : pandas.MultiIndex, optional
        :meth:`key_index` of the template cells (set by :func:`build_template`).
    rows : pandas.DataFrame, optional
        With covariates that change during follow-up: every unit's rows up to its horizon
        (its observed path, the last row extended to the horizon); simulated units keep them.
    """

    config: SBCConfig
    spec: Any  # the real spec with the cluster parameterisation fixed
    sim_spec: Any  # the same spec reading the simulated durations table
    units: pd.DataFrame  # one row per unit: ids, entry, origin, covariates, cluster
    horizon: np.ndarray  # administrative end of follow-up per unit (age scale)
    pieces: Any  # units followed to their horizon, split
    cells: Any  # every reachable cell
    design: Any
    center: np.ndarray
    model: Any
    info: Any
    quantities: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)
    _key_index: pd.MultiIndex | None = None
    rows: pd.DataFrame | None = None

    def key_index(self, frame: pd.DataFrame) -> pd.MultiIndex:
        """The cells' keys as text, for matching cells made by the pipeline to the template.

        Parameters
        ----------
        frame : pandas.DataFrame
            Cells with the key columns of the template cells.

        Returns
        -------
        pandas.MultiIndex
        """
        return pd.MultiIndex.from_arrays([frame[k].astype(str).to_numpy() for k in self.cells.keys])


def build_template(config: SBCConfig, *, cause: str | None = None) -> Template:
    """Read the real data and build the template cells and the SBC model (no compilation).

    Parameters
    ----------
    config : SBCConfig
        The run's settings.
    cause : str, optional
        Competing risks: build the template of this cause's model, as the ordinary pipeline
        fits it (:func:`bayessa.model.causes.cause_spec` and
        :func:`~bayessa.model.causes.for_cause`: that cause's formula, its events deciding the
        centring and the parameterisations). The cells are those of every cause.
        :mod:`bayessa.sbc.competing` builds one per cause.

    Returns
    -------
    Template

    Raises
    ------
    SpecError
        An invalid setting, a study end that no unit reaches, ``study_end`` without calendar
        time zeros, a spec with competing risks and no ``cause`` (or a ``cause`` the data do
        not have).
    """
    from bayessa.data.cells import aggregate
    from bayessa.data.columns import to_calendar
    from bayessa.model.design import build_design
    from bayessa.model.pem import build_model, choose_parameterization, model_info
    from bayessa.model.preparation import prepare, resolve_spec

    config.check()
    spec = resolve_spec(config.model)
    real = prepare(config.data, spec)
    causes = real.cells.causes
    if cause is not None:
        from bayessa.model.causes import cause_spec, for_cause

        if cause not in causes:
            raise SpecError(
                f"cause '{cause}' is not in the data; its causes are {list(causes)}"
                if causes
                else f"cause '{cause}' given, but the spec has no competing risks ([data] censored)"
            )
        spec = cause_spec(spec, cause, causes)
        real = for_cause(real, cause, spec)
    elif causes:
        raise SpecError(
            f"the spec has competing risks (causes {list(causes)}): its SBC is "
            "bayessa.sbc.competing (python -m bayessa.sbc detects it), or pass cause=..."
        )
    f = real.data.units
    cuts = real.pieces.cuts
    if real.data.has_calendar:
        calendar_end = (
            float(to_calendar([config.study_end], real.data.time_unit)[0])
            if config.study_end
            else float((f["origin"] + _last_seen(f)).max())
        )
        horizon = calendar_end - f["origin"].to_numpy()
    elif config.study_end:
        raise SpecError(
            "--study-end needs each unit's calendar time zero; the data have none (give a start-date or origin column)"
        )
    else:
        horizon = np.full(len(f), float(_last_seen(f).max()))
    horizon = np.minimum(horizon, cuts[-1])
    keep = horizon > f["entry"].to_numpy()
    if not keep.any():
        raise SpecError("no unit can be followed before the study end; check --study-end")
    units = f.loc[keep].reset_index(drop=True)
    horizon = horizon[keep]
    if real.data.has_paths:
        reach = _reach_rows(real.data, keep, horizon)
    else:
        reach = units.assign(exit=horizon, event=np.zeros(len(units), np.int8))
        if "upper" in reach:  # interval censoring: the template follows every unit, no (L, R]
            reach["upper"] = np.nan
    pieces = real.pieces.replay(replace(real.data, frame=reach))
    cells = aggregate(pieces)
    design = build_design(
        cells.frame, spec.model.formula, reference=spec.model.reference or None, units=units
    )  # the units decide centre, scale, reference values and knots, as in the pipeline
    if list(design.coef_names) != list(real.design.coef_names):
        raise SpecError(
            f"the template's coefficients {design.coef_names} differ from the data's {real.design.coef_names}"
        )
    # events per cell (interval-censored ones shared over the cells of their (L, R], as the
    # pipeline counts them for these choices); without interval censoring the cells' events
    ev = real.cells.effective_events
    X = real.design.X
    center = (ev @ X) / ev.sum() if X.shape[1] else np.zeros(0)
    if real.design.random:
        codes = real.design.random[0].codes
        per = np.bincount(codes, weights=ev, minlength=len(real.design.random[0].levels))
        param, _ = choose_parameterization(per, spec.model.cluster_parameterization)
        spec = spec.with_overrides(model__cluster_parameterization=param)
    # the template has no events: fix every other term's and smooth's form from the real data
    real_info = model_info(real.cells, real.design, spec)
    forms = dict(zip(real_info.random_terms[1:], real_info.random_forms[1:], strict=True))
    forms |= {f"s({c})": f for c, f, _ in real_info.smooth_forms}
    if forms:
        spec = spec.with_overrides(model__random_parameterization=forms)
    if spec.model.baseline != "iid" and not spec.model.strata:
        # the template has no events of its own: fix the random walk's form from the real data too
        k = real.cells.frame["interval"].cat.codes.to_numpy()
        per_interval = np.bincount(
            k, weights=ev, minlength=len(real.cells.frame["interval"].cat.categories)
        )
        walk, _ = choose_parameterization(
            per_interval, spec.model.baseline_parameterization, unit="interval"
        )
        spec = spec.with_overrides(model__baseline_parameterization=walk)
    model, info = build_model(cells, design, spec, center=center, data_containers=True)
    sim_spec = spec.with_overrides(**sim_columns(real.data, units))
    template = Template(
        config, spec, sim_spec, units, horizon, pieces, cells, design, center, model, info
    )
    template.quantities = _quantities(model)
    template._key_index = template.key_index(cells.frame)
    template.rows = reach if real.data.has_paths else None
    return template


def sim_columns(data, units: pd.DataFrame) -> dict[str, Any]:
    """Spec overrides (``data__<role>``) that read the simulated table instead of the real one.

    Parameters
    ----------
    data : SurvivalData
        The real data (calendar time zeros? covariate paths?).
    units : pandas.DataFrame
        The template's units (delayed entry?).

    Returns
    -------
    dict of str to object
        For :meth:`Spec.with_overrides`; ``[data] censored`` (competing risks) is kept. With
        interval censoring (``time_lower``/``time_upper``) the bounds are read from ``sbc_lower``
        and ``sbc_upper`` (:mod:`bayessa.sbc.intervals`).
    """
    from bayessa.model.spec import CLEAR

    cols: dict[str, Any] = dict(id="sbc_id", time="sbc_time", event="sbc_event")
    if data.columns.time_lower:  # interval censoring (bayessa.sbc.intervals): the two bounds
        cols |= dict(time=CLEAR, event=CLEAR, time_lower="sbc_lower", time_upper="sbc_upper")
    cols |= dict(start=CLEAR, stop=CLEAR, event_date=CLEAR, censor_date=CLEAR, path=CLEAR)
    cols |= dict(origin="sbc_origin" if data.has_calendar else CLEAR)
    cols |= dict(entry="sbc_entry" if (units["entry"] > 0).any() else CLEAR)
    cols |= dict(tstart=CLEAR, tstop=CLEAR, changes=CLEAR)
    if data.has_paths:  # each unit's rows, ending at its simulated exit
        cols |= dict(time=CLEAR, entry=CLEAR, tstart="sbc_tstart", tstop="sbc_tstop")
    return {f"data__{k}": v for k, v in cols.items()}


def _last_seen(units: pd.DataFrame) -> np.ndarray:
    """Each unit's last time under observation: its exit, or the upper bound of its (L, R]."""
    exit_ = units["exit"].to_numpy(np.float64)
    if "upper" not in units:
        return exit_
    return np.fmax(exit_, units["upper"].to_numpy(np.float64))


def _reach_rows(data, keep: np.ndarray, horizon: np.ndarray) -> pd.DataFrame:
    """The rows of the units kept, up to their horizons, the last row extended to it, no events.

    A unit's covariate path is its observed one; beyond its last row its last values hold.
    """
    f = data.frame
    unit = data.unit_codes
    kept = keep[unit]
    h = np.full(data.n_units, np.nan)
    h[np.flatnonzero(keep)] = horizon
    rows = f.loc[kept & (f["entry"].to_numpy() < h[unit])].reset_index(drop=True)
    u = pd.factorize(rows["id"])[0]
    last = np.r_[u[1:] != u[:-1], True]
    end = h[unit[kept & (f["entry"].to_numpy() < h[unit])]]
    rows["exit"] = np.where(last, end, np.minimum(rows["exit"].to_numpy(), end))
    rows["event"] = np.zeros(len(rows), np.int8)
    return rows


def _quantities(model) -> list[tuple[str, str, tuple[int, ...]]]:
    """(label, variable, index) of every ranked scalar, e.g. ``("beta[era[early]]", "beta", (1,))``."""
    out = []
    # every SD and correlation of further random terms and smooths ranks too (region_sd,
    # s_year_sd, cluster_slope_sd, cluster_corr)
    extra = [v for v in model.named_vars if v.endswith(("_sd", "_corr")) and v not in RANKED]
    for var in (*RANKED, *sorted(extra)):
        if var not in model.named_vars:
            continue
        dims = model.named_vars_to_dims.get(var) or ()
        shape = tuple(len(model.coords[d]) for d in dims)
        for idx in np.ndindex(*shape):
            label = ",".join(str(model.coords[d][i]) for d, i in zip(dims, idx, strict=True))
            out.append((f"{var}[{label}]" if label else var, var, idx))
    out.append((LOGLIK, LOGLIK, ()))
    return out


def draw_prior(template: Template, n: int, seed: int) -> list[dict[str, np.ndarray]]:
    """``n`` prior draws of every parameter (and deterministic) of the template model.

    Parameters
    ----------
    template : Template
        Its model is drawn from.
    n : int
        Number of draws.
    seed : int
        Random seed of ``pymc.draw``.

    Returns
    -------
    list of dict of str to numpy.ndarray
        One dict per draw: variable name -> value.
    """
    import pymc as pm

    m = template.model
    names = [v.name for v in (*m.free_RVs, *m.deterministics)]
    values = pm.draw([m[v] for v in names], draws=n, random_seed=seed)
    if n == 1:  # pymc.draw gives one draw without the draws axis
        values = [np.asarray(v)[None] for v in values]
    return [{k: np.asarray(v[i]) for k, v in zip(names, values, strict=True)} for i in range(n)]


def _as_posterior(template: Template, truth: dict[str, np.ndarray]) -> xr.Dataset:
    """A one-draw posterior-like Dataset of a prior draw, for :func:`bayessa.posterior.predict.log_rate`."""
    dims_of = template.model.named_vars_to_dims
    return xr.Dataset(
        {
            name: (
                ("chain", "draw", *(dims_of.get(name) or ())),
                np.asarray(truth[name])[None, None],
            )
            for name in truth
            if name in ("baseline", "beta", "tv_delta") or name.endswith(("_effect", "_slope"))
        }
    )


def cell_log_rate(template: Template, posterior: xr.Dataset) -> np.ndarray:
    r"""Draws x template cells of :math:`\log \lambda_c`."""
    from bayessa.model.random import random_prefix
    from bayessa.posterior.predict import log_rate

    d, info, f = template.design, template.info, template.cells.frame
    return log_rate(
        posterior,
        interval=f["interval"].cat.codes.to_numpy().astype(np.int64),
        X=d.X,
        stratum=f[info.strata].cat.codes.to_numpy().astype(np.int64) if info.strata else None,
        tv_columns=[d.coef_names.index(n) for n in info.time_varying_coefs],
        random=[(random_prefix(i, t.name), t.codes, t.Z) for i, t in enumerate(d.random)],
    )


def simulate(
    template: Template, truth: dict[str, np.ndarray], rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Simulate one data set.

    Simulate one data set; returns the durations table and the exact events and exposure per
    template cell (computed directly, for checking the pipeline).

    Parameters
    ----------
    template : Template
        The fixed design.
    truth : dict of str to numpy.ndarray
        One prior draw (:func:`draw_prior`).
    rng : numpy.random.Generator
        Source of the event and loss-to-follow-up times.

    Returns
    -------
    table : pandas.DataFrame
        One row per unit: ``sbc_id``, ``sbc_time``, ``sbc_event``, ``sbc_origin`` and
        ``sbc_entry`` (when the spec uses them), the covariates and the cluster.
    events : numpy.ndarray of int64
        Events per template cell.
    exposure : numpy.ndarray of float
        Exposure per template cell.
    """
    loglam = cell_log_rate(template, _as_posterior(template, truth))[0]
    p, units = template.pieces, template.units
    pf = p.frame
    unit, cell = p.unit_index, template.cells.piece_cell
    start, stop = pf["start"].to_numpy(), pf["stop"].to_numpy()
    e = rng.exponential(size=len(units))
    dropout = draw_dropout(template, rng)
    t_event = latent_times(template, loglam, e)
    end = np.minimum(dropout, template.horizon)
    event = t_event <= end
    exit_ = np.where(event, t_event, end)
    # exact sufficient statistics of the template cells
    expo = np.clip(np.minimum(exit_[unit], stop) - start, 0.0, None)
    ev = event[unit] & (start < exit_[unit]) & (exit_[unit] <= stop)
    n_cells = template.cells.n_cells
    events = np.bincount(cell, weights=ev, minlength=n_cells).round().astype(np.int64)
    exposure = np.bincount(cell, weights=expo, minlength=n_cells)
    if template.sim_spec.data.tstart:
        return _path_table(template, exit_, event), events, exposure
    return durations_table(template, exit_, event.astype(np.int8)), events, exposure


def durations_table(template: Template, exit_: np.ndarray, outcome: np.ndarray) -> pd.DataFrame:
    """The simulated units as a durations table, one row per unit, for the pipeline.

    Parameters
    ----------
    template : Template
        The fixed design.
    exit_ : numpy.ndarray
        Each unit's exit (event or censoring) time, on the age scale.
    outcome : numpy.ndarray
        Each unit's ``sbc_event`` value: 0/1, or (competing risks) its cause or the censoring
        value.

    Returns
    -------
    pandas.DataFrame
        ``sbc_id``, ``sbc_time``, ``sbc_event``, ``sbc_origin`` and ``sbc_entry`` (when the spec
        uses them), the covariates and the cluster.
    """
    units = template.units
    table = {"sbc_id": units["id"].astype(str).to_numpy(), "sbc_time": exit_}
    table["sbc_event"] = outcome
    if template.sim_spec.data.origin:
        table["sbc_origin"] = units["origin"].to_numpy()
    if template.sim_spec.data.entry:
        table["sbc_entry"] = units["entry"].to_numpy()
    for c in (*template.pieces.covariates, *template.pieces.grouping):
        table[c] = units[c].array
    return pd.DataFrame(table)


def draw_dropout(template: Template, rng: np.random.Generator) -> np.ndarray:
    """Each unit's loss-to-follow-up time: entry plus an exponential at ``config.dropout``.

    Parameters
    ----------
    template : Template
        The fixed design (entries, dropout rate).
    rng : numpy.random.Generator
        Source of the times (nothing is drawn without dropout).

    Returns
    -------
    numpy.ndarray
        One time per unit (``inf`` without dropout).
    """
    n_units = len(template.units)
    entry = template.units["entry"].to_numpy()
    if template.config.dropout > 0:
        return entry + rng.exponential(1.0 / template.config.dropout, size=n_units)
    return np.full(n_units, np.inf)


def latent_times(template: Template, loglam: np.ndarray, e: np.ndarray) -> np.ndarray:
    r"""Each unit's event time :math:`H_i^{-1}(E_i)` along its pieces, by inversion.

    Parameters
    ----------
    template : Template
        The fixed design: each unit's pieces up to its horizon, and their cells.
    loglam : numpy.ndarray
        Log hazard per template cell.
    e : numpy.ndarray
        One unit exponential per unit, :math:`E_i`.

    Returns
    -------
    numpy.ndarray
        The time (age scale) at which the cumulative hazard from entry reaches :math:`E_i`;
        ``inf`` when it does not before the unit's horizon.
    """
    p = template.pieces
    pf = p.frame
    unit, cell = p.unit_index, template.cells.piece_cell
    start, stop = pf["start"].to_numpy(), pf["stop"].to_numpy()
    rate = np.exp(loglam[cell])
    n_units = len(template.units)
    n_pieces = np.bincount(unit, minlength=n_units)
    first = np.cumsum(n_pieces) - n_pieces
    pos = np.arange(unit.size) - first[unit]
    inc = np.zeros((n_units, max(int(n_pieces.max()), 1)))
    inc[unit, pos] = rate * (stop - start)
    cum = np.cumsum(inc, axis=1)
    k = (cum < e[:, None]).sum(axis=1)
    hit = k < n_pieces
    j = first + np.minimum(k, n_pieces - 1)
    before = np.where(k > 0, cum[np.arange(n_units), np.maximum(k - 1, 0)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(hit, start[j] + (e - before) / rate[j], np.inf)


def _path_table(
    template: Template,
    exit_: np.ndarray,
    event: np.ndarray,
    outcome: tuple[np.ndarray, str] | None = None,
) -> pd.DataFrame:
    """Counting-process rows of the simulated units: each unit's rows cut at its exit.

    ``sbc_event`` is 1 on the row that ends in the unit's event, else 0; with ``outcome`` (each
    unit's cause, and the censoring value: competing risks) the cause there, else the censoring
    value.
    """
    rows = template.rows
    unit = pd.factorize(rows["id"])[0]
    keep = rows["entry"].to_numpy() < exit_[unit]
    r, u = rows.loc[keep].reset_index(drop=True), unit[keep]
    last = np.r_[u[1:] != u[:-1], True]
    stop = np.minimum(r["exit"].to_numpy(), exit_[u])
    table = {
        "sbc_id": r["id"].astype(str).to_numpy(),
        "sbc_tstart": r["entry"].to_numpy(),
        "sbc_tstop": stop,
        "sbc_event": (last & event[u] & (stop == exit_[u])).astype(np.int8),
    }
    if outcome is not None:
        labels, censored = outcome
        table["sbc_event"] = np.where(table["sbc_event"] == 1, labels[u], censored)
    if template.sim_spec.data.origin:
        table["sbc_origin"] = r["origin"].to_numpy()
    for c in (*template.pieces.covariates, *template.pieces.grouping):
        table[c] = r[c].array
    return pd.DataFrame(table)


def pipeline_cells(template: Template, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Events and exposure per template cell from the normal pipeline (``bayessa.model.preparation.prepare``).

    Raises :class:`~bayessa.errors.DataError` where the pipeline refuses the data (e.g. no events)
    and ``ValueError`` where its cells or coefficients do not match the template.
    """
    from bayessa.model.preparation import prepare

    prep = prepare(table, template.sim_spec)
    if list(prep.design.coef_names) != list(template.design.coef_names):
        raise ValueError(f"pipeline coefficients {prep.design.coef_names} differ from the template")
    idx = template._key_index.get_indexer(template.key_index(prep.cells.frame))
    if (idx < 0).any():
        raise ValueError(f"{int((idx < 0).sum())} pipeline cells are not in the template")
    events = np.zeros(template.cells.n_cells, np.int64)
    exposure = np.zeros(template.cells.n_cells)
    events[idx] = prep.cells.events
    exposure[idx] = prep.cells.exposure
    return events, exposure


@functools.lru_cache(maxsize=2)
def _compiled(config: SBCConfig):
    """The template and its nutpie-compiled model, built once per process (worker).

    Compiled as every fit is (:func:`bayessa.compile.compile_model`, no fastmath); its ``pm.Data``
    containers make that nutpie's own compilation, re-used for each simulation's data.
    """
    from bayessa.sampling.compile_cache import compile_model

    template = build_template(config)
    return template, compile_model(template.model)[0]


def _seeds(config: SBCConfig, index: int) -> tuple[np.random.Generator, int, np.random.Generator]:
    """Independent streams for sim ``index``: data, sampler seed, rank tie-breaking."""
    ss = np.random.SeedSequence([config.seed, index])
    data_ss, fit_ss, rank_ss = ss.spawn(3)
    fit_seed = int(np.random.default_rng(fit_ss).integers(0, 2**31 - 1))
    return np.random.default_rng(data_ss), fit_seed, np.random.default_rng(rank_ss)


def fit_one(config: SBCConfig, index: int, truth: dict[str, np.ndarray]) -> dict:
    """Simulate data for prior draw ``truth``, fit it and return the ranks and diagnostics.

    Never raises: a failure is returned as a record with ``error`` set, so that it is counted
    (dropping failed fits silently would bias the calibration check).

    Parameters
    ----------
    config : SBCConfig
        The run's settings.
    index : int
        The simulation's number (``sim``); with ``config.seed`` it seeds the simulation.
    truth : dict of str to numpy.ndarray
        The prior draw (:func:`draw_prior`).

    Returns
    -------
    dict
        ``sim``, ``error`` (None, or the exception as text), ``seconds`` and, as far as the
        simulation got: ``fit_seed``, ``n_events``, ``n_units``, ``pipeline``, the diagnostics
        (``divergences``, ``treedepth_hits``, ``max_rhat``, ``min_ess_bulk``), ``ranks`` and
        ``truth`` (quantity label -> value).
    """
    record: dict[str, Any] = {"sim": index, "error": None}
    t0 = time.perf_counter()
    try:
        template, compiled = _compiled(config)
        data_rng, fit_seed, rank_rng = _seeds(config, index)
        record["fit_seed"] = fit_seed
        table, events, exposure = simulate(template, truth, data_rng)
        record |= {"n_events": int(events.sum()), "n_units": int(table["sbc_id"].nunique())}
        try:
            p_events, p_exposure = pipeline_cells(template, table)
            agree = np.array_equal(p_events, events) and np.allclose(
                p_exposure, exposure, rtol=1e-9, atol=1e-12
            )
            record["pipeline"] = "ok" if agree else "mismatch"
            if agree:
                events, exposure = p_events, p_exposure
        except DataError as err:
            record["pipeline"] = f"refused: {err.problems[0]}"
        fitted = fit_and_rank(
            config, template, compiled, truth, events, exposure, fit_seed, rank_rng
        )
        record |= fitted.diagnostics | {"ranks": fitted.ranks, "truth": fitted.truths}
    except Exception as err:  # noqa: BLE001 - recorded, counted and reported, never dropped
        record["error"] = f"{type(err).__name__}: {err}"
    record["seconds"] = time.perf_counter() - t0
    return record


@dataclass
class Fitted:
    """One fit of an SBC simulation: its diagnostics, ranks and log-likelihood draws.

    Parameters
    ----------
    diagnostics : dict
        ``divergences``, ``treedepth_hits``, ``max_rhat``, ``min_ess_bulk``.
    ranks : dict of str to int
        Quantity label -> rank of its true value among the thinned draws.
    truths : dict of str to float
        Quantity label -> its true value.
    loglik_truth : float
        Log-likelihood of the data at the true parameters.
    loglik_draws : numpy.ndarray
        Log-likelihood of the data at each of the ``rank_draws`` thinned draws.
    """

    diagnostics: dict
    ranks: dict[str, int]
    truths: dict[str, float]
    loglik_truth: float
    loglik_draws: np.ndarray


def fit_and_rank(
    config: SBCConfig,
    template: Template,
    compiled: Any,
    truth: dict[str, np.ndarray],
    events: np.ndarray,
    exposure: np.ndarray,
    fit_seed: int,
    rank_rng: np.random.Generator,
    *,
    interval: Any = None,
) -> Fitted:
    """Fit the template model to events and exposure per template cell; rank the truth.

    Parameters
    ----------
    config : SBCConfig
        The run's settings (draws, chains, ``rank_draws``).
    template : Template
        The fixed design and model.
    compiled : nutpie compiled model
        The template model, compiled (re-used with its data replaced).
    truth : dict of str to numpy.ndarray
        The prior draw the data were simulated from.
    events, exposure : numpy.ndarray
        Events and exposure per template cell.
    fit_seed : int
        Seed of the sampler.
    rank_rng : numpy.random.Generator
        Breaks ties between the truth and draws at random.
    interval : IntervalTerms, optional
        Interval censoring (:class:`bayessa.sbc.intervals.IntervalTerms`): the simulated data's
        :math:`(L, R]` terms, passed to the compiled model with the cells' data
        (:meth:`~bayessa.sbc.intervals.IntervalTerms.data`) and added to the log-likelihood.

    Returns
    -------
    Fitted
    """
    from bayessa.posterior.predict import thin as thin_draws
    from bayessa.sbc.stats import rank

    log_exposure = np.full(exposure.shape, ABSENT_LOG_EXPOSURE)
    np.log(exposure, out=log_exposure, where=exposure > 0)
    extra = interval.data() if interval is not None else {}
    dt = _sample(config, template, compiled, events, log_exposure, fit_seed, **extra)
    diagnostics = _diagnostics(dt, config)
    thin = thin_draws(dt["posterior"].dataset, config.rank_draws, method="even")
    truth_ll = _loglik(template, _as_posterior(template, truth), events, exposure, interval)
    draws_ll = _loglik(template, thin, events, exposure, interval)
    ranks, truths = {}, {}
    for label, var, idx in template.quantities:
        if var == LOGLIK:
            t, d = float(truth_ll[0]), draws_ll
        else:
            t = float(np.asarray(truth[var])[idx])
            d = thin[var].transpose("chain", "draw", ...).to_numpy()[(0, slice(None), *idx)]
        truths[label] = t
        ranks[label] = rank(t, d, rank_rng)
    return Fitted(diagnostics, ranks, truths, float(truth_ll[0]), np.asarray(draws_ll))


def _sample(config, template, compiled, events, log_exposure, seed, **extra):
    import nutpie

    from bayessa.sampling.nuts import choose_adaptation

    s = template.spec.sampler
    adaptation, _ = choose_adaptation(s.adaptation, int(compiled.n_dim))
    return nutpie.sample(
        compiled.with_data(events_data=events, log_exposure=log_exposure, **extra),
        draws=config.draws,
        tune=config.tune,
        chains=config.chains,
        cores=1,
        seed=seed,
        target_accept=s.target_accept,
        adaptation=adaptation,
        save_warmup=False,
        progress_bar=False,
    )


def _loglik(template, posterior, events, exposure, interval=None) -> np.ndarray:
    r"""Poisson cell log-likelihood per draw, over reached cells.

    Poisson cell log-likelihood per draw, :math:`\sum_c D_c \log(\lambda_c T_c) - \lambda_c T_c`
    (the constant :math:`-\log D_c!` dropped), over reached cells; with interval censoring plus
    the :math:`(L, R]` terms :math:`\sum_p w_p \log(1 - e^{-\Delta_p})`.
    """
    log_rate = cell_log_rate(template, posterior)
    lr = log_rate[:, exposure > 0]
    d, t = events[exposure > 0], exposure[exposure > 0]
    out = lr @ d + d @ np.log(t) - np.exp(lr) @ t
    if interval is not None:
        out = out + interval.log_likelihood(log_rate)
    return out


def _diagnostics(dt, config: SBCConfig) -> dict:
    import arviz as az

    names = [v for v in RANKED if v in dt["posterior"].dataset]
    rhat = az.rhat(dt, var_names=names)
    ess = az.ess(dt, var_names=names, method="bulk")
    stats = dt["sample_stats"].dataset
    return {
        "divergences": int(stats["diverging"].sum()),
        "treedepth_hits": int(stats["maxdepth_reached"].sum())
        if "maxdepth_reached" in stats
        else 0,
        "max_rhat": float(max(float(rhat[v].max()) for v in rhat.data_vars)),
        "min_ess_bulk": float(min(float(ess[v].min()) for v in ess.data_vars)),
    }
