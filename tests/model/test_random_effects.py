"""Several random-effect terms, nesting and random slopes: design, log-probability, no sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from model_helpers import assert_events_loglik_by_hand, posterior_from_point, random_point, spec_for

from bayessa.data import Columns, read_data
from bayessa.data.cells import aggregate
from bayessa.data.lexis import split
from bayessa.errors import SpecError
from bayessa.model.design import build_design
from bayessa.model.loglik import unit_log_likelihood
from bayessa.model.pem import build_model
from bayessa.model.random import random_prefix
from bayessa.posterior.predict import log_rate


def units(seed=7, n=400):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n), "t": rng.exponential(3, n) + 0.01, "d": rng.integers(0, 2, n),
        "age": rng.integers(30, 80, n).astype(float), "sex": rng.choice(["f", "m"], n),
        "region": rng.choice(["N", "S"], n), "county": rng.choice(["a", "b", "c", "d"], n),
    })  # fmt: skip


def cells_for(formula: str):
    cols = Columns(id="id", time="t", event="d", covariates=("age", "sex"), cluster="county",
                   groups=("region",))  # fmt: skip
    data = read_data(units(), cols)
    cells = aggregate(split(data, [0, 1, 2, 4, 8], administrative_censoring=True))
    return data, cells, build_design(cells.frame, formula, units=data.frame)


def test_nested_factor_is_the_combinations_of_its_columns():
    _, cells, d = cells_for("sex + (1 | region/county)")
    assert [t.name for t in d.random] == ["region", "region:county"]
    nested = d.random[1]
    assert nested.columns == ("region", "county")
    f = cells.frame
    labels = f["region"].astype(str) + ":" + f["county"].astype(str)
    assert [nested.levels[c] for c in nested.codes] == list(labels)
    assert len(nested.levels) == 8


def test_random_slope_columns_are_the_fixed_columns():
    _, _, d = cells_for("age + sex + (1 + sex + age | county)")
    term = d.random[0]
    assert term.slopes == ["age", "sex[m]"]
    np.testing.assert_array_equal(term.Z, d.X[:, [0, 1]])


@pytest.mark.parametrize("formula", [
    "age + sex + (1 | county) + (1 | region)",
    "age + sex + (1 + sex | county) + (1 | region)",
    "sex + (1 | region/county)",
    "age * sex + (1 + age | county)",
])  # fmt: skip
def test_likelihood_with_several_terms_equals_hand_computed_poisson(formula):
    _, cells, d = cells_for(formula)
    model, info = build_model(cells, d, spec_for(formula))
    names = ["baseline", "beta"] + [
        f"{random_prefix(i, t.name)}_{part}" for i, t in enumerate(d.random)
        for part in ("effect", *(("slope",) if t.slopes else ()))
    ]  # fmt: skip
    terms = [(random_prefix(i, t.name), t.codes, t.Z) for i, t in enumerate(d.random)]
    post, eta = assert_events_loglik_by_hand(model, cells, names, 4, X=d.X, random=terms)
    # the per-unit log-likelihood sums to the cells' (minus the Poisson constant)
    ll_units = unit_log_likelihood(log_rate(post, interval=cells.frame["interval"].cat.codes
                                            .to_numpy(), X=d.X, random=terms), cells)  # fmt: skip
    kernel = np.sum(cells.events * eta - np.exp(eta) * cells.exposure)
    assert ll_units.sum() == pytest.approx(kernel, rel=1e-10)
    assert info.random_terms == tuple(t.name for t in d.random)


def test_slopes_sum_to_zero_and_follow_the_cholesky_factor():
    _, cells, d = cells_for("age + sex + (1 + sex | county)")
    model, info = build_model(cells, d, spec_for(d.formula))
    assert info.random_forms == ("noncentered",)
    point = random_point(model, np.random.default_rng(5))
    names = ["cluster_effect", "cluster_slope", "cluster_corr", "cluster_sd", "cluster_z"]
    post = posterior_from_point(model, point, names)
    u = post["cluster_effect"].values[0, 0]
    v = post["cluster_slope"].values[0, 0]
    assert abs(u.sum()) < 1e-12 and np.abs(v.sum(axis=0)).max() < 1e-12
    # rebuild from the packed Cholesky factor and the standard-normal z (zero-summed by PyMC)
    packed = model["cluster_chol"]
    chol_fn = model.compile_fn(model.replace_rvs_by_values([packed]), inputs=model.value_vars,
                               on_unused_input="ignore")  # fmt: skip
    L = np.zeros((2, 2))
    L[np.tril_indices(2)] = chol_fn(point)[0]
    z = post["cluster_z"].values[0, 0]  # standard normal, zero-summed over the counties
    w = L @ z
    np.testing.assert_allclose(u, w[0], rtol=1e-10)
    np.testing.assert_allclose(v[:, 0], w[1], rtol=1e-10)  # sex[m] is 0/1: scale 1
    sds = np.sqrt(np.diag(L @ L.T))
    np.testing.assert_allclose(post["cluster_sd"].values[0, 0], sds[0], rtol=1e-10)
    corr = (L @ L.T)[0, 1] / (sds[0] * sds[1])
    np.testing.assert_allclose(post["cluster_corr"].values[0, 0], [corr], rtol=1e-10)


def test_per_term_parameterization_and_override():
    _, cells, d = cells_for("sex + (1 | county) + (1 | region)")
    _, info = build_model(cells, d, spec_for(d.formula))
    ev = cells.events.sum() / 2  # two regions: hundreds of events each
    assert info.random_forms[1] == "centered" and ev > 20
    _, info = build_model(
        cells, d, spec_for(d.formula, random_parameterization={"region": "noncentered"})
    )
    assert info.random_forms[1] == "noncentered" and "requested" in info.random_reasons[1]
    with pytest.raises(SpecError, match="random_parameterization region = 'both'"):
        spec_for(d.formula, random_parameterization={"region": "both"})
