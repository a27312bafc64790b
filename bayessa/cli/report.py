"""``python -m bayessa.report`` / ``bayessa report``: rebuild the report of a saved run.

The library side is :mod:`bayessa.report.build`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bayessa.cli.common import (
    EXIT_OK,
    ArgumentParser,
    argv_or_sys,
    csv_floats,
    positive_int,
    run_main,
)

__all__ = ["build_parser", "main"]

PROG = "python -m bayessa.report"


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
            "Rebuild the report of a saved run: report.html (self-contained), report.md, "
            "contrasts.csv, survival.csv and the figures (report-*.png), written into the run "
            "directory."
        ),
        epilog="Exit codes: 0 success; 2 a folder that is not a run, or bad options.",
    )
    p.add_argument("run", metavar="RUN_DIR", help="run directory (from bayessa.fit)")
    p.add_argument("--out", metavar="DIR", help="write here instead of the run directory")
    p.add_argument(
        "--times",
        type=csv_floats,
        metavar="LIST",
        help="times for survival probabilities and differences (default 1,2,5)",
    )
    p.add_argument("--horizon", type=float, metavar="T", help="RMST horizon (default: last cut)")
    p.add_argument("--focus", metavar="VAR", help="covariate the curves compare (default: first)")
    p.add_argument(
        "--max-draws",
        type=positive_int,
        metavar="N",
        help="posterior samples used for curves (default 500, seeded thinning)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the thinning")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild a run's report; returns the exit status (0, or 2).

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments, without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 success; 2 a folder that is not a run, or bad options; 130 interrupted.
    """
    return run_main(lambda: _run(build_parser().parse_args(argv_or_sys(argv))), PROG)


def _run(args) -> int:
    from bayessa.api.result import load
    from bayessa.report.build import ReportOptions, write_report

    result = load(args.run)
    opts = ReportOptions(seed=args.seed)
    if args.times:
        opts = replace(opts, times=tuple(args.times))
    if args.max_draws:
        opts = replace(opts, max_draws=args.max_draws)
    opts = replace(opts, horizon=args.horizon, focus=args.focus)
    t = time.perf_counter()
    files = write_report(result, args.out or args.run, options=opts)
    print(f"Report written to {Path(args.out or args.run) / 'report.html'} "
          f"({len(files)} files, {time.perf_counter() - t:.1f} s)")  # fmt: skip
    return EXIT_OK
