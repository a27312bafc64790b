"""``python -m bayessa.compare`` / ``bayessa compare``: PSIS-LOO of runs and their comparison.

The library side is :mod:`bayessa.checks.elpd`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bayessa.cli.common import EXIT_OK, ArgumentParser, argv_or_sys, run_main

__all__ = ["build_parser", "main"]

PROG = "python -m bayessa.compare"


def _names(paths: Sequence[str]) -> list[str]:
    """Run names: folder names, or the paths as given where folder names repeat."""
    base = [Path(p).name or str(p) for p in paths]
    return [str(p) if base.count(b) > 1 else b for p, b in zip(paths, base, strict=True)]


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
            "Compare fitted runs by PSIS-LOO with the unit (group) as the observation: print "
            "each run's elpd_loo and Pareto-k summary, then ArviZ's comparison table."
        ),
        epilog="Exit codes: 0 success; 2 a folder that is not a run, a run without the "
        "per-unit log-likelihood, or runs of different units.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories (from bayessa.fit)")
    p.add_argument(
        "--method",
        choices=["stacking", "BB-pseudo-BMA", "pseudo-BMA"],
        default="stacking",
        help="how model weights are computed (default: stacking)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Print LOO of each run and their comparison; returns the exit status (0, or 2).

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments, without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 success; 2 a folder that is not a run, a run without the per-unit
        log-likelihood, runs of different units or bad arguments; 130 interrupted.
    """
    return run_main(lambda: _run(build_parser().parse_args(argv_or_sys(argv))), PROG)


def _run(args) -> int:
    from bayessa.checks.elpd import compare, loo, same_units
    from bayessa.posterior.rundir import open_tree

    names = _names(args.runs)
    trees = {n: open_tree(p) for n, p in zip(names, args.runs, strict=True)}
    summaries = {n: loo(dt, name=n) for n, dt in trees.items()}
    if len(trees) > 1:
        same_units(trees)
    for s in summaries.values():
        print(s.summary())
        print()
    if len(trees) > 1:
        table = compare(summaries, method=args.method)
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(f"Model comparison (PSIS-LOO over units, weights by {args.method}):")
            print(table.to_string())
        print(
            "\nelpd_diff: elpd_loo minus that of the best run; dse: its standard error; "
            "p_worse: P(run is worse than the best), normal approximation."
        )
    return EXIT_OK
