r"""``python -m bayessa.fit`` / ``bayessa fit``: fit a model spec to data and write a run directory.

Examples
--------
The default analysis of the bundled data::

    python -m bayessa.fit --out runs/partnership

Another spec, your own data, a different formula and cut points::

    python -m bayessa.fit --model models/calendar_era.toml --data my_groups.csv \
        --id group --start opened --stop ended --event closed \
        --formula "leader + (1 | county)" --cuts 0,1,2,5,10 --out runs/mine

Exit codes: 0 success; 1 diagnostics failed under ``--strict``; 2 bad data, spec or arguments.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bayessa.cli.common import (
    EXIT_FAILED_CHECK,
    EXIT_OK,
    ArgumentParser,
    argv_or_sys,
    csv_floats,
    nonnegative_int,
    positive_int,
    run_main,
)
from bayessa.errors import SpecError

__all__ = ["PHASES", "build_parser", "main"]

PROG = "python -m bayessa.fit"


def build_parser() -> ArgumentParser:
    """The command's parser.

    Returns
    -------
    ArgumentParser
        A :class:`bayessa.cli.common.ArgumentParser` (bad arguments exit 2).
    """
    p = ArgumentParser(
        prog=PROG,
        description=(
            "Fit a hierarchical piecewise-exponential survival model (PyMC, NUTS) and write a run "
            "directory: idata.nc (ArviZ DataTree), summary.csv, diagnostics.json, "
            "hazard_ratios.csv, manifest.json, spec.toml. Flags override the model spec."
        ),
        epilog=(
            "Exit codes: 0 success; 1 diagnostics failed and --strict was given; 2 bad data, "
            "spec or arguments (message on stderr). The run is written atomically: a failed or "
            "interrupted fit leaves no half-written run, and an existing run is replaced only "
            "with --overwrite."
        ),
    )
    io = p.add_argument_group("data and model")
    io.add_argument(
        "--data",
        metavar="PATH",
        help="your table, one row per unit: CSV (also .gz/.bz2/.zip/.xz), Parquet (a file, a "
        "folder of .parquet files or a glob of them), Feather, Stata .dta, SPSS .sav, Excel "
        ".xlsx. Without --model, a spec-free fit of it: nothing of "
        "the bundled analysis applies (default: the bundled analysis of the bundled data)",
    )
    io.add_argument(
        "--cells",
        metavar="FILE",
        help="fit from a cells file (python -m bayessa.cells) instead of --data; default spec: "
        "the one stored in it. The run has no units: no LOO, Kaplan-Meier curves or "
        "predictive checks",
    )
    io.add_argument(
        "--model",
        metavar="PATH",
        help="model spec TOML (default: models/partnership.toml without --data, none with it)",
    )
    io.add_argument(
        "--engine",
        choices=["auto", "memory", "dask"],
        default="auto",
        help="how --data is read: in memory, or partition by partition on a Dask cluster "
        "(Parquet data larger than memory; the fit then has the cells, not the units); "
        "auto (default): dask for Parquet data above 5 million rows",
    )
    io.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786"
    )
    io.add_argument(
        "--workers", type=positive_int, default=2, metavar="N", help="local Dask workers (2)"
    )
    io.add_argument(
        "--out", metavar="DIR", help="run directory to write (default: runs/<spec name>)"
    )
    io.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    cols = p.add_argument_group("columns (override the spec's [data] table)")
    cols.add_argument("--id", metavar="COL", help="unit id column")
    cols.add_argument("--time", metavar="COL", help="duration column (with --event)")
    cols.add_argument("--event", metavar="COL", help="event indicator column: 1/0 or true/false "
                      "(with --censor-value: the outcome, each value a cause)")  # fmt: skip
    cols.add_argument(
        "--censor-value",
        metavar="VALUE",
        help="competing risks: the --event value that marks a censored unit; every other value "
        "is a cause, and a cause-specific model is fitted for each",
    )
    cols.add_argument(
        "--start", metavar="COL", help="start date column (ISO 8601; with --stop --event)"
    )
    cols.add_argument("--stop", metavar="COL", help="stop date column (ISO 8601)")
    cols.add_argument(
        "--event-date", metavar="COL", help="event date column, blank when none (with --start)"
    )
    cols.add_argument("--censor-date", metavar="COL", help="censoring (last contact) date column")
    cols.add_argument(
        "--entry", metavar="COL", help="delayed-entry column (duration, or date with --start)"
    )
    cols.add_argument(
        "--tstart",
        metavar="COL",
        help="start of each row when a unit has several rows (covariates that change during "
        "follow-up; R's Surv(tstart, tstop, event)): a duration since the unit's time zero, or "
        "a date; needs --id, --tstop and --event",
    )
    cols.add_argument("--tstop", metavar="COL", help="end of each row (with --tstart)")
    cols.add_argument(
        "--time-lower",
        metavar="COL",
        help="interval censoring (R's Surv(L, R, type = 'interval2')): the last time the unit "
        "was seen without the event (a duration, or a date with --start); with --time-upper",
    )
    cols.add_argument(
        "--time-upper",
        metavar="COL",
        help="the first time the unit was seen with the event: equal to --time-lower for an "
        "exact event, blank if never seen with it (right-censored)",
    )
    cols.add_argument(
        "--changes",
        metavar="PATH",
        help="a table of covariate changes (unit id, time of the change, new values), merged "
        "into the one-row-per-unit data as R's tmerge(..., tdc()); needs --change-time",
    )
    cols.add_argument(
        "--change-time",
        metavar="COL",
        help="the change table's column of change times (durations since time zero) or dates",
    )
    cols.add_argument(
        "--change-id", metavar="COL", help="the change table's id column (default: --id's name)"
    )
    cols.add_argument(
        "--time-unit",
        choices=["days", "weeks", "months", "years"],
        help="unit of durations (dates become this unit); outputs stay in it (default years)",
    )
    cols.add_argument(
        "--on-invalid",
        choices=["raise", "exclude"],
        help="invalid rows: an error listing them (raise), or excluded and listed in the audit",
    )
    mod = p.add_argument_group("model (override the spec's [model] and [time] tables)")
    mod.add_argument("--formula", metavar="F", help='e.g. "leader * era + setting + (1 | county)"')
    mod.add_argument(
        "--reference",
        metavar="VAR=LEVEL",
        action="append",
        type=_var_level,
        help="reference level of a covariate (repeatable; default: its first level)",
    )
    mod.add_argument("--strata", metavar="VAR", help="a baseline hazard per level of VAR")
    mod.add_argument(
        "--time-varying",
        metavar="VAR",
        action="append",
        help="let VAR's log hazard ratio vary by interval (repeatable)",
    )
    mod.add_argument(
        "--cuts",
        metavar="LIST",
        type=csv_floats,
        help="age cut points, e.g. 0,0.5,1,2,5,14 (a last inf leaves the last interval open); "
        "default: the spec's, or chosen from the event times",
    )
    mod.add_argument(
        "--admin-censor",
        action="store_true",
        help="censor follow-up at the last cut point (otherwise follow-up beyond it is an error)",
    )
    mod.add_argument("--baseline", choices=["iid", "rw1", "rw2"], help="baseline log-hazard prior")
    mod.add_argument(
        "--cluster-parameterization",
        choices=["auto", "centered", "noncentered"],
        help="cluster effects form (auto: from events per cluster)",
    )
    mod.add_argument(
        "--baseline-parameterization",
        choices=["auto", "centered", "noncentered"],
        help="random-walk steps form (auto: from events per interval)",
    )
    smp = p.add_argument_group("sampler (override the spec's [sampler] table)")
    smp.add_argument("--draws", type=positive_int, metavar="N", help="draws per chain after tuning")
    smp.add_argument("--tune", type=nonnegative_int, metavar="N", help="tuning draws per chain")
    smp.add_argument("--chains", type=positive_int, metavar="N", help="number of chains")
    smp.add_argument("--seed", type=nonnegative_int, metavar="N", help="random seed")
    smp.add_argument(
        "--target-accept", type=float, metavar="P", help="NUTS target acceptance (0-1)"
    )
    smp.add_argument("--sampler", choices=["nutpie", "pymc", "numpyro"], help="NUTS back end")
    smp.add_argument(
        "--ess",
        type=float,
        metavar="N",
        help="sample until the minimum bulk ESS reaches N and R-hat <= 1.01, adding --chains "
        "chains at a time (0: no target; the bundled specs use 1000)",
    )
    smp.add_argument(
        "--max-chains", type=positive_int, metavar="N", help="cap on chains for --ess (16)"
    )
    smp.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when the diagnostics gate fails (R-hat, ESS, divergences, E-BFMI)",
    )
    smp.add_argument("--quiet", action="store_true", help="no progress bar or summary on stdout")
    return p


def _var_level(text: str) -> tuple[str, str]:
    """Argparse type: ``var=level``."""
    var, sep, level = text.partition("=")
    if not sep or not var.strip() or not level.strip():
        raise argparse.ArgumentTypeError(f"expected VAR=LEVEL, got {text!r}")
    return var.strip(), level.strip()


def _overrides(args) -> dict:
    """Every flag that overrides the spec, as keyword arguments of :func:`bayessa.fit`."""
    out = {
        k: getattr(args, k)
        for k in ("id", "time", "event", "start", "stop", "event_date", "censor_date", "entry")
        + ("tstart", "tstop", "time_lower", "time_upper", "changes", "change_time", "change_id")
        + ("time_unit", "on_invalid", "formula", "strata", "cuts", "baseline")
        + ("cluster_parameterization", "baseline_parameterization")
        + ("draws", "tune", "chains", "seed", "target_accept", "ess", "max_chains")
    }
    out["sampler"] = args.sampler
    out["censored"] = args.censor_value
    out["reference"] = dict(args.reference) if args.reference else None
    out["time_varying"] = args.time_varying
    out["administrative_censoring"] = True if args.admin_censor else None
    if args.event and not (args.time or args.stop or args.event_date or args.tstop):
        raise SpecError(
            "--event needs a follow-up form: --time COL, --start COL --stop COL, or "
            "--tstart COL --tstop COL (several rows per unit)"
        )
    if args.ess is not None and not args.ess >= 0:
        raise SpecError(f"--ess must be 0 (no target) or a positive ESS, got {args.ess:g}")
    if args.target_accept is not None and not 0 < args.target_accept < 1:
        raise SpecError(f"--target-accept must be between 0 and 1, got {args.target_accept}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Fit, write the run and print its summary; returns the exit status (0, 1 or 2).

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments, without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 success; 1 diagnostics failed under ``--strict``; 2 bad data, spec or
        arguments; 130 interrupted.
    """
    argv = argv_or_sys(argv)
    return run_main(lambda: _run(build_parser().parse_args(argv), argv), PROG)


def _run(args, argv: list[str]) -> int:
    from bayessa._runtime import process_seconds

    startup = process_seconds()  # the interpreter and this command's own imports
    t0 = time.perf_counter()
    from bayessa._runtime import import_nutpie
    from bayessa.api.pipeline import fit
    from bayessa.model.preparation import cells_spec, resolve_spec
    from bayessa.posterior.rundir import check_output_dir

    if args.cells and args.data:
        raise SpecError("give either --data (the units) or --cells (a cells file), not both")
    model = args.model
    if args.cells and model is None and not args.formula:
        model = cells_spec(args.cells)  # the spec the cells were written for
    spec = resolve_spec(model, data=args.data or args.cells, **_overrides(args))
    if spec.sampler.backend == "nutpie":
        import_nutpie()  # numba, nutpie: timed here, not inside the first phase that needs them
    imports = time.perf_counter() - t0
    out = Path(args.out) if args.out else Path("runs") / spec.name
    check_output_dir(out, overwrite=args.overwrite)
    result = fit(
        args.data, spec, cells=args.cells, engine=args.engine, scheduler=args.scheduler,
        workers=args.workers, progress=None if not args.quiet else False,
    )  # fmt: skip
    if hasattr(result, "causes"):  # competing risks: a fit per cause
        return _competing(result, args, argv, out)
    t1 = time.perf_counter()
    diag = result.diagnostics()  # the summary's statistics, computed once for all outputs
    timings = json.loads(result.idata.attrs.get("bayessa_timings", "{}"))
    summary = timings.get("summary_s", 0.0) + time.perf_counter() - t1
    timings.update(startup_s=startup, imports_s=imports, summary_s=summary)
    result.idata.attrs["bayessa_timings"] = json.dumps(timings)
    if not args.quiet:  # as soon as sampling ends: the run and its report are written after
        _print_summary(result, diag)
    for line in diag.failures:
        sys.stderr.write(f"warning: {line}\n")
    command = "python -m bayessa.fit " + shlex.join(argv)
    result.save(out, overwrite=args.overwrite, command=command)
    if not args.quiet:
        print(f"Run written to {out}")
        total = process_seconds()
        if total is not None:
            print(_timing_line(json.loads((out / "manifest.json").read_text())["timings"], total))
    if args.strict and not diag.passed:
        sys.stderr.write(
            f"{PROG}: diagnostics failed (--strict); the run was written to {out} for inspection\n"
        )
        return EXIT_FAILED_CHECK
    return EXIT_OK


def _competing(result, args, argv: list[str], out: Path) -> int:
    """Print each cause's summary and write the runs (competing risks)."""
    diags = result.diagnostics()
    if not args.quiet:
        for cause, res in result.results.items():
            print(f"\n=== cause '{cause}' (cause-specific hazard; other causes censored) ===")
            _print_summary(res, diags[cause])
        cif = result.cumulative_incidence()
        last = cif.groupby("cause", sort=False).tail(1)
        print("\nCumulative incidence at the end of follow-up (reference profile, "
              f"{last['cluster_effect'].iloc[0]}):")  # fmt: skip
        for row in last.itertuples():
            print(f"  {row.cause}: {row.cif:.3f} [{row.lower:.3f}, {row.upper:.3f}] at "
                  f"{row.time:g}; restricted mean time lost to {row.tau:g}: {row.rmtl:.3g}")  # fmt: skip
    for cause, d in diags.items():
        for line in d.failures:
            sys.stderr.write(f"warning: [{cause}] {line}\n")
    command = "python -m bayessa.fit " + shlex.join(argv)
    result.save(out, overwrite=args.overwrite, command=command)
    if not args.quiet:
        print(f"Runs written to {out} (one folder per cause, cif.csv, hazard_ratios.csv)")
    if args.strict and not all(d.passed for d in diags.values()):
        sys.stderr.write(f"{PROG}: diagnostics failed (--strict); written to {out}\n")
        return EXIT_FAILED_CHECK
    return EXIT_OK


#: The phases of a fit command, as ``manifest.json`` records them (seconds).
PHASES = (
    ("start-up", "startup_s"), ("imports", "imports_s"), ("data", "prepare_s"),
    ("build", "build_s"), ("compile", "compile_s"), ("sampling", "sample_s"),
    ("assemble", "assemble_s"), ("summary", "summary_s"), ("writing", "write_s"),
    ("report", "report_s"),
)  # fmt: skip


def _timing_line(timings: dict, total: float) -> str:
    """``Time: 6.1 s end to end, 1.9 s sampling (3.2x); start-up 0.4, imports 1.0, ...``."""
    parts = [
        f"{name} {timings[key]:.2f}"
        + (
            f" (importing for later steps meanwhile: {timings['prefetch_s']:.2f})"
            if key == "sample_s" and timings.get("prefetch_s")
            else ""
        )
        for name, key in PHASES
        if isinstance(timings.get(key), int | float)
    ]
    sample = timings.get("sample_s") or float("nan")
    cache = timings.get("compile_cache", "")
    return (
        f"Time: {total:.1f} s end to end, {sample:.1f} s sampling ({total / sample:.1f}x); "
        + ", ".join(parts)
        + (f" (compiled model: {cache})" if cache else "")
    )


def _smooth_line(column: str, curve) -> str:
    """One line per smooth: its HR at the ends of the range and at the quartiles, vs reference."""
    import numpy as np

    ref = float(curve["reference"].iloc[0])
    picks = curve.iloc[np.unique(np.linspace(0, len(curve) - 1, 5).round().astype(int))]
    parts = ", ".join(
        f"{x:.4g}: {m:.2f} [{lo:.2f}, {hi:.2f}]"
        for x, m, lo, hi in picks[["x", "hr_median", "hr_lower", "hr_upper"]].itertuples(
            index=False
        )
    )
    return (
        f"s({column}) -- hazard ratio against {column} = {ref:g} (95% interval) at {parts}; "
        "the whole curve is in smooths.csv and the report"
    )


def _print_summary(result, diag) -> None:
    """Audit, notes, model, hazard ratios and the gate; a failed gate is said first and last."""
    import pandas as pd

    from bayessa.posterior.datatree import NO_UNITS

    status = "passed" if diag.passed else "FAILED"
    gate = (
        f"Diagnostics {status}: max R-hat {diag.max_rhat:.3f}, min bulk ESS {diag.min_ess_bulk:.0f}, "
        f"min tail ESS {diag.min_ess_tail:.0f}, divergences {diag.divergences}, min E-BFMI {diag.min_bfmi:.2f}"
    )
    if not diag.passed:
        print(
            f"{gate}\nThe estimates below are UNRELIABLE: the sampler did not converge (see the warnings).\n"
        )
    audit = result.prepared.audit
    print(str(audit))
    for note in result.prepared.pieces.notes:
        print(f"  note: {note}")
    info = result.info
    print(
        f"Model '{result.spec.name}': {info.n_cells} cells, {info.n_intervals} intervals, "
        f"{len(info.coef_names)} effects"
        + (
            f", {info.n_clusters} {info.cluster} effects ({info.parameterization}: {info.parameterization_reason})"
            if info.cluster
            else ""
        )
    )
    title = "Hazard ratios (posterior median, 95% interval, P(HR > 1))"
    if not diag.passed:
        title += " -- UNRELIABLE, diagnostics failed"
    with pd.option_context("display.width", 120, "display.precision", 3):
        print(f"\n{title}:")
        hr = result.hazard_ratios()
        cols = ["hr_median", "hr_lower", "hr_upper", "p_hr_gt_1", *(["per"] if "per" in hr else [])]
        print(hr[cols].to_string())
        for column, curve in result.smooths().items():
            print(_smooth_line(column, curve))
        by_interval = result.hazard_ratios(by_interval=True)
        if not by_interval.empty:
            print(
                "\nHazard ratio by age interval (time-varying effects; the above is their average):"
            )
            cols = ["coef", "interval", "hr_median", "hr_lower", "hr_upper", "p_hr_gt_1"]
            print(by_interval[cols].to_string(index=False))
    print(f"\n{gate}")
    if result.prepared.data is None:
        print(f"Fitted from cells: {NO_UNITS}.")
    rounds = json.loads(result.idata.attrs.get("bayessa_ess_rounds", "[]"))
    if len(rounds) > 1:
        first, last = rounds[0], rounds[-1]
        met = last["min_ess_bulk"] >= result.spec.sampler.ess and last["max_rhat"] <= 1.01
        print(
            f"ESS target {result.spec.sampler.ess:g}: {first['chains']} chains gave min bulk ESS "
            f"{first['min_ess_bulk']:.0f} ({first['parameter']}), max R-hat "
            f"{first['max_rhat']:.3f}; pooled {last['chains']} chains: {last['min_ess_bulk']:.0f}, "
            f"{last['max_rhat']:.3f}" + ("" if met else " -- not met within --max-chains")
        )
