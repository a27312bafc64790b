"""``python -m bayessa.simulate`` / ``bayessa simulate``: simulate survival data sets.

Today one data set: ``sa-groups``, the synthetic Schizophrenics Anonymous groups
(:func:`bayessa.simulate.sa_groups.make_sa_groups`). The general simulator is
:func:`bayessa.simulate.pem.simulate_pem` (Python only: its covariate and effect specification is
a mapping, not flags).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bayessa.cli.common import (
    EXIT_OK,
    ArgumentParser,
    argv_or_sys,
    nonnegative_int,
    positive_int,
    run_main,
)

__all__ = ["build_parser", "main"]

PROG = "python -m bayessa.simulate"


def build_parser() -> ArgumentParser:
    """The command's parser (one sub-command per data set).

    Returns
    -------
    ArgumentParser
        A :class:`bayessa.cli.common.ArgumentParser` with one sub-command per data set
        (``sa-groups``).
    """
    parser = ArgumentParser(
        prog=PROG,
        description="Simulate survival data sets.",
        epilog="Exit codes: 0 written; 2 bad arguments or an output that cannot be written.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    sa = sub.add_parser("sa-groups", help="the synthetic Schizophrenics Anonymous groups data set")
    sa.add_argument("--seed", type=nonnegative_int, required=True, help="non-negative integer seed")
    sa.add_argument(
        "--out", type=Path, required=True,
        help="CSV file to write; with --partitions, a new folder for the Parquet dataset",
    )  # fmt: skip
    sa.add_argument(
        "--n-groups", "--n", type=positive_int, default=None, help="number of groups (default 360)"
    )
    sa.add_argument(
        "--partitions",
        type=positive_int,
        default=None,
        help="write a Parquet dataset of N files, one simulated at a time (for data sets larger "
        "than memory)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Simulate and write a data set; returns the exit status (0, or 2).

    ``python -m bayessa.simulate sa-groups --seed N --out data/sa_groups.csv`` writes the table
    and, beside it, ``<stem>_truth.json``.

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments, without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 written; 2 bad arguments or an output that cannot be written;
        130 interrupted.
    """
    return run_main(lambda: _run(build_parser().parse_args(argv_or_sys(argv))), PROG)


def _run(args) -> int:
    from bayessa.simulate.sa_groups import N_GROUPS, write_sa_groups, write_sa_groups_dataset

    n_groups = N_GROUPS if args.n_groups is None else args.n_groups
    if args.partitions is not None:
        truth_path, parts = write_sa_groups_dataset(
            args.out, seed=args.seed, n_groups=n_groups, partitions=args.partitions
        )
        print(f"wrote {n_groups} groups in {len(parts)} Parquet files to {args.out} "
              f"and the truth to {truth_path}")  # fmt: skip
        return EXIT_OK
    truth_path = write_sa_groups(args.out, seed=args.seed, n_groups=n_groups)
    print(f"wrote {n_groups} groups to {args.out} and the truth to {truth_path}")
    return EXIT_OK
