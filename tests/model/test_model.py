"""Model building and log-probability, without sampling."""

from __future__ import annotations

import numpy as np
import pytest
from model_helpers import posterior_from_point, random_point, small_cells, spec_for
from scipy import stats

from bayessa.errors import SpecError
from bayessa.model.design import build_design
from bayessa.model.loglik import unit_log_likelihood
from bayessa.model.pem import build_model, choose_parameterization, interval_spacing
from bayessa.model.preparation import prepare, resolve_spec
from bayessa.posterior.predict import log_rate


@pytest.mark.parametrize(
    "baseline, param, walk",
    [
        ("iid", "centered", "auto"),
        ("rw1", "noncentered", "noncentered"),
        ("rw1", "centered", "centered"),
        ("rw2", "noncentered", "centered"),
        ("rw2", "centered", "noncentered"),
    ],
)
def test_likelihood_equals_hand_computed_poisson(baseline, param, walk):
    cells = small_cells()
    spec = spec_for(
        "x * z + (1 | g)",
        baseline=baseline,
        cluster_parameterization=param,
        baseline_parameterization=walk,
    )
    design = build_design(cells.frame, spec.model.formula)
    model, info = build_model(cells, design, spec)
    assert info.parameterization == param
    assert info.baseline_parameterization == (None if baseline == "iid" else walk)
    rng = np.random.default_rng(0)
    for _ in range(3):
        point = random_point(model, rng)
        ll_model = model.compile_logp(vars=[model["events"]], jacobian=False)(point)
        post = posterior_from_point(model, point, ["baseline", "beta", "cluster_effect"])
        eta = log_rate(
            post,
            interval=cells.frame["interval"].cat.codes.to_numpy(),
            X=design.X,
            cluster=design.random[0].codes,
        )[0]
        mu = np.exp(eta) * cells.exposure
        ll_hand = stats.poisson.logpmf(cells.events, mu).sum()
        ll_direct = np.sum(cells.events * np.log(mu) - mu) - np.sum(
            [np.sum(np.log(np.arange(1, d + 1))) for d in cells.events]
        )
        np.testing.assert_allclose(ll_model, ll_hand, rtol=1e-10)
        np.testing.assert_allclose(ll_hand, ll_direct, rtol=1e-10)


def test_time_varying_and_strata_likelihood():
    cells = small_cells()
    spec = spec_for("x + (1 | g)", strata="z", time_varying=["x"])
    design = build_design(cells.frame, spec.model.formula)
    model, info = build_model(cells, design, spec)
    assert info.strata == "z" and info.time_varying_coefs == ("x[b]",)
    assert model.named_vars_to_dims["baseline"] == ("stratum", "interval")
    assert model.named_vars_to_dims["tv_delta"] == ("tv_coef", "interval")
    rng = np.random.default_rng(1)
    point = random_point(model, rng)
    ll_model = model.compile_logp(vars=[model["events"]], jacobian=False)(point)
    post = posterior_from_point(model, point, ["baseline", "beta", "cluster_effect", "tv_delta"])
    f = cells.frame
    eta = log_rate(
        post, interval=f["interval"].cat.codes.to_numpy(), X=design.X, stratum=f["z"].cat.codes.to_numpy(),
        cluster=design.random[0].codes, tv_columns=[0],
    )[0]  # fmt: skip
    np.testing.assert_allclose(
        ll_model, stats.poisson.logpmf(cells.events, np.exp(eta) * cells.exposure).sum(), rtol=1e-10
    )
    # the time-varying deviations sum to zero over intervals, so beta is the average log HR
    np.testing.assert_allclose(post["tv_delta"].sum("interval").values, 0.0, atol=1e-12)


def test_named_dims_and_coords():
    cells = small_cells()
    spec = spec_for("x * z + (1 | g)")
    design = build_design(cells.frame, spec.model.formula)
    model, _ = build_model(cells, design, spec)
    assert model.coords["coef"] == tuple(design.coef_names)
    assert model.coords["interval"] == ("(0,1]", "(1,2]", "(2,4]", "(4,8]")
    assert model.coords["g"] == tuple(f"k{i}" for i in range(6))
    assert model.named_vars_to_dims["beta"] == ("coef",)
    assert model.named_vars_to_dims["cluster_effect"] == ("g",)
    assert model.named_vars_to_dims["events"] == ("cell",)


def test_per_unit_loglik_sums_to_cell_loglik_minus_constant():
    cells = small_cells(periods=[1990.0])
    spec = spec_for("x + (1 | g)")
    design = build_design(cells.frame, spec.model.formula)
    model, _ = build_model(cells, design, spec)
    rng = np.random.default_rng(5)
    point = random_point(model, rng)
    post = posterior_from_point(model, point, ["baseline", "beta", "cluster_effect"])
    lr = log_rate(
        post,
        interval=cells.frame["interval"].cat.codes.to_numpy(),
        X=design.X,
        cluster=design.random[0].codes,
    )
    ll_units = unit_log_likelihood(lr, cells)
    assert ll_units.shape == (1, cells.pieces.n_units)
    D, T = cells.events, cells.exposure
    ll_cells = np.sum(D * (lr[0] + np.log(T)) - np.exp(lr[0]) * T)
    np.testing.assert_allclose(ll_units.sum(), ll_cells - np.sum(D * np.log(T)), rtol=1e-10)


def test_baseline_walk_parameterization_follows_events_per_interval():
    many = small_cells(n=2000)  # hundreds of events per interval: the data pin the baseline
    few = small_cells(n=40)
    for cells, expected in ((many, "centered"), (few, "noncentered")):
        spec = spec_for("x")
        _, info = build_model(cells, build_design(cells.frame, "x"), spec)
        assert info.baseline_parameterization == expected, info.baseline_parameterization_reason


def test_parameterization_rule():
    assert choose_parameterization(np.array([1, 2, 3, 50]))[0] == "noncentered"
    assert choose_parameterization(np.array([30, 25, 40]))[0] == "centered"
    assert choose_parameterization(np.array([1, 2]), "centered")[0] == "centered"


def test_interval_spacing():
    np.testing.assert_allclose(interval_spacing(np.array([0, 1, 3, 7.0])), [1.5, 3.0])
    np.testing.assert_allclose(interval_spacing(np.array([0, 1, 3, np.inf])), [1.5, 2.0])


def test_bad_model_options_are_spec_errors():
    cells = small_cells()
    with pytest.raises(SpecError, match="also appears in the formula"):
        spec = spec_for("x + z", strata="z")
        build_model(cells, build_design(cells.frame, "x + z"), spec)
    with pytest.raises(SpecError, match="time_varying variable 'q'"):
        spec = spec_for("x", time_varying=["q"])
        build_model(cells, build_design(cells.frame, "x"), spec)


def test_prepare_default_spec_on_bundled_data(root):
    spec = resolve_spec(root / "models" / "partnership.toml")
    p = prepare(None, spec)
    assert p.data.n_units == 360 and p.data.audit.rows_kept == 360
    assert p.design.coef_names[0] == "leader[professional]"
    assert int(p.cells.events.sum()) == p.data.n_events
    model, info = build_model(p.cells, p.design, spec)
    assert info.parameterization == "noncentered" and info.n_clusters == len(
        p.design.random[0].levels
    )
    assert np.isfinite(model.compile_logp()(model.initial_point()))


def test_calendar_spec_requires_periods(root):
    spec = resolve_spec(root / "models" / "calendar_era.toml")
    p = prepare(None, spec)
    assert "calendar_era" in p.cells.frame.columns
    assert list(p.cells.frame["calendar_era"].cat.categories) == ["before", "early", "formal"]
    bad = spec.with_overrides(time__periods=[], time__period_labels=[])
    with pytest.raises(SpecError, match="no calendar cut points"):
        prepare(None, bad)
