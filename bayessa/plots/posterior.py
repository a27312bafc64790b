"""Figures of a fitted run.

Figures of a fitted run: forest plot, survival curves (with Kaplan--Meier), baseline hazard,
county effects.

Each function takes ``ax=None`` (a new figure is made) and returns the Axes. They use
matplotlib's object-oriented API with the Agg canvas -- no pyplot, no global state, no display
-- and take plain tables (:mod:`pandas`), so they can be tested without a fit.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "COLORS",
    "baseline_hazard",
    "cluster_effects",
    "forest",
    "interval_hazard_ratios",
    "smooth_effect",
    "new_axes",
    "png_bytes",
    "survival_curves",
    "survival_difference",
]

#: Colour-blind-safe palette (Okabe--Ito), one colour per level of the focus variable.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def new_axes(
    width: float = 7.0, height: float = 4.0, *, ncols: int = 1, nrows: int = 1, squeeze=True
):
    """A figure on the Agg canvas and its Axes.

    A figure on the Agg canvas and its Axes: one Axes, or a ``(nrows, ncols)`` array when
    there are several or ``squeeze=False``.

    Parameters
    ----------
    width, height : float
        Figure size in inches (default 7 x 4).
    ncols, nrows : int
        Columns and rows of Axes (default 1).
    squeeze : bool, default True
        Return a single Axes (not a 1 x 1 array) when there is one.

    Returns
    -------
    matplotlib.axes.Axes or numpy.ndarray of Axes
        The figure is ``ax.figure``, with constrained layout.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return axes[0, 0] if ncols * nrows == 1 and squeeze else axes


def png_bytes(fig, dpi: int = 100) -> bytes:
    """The figure as PNG bytes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (e.g. ``ax.figure``).
    dpi : int, default 100
        Resolution.

    Returns
    -------
    bytes
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def forest(table: pd.DataFrame, ax=None, *, show_mle: bool = True):
    """Forest plot of hazard ratios on a log axis.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`bayessa.posterior.effects.contrast_table`: ``label``, ``hr_median``, ``hr_lower``,
        ``hr_upper``, ``p_hr_gt_1``, ``variable`` and optionally ``mle_hr``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure sized to the rows.
    show_mle : bool
        Mark the maximum-likelihood estimate (Poisson GLM without county effects), when given.

    Returns
    -------
    matplotlib.axes.Axes
    """
    n = len(table)
    if ax is None:
        ax = new_axes(10.0, 1.0 + 0.34 * max(n, 1))
    y = np.arange(n)[::-1]
    colors = {v: COLORS[i % len(COLORS)] for i, v in enumerate(dict.fromkeys(table["variable"]))}
    c = [colors[v] for v in table["variable"]]
    ax.hlines(y, table["hr_lower"], table["hr_upper"], colors=c, lw=2)
    ax.scatter(table["hr_median"], y, color=c, s=30, zorder=3, label="posterior median, 95% CrI")
    if show_mle and "mle_hr" in table:
        ax.scatter(table["mle_hr"], y, marker="D", s=22, facecolors="none", edgecolors="0.25",
                   zorder=4, label="Poisson MLE (no county effects)")  # fmt: skip
    ax.axvline(1.0, color="0.4", lw=1, ls="--")
    ax.set_xscale("log")
    lo = np.nanmin(np.r_[table["hr_lower"], 0.5])
    hi = np.nanmax(np.r_[table["hr_upper"], 2.0])
    ax.set_xlim(lo / 1.15, hi * 1.15)
    ticks = [t for t in (0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10) if lo / 1.15 <= t <= hi * 1.15]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xticks([], minor=True)
    ax.set_yticks(y, [_short(lab) for lab in table["label"]], fontsize=8)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("Hazard ratio (log scale; > 1: the first level named has the higher hazard)")
    ax2 = ax.secondary_yaxis("right")
    ax2.set_yticks(y, [f"P(HR>1) = {p:.2f}" for p in table["p_hr_gt_1"]], fontsize=8)
    ax2.tick_params(length=0)
    ax.grid(axis="x", color="0.9")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, fontsize=8, frameon=False)
    return ax


def _short(label: str) -> str:
    """The label without the parenthesised note (the table carries it)."""
    return label.split(" (same for every")[0]


def survival_curves(
    curves: pd.DataFrame,
    ax=None,
    *,
    km: pd.DataFrame | None = None,
    colors: Mapping[str, str] | None = None,
    time_unit: str = "years",
    band: bool = True,
    legend: bool = True,
    km_label: str = "Kaplan–Meier",
):
    """Posterior survival curves (median and 95% band), optionally over Kaplan--Meier steps.

    Parameters
    ----------
    curves : pandas.DataFrame
        Long table: ``group`` (legend label), ``time``, ``median``, ``lower``, ``upper``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure (:func:`new_axes`).
    km : pandas.DataFrame, optional
        :func:`bayessa.frequentist.kaplan_meier` output with ``group`` matching ``curves``
        (or any ``group``, ``time``, ``surv`` step curve, e.g. Turnbull's on a grid).
    colors : mapping, optional
        Group -> colour.
    time_unit : str, default "years"
        Unit of ``time``, for the axis label.
    band : bool, default True
        Shade the 95% band.
    legend : bool, default True
        Draw the legend.
    km_label : str, default "Kaplan–Meier"
        The name of the ``km`` curves in the legend.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        ax = new_axes()
    groups = list(dict.fromkeys(curves["group"]))
    colors = dict(colors or {g: COLORS[i % len(COLORS)] for i, g in enumerate(groups)})
    for g in groups:
        d = curves[curves["group"] == g]
        col = colors.get(g, "0.2")
        if band:
            ax.fill_between(d["time"], d["lower"], d["upper"], color=col, alpha=0.18, lw=0)
        ax.plot(d["time"], d["median"], color=col, lw=2, label=f"{g} (posterior)")
        if km is not None and (k := km[km["group"] == g]).size:
            t = np.r_[0.0, k["time"].to_numpy()]
            s = np.r_[1.0, k["surv"].to_numpy()]
            ax.step(t, s, where="post", color=col, lw=1, ls="--", label=f"{g} ({km_label})")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, float(curves["time"].max()))
    ax.set_xlabel(f"Time since start ({time_unit})")
    ax.set_ylabel("Survival probability S(t)")
    ax.grid(color="0.92")
    if legend:
        ax.legend(fontsize=8, frameon=False)
    return ax


def survival_difference(
    diff: pd.DataFrame,
    ax=None,
    *,
    label: str = "",
    color: str = "0.15",
    time_unit: str = "years",
):
    """Posterior difference in survival probability over time (median, 95% band).

    ``diff``: ``time``, ``median``, ``lower``, ``upper``. Call again on the same Axes for
    further differences (each with its ``label`` and ``color``).

    Parameters
    ----------
    diff : pandas.DataFrame
        ``time``, ``median``, ``lower``, ``upper``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure (:func:`new_axes`).
    label : str, default ""
        Legend label (no legend when empty).
    color : str, default "0.15"
        Matplotlib colour of the line and band.
    time_unit : str, default "years"
        Unit of ``time``, for the axis label.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        ax = new_axes()
    ax.fill_between(diff["time"], diff["lower"], diff["upper"], color=color, alpha=0.2, lw=0)
    ax.plot(diff["time"], diff["median"], color=color, lw=2, label=label or None)
    ax.axhline(0, color="0.4", lw=1, ls="--")
    ax.set_xlim(0, float(diff["time"].max()))
    ax.set_xlabel(f"Time since start ({time_unit})")
    ax.set_ylabel("Difference in survival probability")
    ax.grid(color="0.92")
    if label:
        ax.legend(fontsize=8, frameon=False)
    return ax


def baseline_hazard(
    cuts: Sequence[float],
    summary: pd.DataFrame,
    ax=None,
    *,
    mle: np.ndarray | None = None,
    time_unit: str = "years",
    title: str = "",
):
    r"""Baseline hazard per age interval as steps: posterior median and 95% band, MLE dashed.

    ``summary``: one row per interval (and ``stratum`` column for stratified models) with
    ``median``, ``lower``, ``upper`` of :math:`\exp(\alpha_k)`.

    Parameters
    ----------
    cuts : sequence of float
        Age cut points; an open last interval is drawn as wide as the one before it.
    summary : pandas.DataFrame
        As above, in interval order (within stratum).
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure (:func:`new_axes`).
    mle : numpy.ndarray, optional
        Maximum-likelihood hazard per interval, drawn dashed.
    time_unit : str, default "years"
        Unit of the ages and of the hazard, for the axis labels.
    title : str, default ""
        Axes title (none when empty).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        ax = new_axes()
    cuts = np.asarray(cuts, dtype=float)
    edges = cuts.copy()
    if not np.isfinite(edges[-1]):
        edges[-1] = edges[-2] + (edges[-2] - edges[-3] if len(edges) > 2 else 1.0)
    strata = list(dict.fromkeys(summary["stratum"])) if "stratum" in summary else [None]
    for i, s in enumerate(strata):
        d = summary if s is None else summary[summary["stratum"] == s]
        col = COLORS[i % len(COLORS)]
        step = lambda v: np.r_[v, v[-1:]]  # noqa: E731
        ax.fill_between(edges, step(d["lower"].to_numpy()), step(d["upper"].to_numpy()),
                        step="post", color=col, alpha=0.2, lw=0)  # fmt: skip
        ax.step(edges, step(d["median"].to_numpy()), where="post", color=col, lw=2,
                label="posterior median, 95% CrI" + (f": {s}" if s is not None else ""))  # fmt: skip
    if mle is not None:
        ax.step(edges, np.r_[mle, mle[-1:]], where="post", color="0.2", ls="--", lw=1,
                label="Poisson MLE (no county effects)")  # fmt: skip
    ax.set_xlim(0, edges[-1])
    ax.set_ylim(0, None)
    ax.set_xlabel(f"Time since start ({time_unit})")
    ax.set_ylabel(f"Hazard (events per {time_unit.rstrip('s')} at risk)")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(color="0.92")
    ax.legend(fontsize=8, frameon=False)
    return ax


def interval_hazard_ratios(
    table: pd.DataFrame, ax=None, *, average: pd.DataFrame | None = None, time_unit: str = "years"
):
    """Hazard ratio by age interval as steps (log scale): posterior median and band per coefficient.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`bayessa.posterior.time_varying.interval_hazard_ratios`: ``coef``, ``start``,
        ``end``, ``hr_median``, ``hr_lower``, ``hr_upper``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure (:func:`new_axes`).
    average : pandas.DataFrame, optional
        The average hazard ratios (``hr_median`` by coefficient, as ``FitResult.hazard_ratios``
        gives them), drawn as dotted lines.
    time_unit : str, default "years"
        Unit of the ages, for the axis label.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        ax = new_axes()
    for i, (coef, d) in enumerate(table.groupby("coef", sort=False)):
        col = COLORS[i % len(COLORS)]
        edges = np.r_[d["start"].to_numpy(), d["end"].to_numpy()[-1:]]
        if not np.isfinite(edges[-1]):
            edges[-1] = edges[-2] + (edges[-2] - edges[-3] if len(edges) > 2 else 1.0)
        step = lambda v: np.r_[v, v[-1:]]  # noqa: E731
        ax.fill_between(edges, step(d["hr_lower"].to_numpy()), step(d["hr_upper"].to_numpy()),
                        step="post", color=col, alpha=0.2, lw=0)  # fmt: skip
        ax.step(edges, step(d["hr_median"].to_numpy()), where="post", color=col, lw=2, label=coef)
        if average is not None and coef in average.index:
            ax.axhline(average.loc[coef, "hr_median"], color=col, ls=":", lw=1)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.axhline(1.0, color="0.3", lw=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(0, None)
    ax.set_xlabel(f"Time since start ({time_unit})")
    ax.set_ylabel("Hazard ratio (log scale)")
    ax.grid(color="0.92")
    if table["coef"].nunique() > 1:
        ax.legend(fontsize=8, frameon=False)
    else:
        ax.set_title(str(table["coef"].iloc[0]), fontsize=9)
    return ax


def smooth_effect(table: pd.DataFrame, ax=None, *, rug: np.ndarray | None = None):
    """A smooth's log hazard ratio against its reference value, with its band and a rug.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`bayessa.posterior.smooths.smooth_table` of one column: ``x``, ``log_hr_median``,
        ``log_hr_lower``, ``log_hr_upper``, ``reference``, ``variable``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure (:func:`new_axes`).
    rug : array_like, optional
        The units' values of the column, drawn as ticks along the x axis (where the data are).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        ax = new_axes()
    x = table["x"].to_numpy()
    ax.fill_between(x, table["log_hr_lower"], table["log_hr_upper"], color=COLORS[0], alpha=0.2,
                    lw=0, label="95% CrI")  # fmt: skip
    ax.plot(x, table["log_hr_median"], color=COLORS[0], lw=2, label="posterior median")
    ax.axhline(0.0, color="0.3", lw=0.8)
    ref = float(table["reference"].iloc[0])
    ax.axvline(ref, color="0.5", lw=0.8, ls=":")
    if rug is not None:
        ax.plot(np.asarray(rug, dtype=float), np.zeros(len(rug)), "|", color="0.2", ms=8,
                alpha=0.3, transform=ax.get_xaxis_transform())  # fmt: skip
    var = str(table["variable"].iloc[0])
    ax.set_xlabel(var)
    ax.set_ylabel(f"log hazard ratio vs {var} = {ref:g}")
    ax.grid(color="0.92")
    return ax


def cluster_effects(summary: pd.DataFrame, ax=None, *, name: str = "county"):
    r"""Caterpillar plot of cluster effects as hazard ratios vs the average cluster.

    ``summary``: index = cluster level; ``median``, ``lower``, ``upper`` of :math:`\exp(u_g)`;
    optional ``units`` and ``events`` (shown in the labels). Sorted by the median.

    Parameters
    ----------
    summary : pandas.DataFrame
        As above.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure sized to the clusters.
    name : str, default "county"
        What a cluster is, for the axis labels.

    Returns
    -------
    matplotlib.axes.Axes
    """
    s = summary.sort_values("median")
    n = len(s)
    if ax is None:
        ax = new_axes(7.0, 0.8 + 0.2 * max(n, 1))
    y = np.arange(n)
    ax.hlines(y, s["lower"], s["upper"], color=COLORS[0], lw=1.5)
    ax.scatter(s["median"], y, color=COLORS[0], s=14, zorder=3)
    ax.axvline(1.0, color="0.4", lw=1, ls="--")
    ax.set_xscale("log")
    labels = [
        f"{g} ({int(r['units'])} / {int(r['events'])})" if "units" in s else str(g)
        for g, r in s.iterrows()
    ]
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_ylim(-0.7, n - 0.3)
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 4)
             if s["lower"].min() / 1.1 <= t <= s["upper"].max() * 1.1]  # fmt: skip
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xticks([], minor=True)
    ax.set_xlabel(f"Hazard ratio vs the average {name} (log scale)")
    if "units" in s:
        ax.set_ylabel(f"{name} (units / events)")
    ax.grid(axis="x", color="0.92")
    return ax
