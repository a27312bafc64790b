"""Power-scaling prior sensitivity (bayessa.sensitivity) and prior draws (bayessa.ppc)."""

from __future__ import annotations

import numpy as np
import pytest
from _ppc_fakes import fake_tree
from scipy import stats

from bayessa.checks.sensitivity import (
    log_prior,
    power_scaled_hazard_ratios,
    prior_sensitivity,
    with_log_prior,
)
from bayessa.errors import SpecError

PRIORS = {
    "effects": {"dist": "student_t", "nu": 4, "mu": 0.1, "sigma": 2},
    "cluster_sd": {"dist": "halfstudent_t", "nu": 3, "sigma": 0.5},
    "baseline_smoothing": {"dist": "exponential", "lam": 2},
}


def _tree(beta: np.ndarray, *, chains: int = 1, log_likelihood=None, priors=None):
    S = beta.shape[0]
    tree = fake_tree(
        exit=[1.0, 2.0], event=[1, 0], baseline=np.zeros((S, 1)), beta=beta,
        coef_levels=[[("leader", f"l{j}")] for j in range(beta.shape[1])],
        unit_vars={"leader": ["l0", "l0"]}, chains=chains, log_likelihood=log_likelihood,
        priors=priors,
    )  # fmt: skip
    return tree


def test_log_prior_in_closed_form():
    rng = np.random.default_rng(1)
    beta = rng.normal(size=(6, 2))
    tree = _tree(beta, priors=PRIORS)
    post = tree["posterior"].dataset
    sd = np.abs(rng.normal(size=(1, 6)))
    tree["posterior"] = post.assign(
        cluster_sd=(("chain", "draw"), sd), baseline_sd=(("chain", "draw"), sd),
        baseline_start=(("chain", "draw"), -sd),
    )  # fmt: skip
    lp = log_prior(tree)
    assert set(lp.data_vars) == {"beta", "cluster_sd", "baseline_sd", "baseline_start"}
    np.testing.assert_allclose(lp["beta"].values[0], stats.t.logpdf(beta, 4, 0.1, 2))
    np.testing.assert_allclose(
        lp["cluster_sd"].values[0], np.log(2) + stats.t.logpdf(sd[0], 3, 0, 0.5)
    )
    np.testing.assert_allclose(lp["baseline_sd"].values[0], np.log(2) - 2 * sd[0])
    # the default baseline_level prior, normal(-2, 2)
    np.testing.assert_allclose(lp["baseline_start"].values[0], stats.norm.logpdf(-sd[0], -2, 2))
    assert "log_prior" in with_log_prior(tree).children


def test_power_scaling_a_prior_only_posterior_in_closed_form():
    """If the likelihood is flat, the posterior is the prior N(0, 1) and power-scaling it by
    alpha gives N(0, 1/alpha): the upper 97.5% HR is exp(1.96 / sqrt(alpha))."""
    beta = np.random.default_rng(2).normal(size=(8000, 1))
    table = power_scaled_hazard_ratios(_tree(beta, chains=4), alphas=(0.8, 1.0, 1.25))
    assert list(table["alpha"]) == [0.8, 1.0, 1.25] and (table["coef"] == "leader[l0]").all()
    z = stats.norm.ppf(0.975)
    for alpha, row in zip((0.8, 1.0, 1.25), table.itertuples(), strict=True):
        assert np.log(row.hr_upper) == pytest.approx(z / np.sqrt(alpha), abs=0.08)
        assert np.log(row.hr_lower) == pytest.approx(-z / np.sqrt(alpha), abs=0.08)
        assert row.pareto_k < 0.7
    unweighted = np.exp(np.quantile(beta, [0.025, 0.5, 0.975]))
    np.testing.assert_allclose(table.iloc[1][["hr_lower", "hr_median", "hr_upper"]].astype(float),
                               unweighted, rtol=2e-3)  # fmt: skip
    with pytest.raises(SpecError, match="unknown prior term"):
        power_scaled_hazard_ratios(_tree(beta[:10]), prior_terms=["nope"])


def test_prior_sensitivity_table():
    rng = np.random.default_rng(3)
    beta = rng.normal(0.5, 0.2, size=(1000, 2))
    ll = -((beta[:, :1] - 0.5) ** 2) / 0.08 * np.ones((1, 2))
    table = prior_sensitivity(_tree(beta, chains=2, log_likelihood=ll))
    assert list(table.index) == ["beta[leader[l0]]", "beta[leader[l1]]"]
    assert {"prior", "likelihood", "diagnosis"} <= set(table.columns)
    with pytest.raises(SpecError, match="log-likelihood"):
        prior_sensitivity(_tree(beta))


def test_prior_draws_and_log_prior_agree_with_pymc():
    """bayessa.prior_draws on the bundled data; the closed-form log prior equals PyMC's."""
    from pymc.stats import compute_log_prior

    from bayessa.checks.ppc import prior_draws, replicate_lifetimes
    from bayessa.model.pem import build_model
    from bayessa.model.preparation import prepare, resolve_spec

    spec = resolve_spec(None)
    tree = prior_draws(spec, draws=20, seed=3)
    assert {"prior", "observed_data", "constant_data"} <= set(tree.children)
    assert tree["prior"].sizes["draw"] == 20 and tree.attrs["bayessa_prior_seed"] == 3
    rep = replicate_lifetimes(tree, group="prior", seed=1)
    assert rep["time"].shape == (1, 20, tree["observed_data"].sizes["unit"])
    again = prior_draws(spec, draws=20, seed=3)
    np.testing.assert_array_equal(tree["prior"]["beta"], again["prior"]["beta"])

    prepared = prepare(None, spec)
    model, _ = build_model(prepared.cells, prepared.design, spec)
    fake = tree.copy()
    fake["posterior"] = tree["prior"].dataset
    ours = log_prior(tree, group="prior")
    theirs = compute_log_prior(
        fake, model=model, var_names=list(ours.data_vars), extend_inferencedata=False,
        progressbar=False,
    )  # fmt: skip
    for name in ours.data_vars:
        np.testing.assert_allclose(ours[name].values, theirs[name].values, rtol=1e-6)
