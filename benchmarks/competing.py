"""Benchmark (issue 15, item 7): 100,000 groups with two causes of ending.

    python -m benchmarks fit --fits competing          # 100,000 groups
    python -m benchmarks fit --fits competing:3000     # another size

Target: end to end <= 60 s warm (4 chains x 1,000 draws per cause) with the usual diagnostics.

**Data** (:func:`simulate`, ``benchmarks/results/competing_{n}.csv`` and its truth): groups with
``leader`` (consumer 70% / professional), ``setting`` (community 60% / mental_health) and
``county`` (40, effects ``N(0, 0.3^2)`` per cause, independent between causes); two causes with
piecewise-constant cause-specific hazards, ``folded`` 0.08 a year and ``merged`` 0.04 times a
shape over the age intervals (:data:`SHAPE`: folding commoner early, merging late), log HRs: folded
0.5 (professional), 0.2 (mental health); merged -0.3 (professional), 0.4 (mental health). Exact
latent times per cause, the earlier one is the ending; censored at 12 years and by loss at 0.03
a year. Fitted with ``python -m bayessa.fit --event outcome --censor-value censored --formula
"leader + setting + (1 | county)"``, cold then warm in a fresh compile directory.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.covariates import _failed, _summary_ess
from benchmarks.fit import RESULTS, _compiledir_env, _measure, cached_simulation, cold_then_warm

DEFAULT_SEED = 20261215
FORMULA = "leader + setting + (1 | county)"
CUTS = (0.0, 1.0, 2.0, 4.0, 8.0, 12.0)
RATES = {"folded": 0.08, "merged": 0.04}
#: The hazards' shape over group age: a multiplier per interval of CUTS (closures are commoner
#: early); a flat baseline would put the random walk's SD at zero, a funnel no data set has.
SHAPE = {"folded": (1.6, 1.2, 1.0, 0.8, 0.6), "merged": (0.6, 0.9, 1.1, 1.3, 1.5)}
EFFECTS = {"folded": (0.5, 0.2), "merged": (-0.3, 0.4)}  # professional, mental_health
COUNTIES, COUNTY_SD, LOSS = 40, 0.3, 0.03
DRAWS, TUNE, CHAINS, SEED = 1000, 1000, 4, 1
TARGET_S, TARGET_ESS = 60.0, 400.0


def simulate(n: int, seed: int = DEFAULT_SEED) -> tuple[Path, dict]:
    """Simulate ``n`` groups (once per size and seed) and write them.

    Parameters
    ----------
    n : int
        Groups.
    seed : int
        Seed.

    Returns
    -------
    (Path, dict)
        The CSV and the truth.
    """
    import pandas as pd

    path, truth_path, truth = cached_simulation(f"competing_{n}", {"seed": seed})
    if truth is not None:
        return path, truth
    rng = np.random.default_rng(seed)
    prof = rng.uniform(size=n) < 0.3
    mh = rng.uniform(size=n) < 0.4
    county = rng.integers(0, COUNTIES, n)
    u = {c: rng.normal(0, COUNTY_SD, COUNTIES) for c in RATES}
    latent = {}
    for cause, rate in RATES.items():
        b_prof, b_mh = EFFECTS[cause]
        lam = rate * np.exp(b_prof * prof + b_mh * mh + u[cause][county])
        latent[cause] = _piecewise_times(lam, np.array(SHAPE[cause]), rng)
    t = np.minimum(latent["folded"], latent["merged"])
    cause = np.where(latent["folded"] <= latent["merged"], "folded", "merged")
    censor = np.minimum(rng.exponential(1 / LOSS, n), CUTS[-1])
    df = pd.DataFrame({
        "gid": np.arange(1, n + 1), "years": np.round(np.minimum(t, censor), 6),
        "outcome": np.where(t <= censor, cause, "censored"),
        "leader": np.where(prof, "professional", "consumer"),
        "setting": np.where(mh, "mental_health", "community"),
        "county": [f"c{k:02d}" for k in county],
    })  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    df.to_csv(path, index=False)
    truth = {"seed": seed, "n": n, "rates": RATES, "shape": SHAPE, "effects": EFFECTS,
             "events": df["outcome"].value_counts().to_dict(),
             "county_effects": {c: v.tolist() for c, v in u.items()}}  # fmt: skip
    truth_path.write_text(json.dumps(truth, indent=2))
    return path, truth


def _piecewise_times(rate: np.ndarray, shape: np.ndarray, rng) -> np.ndarray:
    """Exact event times with hazard ``rate * shape[k]`` on interval ``k`` of CUTS (inf beyond)."""
    cuts = np.array(CUTS)
    widths = np.diff(cuts)
    e = rng.exponential(size=rate.size)
    cum = np.cumsum(rate[:, None] * shape[None, :] * widths[None, :], axis=1)  # H at the cuts
    k = (cum < e[:, None]).sum(axis=1)  # the interval where H reaches e (K: beyond the last)
    before = np.where(k > 0, cum[np.arange(rate.size), np.maximum(k - 1, 0)], 0.0)
    inside = k < shape.size
    kk = np.minimum(k, shape.size - 1)
    t = cuts[kk] + (e - before) / (rate * shape[kk])
    return np.where(inside, t, np.inf)


def _fit(data: Path, label: str, compiledir: Path) -> dict:
    import pandas as pd

    args = [
        sys.executable, "-m", "bayessa.fit", "--data", str(data), "--formula", FORMULA,
        "--id", "gid", "--time", "years", "--event", "outcome", "--censor-value", "censored",
        "--cuts", ",".join(f"{c:g}" for c in CUTS), "--draws", str(DRAWS), "--tune", str(TUNE),
        "--chains", str(CHAINS), "--seed", str(SEED), "--ess", "0", "--quiet",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bayessa-competing-") as tmp:
        out = Path(tmp) / "run"
        res = _measure([*args, "--out", str(out)], env=_compiledir_env(compiledir), check=False)
        res.pop("child", None)
        res["label"] = label
        if res["rc"] != 0:
            return res
        manifest = json.loads((out / "manifest.json").read_text())
        res["causes"] = {}
        for cause, folder in manifest["runs"].items():
            m = json.loads((out / folder / "manifest.json").read_text())
            d = json.loads((out / folder / "diagnostics.json").read_text())
            res["causes"][cause] = {
                "cells": m["model"]["n_cells"], "timings": m["timings"],
                "summary": _summary_ess(out / folder / "summary.csv"),
                "divergences": d["divergences"],
            }  # fmt: skip
        res["hazard_ratios"] = pd.read_csv(out / "hazard_ratios.csv").to_dict(orient="records")
    return res


def run(n: int = 100_000, seed: int = DEFAULT_SEED) -> dict:
    """Simulate, fit cold then warm; print and write the results.

    Parameters
    ----------
    n : int
        Groups.
    seed : int
        The simulation's seed.

    Returns
    -------
    dict
    """
    data, truth = simulate(n, seed)
    cold, warm = cold_then_warm(_fit, data)
    lines = [f"Issue 15 item 7: {n:,} groups, events {truth['events']}; formula {FORMULA}"]
    for x in (cold, warm):
        if x["rc"] != 0:
            lines.append(f"  {x['label']} FAILED: {_failed(x)}")
            continue
        parts = []
        for cause, c in x["causes"].items():
            t = c["timings"]
            parts.append(f"{cause}: {c['cells']} cells, compile {t.get('compile_s', 0):.1f} s, "
                         f"sampling {t.get('sample_s', 0):.1f} s, min ESS "
                         f"{c['summary']['min_ess_bulk_defined']:.0f}, divergences "
                         f"{c['divergences']}")  # fmt: skip
        lines.append(f"  {x['label']}: {x['wall_s']:.1f} s end to end; " + "; ".join(parts))
    ok = warm["rc"] == 0
    verdicts = {
        "wall": ok and warm["wall_s"] <= TARGET_S,
        "ess": ok and all(c["summary"]["min_ess_bulk_defined"] >= TARGET_ESS
                          for c in warm["causes"].values()),
        "divergences": ok and all(c["divergences"] == 0 for c in warm["causes"].values()),
    }  # fmt: skip
    if ok:
        for row in warm["hazard_ratios"]:
            b = dict(zip(("leader[professional]", "setting[mental_health]"),
                         EFFECTS[row["cause"]], strict=True))  # fmt: skip
            lines.append(f"  {row['cause']} {row['coef']}: HR {row['hr_median']:.3f} "
                         f"[{row['hr_lower']:.3f}, {row['hr_upper']:.3f}] (truth "
                         f"{np.exp(b[row['coef']]):.3f})")  # fmt: skip
    lines.append(f"  target <= {TARGET_S:g} s warm, ESS >= {TARGET_ESS:g}, no divergences: "
                 + ("met" if all(verdicts.values()) else f"NOT met {verdicts}"))  # fmt: skip
    print("\n".join(lines))
    result = {"n": n, "seed": seed, "truth": truth, "cold": cold, "warm": warm,
              "verdicts": verdicts}  # fmt: skip
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"competing-{n}-{stamp}.json").write_text(json.dumps(result, indent=2, default=str))
    return result
