"""``python -m bayessa.sbc`` / ``bayessa sbc``: simulation-based calibration of a spec's model.

The library side is :mod:`bayessa.sbc` (:func:`bayessa.sbc.calibrate.run` and its summaries).
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bayessa.cli.common import (
    EXIT_FAILED_CHECK,
    EXIT_OK,
    ArgumentParser,
    argv_or_sys,
    nonnegative_int,
    positive_int,
    run_main,
)

__all__ = ["build_parser", "main"]

PROG = "python -m bayessa.sbc"


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
            "Simulation-based calibration: draw parameters from the prior, simulate the study's "
            "units, fit, and test that the ranks of the true values are uniform. Writes "
            "summary.json, ranks.csv and rank_ecdf.png into --out. A spec with competing risks "
            "([data] censored) is detected: every cause's parameters are drawn, competing-risks "
            "data simulated and every cause's model fitted (quantities '<cause>:<name>'). So is "
            "an interval-censored spec ([data] time_lower/time_upper): each simulated event "
            "time is coarsened by a contact schedule like the data's (--contact-days, "
            "--contact-jitter-days) and the fit includes the (L, R] terms."
        ),
        epilog="Exit codes: 0 done; 1 calibration failure with --strict; 2 bad arguments or spec.",
    )
    p.add_argument(
        "--model", metavar="PATH", help="model spec TOML (default models/partnership.toml)"
    )
    p.add_argument("--data", metavar="PATH", help="data whose design is kept (default: the spec's)")
    p.add_argument(
        "--sims", type=positive_int, default=200, metavar="N", help="simulations (default 200)"
    )
    p.add_argument("--seed", type=nonnegative_int, default=20251125, metavar="N")
    p.add_argument(
        "--draws", type=positive_int, default=500, metavar="N", help="draws per chain (500)"
    )
    p.add_argument(
        "--tune", type=nonnegative_int, default=500, metavar="N", help="tuning per chain (500)"
    )
    p.add_argument("--chains", type=positive_int, default=2, metavar="N", help="chains per fit (2)")
    p.add_argument(
        "--rank-draws", type=positive_int, default=100, metavar="L",
        help="thinned posterior draws per rank (100: ranks 0..100)",
    )  # fmt: skip
    p.add_argument(
        "--dropout",
        type=float,
        default=0.02,
        metavar="RATE",
        help="loss to follow-up per time unit (0.02)",
    )
    p.add_argument(
        "--study-end",
        metavar="DATE",
        help="administrative censoring date (default: last follow-up in the data)",
    )
    p.add_argument(
        "--contact-days", type=float, default=365.25, metavar="DAYS",
        help="interval censoring: a contact every DAYS days after time zero (365.25)",
    )  # fmt: skip
    p.add_argument(
        "--contact-jitter-days", type=nonnegative_int, default=60, metavar="DAYS",
        help="interval censoring: each contact moved by up to +-DAYS whole days (60)",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=positive_int, default=2, metavar="N", help="local Dask workers (2)"
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="use a running Dask scheduler, e.g. tcp://host:8786"
    )
    p.add_argument("--serial", action="store_true", help="no Dask: fit one by one in this process")
    p.add_argument("--out", metavar="DIR", help="output folder (default sbc/<spec name>_<sims>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--strict", action="store_true", help="exit 1 on a calibration failure")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the calibration; returns the exit status (0; 1 a failure with --strict; 2).

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments, without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 done; 1 a calibration failure under ``--strict``; 2 bad arguments or
        spec; 130 interrupted.
    """
    argv = argv_or_sys(argv)
    return run_main(lambda: _run(build_parser().parse_args(argv), argv), PROG)


def _run(args, argv: list[str]) -> int:
    from bayessa.model.preparation import DEFAULT_SPEC, resolve_spec
    from bayessa.posterior.datatree import versions
    from bayessa.posterior.rundir import check_output_dir
    from bayessa.sbc.calibrate import SBCConfig, run, summarize, write_outputs
    from bayessa.sbc.competing import causes_of
    from bayessa.sbc.intervals import interval_summary, is_interval

    model = str(Path(args.model or DEFAULT_SPEC).resolve())
    spec = resolve_spec(model)
    config = SBCConfig(
        model=model, data=str(Path(args.data).resolve()) if args.data else None, sims=args.sims,
        seed=args.seed, chains=args.chains, draws=args.draws, tune=args.tune,
        rank_draws=args.rank_draws, dropout=args.dropout, study_end=args.study_end,
        contact_days=args.contact_days, contact_jitter_days=args.contact_jitter_days,
    )  # fmt: skip
    config.check()
    causes = causes_of(config)  # competing risks: every cause's model, detected from the spec
    interval = is_interval(config)  # interval censoring: contacts coarsen the event times
    out = Path(args.out) if args.out else Path("sbc") / f"{spec.name}_{args.sims}"
    check_output_dir(out, overwrite=args.overwrite)
    t0 = time.perf_counter()
    done = [0]

    def progress(rec: dict) -> None:
        done[0] += 1
        if not args.quiet and (done[0] % 10 == 0 or done[0] == config.sims or rec["error"]):
            el = time.perf_counter() - t0
            note = f" (sim {rec['sim']} failed: {rec['error']})" if rec["error"] else ""
            sys.stderr.write(f"[sbc] {done[0]}/{config.sims} fits done, {el / 60:.1f} min{note}\n")
            sys.stderr.flush()

    records = run(
        config,
        scheduler=args.scheduler,
        workers=args.workers,
        serial=args.serial,
        on_record=progress,
    )
    wall = time.perf_counter() - t0
    settings = asdict(config)
    if not interval:  # the contact schedule concerns interval-censored specs only
        del settings["contact_days"], settings["contact_jitter_days"]
    summary = {
        "command": "python -m bayessa.sbc " + shlex.join(argv),
        "spec": spec.name,
        "config": settings | {"model": args.model or "models/partnership.toml", "data": args.data},
        "scheduler": args.scheduler
        or ("serial" if args.serial else f"LocalCluster({args.workers} workers x 1 thread)"),
        "wall_seconds": round(wall, 1),
        "versions": versions(),
    }
    if causes:
        summary["competing_risks"] = {"causes": list(causes), "censored": spec.data.censored}
    if interval:
        summary["interval_censoring"] = {
            "time_lower": spec.data.time_lower,
            "time_upper": spec.data.time_upper,
            "contacts": (
                f"floor(j * {config.contact_days:g}) days after time zero (j = 1, 2, ...), each "
                f"moved by a whole number of days uniform in [-{config.contact_jitter_days}, "
                f"{config.contact_jitter_days}]; the entry and the end of follow-up (loss to "
                "follow-up or the study end) are contacts too"
            ),
        } | interval_summary(records)
    summary |= summarize(records, config, causes=causes or None)

    write_outputs(out, summary, records, config, overwrite=args.overwrite)
    if not args.quiet:
        print(
            f"{summary['verdict']}\n{len(records)} simulations in {wall / 60:.1f} min; written to {out}"
        )
        if interval and "events" in summary["interval_censoring"]:
            ic = summary["interval_censoring"]
            print(
                f"  interval censoring: {ic['events']} events, all between contacts "
                f"(median R - L {ic['median_interval']:.2f} {spec.data.time_unit}; "
                f"{ic['share_before_first_contact']:.0%} before the first contact)"
            )
        for cause, c in summary.get("causes", {}).items():
            print(
                f"  {cause}: {c['n_quantities']} quantities, smallest ECDF p "
                f"{c['smallest_ecdf_p']:.3f} ({c['smallest_ecdf_p_quantity']}), "
                f"{c['n_outside_95_band']} outside their 95% band"
            )
    if args.strict and not summary["calibrated"]:
        return EXIT_FAILED_CHECK
    return EXIT_OK
