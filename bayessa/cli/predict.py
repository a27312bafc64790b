"""``python -m bayessa.predict`` / ``bayessa predict``: predictions of a run for a table of new units.

The library side is :func:`bayessa.posterior.newdata.predict_newdata` (``result.predict``).
"""

from __future__ import annotations

from collections.abc import Sequence
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

PROG = "python -m bayessa.predict"


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
            "Predict survival, cumulative hazard and hazard (posterior median and interval) for "
            "each row of a table of new units at the given times, with each row's RMST and "
            "median. A row naming a cluster seen in the data is conditional on its effect; an "
            "unseen or missing one is marginal over the cluster distribution (column "
            "cluster_effect)."
        ),
        epilog="Exit codes: 0 written; 2 a folder that is not a run, bad new data or times.",
    )
    p.add_argument("run", metavar="RUN_DIR", help="run directory (from bayessa.fit)")
    p.add_argument("--newdata", metavar="PATH", required=True, help="table of new units")
    p.add_argument(
        "--id",
        metavar="COL",
        help="covariate paths: rows with the same id are one new unit (with --tstart)",
    )
    p.add_argument(
        "--tstart",
        metavar="COL",
        help="time from which each row's covariates hold (0 for a unit's first row)",
    )
    p.add_argument("--times", type=csv_floats, metavar="LIST", required=True,
                   help="times in the run's unit, e.g. 30,90,365")  # fmt: skip
    p.add_argument("--horizon", type=float, metavar="T", help="RMST horizon (default: last cut)")
    p.add_argument("--out", metavar="FILE.csv", help="write the table here (default: stdout)")
    p.add_argument("--max-draws", type=positive_int, default=1000, metavar="N",
                   help="posterior samples used (default 1000, seeded thinning)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the thinning")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Predict for new units and write the table.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 written, 2 bad input (130 interrupted).
    """
    return run_main(lambda: _run(build_parser().parse_args(argv_or_sys(argv))), PROG)


def _run(args) -> int:
    from bayessa.data.read import read_table
    from bayessa.posterior.newdata import predict_newdata
    from bayessa.posterior.rundir import open_tree

    tree = open_tree(args.run)
    newdata, _ = read_table(args.newdata)
    table = predict_newdata(
        tree, newdata, times=args.times, horizon=args.horizon, max_draws=args.max_draws,
        seed=args.seed, id=args.id, tstart=args.tstart,
    )  # fmt: skip
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(f".{out.name}.tmp")
        table.to_csv(tmp, index=False)
        tmp.replace(out)
        units = newdata[args.id].nunique() if args.id else len(newdata)
        print(f"{len(table)} rows ({units} units x {len(args.times)} times) written to {out}")
    else:
        print(table.to_csv(index=False), end="")
    return EXIT_OK
