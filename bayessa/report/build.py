"""The run report: ``report.html``, ``report.md``, ``contrasts.csv``, ``survival.csv``.

Every fit writes it into its run directory (:meth:`bayessa.api.result.FitResult.save`); it is
rebuilt from a saved run with ``python -m bayessa.report RUN_DIR``. It reads only the DataTree,
so it works on fresh, loaded and fake runs alike. Contents: the data audit; the model and
priors; the diagnostics gate and PSIS-LOO; a forest plot of every hazard-ratio contrast;
standardised survival curves and their differences at fixed times, RMST and medians; posterior
curves over Kaplan--Meier per leader type and era; the baseline hazard; county effects; and the
frequentist cross-check (log-rank tests, Poisson MLE beside the posterior, flagged where they
disagree). ``contrasts.csv`` and ``survival.csv`` hold the numbers behind the figures.

Curves use at most ``max_draws`` (500) posterior samples, chosen by a seeded generator
(:func:`bayessa.posterior.predict.thin`), which keeps the report under about two seconds on the bundled
data; hazard ratios use every draw.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from bayessa.errors import SpecError
from bayessa.posterior.rundir import open_tree
from bayessa.report.render import Block, to_html, to_markdown

__all__ = [
    "default_times",
    "REPORT_FILES",
    "Report",
    "ReportOptions",
    "ReportWarning",
    "build_report",
    "write_report",
]

PROG = "python -m bayessa.report"
REPORT_FILES = ("report.html", "report.md", "contrasts.csv", "survival.csv")
#: Figures are written beside the report as ``report-<name>.png`` (linked from report.md; the
#: HTML embeds them), in the run directory itself so a run stays a flat folder of files.
FIGURE_PREFIX = "report-"


class ReportWarning(UserWarning):
    """The report of a run could not be written (the run itself was saved)."""


@dataclass(frozen=True)
class ReportOptions:
    r"""What the report computes.

    Parameters
    ----------
    times : tuple of float, optional
        Times at which survival probabilities and their differences are tabulated; default:
        :func:`default_times` (1, 2 and 5 years where the follow-up reaches them).
    horizon : float, optional
        RMST horizon :math:`\tau`; default: the end of the modelled follow-up (last cut).
    focus : str, optional
        The covariate whose levels the curves compare; default: the formula's first.
    max_draws : int or None, default 500
        Posterior samples used for curves (seeded thinning); ``None``: all.
    seed : int, default 0
        Seed of the thinning.
    ci_prob : float, default 0.95
        Probability of the equal-tailed credible intervals.
    grid_points : int, default 101
        Points of the time grid of the curves.
    """

    times: tuple[float, ...] | None = None
    horizon: float | None = None
    focus: str | None = None
    max_draws: int | None = 500
    seed: int = 0
    ci_prob: float = 0.95
    grid_points: int = 101


@dataclass
class Report:
    """A built report: blocks to render and the tables behind them.

    Parameters
    ----------
    title, subtitle : str
        The page's heading and the line under it.
    blocks : list of Block
        The content, in order.
    contrasts : pandas.DataFrame
        The hazard-ratio contrasts (``contrasts.csv``).
    survival : pandas.DataFrame
        Survival probabilities, differences, RMST and medians (``survival.csv``).
    timings : dict of str to float, optional
        Seconds spent per section (e.g. ``"gate_s"``) and in total (``"total_s"``).
    """

    title: str
    subtitle: str
    blocks: list[Block]
    contrasts: pd.DataFrame
    survival: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    def html(self) -> str:
        """The report as one self-contained HTML page (figures inlined).

        Returns
        -------
        str
        """
        return to_html(self.title, self.subtitle, self.blocks)

    def markdown(self) -> str:
        """The report as Markdown (figures as ``report-*.png`` links).

        Returns
        -------
        str
        """
        return to_markdown(self.title, self.subtitle, self.blocks, figure_prefix=FIGURE_PREFIX)


def build_report(run, options: ReportOptions | None = None, *, diagnostics=None) -> Report:
    """Compute everything in the report from a run (FitResult, DataTree or run directory).

    Parameters
    ----------
    run : FitResult, xarray.DataTree or path
    options : ReportOptions, optional
    diagnostics : bayessa.checks.diagnostics.Diagnostics, optional
        Reuse an already computed gate (the fit has one).

    Returns
    -------
    Report

    Raises
    ------
    SpecError
        ``focus`` is not a covariate of the formula, or ``horizon`` or ``times`` lie outside the
        modelled follow-up.
    """
    from bayessa.posterior.predict import DesignInfo, row_frame, unit_frame
    from bayessa.report import sections as sec
    from bayessa.report import terms
    from bayessa.report.survival import survival_section

    opts = options or ReportOptions()
    dt = open_tree(run)
    t0 = time.perf_counter()
    info = DesignInfo.from_datatree(dt)
    if opts.focus is not None and opts.focus not in info.categorical:
        what = "a numeric covariate" if opts.focus in info.variables else "not a covariate"
        raise SpecError(
            f"--focus '{opts.focus}' is {what}; survival curves compare the levels of a "
            f"categorical covariate of the formula: {list(info.categorical)}"
        )
    if opts.horizon is not None and not 0 < opts.horizon <= info.last_cut:
        raise SpecError(
            f"--horizon must lie in (0, {info.last_cut:g}], the modelled follow-up; "
            f"got {opts.horizon:g}"
        )
    if opts.times is None:
        opts = replace(opts, times=default_times(info.last_cut, info.time_unit))
    if bad := [t for t in opts.times if not 0 < t <= info.last_cut]:
        raise SpecError(
            f"--times must lie in (0, {info.last_cut:g}], the modelled follow-up; got {bad}"
        )
    spec = tomllib.loads(dt.attrs["bayessa_spec"])
    timings: dict[str, float] = {}

    def timed(name, fn, *args, **kw):
        t = time.perf_counter()
        out = fn(*args, **kw)
        timings[name] = time.perf_counter() - t
        return out

    if "bayessa_units" in dt.attrs:  # fitted from cells: what needs the units is a note
        from bayessa.report.cells_only import cells_only_sections

        blocks, table, surv = cells_only_sections(dt, info, spec, opts, diagnostics, timed)
        return _report(dt, spec, info, blocks, table, surv, timings, t0)
    units = unit_frame(dt)
    ctx = sec.Context(dt=dt, info=info, spec=spec, units=units, opts=opts, rows=row_frame(dt))
    freq = timed("frequentist_s", sec.frequentist, ctx)
    if diagnostics is None:
        from bayessa.checks.diagnostics import check

        diagnostics = timed("gate_s", check, dt)
    blocks = [Block("p", sec.headline(ctx, diagnostics))]
    blocks += timed("audit_s", sec.audit_section, ctx)
    blocks += sec.model_section(ctx)
    blocks += timed("diagnostics_s", sec.diagnostics_section, ctx, diagnostics)
    hr_blocks, table = timed("contrasts_s", sec.contrast_section, ctx, freq)
    hr_blocks += timed("time_varying_s", terms.time_varying_section, ctx)
    hr_blocks += timed("smooths_s", terms.smooth_section, ctx)
    surv_blocks, surv = timed("survival_s", survival_section, ctx, freq)
    blocks += hr_blocks + surv_blocks
    blocks += timed("baseline_s", sec.baseline_section, ctx, freq)
    blocks += timed("clusters_s", terms.cluster_section, ctx)
    blocks += timed("crosscheck_s", sec.crosscheck_section, ctx, freq)
    blocks += sec.method_notes(ctx)
    return _report(dt, spec, info, blocks, table, surv, timings, t0)


def _report(dt, spec: dict, info, blocks, table, surv, timings: dict, t0: float) -> Report:
    """The Report of built blocks: figure timings, total time, title and subtitle."""
    for b in blocks:  # each figure's rendering, inside its section's time
        if b.kind == "figure":
            timings[f"figure_{b.name}_s"] = b.seconds
    timings["total_s"] = time.perf_counter() - t0
    name = spec.get("name", "model")
    subtitle = (
        f"{spec.get('description', '')} — formula {info.formula}; "
        f"bayessa {json.loads(dt.attrs.get('bayessa_versions', '{}')).get('bayessa', '?')}, "
        f"seed {dt.attrs.get('bayessa_seed', '?')}, data {str(dt.attrs.get('bayessa_data_hash', ''))[:12]}"
    )
    return Report(f"bayessa report: {name}", subtitle, blocks, table, surv, timings)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file renamed into place, with the usual permissions (umask)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(
    run,
    out_dir: str | Path | None = None,
    *,
    options: ReportOptions | None = None,
    diagnostics=None,
    timings: dict | None = None,
) -> dict[str, Path]:
    """Build the report of a run and write it.

    Parameters
    ----------
    run : FitResult, xarray.DataTree or run directory
    out_dir : path, optional
        Where to write; default: the run directory (required when ``run`` is not a path).
    options : ReportOptions, optional
        What to compute (default :class:`ReportOptions`).
    diagnostics : bayessa.checks.diagnostics.Diagnostics, optional
        Reuse an already computed gate; default: computed from the run.
    timings : dict, optional
        Filled with the seconds of each section (``survival_s``, ...) and of rendering each
        figure (``figure_<name>_s``).

    Returns
    -------
    dict
        File name -> path: ``report.html``, ``report.md``, ``contrasts.csv``, ``survival.csv``
        and the figures (``report-<name>.png``, linked from ``report.md``). Each file is
        written atomically (a temporary file renamed into place).
    """
    if out_dir is None:
        if not isinstance(run, str | Path):
            raise SpecError(
                "write_report needs out_dir when given a result rather than a run directory"
            )
        out_dir = run
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rep = build_report(run, options, diagnostics=diagnostics)
    if timings is not None:
        timings.update({k: round(v, 3) for k, v in rep.timings.items()})
    written = {}
    for b in (b for b in rep.blocks if b.kind == "figure"):
        name = f"{FIGURE_PREFIX}{b.name}.png"
        _atomic_write(out / name, b.png)
        written[name] = out / name
    for name, text in (
        ("report.html", rep.html()),
        ("report.md", rep.markdown()),
        ("contrasts.csv", rep.contrasts.to_csv(index=False)),
        ("survival.csv", rep.survival.to_csv(index=False)),
    ):
        _atomic_write(out / name, text.encode("utf-8"))
        written[name] = out / name
    return written


def default_times(end: float, time_unit: str) -> tuple[float, ...]:
    """Report times inside the follow-up ``(0, end]``: 1, 2 and 5 years, or its quarters.

    The 1-, 2- and 5-year survival of clinical reports, in the run's unit (365.25 days a year),
    where at least two of them lie inside the follow-up; otherwise a quarter, a half and three
    quarters of it, rounded to two significant digits. A default never lies outside the
    follow-up, so the report is never skipped because of it.

    Parameters
    ----------
    end : float
        End of the modelled follow-up (:attr:`bayessa.posterior.predict.DesignInfo.last_cut`).
    time_unit : str
        The run's time unit.

    Returns
    -------
    tuple of float
    """
    from bayessa.model.cuts import round_significant
    from bayessa.model.units import units_per_year

    years = tuple(y * units_per_year(time_unit) for y in (1.0, 2.0, 5.0))
    inside = tuple(t for t in years if t <= end)
    if len(inside) >= 2:
        return inside
    quarters = (min(round_significant(end * q), end) for q in (0.25, 0.5, 0.75))
    return tuple(dict.fromkeys(quarters))
