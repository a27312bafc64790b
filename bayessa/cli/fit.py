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

__all__ = ["build_parser", "main"]

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
        help="CSV or Parquet, one row per unit (default: the spec's data, i.e. the bundled data/sa_groups.csv)",
    )
    io.add_argument(
        "--model", metavar="PATH", help="model spec TOML (default: models/partnership.toml)"
    )
    io.add_argument(
        "--out", metavar="DIR", help="run directory to write (default: runs/<spec name>)"
    )
    io.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    cols = p.add_argument_group("columns (override the spec's [data] table)")
    cols.add_argument("--id", metavar="COL", help="unit id column")
    cols.add_argument("--time", metavar="COL", help="duration column (with --event)")
    cols.add_argument("--event", metavar="COL", help="event indicator column: 1/0 or true/false")
    cols.add_argument(
        "--start", metavar="COL", help="start date column (ISO 8601; with --stop --event)"
    )
    cols.add_argument("--stop", metavar="COL", help="stop date column (ISO 8601)")
    cols.add_argument(
        "--entry", metavar="COL", help="delayed-entry column (duration, or date with --start)"
    )
    mod = p.add_argument_group("model (override the spec's [model] and [time] tables)")
    mod.add_argument("--formula", metavar="F", help='e.g. "leader * era + setting + (1 | county)"')
    mod.add_argument(
        "--cuts",
        metavar="LIST",
        type=csv_floats,
        help="age cut points, e.g. 0,0.5,1,2,5,14 (a last inf leaves the last interval open)",
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
        "--strict",
        action="store_true",
        help="exit 1 when the diagnostics gate fails (R-hat, ESS, divergences, E-BFMI)",
    )
    smp.add_argument("--quiet", action="store_true", help="no progress bar or summary on stdout")
    return p


def _data_overrides(args) -> dict[str, str | None]:
    """Column flags -> [data] fields. A follow-up form given on the command line replaces the spec's."""
    d: dict[str, str | None] = {}
    if args.time or args.stop:
        # a new follow-up form: clear every follow-up column of the spec first
        d.update(time=None, stop=None, event=None, start=None, event_date=None, censor_date=None)
    for k in ("id", "time", "event", "start", "stop", "entry"):
        v = getattr(args, k)
        if v is not None:
            d[k] = v
    if args.event and not (args.time or args.stop):
        raise SpecError("--event needs a follow-up form: --time COL, or --start COL --stop COL")
    return d


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
    from bayessa.api.pipeline import fit
    from bayessa.model.preparation import resolve_spec
    from bayessa.posterior.rundir import check_output_dir

    if args.target_accept is not None and not 0 < args.target_accept < 1:
        raise SpecError(f"--target-accept must be between 0 and 1, got {args.target_accept}")
    spec = resolve_spec(args.model)
    spec = _apply_data_overrides(spec, _data_overrides(args))
    out = Path(args.out) if args.out else Path("runs") / spec.name
    check_output_dir(out, overwrite=args.overwrite)
    t0 = time.perf_counter()
    result = fit(
        args.data, spec,
        progress=None if not args.quiet else False,
        draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed,
        target_accept=args.target_accept, sampler=args.sampler, formula=args.formula,
        cuts=args.cuts, administrative_censoring=True if args.admin_censor else None,
        baseline=args.baseline, cluster_parameterization=args.cluster_parameterization,
    )  # fmt: skip
    command = "python -m bayessa.fit " + shlex.join(argv)
    result.save(out, overwrite=args.overwrite, command=command)
    diag = result.diagnostics()
    if not args.quiet:
        _print_summary(result, diag, out, time.perf_counter() - t0)
    for line in diag.failures:
        sys.stderr.write(f"warning: {line}\n")
    if args.strict and not diag.passed:
        sys.stderr.write(
            f"{PROG}: diagnostics failed (--strict); the run was written to {out} for inspection\n"
        )
        return EXIT_FAILED_CHECK
    return EXIT_OK


def _apply_data_overrides(spec, changes: dict):
    from bayessa.model.spec import CLEAR

    if not changes:
        return spec
    return spec.with_overrides(
        **{f"data__{k}": CLEAR if v is None else v for k, v in changes.items()}
    )


def _print_summary(result, diag, out: Path, seconds: float) -> None:
    import pandas as pd

    audit = result.prepared.data.audit
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
    with pd.option_context("display.width", 120, "display.precision", 3):
        print("\nHazard ratios (posterior median, 95% interval, P(HR > 1)):")
        print(
            result.hazard_ratios()[["hr_median", "hr_lower", "hr_upper", "p_hr_gt_1"]].to_string()
        )
    status = "passed" if diag.passed else "FAILED"
    print(
        f"\nDiagnostics {status}: max R-hat {diag.max_rhat:.3f}, min bulk ESS {diag.min_ess_bulk:.0f}, "
        f"min tail ESS {diag.min_ess_tail:.0f}, divergences {diag.divergences}, min E-BFMI {diag.min_bfmi:.2f}"
    )
    print(f"Run written to {out} ({seconds:.1f} s)")
