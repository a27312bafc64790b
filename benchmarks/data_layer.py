"""Benchmark: read + validate + split + aggregate N units (issue target: 1,000,000 units, 8 age
intervals, 3 calendar periods, <= 10 s and <= 4 GB peak memory on a 2-core machine).

The timed pipeline runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is its
own; the input CSV is written beforehand and not timed.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

CUTS = [0, 0.5, 1, 2, 3, 5, 8, 11, 14]  # 8 age intervals
PERIODS = ["1989-01-01", "1993-01-01"]  # 3 calendar periods
COLUMNS = dict(
    id="group_id",
    start="founded",
    event_date="closed",
    censor_date="last_contact",
    covariates=("leader", "setting", "era"),
    cluster="county",
)


def write_input(path: Path, n: int, seed: int = 1) -> None:
    """A study-shaped CSV of n units (founding 1985-1999, exponential closure, censoring at 1999-06-30)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("1985-07-01")
    end = np.datetime64("1999-06-30")
    span = int((end - start).astype(int))
    founded = start + rng.integers(0, span - 30, n).astype("timedelta64[D]")
    life = rng.exponential(4 * 365.25, n).astype(int) + 1
    closed_at = founded + life.astype("timedelta64[D]")
    is_closed = closed_at <= end
    era = np.select(
        [founded < np.datetime64("1989-01-01"), founded < np.datetime64("1993-01-01")],
        ["before", "early"],
        "formal",
    )
    df = pd.DataFrame(
        {
            "group_id": np.char.add("g", np.arange(n).astype(str)),
            "county": rng.choice([f"county_{i:02d}" for i in range(40)], n),
            "founded": founded.astype(str),
            "closed": np.where(is_closed, closed_at.astype(str), ""),
            "last_contact": np.where(is_closed, closed_at.astype(str), str(end)),
            "leader": rng.choice(["consumer", "professional"], n, p=[0.7, 0.3]),
            "setting": rng.choice(["community", "mental_health"], n),
            "era": era,
        }
    )
    df.to_csv(path, index=False)


def _pipeline(path: str) -> dict:
    t0 = time.perf_counter()
    from bayessa.data import Columns, read_data
    from bayessa.data.cells import aggregate
    from bayessa.data.lexis import split

    t_import = time.perf_counter()
    data = read_data(path, Columns(**COLUMNS))
    t_read = time.perf_counter()
    pieces = split(
        data,
        CUTS,
        periods=PERIODS,
        period_labels=["before", "early", "formal"],
        period_name="calendar_era",
    )
    t_split = time.perf_counter()
    cells = aggregate(pieces)
    t_agg = time.perf_counter()
    return {
        "units": data.n_units,
        "pieces": len(pieces.frame),
        "cells": cells.n_cells,
        "import_s": t_import - t0,
        "read_validate_s": t_read - t_import,
        "split_s": t_split - t_read,
        "aggregate_s": t_agg - t_split,
        "total_s": t_agg - t0,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    }


def run(n: int = 1_000_000, workdir: Path | None = None) -> dict:
    workdir = workdir or Path("benchmarks/results")
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"units_{n}.csv"
    if not path.exists():
        write_input(path, n)
    t0 = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import json, benchmarks.data_layer as b; print(json.dumps(b._pipeline({str(path)!r})))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    # wall time of the whole process: interpreter start and imports (numpy, pandas) included
    res["process_wall_s"] = time.perf_counter() - t0
    res["target"] = "<= 10 s, <= 4 GB"
    res["passed"] = res["process_wall_s"] <= 10 and res["peak_rss_gb"] <= 4
    return res
