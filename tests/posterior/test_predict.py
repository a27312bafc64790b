"""Posterior quantities on fake posteriors (no sampling), against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fakes import CUTS, constant, tiny_tree
from scipy import integrate, optimize, stats

from bayessa.errors import SpecError
from bayessa.posterior.curves import (
    Mixture,
    Predictor,
    cumulative_hazard,
    median_survival,
    rmst,
    summarise,
    survival,
)
from bayessa.posterior.effects import contrast_table, contrasts
from bayessa.posterior.predict import DesignInfo, profile_log_hazard, thin, unit_frame

K = len(CUTS) - 1
LAM = 0.3


# ---------------------------------------------------------------------------- closed forms


def test_constant_hazard_survival_rmst_median():
    """Constant hazard: S(t) = exp(-lam t), RMST = (1 - exp(-lam tau)) / lam, median = ln 2 / lam."""
    eta = np.full((1, K), np.log(LAM))
    t = np.array([0.0, 0.25, 0.5, 1.7, 5.0, 13.9, 14.0])
    np.testing.assert_allclose(survival(eta, CUTS, t)[0], np.exp(-LAM * t), rtol=1e-13)
    np.testing.assert_allclose(cumulative_hazard(eta, CUTS, t)[0], LAM * t, rtol=1e-13)
    for tau in (0.3, 2.0, 7.5, 14.0):
        np.testing.assert_allclose(rmst(eta, CUTS, tau), (1 - np.exp(-LAM * tau)) / LAM, rtol=1e-13)
    np.testing.assert_allclose(median_survival(eta, CUTS), np.log(2) / LAM, rtol=1e-13)


def test_piecewise_hazard_by_hand():
    """Hazards 1.0 on (0,0.5], 0.2 on (0.5,1], 0.1 after: every quantity computed by hand."""
    lam = np.array([1.0, 0.2, 0.1, 0.1, 0.1])
    eta = np.log(lam)[None, :]
    # H(0.5) = 0.5; H(0.8) = 0.5 + 0.2*0.3 = 0.56; H(1) = 0.6; H(3) = 0.6 + 0.1*2 = 0.8
    np.testing.assert_allclose(
        survival(eta, CUTS, [0.5, 0.8, 1.0, 3.0])[0], np.exp(-np.array([0.5, 0.56, 0.6, 0.8]))
    )
    # RMST(3) = (1 - e^-0.5)/1 + e^-0.5 (1 - e^-0.1)/0.2 + e^-0.6 (1 - e^-0.2)/0.1
    want = (1 - np.exp(-0.5)) + np.exp(-0.5) * (1 - np.exp(-0.1)) / 0.2
    want += np.exp(-0.6) * (1 - np.exp(-0.2)) / 0.1
    np.testing.assert_allclose(rmst(eta, CUTS, 3.0), want, rtol=1e-13)
    # S reaches 1/2 after t = 1 (H(1) = 0.6 < ln 2): t = 1 + (ln 2 - 0.6) / 0.1
    np.testing.assert_allclose(median_survival(eta, CUTS), 1 + (np.log(2) - 0.6) / 0.1)
    # median in the first interval when the first hazard is large: ln 2 / 5
    np.testing.assert_allclose(median_survival(np.log([[5.0, 1, 1, 1, 1]]), CUTS), np.log(2) / 5)


def test_median_beyond_follow_up_is_inf_and_tiny_hazard_rmst():
    eta = np.full((2, K), np.log(1e-3))
    assert np.isinf(median_survival(eta, CUTS)).all()
    eta0 = np.full((1, K), -800.0)  # exp underflows to 0: RMST is tau, S is 1
    np.testing.assert_allclose(rmst(eta0, CUTS, 5.0), 5.0)


def test_open_last_interval():
    cuts = [0.0, 1.0, np.inf]
    eta = np.log([[0.1, 0.5]])
    np.testing.assert_allclose(median_survival(eta, cuts), 1 + (np.log(2) - 0.1) / 0.5)
    mix = Mixture(eta[None], np.ones(1), np.array(cuts), "x", "none",
                  np.array([[0.0, 0.0]]), np.array([0.5, 0.5]))  # fmt: skip
    np.testing.assert_allclose(mix.median(), 1 + (np.log(2) - 0.1) / 0.5, rtol=1e-12)


def test_times_outside_follow_up_are_refused():
    eta = np.zeros((1, K))
    with pytest.raises(SpecError, match="modelled follow-up"):
        survival(eta, CUTS, [15.0])
    with pytest.raises(SpecError, match="modelled follow-up"):
        rmst(eta, CUTS, -1.0)


def test_mixture_median_matches_root_of_the_average():
    """A two-component mixture has no closed-form median: bisection vs brentq."""
    eta = np.log(np.array([[[0.1] * K, [1.0] * K]]))  # (1 draw, 2 components, K)
    mix = Mixture(eta, np.array([0.3, 0.7]), np.array(CUTS), "m", "none")
    f = lambda t: 0.3 * np.exp(-0.1 * t) + 0.7 * np.exp(-t) - 0.5  # noqa: E731
    np.testing.assert_allclose(mix.median(), optimize.brentq(f, 0, 14, xtol=1e-14), rtol=1e-10)
    t = np.array([0.0, 1.0, 4.0])
    np.testing.assert_allclose(mix.survival(t)[0], f(t) + 0.5, rtol=1e-13)
    want = 0.3 * (1 - np.exp(-0.1 * 3)) / 0.1 + 0.7 * (1 - np.exp(-3.0))
    np.testing.assert_allclose(mix.rmst(3.0), want, rtol=1e-13)


# ---------------------------------------------------------------------------- fake runs


def _leader_era_tree(beta, *, draws=4, cluster=True):
    """leader * era + setting, constant draws of the given beta (6 coefficients)."""
    names = [
        "leader[professional]",
        "era[early]",
        "era[formal]",
        "setting[mental_health]",
        "leader[professional]:era[early]",
        "leader[professional]:era[formal]",
    ]
    levels = {
        "leader": ["consumer", "professional"],
        "era": ["before", "early", "formal"],
        "setting": ["community", "mental_health"],
    }
    units = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "time": [1.0, 2.0, 3.0, 4.0],
            "event": [1, 0, 1, 0],
            "leader": ["consumer", "professional", "consumer", "consumer"],
            "era": ["before", "early", "formal", "formal"],
            "setting": ["community", "community", "mental_health", "community"],
            "county": ["A", "B", "B", "A"],
        }
    )
    shape = beta.shape[:2] if np.ndim(beta) == 3 else (1, draws)
    kw = {}
    if cluster:
        kw = dict(
            cluster_effect=constant([0.4, -0.4], (*shape, 2)),
            cluster_sd=constant(0.5, shape),
            cluster_levels=["A", "B"],
        )
    return tiny_tree(
        baseline=constant(np.log(LAM), (*shape, K)),
        beta=constant(beta, (*shape, 6)),
        coef_names=names,
        levels=levels,
        terms=["leader", "era", "setting", "leader:era"],
        units=units,
        **kw,
    )


B = np.array([0.5, -0.2, -0.3, 0.4, 0.1, -0.6])


def test_design_rows_and_interactions():
    info = DesignInfo.from_datatree(_leader_era_tree(B))
    X = info.rows([{"leader": "professional", "era": "formal", "setting": "community"}])
    np.testing.assert_array_equal(X, [[1, 0, 1, 0, 0, 1]])
    assert info.interacting("leader") == ["era"]
    assert info.interacting("setting") == []
    with pytest.raises(SpecError, match="unknown level"):
        info.rows([{"leader": "boss", "era": "formal", "setting": "community"}])
    with pytest.raises(SpecError, match="lack 'setting'"):
        info.rows([{"leader": "consumer", "era": "formal"}])


def test_contrasts_within_each_era_by_hand():
    dt = _leader_era_tree(B)
    tab = contrast_table(dt).set_index("label")
    lead = tab[tab["variable"] == "leader"]
    # professional vs consumer: beta_leader + beta_leader:era[e]; reference era beta_leader alone
    want = {"before": B[0], "early": B[0] + B[4], "formal": B[0] + B[5]}
    for era, lhr in want.items():
        row = lead[lead["within"] == f"era = {era}"].iloc[0]
        np.testing.assert_allclose(row["hr_median"], np.exp(lhr))
        assert row["p_hr_gt_1"] == float(lhr > 0)
        assert "same for every setting" in row.name
    # era formal vs early among professionals: (b2 + b5) - (b1 + b4)
    row = tab.loc["era: formal vs early | leader = professional (same for every setting)"]
    np.testing.assert_allclose(np.log(row["hr_median"]), (B[2] + B[5]) - (B[1] + B[4]))
    assert row["combination"] == (
        "- β[era[early]] + β[era[formal]] - β[leader[professional]:era[early]]"
        " + β[leader[professional]:era[formal]]"
    )
    setting = tab[tab["variable"] == "setting"]
    assert len(setting) == 1 and "same for every leader and every era" in setting.index[0]
    assert len(contrasts(DesignInfo.from_datatree(dt), pairs="reference")) == 3 + 2 * 2 + 1


def test_contrast_interval_and_probability_from_draws():
    """Draws of beta_leader spread 0..0.99 (100 values): quantiles and P(HR > 1) by hand."""
    b = np.tile(B, (1, 100, 1))
    b[0, :, 0] = np.linspace(-0.5, 0.49, 100)
    tab = contrast_table(_leader_era_tree(b, draws=100), ci_prob=0.9)
    row = tab[(tab["variable"] == "leader") & (tab["within"] == "era = before")].iloc[0]
    x = np.linspace(-0.5, 0.49, 100)
    np.testing.assert_allclose(row["hr_lower"], np.exp(np.quantile(x, 0.05)))
    np.testing.assert_allclose(row["hr_upper"], np.exp(np.quantile(x, 0.95)))
    assert row["p_hr_gt_1"] == pytest.approx(np.mean(x > 0))
    np.testing.assert_allclose(row["log_hr_sd"], x.std(ddof=1))


def test_contrast_mle_columns():
    from types import SimpleNamespace

    dt = _leader_era_tree(B)
    names = list(DesignInfo.from_datatree(dt).coef_names)
    V = np.diag(np.arange(1, 7) * 0.01)
    mle = SimpleNamespace(names=["interval[x]", *names], coef=np.r_[0.0, B],
                          cov=np.pad(V, ((1, 0), (1, 0))))  # fmt: skip
    row = contrast_table(dt, mle=mle).iloc[1]  # leader within era = early
    se = np.sqrt(0.01 + 0.05)
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(row["mle_hr"], np.exp(B[0] + B[4]))
    np.testing.assert_allclose(row["mle_lower"], np.exp(B[0] + B[4] - z * se))


def test_profile_conditional_on_a_county():
    dt = _leader_era_tree(B)
    p = Predictor(dt)
    prof = {"leader": "professional", "era": "early", "setting": "mental_health"}
    lam = LAM * np.exp(B[0] + B[1] + B[3] + B[4] + 0.4)  # county A: u = 0.4
    mix = p.profile(prof, cluster="A")
    assert mix.cluster == "conditional on county = A"
    np.testing.assert_allclose(mix.survival([2.0])[:, 0], np.exp(-lam * 2.0))
    np.testing.assert_allclose(mix.median(), np.log(2) / lam)
    np.testing.assert_allclose(mix.rmst(5.0), (1 - np.exp(-lam * 5)) / lam)
    with pytest.raises(SpecError, match="cluster must be"):
        p.profile(prof, cluster="Nowhere")


@pytest.mark.parametrize("sd", [0.2, 0.5, 0.75, 1.0, 1.25, 1.5])
def test_marginal_over_counties_matches_adaptive_quadrature(sd):
    """E_u[exp(-e^u H)], u ~ N(0, sd), by Gauss-Hermite vs scipy.integrate.quad."""
    dt = _leader_era_tree(B)
    post = dt["posterior"].dataset
    dt["posterior"] = post.assign(cluster_sd=(("chain", "draw"), constant(sd, (1, 4))))
    p = Predictor(dt)
    prof = {"leader": "consumer", "era": "before", "setting": "community"}
    mix = p.profile(prof)
    assert mix.cluster.startswith("marginal over county effects")
    times = np.array([0.5, 2.0, 10.0])
    got = mix.survival(times)[0]

    def marg(t):  # E_u[S(t | u)] by adaptive quadrature over z = u / sd in [-12, 12]
        f = lambda z: np.exp(-np.exp(sd * z) * LAM * t) * stats.norm.pdf(z)  # noqa: E731
        return integrate.quad(f, -12, 12, epsabs=1e-13, epsrel=1e-12, limit=200)[0]

    for t, g in zip(times, got, strict=True):
        assert g == pytest.approx(marg(t), abs=1e-6)  # the documented quadrature error
    # marginal differs from u = 0: it is S(t | u=0) only in the limit sd -> 0
    assert not np.allclose(got, np.exp(-LAM * times), atol=1e-3)
    # median of the marginal curve: the root of the quad-computed marginal survival
    median = optimize.brentq(lambda t: marg(t) - 0.5, 0.01, 14, xtol=1e-12)
    np.testing.assert_allclose(mix.median(), median, rtol=1e-5)
    rm = integrate.fixed_quad(np.vectorize(marg), 0, 5.0, n=20)[0]  # smooth in t
    np.testing.assert_allclose(mix.rmst(5.0), rm, rtol=1e-5)


def test_standardised_curve_averages_over_units():
    """Setting leader = professional for the 4 units: mean of their exp(-lam_i t)."""
    dt = _leader_era_tree(B, cluster=False)
    p = Predictor(dt)
    mix = p.standardised({"leader": "professional"})
    assert mix.cluster == "no county effects in the model"
    # units: (before, community), (early, community), (formal, mh), (formal, community)
    lhr = np.array([B[0], B[0] + B[1] + B[4], B[0] + B[2] + B[3] + B[5], B[0] + B[2] + B[5]])
    lam = LAM * np.exp(lhr)
    t = np.array([1.0, 2.0, 5.0])
    want = np.exp(-np.outer(t, lam)).mean(axis=1)
    np.testing.assert_allclose(mix.survival(t)[0], want, rtol=1e-13)
    np.testing.assert_allclose(mix.rmst(5.0)[0], np.mean((1 - np.exp(-lam * 5)) / lam))
    f = lambda s: np.exp(-lam * s).mean() - 0.5  # noqa: E731
    np.testing.assert_allclose(mix.median()[0], optimize.brentq(f, 0, 14, xtol=1e-14), rtol=1e-10)
    assert "standardised over all units, n = 4" in mix.label
    # a subgroup, each unit with its own county effect: units c (B) and d (A), both formal
    dt = _leader_era_tree(B)
    sub = Predictor(dt).standardised({"leader": "consumer"}, where={"era": "formal"}, cluster="own")
    lam = LAM * np.exp(np.array([B[2] + B[3] - 0.4, B[2] + 0.4]))
    np.testing.assert_allclose(sub.survival(t)[0], np.exp(-np.outer(t, lam)).mean(axis=1))
    assert sub.cluster == "each unit's own county effect"
    with pytest.raises(SpecError, match="no units"):
        Predictor(dt).standardised(where={"era": "early", "leader": "consumer"})


def test_stratified_baseline_and_time_varying_effect():
    levels = {"leader": ["consumer", "professional"], "setting": ["community", "clinic"]}
    base = np.stack([np.full(K, np.log(0.2)), np.full(K, np.log(0.4))])[None, None]
    delta = np.linspace(-0.2, 0.2, K)[None, None, None, :]
    dt = tiny_tree(
        baseline=base,
        beta=constant(0.3, (1, 1, 1)),
        coef_names=["leader[professional]"],
        levels=levels,
        terms=["leader"],
        strata="setting",
        strata_levels=["community", "clinic"],
        tv_delta=delta,
        tv_coefs=["leader[professional]"],
    )
    info = DesignInfo.from_datatree(dt)
    assert info.profile_variables == ("leader", "setting")
    prof = pd.DataFrame([{"leader": "professional", "setting": "clinic"},
                         {"leader": "consumer", "setting": "clinic"}])  # fmt: skip
    eta = profile_log_hazard(dt["posterior"].dataset, info, prof)
    np.testing.assert_allclose(eta[0, 0], np.log(0.4) + 0.3 + delta[0, 0, 0])
    np.testing.assert_allclose(eta[0, 1], np.log(0.4))
    tab = contrast_table(dt)
    assert tab["note"].iloc[0] == "average over age intervals (time-varying effect)"


def test_thin_is_seeded_and_keeps_all_when_small():
    post = _leader_era_tree(np.tile(B, (2, 50, 1)), draws=50)["posterior"].dataset
    post = post.assign(beta=post["beta"] + np.arange(100).reshape(2, 50, 1))
    a, b = thin(post, 30, seed=1), thin(post, 30, seed=1)
    assert a.sizes["draw"] == 30 and a.sizes["chain"] == 1
    np.testing.assert_array_equal(a["beta"].values, b["beta"].values)
    assert not np.array_equal(a["beta"].values, thin(post, 30, seed=2)["beta"].values)
    full = thin(post, None)
    np.testing.assert_array_equal(full["beta"].values[0, :, 0], np.arange(100) + B[0])


def test_summarise_and_unit_frame():
    s = summarise(np.array([[1.0], [2.0], [3.0], [np.inf]]), ci_prob=0.5)
    assert s["p_inf"][0] == 0.25 and s["median"][0] == 2.5
    frame = unit_frame(_leader_era_tree(B))
    assert list(frame.columns) == ["id", "entry", "time", "event", "leader", "era", "setting",
                                   "county"]  # fmt: skip


def test_design_info_from_assemble_matches_the_design():
    """The coding stored by assemble reproduces the fit's design matrix for every cell."""
    from fakes import fake_run

    r = fake_run(draws=5, chains=1, log_likelihood=False)
    info = DesignInfo.from_datatree(r.idata)
    cells = r.prepared.cells.frame
    np.testing.assert_array_equal(info.rows(cells.astype({v: str for v in info.variables})),
                                  r.prepared.design.X)  # fmt: skip
    assert info.cluster == "county" and len(info.cluster_levels) == 38
    del r.idata.attrs["bayessa_design"]  # an older run: recoded from the cell covariates
    old = DesignInfo.from_datatree(r.idata)
    assert old.coef_names == info.coef_names and old.coef_levels == info.coef_levels
