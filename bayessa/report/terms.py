"""Report sections about the model's terms: time-varying effects, smooths, random effects.

Split from :mod:`bayessa.report.sections` (the sections every report has), on which they build.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bayessa.plots import posterior as plots
from bayessa.posterior.curves import summarise
from bayessa.posterior.predict import draws
from bayessa.report.render import Block, fmt_table
from bayessa.report.sections import Context, _fig
from bayessa.report.survival import ci as _ci


def time_varying_section(ctx: Context) -> list[Block]:
    """Hazard ratios by age interval of the time-varying coefficients (none without them).

    Parameters
    ----------
    ctx : Context
        The run and the report options.

    Returns
    -------
    list of Block
    """
    from bayessa.posterior.time_varying import interval_hazard_ratios

    post = ctx.dt["posterior"].dataset
    table = interval_hazard_ratios(post, ctx.info.cuts, ci_prob=ctx.opts.ci_prob)
    if table.empty:
        return []
    beta = post["beta"].stack(sample=("chain", "draw"))
    average = pd.DataFrame(
        {"hr_median": np.exp(beta.median("sample").to_numpy())},
        index=[str(c) for c in post["coef"].values],
    )
    coefs = list(dict.fromkeys(table["coef"]))  # one panel per coefficient
    ncols = min(len(coefs), 3)
    nrows = -(-len(coefs) // ncols)
    axes = plots.new_axes(
        max(3.6 * ncols, 6.0), 3.0 * nrows + 0.4, ncols=ncols, nrows=nrows, squeeze=False
    ).ravel()
    for ax, coef in zip(axes, coefs, strict=False):
        plots.interval_hazard_ratios(table[table["coef"] == coef], ax, average=average,
                                     time_unit=ctx.unit)  # fmt: skip
    for ax in axes[len(coefs) :]:
        ax.set_visible(False)
    ax = axes[0]
    shown = table[["coef", "interval", "hr_median", "hr_lower", "hr_upper", "p_hr_gt_1"]].rename(
        columns={"coef": "coefficient", "hr_median": "HR", "hr_lower": "lower",
                 "hr_upper": "upper", "p_hr_gt_1": "P(HR>1)"}
    )  # fmt: skip
    return [
        Block("h3", "Hazard ratio by age interval"),
        Block("p", "These coefficients have a time-varying effect: a deviation in each age "
              "interval around their average (the hazard ratio above, dotted in the figure). "
              "HR in interval k = exp(beta + delta_k)."),  # fmt: skip
        _fig("interval_hazard_ratios", ax, "Hazard ratio per age interval (log scale): "
             f"posterior median and {ctx.opts.ci_prob:.0%} CrI; dotted: the average over the "
             "intervals; thin line: HR = 1."),  # fmt: skip
        Block("table", f"Hazard ratio per age interval (posterior median, {ctx.opts.ci_prob:.0%} "
              "CrI, P(HR > 1))",
              fmt_table(shown, {"HR": ".2f", "lower": ".2f", "upper": ".2f", "P(HR>1)": ".2f"})),
    ]  # fmt: skip


def smooth_section(ctx: Context) -> list[Block]:
    """One figure and a short table per smooth ``s(x)`` (none without smooths).

    Parameters
    ----------
    ctx : Context
        The run and the report options.

    Returns
    -------
    list of Block
    """
    from bayessa.posterior.smooths import smooth_columns, smooth_table

    columns = smooth_columns(ctx.info)
    if not columns:
        return []
    blocks = [Block("h3", "Smooth effects"),
              Block("p", "Each smooth s(x) is a penalised cubic spline on the log-hazard scale "
                    "(random walk of its slope). The curve is the log hazard ratio against the "
                    "reference value of x (dotted), with its 95% band; ticks show where the "
                    "units' values lie. A smooth has no single hazard ratio.")]  # fmt: skip
    for col in columns:
        table = smooth_table(ctx.dt, col, ci_prob=ctx.opts.ci_prob)
        rug = ctx.units[col].to_numpy() if col in ctx.units else None
        ax = plots.smooth_effect(table, plots.new_axes(6.0, 3.4), rug=rug)
        blocks.append(_fig(f"smooth_{col}", ax, f"s({col}): log hazard ratio against "
                           f"{col} = {table['reference'].iloc[0]:g}, posterior median and "
                           f"{ctx.opts.ci_prob:.0%} CrI."))  # fmt: skip
        shown = table.iloc[np.unique(np.linspace(0, len(table) - 1, 6).round().astype(int))]
        shown = shown[["x", "hr_median", "hr_lower", "hr_upper", "p_hr_gt_1"]].rename(
            columns={"x": col, "hr_median": "HR", "hr_lower": "lower", "hr_upper": "upper",
                     "p_hr_gt_1": "P(HR>1)"})  # fmt: skip
        blocks.append(Block("table", f"s({col}): hazard ratio at selected values (all in "
                            "smooths.csv)", fmt_table(shown, {col: ".4g", "HR": ".2f",
                            "lower": ".2f", "upper": ".2f", "P(HR>1)": ".2f"})))  # fmt: skip
    return blocks


def cluster_section(ctx: Context) -> list[Block]:
    """The cluster (county) effects and their SD.

    Parameters
    ----------
    ctx : Context
        The run and the report options.

    Returns
    -------
    list of Block
        Empty when the model has no cluster effects.
    """
    info, post = ctx.info, ctx.dt["posterior"].dataset
    if info.cluster is None or "cluster_effect" not in post:
        return []
    s = summarise(np.exp(draws(post, "cluster_effect")))
    df = pd.DataFrame(
        {k: s[k] for k in ("median", "lower", "upper")}, index=list(info.cluster_levels)
    )
    u = ctx.units
    if info.cluster in u:
        df["units"] = u.groupby(info.cluster).size().reindex(df.index).fillna(0)
        u = u.assign(event=ctx.had_event(u))
        df["events"] = u.groupby(info.cluster)["event"].sum().reindex(df.index).fillna(0)
    sd = summarise(draws(post, "cluster_sd")[:, None]) if "cluster_sd" in post else None
    ax = plots.cluster_effects(df, name=info.cluster)
    text = f"{info.cluster} SD (log-hazard scale): {_ci(sd, f='.2f')}." if sd else ""
    blocks = [Block("h2", f"{info.cluster.capitalize()} effects"), Block("p", text),
              _fig("cluster_effects", ax, f"Hazard ratio of each {info.cluster} against the average "
                   f"{info.cluster} (exp(u), posterior median and 95% CrI); labels give units / events.")]  # fmt: skip
    if len(info.random_terms) > 1 or "cluster_slope_sd" in post:
        blocks.append(random_terms_table(ctx))
    return blocks


def random_terms_table(ctx: Context) -> Block:
    """Every random-effect term: levels, SDs of its intercept and slopes, correlations.

    Parameters
    ----------
    ctx : Context

    Returns
    -------
    Block
    """
    post = ctx.dt["posterior"].dataset
    mi = json.loads(ctx.dt.attrs.get("bayessa_model_info", "{}"))
    rows = []
    for i, (g, form) in enumerate(zip(mi.get("random_terms", []), mi.get("random_forms", []),
                                      strict=True)):  # fmt: skip
        p = "cluster" if i == 0 else g
        what = [(f"SD of the {g} intercepts", draws(post, f"{p}_sd")[:, None])]
        if f"{p}_slope_sd" in post:
            sds = draws(post, f"{p}_slope_sd")
            for j, c in enumerate(post[f"{p}_slope_sd"].coords[f"{p}_slope_coef"].values):
                what.append((f"SD of the {g} slopes of {c}", sds[:, j : j + 1]))
            corr = draws(post, f"{p}_corr")
            for j, pair in enumerate(post[f"{p}_corr"].coords[f"{p}_corr_pair"].values):
                what.append((f"correlation {pair}", corr[:, j : j + 1]))
        levels = post.sizes.get(g, 0)
        for label, d in what:
            rows.append({"term": f"(… | {g})", "levels": levels, "parameter": label,
                         "posterior": _ci(summarise(d), f=".2f"), "form": form})  # fmt: skip
    note = ("Predictions are marginal over the first term's intercepts (or conditional on one of "
            "its levels); further terms are held at 0, an average level, unless a level is given; "
            "random slopes are at their mean unless conditional. Correlations have an LKJ(2) prior.")  # fmt: skip
    return Block("table", f"Random-effect terms (log-hazard scale). {note}", pd.DataFrame(rows))
