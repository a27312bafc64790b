"""Run the performance suite: ``python -m benchmarks [data] [--n N]``."""

from __future__ import annotations

import argparse
import json

from benchmarks import data_layer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument(
        "which", nargs="*", default=["data"], choices=["data", "fit"], help="which benchmarks"
    )
    ap.add_argument("--n", type=int, default=1_000_000, help="units for the data-layer benchmark")
    ap.add_argument(
        "--fits", default="bundled,100k,1m,baseline", help="which fit benchmarks (comma-separated)"
    )
    args = ap.parse_args(argv)
    if "data" in args.which:
        res = data_layer.run(args.n)
        print("data layer:", json.dumps(res, indent=2))
    if "fit" in args.which:
        from benchmarks import fit

        fit.main(args.fits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
