"""Benchmark (issue 15, item 7): groups of which half end between two inspections.

    python -m benchmarks fit --fits intervals          # 20,000 groups (the issue's size)
    python -m benchmarks fit --fits intervals:100000   # another size

Target: end to end <= 60 s warm (4 chains x 1,000 draws) with the usual diagnostics, at 20,000
groups of which half are interval-censored.

**Data** (:func:`simulate`, ``benchmarks/results/intervals_{n}.csv`` and its truth): groups with
``leader`` (consumer 70% / professional), ``setting`` (community 60% / mental_health) and
``county`` (40, effects ``N(0, 0.3^2)``); a piecewise-constant hazard 0.12 a year times a shape
over the age intervals (:data:`SHAPE`), log HRs 0.5 (professional) and 0.2 (mental health);
censored at 12 years and by loss at 0.03 a year. Each group is contacted every year (each contact
moved by up to +-0.3 years); a closure is seen when it happens with probability
:data:`P_EXACT`, otherwise only at the first contact after it: ``lower`` the last contact before,
``upper`` that contact (interval-censored), about half the groups. Fitted with ``python -m
bayessa.fit --time-lower lower --time-upper upper --formula "leader + setting + (1 | county)"``,
cold then warm in a fresh compile directory.
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

DEFAULT_SEED = 20261202
FORMULA = "leader + setting + (1 | county)"
CUTS = (0.0, 1.0, 2.0, 4.0, 8.0, 12.0)
RATE, SHAPE = 0.12, (1.6, 1.2, 1.0, 0.8, 0.6)
EFFECTS = {"leader[professional]": 0.5, "setting[mental_health]": 0.2}
COUNTIES, COUNTY_SD, LOSS, P_EXACT, JITTER = 40, 0.3, 0.03, 0.3, 0.3
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

    from benchmarks.competing import _piecewise_times

    path, truth_path, truth = cached_simulation(
        f"intervals_{n}", {"seed": seed, "p_exact": P_EXACT}
    )
    if truth is not None:
        return path, truth
    rng = np.random.default_rng(seed)
    prof = rng.uniform(size=n) < 0.3
    mh = rng.uniform(size=n) < 0.4
    county = rng.integers(0, COUNTIES, n)
    u = rng.normal(0, COUNTY_SD, COUNTIES)
    b_prof, b_mh = EFFECTS.values()
    lam = RATE * np.exp(b_prof * prof + b_mh * mh + u[county])
    t = _piecewise_times(lam, np.array(SHAPE), rng)
    censor = np.minimum(rng.exponential(1 / LOSS, n), CUTS[-1])
    event = t <= censor
    # yearly contacts, each moved by up to JITTER; the censoring time is a last contact
    visits = np.arange(1, int(CUTS[-1]) + 1) + rng.uniform(-JITTER, JITTER, (n, int(CUTS[-1])))
    visits = np.where(visits < censor[:, None], visits, np.inf)
    visits = np.concatenate([visits, censor[:, None]], axis=1)
    exact = rng.uniform(size=n) < P_EXACT
    after = np.where(visits >= t[:, None], visits, np.inf).min(axis=1)
    before = np.where(visits < t[:, None], visits, 0.0).max(axis=1)
    lower = np.where(event & ~exact, before, np.where(event, t, censor))
    upper = np.where(event & ~exact, after, np.where(event, t, np.nan))
    df = pd.DataFrame({
        "gid": np.arange(1, n + 1), "lower": np.round(lower, 6), "upper": np.round(upper, 6),
        "leader": np.where(prof, "professional", "consumer"),
        "setting": np.where(mh, "mental_health", "community"),
        "county": [f"c{k:02d}" for k in county],
    })  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    df.to_csv(path, index=False)
    ic = int((event & ~exact).sum())
    truth = {"seed": seed, "n": n, "rate": RATE, "shape": SHAPE, "effects": EFFECTS,
             "interval_censored": ic, "exact_events": int((event & exact).sum()),
             "censored": int((~event).sum()), "county_effects": u.tolist()}  # fmt: skip
    truth_path.write_text(json.dumps(truth, indent=2))
    return path, truth


def _fit(data: Path, label: str, compiledir: Path) -> dict:
    import pandas as pd

    args = [
        sys.executable, "-m", "bayessa.fit", "--data", str(data), "--formula", FORMULA,
        "--id", "gid", "--time-lower", "lower", "--time-upper", "upper",
        "--cuts", ",".join(f"{c:g}" for c in CUTS), "--draws", str(DRAWS), "--tune", str(TUNE),
        "--chains", str(CHAINS), "--seed", str(SEED), "--ess", "0", "--quiet",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bayessa-intervals-") as tmp:
        out = Path(tmp) / "run"
        res = _measure([*args, "--out", str(out)], env=_compiledir_env(compiledir), check=False)
        res.pop("child", None)
        res["label"] = label
        if res["rc"] != 0:
            return res
        m = json.loads((out / "manifest.json").read_text())
        d = json.loads((out / "diagnostics.json").read_text())
        res |= {"cells": m["model"]["n_cells"], "timings": m["timings"],
                "summary": _summary_ess(out / "summary.csv"), "divergences": d["divergences"]}  # fmt: skip
        hr = pd.read_csv(out / "hazard_ratios.csv")
        res["hazard_ratios"] = hr.to_dict(orient="records")
    return res


def run(n: int = 20_000, seed: int = DEFAULT_SEED) -> dict:
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
    lines = [f"Issue 15 item 7: {n:,} groups, {truth['interval_censored']:,} interval-censored, "
             f"{truth['exact_events']:,} exact events, {truth['censored']:,} censored; "
             f"formula {FORMULA}"]  # fmt: skip
    for x in (cold, warm):
        if x["rc"] != 0:
            lines.append(f"  {x['label']} FAILED: {_failed(x)}")
            continue
        t = x["timings"]
        lines.append(f"  {x['label']}: {x['wall_s']:.1f} s end to end; {x['cells']} cells, "
                     f"compile {t.get('compile_s', 0):.1f} s, sampling {t.get('sample_s', 0):.1f} s, "
                     f"min ESS {x['summary']['min_ess_bulk_defined']:.0f}, divergences "
                     f"{x['divergences']}, peak memory {x.get('peak_rss_gb', float('nan')):.2f} GB")  # fmt: skip
    ok = warm["rc"] == 0
    verdicts = {
        "wall": ok and warm["wall_s"] <= TARGET_S,
        "ess": ok and warm["summary"]["min_ess_bulk_defined"] >= TARGET_ESS,
        "divergences": ok and warm["divergences"] == 0,
    }
    if ok:
        for row in warm["hazard_ratios"]:
            lines.append(f"  {row['coef']}: HR {row['hr_median']:.3f} [{row['hr_lower']:.3f}, "
                         f"{row['hr_upper']:.3f}] (truth {np.exp(EFFECTS[row['coef']]):.3f})")  # fmt: skip
    lines.append(f"  target <= {TARGET_S:g} s warm, ESS >= {TARGET_ESS:g}, no divergences: "
                 + ("met" if all(verdicts.values()) else f"NOT met {verdicts}"))  # fmt: skip
    print("\n".join(lines))
    result = {"n": n, "seed": seed, "truth": truth, "cold": cold, "warm": warm,
              "verdicts": verdicts}  # fmt: skip
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"intervals-{n}-{stamp}.json").write_text(json.dumps(result, indent=2, default=str))
    return result
