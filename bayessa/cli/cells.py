r"""``python -m bayessa.cells`` / ``bayessa cells``: the cells of a spec's data, as a Parquet file.

Reads, validates, splits and aggregates the data for a spec -- in memory, or partition by
partition on Dask for data larger than memory -- and writes the cells with their audit and
split contract (:mod:`bayessa.data.cell_file`). ``python -m bayessa.fit --cells FILE`` fits
from them.

Examples
--------
A Parquet dataset of 100 million units on a local Dask cluster::

    python -m bayessa.cells --data registry/ --model models/partnership.toml \
        --engine dask --workers 2 --out cells.parquet
    python -m bayessa.fit --cells cells.parquet --model models/partnership.toml

Exit codes: 0 written; 2 bad data, spec or arguments, or a Dask cluster that failed (nothing is
written then, nor when the command is interrupted).
"""

from __future__ import annotations

import json
import time
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
from bayessa.errors import SpecError

__all__ = ["build_parser", "main"]

PROG = "python -m bayessa.cells"

#: Column roles the command accepts as flags (``--event-date`` for ``event_date``, ...).
_ROLES = ("id", "time", "event", "start", "stop", "event_date", "censor_date", "entry", "origin")


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
            "Write the cells of a spec's data (events and exposure per interval x period x "
            "covariates x cluster cell) to a Parquet file, with the data audit and the split "
            "(cut points, periods, time unit, covariates) in its metadata. Fit them with "
            "python -m bayessa.fit --cells FILE."
        ),
        epilog=(
            "Exit codes: 0 written; 2 bad data, spec or arguments, or a Dask cluster that "
            "failed. The file is written atomically: a failed or interrupted run writes nothing."
        ),
    )
    io = p.add_argument_group("data and model")
    io.add_argument(
        "--data",
        metavar="PATH",
        help="the units: a Parquet dataset (folder or glob of .parquet files) or file, or any "
        "table python -m bayessa.fit reads (in memory); default: the spec's [data] path",
    )
    io.add_argument("--model", metavar="PATH", help="model spec TOML (its formula, cuts, columns)")
    io.add_argument("--out", metavar="FILE", required=True, help="the cells file to write")
    io.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    io.add_argument("--formula", metavar="F", help="override the spec's formula")
    io.add_argument(
        "--cuts", metavar="LIST", type=csv_floats, help="age cut points, e.g. 0,1,2,5,inf"
    )
    io.add_argument(
        "--admin-censor", action="store_true", help="censor follow-up at the last cut point"
    )
    io.add_argument(
        "--time-unit", choices=["days", "weeks", "months", "years"], help="unit of durations"
    )
    io.add_argument(
        "--on-invalid",
        choices=["raise", "exclude"],
        help="invalid rows: an error listing them (raise), or excluded and listed in the audit",
    )
    for role in _ROLES:
        io.add_argument(f"--{role.replace('_', '-')}", metavar="COL", help=f"{role} column")
    eng = p.add_argument_group("engine")
    eng.add_argument(
        "--engine",
        choices=["auto", "memory", "dask"],
        default="auto",
        help="memory: read the table into memory; dask: partition by partition on a Dask "
        "cluster (Parquet data); auto (default): dask for Parquet data above 5 million rows",
    )
    eng.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786"
    )
    eng.add_argument(
        "--workers", type=positive_int, default=2, metavar="N", help="local Dask workers (2)"
    )
    eng.add_argument("--quiet", action="store_true", help="print nothing on success")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Write the cells; returns the exit status (0 or 2).

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments, without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 written; 2 bad data, spec or arguments, or a failed Dask cluster; 130 interrupted.
    """
    return run_main(lambda: _run(build_parser().parse_args(argv_or_sys(argv))), PROG)


def _run(args) -> int:
    from dataclasses import replace

    from bayessa.data.cell_file import write_cells
    from bayessa.data.cells import UnitSummary
    from bayessa.model.preparation import prepare, resolve_spec

    t0 = time.perf_counter()
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise SpecError(f"'{out}' exists; give --overwrite to replace it, or another --out")
    if not out.parent.is_dir():
        raise SpecError(f"the folder of --out ('{out.parent}') does not exist")
    overrides = {role: getattr(args, role) for role in _ROLES}
    overrides |= {"formula": args.formula, "cuts": args.cuts, "time_unit": args.time_unit}
    overrides |= {"on_invalid": args.on_invalid}
    overrides["administrative_censoring"] = True if args.admin_censor else None
    spec = resolve_spec(args.model, data=args.data, **overrides)
    timings: dict = {}
    prepared = prepare(
        args.data, spec, engine=args.engine, scheduler=args.scheduler, workers=args.workers,
        timings=timings,
    )  # fmt: skip
    cells = prepared.cells
    if prepared.data is not None:
        cells = replace(cells, units=UnitSummary.of(prepared.data))
    t1 = time.perf_counter()
    write_cells(cells, out, spec=prepared.spec.to_toml(), engine=timings["engine"])
    timings["write_s"] = round(time.perf_counter() - t1, 3)
    if not args.quiet:
        u = cells.units
        print(str(u.audit))
        for note in cells.pieces.notes:
            print(f"  note: {note}")
        print(
            f"Wrote {cells.n_cells} cells ({u.n_units} units, {u.n_events} events, "
            f"{cells.exposure.sum():.6g} {cells.pieces.time_unit} of follow-up) to {out} in "
            f"{time.perf_counter() - t0:.1f} s ({timings['engine']} engine)"
        )
        print("Time per step (s): " + json.dumps({k: v for k, v in timings.items()
                                                   if k != "engine"}))  # fmt: skip
    return EXIT_OK
