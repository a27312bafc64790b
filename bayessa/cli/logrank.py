r"""``python -m bayessa.logrank`` / ``bayessa logrank``: log-rank family tests on a table of units.

    python -m bayessa.logrank --data groups.csv --time years --event closed --group leader \
        [--strata setting] [--rho 1 --gamma 0] [--entry entry] [--trend]

Prints the per-group table and the test (as R's ``survdiff``); with ``--trend`` also the test for
trend across the group levels in sorted order (scores 1..k). Exit status 0 on success, 2 on bad
input (unreadable file, unknown column, invalid values, bad arguments) with a message on stderr.
The library functions are :func:`bayessa.frequentist.rank_tests` and
:func:`bayessa.frequentist.logrank_trend`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bayessa.cli.common import EXIT_OK, ArgumentParser, argv_or_sys, run_main
from bayessa.errors import SpecError

__all__ = ["build_parser", "main"]

PROG = "python -m bayessa.logrank"


def build_parser() -> ArgumentParser:
    """The command's parser.

    Returns
    -------
    ArgumentParser
        A :class:`bayessa.cli.common.ArgumentParser` (bad arguments exit 2).
    """
    p = ArgumentParser(
        prog=PROG,
        description="Log-rank, Peto-Peto / Fleming-Harrington and trend tests on a CSV or "
        "Parquet file (one row per unit); the numbers match R's survival::survdiff.",
        epilog="Problems in the data name the offending data rows, counted from 1 (the header "
        "is not counted).",
    )
    p.add_argument("--data", required=True, help="CSV (optionally compressed) or Parquet file")
    p.add_argument(
        "--model",
        metavar="SPEC",
        help="read the follow-up as the model spec's [data] table says (e.g. dates: "
        "founded/closed/last_contact in models/partnership.toml), through bayessa's data layer, "
        "instead of --time/--event",
    )
    p.add_argument("--time", help="column with the exit time (>= 0)")
    p.add_argument("--event", help="column with the event indicator (1/0)")
    p.add_argument("--group", required=True, help="column with the groups to compare")
    p.add_argument("--strata", help="column to stratify by (stratified test)")
    p.add_argument(
        "--entry",
        help="column with the delayed-entry time (entry < time); with several rows per unit "
        "(counting-process rows: --entry tstart --time tstop) each unit is in the risk set of "
        "its current group (as coxph's score test)",
    )
    p.add_argument("--rho", type=float, default=0.0, help="weight S(t-)^rho (1 = Peto-Peto)")
    p.add_argument("--gamma", type=float, default=0.0, help="weight (1 - S(t-))^gamma")
    p.add_argument(
        "--trend",
        action="store_true",
        help="also test for trend across the group levels in sorted order (scores 1..k)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the test(s); returns the exit status (0 ok, 2 bad input or arguments).

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments, without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 success; 2 bad input or arguments; 130 interrupted.
    """
    return run_main(lambda: _run(build_parser().parse_args(argv_or_sys(argv))), PROG)


def _run(args) -> int:
    if args.model is not None:
        if args.time or args.event:
            raise SpecError(
                "give either --model (follow-up columns from the spec) or --time and --event, not both"
            )
        df, kw = _read_with_spec(args)
    else:
        if not (args.time and args.event):
            raise SpecError(
                "name the follow-up: --time COL --event COL, or --model SPEC (see --help)"
            )
        from bayessa.data.read import read_table

        df, _ = read_table(args.data)
        df = df.copy()
        df.index = pd.RangeIndex(1, len(df) + 1)  # problems name data rows counted from 1
        kw = dict(time=args.time, event=args.event, group=args.group, strata=args.strata)
        kw |= dict(rho=args.rho, gamma=args.gamma, entry=args.entry)
    return _report(args, df, kw)


def _read_with_spec(args) -> tuple[pd.DataFrame, dict]:
    """Units read and validated by bayessa's data layer with the spec's follow-up columns."""
    from bayessa.data import read_data
    from bayessa.model.spec import load_spec

    d = load_spec(args.model).data
    covs = tuple(dict.fromkeys(c for c in (args.group, args.strata) if c))
    data = read_data(
        args.data, d.columns(covs), time_unit=d.time_unit, on_invalid=d.on_invalid,
        changes=d.changes.get("path"), change_time=d.changes.get("time"),
        change_id=d.changes.get("id"),
    )  # fmt: skip
    # several rows per unit (tstart/tstop, or a change table): each row is at risk from its
    # start, so a unit counts in the risk set of its current group
    f = data.frame.rename(columns={"exit": "time"})
    f.index = pd.RangeIndex(1, len(f) + 1)
    kw = dict(time="time", event="event", group=args.group, strata=args.strata)
    delayed = (f["entry"] > 0).any() or data.has_paths
    kw |= dict(rho=args.rho, gamma=args.gamma, entry="entry" if delayed else None)
    print(str(data.audit) + "\n")
    return f, kw


def _report(args, df: pd.DataFrame, kw: dict) -> int:
    from bayessa.frequentist import logrank, logrank_trend

    result = logrank(df, **kw)
    trend = logrank_trend(df, **kw) if args.trend else None
    print(f"Data: {args.data} ({len(df)} rows)\n")
    print(result.summary())
    if trend is not None:
        print()
        print(trend.title)
        scores = ", ".join(f"{g}={s:g}" for g, s in zip(trend.groups, trend.scores, strict=True))
        print(f" scores: {scores}")
        print(f" Chisq= {trend.statistic:.4g}  on 1 degree of freedom, p= {trend.p_value:.3g}")
    return EXIT_OK
