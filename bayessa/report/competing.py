"""The combined report of a competing-risks fit: incidence of every cause, stacked and by group.

Each cause's fit has its own full report (``<cause>/report.html``: diagnostics, hazard ratios,
cause-specific survival); this page puts the causes together: their hazard ratios side by side,
the cumulative incidence of each cause for the reference profile (stacked, and with 95% bands),
per level of the first categorical variable, the differences between those levels with
P(difference > 0), and, for a fresh fit, the Aalen–Johansen estimate and Gray's test as the
frequentist cross-check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayessa.report.render import Block, figure_block, fmt_table, write_pages

__all__ = ["competing_blocks", "write_competing_report"]

#: Times of the incidence table, as fractions of the modelled follow-up.
_TABLE_FRACTIONS = (0.25, 0.5, 1.0)


def competing_blocks(
    result, folders: dict[str, str], *, reference=None, diagnostics=None
) -> list[Block]:
    """The blocks of the combined page.

    Parameters
    ----------
    result : CompetingRisksResult
        The cause-specific fits.
    folders : dict of str to str
        Each cause's run folder, relative to the page.
    reference : DataFrame, optional
        The reference profile's incidence, if already computed
        (``result.cumulative_incidence()``).
    diagnostics : dict, optional
        Each cause's gate, if already computed (``result.diagnostics()``).

    Returns
    -------
    list of Block
    """
    from bayessa import plots

    first = next(iter(result.results.values()))
    unit = first.spec.data.time_unit
    blocks = [Block("h2", "Causes")]
    items = []
    for cause, res in result.results.items():
        diag = diagnostics[cause] if diagnostics else res.diagnostics()
        n = int(res.idata["observed_data"]["events"].sum())
        items.append(f"{cause}: {n} events; convergence gate {'passed' if diag.passed else 'FAILED'}"
                     f"; full report: {folders[cause]}/report.html")  # fmt: skip
    blocks.append(Block("list", items=items))
    blocks.append(Block("note", "One cause-specific piecewise-exponential model per cause (the "
                        "other causes' events censored), each with its own baseline, effects "
                        "and cluster effects; the incidence combines every cause's hazard."))  # fmt: skip
    hr = result.hazard_ratios()
    cols = ["cause", "coef", "hr_median", "hr_lower", "hr_upper", "p_hr_gt_1"]
    blocks += [Block("h2", "Hazard ratios by cause"),
               Block("table", "Cause-specific hazard ratios (posterior median, 95% CrI, P(HR > 1))",
                     fmt_table(hr[[c for c in cols if c in hr]], {"hr_median": ".3f",
                               "hr_lower": ".3f", "hr_upper": ".3f", "p_hr_gt_1": ".3f"}))]  # fmt: skip
    ref = result.cumulative_incidence() if reference is None else reference
    blocks.append(Block("h2", "Cumulative incidence"))
    axes = plots.new_axes(11.0, 4.0, ncols=2)
    plots.stacked_incidence(ref, axes[0, 0], time_unit=unit)
    plots.incidence_bands(ref, axes[0, 1], time_unit=unit)
    axes[0, 0].set_title("Stacked (posterior medians)", fontsize=10)
    axes[0, 1].set_title("Each cause, 95% band", fontsize=10)
    blocks.append(figure_block("cif_reference", axes[0, 0].figure,
                               f"{ref['profile'].iloc[0]}; {ref['cluster_effect'].iloc[0]}."))  # fmt: skip
    blocks.append(_incidence_table(ref, unit))
    blocks += _by_level(result, unit)
    blocks += _predictive_check(result, unit)
    blocks += _crosscheck(result)
    return blocks


def _predictive_check(result, unit: str) -> list[Block]:
    """The observed incidence over the band of replicates that draw the cause."""
    from bayessa import plots
    from bayessa.checks.ppc_competing import incidence_check

    runs = {c: r.idata for c, r in result.results.items()}
    observed, band = incidence_check(runs, n_replicates=100, seed=0)
    ax = plots.incidence_ppc(observed, band, time_unit=unit)
    return [Block("h2", "Predictive check"),
            figure_block("cif_ppc", ax.figure, (
                "Observed Aalen–Johansen incidence of each cause (steps) over the 95% band of "
                "100 replicates: each unit's latent time of every cause drawn from paired "
                "posterior draws (its own covariates and cluster), the first one its ending, "
                "censored as the unit was (at its exit without an event, else at the end of "
                "the study)."))]  # fmt: skip


def _incidence_table(table: pd.DataFrame, unit: str) -> Block:
    end = table["time"].max()
    rows = []
    for cause, g in table.groupby("cause", sort=False):
        row = {"cause": cause}
        for frac in _TABLE_FRACTIONS:
            t = g.iloc[int(np.argmin(np.abs(g["time"].to_numpy() - frac * end)))]
            row[f"F({t['time']:.3g})"] = f"{t['cif']:.3f} [{t['lower']:.3f}, {t['upper']:.3f}]"
        row[f"time lost to {g['tau'].iloc[0]:.3g} {unit}"] = (
            f"{g['rmtl'].iloc[0]:.3g} [{g['rmtl_lower'].iloc[0]:.3g}, {g['rmtl_upper'].iloc[0]:.3g}]"
        )
        rows.append(row)
    return Block("table", "Cumulative incidence (posterior median [95% CrI]) and restricted mean "
                 "time lost to each cause", pd.DataFrame(rows))  # fmt: skip


def _by_level(result, unit: str) -> list[Block]:
    """Incidence per level of the first categorical variable, and the differences."""
    from bayessa import plots
    from bayessa.posterior.predict import DesignInfo

    info = DesignInfo.from_datatree(next(iter(result.results.values())).idata)
    var = next((v for v in info.profile_variables if v in info.levels), None)
    if var is None:
        return []
    levels = info.levels[var]
    axes = plots.new_axes(4.0 * len(levels), 3.6, ncols=len(levels), squeeze=False)
    for ax, lv in zip(axes[0], levels, strict=True):
        plots.stacked_incidence(result.cumulative_incidence({var: lv}), ax, time_unit=unit)
        ax.set_title(f"{var} = {lv}", fontsize=10)
    blocks = [Block("h3", f"By {var} (other variables at their reference)"),
              figure_block(f"cif_by_{var}", axes[0, 0].figure,
                           f"Stacked cumulative incidence per {var} (posterior medians).")]  # fmt: skip
    rows = []
    for lv in levels[1:]:
        d = result.incidence_difference({var: lv}, {var: levels[0]})
        for cause, g in d.groupby("cause", sort=False):
            last = g.iloc[-1]
            rows.append({
                "contrast": f"{var}: {lv} − {levels[0]}", "cause": cause,
                f"ΔF({last['time']:.3g})": f"{last['difference']:+.3f} [{last['lower']:+.3f}, "
                f"{last['upper']:+.3f}]", "P(ΔF > 0)": f"{last['p_gt_0']:.3f}",
                "Δ time lost": f"{last['rmtl_difference']:+.3g} [{last['rmtl_lower']:+.3g}, "
                f"{last['rmtl_upper']:+.3g}]",
            })  # fmt: skip
    if rows:
        blocks.append(Block("table", "Differences in cumulative incidence and time lost "
                            "(posterior median [95% CrI])", pd.DataFrame(rows)))  # fmt: skip
    return blocks


def _crosscheck(result) -> list[Block]:
    """Aalen–Johansen and Gray's test of the first categorical variable (fresh fits only)."""
    from bayessa.frequentist.cuminc import cumulative_incidence, gray_test

    prepared = getattr(result, "prepared", None)
    if prepared is None:
        return [Block("h2", "Frequentist cross-check"),
                Block("note", "Not available for a loaded run: it needs the units.")]  # fmt: skip
    units = prepared.data.units
    labels = np.array(("censored", *prepared.data.causes), dtype=object)
    df = units.assign(_outcome=labels[units["cause"].to_numpy()])
    var = next((c for c in prepared.data.covariates
                if isinstance(units[c].dtype, pd.CategoricalDtype)), None)  # fmt: skip
    blocks = [Block("h2", "Frequentist cross-check")]
    aj = cumulative_incidence(df, time="exit", event="_outcome", group=var)
    last = aj.groupby([c for c in ("group", "cause") if c in aj], sort=False).tail(1)
    blocks.append(Block("table", "Aalen–Johansen cumulative incidence at each curve's last event "
                        "time (unadjusted" + (f", by {var}" if var else "") + "; Gray's SE)",
                        fmt_table(last, {"time": ".3g", "cif": ".3f", "std_err": ".3f",
                                         "lower": ".3f", "upper": ".3f"})))  # fmt: skip
    if var is not None:
        gray = gray_test(df, time="exit", event="_outcome", group=var).table.reset_index()
        blocks.append(Block("table", f"Gray's test of equal incidence by {var}",
                            fmt_table(gray, {"statistic": ".3f", "p_value": ".3g"})))  # fmt: skip
    if (units["entry"] > 0).any():
        blocks.append(Block("note", "Delayed entry is ignored by these unadjusted estimates."))
    return blocks


def write_competing_report(
    result, folder: Path, folders: dict[str, str], *, reference=None, diagnostics=None
) -> list[Path]:
    """Write ``report.html``, ``report.md`` and its figures into ``folder``.

    Parameters
    ----------
    result : CompetingRisksResult
    folder : Path
        The combined run folder.
    folders : dict of str to str
        Each cause's run folder, relative to ``folder``.
    reference, diagnostics : optional
        As :func:`competing_blocks` (computed there when not given).

    Returns
    -------
    list of Path
    """
    name = result.spec.name if result.spec is not None else "competing risks"
    title = f"bayessa report: {name} (competing risks)"
    subtitle = f"causes: {', '.join(result.causes)}"
    blocks = competing_blocks(result, folders, reference=reference, diagnostics=diagnostics)
    return write_pages(folder, title, subtitle, blocks)
