r"""``python -m bayessa.sbc``: simulation-based calibration of a model spec, fits run on Dask.

Each simulation draws the parameters from the prior, simulates closure times for the study's own
units through the same entry, splitting and censoring pipeline, fits the model and records the
rank of the true value among :math:`L` thinned posterior draws for the key quantities: every log
hazard ratio, the baseline log hazard of every interval, the baseline smoothing SD, the cluster
(county) SD and the log-likelihood of the simulated data (Modrák et al. 2023). If the model code
and the sampler are right, every rank is uniform on :math:`\{0, \dots, L\}` (Talts et al. 2018);
:mod:`bayessa.sbc.stats` tests that per quantity with the rank ECDF and its simultaneous band
(Säilynoja, Bürkner & Vehtari 2022). How one simulation works: :mod:`bayessa.sbc.sim`.

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
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from bayessa.errors import SpecError
from bayessa.posterior.rundir import write_atomically
from bayessa.sbc.sim import SBCConfig, build_template, draw_prior, fit_one

__all__ = ["SBCConfig", "ranks_frame", "run", "summarize", "write_outputs"]

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

    Returns
    -------
    list of dict
        The records of :func:`bayessa.sbc.sim.fit_one` (``sim``, ``error``, ``ranks``,
        diagnostics, ...), sorted by ``sim``.

    Raises
    ------
    SpecError
        Dask is not installed, or the scheduler cannot be started or reached.
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
    """Per-quantity uniformity tests and the run's bookkeeping (failures, flags, events).

    Parameters
    ----------
    records : list of dict
        One per simulation, from :func:`run`; each fitted record gains ``flags``.
    config : SBCConfig
        The run's settings (``rank_draws``, ``seed``).
    n_rep : int, default 10000
        Simulations of the rank-ECDF band (:func:`bayessa.sbc.stats.ecdf_band`).

    Returns
    -------
    dict
        Counts of simulations, failures, sampling flags and events; per quantity the ECDF and
        chi-square p-values; ``calibrated`` (no ECDF p below the Bonferroni threshold and no
        failed fit) and the ``verdict`` in words.
    """
    from bayessa.sbc.stats import chi2_uniformity, ecdf_band

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
    """One row per simulation: diagnostics, events, pipeline status, then the rank of each quantity.

    Parameters
    ----------
    records : list of dict
        One per simulation, from :func:`run` (after :func:`summarize`, with ``flags``).

    Returns
    -------
    pandas.DataFrame
        ``flags`` joined by ``;``, ranks as ``rank:<quantity>`` columns; truths left out.
    """
    rows = []
    for r in records:
        row = {k: v for k, v in r.items() if k not in ("ranks", "truth", "flags")}
        row["flags"] = ";".join(r.get("flags", []))
        row |= {f"rank:{q}": v for q, v in (r.get("ranks") or {}).items()}
        rows.append(row)
    return pd.DataFrame(rows)


def write_outputs(
    out: Path, summary: dict, records: list[dict], config: SBCConfig, *, overwrite: bool = False
) -> Path:
    """Write ``summary.json``, ``ranks.csv`` and ``rank_ecdf.png`` into ``out``, atomically.

    Parameters
    ----------
    out : path
        The output folder (replaced only with ``overwrite``; see
        :func:`bayessa.posterior.rundir.write_atomically`).
    summary : dict
        :func:`summarize`'s result, with whatever the caller adds (command, versions).
    records : list of dict
        One per simulation, from :func:`run`.
    config : SBCConfig
        The run's settings (``rank_draws``, ``seed`` of the band).
    overwrite : bool, default False
        Replace an existing ``out``.

    Returns
    -------
    Path
    """

    def files(d: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from bayessa.sbc.stats import ecdf_band, plot_rank_ecdf

        (d / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
        ranks_frame(records).to_csv(d / "ranks.csv", index=False)
        ok = [r for r in records if r["error"] is None]
        if ok:
            ranks = {q: np.array([r["ranks"][q] for r in ok]) for q in ok[0]["ranks"]}
            band = ecdf_band(len(ok), config.rank_draws, seed=config.seed)
            p = {q: s["ecdf_p"] for q, s in summary["quantities"].items()}
            fig = plot_rank_ecdf(ranks, band, p_values=p)
            fig.savefig(d / "rank_ecdf.png", dpi=110)
            plt.close(fig)

    return write_atomically(out, files, overwrite=overwrite)
