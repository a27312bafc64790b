"""Figures of the expansion analysis: foundings per year, shares by era, reach, counterfactual.

Each takes the analysis' tables (``ax=None`` draws a new figure) and returns the Axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayessa.plots.posterior import COLORS, new_axes

__all__ = ["counterfactual_curve", "foundings_per_year", "reach_curves", "shares_by_era"]


def _era_lines(ax, eras: pd.DataFrame | None) -> None:
    """Dotted lines at the eras' first days, labelled at the top."""
    if eras is None:
        return
    for _, e in eras.iloc[1:].iterrows():
        x = pd.Timestamp(e["first"])
        ax.axvline(x, color="0.5", lw=0.8, ls=":")
    for _, e in eras.iterrows():
        ax.text(pd.Timestamp(e["first"]), 1.0, f" {e['era']}", transform=ax.get_xaxis_transform(),
                va="top", ha="left", fontsize=8, color="0.35")  # fmt: skip


def foundings_per_year(units: pd.DataFrame, by: str, ax=None, *, eras: pd.DataFrame | None = None):
    """New units per calendar year, stacked by the levels of ``by``.

    Parameters
    ----------
    units : DataFrame
        The new units: ``founded`` (days since 1970) and ``by``.
    by : str
        A categorical column (leader type, setting).
    ax : matplotlib Axes, optional
    eras : DataFrame, optional
        ``era`` and ``first`` (ISO date) of each era, marked on the axis.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        ax = new_axes(7.0, 3.6)
    year = np.datetime64("1970-01-01", "D") + units["founded"].to_numpy().astype("timedelta64[D]")
    year = year.astype("datetime64[Y]").astype(int) + 1970
    table = pd.crosstab(year, units[by].astype(str))
    levels = list(units[by].cat.categories) if hasattr(units[by], "cat") else list(table.columns)
    bottom = np.zeros(len(table))
    x = pd.to_datetime([f"{y}-07-01" for y in table.index])
    for i, lv in enumerate(str(v) for v in levels):
        if lv not in table:
            continue
        ax.bar(x, table[lv], width=300, bottom=bottom, color=COLORS[i % len(COLORS)], label=lv)
        bottom += table[lv].to_numpy()
    _era_lines(ax, eras)
    ax.set_ylabel("new groups per year")
    ax.legend(title=by, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", color="0.92")
    return ax


def shares_by_era(table: pd.DataFrame, variable: str, ax=None):
    """Share of each level among new units, per era: posterior median and 95% interval.

    Parameters
    ----------
    table : DataFrame
        ``composition.csv`` rows: ``variable``, ``level``, ``era``, ``share``, ``lower``,
        ``upper`` (and optionally ``observed``).
    variable : str
        Which variable to draw.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        ax = new_axes(5.0, 3.4)
    t = table[table["variable"] == variable]
    eras = list(dict.fromkeys(t["era"]))
    levels = list(dict.fromkeys(t["level"]))
    width = 0.8 / max(len(levels), 1)
    for i, lv in enumerate(levels):
        d = t[t["level"] == lv].set_index("era").loc[eras]
        x = np.arange(len(eras)) + (i - (len(levels) - 1) / 2) * width
        ax.errorbar(x, d["share"], yerr=[d["share"] - d["lower"], d["upper"] - d["share"]],
                    fmt="o", color=COLORS[i % len(COLORS)], capsize=3, label=lv)  # fmt: skip
        if "observed" in d:
            ax.plot(x, d["observed"], "x", color=COLORS[i % len(COLORS)], ms=6)
    ax.set_xticks(np.arange(len(eras)), eras)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"share of new groups ({variable})")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", color="0.92")
    return ax


def reach_curves(reach: pd.DataFrame, what: str = "groups", ax=None, *,
                 eras: pd.DataFrame | None = None):  # fmt: skip
    """Active groups (or clusters with one) over time: observed, and the predictive band.

    Parameters
    ----------
    reach : DataFrame
        ``reach.csv``: ``date`` and, for ``what = "groups"``, ``active``, ``active_known``,
        ``predicted_groups``, ``groups_lower``, ``groups_upper``; for ``"counties"`` the same
        with ``clusters`` and ``predicted_clusters``, ``clusters_lower``, ``clusters_upper``.
    what : {"groups", "counties"}
    ax : matplotlib Axes, optional
    eras : DataFrame, optional
        Marks the eras.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        ax = new_axes(7.0, 3.6)
    x = pd.to_datetime(reach["date"])
    key = "groups" if what == "groups" else "clusters"
    obs, known = ("active", "active_known") if key == "groups" else ("clusters", "clusters_known")
    if f"predicted_{key}" in reach:
        ax.fill_between(x, reach[f"{key}_lower"], reach[f"{key}_upper"], color=COLORS[0],
                        alpha=0.2, lw=0, label="model: 95% predictive band")  # fmt: skip
        ax.plot(x, reach[f"predicted_{key}"], color=COLORS[0], lw=1.5, label="model: median")
    ax.plot(x, reach[obs], color="black", lw=1.8, label="observed")
    if (reach[known] != reach[obs]).any():
        ax.plot(x, reach[known], color="black", lw=0.8, ls="--",
                label="observed, known to be meeting")  # fmt: skip
    _era_lines(ax, eras)
    ax.set_ylabel("active groups" if key == "groups" else "counties with an active group")
    ax.set_ylim(0, None)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(color="0.92")
    return ax


def counterfactual_curve(table: pd.DataFrame, ax=None, *, eras: pd.DataFrame | None = None):
    """Expected active groups as observed and had everything stayed as in the first era.

    Parameters
    ----------
    table : DataFrame
        ``counterfactual.csv``: ``date``, ``observed_eras``, ``observed_lower``,
        ``observed_upper``, ``counterfactual``, ``counterfactual_lower``,
        ``counterfactual_upper``.
    ax : matplotlib Axes, optional
    eras : DataFrame, optional

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        ax = new_axes(7.0, 3.6)
    x = pd.to_datetime(table["date"])
    for i, (key, label) in enumerate((("observed_eras", "with the partnership (as observed)"),
                                      ("counterfactual", "had it stayed as before")), start=0):  # fmt: skip
        lo = table["observed_lower" if key == "observed_eras" else "counterfactual_lower"]
        hi = table["observed_upper" if key == "observed_eras" else "counterfactual_upper"]
        ax.fill_between(x, lo, hi, color=COLORS[i], alpha=0.2, lw=0)
        ax.plot(x, table[key], color=COLORS[i], lw=2, label=label)
    _era_lines(ax, eras)
    ax.set_ylabel("expected active groups")
    ax.set_ylim(0, None)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(color="0.92")
    return ax
