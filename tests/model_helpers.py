"""Shared by the model and sampling tests: small simulated cells, specs and random points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayessa.data import Columns, read_data
from bayessa.data.cells import aggregate
from bayessa.data.lexis import split
from bayessa.model.spec import Spec


def small_cells(seed=3, n=400, cuts=(0, 1, 2, 4, 8), periods=None):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "id": np.arange(n), "t": rng.exponential(3, n) + 0.01, "d": rng.integers(0, 2, n),
        "o": rng.uniform(1985, 1995, n), "x": rng.choice(["a", "b"], n), "z": rng.choice(["p", "q", "r"], n),
        "g": rng.choice([f"k{i}" for i in range(6)], n),
    })  # fmt: skip
    data = read_data(
        df, Columns(id="id", time="t", event="d", origin="o", covariates=("x", "z"), cluster="g")
    )
    pieces = split(data, list(cuts), periods=periods, administrative_censoring=True)
    return aggregate(pieces)


def spec_for(formula, **model):
    return Spec.from_dict({"model": {"formula": formula, **model}})


def posterior_from_point(model, point, names):
    """A one-draw fake posterior holding the model's named variables at ``point``."""
    # random variables must be replaced by their value variables, or compile_fn draws from them
    outs = model.replace_rvs_by_values([model[n] for n in names])
    fn = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")
    values = fn(point)
    ds = {}
    for n, v in zip(names, values, strict=True):
        dims = model.named_vars_to_dims.get(n, ())
        ds[n] = (("chain", "draw", *dims), np.asarray(v)[None, None])
    return xr.Dataset(ds, coords={k: list(v) for k, v in model.coords.items()})


def random_point(model, rng):
    return {
        v.name: rng.normal(0, 0.7, size=np.shape(model.initial_point()[v.name]))
        for v in model.value_vars
    }


def assert_events_loglik_by_hand(model, cells, names, seed, **rows):
    """At three random points the model's Poisson log-likelihood of the cells' events equals the
    one computed by hand from ``log_rate`` of the point's ``names`` (``rows``: its ``X``,
    ``cluster``, ``tv_columns``, ``random``). Returns the last point's posterior and log rate."""
    from scipy import stats

    from bayessa.posterior.predict import log_rate

    rng = np.random.default_rng(seed)
    interval = cells.frame["interval"].cat.codes.to_numpy()
    for _ in range(3):
        point = random_point(model, rng)
        ll_model = model.compile_logp(vars=[model["events"]], jacobian=False)(point)
        post = posterior_from_point(model, point, names)
        eta = log_rate(post, interval=interval, **rows)[0]
        ll_hand = stats.poisson.logpmf(cells.events, np.exp(eta) * cells.exposure).sum()
        np.testing.assert_allclose(ll_model, ll_hand, rtol=1e-10)
    return post, eta
