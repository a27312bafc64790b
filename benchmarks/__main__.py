"""Run the performance suite: ``python -m benchmarks [data] [fit] [scale] [--n N] [--fits LIST]``.

``python -m benchmarks fit --fits phases``: the phase table of a warm fit (issue 17).
``python -m benchmarks scale [--sizes 10000000,100000000]``: Parquet in -> cells out on Dask and
the fit from the cells (issue 18; long: run it alone).

With no benchmark named, data and fit run.
"""

from __future__ import annotations

import argparse
import json

from benchmarks import data_layer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    # no list default: argparse checks a list default against `choices` as one value and fails
    ap.add_argument(
        "which", nargs="*", choices=["data", "fit", "scale"], help="which (default: data, fit)"
    )
    ap.add_argument("--n", type=int, default=1_000_000, help="units for the data-layer benchmark")
    ap.add_argument(
        "--fits",
        default="phases,ess,bundled,refit,100k,1m,baseline",
        help="which fit benchmarks (comma-separated)",
    )
    ap.add_argument(
        "--sizes",
        default="10000000,100000000",
        help="units for the scale benchmark (comma-separated)",
    )
    args = ap.parse_args(argv)
    args.which = args.which or ["data", "fit"]
    if "data" in args.which:
        res = data_layer.run(args.n)
        print("data layer:", json.dumps(res, indent=2))
    if "fit" in args.which:
        from benchmarks import fit

        fit.main(args.fits)
    if "scale" in args.which:
        from benchmarks import scale

        scale.main(tuple(int(n) for n in args.sizes.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
