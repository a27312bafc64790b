r"""Summaries that compare replicated lifetimes with the observed ones.

Each function takes the fit (or :func:`bayessa.prior_draws` tree) and the replicates of
:func:`bayessa.checks.ppc.replicate_lifetimes` and returns data (never prints, never plots):

* :func:`km_curves` -- Kaplan-Meier curves of the observed data and of every replicate, per level
  of a grouping variable, on a common grid of ages;
* :func:`event_counts` -- events per age interval or per level of a unit variable (e.g. county);
* :func:`ppc_statistic` -- a test statistic on the observed data and on every replicate, with
  its posterior (or prior) predictive p-value; :func:`km_survival_at` makes the statistic
  "Kaplan-Meier survival at age t";
* :func:`loo_pit` -- the randomised LOO-PIT of censored lifetimes (closed form).

The Kaplan-Meier estimator is the one pinned to R ``survival`` in :mod:`bayessa.frequentist`,
with delayed entry: a unit is at risk at :math:`t` when :math:`e_i < t \le X_i`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayessa.checks.ppc import unit_cumulative_hazard, unit_layout
from bayessa.data.lexis import interval_labels
from bayessa.errors import SpecError
from bayessa.frequentist.km import km_arrays
from bayessa.posterior.rundir import open_tree

__all__ = [
    "PPCStatistic",
    "event_counts",
    "km_curves",
    "km_on_grid",
    "km_survival_at",
    "loo_pit",
    "ppc_statistic",
]

Statistic = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def _samples(replicated: xr.Dataset, name: str) -> np.ndarray:
    """(samples, units) array of a replicated variable, chains concatenated."""
    v = replicated[name].transpose("chain", "draw", "unit").to_numpy()
    return v.reshape(-1, v.shape[-1])


def km_on_grid(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    r"""Kaplan-Meier survival :math:`\hat S(t)` at the ages ``grid``.

    :math:`\hat S` is 1 before the first exit and NaN beyond the last exit (where the estimate
    is not defined).

    Parameters
    ----------
    time, event, entry : ndarray, shape (n,)
        Exit ages, event indicators (0/1 or bool) and entry ages of the units.
    grid : ndarray
        Ages at which to evaluate the estimate.

    Returns
    -------
    ndarray of float, shape of ``grid``
        All NaN when there are no units.
    """
    if time.size == 0:
        return np.full(grid.shape, np.nan)
    fit = km_arrays(time, np.asarray(event, dtype=bool), entry)
    i = np.searchsorted(fit["time"], grid, side="right") - 1
    s = np.where(i >= 0, fit["surv"][np.maximum(i, 0)], 1.0)
    return np.where(grid > time.max(), np.nan, s)


def _grouping(tree: xr.DataTree, by: str | None) -> tuple[np.ndarray, list[str], str]:
    n = tree["observed_data"].dataset.sizes["unit"]
    if by is None:
        return np.zeros(n, dtype=np.int64), ["all"], "all"
    const = tree["constant_data"].dataset
    if f"unit_{by}" not in const:
        have = sorted(v.removeprefix("unit_") for v in const.data_vars if v.startswith("unit_"))
        raise SpecError(f"no unit variable '{by}' in the DataTree; unit variables: {have}")
    values = const[f"unit_{by}"].to_numpy().astype(str)
    levels, codes = np.unique(values, return_inverse=True)
    return codes, [str(x) for x in levels], by


def km_curves(
    source: Any,
    replicated: xr.Dataset | None = None,
    *,
    by: str | None = None,
    grid: np.ndarray | None = None,
) -> xr.Dataset:
    """Kaplan-Meier curves of the observed units and of every replicate, per group.

    Parameters
    ----------
    source : FitResult or DataTree
    replicated : xarray.Dataset, optional
        From :func:`bayessa.checks.ppc.replicate_lifetimes`; without it only the observed curves.
    by : str, optional
        A unit variable (covariate or cluster, e.g. ``"leader"``); one curve per level.
    grid : array, optional
        Ages at which to evaluate the curves; default 201 points from 0 to the largest observed
        exit.

    Returns
    -------
    xarray.Dataset
        ``observed`` (group, t) and, with replicates, ``replicated`` (sample, group, t);
        ``attrs["by"]`` names the grouping (``attrs["observed"]``: the estimator).

    Notes
    -----
    With interval-censored events the observed curve is Turnbull's NPMLE
    (:func:`bayessa.frequentist.turnbull`, mass drawn at the middle of each innermost
    interval, as R's ``survfit``), and the replicates' Kaplan–Meier curves are of the latent
    lifetimes, which the NPMLE estimates: the overlay compares two estimates of the same
    :math:`S(t)`. Delayed entry is not supported there (the NPMLE would need truncation).
    """
    tree = open_tree(source)
    lay = unit_layout(tree)
    codes, levels, name = _grouping(tree, by)
    if grid is None:
        grid = np.linspace(0.0, float(lay.exit.max()), 201)
    grid = np.asarray(grid, dtype=np.float64)
    observed_curve = _turnbull_on_grid if lay.interval_censored.any() else _km_of
    obs = np.stack([observed_curve(lay, m, grid) for m in (codes == g for g in range(len(levels)))])
    out = {"observed": (("group", "t"), obs)}
    if replicated is not None:
        times, events = _samples(replicated, "time"), _samples(replicated, "event")
        rep = np.empty((times.shape[0], len(levels), grid.size))
        for g in range(len(levels)):
            m = codes == g
            for s in range(times.shape[0]):
                rep[s, g] = km_on_grid(times[s, m], events[s, m], lay.entry[m], grid)
        out["replicated"] = (("sample", "group", "t"), rep)
    kind = "Turnbull" if lay.interval_censored.any() else "Kaplan-Meier"
    return xr.Dataset(
        out, coords={"group": levels, "t": grid}, attrs={"by": name, "observed": kind}
    )


def _km_of(lay, m: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Kaplan-Meier of the units in ``m`` on ``grid``."""
    return km_on_grid(lay.exit[m], lay.event[m], lay.entry[m], grid)


def _turnbull_on_grid(lay, m: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Turnbull's NPMLE of the units in ``m`` on ``grid`` (interval-censored events)."""
    from bayessa.frequentist.npmle import turnbull, turnbull_survival

    if (lay.entry[m] > 0).any():
        raise SpecError(
            "the observed curve of interval-censored data with delayed entry needs a "
            "truncation-aware NPMLE, which bayessa does not compute; use loo_pit instead"
        )
    upper = np.where(lay.event[m], lay.exit[m], lay.upper[m])
    table = turnbull(pd.DataFrame({"L": lay.exit[m], "R": upper}), lower="L", upper="R")
    return turnbull_survival(table, grid)["survival"].to_numpy()


def _exact_times_only(lay, what: str) -> None:
    """Refuse a statistic that needs exact event times when some are interval-censored."""
    if lay.interval_censored.any():
        raise SpecError(
            f"{what} needs each event's time, but {int(lay.interval_censored.sum())} events are "
            "known only to lie between two inspections; check interval-censored fits with "
            "loo_pit (the PIT drawn within each interval) and km_curves (Turnbull's NPMLE "
            "against the replicates)"
        )


def event_counts(
    source: Any, replicated: xr.Dataset | None = None, *, by: str = "interval"
) -> xr.Dataset:
    """Events per age interval (``by="interval"``) or per level of a unit variable.

    An event at age :math:`X_i` counts in the interval :math:`(a_k, a_{k+1}]` holding it.

    Parameters
    ----------
    source : FitResult or DataTree
        The fit, or a :func:`bayessa.prior_draws` tree.
    replicated : xarray.Dataset, optional
        From :func:`bayessa.checks.ppc.replicate_lifetimes`; without it only the observed counts.
    by : str, default "interval"
        ``"interval"``, or a unit variable (covariate or cluster, e.g. ``"county"``).

    Returns
    -------
    xarray.Dataset
        ``observed`` (level) and, with replicates, ``replicated`` (sample, level);
        ``attrs["by"]``.
    """
    tree = open_tree(source)
    lay = unit_layout(tree)
    _exact_times_only(lay, "event_counts")
    if by == "interval":
        labels = interval_labels(lay.cuts)

        def codes_of(t: np.ndarray) -> np.ndarray:
            return np.clip(np.searchsorted(lay.cuts, t, side="left") - 1, 0, len(labels) - 1)

        obs_codes = codes_of(lay.exit)
    else:
        unit_codes, labels, _ = _grouping(tree, by)
        obs_codes = unit_codes

        def codes_of(t: np.ndarray) -> np.ndarray:
            return np.broadcast_to(unit_codes, t.shape)

    L = len(labels)
    observed = np.bincount(obs_codes[lay.event], minlength=L)
    out = {"observed": ("level", observed)}
    if replicated is not None:
        times, events = _samples(replicated, "time"), _samples(replicated, "event").astype(bool)
        c = codes_of(times)
        S = times.shape[0]
        flat = (np.arange(S)[:, None] * L + c)[events]
        out["replicated"] = (("sample", "level"), np.bincount(flat, minlength=S * L).reshape(S, L))
    return xr.Dataset(out, coords={"level": labels}, attrs={"by": by})


@dataclass(frozen=True)
class PPCStatistic:
    r"""A test statistic on the observed data and on the replicates.

    ``p_value`` is the predictive p-value :math:`P\{T(y^{\mathrm{rep}}) \ge T(y)\}` (Gelman et
    al., *Bayesian Data Analysis*, ch. 6): values near 0 or 1 mean the observed statistic is
    unusual for the model. Replicates where the statistic is undefined (NaN) are left out;
    ``n_undefined`` counts them.

    Parameters
    ----------
    name : str
        Label of the statistic.
    observed : float
        The statistic on the observed units.
    replicated : ndarray, shape (n_samples,)
        The statistic on each replicate (NaN where undefined).
    p_value : float
        :math:`P\{T(y^{\mathrm{rep}}) \ge T(y)\}` over the defined replicates (NaN if none).
    n_undefined : int, default 0
        Replicates where the statistic is NaN.
    """

    name: str
    observed: float
    replicated: np.ndarray
    p_value: float
    n_undefined: int = 0

    def __str__(self) -> str:
        q = np.nanquantile(self.replicated, [0.05, 0.5, 0.95])
        return (
            f"{self.name}: observed {self.observed:.3g}; replicated median {q[1]:.3g} "
            f"(90% interval {q[0]:.3g} to {q[2]:.3g}); p = P(T_rep >= T_obs) = {self.p_value:.3f}"
        )


def km_survival_at(t: float) -> Statistic:
    r"""The statistic: Kaplan-Meier survival at age ``t``.

    The statistic :math:`\hat S(t)`, Kaplan-Meier survival at age ``t`` (e.g. the share of
    groups still meeting at 5 years).

    Parameters
    ----------
    t : float
        The age, on the run's time scale.

    Returns
    -------
    callable
        ``(time, event, entry) -> float``, named ``"S(t)"`` (NaN beyond the last exit).
    """

    def statistic(time: np.ndarray, event: np.ndarray, entry: np.ndarray) -> float:
        return float(km_on_grid(time, event, entry, np.array([float(t)]))[0])

    statistic.__name__ = f"S({t:g})"
    return statistic


def ppc_statistic(
    source: Any,
    replicated: xr.Dataset,
    statistic: Statistic,
    *,
    by: str | None = None,
    level: str | None = None,
    name: str | None = None,
) -> PPCStatistic:
    """Compute ``statistic(time, event, entry)`` on the observed units and on every replicate.

    Parameters
    ----------
    source : FitResult or DataTree
    replicated : xarray.Dataset
        From :func:`bayessa.checks.ppc.replicate_lifetimes`.
    statistic : callable
        ``(time, event, entry) -> float`` on arrays of the units, e.g. :func:`km_survival_at`.
    by, level : str, optional
        Restrict to the units whose unit variable ``by`` equals ``level``.
    name : str, optional
        Label; default the statistic's ``__name__``.

    Returns
    -------
    PPCStatistic

    Raises
    ------
    SpecError
        ``level`` is not a level of ``by``, or the statistic is not defined for the observed data.
    """
    tree = open_tree(source)
    lay = unit_layout(tree)
    _exact_times_only(lay, "ppc_statistic")
    mask = np.ones(lay.n_units, dtype=bool)
    label = name or getattr(statistic, "__name__", "T")
    if by is not None:
        codes, levels, _ = _grouping(tree, by)
        if level not in levels:
            raise SpecError(f"'{level}' is not a level of '{by}'; levels: {levels}")
        mask = codes == levels.index(level)
        label = name or f"{label} [{by} = {level}]"
    observed = statistic(lay.exit[mask], lay.event[mask], lay.entry[mask])
    if not np.isfinite(observed):
        raise SpecError(f"the statistic {label} is not defined for the observed data ({observed})")
    times, events = _samples(replicated, "time"), _samples(replicated, "event")
    rep = np.array(
        [statistic(t[mask], d[mask], lay.entry[mask]) for t, d in zip(times, events, strict=True)]
    )
    ok = np.isfinite(rep)
    p = float(np.mean(rep[ok] >= observed)) if ok.any() else float("nan")
    return PPCStatistic(label, float(observed), rep, p, int((~ok).sum()))


# --------------------------------------------------------------------------------------------
# LOO-PIT for censored lifetimes (closed-form CDF, not replicates)


def loo_pit(
    source: Any, *, seed: int | np.random.Generator | None = None, loo: bool = True
) -> xr.Dataset:
    r"""Randomised (LOO-)PIT of censored lifetimes with delayed entry.

    For draw :math:`s` the predictive CDF of unit :math:`i` given survival to its entry is
    :math:`F_i^{(s)}(t) = 1 - \exp\{-H_i^{(s)}(t)\}` (cumulative hazard from :math:`e_i`), and
    the LOO predictive CDF is the PSIS-weighted mixture
    :math:`F_i(t) = \sum_s w_i^{(s)} F_i^{(s)}(t)` with weights
    :math:`w_i^{(s)} \propto 1 / p(y_i \mid \theta^{(s)})` Pareto-smoothed (the per-unit
    log-likelihood in ``log_likelihood["time"]``). The PIT value is

    .. math::

        u_i = F_i(X_i) \text{ if unit } i \text{ had an event}, \qquad
        u_i \sim \mathrm{Uniform}\bigl(F_i(X_i), 1\bigr) \text{ if it was censored at } X_i ,

    and, for an event known only to lie in :math:`(L_i, R_i]` (interval censoring),
    :math:`u_i \sim \mathrm{Uniform}\bigl(F_i(L_i), F_i(R_i)\bigr)`: given
    :math:`L_i < T_i \le R_i`, :math:`F_i(T_i)` is uniform on that range, so the check keeps
    its uniform reference with events seen only between inspections.

    If the model is right and censoring is independent, :math:`F_i(T_i) \sim U(0, 1)` and,
    given :math:`T_i > X_i`, :math:`F_i(T_i) \sim U(F_i(X_i), 1)`; so the :math:`u_i` are
    uniform, and the randomisation only fills in what censoring hides. ArviZ's ``loo_pit``
    compares predictive draws with the observed value and would treat censoring times as
    event times, hence this function. The CDF is computed in closed form, not from replicates.

    Parameters
    ----------
    source : FitResult or DataTree
        With ``posterior`` and, for ``loo=True``, ``log_likelihood``.
    seed : int or numpy.random.Generator, optional
        Seed of the uniform draws for censored units.
    loo : bool
        Leave-one-out weights (default); ``False``: equal weights (posterior predictive PIT).

    Returns
    -------
    xarray.Dataset
        ``pit`` (unit), ``event`` (unit; 2 for an interval-censored event) and, with
        ``loo=True``, ``pareto_k`` (unit).
    """
    tree = open_tree(source)
    lay = unit_layout(tree)
    F = -np.expm1(-unit_cumulative_hazard(tree))  # (S, n): P(T <= exit | T > entry), per draw
    S, n = F.shape
    status = lay.event.astype(np.int8) + 2 * lay.interval_censored.astype(np.int8)
    out: dict[str, Any] = {"event": ("unit", status)}
    if loo:
        if "log_likelihood" not in tree.children:
            raise SpecError(
                "LOO-PIT needs the per-unit log-likelihood (log_likelihood group); refit with "
                "log_likelihood=True, or pass loo=False"
            )
        import arviz_stats  # noqa: F401  (registers the .azstats accessor)

        ll = tree["log_likelihood"]["time"].transpose("chain", "draw", "unit")
        lw, k_hat = ll.azstats.psislw(r_eff=1.0, dim=["chain", "draw"])
        lw = lw.transpose("chain", "draw", "unit").to_numpy().reshape(S, n)
        lw = lw - lw.max(axis=0)
        wts = np.exp(lw)
        wts /= wts.sum(axis=0)
        cdf = (wts * F).sum(axis=0)
        out["pareto_k"] = ("unit", np.asarray(k_hat.transpose("unit").to_numpy(), dtype=float))
    else:
        cdf = F.mean(axis=0)
    top = np.ones(n)
    if (ic := lay.interval_censored).any():  # F_i(R_i), with the same weights
        F_upper = -np.expm1(-unit_cumulative_hazard(tree, np.where(ic, lay.upper, lay.exit)))
        top = np.where(ic, (wts * F_upper).sum(axis=0) if loo else F_upper.mean(axis=0), 1.0)
    rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
    v = rng.uniform(size=n)
    pit = np.where(lay.event, cdf, cdf + v * (top - cdf))
    out["pit"] = ("unit", np.clip(pit, 0.0, 1.0))
    return xr.Dataset(out, coords={"unit": lay.ids})
