r"""Simulation-based calibration of a competing-risks spec: every cause's model at once.

A spec with competing risks (``[data] censored``: the ``event`` column names each unit's cause,
or the censoring value) is fitted as one cause-specific piecewise-exponential model per cause
(:mod:`bayessa.api.competing`): with independent priors the joint posterior of the causes'
parameters factorises, so the pipeline fits the causes one after the other on the same cells.
Its SBC follows that joint model, not one cause at a time:

1. **One prior draw of every cause's parameters**, :math:`\tilde\theta = (\tilde\theta_1, \dots,
   \tilde\theta_J)`, from a single seeded ``pymc.draw`` over the causes' template models (each
   built as the pipeline builds that cause's model: :func:`bayessa.sbc.sim.build_template` with
   ``cause=``).
2. **Competing-risks data**: for unit :math:`i` a latent time per cause from that cause's
   piecewise-constant hazard along the unit's pieces,
   :math:`T_{ij} = H_{ij}^{-1}(E_{ij})`, :math:`E_{ij} \sim \mathrm{Exp}(1)` independent; the
   first wins,

   .. math::

       T_i = \min_j T_{ij}, \quad C_i = \arg\min_j T_{ij}, \qquad
       X_i = \min(T_i, D_i, h_i), \quad \text{cause } C_i \text{ if } T_i \le \min(D_i, h_i)
       \text{ else censored},

   with loss to follow-up :math:`D_i` and the administrative horizon :math:`h_i` exactly as in
   the single-cause SBC (:mod:`bayessa.sbc.sim`). The table (the ``event`` column holding each
   unit's cause or the spec's censoring value) goes through the ordinary pipeline once
   (``prepare``), and each cause's cells come from the **same** cells
   (:func:`bayessa.model.causes.for_cause`, i.e. :meth:`bayessa.data.cells.Cells.for_cause`);
   they must equal the exact per-cause statistics computed from the simulated times.
3. **Each cause fitted** with its own compiled template model (compiled once per worker),
   and the rank of every cause's quantities recorded under ``<cause>:<quantity>``, e.g.
   ``folded:beta[leader[professional]]`` or ``merged:log_likelihood``, plus
   ``log_likelihood``: the log-likelihood of the whole competing-risks data set (the sum over
   causes), ranked among the sums of the causes' thinned draws paired by position (the causes'
   fits are independent, so paired draws are draws of the joint posterior).

The ranks go through the same uniformity tests and ECDF band as the single-cause SBC
(:func:`bayessa.sbc.calibrate.summarize`, which adds a per-cause summary).
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
    LOGLIK,
    SBCConfig,
    Template,
    _as_posterior,
    _path_table,
    build_template,
    cell_log_rate,
    draw_dropout,
    durations_table,
    fit_and_rank,
    latent_times,
    sim_columns,
)

__all__ = [
    "CompetingTemplate",
    "build_competing_template",
    "causes_of",
    "draw_joint_prior",
    "fit_one_competing",
    "is_competing",
    "pipeline_cause_cells",
    "simulate_competing",
]

#: Per-cause diagnostics kept in a record as ``<name>:<cause>``; the record's own are pooled.
DIAGNOSTICS = ("divergences", "treedepth_hits", "max_rhat", "min_ess_bulk")


def is_competing(config: SBCConfig) -> bool:
    """Whether the spec of ``config`` has competing risks (``[data] censored`` is set).

    Parameters
    ----------
    config : SBCConfig
        The run's settings.

    Returns
    -------
    bool
    """
    from bayessa.model.preparation import resolve_spec

    return resolve_spec(config.model).data.censored is not None


def causes_of(config: SBCConfig) -> tuple[str, ...]:
    """The causes of the spec's data, in the pipeline's order (empty without competing risks).

    Parameters
    ----------
    config : SBCConfig
        The run's settings.

    Returns
    -------
    tuple of str
    """
    from bayessa.model.preparation import prepare, resolve_spec

    spec = resolve_spec(config.model)
    if spec.data.censored is None:
        return ()
    return tuple(prepare(config.data, spec).cells.causes)


@dataclass
class CompetingTemplate:
    """The fixed design of a competing-risks SBC: one template per cause on the same cells.

    Parameters
    ----------
    causes : tuple of str
        The causes, in the pipeline's order.
    censored : str
        The ``event`` value of a censored unit.
    templates : dict of str to Template
        Each cause's template (its model as the pipeline builds it); all share the units,
        pieces and cells.
    sim_spec : Spec
        The spec (every cause) reading the simulated competing-risks table.
    """

    causes: tuple[str, ...]
    censored: str
    templates: dict[str, Template]
    sim_spec: Any

    @property
    def base(self) -> Template:
        """The first cause's template: the units, pieces and cells every cause shares."""
        return self.templates[self.causes[0]]

    @property
    def quantities(self) -> list[str]:
        """Labels of every ranked quantity: ``<cause>:<quantity>``, then ``log_likelihood``."""
        out = [f"{c}:{q[0]}" for c in self.causes for q in self.templates[c].quantities]
        return [*out, LOGLIK]


def build_competing_template(config: SBCConfig) -> CompetingTemplate:
    """Build every cause's template (no compilation) and check that they share their cells.

    Parameters
    ----------
    config : SBCConfig
        The run's settings; its spec has competing risks.

    Returns
    -------
    CompetingTemplate

    Raises
    ------
    SpecError
        The spec has no competing risks, or an invalid setting (:func:`build_template`).
    """
    from bayessa.model.preparation import prepare, resolve_spec

    config.check()
    spec = resolve_spec(config.model)
    if spec.data.censored is None:
        raise SpecError(
            "the spec has no competing risks ([data] censored); use bayessa.sbc.sim.build_template"
        )
    real = prepare(config.data, spec)
    causes = tuple(real.cells.causes)
    templates = {c: build_template(config, cause=c) for c in causes}
    base = templates[causes[0]]
    for c, t in templates.items():  # one split, one set of cells for every cause
        same = (
            t._key_index.equals(base._key_index)
            and np.array_equal(t.cells.piece_cell, base.cells.piece_cell)
            and np.array_equal(t.horizon, base.horizon)
        )
        if not same:  # pragma: no cover - the templates are built from the same pieces
            raise SpecError(f"the template of cause '{c}' has cells of its own")
    sim_spec = spec.with_overrides(**sim_columns(real.data, base.units))
    return CompetingTemplate(causes, str(spec.data.censored), templates, sim_spec)


def draw_joint_prior(
    ct: CompetingTemplate, n: int, seed: int
) -> list[dict[str, dict[str, np.ndarray]]]:
    """``n`` joint prior draws of every cause's parameters, from one seeded ``pymc.draw``.

    Parameters
    ----------
    ct : CompetingTemplate
        Every cause's template model is drawn from.
    n : int
        Number of draws.
    seed : int
        Random seed of ``pymc.draw``.

    Returns
    -------
    list of dict of str to dict
        One dict per draw: cause -> (variable name -> value).
    """
    import pymc as pm

    keys, tensors = [], []
    for c in ct.causes:
        m = ct.templates[c].model
        for v in (*m.free_RVs, *m.deterministics):
            keys.append((c, v.name))
            tensors.append(m[v.name])
    values = pm.draw(tensors, draws=n, random_seed=seed)
    if n == 1:  # pymc.draw gives one draw without the draws axis
        values = [np.asarray(v)[None] for v in values]
    out: list[dict[str, dict[str, np.ndarray]]] = [{c: {} for c in ct.causes} for _ in range(n)]
    for (c, name), v in zip(keys, values, strict=True):
        for i in range(n):
            out[i][c][name] = np.asarray(v[i])
    return out


def simulate_competing(
    ct: CompetingTemplate, truths: dict[str, dict[str, np.ndarray]], rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Simulate one competing-risks data set: a latent time per cause, the first wins.

    Parameters
    ----------
    ct : CompetingTemplate
        The fixed design.
    truths : dict of str to dict
        One joint prior draw (:func:`draw_joint_prior`): cause -> parameters.
    rng : numpy.random.Generator
        Source of the latent times (all causes' unit exponentials first, one row per cause in
        the causes' order) and then of the loss-to-follow-up times.

    Returns
    -------
    table : pandas.DataFrame
        The simulated units (durations form, or counting-process rows with covariate paths);
        ``sbc_event`` is each unit's cause or the censoring value.
    events : numpy.ndarray of int64, shape (n_cells, J)
        Events of each cause per template cell.
    exposure : numpy.ndarray of float, shape (n_cells,)
        Exposure per template cell (shared by the causes).
    """
    t0 = ct.base
    n_units, n_cells, J = len(t0.units), t0.cells.n_cells, len(ct.causes)
    loglam = [
        cell_log_rate(ct.templates[c], _as_posterior(ct.templates[c], truths[c]))[0]
        for c in ct.causes
    ]
    e = rng.exponential(size=(J, n_units))
    dropout = draw_dropout(t0, rng)
    latent = np.stack([latent_times(t0, loglam[j], e[j]) for j in range(J)])
    first = latent.min(axis=0)
    cause = np.where(np.isfinite(first), latent.argmin(axis=0) + 1, 0)
    end = np.minimum(dropout, t0.horizon)
    event = first <= end
    exit_ = np.where(event, first, end)
    cause = np.where(event, cause, 0)
    # exact sufficient statistics of the template cells, per cause
    pf = t0.pieces.frame
    unit, cell = t0.pieces.unit_index, t0.cells.piece_cell
    start, stop = pf["start"].to_numpy(), pf["stop"].to_numpy()
    expo = np.clip(np.minimum(exit_[unit], stop) - start, 0.0, None)
    ev = event[unit] & (start < exit_[unit]) & (exit_[unit] <= stop)
    events = np.stack(
        [
            np.bincount(cell, weights=ev & (cause[unit] == j + 1), minlength=n_cells)
            for j in range(J)
        ],
        axis=1,
    )
    events = events.round().astype(np.int64)
    exposure = np.bincount(cell, weights=expo, minlength=n_cells)
    labels = np.array([ct.censored, *ct.causes], dtype=object)[cause]
    if t0.sim_spec.data.tstart:
        table = _path_table(t0, exit_, event, outcome=(labels, ct.censored))
    else:
        table = durations_table(t0, exit_, labels)
    return table, events, exposure


def pipeline_cause_cells(
    ct: CompetingTemplate, table: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Each cause's events and the exposure per template cell, from the ordinary pipeline.

    The table is prepared once (``bayessa.model.preparation.prepare``, every cause); each cause's
    cells are :func:`bayessa.model.causes.for_cause` of those cells, its design built from its
    own spec (:func:`~bayessa.model.causes.cause_spec`). A cause with no event in the table
    has none in any cell.

    Parameters
    ----------
    ct : CompetingTemplate
        The fixed design.
    table : pandas.DataFrame
        A simulated table (:func:`simulate_competing`).

    Returns
    -------
    events : numpy.ndarray of int64, shape (n_cells, J)
    exposure : numpy.ndarray of float, shape (n_cells,)

    Raises
    ------
    DataError
        The pipeline refuses the data (e.g. no event of any cause).
    ValueError
        Its cells or a cause's coefficients do not match the template.
    """
    from bayessa.model.causes import cause_spec, for_cause
    from bayessa.model.preparation import prepare

    t0 = ct.base
    prep = prepare(table, ct.sim_spec)
    idx = t0._key_index.get_indexer(t0.key_index(prep.cells.frame))
    if (idx < 0).any():
        raise ValueError(f"{int((idx < 0).sum())} pipeline cells are not in the template")
    events = np.zeros((t0.cells.n_cells, len(ct.causes)), np.int64)
    exposure = np.zeros(t0.cells.n_cells)
    exposure[idx] = prep.cells.exposure
    present = tuple(prep.cells.causes)
    unknown = sorted(set(present) - set(ct.causes))
    if unknown:
        raise ValueError(f"pipeline causes {unknown} are not the template's {list(ct.causes)}")
    for j, c in enumerate(ct.causes):
        if c not in present:
            continue
        one = for_cause(prep, c, cause_spec(ct.sim_spec, c, ct.causes))
        want = list(ct.templates[c].design.coef_names)
        if list(one.design.coef_names) != want:
            raise ValueError(
                f"pipeline coefficients of '{c}' {one.design.coef_names} differ from the template"
            )
        if not np.array_equal(one.cells.exposure, prep.cells.exposure):
            raise ValueError(f"the cells of cause '{c}' are not the data's cells")
        events[idx, j] = one.cells.events
    return events, exposure


@functools.lru_cache(maxsize=1)
def _compiled(config: SBCConfig):
    """Every cause's template and nutpie-compiled model, built once per process (worker)."""
    from bayessa.sampling.compile_cache import compile_model

    ct = build_competing_template(config)
    return ct, {c: compile_model(t.model)[0] for c, t in ct.templates.items()}


def _seeds(
    config: SBCConfig, index: int, n_causes: int
) -> tuple[np.random.Generator, list[int], np.random.Generator]:
    """Independent streams for sim ``index``: data, one sampler seed per cause, tie-breaking."""
    ss = np.random.SeedSequence([config.seed, index])
    data_ss, fit_ss, rank_ss = ss.spawn(3)
    fit_seeds = np.random.default_rng(fit_ss).integers(0, 2**31 - 1, size=n_causes)
    return (
        np.random.default_rng(data_ss),
        [int(s) for s in fit_seeds],
        np.random.default_rng(rank_ss),
    )


def fit_one_competing(
    config: SBCConfig, index: int, truths: dict[str, dict[str, np.ndarray]]
) -> dict:
    """Simulate competing-risks data for a joint prior draw, fit every cause, return the ranks.

    Never raises: a failure (of any cause's fit) is returned as a record with ``error`` set.

    Parameters
    ----------
    config : SBCConfig
        The run's settings (a spec with competing risks).
    index : int
        The simulation's number (``sim``); with ``config.seed`` it seeds the simulation.
    truths : dict of str to dict
        The joint prior draw (:func:`draw_joint_prior`).

    Returns
    -------
    dict
        As :func:`bayessa.sbc.sim.fit_one`: ``sim``, ``error``, ``seconds``, ``n_events`` (every
        cause), ``n_units``, ``pipeline``, the diagnostics pooled over the causes (divergences
        and tree-depth hits summed, the largest R-hat, the smallest bulk ESS), ``ranks`` and
        ``truth``; per cause also ``fit_seed:<cause>``, ``n_events:<cause>`` and each
        diagnostic as ``<name>:<cause>``.
    """
    from bayessa.sbc.stats import rank

    record: dict[str, Any] = {"sim": index, "error": None}
    t0 = time.perf_counter()
    try:
        ct, compiled = _compiled(config)
        data_rng, fit_seeds, rank_rng = _seeds(config, index, len(ct.causes))
        record |= {f"fit_seed:{c}": s for c, s in zip(ct.causes, fit_seeds, strict=True)}
        table, events, exposure = simulate_competing(ct, truths, data_rng)
        record["n_events"] = int(events.sum())
        record |= {f"n_events:{c}": int(events[:, j].sum()) for j, c in enumerate(ct.causes)}
        record["n_units"] = int(table["sbc_id"].nunique())
        try:
            p_events, p_exposure = pipeline_cause_cells(ct, table)
            agree = np.array_equal(p_events, events) and np.allclose(
                p_exposure, exposure, rtol=1e-9, atol=1e-12
            )
            record["pipeline"] = "ok" if agree else "mismatch"
            if agree:
                events, exposure = p_events, p_exposure
        except DataError as err:
            record["pipeline"] = f"refused: {err.problems[0]}"
        ranks: dict[str, int] = {}
        truth: dict[str, float] = {}
        per_cause: dict[str, Any] = {}
        pooled: dict[str, float] = dict(
            divergences=0, treedepth_hits=0, max_rhat=-np.inf, min_ess_bulk=np.inf
        )
        ll_truth, ll_draws = 0.0, np.zeros(config.rank_draws)
        for j, c in enumerate(ct.causes):
            fitted = fit_and_rank(
                config, ct.templates[c], compiled[c], truths[c], events[:, j], exposure,
                fit_seeds[j], rank_rng,
            )  # fmt: skip
            ranks |= {f"{c}:{q}": r for q, r in fitted.ranks.items()}
            truth |= {f"{c}:{q}": v for q, v in fitted.truths.items()}
            d = fitted.diagnostics
            per_cause |= {f"{k}:{c}": d[k] for k in DIAGNOSTICS}
            pooled["divergences"] += d["divergences"]
            pooled["treedepth_hits"] += d["treedepth_hits"]
            pooled["max_rhat"] = max(pooled["max_rhat"], d["max_rhat"])
            pooled["min_ess_bulk"] = min(pooled["min_ess_bulk"], d["min_ess_bulk"])
            ll_truth += fitted.loglik_truth
            ll_draws = ll_draws + fitted.loglik_draws
        ranks[LOGLIK] = rank(ll_truth, ll_draws, rank_rng)
        truth[LOGLIK] = ll_truth
        record |= pooled | per_cause | {"ranks": ranks, "truth": truth}
    except Exception as err:  # noqa: BLE001 - recorded, counted and reported, never dropped
        record["error"] = f"{type(err).__name__}: {err}"
    record["seconds"] = time.perf_counter() - t0
    return record
