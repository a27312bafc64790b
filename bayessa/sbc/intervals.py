r"""Simulation-based calibration of an interval-censored spec: events seen only at contacts.

A spec with ``[data] time_lower`` and ``time_upper`` (R's ``interval2`` conventions,
:mod:`bayessa.data.intervals`) knows each event only to lie between two contacts. Its SBC
simulates that: the design, the prior draw, the latent event times, loss to follow-up and the
study end are those of the single-cause SBC (:mod:`bayessa.sbc.sim`), and then each event time is
**coarsened by an inspection schedule like the data's**. Unit :math:`i` (time zero :math:`0`,
entry :math:`e_i`) is contacted at

.. math::

    c_{ij} = \bigl(\lfloor j \cdot \text{contact\_days} \rfloor + J_{ij}\bigr) / u, \qquad
    J_{ij} \sim \mathrm{Uniform}\{-J, \dots, J\},\; j = 1, 2, \dots,

(:math:`u` days per time unit; the bundled data's yearly contacts on the anniversaries of the
founding, :math:`\pm 60` days: ``data/README.md``, "Contact dates", and
:mod:`bayessa.simulate.sa_groups`), plus its entry and a **final contact** at the end of its
follow-up :math:`X_i = \min(D_i, h_i)` (loss to follow-up or the study end), where its state is
seen as at any contact. With :math:`T_i` the latent event time,

.. math::

    T_i \le X_i:\;\; (L_i, R_i] = \bigl(\max\{e_i, c_{ij} < T_i\},\;
        \min\{X_i, c_{ij} \ge T_i\}\bigr], \qquad
    T_i > X_i:\;\; L_i = X_i,\ R_i \text{ blank (right-censored)},

so :math:`L_i < T_i \le R_i` always. The contacts are drawn independently of :math:`T_i` and
:math:`D_i`, so the coarsening is non-informative and the likelihood is the model's,
:math:`\{S(L_i) - S(R_i)\} / S(e_i)` or :math:`S(X_i) / S(e_i)`. (``sa_groups`` takes the first
scheduled contact after a closure even when the group would have been lost to follow-up before
it; with the final contact at loss to follow-up, this SBC's process is exactly non-informative.)

The table (``sbc_lower``, ``sbc_upper``: durations; blank upper = censored) goes through the
ordinary pipeline, ``prepare`` -> pieces with their :math:`(L, R]` split
(:attr:`bayessa.data.lexis.Pieces.interval_frame`) -> cells
(:attr:`bayessa.data.cells.Cells.interval_cell`) -> interval patterns
(:func:`bayessa.model.intervals.interval_patterns`), and its cells and each unit's
:math:`(L, R]` exposure per cell must equal those computed directly from the simulated bounds.

**One compiled model for every data set.** The pipeline's model holds the :math:`(L, R]` terms as
constants (:func:`bayessa.api.pipeline.data_as_inputs` is False), so it cannot be re-used across
data sets. The SBC model is the single-cause template model (events and log-exposure in
``pm.Data``) plus the same term, :math:`\sum_p w_p \log(1 - e^{-\Delta_p})` with
:math:`\Delta_p = \sum_w t_{pw} e^{\eta_{c_{pw}}}` (:func:`add_interval_containers`), whose
patterns sit in ``pm.Data`` containers of a **fixed padded shape** chosen from the template: one
row per unit (no data set has more interval-censored units, hence patterns) and as many columns
as the most pieces any unit has up to its horizon (no :math:`(L, R]` crosses more). A padding row
has weight 0 and contributes nothing; its :math:`\Delta` is set to 1 so that neither it nor its
gradient is ever undefined. The model is compiled once per worker and each data set's patterns
(the pipeline's, mapped onto the template cells) are passed with ``with_data``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayessa.errors import DataError, SpecError
from bayessa.sbc.sim import (
    SBCConfig,
    Template,
    _as_posterior,
    _seeds,
    build_template,
    cell_log_rate,
    draw_dropout,
    durations_table,
    fit_and_rank,
    latent_times,
)

__all__ = [
    "IntervalData",
    "IntervalTemplate",
    "IntervalTerms",
    "add_interval_containers",
    "build_interval_template",
    "contact_bounds",
    "fit_one_interval",
    "interval_summary",
    "is_interval",
    "pipeline_interval_cells",
    "simulate_interval",
]

#: Names of the ``pm.Data`` containers of the interval patterns.
CONTAINERS = ("interval_cell", "interval_length", "interval_weight")


def is_interval(config: SBCConfig) -> bool:
    """Whether the spec of ``config`` is interval-censored (``[data] time_lower`` is set).

    Parameters
    ----------
    config : SBCConfig
        The run's settings.

    Returns
    -------
    bool
    """
    from bayessa.model.preparation import resolve_spec

    return resolve_spec(config.model).data.time_lower is not None


@dataclass(frozen=True)
class IntervalTerms:
    r"""The :math:`(L, R]` terms of one data set, padded to the template's fixed shape.

    Row :math:`p` is a pattern: :math:`w_p` units whose :math:`(L, R]` crosses the template
    cells ``cell[p]`` for the lengths ``length[p]`` (0 for padding), so that
    :math:`\Delta_p = \sum_w` ``length[p, w]`` :math:`\lambda_{\text{cell}[p, w]}`.

    Parameters
    ----------
    cell : numpy.ndarray of int64, shape (P, W)
        Template cells (padding: cell 0).
    length : numpy.ndarray of float64, shape (P, W)
        Lengths (padding: 0).
    weight : numpy.ndarray of float64, shape (P,)
        Units per pattern (padding rows: 0).
    """

    cell: np.ndarray
    length: np.ndarray
    weight: np.ndarray

    @property
    def n_patterns(self) -> int:
        """Rows that are patterns (weight > 0), not padding."""
        return int((self.weight > 0).sum())

    def data(self) -> dict[str, np.ndarray]:
        """The arrays by container name, for nutpie's ``compiled.with_data`` or ``pm.set_data``.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        return dict(zip(CONTAINERS, (self.cell, self.length, self.weight), strict=True))

    def log_likelihood(self, log_rate: np.ndarray) -> np.ndarray:
        r""":math:`\sum_p w_p \log(1 - e^{-\Delta_p})` per draw.

        Parameters
        ----------
        log_rate : numpy.ndarray, shape (S, n_cells)
            Log hazard per draw and template cell.

        Returns
        -------
        numpy.ndarray, shape (S,)
        """
        used = self.weight > 0
        rate = np.exp(log_rate)[:, self.cell[used]]
        delta = np.einsum("spw,pw->sp", rate, self.length[used])
        return np.log(-np.expm1(-delta)) @ self.weight[used]


@dataclass
class IntervalTemplate:
    """The fixed design of an interval-censored SBC: the template and the contact schedule.

    Parameters
    ----------
    base : Template
        The single-cause template (:func:`bayessa.sbc.sim.build_template`), its model with the
        interval term in ``pm.Data`` containers (:func:`add_interval_containers`).
    width : int
        Columns of the padded patterns: the most template pieces of any unit.
    n_contacts : int
        Scheduled contacts per unit, enough for the longest horizon with the jitter.
    days_per_unit : float
        Days per time unit of the spec.
    """

    base: Template
    width: int
    n_contacts: int
    days_per_unit: float

    @property
    def quantities(self) -> list[tuple[str, str, tuple[int, ...]]]:
        """The ranked quantities (those of the template)."""
        return self.base.quantities

    @property
    def shape(self) -> tuple[int, int]:
        """The fixed shape of the padded patterns: (units, :attr:`width`)."""
        return len(self.base.units), self.width


def build_interval_template(config: SBCConfig) -> IntervalTemplate:
    """Build the template and its model with the interval term (no compilation).

    Parameters
    ----------
    config : SBCConfig
        The run's settings; its spec has ``time_lower`` and ``time_upper``.

    Returns
    -------
    IntervalTemplate

    Raises
    ------
    SpecError
        The spec is not interval-censored, its units have covariate paths, or an invalid
        setting (:func:`bayessa.sbc.sim.build_template`).
    """
    from bayessa.data.columns import TIME_UNITS

    if not is_interval(config):
        raise SpecError(
            "the spec has no interval censoring ([data] time_lower/time_upper); "
            "use bayessa.sbc.sim.build_template"
        )
    base = build_template(config)
    if base.rows is not None:  # pragma: no cover - the loader refuses paths with intervals
        raise SpecError("interval censoring with covariate paths is not supported by the SBC")
    n_pieces = np.bincount(base.pieces.unit_index, minlength=len(base.units))
    width = max(int(n_pieces.max()), 1)
    add_interval_containers(base.model, len(base.units), width)
    days = TIME_UNITS[base.spec.data.time_unit]
    longest = float(np.max(base.horizon)) * days + config.contact_jitter_days
    n_contacts = int(np.ceil(longest / config.contact_days)) + 1
    return IntervalTemplate(base, width, n_contacts, days)


def _cell_log_hazard(model):
    r"""The cells' log hazard :math:`\eta` of a template model (``data_containers=True``).

    It is the term beside the log-exposure in the mean of the cells' Poisson, ``events``:
    :math:`\mu = \exp(\eta + \log T)`; anything else is refused.
    """
    events = model["events"]
    mu = events.owner.inputs[-1]
    add = mu.owner.inputs[0].owner if mu.owner is not None else None
    log_exposure = model["log_exposure"]
    ok = (
        mu.owner is not None
        and getattr(mu.owner.op, "scalar_op", None).__class__.__name__ == "Exp"
        and add is not None
        and add.op.scalar_op.__class__.__name__ == "Add"
        and len(add.inputs) == 2
        and add.inputs[1] is log_exposure
    )
    if not ok:  # pragma: no cover - guards a change of bayessa.model.pem._likelihood
        raise SpecError("the template model's events are not Poisson(exp(eta + log_exposure))")
    return add.inputs[0]


def add_interval_containers(model, n_patterns: int, width: int) -> None:
    r"""Add :math:`\sum_p w_p \log(1 - e^{-\Delta_p})` with its patterns in ``pm.Data``.

    The term of :func:`bayessa.model.intervals.add_interval_likelihood` (named
    ``interval_censored`` too), with ``interval_cell`` (int64), ``interval_length`` and
    ``interval_weight`` containers of shape ``(n_patterns, width)``, ``(n_patterns, width)`` and
    ``(n_patterns,)``, all padding at first (weight 0). A row of weight 0 gets
    :math:`\Delta = 1`: it adds 0 to the log-density and to its gradient.

    Parameters
    ----------
    model : pymc.Model
        A template model (:func:`bayessa.sbc.sim.build_template`: events and log-exposure in
        ``pm.Data``); changed in place.
    n_patterns, width : int
        The fixed shape.
    """
    import pymc as pm
    import pytensor.tensor as pt

    eta = _cell_log_hazard(model)
    with model:
        cell = pm.Data(CONTAINERS[0], np.zeros((n_patterns, width), np.int64))
        length = pm.Data(CONTAINERS[1], np.zeros((n_patterns, width)))
        weight = pm.Data(CONTAINERS[2], np.zeros(n_patterns))
        delta = (pt.exp(eta)[cell] * length).sum(axis=1) + pt.eq(weight, 0)
        pm.Potential("interval_censored", (weight * pt.log1mexp(-delta)).sum())


# ------------------------------------------------------------------ simulation


def contact_bounds(
    it: IntervalTemplate,
    config: SBCConfig,
    time_: np.ndarray,
    end: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's ``time_lower`` and ``time_upper`` under the contact schedule.

    Parameters
    ----------
    it : IntervalTemplate
        The fixed design (entries, contacts per unit, days per time unit).
    config : SBCConfig
        ``contact_days`` and ``contact_jitter_days``.
    time_ : numpy.ndarray
        Latent event times (``inf``: none before the horizon).
    end : numpy.ndarray
        End of each unit's follow-up, its final contact (loss to follow-up or the study end).
    rng : numpy.random.Generator
        Source of the jitters: ``n_contacts`` whole numbers of days per unit, row-major.

    Returns
    -------
    lower, upper : numpy.ndarray
        An event (``time_ <= end``) lies in ``(lower, upper]``; a censored unit has
        ``lower = end`` and ``upper`` NaN.
    """
    n, k, J = len(time_), it.n_contacts, int(config.contact_jitter_days)
    entry = it.base.units["entry"].to_numpy(np.float64)
    jitter = rng.integers(-J, J + 1, size=(n, k))
    nominal = np.floor(np.arange(1, k + 1) * config.contact_days)
    contact = (nominal[None, :] + jitter) / it.days_per_unit
    valid = (contact > entry[:, None]) & (contact < end[:, None])
    before = valid & (contact < time_[:, None])
    after = valid & (contact >= time_[:, None])
    lower = np.maximum(np.where(before, contact, -np.inf).max(axis=1), entry)
    upper = np.minimum(np.where(after, contact, np.inf).min(axis=1), end)
    event = time_ <= end
    return np.where(event, lower, end), np.where(event, upper, np.nan)


@dataclass
class IntervalData:
    """One simulated interval-censored data set, and its exact statistics.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per unit: ``sbc_id``, ``sbc_lower``, ``sbc_upper`` (blank: right-censored),
        ``sbc_origin`` and ``sbc_entry`` (when the spec uses them), the covariates and cluster.
    latent : numpy.ndarray
        Each unit's latent event time (``inf``: none before its horizon).
    end : numpy.ndarray
        Each unit's end of follow-up (its final contact).
    lower, upper : numpy.ndarray
        The bounds (as in the table).
    events : numpy.ndarray of int64
        Exactly observed events per template cell (none: every event lies between contacts).
    exposure : numpy.ndarray of float
        Exposure per template cell: each unit's follow-up up to its ``lower``.
    terms : IntervalTerms
        One row per unit (weight 1 for an event, 0 otherwise): its template pieces clipped to
        its :math:`(L, R]`.
    unit_exposure : numpy.ndarray, shape (n_units, n_cells)
        Length of each unit's :math:`(L, R]` in each template cell (0 for censored units).
    """

    table: pd.DataFrame
    latent: np.ndarray
    end: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    events: np.ndarray
    exposure: np.ndarray
    terms: IntervalTerms
    unit_exposure: np.ndarray

    @property
    def event(self) -> np.ndarray:
        """Which units had the event (seen between two contacts)."""
        return np.isfinite(self.upper)


def simulate_interval(
    it: IntervalTemplate, config: SBCConfig, truth: dict[str, np.ndarray], rng: np.random.Generator
) -> IntervalData:
    """Simulate one interval-censored data set for the prior draw ``truth``.

    Parameters
    ----------
    it : IntervalTemplate
        The fixed design.
    config : SBCConfig
        The contact schedule.
    truth : dict of str to numpy.ndarray
        One prior draw (:func:`bayessa.sbc.sim.draw_prior`).
    rng : numpy.random.Generator
        Source of the latent times (one unit exponential per unit), the loss-to-follow-up times
        (as :func:`bayessa.sbc.sim.simulate` draws them) and then the contacts' jitters.

    Returns
    -------
    IntervalData
    """
    t = it.base
    loglam = cell_log_rate(t, _as_posterior(t, truth))[0]
    n_units, n_cells = len(t.units), t.cells.n_cells
    e = rng.exponential(size=n_units)
    dropout = draw_dropout(t, rng)
    latent = latent_times(t, loglam, e)
    end = np.minimum(dropout, t.horizon)
    lower, upper = contact_bounds(it, config, latent, end, rng)
    event = np.isfinite(upper)
    # exact statistics: follow-up up to L in the cells, (L, R] in the interval terms
    pf = t.pieces.frame
    unit, cell = t.pieces.unit_index, t.cells.piece_cell
    start, stop = pf["start"].to_numpy(), pf["stop"].to_numpy()
    expo = np.clip(np.minimum(lower[unit], stop) - start, 0.0, None)
    exposure = np.bincount(cell, weights=expo, minlength=n_cells)
    events = np.zeros(n_cells, np.int64)
    with np.errstate(invalid="ignore"):  # NaN upper bounds: censored units, no (L, R]
        inside = np.minimum(upper[unit], stop) - np.maximum(lower[unit], start)
    inside = np.where(event[unit] & (inside > 0), inside, 0.0)
    n_pieces = np.bincount(unit, minlength=n_units)
    slot = np.arange(unit.size) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    cell_pad = np.zeros(it.shape, np.int64)
    len_pad = np.zeros(it.shape)
    cell_pad[unit, slot] = cell
    len_pad[unit, slot] = inside
    terms = IntervalTerms(cell_pad, len_pad, event.astype(np.float64))
    unit_exposure = np.zeros((n_units, n_cells))
    np.add.at(unit_exposure, (unit, cell), inside)
    table = durations_table(t, lower, np.zeros(n_units, np.int8))
    table = table.drop(columns="sbc_event").rename(columns={"sbc_time": "sbc_lower"})
    table.insert(2, "sbc_upper", upper)
    return IntervalData(table, latent, end, lower, upper, events, exposure, terms, unit_exposure)


def pipeline_interval_cells(
    it: IntervalTemplate, table: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, IntervalTerms, np.ndarray]:
    """Cells and :math:`(L, R]` terms of a simulated table, from the ordinary pipeline.

    ``prepare`` (read, split with each :math:`(L, R]` in its own pieces, aggregate, design), then
    :func:`bayessa.model.intervals.interval_patterns`, the patterns the pipeline's model adds;
    everything mapped onto the template cells, the patterns padded to the template's shape.

    Parameters
    ----------
    it : IntervalTemplate
        The fixed design.
    table : pandas.DataFrame
        A simulated table (:attr:`IntervalData.table`).

    Returns
    -------
    events, exposure : numpy.ndarray
        Per template cell (a cell reached only by :math:`(L, R]` pieces has exposure 0).
    terms : IntervalTerms
        The pipeline's patterns, padded.
    unit_exposure : numpy.ndarray, shape (n_units, n_cells)
        Length of each template unit's :math:`(L, R]` in each template cell.

    Raises
    ------
    DataError
        The pipeline refuses the data (e.g. no events).
    ValueError
        Its cells, coefficients or patterns do not fit the template.
    """
    from bayessa.model.intervals import interval_patterns
    from bayessa.model.preparation import prepare

    t = it.base
    prep = prepare(table, t.sim_spec)
    if list(prep.design.coef_names) != list(t.design.coef_names):
        raise ValueError(f"pipeline coefficients {prep.design.coef_names} differ from the template")
    idx = t._key_index.get_indexer(t.key_index(prep.cells.frame))
    if (idx < 0).any():
        raise ValueError(f"{int((idx < 0).sum())} pipeline cells are not in the template")
    n_units, n_cells = it.shape[0], t.cells.n_cells
    events = np.zeros(n_cells, np.int64)
    exposure = np.zeros(n_cells)
    events[idx] = prep.cells.events
    exposure[idx] = prep.cells.exposure
    cell_pad = np.zeros(it.shape, np.int64)
    len_pad = np.zeros(it.shape)
    weight = np.zeros(n_units)
    unit_exposure = np.zeros((n_units, n_cells))
    ip = interval_patterns(prep.cells)
    if ip is not None:
        P, W = ip.cell.shape
        if P > n_units or W > it.width:
            raise ValueError(f"{P} x {W} interval patterns exceed the template's {it.shape}")
        cell_pad[:P, :W] = idx[ip.cell]
        len_pad[:P, :W] = ip.length
        weight[:P] = ip.weight
        ids = prep.data.frame["id"].astype(str).to_numpy()[ip.units]
        where = pd.Index(t.units["id"].astype(str)).get_indexer(ids)
        if (where < 0).any():
            raise ValueError("interval-censored units of the pipeline are not template units")
        rows = np.repeat(where, W)
        np.add.at(unit_exposure, (rows, idx[ip.cell[ip.unit_pattern]].ravel()),
                  ip.length[ip.unit_pattern].ravel())  # fmt: skip
    return events, exposure, IntervalTerms(cell_pad, len_pad, weight), unit_exposure


# ------------------------------------------------------------------ one simulation


@functools.lru_cache(maxsize=1)
def _compiled(config: SBCConfig):
    """The interval template and its nutpie-compiled model, built once per process (worker)."""
    from bayessa.sampling.compile_cache import compile_model

    it = build_interval_template(config)
    return it, compile_model(it.base.model)[0]


def fit_one_interval(config: SBCConfig, index: int, truth: dict[str, np.ndarray]) -> dict:
    """Simulate interval-censored data for prior draw ``truth``, fit it and return the ranks.

    Never raises: a failure is returned as a record with ``error`` set.

    Parameters
    ----------
    config : SBCConfig
        The run's settings (an interval-censored spec).
    index : int
        The simulation's number (``sim``); with ``config.seed`` it seeds the simulation.
    truth : dict of str to numpy.ndarray
        The prior draw (:func:`bayessa.sbc.sim.draw_prior`).

    Returns
    -------
    dict
        As :func:`bayessa.sbc.sim.fit_one` (``n_events`` counts the events, every one
        interval-censored), plus ``n_before_first_contact`` (events with ``lower`` at entry),
        ``median_interval`` (median :math:`R - L` of the events, in time units) and
        ``n_patterns`` (interval patterns fitted).
    """
    record: dict[str, Any] = {"sim": index, "error": None}
    t0 = time.perf_counter()
    try:
        it, compiled = _compiled(config)
        data_rng, fit_seed, rank_rng = _seeds(config, index)
        record["fit_seed"] = fit_seed
        sim = simulate_interval(it, config, truth, data_rng)
        ev = sim.event
        entry = it.base.units["entry"].to_numpy()
        record |= {
            "n_events": int(ev.sum()),
            "n_units": int(sim.table["sbc_id"].nunique()),
            "n_before_first_contact": int((ev & (sim.lower == entry)).sum()),
            "median_interval": float(np.median((sim.upper - sim.lower)[ev])) if ev.any() else None,
        }
        events, exposure, terms = sim.events, sim.exposure, sim.terms
        try:
            p_events, p_exposure, p_terms, p_unit = pipeline_interval_cells(it, sim.table)
            agree = (
                np.array_equal(p_events, events)
                and np.allclose(p_exposure, exposure, rtol=1e-9, atol=1e-12)
                and np.allclose(p_unit, sim.unit_exposure, rtol=1e-9, atol=1e-12)
            )
            record["pipeline"] = "ok" if agree else "mismatch"
            if agree:
                events, exposure, terms = p_events, p_exposure, p_terms
        except DataError as err:
            record["pipeline"] = f"refused: {err.problems[0]}"
        record["n_patterns"] = terms.n_patterns
        fitted = fit_and_rank(
            config, it.base, compiled, truth, events, exposure, fit_seed, rank_rng,
            interval=terms,
        )  # fmt: skip
        record |= fitted.diagnostics | {"ranks": fitted.ranks, "truth": fitted.truths}
    except Exception as err:  # noqa: BLE001 - recorded, counted and reported, never dropped
        record["error"] = f"{type(err).__name__}: {err}"
    record["seconds"] = time.perf_counter() - t0
    return record


def interval_summary(records: list[dict]) -> dict:
    """What the contacts made of the simulated events, over the fitted simulations.

    Parameters
    ----------
    records : list of dict
        Records of :func:`fit_one_interval`.

    Returns
    -------
    dict
        ``events`` (all interval-censored), ``share_before_first_contact`` (of all events, with
        ``lower`` at entry), ``median_interval`` (median over simulations of the median
        :math:`R - L`, time units) and the patterns per fit (min / median / max).
    """
    ok = [r for r in records if r["error"] is None]
    if not ok:
        return {}
    n_ev = sum(r["n_events"] for r in ok)
    widths = [r["median_interval"] for r in ok if r["median_interval"] is not None]
    patterns = np.array([r["n_patterns"] for r in ok])
    return {
        "events": int(n_ev),
        "exact_events": 0,
        "share_before_first_contact": (
            sum(r["n_before_first_contact"] for r in ok) / n_ev if n_ev else None
        ),
        "median_interval": float(np.median(widths)) if widths else None,
        "patterns_per_fit": {
            "min": int(patterns.min()),
            "median": float(np.median(patterns)),
            "max": int(patterns.max()),
        },
    }
