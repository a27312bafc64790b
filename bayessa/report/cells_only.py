"""The report of a run fitted from cells without their units (a cells file, or the Dask engine).

Everything the cells determine is shown as for any run: the audit, crude rates per level (units
per level from the run's ``bayessa_units`` attrs, events and follow-up from the cells), the model,
the convergence gate, hazard ratios and contrasts, the baseline hazard, the cluster effects and
the Poisson MLE of the cells beside the posterior. What needs each unit's follow-up -- PSIS-LOO,
Kaplan-Meier curves, log-rank tests, predictive checks, survival standardised over the units --
is replaced by a note saying so.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

from bayessa.errors import BayessaError
from bayessa.report import sections as sec
from bayessa.report import terms
from bayessa.report.render import Block, fmt_table

__all__ = ["cells_only_sections"]


def cells_only_sections(dt, info, spec: dict, opts, diagnostics=None, timed=None):
    """The report's blocks and tables for a run without units.

    Parameters
    ----------
    dt : xarray.DataTree
        The run (attrs ``bayessa_units`` set).
    info : bayessa.posterior.predict.DesignInfo
    spec : dict
        The run's spec, as parsed TOML.
    opts : bayessa.report.build.ReportOptions
    diagnostics : Diagnostics, optional
        The convergence gate, if already computed.
    timed : callable, optional
        ``timed(name, fn, *args)`` runs a section and records its seconds.

    Returns
    -------
    blocks : list of Block
    contrasts : pandas.DataFrame
    survival : pandas.DataFrame
        Empty: survival standardised over the units needs the units.
    """
    timed = timed or (lambda _name, fn, *a, **kw: fn(*a, **kw))
    units = pd.DataFrame({"id": [], "entry": [], "time": [], "event": []})
    ctx = sec.Context(dt=dt, info=info, spec=spec, units=units, opts=opts)
    about = json.loads(dt.attrs["bayessa_units"])
    freq = timed("frequentist_s", _frequentist, ctx, about)
    if diagnostics is None:
        from bayessa.checks.diagnostics import check

        diagnostics = timed("gate_s", check, dt)
    blocks = [Block("p", _headline(ctx, diagnostics, about))]
    blocks += timed("audit_s", _audit, ctx, about)
    blocks += sec.model_section(ctx)
    blocks += timed("diagnostics_s", sec.diagnostics_section, ctx, diagnostics)
    hr_blocks, table = timed("contrasts_s", sec.contrast_section, ctx, freq)
    hr_blocks += timed("time_varying_s", terms.time_varying_section, ctx)
    hr_blocks += timed("smooths_s", terms.smooth_section, ctx)
    blocks += hr_blocks
    blocks += [
        Block("h2", "Survival"),
        Block("note", "Survival curves standardised over the units, their Kaplan–Meier "
                      f"overlay and the predictive checks are not shown: {about['reason']}."),
    ]  # fmt: skip
    blocks += timed("baseline_s", sec.baseline_section, ctx, freq)
    blocks += timed("clusters_s", terms.cluster_section, ctx)
    blocks += timed("crosscheck_s", sec.crosscheck_section, ctx, freq)
    return blocks, table, pd.DataFrame()


def _frequentist(ctx, about: dict) -> sec.Freq:
    """The Poisson MLE of the cells; no log-rank tests (they need the units' follow-up)."""
    out = sec.Freq(notes=[f"no log-rank tests: {about['reason']}"])
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            out.pem = sec._poisson_mle(ctx)
        out.notes += [f"Poisson MLE: {w.message}" for w in caught]
    except BayessaError as err:
        out.notes.append(f"no Poisson MLE: {err}")
    if ctx.info.cluster:
        out.notes.append(
            f"the Poisson MLE has no '{ctx.info.cluster}' effects: random effects are left out of it"
        )
    return out


def _cells(ctx) -> pd.DataFrame:
    """The run's cells: events, exposure and the cells' covariates (as text or numbers)."""
    const, obs = ctx.dt["constant_data"].dataset, ctx.dt["observed_data"].dataset
    out = pd.DataFrame(
        {"events": obs["events"].to_numpy(), "exposure": const["exposure"].to_numpy()}
    )
    for name in const.data_vars:
        if str(name).startswith("cell_"):
            out[str(name)[5:]] = const[name].to_numpy()
    return out


def _headline(ctx, diag, about: dict) -> str:
    """The first line: gate, units and events (summed over the cells), the model."""
    failed = [c["check"] for c in diag.checks if not c["passed"]]
    gate = (
        "The convergence gate passed."
        if diag.passed
        else f"The convergence gate FAILED ({', '.join(failed)}): the estimates below are "
        "UNRELIABLE; read Diagnostics before the results."
    )
    follow = float(_cells(ctx)["exposure"].sum())
    return (
        f"{gate} {about['n_units']} units, {about['n_events']} events, {follow:.0f} {ctx.unit} "
        "of follow-up, fitted from their cells (no units in this run). Hazard ratios and "
        f"probabilities below are posterior medians with {ctx.opts.ci_prob:.0%} equal-tailed "
        "credible intervals (CrI); P(HR > 1) is the posterior probability that the first level "
        "named has the higher hazard."
    )


def _audit(ctx, about: dict) -> list[Block]:
    """The data audit, and units, events and crude rates per level from the cells."""
    a = json.loads(ctx.dt.attrs.get("bayessa_audit", "{}"))
    items = [
        f"source: {a.get('source', '?')}",
        f"rows read {a.get('rows_read', '?')}, kept {a.get('rows_kept', '?')}, "
        f"excluded {a.get('rows_excluded', '?')}",
    ]
    items += [f"excluded {e['count']}: {e['reason']} (e.g. {', '.join(e['ids'][:5])})"
              for e in a.get("exclusions", [])]  # fmt: skip
    items += [f"note: {n}" for n in a.get("notes", [])]
    items += [f"split: {n}" for n in json.loads(ctx.dt.attrs.get("bayessa_split_notes", "[]"))]
    blocks = [Block("h2", "Data audit"), Block("list", items=items)]
    cells, rows = _cells(ctx), []
    per = f"crude rate (per {ctx.unit.rstrip('s')})"
    for v in ctx.info.profile_variables:
        if v not in cells or v in ctx.info.numeric_columns:
            continue
        counts = about.get("levels", {}).get(v, {})
        by = cells.groupby(v, sort=False)[["events", "exposure"]].sum()
        order = [lv for lv in ctx.info.levels.get(v, ()) if lv in by.index]
        for lv in order + [lv for lv in by.index if lv not in order]:
            ev, ex = by.loc[lv, "events"], by.loc[lv, "exposure"]
            rows.append({"variable": v, "level": lv, "units": counts.get(lv, np.nan),
                         "events": int(ev), f"follow-up ({ctx.unit})": ex, per: ev / ex})  # fmt: skip
    if rows:
        blocks.append(Block("table", "Units, events and crude event rates by covariate (from "
                            "the cells)", fmt_table(pd.DataFrame(rows),
                            {f"follow-up ({ctx.unit})": ".1f", per: ".3f"})))  # fmt: skip
    return blocks
