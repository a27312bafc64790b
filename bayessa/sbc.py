r"""``python -m bayessa.sbc``: simulation-based calibration of a model spec, fits run on Dask.

Each simulation draws the parameters from the prior, simulates closure times for the study's own
units through the same entry, splitting and censoring pipeline, fits the model and records the
rank of the true value among :math:`L` thinned posterior draws for the key quantities: every log
hazard ratio, the baseline log hazard of every interval, the baseline smoothing SD, the cluster
(county) SD and the log-likelihood of the simulated data (Modrák et al. 2023). If the model code
and the sampler are right, every rank is uniform on :math:`\{0, \dots, L\}` (Talts et al. 2018);
:mod:`bayessa.sbc_stats` tests that per quantity with the rank ECDF and its simultaneous band
(Säilynoja, Bürkner & Vehtari 2022). How one simulation works: :mod:`bayessa.sbc_sim`.

Fits run in parallel on ``dask.distributed``: a local cluster (``--workers`` processes, one
thread each) by default, or an existing cluster with ``--scheduler ADDRESS``. Every worker builds
and compiles the model once and re-uses it for all its simulations. Seeds are per simulation, so
the ranks do not depend on which worker ran what.

Example (the committed run, ``sbc/partnership_200``)::

    python -m bayessa.sbc --model models/partnership.toml --sims 200 --out sbc/partnership_200

Exit codes: 0 done (and calibrated, with ``--strict``); 1 a calibration failure under
``--strict``; 2 bad arguments or spec.
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from bayessa.cli import (
    EXIT_FAILED_CHECK,
    EXIT_OK,
    ArgumentParser,
    argv_or_sys,
    nonnegative_int,
    positive_int,
    run_main,
)
from bayessa.errors import SpecError
from bayessa.runio import check_output_dir, write_atomically
from bayessa.sbc_sim import SBCConfig, build_template, draw_prior, fit_one

__all__ = ["SBCConfig", "main", "run", "summarize"]

PROG = "python -m bayessa.sbc"
#: Family-wise level of the calibration verdict (Bonferroni over the ranked quantities).
ALPHA = 0.05
#: Seconds to wait for a Dask scheduler given with --scheduler.
CONNECT_TIMEOUT = 20


def run(
    config: SBCConfig,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    serial: bool = False,
    on_record: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Run every simulation of ``config``; one record per simulation, ordered by index.

    Parameters
    ----------
    config : SBCConfig
    scheduler : str, optional
        Address of a running Dask scheduler; default: a ``LocalCluster`` of ``workers``
        single-threaded worker processes, closed at the end.
    workers : int
        Worker processes of the local cluster.
    serial : bool
        Run in this process without Dask (debugging, tests).
    on_record : callable, optional
        Called with each record as it arrives (progress, partial results).
    """
    config.check()
    records: list[dict] = []

    def got(rec: dict) -> None:
        records.append(rec)
        if on_record is not None:
            on_record(rec)

    if serial:
        for i, truth in enumerate(_prior_draws(config)):
            got(fit_one(config, i, truth))
        return sorted(records, key=lambda r: r["sim"])
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SpecError(
            "the SBC runs its fits on dask.distributed: pip install 'bayessa[dask]' "
            "(or pass --serial to run them one by one in this process)"
        ) from None
    cluster = None
    try:  # connect first: a wrong address fails before any work is done
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: never clash with another cluster
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError, TypeError) as err:
        if cluster is not None:
            cluster.close()
        where = f"the Dask scheduler '{scheduler}'" if scheduler else "a local Dask cluster"
        raise SpecError(
            f"cannot start or reach {where}: {err}; check --scheduler (e.g. tcp://host:8786)"
        ) from None
    try:
        futures = [
            client.submit(fit_one, config, i, truth, key=f"sbc-fit-{config.seed}-{i}")
            for i, truth in enumerate(_prior_draws(config))
        ]
        for fut in as_completed(futures):
            got(fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return sorted(records, key=lambda r: r["sim"])


def _prior_draws(config: SBCConfig) -> list[dict]:
    """Every simulation's prior draw, made once here (``pymc.draw`` on the template model)."""
    return draw_prior(build_template(config), config.sims, config.seed)


def _flags(rec: dict, config: SBCConfig) -> list[str]:
    """Why a fit sampled poorly: divergences, R-hat > 1.01, bulk ESS below the rank draws."""
    out = []
    if rec.get("divergences", 0) > 0:
        out.append("divergent")
    if rec.get("max_rhat", 1.0) > 1.01:
        out.append("rhat>1.01")
    if rec.get("min_ess_bulk", np.inf) < config.rank_draws:
        out.append("ess<L")
    if rec.get("treedepth_hits", 0) > 0:
        out.append("treedepth")
    return out


def summarize(records: list[dict], config: SBCConfig, *, n_rep: int = 10_000) -> dict:
    """Per-quantity uniformity tests and the run's bookkeeping (failures, flags, events)."""
    from bayessa.sbc_stats import chi2_uniformity, ecdf_band

    ok = [r for r in records if r["error"] is None]
    failed = [{"sim": r["sim"], "error": r["error"]} for r in records if r["error"] is not None]
    labels = list(ok[0]["ranks"]) if ok else []
    flag_counts: dict[str, int] = {}
    for r in ok:
        r["flags"] = _flags(r, config)
        for f in r["flags"]:
            flag_counts[f] = flag_counts.get(f, 0) + 1
    events = np.array([r["n_events"] for r in ok]) if ok else np.zeros(0)
    pipeline: dict[str, int] = {}
    for r in ok:
        key = r["pipeline"].split(":")[0]
        pipeline[key] = pipeline.get(key, 0) + 1
    out: dict = {
        "n_sims": len(records),
        "n_fitted": len(ok),
        "n_failed": len(failed),
        "failures": failed,
        "sampling_flags": flag_counts,
        "n_flagged": sum(1 for r in ok if r["flags"]),
        "pipeline": pipeline,
        "events": {
            "min": int(events.min()) if events.size else None,
            "median": float(np.median(events)) if events.size else None,
            "max": int(events.max()) if events.size else None,
            "n_zero": int((events == 0).sum()),
            "n_below_5": int((events < 5).sum()),
        },
        "fit_seconds_median": float(np.median([r["seconds"] for r in ok])) if ok else None,
    }
    if not ok:
        out |= {"calibrated": False, "verdict": "no fit succeeded", "quantities": {}}
        return out
    L = config.rank_draws
    ranks = {q: np.array([r["ranks"][q] for r in ok]) for q in labels}
    band = ecdf_band(len(ok), L, prob=1 - ALPHA, n_rep=n_rep, seed=config.seed)
    quantities = {
        q: {
            "ecdf_p": band.p_value(v),
            "chi2_p": chi2_uniformity(v, L),
            "inside_95_band": band.inside(v),
            "mean_fractional_rank": float(v.mean() / L),
        }
        for q, v in ranks.items()
    }
    threshold = ALPHA / len(labels)
    failing = [q for q, s in quantities.items() if s["ecdf_p"] < threshold]
    good = [r for r in ok if not r["flags"]]
    sensitivity = {}
    if len(good) >= 20 and len(good) < len(ok):
        gband = ecdf_band(len(good), L, prob=1 - ALPHA, n_rep=n_rep, seed=config.seed)
        sensitivity = {q: gband.p_value(np.array([r["ranks"][q] for r in good])) for q in labels}
    out |= {
        "band": {"prob": 1 - ALPHA, "gamma": band.gamma, "n_rep": n_rep},
        "bonferroni_threshold": threshold,
        "quantities": quantities,
        "failing_quantities": failing,
        "ecdf_p_well_sampled_only": sensitivity,
        "calibrated": not failing and not failed,
    }
    out["verdict"] = (
        f"calibrated: no quantity's rank ECDF test has p < {ALPHA}/{len(labels)} "
        f"(smallest p = {min(s['ecdf_p'] for s in quantities.values()):.3f}; "
        f"{sum(not s['inside_95_band'] for s in quantities.values())} of {len(labels)} ECDFs leave "
        f"their own 95% band)"
        if out["calibrated"]
        else f"CALIBRATION FAILURE: {failing or 'fits failed: ' + str(len(failed))}"
    )
    return out


def ranks_frame(records: list[dict]) -> pd.DataFrame:
    """One row per simulation: diagnostics, events, pipeline status, then the rank of each quantity."""
    rows = []
    for r in records:
        row = {k: v for k, v in r.items() if k not in ("ranks", "truth", "flags")}
        row["flags"] = ";".join(r.get("flags", []))
        row |= {f"rank:{q}": v for q, v in (r.get("ranks") or {}).items()}
        rows.append(row)
    return pd.DataFrame(rows)


def _write(out: Path, overwrite: bool, files: Callable[[Path], None]) -> None:
    """Write the SBC outputs atomically (:func:`bayessa.runio.write_atomically`)."""
    write_atomically(out, files, overwrite=overwrite)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG,
        description=(
            "Simulation-based calibration: draw parameters from the prior, simulate the study's "
            "units, fit, and test that the ranks of the true values are uniform. Writes "
            "summary.json, ranks.csv and rank_ecdf.png into --out."
        ),
        epilog="Exit codes: 0 done; 1 calibration failure with --strict; 2 bad arguments or spec.",
    )
    p.add_argument(
        "--model", metavar="PATH", help="model spec TOML (default models/partnership.toml)"
    )
    p.add_argument("--data", metavar="PATH", help="data whose design is kept (default: the spec's)")
    p.add_argument(
        "--sims", type=positive_int, default=200, metavar="N", help="simulations (default 200)"
    )
    p.add_argument("--seed", type=nonnegative_int, default=20251125, metavar="N")
    p.add_argument(
        "--draws", type=positive_int, default=500, metavar="N", help="draws per chain (500)"
    )
    p.add_argument(
        "--tune", type=nonnegative_int, default=500, metavar="N", help="tuning per chain (500)"
    )
    p.add_argument("--chains", type=positive_int, default=2, metavar="N", help="chains per fit (2)")
    p.add_argument(
        "--rank-draws", type=positive_int, default=100, metavar="L",
        help="thinned posterior draws per rank (100: ranks 0..100)",
    )  # fmt: skip
    p.add_argument(
        "--dropout",
        type=float,
        default=0.02,
        metavar="RATE",
        help="loss to follow-up per time unit (0.02)",
    )
    p.add_argument(
        "--study-end",
        metavar="DATE",
        help="administrative censoring date (default: last follow-up in the data)",
    )
    p.add_argument(
        "--workers", type=positive_int, default=2, metavar="N", help="local Dask workers (2)"
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="use a running Dask scheduler, e.g. tcp://host:8786"
    )
    p.add_argument("--serial", action="store_true", help="no Dask: fit one by one in this process")
    p.add_argument("--out", metavar="DIR", help="output folder (default sbc/<spec name>_<sims>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--strict", action="store_true", help="exit 1 on a calibration failure")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = argv_or_sys(argv)
    args = build_parser().parse_args(argv)
    return run_main(lambda: _run(args, argv), PROG)


def _run(args, argv: list[str]) -> int:
    from bayessa.api import DEFAULT_SPEC, resolve_spec
    from bayessa.result import versions
    from bayessa.sbc_stats import plot_rank_ecdf

    model = str(Path(args.model or DEFAULT_SPEC).resolve())
    spec = resolve_spec(model)
    config = SBCConfig(
        model=model, data=str(Path(args.data).resolve()) if args.data else None, sims=args.sims,
        seed=args.seed, chains=args.chains, draws=args.draws, tune=args.tune,
        rank_draws=args.rank_draws, dropout=args.dropout, study_end=args.study_end,
    )  # fmt: skip
    config.check()
    out = Path(args.out) if args.out else Path("sbc") / f"{spec.name}_{args.sims}"
    check_output_dir(out, overwrite=args.overwrite)
    t0 = time.perf_counter()
    done = [0]

    def progress(rec: dict) -> None:
        done[0] += 1
        if not args.quiet and (done[0] % 10 == 0 or done[0] == config.sims or rec["error"]):
            el = time.perf_counter() - t0
            note = f" (sim {rec['sim']} failed: {rec['error']})" if rec["error"] else ""
            sys.stderr.write(f"[sbc] {done[0]}/{config.sims} fits done, {el / 60:.1f} min{note}\n")
            sys.stderr.flush()

    records = run(
        config,
        scheduler=args.scheduler,
        workers=args.workers,
        serial=args.serial,
        on_record=progress,
    )
    wall = time.perf_counter() - t0
    summary = {
        "command": "python -m bayessa.sbc " + shlex.join(argv),
        "spec": spec.name,
        "config": asdict(config)
        | {"model": args.model or "models/partnership.toml", "data": args.data},
        "scheduler": args.scheduler
        or ("serial" if args.serial else f"LocalCluster({args.workers} workers x 1 thread)"),
        "wall_seconds": round(wall, 1),
        "versions": versions(),
    } | summarize(records, config)

    def files(d: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        (d / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
        ranks_frame(records).to_csv(d / "ranks.csv", index=False)
        ok = [r for r in records if r["error"] is None]
        if ok:
            from bayessa.sbc_stats import ecdf_band

            ranks = {q: np.array([r["ranks"][q] for r in ok]) for q in ok[0]["ranks"]}
            band = ecdf_band(len(ok), config.rank_draws, seed=config.seed)
            p = {q: s["ecdf_p"] for q, s in summary["quantities"].items()}
            fig = plot_rank_ecdf(ranks, band, p_values=p)
            fig.savefig(d / "rank_ecdf.png", dpi=110)
            plt.close(fig)

    _write(out, args.overwrite, files)
    if not args.quiet:
        print(
            f"{summary['verdict']}\n{len(records)} simulations in {wall / 60:.1f} min; written to {out}"
        )
    if args.strict and not summary["calibrated"]:
        return EXIT_FAILED_CHECK
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
