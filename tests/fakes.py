"""Fake posteriors: DataTrees laid out like a saved run, with known draws and no sampling.

``tiny_tree`` builds a run by hand (design attrs, a few units) for hand-computed checks;
``fake_run`` puts seeded draws through the real pipeline after sampling
(:func:`bayessa.result.assemble`) on the bundled data, so reports can be tested end to end.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

CUTS = [0.0, 0.5, 1.0, 2.0, 5.0, 14.0]


def coef_levels_of(names: Sequence[str]) -> list[list[list[str]]]:
    """``"leader[professional]:era[early]"`` -> ``[["leader", "professional"], ["era", "early"]]``."""
    out = []
    for name in names:
        pairs = []
        for part in name.split(":"):
            var, level = part.rstrip("]").split("[", 1)
            pairs.append([var, level])
        out.append(pairs)
    return out


def tiny_tree(
    *,
    baseline: np.ndarray,
    beta: np.ndarray | None = None,
    coef_names: Sequence[str] = (),
    levels: Mapping[str, Sequence[str]] | None = None,
    terms: Sequence[str] = (),
    cluster_effect: np.ndarray | None = None,
    cluster_sd: np.ndarray | None = None,
    cluster_levels: Sequence[str] = (),
    units: pd.DataFrame | None = None,
    cuts: Sequence[float] = CUTS,
    strata: str | None = None,
    strata_levels: Sequence[str] = (),
    tv_delta: np.ndarray | None = None,
    tv_coefs: Sequence[str] = (),
) -> xr.DataTree:
    """A run's DataTree from arrays with a leading ``(chain, draw)`` shape.

    ``baseline`` is ``(C, D, K)`` (or ``(C, D, strata, K)``), ``beta`` ``(C, D, p)``,
    ``cluster_effect`` ``(C, D, G)``, ``cluster_sd`` ``(C, D)``, ``tv_delta`` ``(C, D, tv, K)``.
    ``units`` has ``id``, ``time``, ``event`` and covariate columns.
    """
    levels = {k: list(v) for k, v in (levels or {}).items()}
    K = len(cuts) - 1
    C, D = baseline.shape[:2]
    coords = {"chain": np.arange(C), "draw": np.arange(D), "interval": [f"k{k}" for k in range(K)]}
    bdims = ("chain", "draw", "stratum", "interval") if strata else ("chain", "draw", "interval")
    if strata:
        coords["stratum"] = list(strata_levels)
    post = {"baseline": (bdims, baseline)}
    if beta is not None:
        coords["coef"] = list(coef_names)
        post["beta"] = (("chain", "draw", "coef"), beta)
    if cluster_effect is not None:
        coords["county"] = list(cluster_levels)
        post["cluster_effect"] = (("chain", "draw", "county"), cluster_effect)
        post["cluster_sd"] = (("chain", "draw"), cluster_sd)
    if tv_delta is not None:
        coords["tv_coef"] = list(tv_coefs)
        post["tv_delta"] = (("chain", "draw", "tv_coef", "interval"), tv_delta)
    dt = xr.DataTree()
    dt["posterior"] = xr.Dataset(post, coords=coords)
    if units is None:
        units = pd.DataFrame({"id": ["u1", "u2"], "time": [1.0, 2.0], "event": [1, 0]})
    ucoords = {"unit": units["id"].astype(str).to_numpy()}
    dt["observed_data"] = xr.Dataset({"time": ("unit", units["time"].to_numpy(float))}, ucoords)
    const = {
        "time": ("unit", units["event"].to_numpy().astype(np.int8)),
        "entry": ("unit", np.zeros(len(units))),
    }
    for col in units.columns:
        if col not in ("id", "time", "event"):
            const[f"unit_{col}"] = ("unit", units[col].astype(str).to_numpy())
    dt["constant_data"] = xr.Dataset(const, ucoords)
    variables = [v for v in levels if v != strata]
    dt.attrs.update(
        {
            "bayessa_cuts": json.dumps([c if np.isfinite(c) else "inf" for c in cuts]),
            "bayessa_time_unit": "years",
            "bayessa_model_info": json.dumps(
                {
                    "strata": strata,
                    "strata_levels": list(strata_levels),
                    "time_varying_coefs": list(tv_coefs),
                }
            ),
            "bayessa_design": json.dumps(
                {
                    "formula": " + ".join(terms) or "1",
                    "variables": variables,
                    "levels": {v: levels[v] for v in variables},
                    "reference": {v: levels[v][0] for v in variables},
                    "terms": list(terms),
                    "coef_names": list(coef_names),
                    "coef_levels": coef_levels_of(coef_names),
                    "cluster": "county" if cluster_effect is not None else None,
                    "cluster_levels": list(cluster_levels),
                }
            ),
        }
    )
    return dt


def constant(value: float | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` broadcast to ``shape`` (a posterior that is the same in every draw)."""
    return np.broadcast_to(np.asarray(value, dtype=float), shape).copy()


def fake_run(
    spec_path: str | None = None,
    *,
    chains: int = 2,
    draws: int = 100,
    seed: int = 0,
    log_likelihood: bool = True,
    data=None,
    **overrides,
):
    """A :class:`~bayessa.result.FitResult` of the bundled data with seeded fake draws.

    With ``data`` (a path or DataFrame) and column roles in ``overrides``, of that table instead.

    Everything but sampling is real: the data are prepared, the design built and the DataTree
    assembled by :func:`bayessa.result.assemble`. Draws: baseline log hazard around
    ``log(0.15)`` falling with age, effects ~ N(0.2, 0.15), county effects ~ N(0, 0.2).
    """
    from bayessa.api.result import FitResult
    from bayessa.model.pem import ModelInfo, model_info
    from bayessa.model.preparation import prepare, resolve_spec
    from bayessa.posterior.datatree import assemble

    spec = resolve_spec(spec_path, data=data, **overrides)
    prepared = prepare(data, spec)
    design, cells = prepared.design, prepared.cells
    rng = np.random.default_rng(seed)
    K = len(prepared.pieces.cuts) - 1
    p = len(design.coef_names)
    cluster = design.random[0] if design.random else None
    strata = spec.model.strata
    strata_levels = [str(c) for c in cells.frame[strata].cat.categories] if strata else []
    coords = {
        "chain": np.arange(chains),
        "draw": np.arange(draws),
        "interval": [str(c) for c in cells.frame["interval"].cat.categories],
        "coef": list(design.coef_names),
    }
    shape = (chains, draws)
    trend = np.log(0.3) - 0.15 * np.arange(K)
    post = {"beta": (("chain", "draw", "coef"), rng.normal(0.2, 0.15, (*shape, p)))}
    if strata:
        coords["stratum"] = strata_levels
        base = trend + rng.normal(0, 0.1, (*shape, len(strata_levels), K))
        post["baseline"] = (("chain", "draw", "stratum", "interval"), base)
    else:
        post["baseline"] = (("chain", "draw", "interval"), trend + rng.normal(0, 0.1, (*shape, K)))
    tv = model_info(cells, design, spec).time_varying_coefs
    if tv:  # deviations per interval that sum to zero, as the model's ZeroSumNormal
        coords["tv_coef"] = list(tv)
        z = rng.normal(0, 0.3, (*shape, len(tv), K))
        post["tv_delta"] = (("chain", "draw", "tv_coef", "interval"), z - z.mean(-1, keepdims=True))
    if cluster is not None:
        coords[cluster.name] = list(cluster.levels)
        u = rng.normal(0, 0.2, (*shape, len(cluster.levels)))
        post["cluster_effect"] = (("chain", "draw", cluster.name), u - u.mean(-1, keepdims=True))
        post["cluster_sd"] = (("chain", "draw"), np.abs(rng.normal(0.2, 0.03, shape)))
    dt = xr.DataTree()
    dt["posterior"] = xr.Dataset(post, coords=coords)
    dt["sample_stats"] = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros(shape, bool)),
            "energy": (("chain", "draw"), rng.normal(0, 1, shape).cumsum(axis=1) * 0.3),
            "maxdepth_reached": (("chain", "draw"), np.zeros(shape, bool)),
        },
        coords={"chain": coords["chain"], "draw": coords["draw"]},
    )
    info = ModelInfo(
        n_cells=cells.n_cells,
        n_intervals=K,
        coef_names=tuple(design.coef_names),
        cluster=cluster.name if cluster else None,
        n_clusters=len(cluster.levels) if cluster else 0,
        parameterization="noncentered" if cluster else None,
        parameterization_reason="fake posterior",
        strata=strata,
        strata_levels=tuple(strata_levels),
        time_varying_coefs=tuple(tv),
    )
    dt = assemble(dt, prepared, spec, info, log_likelihood=log_likelihood)
    return FitResult(idata=dt, spec=spec, prepared=prepared, info=info)
