"""The survival part of the run report.

The survival part of the run report: standardised curves, differences, RMST, medians,
posterior curves over Kaplan--Meier, and ``survival.csv``.

``survival.csv`` is long: one row per curve, quantity and time, with the posterior ``mean``,
``median`` and equal-tailed ``lower``/``upper`` limits. Columns: ``curve`` (what it is, in
words), ``kind`` (``standardised``, ``standardised within <var>``, ``difference``,
``difference within <var>``, ``subgroup (KM comparison)``, ``profile``), ``county`` (how county
effects enter), one column per covariate (the level, ``(observed mix)`` when averaged over the
units, or ``a − b`` for a difference), ``quantity`` (``survival``, ``survival difference``,
``RMST to τ``, ``RMST difference to τ``, ``median survival``) and ``time``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from bayessa.plots import posterior as plots
from bayessa.posterior.curves import Mixture, Predictor, summarise
from bayessa.report.render import Block, figure_block

__all__ = ["survival_section"]

#: At most this many covariate profiles get their own curves in survival.csv.
MAX_PROFILES = 48
MIX = "(observed mix)"


def ci(s: dict, j: int = 0, f: str = ".3f") -> str:
    """``"0.512 [0.434, 0.587]"``: posterior median and interval of a :func:`summarise` result."""
    return f"{s['median'][j]:{f}} [{s['lower'][j]:{f}}, {s['upper'][j]:{f}}]"


def _rows(samples: np.ndarray, times, ci_prob: float, **meta) -> pd.DataFrame:
    """A small frame (for plots) of the posterior summary of ``samples`` at ``times``."""
    return pd.DataFrame(_block(samples, times, ci_prob, meta))


def _block(samples: np.ndarray, times, ci_prob: float, meta: dict) -> dict:
    """Columns of summary rows: ``meta`` repeated, ``time`` and the posterior summary."""
    s = summarise(samples, ci_prob=ci_prob)
    n = len(times)
    cols = {k: np.full(n, v, dtype=object) for k, v in meta.items()}
    cols["time"] = np.asarray(times, dtype=float)
    return cols | {k: s[k] for k in ("mean", "median", "lower", "upper")}


#: The columns survival.csv has whatever the formula.
_OWN_COLUMNS = ("curve", "kind", "county", "quantity", "time", "mean", "median", "lower", "upper")


class _Collector:
    """Computes curves on the grid and collects their rows for survival.csv."""

    def __init__(self, ctx, pred: Predictor):
        info, opts = ctx.info, ctx.opts
        self.ctx, self.pred, self.p = ctx, pred, opts.ci_prob
        self.tau = opts.horizon or info.last_cut
        self.times = sorted(t for t in opts.times if 0 < t <= info.last_cut)
        self.grid = np.unique(np.r_[np.linspace(0, info.last_cut, opts.grid_points), self.times])
        self.at = np.searchsorted(self.grid, self.times)
        # a covariate named like one of survival.csv's own columns gets a suffix there
        self.names = {v: f"{v}_value" if v in _OWN_COLUMNS else v for v in info.profile_variables}
        self.cols = {self.names[v]: MIX for v in info.profile_variables}
        self.blocks: list[dict] = []

    def _levels(self, levels: dict) -> dict:
        return {self.names.get(k, k): v for k, v in levels.items()}

    def _add(self, samples, times, meta: dict, quantity: str) -> None:
        self.blocks.append(_block(samples, times, self.p, meta | {"quantity": quantity}))

    def curve(self, mix: Mixture, kind: str, levels: dict, *, quantities: bool = True):
        """S(t) draws on the grid; rows for the curve and (optionally) its RMST and median."""
        S = mix.survival(self.grid)
        meta = dict(
            curve=mix.label, kind=kind, county=mix.cluster, **(self.cols | self._levels(levels))
        )
        self._add(S, self.grid, meta, "survival")
        if not quantities:
            return S, None, None
        r, m = mix.rmst(self.tau), mix.median()
        self._add(r[:, None], [self.tau], meta, f"RMST to {self.tau:.4g}")
        self._add(m[:, None], [np.nan], meta, "median survival")
        return S, r, m

    def difference(self, label, kind, county, levels, dS, dR) -> None:
        meta = dict(curve=label, kind=kind, county=county, **(self.cols | self._levels(levels)))
        self._add(dS, self.grid, meta, "survival difference")
        self._add(dR[:, None], [self.tau], meta, f"RMST difference to {self.tau:.4g}")

    def table(self) -> pd.DataFrame:
        """survival.csv: every block stacked, columns in a fixed order."""
        order = ["curve", "kind", "county", *self.cols, "quantity", "time", "mean", "median",
                 "lower", "upper"]  # fmt: skip
        return pd.DataFrame({c: np.concatenate([b[c] for b in self.blocks]) for c in order})


def survival_section(ctx, freq) -> tuple[list[Block], pd.DataFrame]:
    """Blocks of the Survival section and the ``survival.csv`` table.

    Parameters
    ----------
    ctx : Context
        The run and the report options.
    freq : Freq
        The frequentist cross-check (:func:`bayessa.report.sections.frequentist`).

    Returns
    -------
    blocks : list of Block
    table : pandas.DataFrame
        The curves, differences, RMST and medians, for ``survival.csv``.
    """
    info, opts, focus = ctx.info, ctx.opts, ctx.focus
    pred = Predictor(ctx.dt, max_draws=opts.max_draws, seed=opts.seed)
    col = _Collector(ctx, pred)
    blocks = [Block("h2", "Survival")]
    if focus is None:
        mix = pred.standardised()
        col.curve(mix, "standardised", {})
        return [*blocks, Block("p", f"{mix.label}; {mix.cluster}.")], col.table()
    levels, ref = info.levels[focus], info.levels[focus][0]
    # standardised per level of the focus, then within each level of each interacting variable
    # variables with no unit-level values (a time-varying calendar period) are held at reference
    held = [f"{v} = {info.reference[v]}" for v in info.profile_variables
            if v not in ctx.units and v != focus]  # fmt: skip
    ctx.cache["held"] = held
    everyone = "all units" + (f" ({', '.join(held)} throughout)" if held else "")
    contexts = [({}, everyone)] + [
        ({w: e}, f"{w} = {e}") for w in info.interacting(focus) for e in info.levels.get(w, ())
    ]  # an interacting numeric covariate keeps each unit's own value (standardised over them)
    diff_rows, overall, std = [], {}, {}
    for within, where in contexts:
        kind = "standardised" + (f" within {next(iter(within))}" if within else "")
        S, R = {}, {}
        for lv in levels:
            mix = pred.standardised({focus: lv, **within})
            S[lv], R[lv], m = col.curve(mix, kind, {focus: lv, **within})
            if not within:
                std[lv], overall[lv] = mix, (S[lv], R[lv], m)
        for lv in levels[1:]:
            dS, dR = S[lv] - S[ref], R[lv] - R[ref]
            label = f"{focus}: {lv} − {ref}" + (f" | {where}" if within else " (standardised)")
            col.difference(label, kind.replace("standardised", "difference"), mix.cluster,
                           {focus: f"{lv} − {ref}", **within}, dS, dR)  # fmt: skip
            diff_rows.append(_diff_row(where, f"{lv} − {ref}", dS[:, col.at], dR, col.times))
    blocks.append(_standardised_figure(ctx, col, std, overall, levels, ref))
    blocks.append(Block("table", (
        f"Differences in survival probability and in RMST to {col.tau:.4g} {ctx.unit} ({focus} "
        f"level − {ref}; standardised; posterior median [95% CrI])"), pd.DataFrame(diff_rows)))  # fmt: skip
    blocks.append(_level_table(ctx, col, overall, levels))
    blocks += _km_overlay(ctx, pred, col)
    _profiles(ctx, pred, col)
    return blocks, col.table()


def _diff_row(where, contrast, d_at, r, times) -> dict:
    row = {"within": where, "contrast": contrast}
    for j, t in enumerate(times):
        row[f"ΔS({t:.4g})"] = ci(summarise(d_at[:, j : j + 1]))
    row["ΔRMST"] = ci(summarise(r[:, None]), f=".2f")
    if times:
        row[f"P(ΔS({times[-1]:.4g}) > 0)"] = f"{np.mean(d_at[:, -1] > 0):.2f}"
    return row


def _standardised_figure(ctx, col, std, overall, levels, ref) -> Block:
    focus = ctx.focus
    axes = plots.new_axes(10.5, 4.0, ncols=2)
    curves = pd.concat(
        [_rows(overall[lv][0], col.grid, col.p, group=f"{focus} = {lv}") for lv in levels]
    )
    plots.survival_curves(curves, axes[0, 0], time_unit=ctx.unit)
    axes[0, 0].set_title(f"Standardised survival by {focus}", fontsize=10)
    for i, lv in enumerate(levels[1:], start=1):
        d = _rows(overall[lv][0] - overall[ref][0], col.grid, col.p)
        plots.survival_difference(d, axes[0, 1], time_unit=ctx.unit,
                                  color=plots.COLORS[i % len(plots.COLORS)], label=f"{lv} − {ref}")  # fmt: skip
    axes[0, 1].set_title(f"Difference in survival probability vs {focus} = {ref}", fontsize=10)
    return figure_block("standardised", axes[0, 0].figure, (
        f"Standardised (population-averaged) survival per {focus}: S(t) averaged over the observed "
        f"covariates of all {len(ctx.units)} units with {focus} set to each level"
        + (f" for the whole follow-up (it changes for {n} units in the data; the other "
           "covariates at their values at entry)" if (n := ctx.changing(focus)) else "")
        + f", {std[ref].cluster}"
        + (f"; {', '.join(ctx.cache['held'])} throughout (it changes over follow-up, so units "
           "have no single value)" if ctx.cache["held"] else "")
        + ". Bands: 95% CrI. Right: posterior of the paired difference."))  # fmt: skip


def _time(v: float, last: float) -> str:
    return f"> {last:g}" if np.isinf(v) else f"{v:.2f}"


def _level_table(ctx, col, overall, levels) -> Block:
    rows, last = [], ctx.info.last_cut
    for lv in levels:
        S, R, m = overall[lv]
        row = {ctx.focus: lv}
        for j, t in zip(col.at, col.times, strict=True):
            row[f"S({t:.4g})"] = ci(summarise(S[:, j : j + 1]))
        row[f"RMST to {col.tau:.4g}"] = ci(summarise(R[:, None]), f=".2f")
        s = summarise(m[:, None])
        row["median survival"] = (f"{_time(s['median'][0], last)} [{_time(s['lower'][0], last)}, "
                                  f"{_time(s['upper'][0], last)}]")  # fmt: skip
        rows.append(row)
    return Block("table", (f"Standardised survival probability, RMST and median survival "
                           f"({ctx.unit}) per {ctx.focus}"), pd.DataFrame(rows))  # fmt: skip


def _km_overlay(ctx, pred, col) -> list[Block]:
    from matplotlib.lines import Line2D

    info, units, focus = ctx.info, ctx.units, ctx.focus
    if focus not in units:
        return [Block("note", f"No Kaplan–Meier comparison: {focus} changes over follow-up.")]
    if ctx.interval_censored and ctx.entry:
        return [Block("note", "No Turnbull comparison: with delayed entry and interval-censored "
                      "events the nonparametric curve needs a truncation-aware NPMLE.")]  # fmt: skip
    panel = next((w for w in info.interacting(focus) if w in units and w in info.levels), None)
    panels = [lv for lv in info.levels[panel] if (units[panel] == lv).any()] if panel else [None]
    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    axes = plots.new_axes(
        max(3.5 * ncols, 6.0), 3.3 * nrows + 0.5, ncols=ncols, nrows=nrows, squeeze=False
    ).ravel()
    colors = {f"{focus} = {lv}": plots.COLORS[i % len(plots.COLORS)]
              for i, lv in enumerate(info.levels[focus])}  # fmt: skip
    how = ""
    for i, (ax, e) in enumerate(zip(axes, panels, strict=False)):
        sub = units if e is None else units[units[panel] == e]
        curves = []
        for lv in info.levels[focus]:
            if not (sub[focus] == lv).any():
                continue
            where = {focus: lv} | ({panel: e} if panel else {})
            mix = pred.standardised(where=where, cluster="own")
            how = mix.cluster
            S, _, _ = col.curve(mix, "subgroup (KM comparison)", where, quantities=False)
            curves.append(_rows(S, col.grid, col.p, group=f"{focus} = {lv}"))
        km = _nonparametric(ctx, sub.assign(group=f"{focus} = " + sub[focus]), col.grid)
        plots.survival_curves(pd.concat(curves), ax, km=km, colors=colors, time_unit=ctx.unit,
                              legend=False, km_label=ctx.nonparametric)  # fmt: skip
        ax.set_title(f"{panel} = {e} (n = {len(sub)})" if panel else f"all units (n = {len(sub)})",
                     fontsize=10)  # fmt: skip
        if i % ncols:
            ax.set_ylabel("")
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=c, lw=2, label=g) for g, c in colors.items()]
    handles += [Line2D([], [], color="0.3", lw=2, label="posterior (median, 95% band)"),
                Line2D([], [], color="0.3", lw=1, ls="--", label=ctx.nonparametric)]  # fmt: skip
    axes[0].figure.legend(handles=handles, loc="outside upper center", ncol=len(handles),
                          fontsize=8, frameon=False)  # fmt: skip
    caption = (
        f"Posterior survival (solid, 95% band) over {ctx.nonparametric} (dashed) per {focus}"
        + (f" and {panel}" if panel else "") + f". Each posterior curve averages the units of its "
        f"panel and {focus}, {how}, so it estimates what {ctx.nonparametric} estimates."
    )  # fmt: skip
    if changed := ctx.changing(focus):
        caption = (
            f"Units grouped by their {focus} at entry; {changed} of {len(units)} units change "
            f"{focus} during follow-up. Kaplan–Meier (dashed) follows each group whatever its "
            f"later {focus}; the posterior curves (solid, 95% band; {how}) hold each unit's "
            f"covariates at their values at entry, so where many units change the two estimate "
            "different things: the predictive check (replicates follow each unit's observed "
            "path) is the like-for-like comparison."
        )
    return [figure_block("km_overlay", axes[0].figure, caption)]


def _nonparametric(ctx, units: pd.DataFrame, grid) -> pd.DataFrame:
    """Kaplan–Meier per group, or with interval-censored events Turnbull's NPMLE on ``grid``."""
    from bayessa.frequentist import kaplan_meier
    from bayessa.frequentist.npmle import turnbull, turnbull_survival

    if ctx.nonparametric == "Kaplan–Meier":
        return kaplan_meier(units, time="time", event="event", group="group", entry=ctx.entry)
    # R's interval2: L == R an exact event, R blank censored at L, L = 0 event in (0, R]
    upper = units["upper"].where(units["event"] == 0, units["time"])
    table = turnbull(units.assign(R=upper), lower="time", upper="R", group="group")
    out = turnbull_survival(table, grid)
    return out.rename(columns={"survival": "surv"})


def _profiles(ctx, pred, col) -> None:
    """Curves of covariate profiles (marginal over counties), for survival.csv only."""
    info, focus = ctx.info, ctx.focus
    vary = [v for v in info.profile_variables if v in info.levels]  # numeric: at reference
    if np.prod([len(info.levels[v]) for v in vary]) > MAX_PROFILES:
        vary = [focus, *(w for w in info.interacting(focus) if w in info.levels)]
    for combo in itertools.product(*(info.levels[v] for v in vary)):
        prof = {v: info.reference[v] for v in info.profile_variables}
        prof |= dict(zip(vary, combo, strict=True))
        col.curve(pred.profile(prof), "profile", prof)
