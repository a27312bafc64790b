"""The report of the expansion analysis: founding, composition, reach and the counterfactual.

In the style of the survival report (:mod:`bayessa.report.build`): one self-contained
``report.html`` and a ``report.md`` with its figures, sections in the order of the analysis, the
frequentist cross-check beside each Bayesian table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bayessa.report.render import Block, figure_block, fmt_table, write_pages

__all__ = ["expansion_blocks", "write_expansion_report"]


def _eras_table(result) -> pd.DataFrame:
    per = result.data.per_era()
    return per[["era", "first", "last", "years", "groups", "rate"]]


def _founding_blocks(result) -> list[Block]:
    from bayessa.plots import expansion as plots

    x, f = result.data, result.founding
    eras = _eras_table(result)
    blocks = [Block("h2", "Founding rate"),
              Block("p", f"New groups per year in each era, statewide: a {f.family} model of the "
                         "groups founded per calendar year and county, with era effects and county "
                         f"intercepts{' and a random walk over calendar years' if f.trend else ''}. "
                         f"Family: {f.family_reason}."),
              Block("table", "Founding rate per era (posterior median, 95% CrI, per year)",
                    fmt_table(result.founding_table(), {"years": ".2f", "rate": ".1f",
                                                         "lower": ".1f", "upper": ".1f"})),
              Block("table", "Rate ratios between eras (posterior median, 95% CrI, P(ratio > 1))",
                    fmt_table(result.founding_contrasts(), {"ratio": ".2f", "lower": ".2f",
                                                            "upper": ".2f", "p_gt_1": ".3f"}))]  # fmt: skip
    for v in [c for c in x.composition if x.units[c].nunique() <= 4][:2]:
        ax = plots.foundings_per_year(x.units, v, eras=eras)
        first, last = eras["first"].iloc[0], eras["last"].iloc[-1]
        blocks.append(figure_block(f"foundings_by_{v}", ax.figure,
                                   f"Groups founded in each calendar year, stacked by {v}; dotted "
                                   f"lines mark the eras. The first and last years are partly "
                                   f"in the window ({first} to {last})."))  # fmt: skip
    freq = result.frequentist.get("founding")
    if freq is not None:
        r = freq.ratios
        r = r[r["kind"] == "reference"][["era", "versus", "rate_ratio", "lower", "upper"]]
        lr = freq.tests.loc["lr_era"]
        blocks.append(Block("table", "Frequentist cross-check: Poisson-GLM rate ratios (Wald 95% CI; "
                            f"likelihood-ratio test of no era effect: chi-square "
                            f"{lr['statistic']:.2f} on {int(lr['df'])} df, p = {lr['p_value']:.2g})",
                            fmt_table(r, {"rate_ratio": ".2f", "lower": ".2f", "upper": ".2f"})))  # fmt: skip
    return blocks


def _composition_blocks(result) -> list[Block]:
    from bayessa.plots import expansion as plots

    blocks = [Block("h2", "Composition of new groups"),
              Block("p", "Share of each level among the groups founded in each era: a logistic "
                         "(two levels) or multinomial-logit model with era effects and county "
                         "intercepts; shares standardised over the county mix of all new groups. "
                         "P(rose) is the posterior probability that the share is higher in the "
                         "later era.")]  # fmt: skip
    table = result.composition_table()
    contrasts = result.composition_contrasts()
    for v in result.composition:
        blocks.append(Block("h3", v))
        ax = plots.shares_by_era(table, v)
        blocks.append(figure_block(f"shares_{v}", ax.figure,
                                   f"Share of new groups by {v} and era (posterior median, 95% CrI)."))  # fmt: skip
        c = contrasts[contrasts["variable"] == v]
        blocks.append(Block("table", f"{v}: change in share between eras (posterior median, "
                            "95% CrI)", _compact(c)))  # fmt: skip
        t = result.frequentist.get(v)
        if t is not None:
            blocks.append(Block("note", f"Frequentist cross-check ({v} x era): Pearson chi-square "
                                f"{t.chisq_statistic:.2f} on {t.chisq_df:g} df, p = "
                                f"{t.chisq_p_value:.2g}; Fisher's test p = {t.fisher_p_value:.2g} "
                                f"({t.fisher_method})."))  # fmt: skip
    return blocks


def _compact(c: pd.DataFrame) -> pd.DataFrame:
    """The composition contrasts as a narrow table of text (level, eras, difference, OR, P)."""
    return pd.DataFrame({
        "level": c["level"], "eras": c["era_from"] + " → " + c["era_to"],
        "difference in share": [f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]" for m, lo, hi in
                                zip(c["difference"], c["difference_lower"], c["difference_upper"],
                                    strict=True)],
        "odds ratio": [f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, lo, hi in
                       zip(c["odds_ratio"], c["odds_ratio_lower"], c["odds_ratio_upper"],
                           strict=True)],
        "P(rose)": [f"{p:.3f}" for p in c["p_rose"]],
    })  # fmt: skip


def _reach_blocks(result) -> list[Block]:
    from bayessa.plots import expansion as plots

    if result.reach is None:
        return [Block("h2", "Reach"), Block("p", "Not computed (reach=False).")]
    eras = _eras_table(result)
    lost = int(result.data.units["lost"].sum())
    blocks = [Block("h2", "Reach"),
              Block("p", "Active groups and counties with an active group over calendar time. "
                         f"Observed: groups known to be meeting, plus the {lost} groups lost to "
                         "follow-up each counted, after they were last seen, with the Kaplan–Meier "
                         "chance that a group of their age was still meeting (the dashed line "
                         "counts only groups known to be meeting). Model: the founding, mix and "
                         "survival models together (posterior predictive median and 95% band).")]  # fmt: skip
    ax = plots.reach_curves(result.reach, "groups", eras=eras)
    blocks.append(figure_block("reach_groups", ax.figure, "Active groups over time."))
    if "clusters" in result.reach:
        ax = plots.reach_curves(result.reach, "counties", eras=eras)
        blocks.append(figure_block("reach_counties", ax.figure,
                                   "Counties with at least one active group."))  # fmt: skip
    by_era = _reach_by_era(result)
    if by_era is not None:
        blocks.append(Block("table", "Counties reached: with a group founded in each era, and "
                            "with an active group at the era's end", by_era))  # fmt: skip
    return blocks


def _reach_by_era(result) -> pd.DataFrame | None:
    x = result.data
    if x.cluster is None:
        return None
    rows = []
    for e, (_, b) in zip(x.eras.labels, x.eras.bounds, strict=True):
        founded = x.units[x.units["era"] == e][x.cluster].nunique()
        at = result.reach.iloc[(result.reach["day"] - (b - 1)).abs().argmin()]
        rows.append({"era": e, "counties with a new group": founded,
                     "counties with an active group at the era's end": f"{at['clusters']:.1f}"})  # fmt: skip
    return pd.DataFrame(rows)


def _counterfactual_blocks(result) -> list[Block]:
    from bayessa.plots import expansion as plots

    if result.counterfactual is None:
        return []
    eras = _eras_table(result)
    first = result.data.eras.labels[0]
    ax = plots.counterfactual_curve(result.counterfactual, eras=eras)
    gy = result.group_years.copy()
    return [Block("h2", "Counterfactual: had everything stayed as before"),
            Block("p", "Expected active groups with the eras as observed, and had the founding "
                       f"rate, the mix of new groups (leader type x setting) and their survival "
                       f"stayed as in the '{first}' era. The difference in group-years (the area "
                       "between the curves) is split into the part due to more foundings, to a "
                       "different mix and to survival by the Shapley decomposition (each factor's "
                       "effect averaged over the orders of switching the factors; the parts add "
                       "up to the difference)."),
            figure_block("counterfactual", ax.figure, "Expected active groups (posterior median, "
                         "95% CrI): with the partnership as observed, and had it not changed "
                         "founding, mix and survival."),
            Block("table", "Group-years (posterior median, 95% CrI, P(> 0))",
                  fmt_table(gy, {"median": ".0f", "lower": ".0f", "upper": ".0f",
                                 "p_gt_0": ".3f"}))]  # fmt: skip


def expansion_blocks(result) -> list[Block]:
    """Every block of the expansion report.

    Parameters
    ----------
    result : ExpansionResult

    Returns
    -------
    list of Block
    """
    x = result.data
    n = len(x.units)
    per = x.per_era()
    head = (f"{n} groups founded from {per['first'].iloc[0]} to {per['last'].iloc[-1]}, in "
            f"{len(x.clusters) or 1} distinct '{x.cluster or 'cluster'}' values; eras: "
            + "; ".join(x.eras.describe()) + ".")  # fmt: skip
    blocks = [Block("p", head)]
    blocks += [Block("note", n_) for n_ in x.notes]
    blocks.append(Block("table", "Foundings observed per era",
                        fmt_table(_eras_table(result), {"years": ".2f", "rate": ".1f"})))  # fmt: skip
    blocks += _founding_blocks(result)
    blocks += _composition_blocks(result)
    blocks += _reach_blocks(result)
    blocks += _counterfactual_blocks(result)
    blocks.append(Block("h2", "How these numbers were computed"))
    blocks.append(Block("list", items=[
        "Each model is sampled with NUTS (nutpie); the founding, composition and survival "
        "posteriors are independent, so reach and the counterfactual pair their draws by position "
        f"({result.reach is not None and 'at most 400 draws each' or 'not computed'}).",
        "Active groups at a date are a thinned Poisson process of the foundings: a Poisson count "
        "with mean the integral of founding rate x mix x survival, on monthly founding bins.",
        "Counties reached: 1 - exp(-expected active groups in the county), summed over counties.",
    ]))  # fmt: skip
    return blocks


def write_expansion_report(result, folder: Path) -> list[Path]:
    """Write ``report.html``, ``report.md`` and its figures into ``folder``.

    Parameters
    ----------
    result : ExpansionResult
    folder : Path

    Returns
    -------
    list of Path
    """
    title = f"bayessa report: {result.spec.name} (expansion)"
    fams = f"founding model {result.founding.family}"
    subtitle = f"How the founding, mix and reach of new groups changed across eras; {fams}"
    return write_pages(folder, title, subtitle, expansion_blocks(result))
