"""Fake fitted DataTrees for the predictive-check tests: any hazard, no sampling.

The trees carry exactly what :mod:`bayessa.ppc` reads from a real fit: ``posterior`` (or
``prior``), ``observed_data["time"]``, ``constant_data`` (``time`` status, ``entry``, ``origin``,
``unit_<var>``), optionally ``log_likelihood["time"]``, and the ``bayessa_*`` attrs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from bayessa.model.spec import Spec


def fake_tree(
    *,
    exit: Sequence[float],
    event: Sequence[int],
    baseline: np.ndarray,
    cuts: Sequence[float] = (0.0, np.inf),
    entry: Sequence[float] | None = None,
    origin: Sequence[float] | None = None,
    beta: np.ndarray | None = None,
    coef_levels: Sequence[Sequence[tuple[str, str]]] = (),
    unit_vars: Mapping[str, Sequence[str]] | None = None,
    cluster: tuple[str, Sequence[str], np.ndarray, np.ndarray] | None = None,
    periods: Sequence[str] = (),
    period_labels: Sequence[str] = (),
    log_likelihood: np.ndarray | None = None,
    chains: int = 1,
    design_attr: bool = True,
    group: str = "posterior",
    priors: Mapping[str, dict] | None = None,
) -> xr.DataTree:
    """A DataTree shaped like a bayessa fit.

    ``baseline`` is ``(S, K)`` log hazards (S draws, K intervals); ``beta`` ``(S, p)`` for the
    coefficients ``coef_levels``; ``cluster`` is ``(name, levels, unit values, effects (S, G))``
    with ``cluster_sd`` set to 0.5; ``log_likelihood`` ``(S, n)``.
    """
    exit_ = np.asarray(exit, dtype=float)
    n = exit_.size
    baseline = np.atleast_2d(np.asarray(baseline, dtype=float))
    S, K = baseline.shape
    assert S % chains == 0 and len(cuts) == K + 1
    D = S // chains

    def cd(a: np.ndarray) -> np.ndarray:
        return np.asarray(a).reshape(chains, D, *np.shape(a)[1:])

    units = np.array([f"U{i:04d}" for i in range(n)], dtype=object)
    names = [":".join(f"{v}[{lv}]" for v, lv in c) for c in coef_levels]
    post = {"baseline": (("chain", "draw", "interval"), cd(baseline))}
    coords: dict = {"chain": np.arange(chains), "draw": np.arange(D)}
    if names:
        post["beta"] = (("chain", "draw", "coef"), cd(np.asarray(beta, dtype=float)))
        coords["coef"] = names
    const = {
        "time": ("unit", np.asarray(event, dtype=np.int8)),
        "entry": ("unit", np.zeros(n) if entry is None else np.asarray(entry, dtype=float)),
        "origin": ("unit", np.full(n, np.nan) if origin is None else np.asarray(origin, float)),
    }
    for v, values in (unit_vars or {}).items():
        const[f"unit_{v}"] = ("unit", np.asarray(values, dtype=object))
    cname = None
    if cluster is not None:
        cname, levels, values, effects = cluster
        post["cluster_effect"] = (("chain", "draw", cname), cd(effects))
        post["cluster_sd"] = (("chain", "draw"), cd(np.full(S, 0.5)))
        coords[cname] = list(levels)
        const[f"unit_{cname}"] = ("unit", np.asarray(values, dtype=object))
    groups = {
        group: xr.Dataset(post, coords=coords),
        "observed_data": xr.Dataset({"time": ("unit", exit_)}, coords={"unit": units}),
        "constant_data": xr.Dataset(const, coords={"unit": units}),
    }
    if log_likelihood is not None:
        groups["log_likelihood"] = xr.Dataset(
            {"time": (("chain", "draw", "unit"), cd(log_likelihood))},
            coords={"chain": coords["chain"], "draw": coords["draw"], "unit": units},
        )
    tree = xr.DataTree.from_dict(groups)
    time_section: dict = {"cuts": [float(c) for c in cuts]}
    if periods:
        time_section |= {"periods": list(periods), "period_labels": list(period_labels)}
    spec = Spec.from_dict(
        {"model": {"formula": "x"}, "time": time_section, "priors": dict(priors or {})}
    )
    info = {
        "coef_names": names,
        "cluster": cname,
        "strata": None,
        "strata_levels": [],
        "time_varying_coefs": [],
    }
    tree.attrs.update(
        {
            "bayessa_spec": spec.to_toml(),
            "bayessa_model_info": json.dumps(info),
            "bayessa_cuts": json.dumps([float(c) if np.isfinite(c) else "inf" for c in cuts]),
            "bayessa_time_unit": "years",
        }
    )
    if design_attr:
        coding = [[list(p) for p in c] for c in coef_levels]
        tree.attrs["bayessa_design"] = json.dumps({"coef_levels": coding, "coef_names": names})
    return tree


def constant_hazard_tree(lam: float, n: int, *, S: int = 200, **kwargs) -> xr.DataTree:
    """Units that all had events, with one unit followed for 1e6 so nothing is censored."""
    exit_ = np.full(n, 10.0)
    exit_[0] = 1e6
    kwargs.setdefault("baseline", np.full((S, 1), np.log(lam)))
    return fake_tree(exit=exit_, event=np.ones(n, dtype=int), **kwargs)
