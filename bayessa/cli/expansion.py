r"""``python -m bayessa.expansion`` / ``bayessa expansion``: how the organisation's expansion changed.

Examples
--------
The bundled analysis (the SA groups; eras, window and traits from ``models/partnership.toml``)::

    python -m bayessa.expansion --out runs/expansion

Your own table (one row per unit, a founding date, eras on the calendar)::

    python -m bayessa.expansion --data units.csv --id uid --start opened \
        --event-date closed --censor-date last_seen --formula "kind * era + (1 | region)" \
        --era-cuts 2001-01-01,2005-01-01 --era-labels early,middle,late --era era \
        --composition kind --cluster region --out runs/units

Exit codes: 0 success; 2 bad data, spec or arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bayessa.cli.common import ArgumentParser, argv_or_sys, positive_int, run_main

__all__ = ["build_parser", "main"]

PROG = "python -m bayessa.expansion"


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def build_parser() -> ArgumentParser:
    """The command's parser.

    Returns
    -------
    ArgumentParser
    """
    p = ArgumentParser(
        prog=PROG,
        description=(
            "The expansion analysis: founding rate by era (founding.csv, founding_contrasts.csv), "
            "the composition of new units (composition.csv, composition_contrasts.csv), reach "
            "over time (reach.csv) and the counterfactual had everything stayed as in the first "
            "era (counterfactual.csv, group_years.csv), with report.html and idata.nc. Flags "
            "override the spec's [data] and [expansion] tables."
        ),
        epilog="Exit codes: 0 success; 2 bad data, spec or arguments (message on stderr).",
    )
    io = p.add_argument_group("data and model")
    io.add_argument("--data", metavar="PATH", help="one row per unit (default: the spec's data)")
    io.add_argument("--model", metavar="PATH",
                    help="spec TOML with an [expansion] table (default: models/partnership.toml "
                         "without --data)")  # fmt: skip
    io.add_argument("--survival", metavar="RUN",
                    help="a fitted survival run folder to use for reach and the counterfactual "
                         "(default: fit the spec's survival model)")  # fmt: skip
    io.add_argument("--no-reach", action="store_true",
                    help="founding and composition only (no survival model, reach or "
                         "counterfactual)")  # fmt: skip
    io.add_argument("--out", metavar="DIR", help="run folder (default: runs/<name>-expansion)")
    io.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    cols = p.add_argument_group("columns (override the spec's [data] table)")
    for role in ("id", "start", "stop", "event", "event-date", "censor-date", "time"):
        cols.add_argument(f"--{role}", metavar="COL", help=f"the {role.replace('-', ' ')} column")
    cols.add_argument("--formula", help="the survival model's formula (with the era and traits)")
    x = p.add_argument_group("eras and traits (override the spec's [expansion] table)")
    x.add_argument("--era-cuts", type=_csv, metavar="DATES",
                   help="calendar boundaries of the eras, e.g. 1989-01-01,1993-01-01")  # fmt: skip
    x.add_argument("--era-labels", type=_csv, metavar="LABELS", help="one label per era")
    x.add_argument("--era", metavar="COL", help="a column of each unit's era (checked)")
    x.add_argument("--window", type=_csv, metavar="FIRST,LAST",
                   help="the founding window's first and last dates")  # fmt: skip
    x.add_argument("--end", metavar="DATE", help="end of follow-up (reach is counted up to it)")
    x.add_argument("--composition", type=_csv, metavar="COLS",
                   help="traits whose mix among new units is compared across eras")  # fmt: skip
    x.add_argument("--cluster", metavar="COL", help="grouping of founding rates (e.g. county)")
    x.add_argument("--trend", action="store_true", help="add a random walk over calendar years")
    x.add_argument("--family", choices=("auto", "poisson", "negbin"),
                   help="founding counts' family (default auto: chosen from the data)")  # fmt: skip
    s = p.add_argument_group("sampler")
    s.add_argument("--draws", type=positive_int)
    s.add_argument("--tune", type=positive_int)
    s.add_argument("--chains", type=positive_int)
    s.add_argument("--seed", type=int)
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Fit the expansion analysis, write the run and print its headline numbers.

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success; 2 bad data, spec or arguments; 130 interrupted.
    """
    argv = argv_or_sys(argv)
    return run_main(lambda: _run(build_parser().parse_args(argv), argv), PROG)


def _run(args, argv: list[str]) -> int:
    import shlex

    from bayessa.api.growth import expansion
    from bayessa.posterior.rundir import check_output_dir

    roles = {k: getattr(args, k) for k in ("id", "start", "stop", "event", "event_date",
                                           "censor_date", "time", "formula")}  # fmt: skip
    x = {k: getattr(args, k) for k in ("era_cuts", "era_labels", "era", "window", "end",
                                       "composition", "cluster", "family")}  # fmt: skip
    x["trend"] = True if args.trend else None
    sampler = {k: getattr(args, k) for k in ("draws", "tune", "chains", "seed")}
    over = {k: v for k, v in {**roles, **x, **sampler}.items() if v is not None}
    name = Path(args.model or args.data or "partnership").stem
    out = Path(args.out) if args.out else Path("runs") / f"{name}-expansion"
    check_output_dir(out, overwrite=args.overwrite)
    res = expansion(args.data, args.model, survival=args.survival, reach=not args.no_reach,
                    progress=False if args.quiet else None, **over)  # fmt: skip
    command = " ".join(shlex.quote(a) for a in ["python", "-m", "bayessa.expansion", *argv])
    res.save(out, overwrite=args.overwrite, command=command)
    _print(res, out)
    return 0


def _print(res, out: Path) -> None:
    print("Founding rate per era (per year, posterior median and 95% CrI):")
    print(res.founding_table().to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print("\nRate ratios between eras:")
    print(res.founding_contrasts().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    comp = res.composition_table()
    if not comp.empty:
        print("\nShares of new groups by era:")
        print(comp.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if res.group_years is not None:
        print("\nGroup-years, as observed vs had everything stayed as in the first era:")
        print(res.group_years.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(f"\nRun written to {out}")
