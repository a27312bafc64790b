"""Benchmark (issue 18): Parquet in -> cells out, partition by partition on Dask, then the fit.

    python -m benchmarks scale                              # 10M and 100M units
    python -m benchmarks scale --sizes 1000000,10000000     # other sizes

Targets on this 2-core machine: 100M units in <= 8 min with the peak memory of all processes
together (the command, the Dask scheduler, its two workers and their nannies) <= 4 GB, and flat
from 10M to 100M; the fit from the 100M cells <= 60 s warm. The in-memory path is measured
where it fits (up to :data:`MEMORY_MAX` units; about 0.9 GB per million units).

**Data**: ``python -m bayessa.simulate sa-groups --n N --partitions N/1M --seed 18``, a Parquet
dataset of files of a million groups, written once into ``benchmarks/results/scale_sa_groups_{N}``
(ignored by git; 100M take ~3.5 min and ~3 GB on disk). **Split**: 8 age intervals (cut points
0, 0.5, 1, 2, 3, 5, 8, 11, 14 years) x 3 calendar periods (before 1989, 1989-1992, from 1993),
formula ``leader * era + setting + calendar_era + (1 | county)`` (:data:`SPEC`).

**Measured**: each command runs in a fresh process; its wall time, and the peak over time of the
memory of it and all its descendants together, sampled every 0.25 s: the sum of their resident
sets (RSS, which counts shared libraries once per process: an upper bound) and of their
proportional sets (PSS, shared pages divided among the processes sharing them). The command's
own time per step comes from its ``Time per step`` line (``bayessa.cells``) or ``manifest.json``
(``bayessa.fit``). The fit runs cold then warm in a compile directory of its own.

Run it when nothing else heavy runs on the machine: it waits (up to 30 min) for the load
average to fall below 1.5 before each measurement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fit import RESULTS, _compiledir_env

SIZES = (10_000_000, 100_000_000)
SEED = 18
ROWS_PER_FILE = 1_000_000
MEMORY_MAX = 10_000_000
TARGET_S, TARGET_GB, TARGET_FIT_S = 8 * 60.0, 4.0, 60.0
MAX_LOAD = 1.5
SPEC = """\
name = "scale"
description = "issue 18 benchmark: SA groups, 8 age intervals x 3 calendar periods"

[data]
id = "group_id"
start = "founded"
event_date = "closed"
censor_date = "last_contact"
time_unit = "years"

[time]
cuts = [0, 0.5, 1, 2, 3, 5, 8, 11, 14]
periods = ["1989-01-01", "1993-01-01"]
period_labels = ["before", "early", "formal"]
period_name = "calendar_era"

[model]
formula = "leader * era + setting + calendar_era + (1 | county)"
reference = { leader = "consumer", era = "before", setting = "community", calendar_era = "before" }
baseline = "rw1"

[sampler]
backend = "nutpie"
chains = 4
draws = 1000
tune = 1000
target_accept = 0.9
seed = 20261202
"""


def _wait_for_quiet(max_wait_s: float = 1800.0) -> float:
    """Wait until the 1-minute load average is below :data:`MAX_LOAD`; returns it."""
    waited = 0.0
    while (load := os.getloadavg()[0]) > MAX_LOAD and waited < max_wait_s:
        print(f"  load average {load:.2f} > {MAX_LOAD}: waiting for the machine to be quiet")
        time.sleep(60)
        waited += 60
    return load


def measured(cmd: list[str], env: dict | None = None, interval: float = 0.25) -> dict:
    """Run ``cmd``; wall time, exit code, output and the peak memory of its process tree.

    Parameters
    ----------
    cmd : list of str
    env : dict, optional
    interval : float
        Seconds between memory samples.

    Returns
    -------
    dict
        ``rc``, ``wall_s``, ``peak_rss_gb`` and ``peak_pss_gb`` (summed over the process and
        its descendants, at the sample where each sum was largest), ``max_processes``,
        ``stdout``, ``stderr``.
    """
    import psutil

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        root = psutil.Process(proc.pid)
        peak_rss = peak_pss = 0
        most = 0
        while proc.poll() is None:
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            rss = pss = 0
            for p in procs:
                try:
                    m = p.memory_full_info()
                    rss, pss = rss + m.rss, pss + m.pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            peak_rss, peak_pss, most = max(peak_rss, rss), max(peak_pss, pss), max(most, len(procs))
            time.sleep(interval)
        proc.wait()
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return {
        "rc": proc.returncode,
        "wall_s": round(wall, 2),
        "peak_rss_gb": round(peak_rss / 1024**3, 3),
        "peak_pss_gb": round(peak_pss / 1024**3, 3),
        "max_processes": most,
        "stdout": stdout,
        "stderr": stderr[-3000:],
    }


def dataset(n: int) -> tuple[Path, float | None]:
    """The simulated dataset of ``n`` groups (written once), and the seconds it took now."""
    out = RESULTS / f"scale_sa_groups_{n}"
    if (out / "truth.json").exists():
        return out, None
    RESULTS.mkdir(parents=True, exist_ok=True)
    parts = max(1, n // ROWS_PER_FILE)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bayessa.simulate", "sa-groups", "--seed", str(SEED),
         "--n", str(n), "--partitions", str(parts), "--out", str(out)],
        check=True,
    )  # fmt: skip
    return out, round(time.perf_counter() - t0, 1)


def _steps(stdout: str) -> dict:
    line = next((ln for ln in stdout.splitlines() if ln.startswith("Time per step (s): ")), None)
    return json.loads(line.split(": ", 1)[1]) if line else {}


def cells(data: Path, spec: Path, engine: str, out: Path) -> dict:
    """``python -m bayessa.cells`` with ``engine``: wall time, peak memory, time per step."""
    _wait_for_quiet()
    cmd = [sys.executable, "-m", "bayessa.cells", "--data", str(data), "--model", str(spec),
           "--engine", engine, "--workers", "2", "--out", str(out), "--overwrite"]  # fmt: skip
    res = measured(cmd)
    if res["rc"] != 0:
        raise RuntimeError(f"bayessa.cells exited {res['rc']}:\n{res['stderr']}")
    res["steps"] = _steps(res["stdout"])
    res["summary"] = next((ln for ln in res["stdout"].splitlines() if ln.startswith("Wrote")), "")
    del res["stdout"], res["stderr"]
    return res


def fit(cells_file: Path, spec: Path, compiledir: Path) -> dict:
    """``python -m bayessa.fit --cells``: wall time, peak memory, phases, diagnostics."""
    _wait_for_quiet()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "bayessa.fit", "--cells", str(cells_file), "--model",
               str(spec), "--out", str(run), "--quiet"]  # fmt: skip
        res = measured(cmd, env=_compiledir_env(compiledir))
        if res["rc"] != 0:
            raise RuntimeError(f"bayessa.fit exited {res['rc']}:\n{res['stderr']}")
        manifest = json.loads((run / "manifest.json").read_text())
        diag = json.loads((run / "diagnostics.json").read_text())
    del res["stdout"], res["stderr"]
    res["timings"] = {k: v for k, v in manifest["timings"].items() if k != "report_parts"}
    res["diagnostics"] = {k: diag[k] for k in ("passed", "min_ess_bulk", "max_rhat", "divergences")}
    res["cells"] = manifest["model"]["n_cells"]
    return res


def main(sizes: tuple[int, ...] = SIZES) -> dict:
    RESULTS.mkdir(parents=True, exist_ok=True)
    spec = RESULTS / "scale_spec.toml"
    spec.write_text(SPEC)
    results: dict = {"sizes": {}, "machine": {"cpus": os.cpu_count()}}
    for n in sizes:
        data, made = dataset(n)
        r: dict = {"data": str(data), "simulate_s": made}
        out = RESULTS / f"scale_cells_{n}.parquet"
        r["dask"] = cells(data, spec, "dask", out)
        print(f"{n:,} units, Dask: {json.dumps(r['dask'])}")
        if n <= MEMORY_MAX:
            r["memory"] = cells(data, spec, "memory", RESULTS / f"scale_cells_{n}_memory.parquet")
            print(f"{n:,} units, in memory: {json.dumps(r['memory'])}")
        else:
            r["memory"] = f"not run: ~{0.9 * n / 1e6:.0f} GB in memory (0.9 GB per million units)"
        results["sizes"][str(n)] = r
    largest = max(sizes)
    with tempfile.TemporaryDirectory() as compiledir:
        cells_file = RESULTS / f"scale_cells_{largest}.parquet"
        cold = fit(cells_file, spec, Path(compiledir))
        warm = fit(cells_file, spec, Path(compiledir))
    results["fit"] = {"units": largest, "cold": cold, "warm": warm}
    print(f"fit from the {largest:,}-unit cells: cold {cold['wall_s']} s, warm {warm['wall_s']} s")
    big = results["sizes"].get(str(max(sizes)), {}).get("dask", {})
    small = results["sizes"].get(str(min(sizes)), {}).get("dask", {})
    results["targets"] = {
        "cells_100m_s": (big.get("wall_s"), TARGET_S, (big.get("wall_s") or 1e9) <= TARGET_S),
        "peak_gb": (
            big.get("peak_rss_gb"),
            TARGET_GB,
            (big.get("peak_rss_gb") or 1e9) <= TARGET_GB,
        ),
        "flat_gb": (small.get("peak_rss_gb"), big.get("peak_rss_gb")),
        "fit_warm_s": (warm["wall_s"], TARGET_FIT_S, warm["wall_s"] <= TARGET_FIT_S),
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"scale-{stamp}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results["targets"], indent=2))
    return results
