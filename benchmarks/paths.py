"""Benchmark (issue 14, item 7): 100,000 units with covariates that change, about three rows each.

    python -m benchmarks fit --fits paths            # 100,000 units
    python -m benchmarks fit --fits paths:3000       # another size (a smoke test)

Target: end to end <= 45 s warm (4 chains x 1,000 draws) with the usual diagnostics (every bulk
ESS >= 400, no divergences).

**Data** (:func:`simulate`, written to ``benchmarks/results/paths_{n}.csv`` with the truth in
``paths_{n}_truth.json``), drawn by :func:`bayessa.simulate.simulate_switching`: groups founded
consumer-led (70%) or professional-led (30%); a consumer-led group is taken over by a
professional at rate 0.15 a year (one switch, absorbing); the hazard of closing has log HR 0.5
for the *current* leader being professional, 0.2 for a mental-health setting and a county effect
(40 counties, ``u ~ N(0, 0.3^2)``, fixed by a seeded generator), on a piecewise-constant
baseline (log hazard -2.3, -2.5, -2.6, -2.7, -2.8 on (0,1], (1,2], (2,4], (4,8], (8,12]);
follow-up is censored at 12 years and by independent loss at 0.03 a year. Besides the switch,
every row is split at reviews every 2.5 years (covariates unchanged, as repeated visits in a
registry): about 3 rows per unit, the issue's layout.

**Fit**: ``python -m bayessa.fit --tstart tstart --tstop tstop --id id --event event --formula
"leader + setting + (1 | county)"`` (spec-free, the counting-process form), cold and then warm
against an empty PyTensor compile directory of its own, as :mod:`benchmarks.fit` does. The ESS
and R-hat are over every row of ``summary.csv`` (:func:`benchmarks.covariates._summary_ess`).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.covariates import _failed, _internals_ess, _summary_ess
from benchmarks.fit import RESULTS, _compiledir_env, _measure, cached_simulation

DEFAULT_SEED = 20261202
FORMULA = "leader + setting + (1 | county)"
CUTS = (0.0, 1.0, 2.0, 4.0, 8.0, 12.0)
LOG_BASELINE = (-2.3, -2.5, -2.6, -2.7, -2.8)
EFFECTS = {"leader[professional]": 0.5, "setting[mental_health]": 0.2}
COUNTIES, COUNTY_SD = 40, 0.3
SWITCH_RATE, INITIAL, LOSS, REVIEW_EVERY = 0.15, 0.3, 0.03, 2.5
DRAWS, TUNE, CHAINS, SEED = 1000, 1000, 4, 1
TARGET_S, TARGET_ESS = 45.0, 400.0


def simulate(n: int, seed: int = DEFAULT_SEED) -> tuple[Path, dict]:
    """Simulate ``n`` units and write their counting-process rows (once per ``n`` and seed).

    Parameters
    ----------
    n : int
        Units.
    seed : int
        Seed of the county effects and of the simulation.

    Returns
    -------
    (Path, dict)
        The CSV and the truth.
    """
    from bayessa.simulate import simulate_switching

    path, truth_path, truth = cached_simulation(f"paths_{n}", {"seed": seed})
    if truth is not None:
        return path, truth
    rng = np.random.default_rng(seed)
    counties = [f"c{i:02d}" for i in range(COUNTIES)]
    u = rng.normal(0.0, COUNTY_SD, COUNTIES)
    effects = dict(EFFECTS) | {
        f"county[{c}]": float(v - u[0]) for c, v in zip(counties[1:], u[1:], strict=True)
    }
    sim = simulate_switching(
        n, cuts=CUTS, log_baseline=[b + u[0] for b in LOG_BASELINE], effects=effects,
        switch_hazard=SWITCH_RATE, name="leader", levels=("consumer", "professional"),
        initial=INITIAL, covariates={"setting": {"community": 0.6, "mental_health": 0.4},
                                     "county": dict.fromkeys(counties, 1 / COUNTIES)},
        censoring_rate=LOSS, follow_up=CUTS[-1], seed=rng,
    )  # fmt: skip
    rows = _reviews(sim.rows, np.arange(REVIEW_EVERY, CUTS[-1], REVIEW_EVERY))
    RESULTS.mkdir(exist_ok=True)
    rows.to_csv(path, index=False)
    truth = {
        "seed": seed, "n": n, "rows": len(rows), "rows_per_unit": len(rows) / n,
        "events": int(rows["event"].sum()), "effects": EFFECTS, "log_baseline": LOG_BASELINE,
        "cuts": CUTS, "county_effects": dict(zip(counties, u.tolist(), strict=True)),
        "switch_rate": SWITCH_RATE, "initial_professional": INITIAL, "loss_rate": LOSS,
        "review_every": REVIEW_EVERY,
    }  # fmt: skip
    truth_path.write_text(json.dumps(truth, indent=2))
    return path, truth


def _reviews(rows, times: np.ndarray):
    """Split every row at the review times inside it (covariates unchanged, events on the end)."""
    import pandas as pd

    s, e = rows["tstart"].to_numpy(), rows["tstop"].to_numpy()
    inside = (times[None, :] > s[:, None]) & (times[None, :] < e[:, None])
    bounds = np.where(inside, times[None, :], np.inf)
    bounds = np.sort(np.concatenate([s[:, None], bounds, e[:, None]], axis=1), axis=1)
    lo, hi = bounds[:, :-1], bounds[:, 1:]
    keep = np.isfinite(hi) & (hi > lo)
    hi = np.where(np.isfinite(hi), hi, np.nan)
    r, j = np.nonzero(keep)
    out = rows.iloc[r].reset_index(drop=True)
    out["tstart"], out["tstop"] = lo[r, j], hi[r, j]
    out["event"] = np.where(hi[r, j] == e[r], rows["event"].to_numpy()[r], 0)
    return pd.DataFrame(out)


def _fit(data: Path, label: str, compiledir: Path) -> dict:
    """One bayessa fit in a subprocess; an error is recorded, not raised."""
    import pandas as pd

    args = [
        sys.executable, "-m", "bayessa.fit", "--data", str(data), "--formula", FORMULA,
        "--id", "id", "--tstart", "tstart", "--tstop", "tstop", "--event", "event",
        "--time-unit", "years", "--cuts", ",".join(f"{c:g}" for c in CUTS),
        "--draws", str(DRAWS), "--tune", str(TUNE), "--chains", str(CHAINS), "--seed", str(SEED),
        "--ess", "0", "--quiet",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bayessa-paths-") as tmp:
        out = Path(tmp) / "run"
        res = _measure([*args, "--out", str(out)], env=_compiledir_env(compiledir), check=False)
        res.pop("child", None)
        res["label"] = label
        if res["rc"] != 0:
            return res
        manifest = json.loads((out / "manifest.json").read_text())
        diag = json.loads((out / "diagnostics.json").read_text())
        summ = _summary_ess(out / "summary.csv")
        reported = {
            str(i).split("[")[0] for i in pd.read_csv(out / "summary.csv", index_col=0).index
        }
        internals = _internals_ess(out / "idata.nc", reported)
        hr = pd.read_csv(out / "hazard_ratios.csv", index_col=0)
    res.update(
        cells=manifest["model"]["n_cells"],
        rows=manifest["audit"]["rows_kept"],
        summary=summ,
        min_ess_bulk=summ["min_ess_bulk"],
        max_rhat=summ["max_rhat"],
        divergences=diag["divergences"],
        internals=internals,
        timings=manifest["timings"],
        compile_cache=manifest["timings"].get("compile_cache"),
        hazard_ratios=hr.to_dict(orient="index"),
    )
    return res


PHASES = ("imports", "prepare", "build", "compile", "sample", "assemble", "summary", "write",
          "report")  # fmt: skip


def _table(r: dict) -> str:
    cold, warm, truth = r["bayessa_cold"], r["bayessa_warm"], r["truth"]
    lines = [
        f"Issue 14 item 7: {r['n']:,} units, {truth['rows']:,} rows "
        f"({truth['rows_per_unit']:.2f} per unit), {truth['events']:,} events; formula {FORMULA}"
    ]
    for name, x in (("cold", cold), ("warm", warm)):
        if x["rc"] != 0:
            lines.append(f"  {name} FAILED: {_failed(x)}")
            continue
        t = x["timings"]
        phases = ", ".join(f"{p} {t[p + '_s']:.1f}" for p in PHASES if t.get(p + "_s") is not None)
        lines.append(
            f"  {name}: {x['wall_s']:.1f} s end to end (peak {x['peak_rss_gb']:.2f} GB), "
            f"{x['cells']:,} cells; phases: {phases} s; compile cache {x['compile_cache']}"
        )
    if warm["rc"] == 0:
        s = warm["summary"]
        lines.append(
            f"  min bulk ESS {s['min_ess_bulk_defined']:.0f} ({s['min_ess_bulk_parameter']}) over "
            f"{s['rows']} summary rows; max R-hat {warm['max_rhat']:.3f}; divergences "
            f"{warm['divergences']}; mean leapfrog steps "
            f"{warm['internals'].get('mean_leapfrog_steps', float('nan')):.0f}"
        )
        for term, true in EFFECTS.items():
            row = warm["hazard_ratios"].get(term, {})
            lines.append(
                f"  {term}: HR {row.get('hr_median', float('nan')):.3f} "
                f"[{row.get('hr_lower', float('nan')):.3f}, {row.get('hr_upper', float('nan')):.3f}]"
                f" (truth {np.exp(true):.3f})"
            )
    v = r["verdicts"]
    lines.append(
        f"  target <= {TARGET_S:g} s warm, bulk ESS >= {TARGET_ESS:g}, no divergences: "
        + ("met" if v["passed"] else f"NOT met ({', '.join(k for k, ok in v.items() if not ok)})")
    )
    return "\n".join(lines)


def run(n: int = 100_000, seed: int = DEFAULT_SEED) -> dict:
    """Simulate, fit cold then warm; print the table and write the JSON.

    Parameters
    ----------
    n : int
        Units simulated.
    seed : int
        The simulation's seed (the sampler uses seed 1).

    Returns
    -------
    dict
        Also written to ``benchmarks/results/paths-{n}-<time>.json``.
    """
    data, truth = simulate(n, seed)
    with tempfile.TemporaryDirectory(prefix="bayessa-compiledir-") as compiledir:
        cold = _fit(data, "bayessa (cold)", Path(compiledir))
        warm = _fit(data, "bayessa (warm)", Path(compiledir)) if cold["rc"] == 0 else cold
    ok = warm["rc"] == 0
    verdicts = {
        "wall": ok and warm["wall_s"] <= TARGET_S,
        "ess": ok and bool(warm["min_ess_bulk"] >= TARGET_ESS),
        "divergences": ok and warm["divergences"] == 0,
    }
    result = {
        "n": n, "seed": seed, "data": str(data), "truth": truth, "bayessa_cold": cold,
        "bayessa_warm": warm, "verdicts": verdicts | {"passed": all(verdicts.values())},
    }  # fmt: skip
    print(_table(result))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"paths-{n}-{stamp}.json").write_text(json.dumps(result, indent=2, default=str))
    return result
