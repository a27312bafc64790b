r"""Predictive simulation: replicated unit lifetimes from the posterior or the prior.

A survival model is checked by simulating data *as the study would have recorded them* and
comparing with what was observed. For unit :math:`i` with entry age :math:`e_i` (delayed entry),
calendar time of its time zero :math:`o_i`, covariates :math:`x_i`, cluster :math:`g(i)` and
potential censoring age :math:`C_i`, one parameter draw :math:`\theta^{(s)}` gives the hazard

.. math::

    \lambda_i^{(s)}(t) = \exp\bigl(\log\lambda^{(s)}(k(t), p(o_i + t); x_i, g(i))\bigr),

constant on each Lexis piece: age interval :math:`k(t)` and, when the formula uses the calendar
period, calendar period :math:`p(o_i + t)` (:func:`bayessa.posterior.predict.log_rate` gives the log hazard
of each piece). The cumulative hazard from entry, :math:`H_i^{(s)}(t) = \int_{e_i}^{t}
\lambda_i^{(s)}(v)\,dv`, is piecewise linear, so the lifetime conditional on survival to
:math:`e_i` is drawn exactly by inversion,

.. math::

    T_i^{(s)} = \bigl(H_i^{(s)}\bigr)^{-1}(E_i^{(s)}), \qquad E_i^{(s)} \sim \mathrm{Exp}(1),

and the replicate is censored as the unit was:
:math:`\tilde X_i^{(s)} = \min(T_i^{(s)}, C_i)`, :math:`\tilde\delta_i^{(s)} = 1\{T_i^{(s)} \le C_i\}`.

Censoring times (:func:`censoring_times`). A censored unit's :math:`C_i` is its observed exit.
For a unit with an event the censoring time it *would* have had is not observed; bayessa uses
the administrative end of the study: :math:`C_i = \tau - o_i` with :math:`\tau = \max_j (o_j +
X_j)`, the latest observed calendar exit, when calendar origins are known (date input), else
:math:`C_i = \max_j X_j`, the longest observed follow-up. This assumes units with events would
have been followed to the end of the study (no loss to follow-up among them), which is the usual
choice and errs towards *less* censoring in the replicates. :math:`C_i` is capped at the last
age cut point when that is finite, since the model has no hazard beyond it.

Everything reads only the DataTree (``posterior`` or ``prior``, ``observed_data``,
``constant_data`` and the ``bayessa_*`` attrs), so it works on saved runs and on fake posteriors.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from bayessa._rng import as_generator
from bayessa.errors import SpecError
from bayessa.model.numeric import NumericTerm
from bayessa.model.random import random_prefix
from bayessa.posterior.predict import coded_rows, draws, log_rate, thin
from bayessa.posterior.rundir import open_tree

__all__ = [
    "UnitLayout",
    "UnitPaths",
    "censoring_times",
    "draw_times",
    "unit_cumulative_hazard",
    "prior_draws",
    "replicate_lifetimes",
    "unit_layout",
]

#: Samples x units x pieces handled at once; bounds the working memory to about 100 MB.
_BLOCK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class UnitLayout:
    """What predictive simulation needs about each unit, read from a DataTree.

    Parameters
    ----------
    ids : (n,)
        Unit labels, as in the DataTree's ``unit`` coordinate.
    entry, exit : (n,) float
        Entry (delayed entry) and observed exit age.
    event : (n,) bool
        Observed event status.
    origin : (n,) float
        Calendar time of each unit's time zero (NaN when unknown).
    censor : (n,) float
        Potential censoring age :math:`C_i` (see the module notes).
    cuts : (K + 1,) float
        Age cut points.
    period_cuts : (P - 1,) float
        Calendar cut points, only when the hazard depends on the calendar period, else empty.
    X : (n, P, p) float
        Fixed-effect row of each unit in each calendar period (of each data row, with
        ``paths``).
    stratum : (n,) int or None
        Baseline stratum of each unit, or of each data row with ``paths`` (stratified models).
    cluster : (n,) int or None
        Index of each unit's cluster among the model's clusters (-1: unknown, effect 0).
    cluster_name : str or None
        Name of the cluster variable (None without cluster effects).
    tv_columns : tuple of int
        Columns of ``X`` with time-varying (per-interval) deviations.
    random : tuple of (str, (n,) int, tuple of int), default ()
        Every random-effect term: its variable prefix, each unit's level (-1: unknown, effect
        0) and the columns of ``X`` with a random slope. The cluster's intercept is applied
        through ``cluster`` (fitted or new); the others' intercepts and all slopes are fitted.
    paths : UnitPaths, optional
        Covariates that change during follow-up: ``X`` then has one row per data row (not per
        unit), and each unit's replicate follows its observed path.
    upper : (n,) float, optional
        Interval censoring: the upper bound :math:`R_i` of an event known only to lie in
        :math:`(X_i, R_i]` (``exit`` is then :math:`L_i`, ``event`` False); NaN for the
        others. Such a unit had an event, so its :math:`C_i` is the end of the study.
    """

    ids: np.ndarray
    entry: np.ndarray
    exit: np.ndarray
    event: np.ndarray
    origin: np.ndarray
    censor: np.ndarray
    cuts: np.ndarray
    period_cuts: np.ndarray
    X: np.ndarray
    stratum: np.ndarray | None
    cluster: np.ndarray | None
    cluster_name: str | None
    tv_columns: tuple[int, ...]
    random: tuple = ()
    paths: UnitPaths | None = None
    upper: np.ndarray | None = None

    @property
    def interval_censored(self) -> np.ndarray:
        """Which units' events are known only to lie in ``(exit, upper]``."""
        if self.upper is None:
            return np.zeros(self.n_units, dtype=bool)
        return np.isfinite(self.upper)

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.ids)


@dataclass(frozen=True)
class UnitPaths:
    """Each unit's rows, for replicates that follow its observed covariate path.

    A unit's row :math:`r` holds on :math:`(s_r, e_r]`; its covariates hold until the next row
    starts, the last row's beyond the observed exit (to the potential censoring age). Between
    two rows (a gap: not at risk) the hazard is zero, as in the likelihood.

    Parameters
    ----------
    first : (n,) int
        Each unit's first row.
    starts, ends : (n, m) float
        Start and end of each unit's rows (``m`` the most rows of a unit), padded with ``inf``.
    """

    first: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def from_rows(cls, unit: np.ndarray, start: np.ndarray, end: np.ndarray, n: int) -> UnitPaths:
        """Build from the rows' unit, start and end (rows ordered by unit and time).

        Parameters
        ----------
        unit : (R,) int
            The unit of each row.
        start, end : (R,) float
            Each row's interval.
        n : int
            Number of units.

        Returns
        -------
        UnitPaths
        """
        counts = np.bincount(unit, minlength=n)
        first = np.cumsum(counts) - counts
        pos = np.arange(unit.size) - first[unit]
        starts = np.full((n, max(int(counts.max()), 1)), np.inf)
        ends = starts.copy()
        starts[unit, pos], ends[unit, pos] = start, end
        return cls(first, starts, ends)


def _attr_json(tree: xr.DataTree, name: str) -> Any:
    try:
        return json.loads(tree.attrs[name])
    except KeyError:
        raise SpecError(
            f"the DataTree has no '{name}' attribute; predictive checks need a DataTree made by "
            "bayessa.fit (or bayessa.prior_draws) with this version of bayessa: refit the model"
        ) from None


def _calendar_periods(tree: xr.DataTree) -> tuple[np.ndarray, list[str], str]:
    """Calendar cut points on the time scale, period labels in calendar order, period name."""
    from bayessa.data.columns import to_calendar

    t = tomllib.loads(tree.attrs["bayessa_spec"]).get("time", {})
    periods, labels = list(t.get("periods", [])), list(t.get("period_labels", []))
    name = t.get("period_name", "period")
    if not periods:
        return np.empty(0), labels or ["all"], name
    if all(isinstance(p, (int, float)) for p in periods):
        c = np.asarray(periods, dtype=float)
    else:
        c = to_calendar(periods, tree.attrs.get("bayessa_time_unit", "years"))
    if not labels:  # the default labels of bayessa.split
        names = [str(p) for p in periods]
        inner = [f"{a} to {b}" for a, b in zip(names[:-1], names[1:], strict=True)]
        labels = [f"before {names[0]}", *inner, f"from {names[-1]}"]
    return c, labels, name


_TERM = re.compile(r"([^\[\]:]+)\[([^\[\]]*)\]")


def _coding(tree: xr.DataTree, info: dict) -> tuple[list, dict, np.ndarray | None]:
    """Each coefficient's (component, level) pairs, the numeric components and the reference row.

    From ``bayessa_design`` when the run has it, else parsed from the coefficient names
    ``var[level]:var2[level2]`` (older runs, categorical covariates only).
    """
    if "bayessa_design" in tree.attrs:
        d = json.loads(tree.attrs["bayessa_design"])
        levels = [
            [(str(v), None if lv is None else str(lv)) for v, lv in c] for c in d["coef_levels"]
        ]
        numeric = {k: NumericTerm.from_dict(t) for k, t in d.get("numeric", {}).items()}
        x_ref = np.asarray(d["x_reference"], dtype=np.float64) if numeric else None
        return levels, numeric, x_ref
    out = []
    for name in info["coef_names"]:
        parts = [_TERM.fullmatch(t) for t in name.split(":")]
        if not all(parts):
            raise SpecError(f"cannot read the coding of coefficient '{name}'; refit the model")
        out.append([(m.group(1), m.group(2)) for m in parts if m])
    return out, {}, None


def unit_layout(source: Any) -> UnitLayout:
    """Read every unit's follow-up, covariate rows, stratum and cluster from a DataTree.

    Parameters
    ----------
    source : FitResult, xarray.DataTree, str or Path
        A run made by bayessa (see :func:`bayessa.posterior.rundir.open_tree`).

    Returns
    -------
    UnitLayout

    Raises
    ------
    SpecError
        The tree lacks what bayessa stores (model info, cut points, unit origins).
    """
    tree = open_tree(source)
    obs, const = tree["observed_data"].dataset, tree["constant_data"].dataset
    info = _attr_json(tree, "bayessa_model_info")
    coef_levels, numeric, x_ref = _coding(tree, info)
    components = dict.fromkeys(v for combo in coef_levels for v, _ in combo)
    variables = list(dict.fromkeys(numeric[v].column if v in numeric else v for v in components))
    cuts = np.array([math.inf if c == "inf" else c for c in _attr_json(tree, "bayessa_cuts")])
    ids = np.asarray(obs["unit"].values)
    n = ids.size
    entry = const["entry"].to_numpy().astype(np.float64)
    exit_ = obs["time"].to_numpy().astype(np.float64)
    event = const["time"].to_numpy().astype(bool)
    if "origin" not in const:
        raise SpecError(
            "constant_data has no 'origin' (calendar time of each unit's time zero); "
            "refit the model with this version of bayessa"
        )
    origin = const["origin"].to_numpy().astype(np.float64)
    calendar = bool(np.isfinite(origin).all())
    if calendar:
        c_event = np.max(origin + exit_) - origin
    else:
        c_event = np.full(n, exit_.max())
    upper = const["time_upper"].to_numpy().astype(np.float64) if "time_upper" in const else None
    had_event = event | (np.isfinite(upper) if upper is not None else False)
    censor = np.minimum(np.where(had_event, c_event, exit_), cuts[-1])

    pcuts, plabels, pname = _calendar_periods(tree)
    if pname not in variables:
        pcuts, plabels = np.empty(0), plabels[:1]
    elif not calendar:
        raise SpecError("the formula uses the calendar period but unit origins are unknown")
    paths, prefix, n_rows = None, "unit", n
    if "row_unit" in const:  # covariates that change: one design row per data row
        paths = UnitPaths.from_rows(
            const["row_unit"].to_numpy(),
            const["row_entry"].to_numpy().astype(np.float64),
            const["row_exit"].to_numpy().astype(np.float64),
            n,
        )
        prefix, n_rows = "row", const.sizes["row"]
    values = pd.DataFrame(
        {v: const[f"{prefix}_{v}"].to_numpy() for v in variables if v != pname},
        index=range(n_rows),
    )
    X = np.empty((n_rows, len(plabels), len(coef_levels)))
    for p, label in enumerate(plabels):
        X[:, p] = coded_rows(coef_levels, numeric, x_ref, values.assign(**{pname: label}))

    stratum = None
    if info.get("strata"):
        levels = list(info["strata_levels"])
        stratum = _codes(const[f"{prefix}_{info['strata']}"].to_numpy().astype(str), levels)
    cname = info.get("cluster")
    cluster = None
    if cname:
        levels = _cluster_levels(tree, cname)
        cluster = _codes(const[f"unit_{cname}"].to_numpy().astype(str), levels)
    coefs = list(info["coef_names"])
    tv = tuple(coefs.index(c) for c in info.get("time_varying_coefs", []))
    random = []
    for i, (g, slopes) in enumerate(zip(info.get("random_terms", []), info.get("random_slopes", []),
                                        strict=True)):  # fmt: skip
        codes = _codes(const[f"unit_{g}"].to_numpy().astype(str), _cluster_levels(tree, g))
        random.append((random_prefix(i, g), codes, tuple(coefs.index(c) for c in slopes)))
    return UnitLayout(ids, entry, exit_, event, origin, censor, cuts, pcuts, X, stratum, cluster,
                      cname, tv, tuple(random), paths, upper)  # fmt: skip


def _cluster_levels(tree: xr.DataTree, name: str) -> list[str]:
    """Cluster levels in the order of the parameter draws' cluster dimension."""
    for group in ("posterior", "prior"):
        if group in tree.children and name in tree[group].dataset.coords:
            return [str(x) for x in tree[group].dataset[name].values]
    return []


def _codes(values: np.ndarray, levels: list[str]) -> np.ndarray:
    lookup = {lv: i for i, lv in enumerate(levels)}
    return np.array([lookup.get(v, -1) for v in values], dtype=np.int64)


def censoring_times(source: Any) -> xr.DataArray:
    """Potential censoring age :math:`C_i` of every unit (see the module notes for the rule).

    Parameters
    ----------
    source : FitResult, xarray.DataTree, str or Path
        A run made by bayessa (see :func:`bayessa.posterior.rundir.open_tree`).

    Returns
    -------
    xarray.DataArray
        ``censor_time`` along ``unit``, on the run's time scale.
    """
    lay = unit_layout(source)
    return xr.DataArray(lay.censor, dims="unit", coords={"unit": lay.ids}, name="censor_time")


# --------------------------------------------------------------------------------------------
# hazards on the Lexis pieces of each unit


def _pieces(lay: UnitLayout, idx: np.ndarray, end: np.ndarray):
    """Pieces of the follow-up ``(entry, end]`` of units ``idx``.

    Pieces of the follow-up ``(entry, end]`` of units ``idx``: starts, widths, interval and
    period index and the row of ``lay.X`` they use, each ``(len(idx), J)``; pieces outside the
    follow-up (or in a gap between a unit's rows) have width 0.
    """
    a, c = lay.cuts, lay.period_cuts
    e = lay.entry[idx]
    stop = np.maximum(end[idx], e)
    cols = [e[:, None], np.broadcast_to(a[1:-1], (idx.size, a.size - 2))]
    if c.size:
        cols.append(c[None, :] - lay.origin[idx, None])
    if lay.paths is not None:
        cols += [lay.paths.starts[idx], lay.paths.ends[idx]]
    cols.append(stop[:, None])
    bp = np.clip(np.concatenate(cols, axis=1), e[:, None], stop[:, None])
    bp.sort(axis=1)
    lo, hi = bp[:, :-1], bp[:, 1:]
    mid = 0.5 * (lo + hi)
    k = np.clip(np.searchsorted(a, mid, side="left") - 1, 0, a.size - 2)
    if c.size:
        p = np.searchsorted(c, lay.origin[idx, None] + mid, side="right")
    else:
        p = np.zeros_like(k)
    width = hi - lo
    if lay.paths is None:
        return lo, width, k, p, np.broadcast_to(idx[:, None], k.shape)
    starts, ends = lay.paths.starts[idx], lay.paths.ends[idx]
    pos = np.maximum((starts[:, None, :] <= lo[:, :, None]).sum(-1) - 1, 0)
    n_rows = np.isfinite(starts).sum(axis=1)
    in_gap = (lo >= np.take_along_axis(ends, pos, 1)) & (pos < n_rows[:, None] - 1)
    return lo, np.where(in_gap, 0.0, width), k, p, lay.paths.first[idx][:, None] + pos


def _piece_hazard(post, lay, idx, k, p, row, u) -> np.ndarray:
    """Hazard of each piece, ``(S, len(idx), J)``; ``u`` are cluster effects ``(S, G)``."""
    nb, J = k.shape
    unit = np.repeat(idx, J)
    row = row.ravel()
    lr = log_rate(
        post,
        interval=k.ravel(),
        X=lay.X[row, p.ravel()],
        stratum=lay.stratum[row] if lay.stratum is not None else None,
        tv_columns=lay.tv_columns,
    ).reshape(-1, nb, J)
    if u is not None and lay.cluster is not None:
        cl = lay.cluster[idx]
        lr = lr + np.where(cl >= 0, u[:, np.maximum(cl, 0)], 0.0)[:, :, None]
    for i, (prefix, codes, slopes) in enumerate(lay.random):
        c = codes[unit]
        known, at = c >= 0, np.maximum(c, 0)
        if i and f"{prefix}_effect" in post:  # the cluster's intercept came through u
            add = np.where(known, draws(post, f"{prefix}_effect")[:, at], 0.0)
            lr = lr + add.reshape(-1, nb, J)
        if slopes and f"{prefix}_slope" in post:
            Z = lay.X[row, p.ravel()][:, list(slopes)]
            v = draws(post, f"{prefix}_slope")[:, at]
            lr = lr + np.where(known, np.einsum("rq,srq->sr", Z, v), 0.0).reshape(-1, nb, J)
    with np.errstate(over="ignore"):
        return np.exp(lr)


def _path_columns(lay: UnitLayout) -> int:
    """Break points a unit's rows add to its pieces (none without covariate paths)."""
    return 0 if lay.paths is None else 2 * lay.paths.starts.shape[1]


def _blocks(n: int, per_unit: int):
    size = max(1, _BLOCK_ELEMENTS // max(per_unit, 1))
    for start in range(0, n, size):
        yield np.arange(start, min(n, start + size))


def _cluster_effects(post: xr.Dataset, clusters: str, rng: np.random.Generator):
    if "cluster_effect" not in post:
        return None
    u = post["cluster_effect"].transpose("chain", "draw", ...).to_numpy()
    u = u.reshape(-1, u.shape[-1])
    if clusters == "fitted":
        return u
    sd = post["cluster_sd"].transpose("chain", "draw").to_numpy().reshape(-1)
    return sd[:, None] * rng.standard_normal(u.shape)


def _group(tree: xr.DataTree, group: str) -> xr.Dataset:
    if group not in tree.children:
        have = ", ".join(tree.children)
        raise SpecError(
            f"the DataTree has no '{group}' group (it has {have}); use group='posterior' for a "
            "fit, group='prior' for bayessa.prior_draws"
        )
    return tree[group].dataset


def replicate_lifetimes(
    source: Any,
    *,
    group: str = "posterior",
    n_draws: int | None = None,
    seed: int | np.random.Generator | None = None,
    clusters: Literal["fitted", "new"] = "fitted",
) -> xr.Dataset:
    r"""Replicated exit times and event status of every unit, one replicate per draw.

    Each unit keeps its own entry age, calendar origin, covariates, cluster and potential
    censoring age :math:`C_i` (:func:`censoring_times`), so Kaplan-Meier curves of a replicate
    are directly comparable with the observed one (see the module notes for the sampler).

    Parameters
    ----------
    source : FitResult or DataTree
        A fit (``group="posterior"``) or :func:`prior_draws` (``group="prior"``).
    group : str
        The group holding the parameter draws.
    n_draws : int, optional
        Use about this many draws (evenly spaced within every chain); default all.
    seed : int or numpy.random.Generator, optional
        Seed of the exponential variates (and new cluster effects); ``None``: fresh entropy.
    clusters : {"fitted", "new"}
        ``"fitted"``: every unit keeps its cluster's effect from the same draw (replicates of
        these clusters). ``"new"``: every cluster gets a new effect
        :math:`u_g \sim N(0, \sigma_u^2)` per draw (replicates of new clusters; mixed
        predictive), which checks the cluster distribution itself.

    Returns
    -------
    xarray.Dataset
        ``time`` (chain, draw, unit): replicated exit age :math:`\min(T_i, C_i)`; ``event``
        (chain, draw, unit) int8: 1 if :math:`T_i \le C_i`. Assigned to
        ``tree["posterior_predictive"]`` it follows ArviZ's survival layout (observed times in
        ``observed_data["time"]``, status in ``constant_data["time"]``).
    """
    if clusters not in ("fitted", "new"):
        raise SpecError(f"clusters must be 'fitted' or 'new', got {clusters!r}")
    tree = open_tree(source)
    if clusters == "new" and "cluster_slope" in _group(tree, group):
        raise SpecError(
            "clusters='new' is not available with random slopes on the cluster: a new cluster "
            "would need its intercept and slopes drawn together; use clusters='fitted'"
        )
    post = thin(_group(tree, group), n_draws, method="per_chain")
    lay = unit_layout(tree)
    rng = as_generator(seed, allow_none=True)
    nc, nd = post.sizes["chain"], post.sizes["draw"]
    n = lay.n_units
    u = _cluster_effects(post, clusters, rng)
    time, event = draw_times(post, lay, lay.censor, u, rng)
    coords = {"chain": post["chain"].values, "draw": post["draw"].values, "unit": lay.ids}
    dims = ("chain", "draw", "unit")
    return xr.Dataset(
        {"time": (dims, time.reshape(nc, nd, n)), "event": (dims, event.reshape(nc, nd, n))},
        coords=coords,
        attrs={
            "bayessa_group": group,
            "bayessa_clusters": clusters,
            "bayessa_censoring": "censored units: observed exit; units with an event: "
            "administrative end of the study (latest observed calendar exit, or the longest "
            "follow-up without calendar origins); capped at the last age cut point",
        },
    )


def draw_times(post, lay: UnitLayout, censor: np.ndarray, u, rng: np.random.Generator):
    r"""Replicated exit times and event status of every unit (the inversion of the notes).

    Parameters
    ----------
    post : xarray.Dataset
        Parameter draws (chain, draw).
    lay : UnitLayout
        The units.
    censor : (n,) float
        Each unit's potential censoring age :math:`C_i`.
    u : (S, G) float or None
        Cluster effects per draw (fitted or new).
    rng : numpy.random.Generator
        Source of the exponential variates.

    Returns
    -------
    time : (S, n) float
        :math:`\min(T_i, C_i)`.
    event : (S, n) int8
        :math:`1\{T_i \le C_i\}`.
    """
    S, n = post.sizes["chain"] * post.sizes["draw"], lay.n_units
    time = np.empty((S, n))
    event = np.empty((S, n), dtype=np.int8)
    J = lay.cuts.size + lay.period_cuts.size + _path_columns(lay)
    for idx in _blocks(n, S * J):
        lo, w, k, p, row = _pieces(lay, idx, censor)
        h = _piece_hazard(post, lay, idx, k, p, row, u)
        with np.errstate(invalid="ignore", over="ignore"):
            cum = np.cumsum(np.where(w > 0, h * w, 0.0), axis=-1)
        E = rng.standard_exponential((S, idx.size))
        j = (cum < E[..., None]).sum(axis=-1)
        hit = j < cum.shape[-1]
        jj = np.minimum(j, cum.shape[-1] - 1)[..., None]
        prev = np.where(jj > 0, np.take_along_axis(cum, np.maximum(jj - 1, 0), -1), 0.0)[..., 0]
        start = np.take_along_axis(np.broadcast_to(lo, h.shape), jj, -1)[..., 0]
        rate = np.take_along_axis(h, jj, -1)[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = start + (E - prev) / rate
        time[:, idx] = np.where(hit, np.minimum(t, censor[idx]), censor[idx])
        event[:, idx] = hit
    return time, event


def unit_cumulative_hazard(
    source: Any, end: np.ndarray | None = None, *, group: str = "posterior"
) -> np.ndarray:
    r"""Cumulative hazard of every unit from its entry, per draw.

    .. math::

        H_i^{(s)} = \int_{e_i}^{t_i} \lambda_i^{(s)}(v)\,dv
                  = \sum_{\text{pieces } j} \lambda_{ij}^{(s)} \, |(e_i, t_i] \cap j|,

    so :math:`1 - \exp(-H_i^{(s)})` is the probability of an event in :math:`(e_i, t_i]` given
    survival to :math:`e_i` (each unit with its fitted cluster effect).

    Parameters
    ----------
    source : FitResult or DataTree
    end : (n,) array, optional
        The ages :math:`t_i`; default each unit's observed exit. Capped at the last cut point.
    group : str
        ``"posterior"`` or ``"prior"``.

    Returns
    -------
    (chain * draw, n) float64
    """
    tree = open_tree(source)
    post = _group(tree, group)
    lay = unit_layout(tree)
    S = post.sizes["chain"] * post.sizes["draw"]
    end = np.minimum(lay.exit if end is None else np.asarray(end, dtype=float), lay.cuts[-1])
    u = _cluster_effects(post, "fitted", np.random.default_rng(0))
    H = np.empty((S, lay.n_units))
    for idx in _blocks(
        lay.n_units, S * (lay.cuts.size + lay.period_cuts.size + _path_columns(lay))
    ):
        _, w, k, p, row = _pieces(lay, idx, end)
        h = _piece_hazard(post, lay, idx, k, p, row, u)
        with np.errstate(invalid="ignore", over="ignore"):
            H[:, idx] = np.where(w > 0, h * w, 0.0).sum(axis=-1)
    return H


# --------------------------------------------------------------------------------------------
# prior draws


def prior_draws(
    source: Any = None,
    data: Any = None,
    *,
    draws: int = 500,
    seed: int = 0,
) -> xr.DataTree:
    """Draw the model parameters from their prior, in a DataTree laid out like a fit's.

    The PyMC model of the spec is built on the data exactly as :func:`bayessa.fit` builds it and
    ``pymc.sample_prior_predictive`` draws every parameter (seeded). Note that the fixed-effect
    columns are centred at their event-weighted means while sampling, so the prior of the
    reference-profile ``baseline`` is centred there too (as in brms).

    Parameters
    ----------
    source : FitResult, Spec or path, optional
        The model: a fit (its spec and, when fresh, its prepared data) or a spec; default the
        default spec (``models/partnership.toml``).
    data : path or DataFrame, optional
        The units; default the fit's data or the spec's ``[data] path``.
    draws : int
        Number of prior draws (one chain).
    seed : int
        Seed of the prior draws.

    Returns
    -------
    xarray.DataTree
        Groups ``prior`` (chain, draw, ...), ``observed_data`` and ``constant_data`` and the
        ``bayessa_*`` attrs of a fit; pass it to :func:`replicate_lifetimes` with
        ``group="prior"``.
    """
    import pymc as pm

    from bayessa.model.pem import build_model
    from bayessa.model.preparation import prepare, resolve_spec
    from bayessa.posterior.datatree import assemble

    prepared = getattr(source, "prepared", None) if data is None else None
    spec = source.spec if hasattr(source, "spec") else resolve_spec(source)
    if prepared is None:
        prepared = prepare(data, spec)
    # the per-cell Poisson: prior predictive sampling draws from it (not from a Potential)
    model, info = build_model(prepared.cells, prepared.design, spec, likelihood="cells")
    names = [v.name for v in (*model.free_RVs, *model.deterministics)]
    prior = pm.sample_prior_predictive(
        draws, model=model, var_names=names, random_seed=seed, return_inferencedata=True
    )["prior"].dataset
    # assemble() adds the data groups and attrs to a sampled tree; give it the prior draws.
    stub = xr.DataTree.from_dict({"posterior": prior, "sample_stats": xr.Dataset()})
    tree = assemble(stub, prepared, spec, info, log_likelihood=False)
    out = xr.DataTree.from_dict(
        {
            "prior": tree["posterior"].dataset,
            "observed_data": tree["observed_data"].dataset,
            "constant_data": tree["constant_data"].dataset,
        }
    )
    out.attrs.update(tree.attrs)
    out.attrs["bayessa_log_likelihood"] = "not computed (prior draws)"
    out.attrs["bayessa_prior_seed"] = int(seed)
    return out
