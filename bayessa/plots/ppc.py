"""Figures for prior and posterior predictive checks (matplotlib; ``ax=None`` in, Axes out).

Every function draws data computed elsewhere (:mod:`bayessa.checks.ppc`, :mod:`bayessa.checks.ppc_stats`,
:mod:`bayessa.checks.sensitivity`), so the numbers can be tested without a figure and the figures on
fake data.

* :func:`plot_km_ppc` / :func:`plot_km_ppc_grid` -- replicated Kaplan-Meier curves around the
  observed one;
* :func:`plot_event_counts` -- observed events against replicated intervals per age interval or
  per cluster;
* :func:`plot_ppc_statistic` -- the replicated distribution of a test statistic, the observed
  value and the predictive p-value;
* :func:`plot_loo_pit` -- the LOO-PIT as a difference ECDF with a simultaneous band;
* :func:`plot_hr_intervals` -- hazard-ratio intervals side by side (e.g. prior sensitivity);
* :func:`plot_hr_draws` -- distributions of hazard-ratio draws (e.g. prior against posterior).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "plot_event_counts",
    "plot_hr_draws",
    "plot_hr_intervals",
    "plot_km_ppc",
    "plot_km_ppc_grid",
    "plot_loo_pit",
    "plot_ppc_statistic",
]


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def plot_km_ppc(
    curves: xr.Dataset,
    *,
    group: str | None = None,
    n_lines: int = 50,
    ci_prob: float = 0.9,
    seed: int = 0,
    ax: Any = None,
) -> Any:
    """Replicated Kaplan-Meier curves (thin lines, central band) around the observed curve.

    Read it as: if the model reproduces the data, the observed curve (black) lies inside the
    cloud of replicated curves at every age; a systematic excursion (above the band early,
    below it late) points to a misfit of the hazard over age.

    Parameters
    ----------
    curves : xarray.Dataset
        From :func:`bayessa.checks.ppc_stats.km_curves`.
    group : str, optional
        Level to draw; default the first.
    n_lines : int
        Number of replicated curves drawn (a seeded random subset).
    ci_prob : float
        Probability of the pointwise band of the replicated curves.
    seed : int
        Seed of the subset.
    ax : matplotlib Axes, optional
        Where to draw; default a new pyplot figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    g = str(curves["group"].values[0]) if group is None else group
    c = curves.sel(group=g)
    t = c["t"].to_numpy()
    if "replicated" in c:
        rep = c["replicated"].to_numpy()
        a = (1 - ci_prob) / 2
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(rep).mean(axis=0) >= 0.5
            lo, hi = np.nanquantile(np.where(valid, rep, 0.0), [a, 1 - a], axis=0)
        ax.fill_between(t[valid], lo[valid], hi[valid], step="post", color="C0", alpha=0.25,
                        lw=0, label=f"replicates, {ci_prob:.0%} band")  # fmt: skip
        pick = np.random.default_rng(seed).choice(rep.shape[0], min(n_lines, rep.shape[0]), replace=False)  # fmt: skip
        for s in np.sort(pick):
            ax.plot(t, rep[s], drawstyle="steps-post", color="C0", alpha=0.15, lw=0.7)
    ax.plot(t, c["observed"].to_numpy(), drawstyle="steps-post", color="black", lw=2,
            label=f"observed ({c.attrs.get('observed', 'Kaplan-Meier')})")  # fmt: skip
    by = curves.attrs.get("by", "all")
    ax.set(xlabel="age (time since time zero)", ylabel="survival", ylim=(0, 1.02),
           title="all units" if by == "all" else f"{by} = {g}")  # fmt: skip
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_km_ppc_grid(curves: xr.Dataset, *, axes: Any = None, **kwargs: Any) -> np.ndarray:
    """:func:`plot_km_ppc` for every group, side by side; returns the array of Axes.

    Parameters
    ----------
    curves : xarray.Dataset
        From :func:`bayessa.checks.ppc_stats.km_curves`.
    axes : array of matplotlib Axes, optional
        One per group; default a new pyplot figure with a row of Axes sharing the y axis.
    **kwargs
        Passed to :func:`plot_km_ppc` (``n_lines``, ``ci_prob``, ``seed``).

    Returns
    -------
    numpy.ndarray of matplotlib Axes
        Flattened, one per group.
    """
    levels = [str(x) for x in curves["group"].values]
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(levels), figsize=(4.2 * len(levels), 3.6), sharey=True, squeeze=False)  # fmt: skip
    axes = np.ravel(axes)
    for ax, g in zip(axes, levels, strict=True):
        plot_km_ppc(curves, group=g, ax=ax, **kwargs)
    return axes


def plot_event_counts(counts: xr.Dataset, *, ci_prob: float = 0.9, ax: Any = None) -> Any:
    """Observed events (black dots) against the replicated median and interval per level.

    Read it as: each black dot should fall inside its blue interval for all but about
    ``1 - ci_prob`` of the levels; dots far outside point to the intervals (ages) or clusters
    the model gets wrong.

    Parameters
    ----------
    counts : xarray.Dataset
        From :func:`bayessa.checks.ppc_stats.event_counts`.
    ci_prob : float, default 0.9
        Probability of the central interval of the replicated counts.
    ax : matplotlib Axes, optional
        Where to draw; default a new pyplot figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    x = np.arange(counts.sizes["level"])
    if "replicated" in counts:
        a = (1 - ci_prob) / 2
        lo, med, hi = np.quantile(counts["replicated"].to_numpy(), [a, 0.5, 1 - a], axis=0)
        ax.vlines(x, lo, hi, color="C0", lw=3, alpha=0.5, label=f"replicates, {ci_prob:.0%}")
        ax.plot(x, med, "_", color="C0", ms=10, label="replicated median")
    ax.plot(x, counts["observed"].to_numpy(), "o", color="black", ms=4, label="observed")
    labels = [str(v) for v in counts["level"].values]
    ax.set_xticks(x, labels, rotation=90 if len(labels) > 8 else 0)
    by = counts.attrs.get("by", "")
    ax.set(xlabel="age interval" if by == "interval" else by, ylabel="events")
    ax.legend(fontsize="small")
    return ax


def plot_ppc_statistic(statistic: Any, *, bins: int = 30, ax: Any = None) -> Any:
    """Histogram of a replicated test statistic, the observed value and the p-value.

    Read it as: the observed value (black line) should sit among the replicated values; a
    predictive p-value near 0 or 1 means the model rarely reproduces it.

    Parameters
    ----------
    statistic : PPCStatistic
        From :func:`bayessa.checks.ppc_stats.ppc_statistic`.
    bins : int, default 30
        Histogram bins.
    ax : matplotlib Axes, optional
        Where to draw; default a new pyplot figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    rep = statistic.replicated[np.isfinite(statistic.replicated)]
    ax.hist(rep, bins=bins, color="C0", alpha=0.6, label="replicates")
    ax.axvline(statistic.observed, color="black", lw=2, label="observed")
    ax.set(xlabel=statistic.name, ylabel="replicates",
           title=f"{statistic.name}: p = P(T_rep ≥ T_obs) = {statistic.p_value:.2f}")  # fmt: skip
    ax.legend(fontsize="small")
    return ax


def plot_loo_pit(
    pit: xr.Dataset | np.ndarray,
    *,
    ci_prob: float = 0.95,
    n_simulations: int = 1000,
    seed: int = 0,
    ax: Any = None,
) -> Any:
    r"""LOO-PIT difference ECDF, :math:`\hat F(u) - u`, with a simultaneous band.

    The band (ArviZ's simulation method) holds the whole curve with probability ``ci_prob``
    when the PIT values are independent uniforms. Read it as: a curve inside the band is
    consistent with a calibrated model; a curve rising above it at small :math:`u` (too many
    small PIT values: events earlier than predicted) or an S shape (predictions too wide or
    too narrow) points to misfit. LOO-PIT values are slightly dependent, so the band is a
    guide, not a test.

    Parameters
    ----------
    pit : xarray.Dataset or array
        From :func:`bayessa.checks.ppc.loo_pit` (its ``pit``) or the PIT values themselves.
    ci_prob : float, default 0.95
        Probability that the band holds the whole curve under uniformity.
    n_simulations : int, default 1000
        Simulations of the band.
    seed : int, default 0
        Seed of the simulations.
    ax : matplotlib Axes, optional
        Where to draw; default a new pyplot figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from arviz_stats.ecdf_utils import ecdf_pit

    ax = _axes(ax)
    u = np.asarray(pit["pit"] if isinstance(pit, xr.Dataset) else pit, dtype=float).ravel()
    x, ecdf, lo, hi = ecdf_pit(u, ci_prob, n_simulations, rng=np.random.default_rng(seed))
    ax.fill_between(x, lo - x, hi - x, step="post", color="C0", alpha=0.25,
                    label=f"{ci_prob:.0%} simultaneous band")  # fmt: skip
    ax.plot(x, ecdf - x, drawstyle="steps-post", color="black", lw=1.5, label="LOO-PIT")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set(xlabel="PIT value u", ylabel="ECDF(u) - u", xlim=(0, 1))
    ax.legend(fontsize="small")
    return ax


def _hr_axis(ax: Any) -> None:
    """Log-scaled hazard-ratio axis with plain tick labels (0.5, 1, 2 rather than 2 x 10^0)."""
    from matplotlib import ticker

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.LogLocator(base=2.0))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def _interval_rows(tables: pd.DataFrame | Mapping[str, pd.DataFrame], coef: str | None):
    if isinstance(tables, Mapping):
        if coef is None:
            raise ValueError("give coef= to pick a row from each hazard-ratio table")
        return pd.DataFrame({k: v.loc[coef] for k, v in tables.items()}).T
    if coef is not None and "coef" in tables:
        return tables[tables["coef"] == coef]
    return tables


def plot_hr_intervals(
    tables: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    coef: str | None = None,
    labels: list[str] | None = None,
    ax: Any = None,
) -> Any:
    """Hazard ratios (median and interval) one row each, on a log scale, with HR = 1 marked.

    Parameters
    ----------
    tables : DataFrame or mapping of label -> DataFrame
        Rows with ``hr_median``, ``hr_lower``, ``hr_upper``; a mapping of
        :meth:`~bayessa.api.result.FitResult.hazard_ratios` tables (one row per fit, picked by
        ``coef``), or one frame (rows = labels; with a ``coef`` column, those of ``coef``).
    coef : str, optional
        The coefficient to show (required with a mapping).
    labels : list of str, optional
        Row labels; default the index (or ``alpha = ...`` for power-scaling tables).
    ax : matplotlib Axes, optional
        Where to draw; default a new pyplot figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    rows = _interval_rows(tables, coef)
    if labels is None:
        labels = (
            [f"prior^{a:g}" for a in rows["alpha"]] if "alpha" in rows else [str(i) for i in rows.index]
        )  # fmt: skip
    y = np.arange(len(rows))[::-1]
    ax.hlines(y, rows["hr_lower"].astype(float), rows["hr_upper"].astype(float), color="C0", lw=2)
    ax.plot(rows["hr_median"].astype(float), y, "o", color="black")
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    _hr_axis(ax)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set(xlabel="hazard ratio" + (f" ({coef})" if coef else ""))
    return ax


def plot_hr_draws(
    draws: Mapping[str, Any], *, bins: int = 40, ax: Any = None, log_scale: bool = True
) -> Any:
    """Histograms (densities) of hazard-ratio draws, one per label (e.g. prior and posterior).

    Parameters
    ----------
    draws : mapping of label -> array-like
        Draws of a log hazard ratio (e.g. ``tree["prior"]["beta"].sel(coef=...)``); flattened.
    bins : int, default 40
        Histogram bins, shared by all labels, between the 0.5% and 99.5% quantiles.
    ax : matplotlib Axes, optional
        Where to draw; default a new pyplot figure.
    log_scale : bool
        Plot against the hazard ratio on a log axis (default) rather than the log hazard ratio.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    arrays = {k: np.asarray(v, dtype=float).ravel() for k, v in draws.items()}
    lo = min(np.quantile(v, 0.005) for v in arrays.values())
    hi = max(np.quantile(v, 0.995) for v in arrays.values())
    edges = np.linspace(lo, hi, bins + 1)
    for i, (label, v) in enumerate(arrays.items()):
        x = np.exp(edges) if log_scale else edges
        dens, _ = np.histogram(v, bins=edges, density=True)
        ax.stairs(dens, x, color=f"C{i}", fill=True, alpha=0.35, label=label)
    ax.axvline(1.0 if log_scale else 0.0, color="grey", lw=0.8, ls="--")
    if log_scale:
        _hr_axis(ax)
    ax.set(xlabel="hazard ratio" if log_scale else "log hazard ratio", ylabel="density (log HR)")
    ax.legend(fontsize="small")
    return ax
