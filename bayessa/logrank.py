"""Command line: log-rank family test on a CSV or Parquet file.

    python -m bayessa.logrank --data groups.csv --time years --event closed --group leader \\
        [--strata setting] [--rho 1 --gamma 0] [--entry entry] [--trend]

Prints the per-group table and the test (as R's ``survdiff``); with ``--trend`` also the test for
trend across the group levels in sorted order (scores 1..k). Exit status 0 on success, 2 on bad
input (unreadable file, unknown column, invalid values, bad arguments) with a message on stderr.
The library functions are :func:`bayessa.frequentist.logrank` and
:func:`bayessa.frequentist.logrank_trend`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from bayessa.cli import callable_module
from bayessa.errors import BayessaError

__all__ = ["main"]

_PARQUET = (".parquet", ".pq", ".parq")


class _ArgumentError(Exception):
    """argparse found a bad argument (message already formatted)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgumentError(f"{message} (see python -m bayessa.logrank --help)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m bayessa.logrank",
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
    p.add_argument("--entry", help="column with the delayed-entry time (entry < time)")
    p.add_argument("--rho", type=float, default=0.0, help="weight S(t-)^rho (1 = Peto-Peto)")
    p.add_argument("--gamma", type=float, default=0.0, help="weight (1 - S(t-))^gamma")
    p.add_argument(
        "--trend",
        action="store_true",
        help="also test for trend across the group levels in sorted order (scores 1..k)",
    )
    return p


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"data file '{path}' does not exist (or is not a file)")
    if path.suffix.lower() in _PARQUET:
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _fail(message: str) -> int:
    print(f"bayessa.logrank: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input or arguments)."""
    try:
        args = _parser().parse_args(argv)
    except _ArgumentError as err:
        return _fail(str(err))
    except SystemExit as stop:  # --help
        return int(stop.code or 0)
    from bayessa.frequentist import logrank, logrank_trend

    if args.model is not None:
        if args.time or args.event:
            return _fail(
                "give either --model (follow-up columns from the spec) or --time and --event, not both"
            )
        try:
            df, kw = _read_with_spec(args)
        except BayessaError as err:
            return _fail(f"{err}")
        return _report(args, df, kw, logrank, logrank_trend)
    if not (args.time and args.event):
        return _fail("name the follow-up: --time COL --event COL, or --model SPEC (see --help)")
    try:
        df = _read(Path(args.data))
    except FileNotFoundError as err:
        return _fail(f"{err}. Check the path given to --data.")
    except (OSError, ValueError, ImportError) as err:
        kind = "Parquet" if Path(args.data).suffix.lower() in _PARQUET else "CSV"
        return _fail(
            f"could not read '{args.data}' as {kind}: {err}. "
            "Check that the file is a CSV with a header row or a Parquet file."
        )
    df.index = pd.RangeIndex(1, len(df) + 1)  # problems name data rows counted from 1
    kw = dict(time=args.time, event=args.event, group=args.group, strata=args.strata)
    kw |= dict(rho=args.rho, gamma=args.gamma, entry=args.entry)
    return _report(args, df, kw, logrank, logrank_trend)


def _read_with_spec(args) -> tuple[pd.DataFrame, dict]:
    """Units read and validated by bayessa's data layer with the spec's follow-up columns."""
    from bayessa.data import read_data
    from bayessa.spec import load_spec

    d = load_spec(args.model).data
    covs = tuple(dict.fromkeys(c for c in (args.group, args.strata) if c))
    data = read_data(args.data, d.columns(covs), time_unit=d.time_unit, on_invalid=d.on_invalid)
    f = data.frame.rename(columns={"exit": "time"})
    f.index = pd.RangeIndex(1, len(f) + 1)
    kw = dict(time="time", event="event", group=args.group, strata=args.strata)
    kw |= dict(rho=args.rho, gamma=args.gamma, entry="entry" if (f["entry"] > 0).any() else None)
    print(str(data.audit) + "\n")
    return f, kw


def _report(args, df: pd.DataFrame, kw: dict, logrank, logrank_trend) -> int:
    try:
        result = logrank(df, **kw)
        trend = logrank_trend(df, **kw) if args.trend else None
    except BayessaError as err:
        return _fail(f"{err}")
    print(f"Data: {args.data} ({len(df)} rows)\n")
    print(result.summary())
    if trend is not None:
        print()
        print(trend.title)
        scores = ", ".join(f"{g}={s:g}" for g, s in zip(trend.groups, trend.scores, strict=True))
        print(f" scores: {scores}")
        print(f" Chisq= {trend.statistic:.4g}  on 1 degree of freedom, p= {trend.p_value:.3g}")
    return 0


callable_module(__name__, "bayessa.frequentist:logrank")

if __name__ == "__main__":
    raise SystemExit(main())
