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

A spec with competing risks (``[data] censored``) is detected: each simulation then draws every
cause's parameters, simulates competing-risks data and fits every cause's model
(:mod:`bayessa.sbc.competing`); the quantities are named ``<cause>:<quantity>``. An
interval-censored spec (``[data] time_lower``/``time_upper``) is detected too: each simulated
event time is coarsened by a contact schedule like the data's, and the fit includes the
:math:`(L, R]` terms (:mod:`bayessa.sbc.intervals`).

Exit codes: 0 done (and calibrated, with ``--strict``); 1 a calibration failure under
``--strict``; 2 bad arguments or spec.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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
        diagnostics, ...), sorted by ``sim``; for a spec with competing risks (``[data]
        censored``) those of :func:`bayessa.sbc.competing.fit_one_competing`, every cause's
        model fitted to each simulated data set; for an interval-censored spec those of
        :func:`bayessa.sbc.intervals.fit_one_interval`.

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

    fit, draws = _plan(config)
    if serial:
        for i, truth in enumerate(draws):
            got(fit(config, i, truth))
        return sorted(records, key=lambda r: r["sim"])
    try:
        from dask.distributed import as_completed
    except ImportError:
        raise SpecError(
            "the SBC runs its fits on dask.distributed: pip install 'bayessa[dask]' "
            "(or pass --serial to run them one by one in this process)"
        ) from None
    from bayessa.data.partitioned import dask_client

    with dask_client(scheduler, workers) as (client, _):  # the data engine's one cluster setup
        futures = [
            client.submit(fit, config, i, truth, key=f"sbc-fit-{config.seed}-{i}")
            for i, truth in enumerate(draws)
        ]
        for fut in as_completed(futures):
            got(fut.result())
    return sorted(records, key=lambda r: r["sim"])


def _prior_draws(config: SBCConfig) -> list[dict]:
    """Every simulation's prior draw, made once here (``pymc.draw`` on the template model)."""
    return draw_prior(build_template(config), config.sims, config.seed)


def _plan(config: SBCConfig) -> tuple[Callable[[SBCConfig, int, dict], dict], list[dict]]:
    """The function that runs one simulation, and every simulation's prior draw.

    A spec with competing risks runs :func:`bayessa.sbc.competing.fit_one_competing` on joint
    draws of every cause's parameters; an interval-censored spec
    :func:`bayessa.sbc.intervals.fit_one_interval` (the prior draws of the same template model);
    any other spec :func:`bayessa.sbc.sim.fit_one`.
    """
    from bayessa.sbc.competing import (
        build_competing_template,
        draw_joint_prior,
        fit_one_competing,
        is_competing,
    )
    from bayessa.sbc.intervals import fit_one_interval, is_interval

    if is_competing(config):
        draws = draw_joint_prior(build_competing_template(config), config.sims, config.seed)
        return fit_one_competing, draws
    if is_interval(config):
        return fit_one_interval, _prior_draws(config)
    return fit_one, _prior_draws(config)


def _flags(rec: dict, config: SBCConfig, suffix: str = "") -> list[str]:
    """Why a fit sampled poorly: divergences, R-hat > 1.01, bulk ESS below the rank draws.

    ``suffix`` (``":<cause>"``) reads one cause's diagnostics of a competing-risks record.
    """
    out = []
    if rec.get("divergences" + suffix, 0) > 0:
        out.append("divergent")
    if rec.get("max_rhat" + suffix, 1.0) > 1.01:
        out.append("rhat>1.01")
    if rec.get("min_ess_bulk" + suffix, np.inf) < config.rank_draws:
        out.append("ess<L")
    if rec.get("treedepth_hits" + suffix, 0) > 0:
        out.append("treedepth")
    return out


def summarize(
    records: list[dict],
    config: SBCConfig,
    *,
    n_rep: int = 10_000,
    causes: Sequence[str] | None = None,
) -> dict:
    """Per-quantity uniformity tests and the run's bookkeeping (failures, flags, events).

    Parameters
    ----------
    records : list of dict
        One per simulation, from :func:`run`; each fitted record gains ``flags``.
    config : SBCConfig
        The run's settings (``rank_draws``, ``seed``).
    n_rep : int, default 10000
        Simulations of the rank-ECDF band (:func:`bayessa.sbc.stats.ecdf_band`).
    causes : sequence of str, optional
        Competing risks (records of :func:`bayessa.sbc.competing.fit_one_competing`): add a
        ``causes`` entry, per cause its quantities' smallest ECDF p, that p times the number
        of its quantities (Bonferroni within the cause), its events and sampling flags.

    Returns
    -------
    dict
        Counts of simulations, failures, sampling flags and events; per quantity the ECDF and
        chi-square p-values; ``calibrated`` (no ECDF p below the Bonferroni threshold over every
        quantity, and no failed fit) and the ``verdict`` in words.
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
    if causes:
        out["causes"] = _per_cause(ok, config, quantities, failing, causes)
    out["verdict"] = (
        f"calibrated: no quantity's rank ECDF test has p < {ALPHA}/{len(labels)} "
        f"(smallest p = {min(s['ecdf_p'] for s in quantities.values()):.3f}; "
        f"{sum(not s['inside_95_band'] for s in quantities.values())} of {len(labels)} ECDFs leave "
        f"their own 95% band)"
        if out["calibrated"]
        else f"CALIBRATION FAILURE: {failing or 'fits failed: ' + str(len(failed))}"
    )
    return out


def _per_cause(
    ok: list[dict], config: SBCConfig, quantities: dict, failing: list[str], causes: Sequence[str]
) -> dict:
    """Each cause's share of a competing-risks summary: its quantities, events and flags."""
    out = {}
    for c in causes:
        qs = {q: s for q, s in quantities.items() if q.startswith(f"{c}:")}
        p = {q: s["ecdf_p"] for q, s in qs.items()}
        smallest = min(p, key=p.__getitem__)
        events = np.array([r[f"n_events:{c}"] for r in ok])
        flags: dict[str, int] = {}
        n_flagged = 0
        for r in ok:
            f = _flags(r, config, f":{c}")
            n_flagged += bool(f)
            for x in f:
                flags[x] = flags.get(x, 0) + 1
        out[c] = {
            "n_quantities": len(qs),
            "smallest_ecdf_p": p[smallest],
            "smallest_ecdf_p_quantity": smallest,
            "bonferroni_p": min(1.0, p[smallest] * len(qs)),
            "n_outside_95_band": sum(not s["inside_95_band"] for s in qs.values()),
            "failing_quantities": [q for q in failing if q in qs],
            "events": {
                "min": int(events.min()),
                "median": float(np.median(events)),
                "max": int(events.max()),
                "n_zero": int((events == 0).sum()),
            },
            "sampling_flags": flags,
            "n_flagged": n_flagged,
        }
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
            ncols = 8 if summary.get("causes") else 4  # competing risks: many quantities
            fig = plot_rank_ecdf(ranks, band, p_values=p, ncols=ncols)
            fig.savefig(d / "rank_ecdf.png", dpi=110)
            plt.close(fig)

    return write_atomically(out, files, overwrite=overwrite)
