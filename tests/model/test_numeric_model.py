"""Numeric covariates, transforms and smooths: design columns and log-probability, no sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from model_helpers import (
    assert_events_loglik_by_hand,
    posterior_from_point,
    random_point,
    spec_for,
)
from scipy.interpolate import BSpline

from bayessa.data import Columns, read_data
from bayessa.data.cells import aggregate
from bayessa.data.lexis import split
from bayessa.errors import DataError, SpecError
from bayessa.model.design import build_design
from bayessa.model.numeric import knot_vector
from bayessa.model.pem import build_model, column_scales


def units(seed=5, n=300):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n), "t": rng.exponential(3, n) + 0.01, "d": rng.integers(0, 2, n),
        "age": rng.integers(30, 80, n).astype(float), "size": rng.lognormal(2, 0.5, n).round(1),
        "sex": rng.choice(["f", "m"], n), "g": rng.choice([f"k{i}" for i in range(5)], n),
    })  # fmt: skip


def prepared(formula, df=None, cuts=(0, 1, 2, 4, 8), **kw):
    df = units() if df is None else df
    cols = Columns(id="id", time="t", event="d", covariates=("age", "size", "sex"), cluster="g")
    data = read_data(df, cols)
    cells = aggregate(split(data, list(cuts), administrative_censoring=True))
    return data, cells, build_design(cells.frame, formula, units=data.frame, **kw)


# ------------------------------------------------------------------------------- design columns


def test_numeric_cells_hold_distinct_values_and_pieces_sum_exactly():
    data, cells, _ = prepared("age + sex")
    f = cells.frame
    assert f["age"].dtype == np.float64
    key = ["interval", "age", "size", "sex", "g"]
    assert not f.duplicated(key).any()  # one cell per distinct combination
    pieces = cells.pieces.frame
    assert f["events"].sum() == pieces["event"].sum()
    np.testing.assert_allclose(f["exposure"].sum(), pieces["exposure"].sum(), rtol=1e-12)
    # every piece's age is its cell's age
    np.testing.assert_array_equal(pieces["age"].to_numpy(), f["age"].to_numpy()[cells.piece_cell])


@pytest.mark.parametrize(
    "written, expected",
    [
        ("age", lambda a, m, s: a),
        ("center(age)", lambda a, m, s: a - m),
        ("scale(age)", lambda a, m, s: (a - m) / s),
        ("log(age)", lambda a, m, s: np.log(a)),
        ("log2(age)", lambda a, m, s: np.log2(a)),
        ("log10(age)", lambda a, m, s: np.log10(a)),
        ("sqrt(age)", lambda a, m, s: np.sqrt(a)),
    ],
)
def test_transforms_use_the_units_mean_sd_and_median(written, expected):
    data, cells, d = prepared(written)
    u = data.frame["age"].to_numpy()
    m, s, r = u.mean(), u.std(ddof=1), np.median(u)
    raw = expected(cells.frame["age"].to_numpy(), m, s)
    ref = expected(np.array([r]), m, s)[0]
    np.testing.assert_allclose(d.X[:, 0], raw - ref, rtol=1e-12, atol=1e-12)
    assert d.coef_names == [written] and d.numeric[written].reference == r
    # new rows are transformed the same way
    new = pd.DataFrame({"age": [40.0, 70.0]})
    np.testing.assert_allclose(d.transform(new)[:, 0], expected(new["age"].to_numpy(), m, s) - ref)


def test_interactions_with_numeric_components():
    _, cells, d = prepared("age * sex + age:size")
    # numeric x numeric is the product alone, as in R (no 'size' main effect is added)
    assert d.coef_names == ["age", "sex[m]", "age:sex[m]", "age:size"]
    f = cells.frame
    a, z, m = f["age"].to_numpy(), f["size"].to_numpy(), (f["sex"] == "m").to_numpy()
    ra, rz = d.numeric_columns["age"], d.numeric_columns["size"]
    np.testing.assert_allclose(d.X[:, 2], a * m)  # the reference profile has sex = f: 0
    np.testing.assert_allclose(d.X[:, 3], a * z - ra * rz)
    # 'age:sex' alone: R spans age x every level of sex -> coded age + age:sex[m]
    assert prepared("age:sex")[2].coef_names == ["age", "age:sex[m]"]


def test_numeric_reference_moves_only_the_baseline():
    _, _, d = prepared("age + sex", reference={"age": 60})
    _, _, d0 = prepared("age + sex")
    np.testing.assert_allclose(d.x_reference, [60.0, 0.0])
    # the columns differ by a constant: the same model, a different baseline
    assert np.ptp(d.X[:, 0] - d0.X[:, 0]) == pytest.approx(0, abs=1e-12)
    assert d.transform(pd.DataFrame({"age": [60.0], "sex": ["f"]})).tolist() == [[0.0, 0.0]]


def test_domain_and_type_errors_name_the_column_and_units():
    df = units()
    df.loc[[3, 7], "size"] = 0.0
    with pytest.raises(DataError) as exc:
        prepared("log(size)", df)
    msg = str(exc.value)
    assert "'log(size)' needs size > 0" in msg and "(2 units: 3, 7)" in msg
    with pytest.raises(SpecError, match="but the formula uses log\\(sex\\)"):
        prepared("log(sex)")
    with pytest.raises(DataError, match=r"covariate has a single value \['1'\]"):
        prepared("scale(size)", units().assign(size=1.0))  # caught when the data are read
    with pytest.raises(SpecError, match="reference 'old' of the numeric covariate 'age'"):
        prepared("age", reference={"age": "old"})


def test_c_makes_a_numeric_column_categories():
    _, _, d = prepared("C(age) + sex", df=units().assign(age=lambda f: f["age"] // 20 * 20))
    assert d.coef_names == ["age[40]", "age[60]", "sex[m]"]
    assert not d.numeric


# ------------------------------------------------------------------------------------- smooths


def test_smooth_basis_is_zero_at_the_reference_and_spans_the_spline_space():
    data, cells, d = prepared("s(age, k=6) + sex")
    assert d.coef_names == [f"s(age)[{j}]" for j in range(2, 7)] + ["sex[m]"]
    u = data.frame["age"].to_numpy()
    t = np.asarray(knot_vector(u.min(), u.max(), 6))
    B = BSpline.design_matrix(cells.frame["age"].to_numpy(), t, 3).toarray()
    Br = BSpline.design_matrix([np.median(u)], t, 3).toarray()
    np.testing.assert_allclose(d.X[:, :5], B[:, 1:] - Br[:, 1:], atol=1e-12)
    np.testing.assert_allclose(B.sum(axis=1), 1.0)  # partition of unity: b_1 = 0 loses nothing
    with pytest.raises(DataError, match="was fitted on 30 to 79; values outside"):
        d.transform(pd.DataFrame({"age": [90.0], "sex": ["f"]}))


@pytest.mark.parametrize("form", ["centered", "noncentered"])
def test_smooth_coefficients_follow_the_integrated_random_walk(form):
    _, cells, d = prepared("s(age, k=6) + sex")
    spec = spec_for(d.formula, random_parameterization={"s(age)": form})
    model, info = build_model(cells, d, spec)
    assert info.smooth_forms[0][:2] == ("age", form)
    rng = np.random.default_rng(1)
    point = random_point(model, rng)
    post = posterior_from_point(model, point, ["beta"])
    sigma = np.exp(point["s_age_sd_log__"])
    delta = 1 / (6 - 3)
    slope0 = point["s_age_slope"]
    steps = point["s_age_step"] if form == "centered" else sigma * np.sqrt(delta) * point["s_age_z"]
    slope = np.r_[slope0, slope0 + np.cumsum(steps)]
    b = np.cumsum(slope * delta)  # b_2 .. b_6
    np.testing.assert_allclose(post["beta"].values[0, 0, :5], b, rtol=1e-12)
    # the other effect is sampled per SD (scale 1 for a 0/1 column)
    np.testing.assert_allclose(post["beta"].values[0, 0, 5], point["beta_z"][0], rtol=1e-12)
    assert info.coef_scales[:5] == (1.0,) * 5


def test_numeric_and_smooth_likelihood_equals_hand_computed_poisson():
    _, cells, d = prepared("s(size, k=5) + age * sex + log(age):sex + (1 | g)")
    model, _ = build_model(cells, d, spec_for(d.formula))
    names = ["baseline", "beta", "cluster_effect"]
    assert_events_loglik_by_hand(model, cells, names, 2, X=d.X, cluster=d.random[0].codes)


def test_numeric_effects_are_sampled_per_sd():
    _, cells, d = prepared("age + sex")
    s = column_scales(d.X, cells.events)
    w = cells.events / cells.events.sum()
    age = d.X[:, 0]
    assert s[0] == pytest.approx(np.sqrt(w @ (age - w @ age) ** 2)) and s[1] == 1.0
    model, info = build_model(cells, d, spec_for(d.formula))
    point = random_point(model, np.random.default_rng(3))
    post = posterior_from_point(model, point, ["beta"])
    np.testing.assert_allclose(post["beta"].values[0, 0], point["beta_z"] / s, rtol=1e-12)
    assert {v.name for v in model.free_RVs} >= {"beta_z"} and "beta" not in {
        v.name for v in model.free_RVs
    }


def test_smooth_steps_are_centred_when_the_data_inform_each_basis_function():
    """The baseline walk's rule (>= 25 events per basis function): a wave with ~2,000 events
    mixed with ESS ~4,000 and no divergences centred, ESS 391 and 20 divergences non-centred."""
    _, cells, d = prepared("s(age, k=6) + sex")
    per = cells.events.sum() / 6
    _, info = build_model(cells, d, spec_for(d.formula))
    column, form, reason = info.smooth_forms[0]
    assert form == ("centered" if per >= 25 else "noncentered")
    assert f"events per basis function {per:.3g}" in reason
    _, cells, d = prepared("s(age, k=40) + sex")
    assert build_model(cells, d, spec_for(d.formula))[1].smooth_forms[0][1] == "noncentered"


def test_smooth_cannot_be_time_varying():
    _, cells, d = prepared("s(age) + sex")
    with pytest.raises(SpecError, match="enters through a smooth s\\(age\\)"):
        build_model(cells, d, spec_for(d.formula, time_varying=["age"]))


def test_time_varying_reaches_a_transformed_column():
    _, cells, d = prepared("log(age) + sex")
    _, info = build_model(cells, d, spec_for(d.formula, time_varying=["age"]))
    assert info.time_varying_coefs == ("log(age)",)


def test_time_varying_numeric_effect_likelihood_equals_hand_computed_poisson():
    """tv_delta of a numeric column is stored per unit (sampled per SD): log_rate with it
    must reproduce the model's likelihood exactly."""
    _, cells, d = prepared("age + sex")
    model, info = build_model(cells, d, spec_for(d.formula, time_varying=["age"]))
    assert info.time_varying_coefs == ("age",) and info.coef_scales[0] != 1.0
    names = ["baseline", "beta", "tv_delta"]
    assert_events_loglik_by_hand(model, cells, names, 6, X=d.X, tv_columns=[0])
