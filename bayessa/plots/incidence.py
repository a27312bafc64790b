"""Figures of competing risks: cumulative incidence of each cause, stacked and with bands."""

from __future__ import annotations

import pandas as pd

from bayessa.plots.posterior import COLORS, new_axes

__all__ = ["incidence_bands", "incidence_ppc", "stacked_incidence"]


def stacked_incidence(table: pd.DataFrame, ax=None, *, time_unit: str = "years"):
    """Posterior median cumulative incidence of each cause, stacked (with survival on top).

    Parameters
    ----------
    table : DataFrame
        :meth:`bayessa.api.competing.CompetingRisksResult.cumulative_incidence` rows of one
        profile: ``cause``, ``time``, ``cif``.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    time_unit : str, default "years"
        For the axis label.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        ax = new_axes(6.0, 4.0)
    wide = table.pivot(index="time", columns="cause", values="cif")
    causes = list(dict.fromkeys(table["cause"]))
    wide = wide[causes]
    ax.stackplot(wide.index, *[wide[c] for c in causes], labels=causes,
                 colors=[COLORS[i % len(COLORS)] for i in range(len(causes))], alpha=0.75)  # fmt: skip
    ax.plot(wide.index, wide.sum(axis=1), color="0.2", lw=1)
    ax.set_ylim(0, 1)
    return _finish(ax, wide.index.max(), "Cumulative incidence (stacked)", time_unit)


def incidence_bands(table: pd.DataFrame, ax=None, *, time_unit: str = "years"):
    """Each cause's cumulative incidence with its 95% band (not stacked).

    Parameters
    ----------
    table : DataFrame
        Rows of one profile: ``cause``, ``time``, ``cif``, ``lower``, ``upper``.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    time_unit : str, default "years"
        For the axis label.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        ax = new_axes(6.0, 4.0)
    for i, (cause, g) in enumerate(table.groupby("cause", sort=False)):
        color = COLORS[i % len(COLORS)]
        ax.fill_between(g["time"], g["lower"], g["upper"], color=color, alpha=0.2, lw=0)
        ax.plot(g["time"], g["cif"], color=color, lw=2, label=str(cause))
    ax.set_ylim(0, None)
    return _finish(ax, table["time"].max(), "Cumulative incidence", time_unit)


def incidence_ppc(observed: pd.DataFrame, band: pd.DataFrame, ax=None, *, time_unit: str = "years"):
    """Observed Aalen–Johansen incidence of each cause over the band of its replicates.

    Parameters
    ----------
    observed : DataFrame
        ``cause``, ``time``, ``cif`` (:func:`bayessa.checks.ppc_competing.incidence_check`).
    band : DataFrame
        ``cause``, ``time``, ``lower``, ``upper``, ``median`` of the replicates.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    time_unit : str, default "years"
        For the axis label.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        ax = new_axes(6.0, 4.0)
    for i, (cause, g) in enumerate(band.groupby("cause", sort=False)):
        color = COLORS[i % len(COLORS)]
        ax.fill_between(g["time"], g["lower"], g["upper"], color=color, alpha=0.2, lw=0,
                        step="post", label=f"{cause}: replicates (95%)")  # fmt: skip
        o = observed[observed["cause"] == cause]
        ax.step(o["time"], o["cif"], where="post", color=color, lw=2, label=f"{cause}: observed")
    ax.set_ylim(0, None)
    return _finish(ax, band["time"].max(), "Cumulative incidence (Aalen–Johansen)", time_unit)


def _finish(ax, end: float, ylabel: str, time_unit: str):
    """Time axis from 0, labels and the legend, as every incidence figure has them."""
    ax.set_xlim(0, end)
    ax.set_xlabel(f"Time since start ({time_unit})")
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return ax
