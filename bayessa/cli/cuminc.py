"""``python -m bayessa.cuminc`` / ``bayessa cuminc``: cumulative incidence and Gray's test.

The library side is :mod:`bayessa.frequentist.cuminc` (``bayessa.cumulative_incidence``,
``bayessa.gray_test``) and, per cause, :func:`bayessa.logrank` on the cause's own events.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bayessa.cli.common import EXIT_OK, ArgumentParser, argv_or_sys, run_main

__all__ = ["build_parser", "main"]

PROG = "python -m bayessa.cuminc"


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
            "Competing risks on a table of units: the Aalen-Johansen cumulative incidence of "
            "each cause per group (Gray's variance, as R's cmprsk::cuminc), Gray's test of equal "
            "incidence among groups and the cause-specific log-rank tests (other causes "
            "censored)."
        ),
        epilog="Exit codes: 0 done; 2 bad data or arguments.",
    )
    p.add_argument("--data", required=True, help="CSV or Parquet file, one row per unit")
    p.add_argument("--time", required=True, help="follow-up time column")
    p.add_argument("--event", required=True, help="outcome column: a cause, or the censor value")
    p.add_argument("--censor-value", help="the outcome meaning censored (default 0, or "
                   "'censored' for text)")  # fmt: skip
    p.add_argument("--group", help="groups to compare (without it: one curve per cause)")
    p.add_argument("--strata", help="strata of Gray's test")
    p.add_argument("--se", choices=["gray", "ij"], default="gray",
                   help="standard error: Gray's (cmprsk::cuminc, default) or the infinitesimal "
                   "jackknife (R's survfit)")  # fmt: skip
    p.add_argument("--rho", type=float, default=0.0, help="Gray's weight (1 - F(t-))^rho")
    p.add_argument("--out", metavar="FILE.csv", help="write the incidence table here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Estimate, test and print; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 done, 2 bad input (130 interrupted).
    """
    return run_main(lambda: _run(build_parser().parse_args(argv_or_sys(argv))), PROG)


def _censor_value(raw: str | None, column):
    """The censor value in the column's own type (``--censor-value 0`` for a numeric column)."""
    import pandas as pd

    if raw is None or not pd.api.types.is_numeric_dtype(column.dtype):
        return raw
    return float(raw)


def _run(args) -> int:
    from bayessa.data.read import read_table
    from bayessa.frequentist.cuminc import cause_specific_logrank, cumulative_incidence, gray_test

    df, _ = read_table(args.data)
    cv = _censor_value(args.censor_value, df[args.event]) if args.event in df else None
    kw = dict(time=args.time, event=args.event, censor_value=cv)
    table = cumulative_incidence(df, group=args.group, se=args.se, **kw)
    print(f"Data: {args.data} ({len(df)} rows)\n")
    last = table.groupby([c for c in ("group", "cause") if c in table], sort=False).tail(1)
    print("Cumulative incidence at each curve's last event time (Aalen-Johansen, 95% limits):")
    print(last.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.group:
        gray = gray_test(df, group=args.group, strata=args.strata, rho=args.rho, **kw)
        print(f"\nGray's test (rho = {args.rho:g}" + (f", strata {args.strata}" if args.strata
              else "") + "):")  # fmt: skip
        print(gray.table.to_string(float_format=lambda v: f"{v:.4g}"))
        print("\nCause-specific log-rank tests (events of the other causes censored):")
        for cause, res in cause_specific_logrank(df, group=args.group, **kw).items():
            print(
                f"  {cause}: chi-square {res.statistic:.4g} on {res.df} df, p = {res.p_value:.3g}"
            )
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(f".{out.name}.tmp")
        table.to_csv(tmp, index=False)
        tmp.replace(out)
        print(f"\n{len(table)} rows written to {out}")
    return EXIT_OK
