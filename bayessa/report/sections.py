"""The sections of the run report (:mod:`bayessa.report`): each returns blocks and tables."""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayessa.errors import BayessaError, SpecError
from bayessa.plots import posterior as plots
from bayessa.posterior.curves import summarise
from bayessa.posterior.predict import DesignInfo, draws
from bayessa.report.render import Block, figure_block, fmt_table


@dataclass
class Context:
    """What every section reads: the DataTree, the coding, the spec, the units and options.

    Parameters
    ----------
    dt : xarray.DataTree
        The run's DataTree.
    info : DesignInfo
        The run's coding.
    spec : dict
        The run's spec, as parsed TOML.
    units : pandas.DataFrame
        The units (:func:`bayessa.posterior.predict.unit_frame`).
    opts : ReportOptions
        What the report computes.
    cache : dict, optional
        Values one section leaves for another (e.g. ``"held"``).
    rows : pandas.DataFrame, optional
        With covariates that change during follow-up, the data rows with each row's current
        values (:func:`bayessa.posterior.predict.row_frame`); None otherwise.
    """

    dt: Any
    info: DesignInfo
    spec: dict
    units: pd.DataFrame
    opts: Any
    cache: dict = field(default_factory=dict)
    rows: pd.DataFrame | None = None

    def changing(self, variable: str) -> int:
        """How many units' ``variable`` changes during follow-up.

        Parameters
        ----------
        variable : str
            A covariate.

        Returns
        -------
        int
            Units with more than one value of it among their rows (0 without data rows).
        """
        if self.rows is None or variable not in self.rows:
            return 0
        n = self.rows.groupby("id", sort=False)[variable].nunique()
        return int((n > 1).sum())

    @property
    def focus(self) -> str | None:
        """The categorical covariate the curves compare (option, else the first one)."""
        return self.opts.focus or (self.info.categorical[0] if self.info.categorical else None)

    @property
    def unit(self) -> str:
        """The time unit of the run."""
        return self.info.time_unit

    @property
    def interval_censored(self) -> int:
        """How many units' events are known only to lie between two inspections."""
        if "upper" not in self.units:
            return 0
        return int(np.isfinite(self.units["upper"].to_numpy(float)).sum())

    def had_event(self, table: pd.DataFrame) -> pd.Series:
        """Each row's event: observed exactly (``event``) or between two inspections (1/0).

        Parameters
        ----------
        table : pandas.DataFrame
            Units (or rows) with ``event`` and, with interval censoring, ``upper``.

        Returns
        -------
        pandas.Series
        """
        ev = table["event"].astype(int)
        if "upper" in table:
            ev = ev + np.isfinite(table["upper"].to_numpy(float)).astype(int)
        return ev

    @property
    def nonparametric(self) -> str:
        """The nonparametric curve the posterior is drawn over: Kaplan–Meier, or Turnbull."""
        return "Turnbull NPMLE" if self.interval_censored else "Kaplan–Meier"

    @property
    def entry(self) -> str | None:
        """``'entry'`` when some unit has delayed entry (or several rows), else None."""
        return "entry" if (self.units["entry"] > 0).any() or self.rows is not None else None


def _fig(name: str, ax, caption: str) -> Block:
    return figure_block(name, ax.figure, caption)


# ---------------------------------------------------------------------------- frequentist


@dataclass
class Freq:
    """The frequentist cross-check: log-rank tests, notes and the Poisson-GLM PEM.

    Parameters
    ----------
    logrank : list of (str, LogRankResult), optional
        One log-rank test per unit-level variable.
    notes : list of str, optional
        Tests not done and fitting warnings, with the reason.
    pem : PEMResult, optional
        The Poisson-GLM PEM of the cells (None when it could not be fitted).
    """

    logrank: list = field(default_factory=list)  # (variable, LogRankResult)
    notes: list[str] = field(default_factory=list)
    pem: Any = None


def frequentist(ctx: Context) -> Freq:
    """Log-rank tests for each unit-level covariate and the Poisson-GLM PEM of the cells.

    Parameters
    ----------
    ctx : Context
        The run and the report options.

    Returns
    -------
    Freq
    """
    from bayessa.frequentist import logrank

    out, info, units = Freq(), ctx.info, ctx.units
    if n_ic := ctx.interval_censored:
        out.notes.append(
            f"no log-rank tests and no Poisson MLE of the cells: {n_ic} units' events are "
            "known only to lie between two inspections (interval-censored), which neither "
            "handles; the survival curves are compared with Turnbull's NPMLE instead, and the "
            "hazard ratios with the PEM's maximum likelihood under interval censoring"
        )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                out.pem = _interval_mle(ctx)
            out.notes += [f"interval-censored MLE: {w.message}" for w in caught]
        except BayessaError as err:
            out.notes.append(f"no interval-censored MLE: {err}")
        return out
    for v in info.profile_variables:
        if v in info.numeric_columns:
            out.notes.append(
                f"no log-rank test for '{v}': it is numeric (the test compares groups)"
            )
            continue
        if v not in units:
            out.notes.append(f"no log-rank test for '{v}': it changes over a unit's follow-up")
            continue
        table = units if ctx.rows is None else ctx.rows
        try:
            out.logrank.append((v, logrank(table, time="time", event="event", group=v,
                                           entry=ctx.entry)))  # fmt: skip
        except BayessaError as err:
            out.notes.append(f"no log-rank test for '{v}': {err}")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            out.pem = _poisson_mle(ctx)
        out.notes += [f"Poisson MLE: {w.message}" for w in caught]
    except BayessaError as err:
        out.notes.append(f"no Poisson MLE: {err}")
    if info.cluster:
        out.notes.append(
            f"the Poisson MLE has no '{info.cluster}' effects: random effects are left out of it"
        )
    if ctx.rows is not None:
        out.notes.append(
            "covariates change during follow-up: the log-rank tests count each unit in the risk "
            "set of its current group (the data rows, as R's survdiff cannot and coxph's score "
            "test does)"
        )
    return out


@dataclass
class _IntervalMLE:
    """The PEM MLE under interval censoring, shaped as the report reads a Poisson-GLM PEM."""

    result: Any
    glm: Any = None  # no GLM: the contrasts table shows no MLE column

    @property
    def table(self) -> pd.DataFrame:
        return self.result.effects

    @property
    def baseline(self) -> pd.DataFrame:
        return self.result.baseline


def _interval_mle(ctx: Context) -> _IntervalMLE:
    """``interval_pem`` of the run's units when the formula is main effects of unit variables.

    Random effects are left out (as in the Poisson MLE); a formula with interactions,
    transforms, smooths, strata or calendar periods has no such MLE here (a note says so).
    """
    from bayessa.frequentist import interval_pem

    info, u = ctx.info, ctx.units
    variables = list(info.profile_variables)
    if info.strata or any(v not in u for v in variables):
        raise SpecError("the formula uses strata or variables that are not unit columns")
    frame = u.assign(upper=u["upper"].where(u["event"] == 0, u["time"]))
    reference = {v: info.levels[v][0] for v in variables if v in info.levels}
    res = interval_pem(frame, lower="time", upper="upper", cuts=list(info.cuts),
                       covariates=variables, entry="entry" if ctx.entry else None,
                       reference=reference)  # fmt: skip
    if set(res.effects.index) != set(info.coef_names):
        raise SpecError(
            f"its terms {list(res.effects.index)} are not the formula's {list(info.coef_names)} "
            "(interactions or transforms); it fits main effects only"
        )
    return _IntervalMLE(res)


def _poisson_mle(ctx: Context):
    """The Poisson-GLM PEM of the run's cells with the model's own design columns."""
    from bayessa.frequentist import poisson_pem

    info = ctx.info
    const, obs = ctx.dt["constant_data"].dataset, ctx.dt["observed_data"].dataset
    labels = [f"({a:g},{b:g}]" for a, b in itertools.pairwise(info.cuts)]
    cells = pd.DataFrame(
        {
            "interval": np.asarray(labels)[const["interval"].to_numpy()],
            "events": obs["events"].to_numpy().astype(float),
            "exposure": const["exposure"].to_numpy().astype(float),
        }
    )
    for v in info.profile_variables:
        cells[v] = const[f"cell_{v}"].to_numpy()
    if info.strata:
        order = [f"{lab} | {s}" for s in info.strata_levels for lab in labels]
        cells["interval"] = cells["interval"] + " | " + cells[info.strata].astype(str)
    else:
        order = labels
    # interval order, not the labels' alphabetical order ("(100,inf]" before "(12,18]")
    cells["interval"] = pd.Categorical(cells["interval"], categories=order)
    X = (
        info.rows(cells[list(info.profile_variables)])
        if info.coef_names
        else np.zeros((len(cells), 0))
    )
    return poisson_pem(cells, design=(list(info.coef_names), X))


# ---------------------------------------------------------------------------- sections


def headline(ctx: Context, diag) -> str:
    """The report's first line: gate status, units, events and the model.

    Parameters
    ----------
    ctx : Context
        The run and the report options.
    diag : Diagnostics
        The convergence gate (:func:`bayessa.checks.diagnostics.check`).

    Returns
    -------
    str
    """
    u = ctx.units
    failed = [c["check"] for c in diag.checks if not c["passed"]]
    gate = (
        "The convergence gate passed."
        if diag.passed
        else f"The convergence gate FAILED ({', '.join(failed)}): the estimates below are "
        "UNRELIABLE; read Diagnostics before the results."
    )
    n_ic = ctx.interval_censored
    ic = f" ({n_ic} of them known only between two inspections)" if n_ic else ""
    followed = " up to the last inspection without the event" if n_ic else ""
    return (
        f"{gate} {len(u)} units, {int(ctx.had_event(u).sum())} events{ic}, "
        f"{(u['time'] - u['entry']).sum():.0f} {ctx.unit} of follow-up{followed}. Hazard ratios and "
        f"probabilities below are posterior medians with {ctx.opts.ci_prob:.0%} equal-tailed "
        "credible intervals (CrI); P(HR > 1) is the posterior probability that the first level "
        "named has the higher hazard."
    )


def audit_section(ctx: Context) -> list[Block]:
    """The data section: what was read, excluded and split.

    Parameters
    ----------
    ctx : Context
        The run and the report options.

    Returns
    -------
    list of Block
    """
    a = json.loads(ctx.dt.attrs.get("bayessa_audit", "{}"))
    blocks = [Block("h2", "Data audit")]
    items = [
        f"source: {a.get('source', '?')}",
        f"rows read {a.get('rows_read', '?')}, kept {a.get('rows_kept', '?')}, "
        f"excluded {a.get('rows_excluded', '?')}",
    ]
    items += [f"excluded {e['count']}: {e['reason']} (e.g. {', '.join(e['ids'][:5])})"
              for e in a.get("exclusions", [])]  # fmt: skip
    items += [f"note: {n}" for n in a.get("notes", [])]
    items += [f"split: {n}" for n in json.loads(ctx.dt.attrs.get("bayessa_split_notes", "[]"))]
    blocks.append(Block("list", items=items))
    table = ctx.units if ctx.rows is None else ctx.rows
    u = table.assign(exposure=table["time"] - table["entry"], event=ctx.had_event(table))
    rows = []
    for v in ctx.info.profile_variables:
        if v not in u or v in ctx.info.numeric_columns:
            continue
        for lv, g in u.groupby(v, sort=False):
            rows.append({"variable": v, "level": lv, "units": g["id"].nunique(),
                         "events": int(g["event"].sum()),
                         f"follow-up ({ctx.unit})": g["exposure"].sum(),
                         f"crude rate (per {ctx.unit.rstrip('s')})": g["event"].sum() / g["exposure"].sum()})  # fmt: skip
    if rows:
        df = pd.DataFrame(rows)
        df["order"] = [ctx.info.levels[v].index(lv) if lv in ctx.info.levels[v] else 99
                       for v, lv in zip(df["variable"], df["level"], strict=True)]  # fmt: skip
        df = df.sort_values(["variable", "order"], key=lambda s: s.map(
            {v: i for i, v in enumerate(ctx.info.profile_variables)}) if s.name == "variable" else s
        ).drop(columns="order")  # fmt: skip
        by = (
            ""
            if ctx.rows is None
            else " (by the current value: follow-up and events of the "
            "rows at each level; a unit that changes counts under each level it had)"
        )
        if ctx.interval_censored:
            by = (" (events include those known only between two inspections; follow-up runs "
                  "to each unit's last inspection without the event, so the crude rate is high)")  # fmt: skip
        blocks.append(Block("table", "Units, events and crude event rates by covariate" + by,
                            fmt_table(df, {f"follow-up ({ctx.unit})": ".1f",
                                      f"crude rate (per {ctx.unit.rstrip('s')})": ".3f"})))  # fmt: skip
    if numeric := numeric_summary(ctx):
        blocks += numeric
    if ctx.info.cluster and ctx.info.cluster in u:
        n = u.groupby(ctx.info.cluster).size()
        blocks.append(Block("note", f"{len(n)} {ctx.info.cluster} levels with {n.min()}–{n.max()} "
                                     f"units each (median {n.median():g})."))  # fmt: skip
    return blocks


def numeric_summary(ctx: Context) -> list[Block]:
    """A table of the numeric covariates: spread over the units, reference value, terms.

    Parameters
    ----------
    ctx : Context

    Returns
    -------
    list of Block
        Empty without numeric covariates.
    """
    info, u = ctx.info, ctx.units
    rows = []
    for v, ref in info.numeric_columns.items():
        if v not in u:
            continue
        x = u[v].to_numpy(dtype=float)
        q = np.quantile(x, [0.0, 0.25, 0.5, 0.75, 1.0])
        terms = [t for t in info.numeric.values() if t.column == v]
        rows.append({"variable": v, "min": q[0], "lower quartile": q[1], "median": q[2],
                     "upper quartile": q[3], "max": q[4], "reference": ref,
                     "in the model as": "; ".join(dict.fromkeys(
                         f"s({v}) (smooth)" if t.transform == "bspline" else f"{t.name} ({t.per()})"
                         for t in terms))})  # fmt: skip
    if not rows:
        return []
    note = (
        "Numeric covariates enter the log hazard linearly, as the formula writes them. Hazard "
        "ratios are per unit of the covariate as given (per doubling for log terms), whatever "
        "centring or scaling was used for sampling; the baseline is the hazard at the reference "
        "values."
    )
    return [Block("table", "Numeric covariates", fmt_table(pd.DataFrame(rows), {})),
            Block("note", note)]  # fmt: skip


def model_section(ctx: Context) -> list[Block]:
    """The model section: formula, baseline, cluster effects and priors.

    Parameters
    ----------
    ctx : Context
        The run and the report options.

    Returns
    -------
    list of Block
    """
    s, info = ctx.spec, ctx.info
    mi = json.loads(ctx.dt.attrs.get("bayessa_model_info", "{}"))
    m, smp = s.get("model", {}), s.get("sampler", {})
    items = [
        f"formula: {info.formula}",
        "reference levels: " + ", ".join(f"{k} = {v}" for k, v in info.reference.items()),
        f"baseline log hazard: {m.get('baseline', '?')} over age intervals with cut points "
        + ", ".join(f"{c:g}" for c in info.cuts)
        + f" ({ctx.unit})"
        + (
            f"; random-walk steps {mi['baseline_parameterization']} "
            f"({mi.get('baseline_parameterization_reason', '')})"
            if mi.get("baseline_parameterization")
            else ""
        ),
    ]
    if info.cluster:
        items.append(f"{info.cluster} effects: sum-to-zero, {mi.get('parameterization')} "
                     f"({mi.get('parameterization_reason')})")  # fmt: skip
    if info.strata:
        items.append(f"baseline stratified by {info.strata}")
    if info.time_varying_coefs:
        items.append("time-varying effects: " + ", ".join(info.time_varying_coefs))
    items.append(
        f"sampler: {smp.get('backend')} NUTS, {smp.get('chains')} chains × {smp.get('draws')} "
        f"draws after {smp.get('tune')} tuning, target_accept {smp.get('target_accept')}, "
        f"seed {smp.get('seed')}" + _ess_rounds(ctx.dt.attrs, smp)
    )
    used = {"baseline_level", "effects"} if info.variables else {"baseline_level"}
    used |= {"baseline_smoothing"} if m.get("baseline") in ("rw1", "rw2") else set()
    used |= {"baseline_slope"} if m.get("baseline") == "rw2" else set()
    used |= {"cluster_sd"} if info.cluster else set()
    used |= {"time_varying_sd"} if info.time_varying_coefs else set()
    from bayessa.model.spec import Prior
    from bayessa.model.units import priors_in_unit

    stated = {k: Prior(v["dist"], {a: b for a, b in v.items() if a != "dist"})
              for k, v in s.get("priors", {}).items()}  # fmt: skip
    unit = ctx.unit
    applied = priors_in_unit(stated, unit, m.get("baseline", "rw1")) if unit != "years" else stated
    rows = []
    for k, v in stated.items():
        if k in used:
            row = {"parameter": k, "prior (per year)": str(v)}
            if unit != "years":
                row[f"as applied (per {unit.rstrip('s')})"] = str(applied[k])
            rows.append(row)
    scaled = [f"{c} {s_:.3g}" for c, s_ in zip(info.coef_names, mi.get("coef_scales", ()),
                                                strict=False) if s_ != 1.0]  # fmt: skip
    if scaled:
        items.append("the effects prior is on the log hazard ratio per SD of each numeric "
                     f"column (event-weighted SD: {', '.join(scaled)}), as rstanarm's "
                     "autoscaled priors; per unit its scale is divided by that SD")  # fmt: skip
    if mi.get("likelihood") == "patterns":
        items.append(f"likelihood computed per covariate pattern ({mi['n_patterns']:,} patterns "
                     f"for {mi['n_cells']:,} cells; exact, less work per gradient)")  # fmt: skip
    u = f"u[{info.cluster}]" if info.cluster else ""
    model = "log λ = baseline[interval] + x·β" + (f" + {u}" if u else "")
    return [
        Block("h2", "Model and priors"),
        Block("p", f"Piecewise-exponential model: {model}; events per cell ~ "
                   "Poisson(λ × exposure)." + (
                   f" Each of the {ctx.interval_censored} events known only to lie in (L, R] "
                   "adds log(1 − exp(−∫_L^R λ)); the time before L is exposure in the cells."
                   if ctx.interval_censored else "")),
        Block("list", items=items),
        Block("table", "Priors (log-hazard scale; stated per year, converted to the run's time "
                       "unit, so a spec means the same model in any unit)", pd.DataFrame(rows)),
    ]  # fmt: skip


def _ess_rounds(attrs, smp: dict) -> str:
    """``; ESS target 1000: 4 chains gave min bulk ESS 770, so 4 more were pooled (8)``."""
    rounds = json.loads(attrs.get("bayessa_ess_rounds", "[]"))
    if not rounds:
        return ""
    first, last = rounds[0], rounds[-1]
    text = f"; ESS target {smp.get('ess', 0):g} (min bulk ESS, with R-hat ≤ 1.01)"
    if len(rounds) == 1:
        return text + f": met by the first {first['chains']} chains ({first['min_ess_bulk']:.0f})"
    return text + (
        f": the first {first['chains']} chains gave {first['min_ess_bulk']:.0f} (R-hat "
        f"{first['max_rhat']:.3f}), so chains were added with derived seeds; pooled "
        f"{last['chains']} chains: {last['min_ess_bulk']:.0f} (R-hat {last['max_rhat']:.3f})"
    )


def diagnostics_section(ctx: Context, diag) -> list[Block]:
    """The convergence gate's table and advice.

    Parameters
    ----------
    ctx : Context
        The run and the report options.
    diag : Diagnostics
        The convergence gate (:func:`bayessa.checks.diagnostics.check`).

    Returns
    -------
    list of Block
    """
    from bayessa.checks.diagnostics import check
    from bayessa.checks.elpd import loo

    diag = diag if diag is not None else check(ctx.dt)
    status = "passed" if diag.passed else "FAILED"
    rows = []
    for c in diag.checks:
        op = "≥" if c["check"] in ("bulk ESS", "tail ESS", "E-BFMI") else "≤"
        v = c["value"]
        text = f"{v:.0f}" if "ESS" in c["check"] or c["check"] == "divergences" else f"{v:.3f}"
        text = f"{v:.2f}" if c["check"] == "E-BFMI" else text
        text = f"{100 * v:.1f}%" if c["check"] == "tree depth" else text
        rows.append({"check": c["check"], "value": text if np.isfinite(v) else "n/a",
                     "threshold": f"{op} {100 * c['threshold']:g}%" if c["check"] == "tree depth"
                     else f"{op} {c['threshold']:g}",
                     "result": "✓ pass" if c["passed"] else "✗ fail",
                     "worst parameter": c["parameter"]})  # fmt: skip
    blocks = [
        Block("h2", "Diagnostics"),
        Block("p", f"Convergence gate {status} ({diag.n_samples} posterior samples)."),
        Block("table", "Convergence checks (thresholds configurable, see bayessa.checks.diagnostics)",
              pd.DataFrame(rows)),
    ]  # fmt: skip
    if diag.failures:
        blocks += [Block("h3", "What failed and what to try"), Block("list", items=diag.failures)]
    try:
        res = loo(ctx.dt, name=ctx.spec.get("name", "model"))
    except BayessaError as err:
        return [*blocks, Block("note", f"LOO not computed: {err}")]
    kt = res.k_table().reset_index()
    blocks += [
        Block("h3", "Leave-one-out cross-validation (the unit is the observation)"),
        Block("p", f"PSIS-LOO: elpd_loo {res.elpd:.1f} (SE {res.se:.1f}), p_loo {res.p:.1f}, "
                   f"{res.n_units} units. Compare runs with python -m bayessa.compare RUN RUN."),
        Block("table", "Pareto k of each unit's importance weights",
              fmt_table(kt.rename(columns={"percent": "%"}), {"%": ".1f"})),
    ]  # fmt: skip
    high = res.high_k()
    if len(high):
        shown = ", ".join(f"{u} ({k:.2f})" for u, k in high.head(10).items())
        blocks.append(Block("note", f"Units with k > {res.good_k:.2f} (LOO unreliable): {shown}"))
    return blocks


def contrast_section(ctx: Context, freq: Freq) -> tuple[list[Block], pd.DataFrame]:
    """Hazard ratios and contrasts, with the forest plot; also returns the contrast table.

    Parameters
    ----------
    ctx : Context
        The run and the report options.
    freq : Freq
        The frequentist cross-check (:func:`frequentist`).

    Returns
    -------
    blocks : list of Block
    table : pandas.DataFrame
        The contrast table (:func:`bayessa.posterior.effects.contrast_table`), for
        ``contrasts.csv``.
    """
    from bayessa.posterior.effects import contrast_table

    table = contrast_table(ctx.dt, ci_prob=ctx.opts.ci_prob,
                           mle=freq.pem.glm if freq.pem is not None else None)  # fmt: skip
    if table.empty:
        return [Block("h2", "Hazard ratios"), Block("p", "The formula has no covariates.")], table
    ax = plots.forest(table)
    shown = table[["label", "combination", "hr_median", "hr_lower", "hr_upper", "p_hr_gt_1"]]
    shown = shown.assign(label=[lab.split(" (same")[0] for lab in shown["label"]])
    shown = shown.rename(columns={"label": "contrast", "combination": "log HR =",
                                  "hr_median": "HR", "hr_lower": "lower", "hr_upper": "upper",
                                  "p_hr_gt_1": "P(HR>1)"})  # fmt: skip
    notes = sorted(
        {
            f"{v} contrasts are the {n}"
            for v, n in zip(table["variable"], table["note"], strict=True)
            if n
        }
    )
    return [
        Block("h2", "Hazard ratios"),
        _fig("forest", ax, "Hazard ratio of every contrast the formula implies: posterior median "
             f"and {ctx.opts.ci_prob:.0%} CrI; open diamonds: Poisson MLE without county effects."),
        Block("table", "Hazard ratios (HR > 1: the first level has the higher hazard)",
              fmt_table(shown, {"HR": ".2f", "lower": ".2f", "upper": ".2f", "P(HR>1)": ".2f"})),
        *[Block("note", f"Note: {n}.") for n in notes],
    ], table  # fmt: skip


def baseline_section(ctx: Context, freq: Freq) -> list[Block]:
    """The baseline hazard per interval, beside the Poisson-GLM estimate.

    Parameters
    ----------
    ctx : Context
        The run and the report options.
    freq : Freq
        The frequentist cross-check (:func:`frequentist`).

    Returns
    -------
    list of Block
    """
    info = ctx.info
    post = ctx.dt["posterior"].dataset
    b = np.exp(draws(post, "baseline"))  # (S, K) or (S, strata, K)
    ref = ", ".join(f"{v} = {info.reference[v]}" for v in info.variables) or "no covariates"
    if info.strata:
        rows = [pd.DataFrame({"stratum": s, **{k: v for k, v in summarise(b[:, i]).items()}})
                for i, s in enumerate(info.strata_levels)]  # fmt: skip
        summ, mle = pd.concat(rows), None
    else:
        summ = pd.DataFrame(summarise(b))
        mle = None
        if freq.pem is not None:  # by label: an interval without follow-up has no MLE row
            labels = [f"interval[({a:g},{c:g}]]" for a, c in itertools.pairwise(info.cuts)]
            mle = freq.pem.baseline["rate"].reindex(labels).to_numpy()
    ax = plots.baseline_hazard(info.cuts, summ, mle=mle, time_unit=ctx.unit,
                               title=f"Reference profile ({ref})")  # fmt: skip
    return [Block("h2", "Baseline hazard"), _fig("baseline_hazard", ax, (
        f"Hazard per age interval for the reference profile ({ref}), for a {info.cluster or 'cluster'} "
        "of average effect (u = 0, conditional); posterior median and 95% CrI"
        + ("" if freq.pem is None else
           f", dashed: {'the MLE under interval censoring' if isinstance(freq.pem, _IntervalMLE) else 'Poisson MLE'} "
           "of the same profile without county effects") + "."))]  # fmt: skip


def crosscheck_section(ctx: Context, freq: Freq) -> list[Block]:
    """Frequentist cross-check: log-rank tests and Poisson-GLM hazard ratios.

    Parameters
    ----------
    ctx : Context
        The run and the report options.
    freq : Freq
        The frequentist cross-check (:func:`frequentist`).

    Returns
    -------
    list of Block
    """
    blocks = [Block("h2", "Frequentist cross-check")]
    rows = []
    for v, r in freq.logrank:
        oe = "; ".join(
            f"{g}: O {o:.0f} / E {e:.1f}"
            for g, o, e in zip(r.groups, r.observed, r.expected, strict=True)
        )
        rows.append({"variable": v, "chi-square": f"{r.statistic:.2f}", "df": r.df,
                     "p": f"{r.p_value:.3g}", "observed / expected events": oe})  # fmt: skip
    if rows:
        blocks.append(Block("table", "Log-rank tests (unadjusted, one covariate at a time"
                            + (", delayed entry" if ctx.entry else "") + ")", pd.DataFrame(rows)))  # fmt: skip
    blocks += [Block("note", n) for n in freq.notes]
    if freq.pem is None:
        return blocks
    post = ctx.dt["posterior"].dataset
    mle = freq.pem.table
    rows = []
    beta = draws(post, "beta") if "beta" in post else np.zeros((1, 0))
    for j, name in enumerate(ctx.info.coef_names):
        s = summarise(beta[:, j : j + 1])
        lo, med, hi = s["lower"][0], s["median"][0], s["upper"][0]
        row = {
            "coefficient": name,
            "posterior HR [95% CrI]": f"{np.exp(med):.2f} [{np.exp(lo):.2f}, {np.exp(hi):.2f}]",
        }
        if name not in mle.index:
            rows.append({**row, "MLE HR [95% CI]": "not estimated", "flag": ""})
            continue
        m = mle.loc[name]
        flags = []
        if np.sign(m["log_hr"]) != np.sign(med):
            flags.append("sign differs")
        if not lo <= m["log_hr"] <= hi:
            flags.append("MLE outside 95% CrI")
        row["MLE HR [95% CI]"] = f"{m['hr']:.2f} [{m['hr_lower']:.2f}, {m['hr_upper']:.2f}]"
        row["flag"] = ("FLAG: " + ", ".join(flags)) if flags else ""
        rows.append(row)
    n_flag = sum(bool(r["flag"]) for r in rows)
    what = ("PEM MLE under interval censoring (bayessa.frequentist.interval_pem"
            if isinstance(freq.pem, _IntervalMLE) else "Poisson-GLM MLE (piecewise-exponential")  # fmt: skip
    blocks += [
        Block("table", f"{what}, no county effects, no priors) beside the posterior",
              pd.DataFrame(rows)),
        Block("note", f"{n_flag} of {len(rows)} coefficients flagged. The MLE omits the "
                      "county effects and the priors, so small differences are expected; a flag "
                      "(opposite sign, or the MLE outside the 95% CrI) is a reason to look closer, "
                      "e.g. at sparse cells or at prior sensitivity."),
    ]  # fmt: skip
    return blocks


def method_notes(ctx: Context) -> list[Block]:
    """Notes on the method: likelihood, priors, parameterisations.

    Parameters
    ----------
    ctx : Context
        The run and the report options.

    Returns
    -------
    list of Block
    """
    o = ctx.opts
    return [Block("h2", "How these numbers were computed"), Block("list", items=[
        f"Curves use {'all' if o.max_draws is None else f'at most {o.max_draws}'} posterior samples "
        f"(seeded thinning, seed {o.seed}); hazard ratios use every draw.",
        "Marginal over counties: E_u[S(t | u)] for a new county, u ~ N(0, county SD), by "
        "Gauss–Hermite quadrature (8–64 nodes, as the county SD requires for an error below "
        "1e-6) — not S(t | u = 0).",
        "Standardised curves average S(t) over the observed covariates of the units with the "
        "compared variable set to each level (g-computation).",
        "S(t), RMST and medians are computed per posterior draw in closed form for the "
        "piecewise-constant hazard; the median of a mixture by Newton's method within the "
        "interval that holds it.",
        "survival.csv and contrasts.csv hold every number behind the figures and tables.",
    ])]  # fmt: skip
