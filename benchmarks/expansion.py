"""Benchmark (issue 16): the expansion models' fits, on the bundled data and at 100,000 groups.

    python -m benchmarks.expansion                 # bundled data and 100,000 simulated groups
    python -m benchmarks.expansion --n 0           # bundled data only

Every fit is 4 chains x 1,000 draws (1,000 tuning), run twice in one process: the first may
compile the model (or load it from the compile cache), the second loads it. Reported per model:
wall seconds (build + compile + sampling), the sampler's own seconds, minimum bulk ESS, maximum
R-hat and divergences. The founding counts are per slice x county (570 cells on the bundled
layout, whatever the number of groups) and the composition counts per era x county, so the
models do not grow with the units; only reading the table does.

The 100,000 groups are ``make_sa_groups(seed=SEED, n_groups=100_000)`` (the bundled data's
simulator), written once to ``benchmarks/results/expansion_100000.csv``.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.fit import RESULTS, cached_simulation

SEED = 20261203
DRAWS, TUNE, CHAINS, FIT_SEED = 1000, 1000, 4, 1
MODELS = ("founding", "founding+trend", "leader", "setting", "setting_type", "leader|setting")


def simulate(n: int, seed: int = SEED):
    """The simulated table (once per size and seed): its CSV path."""
    from bayessa.simulate.sa_groups import make_sa_groups

    path, truth_path, truth = cached_simulation(f"expansion_{n}", {"seed": seed, "n": n})
    if truth is None:
        frame, _ = make_sa_groups(seed=seed, n_groups=n)
        RESULTS.mkdir(exist_ok=True)
        frame.to_csv(path, index=False)
        truth_path.write_text(json.dumps({"seed": seed, "n": n}))
    return path


def _fit(x, model: str) -> dict:
    from bayessa.checks.convergence import parameter_table
    from bayessa.growth import fit_composition, fit_founding
    from bayessa.posterior.predict import model_variables

    kw = dict(draws=DRAWS, tune=TUNE, chains=CHAINS, seed=FIT_SEED)
    t = time.perf_counter()
    if model.startswith("founding"):
        fit = fit_founding(x, trend=model.endswith("trend"), **kw)
        extra = {"family": fit.family, "rates": fit.table()["rate"].round(3).tolist()}
    else:
        fit = fit_composition(x, tuple(model.split("|")) if "|" in model else model, **kw)
        extra = {"levels": len(fit.levels)}
    wall = time.perf_counter() - t
    post = fit.idata["posterior"].dataset
    tab = parameter_table(post, model_variables(post))
    tab = tab[tab["sd"] > 0]  # the first era's effect is 0 by construction
    return {"model": model, "wall_s": round(wall, 2),
            "compile_s": round(fit.timings.get("compile_s", 0), 2),
            "sample_s": round(fit.timings.get("sample_s", 0), 2),
            "cache": fit.timings.get("compile_cache"),
            "min_ess_bulk": round(float(tab["ess_bulk"].min())),
            "max_r_hat": round(float(tab["r_hat"].max()), 4),
            "divergences": int(fit.idata["sample_stats"]["diverging"].sum()), **extra}  # fmt: skip


def run_one(data, label: str) -> list[dict]:
    """Read the table and fit every model twice; print one line per fit."""
    from bayessa.growth import read_expansion
    from bayessa.model.spec import load_spec
    from bayessa.resources import bundled_spec

    t = time.perf_counter()
    x = read_expansion(data, load_spec(bundled_spec()))
    read_s = time.perf_counter() - t
    print(f"{label}: {len(x.units):,} groups read in {read_s:.1f} s; "
          f"{len(x.founding_counts())} founding cells")  # fmt: skip
    out = []
    for model in MODELS:
        for attempt in ("first", "second"):
            r = _fit(x, model) | {"data": label, "attempt": attempt, "read_s": round(read_s, 2)}
            print(f"  {model:15s} {attempt:6s} {r['wall_s']:6.1f} s (compile {r['compile_s']:.1f}, "
                  f"sampling {r['sample_s']:.1f}, {r['cache']}); min ESS {r['min_ess_bulk']}, "
                  f"R-hat {r['max_r_hat']}, divergences {r['divergences']}")  # fmt: skip
            out.append(r)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.expansion", description=__doc__)
    ap.add_argument("--n", type=int, default=100_000, help="simulated groups (0: none)")
    args = ap.parse_args(argv)
    results = run_one(None, "bundled")
    if args.n:
        results += run_one(simulate(args.n), f"{args.n:,} simulated")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"expansion-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
