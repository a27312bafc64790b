r"""Prediction for a table of new units: survival, cumulative hazard and hazard per row and time.

For a row with covariates :math:`x` (and stratum :math:`\sigma`), draw :math:`s` has the
piecewise-constant log hazard :math:`\eta_{sk} = \alpha^{(s)}_{\sigma k} + x^\top\beta^{(s)} (+
\text{time-varying terms})` in interval :math:`k`, and the cluster (county) effect enters in one
of two ways, said in the ``cluster_effect`` column of every row:

* **conditional** -- the row names a cluster seen in the data: :math:`\eta_{sk} + u^{(s)}_g`, and

  .. math:: h(t) = e^{\eta_{s,k(t)} + u_g}, \quad H(t) = \int_0^t h, \quad S(t) = e^{-H(t)};

* **marginal** -- the row's cluster is unseen, missing or absent: a new cluster,
  :math:`u \sim N(0, \sigma_u^{(s)})`, integrated out by Gauss--Hermite quadrature (nodes
  :math:`z_j`, weights :math:`v_j`):

  .. math::

      S(t) = \sum_j v_j e^{-e^{z_j} H_0(t)}, \quad
      H(t) = -\log S(t), \quad
      h(t) = \frac{\sum_j v_j e^{z_j} h_0(t) e^{-e^{z_j} H_0(t)}}{S(t)},

  the population-averaged survival, cumulative hazard and hazard of units like this row.

Each quantity is summarised over the posterior draws by its median and equal-tailed interval.
The restricted mean survival time to ``horizon`` and the median survival time are given per row
(repeated on each of its time rows).

**Covariate paths.** With ``id`` and ``tstart``, rows sharing an id are one new unit whose
covariates change: each row's values hold from its ``tstart`` (the first 0) until the next
row's, e.g. consumer-led until year 2 and professional-led after. Its hazard is the rows' hazards
stitched together at the change times (:func:`bayessa.posterior.curves.path_log_hazard`), so
survival, RMST and median follow the path; the ``path`` column describes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayessa.errors import DataError, Problem, SpecError
from bayessa.posterior.curves import (
    Mixture,
    _hermite,
    cumulative_hazard,
    gh_nodes,
    path_log_hazard,
    summarise,
)
from bayessa.posterior.predict import DesignInfo, draws, profile_log_hazard, thin
from bayessa.posterior.rundir import open_tree

__all__ = ["predict_newdata"]


def predict_newdata(
    source: Any,
    newdata: pd.DataFrame,
    *,
    times: Sequence[float],
    horizon: float | None = None,
    ci_prob: float = 0.95,
    max_draws: int | None = 1000,
    seed: int = 0,
    id: str | None = None,  # noqa: A002 - the id column, as in fit()
    tstart: str | None = None,
) -> pd.DataFrame:
    r"""Survival, cumulative hazard and hazard of each row of ``newdata`` at each of ``times``.

    Parameters
    ----------
    source : FitResult, xarray.DataTree, str or Path
        A run.
    newdata : DataFrame
        One row per new unit with every covariate of the formula (and the strata variable); the
        cluster column is optional (missing or unseen values: marginal). Levels are matched as
        text (``1`` and ``"1"`` alike). Never modified.
    times : sequence of float
        Times in the run's unit, in :math:`(0, \infty)`; beyond the last finite cut point the
        last interval's hazard is extrapolated only if that interval is open.
    horizon : float, optional
        RMST horizon; default: the end of the modelled follow-up.
    ci_prob : float, default 0.95
        Probability of the equal-tailed intervals.
    max_draws : int or None, default 1000
        Posterior samples used (seeded random thinning); ``None``: all.
    seed : int, default 0
        Seed of the thinning.
    id, tstart : str, optional
        Covariate paths: rows with the same ``id`` are one new unit, each row's covariates
        holding from its ``tstart`` (0 for the unit's first row) until the next row's.

    Returns
    -------
    DataFrame
        Long: one row per ``newdata`` row (or path) and time, with ``row`` (its index in
        ``newdata``; a path's first row), with paths the id and ``path`` (the path in words; the
        covariate columns then hold the values in force at each time),
        the row's covariates, its cluster as given (when the model has one),
        ``cluster_effect`` (how the cluster entered), ``time``,
        ``survival``, ``cumhaz``, ``hazard`` (posterior medians) with ``_lower``/``_upper``,
        and per row ``rmst``, ``rmst_lower``, ``rmst_upper``, ``median``, ``median_lower``,
        ``median_upper`` (``inf`` where survival stays above 1/2) and ``horizon``.

    Raises
    ------
    DataError
        A covariate is missing from ``newdata``, or a row has a missing or unknown level
        (naming the rows and the levels the model knows).
    SpecError
        Times outside the model's range, or an empty ``newdata``.
    """
    tree = open_tree(source)
    info = DesignInfo.from_datatree(tree)
    post = thin(tree["posterior"].dataset, max_draws, seed=seed)
    times = _check_times(times, info)
    tau = info.last_cut if horizon is None else float(horizon)
    profiles = _profiles(newdata, info)
    eta = profile_log_hazard(post, info, profiles)  # (S, N, K) at u = 0
    how, shift, marginal = _cluster_terms(newdata, info, post, info.rows(profiles))
    eta = eta + shift[:, :, None]
    nodes = _nodes(post, info) if marginal.any() else None
    paths = _paths(newdata, id, tstart, info)
    out = []
    for rows, starts in paths:
        i = rows[0]
        quad = nodes if marginal[i] else None
        e, cuts = eta[:, rows, :], info.cuts
        if len(rows) > 1:
            e, cuts = path_log_hazard(e, starts, cuts)
        cols = _row(e, cuts, times, tau, quad, ci_prob)
        frame = pd.DataFrame({"row": newdata.index[i], "time": times, **cols})
        in_force = np.asarray(rows)[np.searchsorted(starts, times, side="left") - 1]
        for v in info.profile_variables:
            frame.insert(1, v, profiles[v].to_numpy()[in_force])
        at = len(info.profile_variables) + 1
        if id is not None:
            frame.insert(1, id, newdata[id].iloc[i])
            frame.insert(2, "path", _describe_path(profiles, rows, starts, info))
            at += 2
        if info.cluster is not None:
            value = newdata[info.cluster].iloc[i] if info.cluster in newdata.columns else None
            frame.insert(at, info.cluster, None if pd.isna(value) else str(value))
            at += 1
        frame.insert(at, "cluster_effect", how[i])
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def _paths(
    newdata: pd.DataFrame, id: str | None, tstart: str | None, info: DesignInfo
) -> list[tuple[list[int], np.ndarray]]:
    """The rows of each new unit and the times from which they hold (checked)."""
    if id is None and tstart is None:
        return [([i], np.zeros(1)) for i in range(len(newdata))]
    if id is None or tstart is None:
        raise SpecError("covariate paths need both id and tstart (the rows of one new unit)")
    for col in (id, tstart):
        if col not in newdata.columns:
            raise DataError(Problem(f"column '{col}' not found", "name a column of newdata", col))
    start = pd.to_numeric(newdata[tstart], errors="coerce").to_numpy(dtype=np.float64)
    problems, out = [], []
    for key, idx in newdata.groupby(id, sort=False).indices.items():
        idx = idx[np.argsort(start[idx], kind="stable")]
        s = start[idx]
        if not np.isfinite(s).all() or s[0] != 0 or (np.diff(s) <= 0).any():
            problems.append(key)
            continue
        if info.cluster is not None and info.cluster in newdata.columns:
            if newdata[info.cluster].iloc[idx].astype(str).nunique() > 1:
                problems.append(key)
                continue
        out.append((list(idx), s))
    if problems:
        raise DataError(
            Problem(
                "paths whose tstart values do not start at 0 and increase, or whose cluster "
                "changes",
                f"give each new unit rows with {tstart} = 0 for the values at time zero and "
                f"strictly increasing {tstart} for each change; one cluster per unit",
                tstart,
                tuple(problems),
            ),
            source="newdata",
        )
    return out


def _describe_path(profiles: pd.DataFrame, rows: list[int], starts: np.ndarray, info) -> str:
    """``"transplant = 0; from 30: transplant = 1"`` (only what changes after the first row)."""
    first = profiles.iloc[rows[0]]
    text = [", ".join(f"{v} = {first[v]}" for v in info.profile_variables)]
    prev = first
    for r, s in zip(rows[1:], starts[1:], strict=True):
        row = profiles.iloc[r]
        changed = [f"{v} = {row[v]}" for v in info.profile_variables if row[v] != prev[v]]
        text.append(f"from {s:g} {info.time_unit}: " + (", ".join(changed) or "no change"))
        prev = row
    return "; ".join(text)


def _check_times(times: Sequence[float], info: DesignInfo) -> np.ndarray:
    t = np.asarray(times, dtype=np.float64).ravel()
    end = info.cuts[-1]
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0) or np.any(t > end):
        raise SpecError(
            f"times must be numbers in (0, {end:g}] ({info.time_unit}), the model's range; got "
            f"{list(np.asarray(times).ravel()[:5])}"
        )
    return t


def _profiles(newdata: pd.DataFrame, info: DesignInfo) -> pd.DataFrame:
    """Each row's covariates, checked against what the model knows.

    Categories as level text, checked against the model's levels; numeric covariates as numbers,
    checked against their transforms' domains.
    """
    if len(newdata) == 0:
        raise SpecError("newdata has no rows")
    absent = [v for v in info.profile_variables if v not in newdata.columns]
    if absent:
        raise DataError(
            [
                Problem(
                    f"column '{v}' not found",
                    f"give every covariate of the formula '{info.formula}'",
                    v,
                )
                for v in absent
            ]
        )
    from bayessa.data.parsing import level_label

    problems = []
    profiles = pd.DataFrame(index=newdata.index)
    for v in info.profile_variables:
        col = newdata[v]
        if v in info.numeric_columns:
            profiles[v], found = _numbers(col, v, info)
            problems += found
            continue
        text = np.array(["" if pd.isna(x) else level_label(x) for x in col], dtype=object)
        known = set(info.levels[v])
        bad = ~np.isin(text, list(known))
        if bad.any():
            problems.append(
                Problem(
                    f"missing or unknown levels {sorted({t or '(missing)' for t in text[bad]})[:5]}",
                    f"use one of the levels the model knows: {', '.join(info.levels[v])}",
                    v,
                    tuple(newdata.index[bad]),
                )
            )
        profiles[v] = text
    if problems:
        raise DataError(problems, source="newdata")
    return profiles


def _numbers(col: pd.Series, v: str, info: DesignInfo) -> tuple[np.ndarray, list[Problem]]:
    """A numeric covariate of new rows: numbers, inside every transform's domain."""
    x = pd.to_numeric(col, errors="coerce")
    if (bad := ~np.isfinite(x.to_numpy(dtype=np.float64))).any():
        what = f"missing or non-numeric values {sorted({str(t) for t in col[bad]})[:5]}"
        return x.to_numpy(), [Problem(what, f"give '{v}' as a number", v, tuple(col.index[bad]))]
    found = [p for t in info.numeric.values() if t.column == v for p in t.problems(x)]
    unique = {p.what: p for p in found}  # the basis functions of one smooth say the same thing
    return x.to_numpy(dtype=np.float64), list(unique.values())


def _cluster_terms(newdata: pd.DataFrame, info: DesignInfo, post, X: np.ndarray) -> tuple:
    """Per row: how the random effects enter (text), their shift ``(S, N)``, marginal or not.

    The cluster: conditional on a level seen in the data (its intercept and random slopes), else
    marginal over its intercept (slopes at their mean, 0). Further random terms: conditional on a
    level the row gives, else at 0 (an average level); the text says which.
    """
    n, S = len(newdata), post.sizes["chain"] * post.sizes["draw"]
    name = info.cluster
    if name is None or "cluster_effect" not in post:
        return ["no cluster effects in the model"] * n, np.zeros((S, n)), np.zeros(n, bool)
    levels = _given_levels(newdata, name)
    u = draws(post, "cluster_effect")
    slope = _slope_parts(post, "cluster", info, X)
    shift, marginal, how = np.zeros((S, n)), np.ones(n, bool), []
    for i, level in enumerate(levels):
        if level in info.cluster_levels:
            g = info.cluster_levels.index(level)
            shift[:, i] = u[:, g] + (slope(i, g) if slope else 0.0)
            marginal[i] = False
            how.append(f"conditional on {name} = {level}")
        elif level is None:
            how.append(f"marginal over {name} effects ({name} not given)")
        else:
            how.append(f"marginal over {name} effects ({name} '{level}' not in the data)")
        if marginal[i] and slope:
            how[-1] += f"; {name} slopes at their mean (0)"
    for t in info.random_terms[1:]:
        if f"{t}_effect" not in post:
            continue
        known = list(post[f"{t}_effect"].coords[t].values.astype(str))
        v, slope = draws(post, f"{t}_effect"), _slope_parts(post, t, info, X)
        for i, level in enumerate(_given_levels(newdata, t)):
            if level in known:
                g = known.index(level)
                shift[:, i] += v[:, g] + (slope(i, g) if slope else 0.0)
                how[i] += f"; conditional on {t} = {level}"
            else:
                how[i] += f"; {t} effects at 0 (an average {t})"
    return how, shift, marginal


def _given_levels(newdata: pd.DataFrame, factor: str) -> list[str | None]:
    """Each row's level of a grouping factor (``None`` when not given); ``a:b`` from its parts."""
    from bayessa.data.parsing import level_label

    parts = factor.split(":") if factor not in newdata.columns else [factor]
    if not all(p in newdata.columns for p in parts):
        return [None] * len(newdata)
    out = []
    for _, row in newdata[parts].iterrows():
        values = [None if pd.isna(x) else level_label(x) for x in row]
        out.append(None if None in values else ":".join(values))
    return out


def _slope_parts(post, prefix: str, info: DesignInfo, X: np.ndarray):
    """``(row, level) -> (S,)`` log-hazard shift of a term's random slopes, or None without."""
    if f"{prefix}_slope" not in post:
        return None
    coefs = post[f"{prefix}_slope"].coords[f"{prefix}_slope_coef"].values
    Z = X[:, [info.coef_names.index(str(c)) for c in coefs]]
    v = draws(post, f"{prefix}_slope")  # (S, G, q)
    return lambda i, g: v[:, g] @ Z[i]


def _nodes(post, info: DesignInfo) -> tuple[np.ndarray, np.ndarray]:
    sd = draws(post, "cluster_sd")
    return _hermite(sd, gh_nodes(float(np.max(sd))))


def _row(eta, cuts, times, tau, nodes, ci_prob) -> dict[str, np.ndarray]:
    """Summaries of one row: ``eta`` is ``(S, 1, K)``; ``nodes`` the quadrature or None."""
    shifts, weights = nodes if nodes is not None else (None, None)
    mix = Mixture(eta, np.ones(1), cuts, "", "", shifts, weights)
    S_t = mix.survival(times)  # (S, T)
    H0 = cumulative_hazard(eta, cuts, times)[:, 0, :]  # (S, T) at this row's eta
    k = np.searchsorted(cuts, times, side="left") - 1
    h0 = np.exp(eta[:, 0, np.clip(k, 0, eta.shape[2] - 1)])  # hazard at t (right-closed intervals)
    if nodes is None:
        hazard = h0
    else:
        num = np.zeros_like(S_t)
        for j, v in enumerate(weights):
            scale = np.exp(shifts[:, j])[:, None]
            num += v * scale * h0 * np.exp(-scale * H0)
        hazard = num / S_t
    with np.errstate(divide="ignore"):
        cumhaz = -np.log(S_t)
    out: dict[str, np.ndarray] = {}
    for name, samples in (("survival", S_t), ("cumhaz", cumhaz), ("hazard", hazard)):
        s = summarise(samples, ci_prob=ci_prob)
        out |= {name: s["median"], f"{name}_lower": s["lower"], f"{name}_upper": s["upper"]}
    for name, samples in (("rmst", mix.rmst(tau)), ("median", mix.median())):
        s = summarise(samples[:, None], ci_prob=ci_prob)
        out |= {name: float(s["median"][0]), f"{name}_lower": float(s["lower"][0]),
                f"{name}_upper": float(s["upper"][0])}  # fmt: skip
    out["horizon"] = tau
    return out
