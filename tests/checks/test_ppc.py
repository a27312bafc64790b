"""Replicated lifetimes against closed forms on fake posteriors (bayessa.ppc).

Every distributional check uses a fixed seed, so it is deterministic; the tolerances are those a
correct sampler passes with overwhelming probability (KS p > 0.001, means within 4 MC SEs).
"""

from __future__ import annotations

import numpy as np
import pytest
from _ppc_fakes import constant_hazard_tree, fake_tree
from scipy import stats

from bayessa.checks.ppc import (
    censoring_times,
    replicate_lifetimes,
    unit_layout,
)
from bayessa.checks.ppc import unit_cumulative_hazard as cumulative_hazard
from bayessa.checks.ppc_stats import loo_pit
from bayessa.errors import SpecError

LAM = 0.5


def _pooled(rep, name="time", units=slice(None)):
    return rep[name].isel(unit=units).to_numpy().ravel()


def test_constant_hazard_no_censoring_is_exponential():
    tree = constant_hazard_tree(LAM, 50, S=100)
    rep = replicate_lifetimes(tree, seed=1)
    t = _pooled(rep)
    assert rep["event"].to_numpy().all()
    assert stats.kstest(t, stats.expon(scale=1 / LAM).cdf).pvalue > 0.001
    assert abs(t.mean() - 1 / LAM) < 4 * (1 / LAM) / np.sqrt(t.size)


def test_delayed_entry_is_memoryless():
    """With a constant hazard, T - e given survival to e is Exp(lambda) again."""
    n = 40
    entry = np.full(n, 2.0)
    tree = constant_hazard_tree(LAM, n, S=100, entry=entry)
    t = _pooled(replicate_lifetimes(tree, seed=2))
    assert t.min() > 2.0
    assert stats.kstest(t - 2.0, stats.expon(scale=1 / LAM).cdf).pvalue > 0.001


def test_delayed_entry_piecewise_hazard_closed_form():
    """Hazards 0.2, 1.0, 0.4 on (0,1], (1,3], (3,inf); entry 2: S(t|2) in closed form."""
    lams = np.array([0.2, 1.0, 0.4])
    n = 40
    exit_ = np.full(n, 10.0)
    exit_[0] = 1e6
    tree = fake_tree(exit=exit_, event=np.ones(n, int), entry=np.full(n, 2.0),
                     baseline=np.tile(np.log(lams), (100, 1)), cuts=(0, 1, 3, np.inf))  # fmt: skip

    def cdf(t):
        H = lams[1] * (np.minimum(t, 3) - 2) + lams[2] * np.maximum(t - 3, 0)
        return 1 - np.exp(-H)

    t = _pooled(replicate_lifetimes(tree, seed=3))
    assert stats.kstest(t, cdf).pvalue > 0.001
    H = cumulative_hazard(tree, end=np.linspace(2.5, 6.0, n))
    np.testing.assert_allclose(H, np.broadcast_to(-np.log1p(-cdf(np.linspace(2.5, 6, n))), H.shape))


def test_censoring_fraction_matches_closed_form():
    """A unit censored at c (entry e) has an event in a replicate with P = 1 - exp(-lam (c - e))."""
    c = np.array([0.5, 1.0, 2.0, 4.0])
    e = np.array([0.0, 0.0, 1.0, 3.0])
    S = 4000
    tree = fake_tree(exit=c, event=np.zeros(4, int), entry=e,
                     baseline=np.full((S, 1), np.log(LAM)))  # fmt: skip
    rep = replicate_lifetimes(tree, seed=4)
    p = 1 - np.exp(-LAM * (c - e))
    got = rep["event"].to_numpy().reshape(S, 4).mean(axis=0)
    np.testing.assert_array_less(np.abs(got - p), 4 * np.sqrt(p * (1 - p) / S))
    times = rep["time"].to_numpy().reshape(S, 4)
    censored = rep["event"].to_numpy().reshape(S, 4) == 0
    np.testing.assert_array_equal(times[censored], np.broadcast_to(c, (S, 4))[censored])
    assert (times <= c).all() and (times > e).all()


def test_censoring_times_rule():
    """Censored: the observed exit; events: study end (latest calendar exit) minus origin;
    without origins: the longest follow-up; always capped at the last cut point."""
    kw = {"baseline": np.zeros((2, 2)), "cuts": (0, 5, 12)}
    tree = fake_tree(exit=[1.0, 2.0, 3.0], event=[0, 1, 1], origin=[10.0, 11.0, 4.0], **kw)
    # study end = max(11, 13, 7) = 13 -> events: 13 - 11 = 2, 13 - 4 = 9
    np.testing.assert_allclose(censoring_times(tree).to_numpy(), [1.0, 2.0, 9.0])
    tree = fake_tree(exit=[1.0, 2.0, 3.0], event=[0, 1, 1], **kw)
    np.testing.assert_allclose(censoring_times(tree).to_numpy(), [1.0, 3.0, 3.0])
    # study end = max(1, 2, -17) = 2 -> events: 2 - 0 = 2, 2 + 20 = 22, capped at 12
    tree = fake_tree(exit=[1.0, 2.0, 3.0], event=[0, 1, 1], origin=[0.0, 0.0, -20.0], **kw)
    np.testing.assert_allclose(censoring_times(tree).to_numpy(), [1.0, 2.0, 12.0])


def test_calendar_period_hazard_respected():
    """Hazard lam before 1990-01-01 and 3 lam after; a unit born in 1988 (calendar 18 years
    after 1970) crosses at age 2."""
    n, S = 40, 100
    exit_ = np.full(n, 10.0)
    exit_[0] = 1e6
    tree = fake_tree(
        exit=exit_, event=np.ones(n, int), origin=np.full(n, 18.0),
        baseline=np.full((S, 1), np.log(LAM)), beta=np.full((S, 1), np.log(3.0)),
        coef_levels=[[("period", "late")]], periods=["1990-01-01"],
        period_labels=["early", "late"],
    )  # fmt: skip
    lay = unit_layout(tree)
    np.testing.assert_allclose(lay.period_cuts, [20.0])
    np.testing.assert_array_equal(lay.X[0], [[0.0], [1.0]])

    def cdf(t):
        return 1 - np.exp(-(LAM * np.minimum(t, 2) + 3 * LAM * np.maximum(t - 2, 0)))

    t = _pooled(replicate_lifetimes(tree, seed=5))
    assert stats.kstest(t, cdf).pvalue > 0.001


def test_covariates_and_clusters_scale_the_hazard():
    """leader[professional] doubles the hazard; cluster b adds +1 on the log scale."""
    n, S = 4, 3000
    exit_ = np.full(n, 10.0)
    exit_[0] = 1e9
    tree = fake_tree(
        exit=exit_, event=np.ones(n, int), baseline=np.full((S, 1), np.log(LAM)),
        beta=np.full((S, 1), np.log(2.0)), coef_levels=[[("leader", "professional")]],
        unit_vars={"leader": ["consumer", "professional", "consumer", "professional"]},
        cluster=("county", ["a", "b"], ["a", "a", "b", "b"], np.tile([0.0, 1.0], (S, 1))),
    )  # fmt: skip
    mean = replicate_lifetimes(tree, seed=6)["time"].to_numpy().reshape(S, n).mean(axis=0)
    rate = LAM * np.array([1, 2, np.e, 2 * np.e])
    np.testing.assert_array_less(np.abs(mean * rate - 1), 4 / np.sqrt(S))
    # the coefficient coding parsed from the names when a run lacks bayessa_design
    tree.attrs.pop("bayessa_design")
    np.testing.assert_array_equal(unit_layout(tree).X[:, 0, 0], [0, 1, 0, 1])


def test_new_clusters_draw_new_effects():
    S = 2000
    tree = fake_tree(
        exit=[1e9, 10.0], event=[1, 1], baseline=np.full((S, 1), np.log(LAM)),
        cluster=("county", ["a", "b"], ["a", "b"], np.tile([3.0, 3.0], (S, 1))),
    )  # fmt: skip
    fitted = replicate_lifetimes(tree, seed=7)["time"].to_numpy()
    new = replicate_lifetimes(tree, seed=7, clusters="new")["time"].to_numpy()
    assert fitted.mean() < 0.15  # hazard 0.5 e^3: mean 0.1
    assert new.mean() > 1.0  # u ~ N(0, 0.5^2): mean about 2.2
    with pytest.raises(SpecError, match="clusters"):
        replicate_lifetimes(tree, clusters="other")


def test_reproducible_with_a_seed_and_layout():
    tree = constant_hazard_tree(LAM, 10, S=40, chains=2)
    a = replicate_lifetimes(tree, seed=11)
    b = replicate_lifetimes(tree, seed=np.random.default_rng(11))
    c = replicate_lifetimes(tree, seed=12)
    np.testing.assert_array_equal(a["time"], b["time"])
    assert not np.array_equal(a["time"], c["time"])
    assert a["time"].dims == ("chain", "draw", "unit") and a["event"].dtype == np.int8
    assert list(a["unit"].values) == list(tree["observed_data"]["unit"].values)
    thin = replicate_lifetimes(tree, seed=1, n_draws=10)
    assert thin.sizes["chain"] == 2 and thin.sizes["draw"] == 5


def test_errors_name_the_fix():
    tree = constant_hazard_tree(LAM, 5, S=4)
    with pytest.raises(SpecError, match="no 'prior' group"):
        replicate_lifetimes(tree, group="prior")
    with pytest.raises(TypeError, match="FitResult, an xarray.DataTree or a run directory"):
        replicate_lifetimes(42)
    with pytest.raises(SpecError, match="not a bayessa run directory"):
        replicate_lifetimes("not a run")  # a path: open_tree reads run directories too
    tree.attrs.pop("bayessa_model_info")
    with pytest.raises(SpecError, match="refit"):
        replicate_lifetimes(tree)


def _exp_data(n: int, rng: np.random.Generator, lam: float = LAM):
    t = rng.exponential(1 / lam, n)
    c = rng.uniform(0.5, 3.0, n)
    return np.minimum(t, c), (t <= c).astype(int)


@pytest.mark.parametrize("loo", [True, False])
def test_pit_is_uniform_under_the_true_model(loo):
    rng = np.random.default_rng(21)
    x, d = _exp_data(500, rng)
    S = 400
    log_lam = np.log(LAM) + 0.03 * rng.standard_normal(S)
    ll = d[None, :] * log_lam[:, None] - np.exp(log_lam)[:, None] * x[None, :]
    tree = fake_tree(exit=x, event=d, baseline=log_lam[:, None], log_likelihood=ll, chains=2)
    pit = loo_pit(tree, seed=3, loo=loo)
    assert stats.kstest(pit["pit"].to_numpy(), "uniform").pvalue > 0.001
    assert ("pareto_k" in pit) is loo
    # events: the CDF at the exit; censored: at least the CDF at the censoring time
    F = 1 - np.exp(-LAM * x)
    ev = d == 1
    np.testing.assert_allclose(pit["pit"].to_numpy()[ev], F[ev], atol=0.02)
    assert (pit["pit"].to_numpy()[~ev] >= F[~ev] - 0.02).all()


def test_pit_detects_a_wrong_hazard():
    rng = np.random.default_rng(22)
    x, d = _exp_data(500, rng, lam=1.5)  # data three times as hazardous as the model says
    tree = fake_tree(exit=x, event=d, baseline=np.full((50, 1), np.log(LAM)))
    pit = loo_pit(tree, seed=3, loo=False)
    assert stats.kstest(pit["pit"].to_numpy(), "uniform").pvalue < 1e-6
    with pytest.raises(SpecError, match="log-likelihood"):
        loo_pit(tree)


def test_replicates_follow_the_arviz_survival_layout():
    """Assigned to posterior_predictive, ArviZ's Kaplan-Meier PPC reads them as they are."""
    import matplotlib.pyplot as plt
    from arviz_plots import plot_ppc_censored

    tree = constant_hazard_tree(LAM, 30, S=40)
    tree["posterior_predictive"] = replicate_lifetimes(tree, seed=1)
    plot_ppc_censored(tree, var_names="time", num_samples=20, backend="matplotlib")
    plt.close("all")
