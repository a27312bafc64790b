"""Benchmark: the ESS promise of the default analysis (issue 17).

The default model must reach a minimum bulk ESS >= 1,000 and max R-hat <= 1.01 over its
parameters at every seed of 1-10 on the bundled data, and on other SA-like data sets of 300
groups. The bundled spec samples to that target (``[sampler] ess = 1000``: 4 more chains while it
is not met; :mod:`bayessa.api.ess_target`). This runs the default fit at seeds 1-10 and three
simulated 300-group data sets (``make_sa_groups`` seeds 101-103) at seeds 1-5, all in one
process (the compiled model is loaded once per data set), and reports for each run the chains it
needed, its min bulk ESS (and where), max R-hat, divergences and sampling time.

    python -m benchmarks fit --fits ess
"""

from __future__ import annotations

import json
import time
from pathlib import Path

RESULTS = Path("benchmarks/results")


def _held_out(seed: int) -> Path:
    from bayessa.simulate.sa_groups import make_sa_groups

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"sa_groups_300_seed{seed}.csv"
    if not path.exists():
        frame, _ = make_sa_groups(seed=seed, n_groups=300)
        frame.to_csv(path, index=False)
    return path


def _one(data, seed: int) -> dict:
    import bayessa
    from bayessa.resources import bundled_spec

    spec = bundled_spec("partnership") if data is not None else None
    r = bayessa.fit(data, spec, seed=seed, progress=False, log_likelihood=False)
    d = r.diagnostics()
    t = json.loads(r.idata.attrs["bayessa_timings"])
    rounds = json.loads(r.idata.attrs.get("bayessa_ess_rounds", "[]"))
    return {
        "seed": seed,
        "chains": int(r.idata.posterior.sizes["chain"]),
        "first_round_ess": rounds[0]["min_ess_bulk"] if rounds else None,
        "min_ess_bulk": d.min_ess_bulk,
        "worst": d.worst["ess_bulk"],
        "max_rhat": d.max_rhat,
        "divergences": d.divergences,
        "sample_s": t["sample_s"],
        "passed": d.min_ess_bulk >= 1000 and d.max_rhat <= 1.01,
    }


def main() -> dict:
    """Run the promise's fits; print one line per fit and the pass counts."""
    out: dict[str, list] = {}
    sets = [("bundled", None, range(1, 11))] + [
        (f"300 groups (sim {s})", _held_out(s), range(1, 6)) for s in (101, 102, 103)
    ]
    for name, data, seeds in sets:
        out[name] = []
        for seed in seeds:
            t = time.perf_counter()
            r = _one(data, seed)
            r["wall_s"] = time.perf_counter() - t
            out[name].append(r)
            print(
                f"{name} seed {seed}: {r['chains']} chains, min bulk ESS {r['min_ess_bulk']:.0f} "
                f"({r['worst']}; first 4 chains {r['first_round_ess']:.0f}), R-hat "
                f"{r['max_rhat']:.4f}, {r['divergences']} divergences, sampling "
                f"{r['sample_s']:.1f} s: {'met' if r['passed'] else 'NOT met'}",
                flush=True,
            )
    runs = [r for rs in out.values() for r in rs]
    print(
        f"ESS >= 1000 and R-hat <= 1.01: {sum(r['passed'] for r in runs)} of {len(runs)} runs; "
        f"{sum(r['chains'] > 4 for r in runs)} needed more than 4 chains",
        flush=True,
    )
    return out
