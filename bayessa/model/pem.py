r"""The hierarchical piecewise-exponential model in PyMC, built from aggregated cells.

For cell :math:`c` (age interval :math:`k(c)`, stratum :math:`s(c)`, covariate row :math:`x_c`,
cluster :math:`g(c)`) with :math:`D_c` events over exposure :math:`T_c`:

.. math::

    D_c \sim \mathrm{Poisson}(\lambda_c T_c), \qquad
    \log \lambda_c = \alpha_{s(c), k(c)} + x_c^\top \beta
        + \sum_{j \in \mathrm{tv}} x_{cj} \delta_{j, k(c)} + u_{g(c)} .

Baseline :math:`\alpha` (per stratum) over intervals with widths :math:`w_k`; with
:math:`\Delta_k = (w_{k-1} + w_k)/2` the distance between interval midpoints (an open last interval
counts as wide as the one before it):

* ``iid``: :math:`\alpha_k \sim p_{\text{level}}` independently;
* ``rw1``: :math:`\alpha_1 \sim p_{\text{level}}`,
  :math:`\alpha_k = \alpha_{k-1} + \sigma_\alpha \sqrt{\Delta_k}\, z_k`;
* ``rw2``: an integrated random walk: slope :math:`\gamma_1 \sim p_{\text{slope}}`,
  :math:`\gamma_k = \gamma_{k-1} + \sigma_\alpha \sqrt{\Delta_k}\, z_k`,
  :math:`\alpha_k = \alpha_{k-1} + \gamma_k \Delta_k`;

with :math:`z_k \sim N(0, 1)`, as R-INLA's ``control.hazard`` random walks (scaled by spacing).
That is the non-centred form; the centred one samples the steps
:math:`\sigma_\alpha \sqrt{\Delta_k} z_k \sim N(0, \sigma_\alpha^2 \Delta_k)` directly. As for the
cluster effects, the form is chosen from the data (events per interval, same rule): with 100,000
groups the non-centred walk gave a bulk ESS of 53-167 for :math:`\sigma_\alpha` with divergences,
the centred one 4,500 and none.

Cluster effects :math:`u` are sum-to-zero (``ZeroSumNormal``), which removes the ridge between the
baseline and the mean cluster effect. Their parameterisation is chosen from the data: centred
(:math:`u \sim \mathrm{ZSN}(\sigma_u)`) when clusters hold many events, non-centred
(:math:`u = \sigma_u z`, :math:`z \sim \mathrm{ZSN}(1)`) when they hold few; see
:func:`choose_parameterization`.

Large models without time-varying effects compute the same Poisson log-likelihood per covariate
pattern rather than per cell (:mod:`bayessa.model.patterns`): exact, and up to :math:`K` times
less work per gradient.

Time-varying effects: for each coefficient of a variable listed in ``time_varying``, interval
deviations :math:`\delta_{j,\cdot} \sim \mathrm{ZSN}(\tau)` summing to zero over intervals, so
:math:`\beta_j` is the average log hazard ratio and :math:`\beta_j + \delta_{jk}` the one in
interval :math:`k` (partial pooling towards a constant effect).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from bayessa.data.cells import Cells
from bayessa.errors import SpecError
from bayessa.model import patterns as _patterns
from bayessa.model.design import Design
from bayessa.model.intervals import add_interval_likelihood, interval_patterns
from bayessa.model.patterns import add_pattern_likelihood, cell_patterns, use_patterns
from bayessa.model.priors import prior_rv
from bayessa.model.random import random_prefix, random_term_effects
from bayessa.model.smooth import smooth_coefficients, smooth_groups
from bayessa.model.spec import Spec
from bayessa.model.units import priors_in_unit

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ModelInfo",
    "build_model",
    "choose_parameterization",
    "column_scales",
    "interval_spacing",
    "model_info",
]

#: Median events per cluster at and above which the centred parameterisation is used.
CENTERED_MIN_EVENTS = 20.0
#: The same threshold for the baseline's random-walk steps (events per interval), measured (min
#: bulk ESS, 4 x 1,000 draws; docs/decisions.md): R's veteran, ~21 events per interval: centred
#: 22 divergences and ESS 203, non-centred none and 1,110; R's lung, 27.5: centred ESS
#: 3,100-3,800, non-centred 1,020-1,130; 400 simulated units, 47: centred ~4,000 with 0-2
#: divergences, non-centred ~1,000 with 2-8; 100,000 groups (thousands): centred ~4,500,
#: non-centred 53-167.
WALK_CENTERED_MIN_EVENTS = 25.0


@dataclass(frozen=True)
class ModelInfo:
    r"""Facts about a built model that the fit records (and the report prints).

    Parameters
    ----------
    n_cells, n_intervals : int
        Cells in the likelihood; age intervals.
    coef_names : tuple of str
        Fixed-effect coefficients, the ``coef`` dimension.
    cluster : str or None
        The random-intercept factor, if any.
    n_clusters : int
        Its levels (0 without one).
    parameterization : {"centered", "noncentered"} or None
        Form of the cluster effects (None without them).
    parameterization_reason : str
        Why that form (see :func:`choose_parameterization`).
    strata : str or None
        The stratifying variable of the baseline, if any.
    strata_levels : tuple of str
        Its levels (empty when unstratified).
    time_varying_coefs : tuple of str
        Coefficients with per-interval deviations.
    baseline_parameterization : {"centered", "noncentered"}, optional
        Form of the baseline random-walk steps (None for an iid baseline).
    baseline_parameterization_reason : str, default ""
        Why that form.
    parameterization_by_rule, baseline_parameterization_by_rule : str, optional
        The forms the data rule (:func:`choose_parameterization`) picks, whatever was requested:
        the gate's advice names a switch only when the form in use differs from it.
    random_terms, random_forms, random_reasons : tuple of str, default ()
        Every random-effect term's grouping factor (the first is ``cluster``), its form
        (centred or non-centred; non-centred with random slopes) and why.
    random_slopes : tuple of tuple of str, default ()
        Each term's slope coefficients (empty for intercepts only).
    smooth_forms : tuple of (str, str, str), default ()
        Each smooth's column, the form of its random-walk steps (centred when the events per
        basis function reach :data:`WALK_CENTERED_MIN_EVENTS`, as the baseline's walk; override
        with ``random_parameterization = {"s(x)" = ...}``) and why.
    coef_scales : tuple of float, default ()
        :func:`column_scales` of the design: the ``effects`` prior is on :math:`\beta_j s_j`
        (per SD for numeric columns, 1 for 0/1 columns).
    likelihood : {"cells", "patterns"}, default "cells"
        The Poisson likelihood per cell, or factored over covariate patterns
        (:mod:`bayessa.model.patterns`; the same posterior, less work per gradient).
    n_patterns : int, default 0
        Covariate patterns (cells without their age interval) with ``"patterns"``.
    """

    n_cells: int
    n_intervals: int
    coef_names: tuple[str, ...]
    cluster: str | None
    n_clusters: int
    parameterization: str | None
    parameterization_reason: str
    strata: str | None
    strata_levels: tuple[str, ...]
    time_varying_coefs: tuple[str, ...]
    baseline_parameterization: str | None = None
    baseline_parameterization_reason: str = ""
    parameterization_by_rule: str | None = None
    baseline_parameterization_by_rule: str | None = None
    coef_scales: tuple[float, ...] = ()
    random_terms: tuple[str, ...] = ()
    random_forms: tuple[str, ...] = ()
    random_reasons: tuple[str, ...] = ()
    random_slopes: tuple[tuple[str, ...], ...] = ()
    smooth_forms: tuple[tuple[str, str, str], ...] = ()
    likelihood: str = "cells"
    n_patterns: int = 0


def interval_spacing(cuts: np.ndarray) -> np.ndarray:
    r"""Distances between consecutive interval midpoints, :math:`\Delta_k = (w_{k-1} + w_k) / 2`.

    An open last interval (last cut ``inf``) is given the width of the interval before it.
    Returns an array of length ``K - 1``.

    Parameters
    ----------
    cuts : array_like of float
        Age cut points; the last may be ``inf``.

    Returns
    -------
    numpy.ndarray
        The ``K - 1`` distances, where ``K = len(cuts) - 1`` intervals.
    """
    w = np.diff(np.asarray(cuts, dtype=float))
    if np.isinf(w[-1]):
        w[-1] = w[-2] if w.size > 1 else 1.0
    return 0.5 * (w[:-1] + w[1:])


def choose_parameterization(
    events_per_cluster: np.ndarray, requested: str = "auto", *, unit: str = "cluster"
) -> tuple[str, str]:
    r"""Centred or non-centred cluster effects (or random-walk steps), with the reason.

    Used for the cluster effects (events per cluster) and for the baseline random walk (events
    per interval, ``unit="interval"``), where the same trade-off holds.

    With :math:`E_g` events in cluster :math:`g`, the likelihood pins :math:`u_g` to within about
    :math:`1/\sqrt{E_g}`. When that is small compared with the plausible cluster SD (about 0.2-0.5
    on the log-hazard scale), the centred form mixes well and the non-centred one has a funnel of
    its own; when clusters hold few events the reverse holds. The rule: centred when the median
    :math:`E_g \ge` :data:`CENTERED_MIN_EVENTS` (20, i.e. :math:`1/\sqrt{E} \le 0.22`); for
    the random walk's steps (``unit="interval"``), :data:`WALK_CENTERED_MIN_EVENTS` (25).

    Parameters
    ----------
    events_per_cluster : array_like
        Events in each cluster (or interval).
    requested : {"auto", "centered", "noncentered"}, default "auto"
        A form other than ``"auto"`` is returned as it is.
    unit : str, default "cluster"
        What the events are counted per, for the reason.

    Returns
    -------
    form : {"centered", "noncentered"}
    reason : str
        E.g. ``"median events per cluster 31 >= 20"``.
    """
    med = float(np.median(events_per_cluster)) if np.size(events_per_cluster) else 0.0
    if requested != "auto":
        return requested, f"requested ({requested}); median events per {unit} {med:g}"
    threshold = WALK_CENTERED_MIN_EVENTS if unit == "interval" else CENTERED_MIN_EVENTS
    if med >= threshold:
        return "centered", f"median events per {unit} {med:g} >= {threshold:g}"
    return "noncentered", f"median events per {unit} {med:g} < {threshold:g}"


def build_model(
    cells: Cells,
    design: Design,
    spec: Spec,
    *,
    center: np.ndarray | None = None,
    data_containers: bool = False,
    likelihood: str = "auto",
):
    r"""Build the PyMC model for aggregated cells.

    Parameters
    ----------
    cells : Cells
        Aggregated events and exposure (:func:`bayessa.aggregate`).
    design : Design
        Fixed-effect matrix and random-intercept codes for the same cells.
    spec : Spec
        Baseline prior, strata, time-varying effects, priors and cluster parameterisation.
    center : (p,) array, optional
        The vector :math:`\bar x` at which the fixed-effect columns are centred while sampling.
        Default: their event-weighted means in ``cells``. The prior on the sampled (centred)
        baseline makes the implied prior of the reported ``baseline`` depend on :math:`\bar x`,
        so simulation-based calibration, which must fix the prior before simulating the events,
        passes a centring chosen without the simulated events.
    data_containers : bool, default False
        Hold every data array in a ``pm.Data`` container: ``events_data``, ``log_exposure``,
        ``X_centered``, ``x_center``, ``interval_index``, ``stratum_index``, ``cluster_index``.
        The compiled log-density then takes the data as inputs rather than constants, so one
        compilation serves any data with the same structure (formula, levels, cut points):
        filtered rows, a new sample (:mod:`bayessa.sampling.compile_cache`), or nutpie's
        ``compiled.with_data(events_data=..., log_exposure=...)``. The log-density is the same.
    likelihood : {"auto", "cells"}, default "auto"
        ``"auto"``: factored over covariate patterns when that saves work
        (:mod:`bayessa.model.patterns`); ``"cells"``: always the per-cell ``pm.Poisson`` named
        ``events`` (prior predictive sampling needs it).

    Returns
    -------
    model : pymc.Model
        Named dims: ``interval``, ``coef``, the cluster name, ``stratum``, ``tv_coef``, ``cell``.
    info : ModelInfo
    """
    import pymc as pm

    m = spec.model
    # priors are stated per year; on another time scale they are converted (bayessa.model.units)
    pri = priors_in_unit(spec.priors, spec.data.time_unit, m.baseline)
    f = cells.frame
    n = len(f)
    interval = f["interval"].cat.codes.to_numpy().astype(np.int64)
    K = len(f["interval"].cat.categories)
    events = f["events"].to_numpy()
    with np.errstate(divide="ignore"):  # exposure 0: cells reached only by (L, R] intervals
        log_exposure = np.log(f["exposure"].to_numpy())
    info = model_info(cells, design, spec, data_containers=data_containers or likelihood == "cells")
    strata_levels = list(info.strata_levels)
    tv_idx = [design.coef_names.index(name) for name in info.time_varying_coefs]
    cluster = design.random[0] if design.random else None
    coords: dict[str, list] = {
        "interval": [str(c) for c in f["interval"].cat.categories],
        "coef": list(design.coef_names),
        "cell": list(range(n)),
    }
    if strata_levels:
        coords["stratum"] = strata_levels
    if tv_idx:
        coords["tv_coef"] = list(info.time_varying_coefs)
    for term in design.random:
        coords[term.name] = list(term.levels)
    strat_codes = _strata_codes(f, m.strata if strata_levels else None)
    xbar = _centre(design.X, cells.effective_events, center)
    scale = np.asarray(info.coef_scales)
    smooths = smooth_groups(design.numeric, design.coef_levels)
    patterns = None
    if info.likelihood == "patterns":  # one linear predictor per pattern, not per cell
        patterns = cell_patterns(cells, strat_codes, max(len(strata_levels), 1))
    rows = patterns.first if patterns is not None else slice(None)
    terms = [_term_rows(t, rows) for t in design.random]
    cluster = terms[0] if terms else None

    with pm.Model(coords=coords) as model:
        d = _data(design.X[rows] - xbar, xbar, interval[rows], strat_codes[rows], cluster,
                  data_containers)  # fmt: skip
        eta, shift = _fixed_effects(
            d["X"], d["xbar"], scale, tv_idx, d["interval"], pri, smooths, design.coef_names,
            {c: f for c, f, _ in info.smooth_forms},
        )  # fmt: skip
        centred = _baseline(
            m, pri, cells.pieces.cuts, strata_levels, K, info.baseline_parameterization
        )  # (S, K): log hazard at average covariates
        if patterns is None:
            eta = eta + centred[d["stratum"], d["interval"]]
        reference = centred - shift
        bdims = ("stratum", "interval") if strata_levels else ("interval",)
        pm.Deterministic("baseline", reference if strata_levels else reference[0], dims=bdims)
        for i, term in enumerate(terms):
            scales = scale[[design.coef_names.index(c) for c in term.slopes]]
            codes = d["cluster"] if i == 0 else term.codes
            eta = eta + random_term_effects(
                term, random_prefix(i, term.name), info.random_forms[i], pri["cluster_sd"],
                scales, codes,
            )  # fmt: skip
        if patterns is None:
            _likelihood(eta, events, log_exposure, data_containers)
        else:
            add_pattern_likelihood(eta, centred, patterns)
        if (ic := interval_patterns(cells)) is not None:  # events known only to lie in (L, R]
            add_interval_likelihood(eta, ic)
    return model, info


def _term_rows(term, rows):
    """A random term restricted to some rows of the design (the patterns' first cells)."""
    if isinstance(rows, slice):
        return term
    Z = term.Z[rows] if term.Z.size else term.Z
    return replace(term, codes=term.codes[rows], Z=Z)


def _strata_codes(f: pd.DataFrame, strata: str | None) -> np.ndarray:
    if strata is None:
        return np.zeros(len(f), np.int64)
    return f[strata].cat.codes.to_numpy().astype(np.int64)


def model_info(
    cells: Cells, design: Design, spec: Spec, *, data_containers: bool = False
) -> ModelInfo:
    """What :func:`build_model` will build, without building it (no PyMC needed).

    Checks the structure (strata, time-varying effects, random terms) and chooses the
    parameterisations from the data, exactly as :func:`build_model` does.

    Parameters
    ----------
    cells : Cells
    design : Design
    spec : Spec
    data_containers : bool, default False
        As in :func:`build_model` (decides, with the cells, the form of the likelihood).

    Returns
    -------
    ModelInfo

    Raises
    ------
    SpecError
        Naming every inconsistency between the spec, the formula and the cells.
    """
    m = spec.model
    f = cells.frame
    interval = f["interval"].cat.codes.to_numpy().astype(np.int64)
    K = len(f["interval"].cat.categories)
    events = cells.effective_events  # interval-censored events shared over their cells
    strata_levels, tv_idx = _check_structure(f, design, m)
    cluster = design.random[0] if design.random else None
    strat_codes = _strata_codes(f, m.strata if strata_levels else None)
    (baseline_param, baseline_reason), (parameterization, reason) = _parameterizations(
        m, events, interval, K, strat_codes, len(strata_levels), cluster
    )
    auto = replace(m, baseline_parameterization="auto", cluster_parameterization="auto")
    (baseline_rule, _), (cluster_rule, _) = _parameterizations(
        auto, events, interval, K, strat_codes, len(strata_levels), cluster
    )
    forms = [
        _term_form(i, t, m, events, (parameterization, reason)) for i, t in enumerate(design.random)
    ]
    if cluster is not None and cluster.slopes:  # no choice to advise on: always non-centred
        (parameterization, reason), cluster_rule = forms[0], forms[0][0]
    return ModelInfo(
        n_cells=len(f),
        n_intervals=K,
        coef_names=tuple(design.coef_names),
        cluster=cluster.name if cluster is not None else None,
        n_clusters=len(cluster.levels) if cluster is not None else 0,
        parameterization=parameterization,
        baseline_parameterization=baseline_param,
        baseline_parameterization_reason=baseline_reason,
        parameterization_reason=reason,
        strata=m.strata if strata_levels else None,
        strata_levels=tuple(strata_levels),
        time_varying_coefs=tuple(design.coef_names[j] for j in tv_idx),
        parameterization_by_rule=cluster_rule,
        baseline_parameterization_by_rule=baseline_rule,
        coef_scales=tuple(float(x) for x in _scales(design, events)),
        random_terms=tuple(t.name for t in design.random),
        random_forms=tuple(f for f, _ in forms),
        random_reasons=tuple(r for _, r in forms),
        random_slopes=tuple(tuple(t.slopes) for t in design.random),
        smooth_forms=_smooth_forms(design, m, events),
        **_likelihood_form(cells, strat_codes, len(strata_levels), bool(tv_idx), data_containers),
    )


def _likelihood_form(cells, strat_codes, n_strata: int, tv: bool, containers: bool) -> dict:
    """``likelihood`` and ``n_patterns`` of :class:`ModelInfo` (:func:`use_patterns`).

    With interval-censored units the cells keep one linear predictor each (their
    :math:`(L, R]` terms index it).
    """
    if cells.interval_cell is not None:
        return {}
    if tv or containers or cells.n_cells <= _patterns.MIN_CELLS:  # small: not worth grouping
        return {}
    pat = cell_patterns(cells, strat_codes, max(n_strata, 1))
    if not use_patterns(cells.n_cells, pat.n_patterns, time_varying=tv, data_containers=containers):
        return {}
    return {"likelihood": "patterns", "n_patterns": pat.n_patterns}


def _smooth_forms(design: Design, m, events: np.ndarray) -> tuple[tuple[str, str, str], ...]:
    """Centred or non-centred steps of each smooth, by its events per basis function."""
    out = []
    for column, idx in smooth_groups(design.numeric, design.coef_levels).items():
        requested = m.random_parameterization.get(f"s({column})", "auto")
        per = events.sum() / (len(idx) + 1)  # k basis functions, the first fixed at 0
        if requested != "auto":
            form, reason = (
                requested,
                f"requested ({requested}); events per basis function {per:.3g}",
            )
        else:  # the baseline walk's threshold, not the cluster's
            form = "centered" if per >= WALK_CENTERED_MIN_EVENTS else "noncentered"
            sign = ">=" if form == "centered" else "<"
            reason = f"events per basis function {per:.3g} {sign} {WALK_CENTERED_MIN_EVENTS:g}"
        out.append((column, form, reason))
    return tuple(out)


def _term_form(i: int, term, m, events: np.ndarray, first: tuple[str, str]) -> tuple[str, str]:
    """Centred or non-centred for one random term (always non-centred with random slopes)."""
    if term.slopes:
        return "noncentered", "random slopes (correlated, LKJ): always non-centred"
    if i == 0:
        return first
    ev = np.bincount(term.codes, weights=events, minlength=len(term.levels))
    requested = m.random_parameterization.get(term.name, "auto")
    return choose_parameterization(ev, requested, unit=f"{term.name} level")


def _check_structure(f: pd.DataFrame, design: Design, m) -> tuple[list[str], list[int]]:
    """Strata levels and time-varying coefficient columns; raise naming every inconsistency."""
    problems = []
    strata_levels: list[str] = []
    if m.strata:
        if m.strata not in f.columns:
            problems.append(
                f"strata '{m.strata}' is not a covariate of the cells; add it to the data"
            )
        elif m.strata in design.variables:
            problems.append(
                f"strata '{m.strata}' also appears in the formula; a stratified baseline absorbs its effect, remove it from the formula"
            )
        else:
            strata_levels = [str(c) for c in f[m.strata].cat.categories]
    smoothed = set(smooth_groups(design.numeric, design.coef_levels))
    column = {n: t.column for n, t in design.numeric.items()} | {f"s({c})": c for c in smoothed}
    tv_idx = [
        j
        for j, term in enumerate(design.term_of_coef)
        if {column.get(p, p) for p in term.split(":")} & set(m.time_varying)
    ]
    for v in m.time_varying:
        if v not in design.variables:
            problems.append(
                f"time_varying variable '{v}' is not a fixed effect in the formula '{design.formula}'"
            )
        elif v in smoothed:
            problems.append(
                f"time_varying variable '{v}' enters through a smooth s({v}); a smooth cannot vary "
                f"by age interval: write {v} as a linear term to make it time-varying"
            )
    if problems:
        raise SpecError(problems)
    return strata_levels, tv_idx


def _parameterizations(m, events, interval, K, strat_codes, n_strata, cluster):
    """Centred or non-centred, with the reason, for the baseline walk and the cluster effects.

    The random-walk steps face the same choice as the cluster effects: with many events per
    interval the data pin the baseline and a non-centred walk turns into a funnel in its SD.
    """
    ev_per_interval = np.bincount(
        strat_codes * K + interval, weights=events, minlength=max(n_strata, 1) * K
    )
    baseline = (None, "no random walk")
    if m.baseline != "iid":
        baseline = choose_parameterization(
            ev_per_interval, m.baseline_parameterization, unit="interval"
        )
    clusters = (None, "no cluster effects")
    if cluster is not None:
        ev_per = np.bincount(cluster.codes, weights=events, minlength=len(cluster.levels))
        clusters = choose_parameterization(ev_per, m.cluster_parameterization)
    return baseline, clusters


def _centre(X: np.ndarray, events: np.ndarray, center: np.ndarray | None) -> np.ndarray:
    r"""The centring :math:`\bar x` of the fixed-effect columns while sampling.

    As brms centres its design matrix: at the event-weighted means, the sampled baseline is the
    log hazard at average covariates, nearly uncorrelated with the effects. The reported
    ``baseline`` is shifted back to the reference profile, so predictions use the uncentred X.
    """
    if center is None:
        w = events if events.sum() > 0 else np.ones(len(events))
        return (w @ X) / w.sum() if X.shape[1] else np.zeros(0)
    xbar = np.asarray(center, dtype=np.float64)
    if xbar.shape != (X.shape[1],) or not np.isfinite(xbar).all():
        raise SpecError(f"center needs {X.shape[1]} finite values (one per coefficient)")
    return xbar


def _data(Xc, xbar, interval, stratum, cluster, containers: bool) -> dict:
    """The design arrays as constants, or as ``pm.Data`` inputs of the compiled model."""
    import pymc as pm

    d = {"X": Xc, "xbar": xbar, "interval": interval, "stratum": stratum}
    d["cluster"] = cluster.codes if cluster is not None else None
    if not containers:
        return d
    if Xc.shape[1]:
        d["X"] = pm.Data("X_centered", Xc, dims=("cell", "coef"))
        d["xbar"] = pm.Data("x_center", xbar, dims="coef")
    d["interval"] = pm.Data("interval_index", interval, dims="cell")
    d["stratum"] = pm.Data("stratum_index", stratum, dims="cell")
    if cluster is not None:
        d["cluster"] = pm.Data("cluster_index", cluster.codes.astype(np.int64), dims="cell")
    return d


def column_scales(X: np.ndarray, events: np.ndarray) -> np.ndarray:
    r"""The scale :math:`s_j` of each fixed-effect column: 1 for 0/1 columns, else its SD.

    The SD is event-weighted, as the centring is; a column with no spread gets 1. Numeric
    columns are sampled per SD (:math:`\beta_j s_j`), which keeps the jittered initial points
    and the step sizes sensible whatever unit the covariate is measured in.

    Parameters
    ----------
    X : (n_cells, p) array
    events : (n_cells,) array

    Returns
    -------
    numpy.ndarray
        ``(p,)``.
    """
    if X.shape[1] == 0:
        return np.ones(0)
    binary = np.all((X == 0) | (X == 1), axis=0)
    w = events if events.sum() > 0 else np.ones(len(events))
    mean = (w @ X) / w.sum()
    sd = np.sqrt((w @ (X - mean) ** 2) / w.sum())
    return np.where(binary | ~(sd > 0), 1.0, sd)


def _scales(design: Design, events: np.ndarray) -> np.ndarray:
    """:func:`column_scales`, with 1 for the smooths' basis columns (they have their own prior)."""
    scale = column_scales(design.X, events)
    for idx in smooth_groups(design.numeric, design.coef_levels).values():
        scale[idx] = 1.0
    return scale


def _fixed_effects(
    Xc, xbar, scale: np.ndarray, tv_idx, interval, pri, smooths=None, names=(), forms=None
):
    r"""Linear predictor of the (centred) fixed and time-varying effects, and the shift.

    .. math::

        \eta_c = (x_c - \bar x)^\top \beta + \sum_{j \in \mathrm{tv}} (x_{cj} - \bar x_j)
        \, \delta_{j, k(c)}, \qquad \delta_j = \tau \, z_j,\; z_j \sim
        \mathrm{ZeroSumNormal}(1),

    and the shift :math:`\bar x^\top \beta + \bar x_{\mathrm{tv}}^\top \delta` (per
    interval) that turns the centred baseline into the reference profile's.

    With numeric columns (some :math:`s_j \ne 1`, :func:`column_scales`) the sampled parameter
    is ``beta_z`` :math:`= \beta_j s_j`, the log hazard ratio per SD of the column, and the
    ``effects`` prior applies to it (as rstanarm's autoscaled priors); ``beta`` (per unit) is
    :math:`\beta_z / s`. With 0/1 columns only, ``beta`` is sampled directly.
    """
    import pymc as pm
    import pytensor.tensor as pt

    shift = 0.0
    eta = 0.0
    if smooths:
        beta = _with_smooths(scale, pri, smooths, list(names), forms or {})
    elif scale.size:
        if np.all(scale == 1.0):
            beta = prior_rv(pm, "beta", pri["effects"], dims="coef")
        else:
            beta_z = prior_rv(pm, "beta_z", pri["effects"], dims="coef")
            beta = pm.Deterministic("beta", beta_z / scale, dims="coef")
    if scale.size:
        eta = pt.dot(Xc, beta)
        shift = pt.dot(xbar, beta)
    if tv_idx:
        tau = prior_rv(pm, "tv_sd", pri["time_varying_sd"])
        delta_z = pm.ZeroSumNormal("tv_z", sigma=1.0, dims=("tv_coef", "interval"))
        per_unit = tau * delta_z
        if np.any(scale[tv_idx] != 1.0):  # sampled per SD, like beta_z; stored per unit
            per_unit = per_unit / scale[tv_idx][:, None]
        delta = pm.Deterministic("tv_delta", per_unit, dims=("tv_coef", "interval"))
        eta = eta + pt.sum(Xc[:, tv_idx] * delta[:, interval].T, axis=1)
        shift = shift + pt.dot(xbar[tv_idx], delta)  # (interval,)
    return eta, shift


def _with_smooths(scale: np.ndarray, pri, smooths: dict[str, list[int]], names: list[str], forms):
    r"""``beta`` when the formula has smooths.

    The smooths' coefficients come from :mod:`~bayessa.model.smooth`, the other effects are
    sampled per SD as ``beta_z`` (dims ``fixed_coef``) with the ``effects`` prior.
    """
    import pymc as pm
    import pytensor.tensor as pt

    model = pm.modelcontext(None)
    beta = pt.zeros(scale.size)
    in_smooth = {j for idx in smooths.values() for j in idx}
    fixed = [j for j in range(scale.size) if j not in in_smooth]
    if fixed:
        model.add_coord("fixed_coef", [names[j] for j in fixed])
        beta_z = prior_rv(pm, "beta_z", pri["effects"], dims="fixed_coef")
        beta = pt.set_subtensor(beta[fixed], beta_z / scale[fixed])
    for column, idx in smooths.items():
        coef = smooth_coefficients(
            column,
            len(idx) + 1,
            lambda name: prior_rv(pm, name, pri["smooth_sd"]),
            lambda name: prior_rv(pm, name, pri["effects"]),
            forms.get(column, "noncentered"),
        )
        beta = pt.set_subtensor(beta[idx], coef)
    return pm.Deterministic("beta", beta, dims="coef")


def _baseline(m, pri, cuts, strata_levels, K, param):
    r"""The baseline log hazard at average covariates, ``(S, K)``: iid, RW1 or RW2 per stratum.

    RW1: :math:`b_{k+1} = b_k + \sigma \sqrt{w_k}\, \epsilon_k`; RW2 integrates a random walk
    of the slope: :math:`b_{k+1} = b_k + w_k s_k`, :math:`s_{k} = s_0 + \sum_{l<k} \sigma
    \sqrt{w_l}\,\epsilon_l`, with :math:`w` the interval spacing (:func:`interval_spacing`).
    """
    import pymc as pm
    import pytensor.tensor as pt

    bdims = ("stratum", "interval") if strata_levels else ("interval",)
    S = len(strata_levels) if strata_levels else 1
    if m.baseline == "iid":
        return pt.reshape(
            prior_rv(pm, "baseline_centred", pri["baseline_level"], dims=bdims), (S, K)
        )
    spacing = interval_spacing(cuts)
    sigma_b = prior_rv(pm, "baseline_sd", pri["baseline_smoothing"])
    sdims = {"dims": "stratum"} if strata_levels else {}
    level = pt.reshape(prior_rv(pm, "baseline_start", pri["baseline_level"], **sdims), (S, 1))
    step_sd = sigma_b * np.sqrt(spacing)
    if param == "centered":
        steps = pm.Normal("baseline_step", 0.0, step_sd, shape=(S, K - 1))
    else:
        steps = step_sd * pm.Normal("baseline_z", 0.0, 1.0, shape=(S, K - 1))
    if m.baseline == "rw1":
        walk = pt.cumsum(steps, axis=1)
    else:  # rw2: integrated random walk of the slope
        slope0 = prior_rv(pm, "baseline_slope", pri["baseline_slope"], **sdims)
        slope = pt.reshape(slope0, (S, 1)) + pt.cumsum(steps, axis=1)
        walk = pt.cumsum(slope * spacing, axis=1)
    return level + pt.concatenate([pt.zeros((S, 1)), walk], axis=1)


def _likelihood(eta, events, log_exposure, data_containers: bool) -> None:
    r"""Poisson events per cell: :math:`D_c \sim \mathrm{Poisson}(\exp(\eta_c + \log T_c))`."""
    import pymc as pm
    import pytensor.tensor as pt

    observed = events
    if not np.isfinite(log_exposure).all():  # cells reached only by interval-censored units
        exposed = np.flatnonzero(np.isfinite(log_exposure))
        mu = pt.exp(eta[exposed] + log_exposure[exposed])
        pm.Poisson("events", mu=mu, observed=events[exposed])
        return
    if data_containers:
        log_exposure = pm.Data("log_exposure", log_exposure, dims="cell")
        observed = pm.Data("events_data", events, dims="cell")
    pm.Poisson("events", mu=pt.exp(eta + log_exposure), observed=observed, dims="cell")
