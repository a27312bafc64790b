r"""The founding-rate model: the family rule, the log-density against the likelihood and priors
written by hand, the tables on fake posteriors, small real fits and (slow) coverage.

By hand, for cell :math:`(j, c)` with :math:`N_{jc}` new units over :math:`t_j` years:
:math:`\mu_{jc} = t_j \exp(\alpha + \beta_{e(j)} + f_j + u_c)`, Poisson or NB2
(``scipy.stats.nbinom(n=phi, p=phi / (phi + mu))``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from model_helpers import posterior_from_point, random_point
from scipy import stats

from bayessa.errors import SpecError
from bayessa.growth.founding import (
    FoundingFit,
    build_founding_model,
    choose_family,
    cluster_signal,
    fit_founding,
    form_by_signal,
    founding_data_groups,
    founding_forms,
    walk_signal,
)
from bayessa.growth.tables import read_expansion
from bayessa.model.spec import Spec, load_spec

YEAR = 365.25
EPOCH = np.datetime64("1970-01-01", "D")
ERA_CUTS = ["2003-07-01", "2007-01-01"]
WINDOW = ["2000-01-01", "2011-12-31"]


def _spec() -> Spec:
    return Spec.from_dict({
        "data": {"id": "id", "start": "founded", "event_date": "closed", "censor_date": "seen"},
        "model": {"formula": "kind + (1 | area)"},
        "expansion": {"era_cuts": ERA_CUTS, "era_labels": ["a", "b", "c"], "window": WINDOW,
                      "end": "2012-06-30", "composition": ["kind"], "cluster": "area"},
    })  # fmt: skip


def _day(s: str) -> int:
    return int((np.datetime64(s, "D") - EPOCH).astype(np.int64))


def simulate_units(seed, *, log_rate=0.7, era_effect=(0.0, 0.4, 0.7), n_clusters=10,
                   cluster_sd=0.4, inv_phi=0.0, trend=None):  # fmt: skip
    """A unit table whose foundings are Poisson (or gamma-mixed: NB2 with ``inv_phi``) per slice
    and cluster, with known rates; ``trend`` maps a calendar year to a log-rate shift."""
    from bayessa.growth.tables import Eras

    rng = np.random.default_rng(seed)
    eras = Eras(np.array([_day(c) for c in ERA_CUTS]), ("a", "b", "c"), _day(WINDOW[0]),
                _day(WINDOW[1]), _day("2012-06-30"))  # fmt: skip
    s = eras.slices()
    u = rng.normal(0, cluster_sd, n_clusters)
    u -= u.mean()
    beta = np.asarray(era_effect)[s["era"].cat.codes.to_numpy()]
    f = np.array([trend(y) for y in s["year"]]) if trend else np.zeros(len(s))
    mu = s["years"].to_numpy()[:, None] * np.exp(log_rate + beta + f)[:, None] * np.exp(u)[None]
    if inv_phi > 0:
        mu = mu * rng.gamma(1 / inv_phi, inv_phi, mu.shape)
    n = rng.poisson(mu)
    rows = []
    for j, c in zip(*np.nonzero(n), strict=True):
        days = rng.integers(s["start"].iloc[j], s["stop"].iloc[j], n[j, c])
        rows += [(d, f"k{c:02d}") for d in days]
    founded, area = zip(*rows, strict=True)
    founded = np.asarray(founded)
    # a third close within a year (the reader needs some closures; founding ignores them)
    closed = np.where(
        rng.random(len(founded)) < 1 / 3, founded + rng.integers(1, 365, len(founded)), -1
    )

    def iso(d):
        return [str(EPOCH + np.timedelta64(int(x), "D")) for x in d]

    df = pd.DataFrame({"id": np.arange(len(founded)), "founded": iso(founded),
                       "closed": np.where(closed > 0, iso(np.abs(closed)), ""),
                       "seen": np.where(closed > 0, iso(np.abs(closed)), "2012-06-30"),
                       "kind": rng.choice(["p", "q"], len(founded)), "area": area})  # fmt: skip
    T = eras.years
    per_era = [np.exp(log_rate + era_effect[e] + u).sum() for e in range(3)]
    if trend:  # the era's rate averages the trend over its slices, by length
        w = s["years"].to_numpy() * np.exp(f)
        per_era = [np.exp(log_rate + era_effect[e] + u).sum()
                   * w[s["era"].cat.codes == e].sum() / T[e] for e in range(3)]  # fmt: skip
    return read_expansion(df, _spec()), {"rate": np.array(per_era), "u": u}


@pytest.fixture(scope="module")
def small():
    return simulate_units(3)[0]


@pytest.fixture(scope="module")
def bundled():
    return read_expansion(None, load_spec("models/partnership.toml"))


# ------------------------------------------------------------------ family rule


def test_family_rule_reports_the_pearson_test_and_respects_a_request(small):
    counts = small.founding_counts()
    ch = choose_family(counts)
    # X2 by hand from the same GLM fit (era and cluster fixed effects)
    from bayessa.frequentist.glm import poisson_glm

    era = counts["era"].cat.codes.to_numpy()
    area = counts["area"].cat.codes.to_numpy()
    X = np.column_stack([np.ones(len(counts))] + [(era == e) * 1.0 for e in (1, 2)]
                        + [(area == c) * 1.0 for c in range(1, area.max() + 1)])  # fmt: skip
    g = poisson_glm(counts["groups"], counts["years"], X, [str(i) for i in range(X.shape[1])])
    mu = counts["years"].to_numpy() * np.exp(X @ g.coef)
    x2 = np.sum((counts["groups"] - mu) ** 2 / mu)
    assert ch.pearson == pytest.approx(x2, rel=1e-9) and ch.df == len(counts) - X.shape[1]
    assert ch.p_value == pytest.approx(stats.chi2.sf(x2, ch.df))
    assert ch.family == ("negbin" if ch.p_value < 0.05 else "poisson")
    assert "Pearson X2" in ch.reason and f"{ch.df} df" in ch.reason
    forced = choose_family(counts, "negbin")
    assert forced.family == "negbin" and forced.reason.startswith("requested (negbin)")
    with pytest.raises(SpecError, match="family"):
        choose_family(counts, "gamma")


def test_family_rule_chooses_negbin_for_overdispersed_counts():
    x, _ = simulate_units(5, inv_phi=1.0)
    ch = choose_family(x.founding_counts())
    assert ch.family == "negbin" and ch.dispersion > 1.3 and ch.p_value < 1e-4


def test_family_rule_on_the_bundled_data(bundled):
    ch = choose_family(bundled.founding_counts())
    # 15 slices x 38 counties; 530 residual df; the simulator's foundings are Poisson
    assert ch.family == "poisson" and ch.df == 530
    assert ch.pearson == pytest.approx(582.58, abs=0.01)
    assert ch.p_value == pytest.approx(0.0565, abs=1e-3)


# ------------------------------------------------------------------ log-probability


def _trend_by_hand(post, counts, form):
    sl = counts.drop_duplicates("slice")
    year = sl["year"].to_numpy() - sl["year"].min()
    t = sl["years"].to_numpy()
    era = sl["era"].cat.codes.to_numpy()
    if form == "centered":
        steps = post["trend_step"].values[0, 0]
    else:
        steps = post["trend_sd"].values[0, 0] * post["trend_z"].values[0, 0]
    g = np.concatenate([[0.0], np.cumsum(steps)])[year]
    mean = np.array([np.sum(t[era == e] * g[era == e]) / t[era == e].sum() for e in range(3)])
    return g - mean[era]


@pytest.mark.parametrize(
    ("family", "trend", "form"),
    [("poisson", False, "noncentered"), ("negbin", True, "centered"),
     ("poisson", True, "noncentered"), ("negbin", False, "centered")],
)  # fmt: skip
def test_likelihood_equals_the_hand_likelihood(small, family, trend, form):
    counts = small.founding_counts()
    model = build_founding_model(counts, family=family, trend=trend, cluster_parameterization=form,
                                 trend_parameterization=form)  # fmt: skip
    names = ["intercept", "era_effect", "cluster_effect"]
    names += (["trend", "trend_sd"] + (["trend_step"] if form == "centered" else ["trend_z"])
              if trend else [])  # fmt: skip
    names += ["inv_dispersion"] if family == "negbin" else []
    assert ("cluster_z" in model.named_vars) == (form == "noncentered")
    rng = np.random.default_rng(11)
    loglik = model.compile_logp(vars=[model["groups"]], jacobian=False)
    N, t = counts["groups"].to_numpy(), counts["years"].to_numpy()
    era, area = counts["era"].cat.codes.to_numpy(), counts["area"].cat.codes.to_numpy()
    for _ in range(3):
        point = random_point(model, rng)
        post = posterior_from_point(model, point, names)
        v = {n: post[n].values[0, 0] for n in names}
        assert v["era_effect"][0] == 0.0 and abs(v["cluster_effect"].sum()) < 1e-10
        f = np.zeros(len(counts))
        if trend:
            f_slice = _trend_by_hand(post, counts, form)
            np.testing.assert_allclose(v["trend"], f_slice, atol=1e-12)
            f = f_slice[counts["slice"].to_numpy()]
        mu = t * np.exp(v["intercept"] + v["era_effect"][era] + f + v["cluster_effect"][area])
        if family == "poisson":
            hand = stats.poisson.logpmf(N, mu).sum()
        else:
            phi = 1 / v["inv_dispersion"]
            hand = stats.nbinom.logpmf(N, phi, phi / (phi + mu)).sum()
        np.testing.assert_allclose(loglik(point), hand, rtol=1e-10)


def test_whole_density_equals_the_stated_priors_and_likelihood(small):
    """Without clusters every prior is a plain density: the model's log-density (no Jacobian)
    is alpha ~ N(log mean rate, 2), era ~ N(0, 1), trend_sd ~ HN(0.5), z ~ N(0, 1),
    1/phi ~ HN(1) plus the NB likelihood."""
    one = _one_cluster(small.founding_counts())
    model = build_founding_model(one, family="negbin", trend=True,
                                 trend_parameterization="noncentered")  # fmt: skip
    assert "cluster_sd" not in model.named_vars
    logp = model.compile_logp(jacobian=False)
    rng = np.random.default_rng(2)
    mean_rate = one["groups"].sum() / one["years"].sum()
    for _ in range(3):
        point = random_point(model, rng)
        post = posterior_from_point(model, point, ["intercept", "era_contrast", "trend_sd",
                                                   "trend_z", "trend", "inv_dispersion"])  # fmt: skip
        v = {n: post[n].values[0, 0] for n in post.data_vars}
        prior = (stats.norm.logpdf(v["intercept"], np.log(mean_rate), 2)
                 + stats.norm.logpdf(v["era_contrast"], 0, 1).sum()
                 + stats.halfnorm.logpdf(v["trend_sd"], scale=0.5)
                 + stats.norm.logpdf(v["trend_z"]).sum()
                 + stats.halfnorm.logpdf(v["inv_dispersion"], scale=1.0))  # fmt: skip
        beta = np.concatenate([[0.0], v["era_contrast"]])
        mu = one["years"].to_numpy() * np.exp(
            v["intercept"] + beta[one["era"].cat.codes.to_numpy()] + v["trend"]
        )
        phi = 1 / v["inv_dispersion"]
        like = stats.nbinom.logpmf(one["groups"].to_numpy(), phi, phi / (phi + mu)).sum()
        np.testing.assert_allclose(logp(point), prior + like, rtol=1e-10)


def test_parameterisations_follow_the_data(small, bundled):
    f = founding_forms(bundled.founding_counts())
    # counties differ (SD ~0.8 of the log rate) by more than a county's noise (~0.45)
    assert f["cluster"][0] == "centered" and "0.785 beyond a noise SD of 0.449" in f["cluster"][1]
    # no trend in the simulator: the yearly log rates move by no more than their noise
    assert f["trend"][0] == "noncentered" and "noise SD of 0.282" in f["trend"][1]
    # clusters that do not differ: non-centred however many units each holds
    flat = _one_cluster(small.founding_counts())
    flat = pd.concat([flat.assign(cluster="x", groups=200), flat.assign(cluster="y", groups=200)])
    flat["cluster"] = pd.Categorical(flat["cluster"])
    sd, noise = cluster_signal(flat)
    assert sd == 0 and founding_forms(flat)["cluster"][0] == "noncentered"
    forced = founding_forms(small.founding_counts(), cluster_parameterization="centered")
    assert forced["cluster"][0] == "centered" and forced["cluster"][1].startswith("requested")
    with pytest.raises(SpecError, match="parameterization"):
        founding_forms(small.founding_counts(), trend_parameterization="sideways")


def test_signals_by_hand(small):
    counts = small.founding_counts()
    n = counts.groupby("area", observed=True)["groups"].sum().to_numpy() + 0.5
    sd, noise = cluster_signal(counts)
    assert sd == pytest.approx(np.sqrt(max(0, np.var(np.log(n), ddof=1) - np.mean(1 / n))))
    assert noise == pytest.approx(np.sqrt(np.median(1 / n)))
    assert form_by_signal(0.5, 0.4, "auto", "x")[0] == "centered"
    assert form_by_signal(0.3, 0.4, "auto", "x") == (
        "noncentered", "x 0.3 beyond a noise SD of 0.4: the prior shapes the effects")  # fmt: skip
    assert form_by_signal(0.5, 0.4, "noncentered", "x")[1].startswith("requested (noncentered)")
    assert form_by_signal(np.nan, np.nan, "auto", "x")[0] == "noncentered"


def test_walk_signal_by_hand():
    counts = _one_cluster(simulate_units(3)[0].founding_counts())
    n, t = counts["groups"].to_numpy(), counts["years"].to_numpy()
    era = counts["era"].cat.codes.to_numpy()
    same = era[1:] == era[:-1]
    d = np.diff(np.log(n / t))[same]
    v = (1 / n[1:] + 1 / n[:-1])[same]
    step, noise = walk_signal(counts)
    assert step == pytest.approx(np.sqrt(max(0, np.mean(d**2 - v))))
    assert noise == pytest.approx(np.sqrt(np.median(v)))


def test_the_walk_is_centred_when_the_data_pin_it():
    steps = np.concatenate([[0], np.cumsum(np.random.default_rng(0).normal(0, 0.15, 12))])
    x, _ = simulate_units(1, log_rate=6.0, trend=lambda y: steps[y - 2000])  # ~7,000 a year
    form, reason = founding_forms(x.founding_counts())["trend"]
    assert form == "centered" and "the data pin each effect" in reason
    step, noise = walk_signal(x.founding_counts())
    assert 0.08 < step < 0.3 and noise < 0.03


def test_with_a_trend_the_family_test_has_slice_effects(bundled):
    ch = choose_family(bundled.founding_counts(), trend=True)
    # 15 slice and 37 county effects beside the intercept: 570 - 52 = 518 df
    assert ch.df == 518 and "(slice + cluster)" in ch.reason
    assert ch.pearson == pytest.approx(592.0, abs=0.05) and ch.family == "negbin"
    # a strong trend is not taken for overdispersion when the GLM follows the slices
    steps = np.concatenate([[0], np.cumsum(np.random.default_rng(0).normal(0, 0.3, 12))])
    x, _ = simulate_units(2, log_rate=2.5, trend=lambda y: steps[y - 2000])
    assert choose_family(x.founding_counts(), trend=True).family == "poisson"
    assert choose_family(x.founding_counts()).family == "negbin"


def _one_cluster(counts):
    one = counts.groupby("slice", observed=True).agg(
        era=("era", "first"), year=("year", "first"), mid=("mid", "first"),
        years=("years", "first"), groups=("groups", "sum")).reset_index()  # fmt: skip
    one.insert(4, "cluster", pd.Categorical(["all"] * len(one)))
    return one


# ------------------------------------------------------------------ tables on fake posteriors


def _fake_fit(counts, seed=0, S=(2, 50), trend=True):
    rng = np.random.default_rng(seed)
    observed, constant = founding_data_groups(counts)
    J, C = constant.sizes["slice"], counts["area"].nunique()
    post = {
        "intercept": (("chain", "draw"), rng.normal(-1, 0.1, S)),
        "era_effect": (("chain", "draw", "era"),
                       np.concatenate([np.zeros((*S, 1)), rng.normal(0.5, 0.2, (*S, 2))], -1)),
        "cluster_effect": (("chain", "draw", "area"), rng.normal(0, 0.3, (*S, C))),
    }  # fmt: skip
    if trend:
        post["trend"] = (("chain", "draw", "slice"), rng.normal(0, 0.2, (*S, J)))
    ds = xr.Dataset(post, coords={"chain": np.arange(S[0]), "draw": np.arange(S[1]),
                                  "era": ["a", "b", "c"], "slice": np.arange(J),
                                  "area": sorted(counts["area"].unique())})  # fmt: skip
    dt = xr.DataTree.from_dict({"posterior": ds, "observed_data": observed,
                                "constant_data": constant})  # fmt: skip
    return FoundingFit(dt, "poisson", "test", trend), ds


def test_rates_tables_and_contrasts_on_a_fake_posterior(small):
    counts = small.founding_counts()
    fit, ds = _fake_fit(counts)
    sl = counts.drop_duplicates("slice")
    t, era = sl["years"].to_numpy(), sl["era"].cat.codes.to_numpy()
    a = ds["intercept"].values.reshape(-1)
    b = ds["era_effect"].values.reshape(100, 3)
    u = ds["cluster_effect"].values.reshape(100, -1)
    f = ds["trend"].values.reshape(100, -1)
    lam = np.exp(a[:, None, None] + b[:, era][:, :, None] + f[:, :, None] + u[:, None, :])
    np.testing.assert_allclose(fit.slice_rate_draws(), lam, rtol=1e-12)
    # every slice as in era "a": beta_a = 0 for all, the trend kept
    lam_a = np.exp(a[:, None, None] + f[:, :, None] + u[:, None, :])
    np.testing.assert_allclose(fit.slice_rate_draws(era="a"), lam_a, rtol=1e-12)
    rate = np.stack([(lam.sum(2)[:, era == e] * t[era == e]).sum(1) / t[era == e].sum()
                     for e in range(3)], axis=1)  # fmt: skip
    np.testing.assert_allclose(fit.rate_draws(), rate, rtol=1e-12)
    assert fit.slice_rate_draws(max_draws=10).shape == (10, len(t), u.shape[1])
    tab = fit.table()
    assert list(tab.columns) == ["era", "groups", "years", "rate", "lower", "upper"]
    per = small.per_era()
    assert list(tab["groups"]) == list(per["groups"])
    np.testing.assert_allclose(tab["years"], per["years"])
    np.testing.assert_allclose(tab["rate"], np.median(rate, axis=0))
    np.testing.assert_allclose(tab["lower"], np.quantile(rate, 0.025, axis=0))
    np.testing.assert_allclose(tab["upper"], np.quantile(rate, 0.975, axis=0))
    con = fit.contrasts()
    assert list(con.columns) == ["era_from", "era_to", "ratio", "lower", "upper", "p_gt_1"]
    pairs = list(zip(con["era_from"], con["era_to"], strict=True))
    assert pairs == [("a", "b"), ("a", "c"), ("b", "c")]
    r = rate[:, 2] / rate[:, 1]
    row = con.iloc[2]
    assert row["ratio"] == pytest.approx(np.median(r)) and row["p_gt_1"] == np.mean(r > 1)
    assert row["lower"] == pytest.approx(np.quantile(r, 0.025))
    with pytest.raises(SpecError, match="unknown era"):
        fit.slice_rate_draws(era="z")


def test_without_trend_or_clusters_the_rate_is_the_sum(small):
    counts = small.founding_counts()
    fit, ds = _fake_fit(counts, trend=False)
    a = ds["intercept"].values.reshape(-1)
    b = ds["era_effect"].values.reshape(100, 3)
    u = ds["cluster_effect"].values.reshape(100, -1)
    rate = np.exp(a[:, None] + b) * np.exp(u).sum(1)[:, None]
    np.testing.assert_allclose(fit.rate_draws(), rate, rtol=1e-12)


# ------------------------------------------------------------------ real fits


def _within(fit, observed, k=3.0):
    r = fit.rate_draws()
    z = (np.median(r, axis=0) - observed) / r.std(axis=0)
    return np.abs(z)


@pytest.mark.fit
def test_fit_on_the_bundled_data(bundled):
    fit = fit_founding(bundled, draws=500, tune=500, chains=2, seed=1)
    assert fit.family == "poisson" and "Pearson" in fit.family_reason
    groups = {"posterior", "sample_stats", "observed_data", "constant_data"}
    assert groups <= set(fit.idata.children)
    assert int(fit.idata["sample_stats"]["diverging"].sum()) == 0
    per = bundled.per_era()
    assert (_within(fit, per["rate"].to_numpy()) < 3).all()
    # the simulator's truth: 360 foundings spread over the eras with weights 1.5 / 2.5 / 3.0
    from bayessa.simulate.sa_groups import FOUNDING_RATE, N_GROUPS

    w = np.array([FOUNDING_RATE[e] for e in fit.eras])
    truth = N_GROUPS * w / np.sum(bundled.eras.years * w)
    tab = fit.table()
    assert ((tab["lower"] < truth) & (truth < tab["upper"])).all(), (tab, truth)
    con = fit.contrasts()
    assert con.loc[0, "p_gt_1"] > 0.99  # before -> early: more foundings
    # observed groups per era add up to the bundled data
    assert tab["groups"].sum() == len(bundled.units)


@pytest.mark.fit
def test_fit_with_trend_and_negative_binomial(bundled):
    fit = fit_founding(bundled, trend=True, family="negbin", draws=400, tune=400, chains=2, seed=2)
    assert fit.family == "negbin" and fit.family_reason.startswith("requested (negbin)")
    post = fit.idata["posterior"]
    assert "trend" in post and "inv_dispersion" in post
    # the walk is centred within each era
    era = fit.idata["constant_data"]["slice_era"].values
    t = fit.idata["constant_data"]["slice_years"].values
    tr = post["trend"].values
    for e in range(3):
        np.testing.assert_allclose((tr[..., era == e] * t[era == e]).sum(-1), 0, atol=1e-9)
    assert (_within(fit, bundled.per_era()["rate"].to_numpy()) < 3).all()


# ------------------------------------------------------------------ slow: coverage


@pytest.mark.slow
def test_intervals_cover_known_rates_at_the_nominal_rate():
    """20 simulated data sets (10 counties, 3 eras over 12 years, ~330 foundings, county SD
    0.4), fitted with the family chosen by the rule: each era's 95% interval of the rate and
    each rate ratio's should hold the truth. Of 60 era rates, Binomial(60, 0.95) puts 99% of
    its mass on 52..60 covered; the same band holds for the 60 ratios (checks within a data set
    are correlated, which widens the spread a little)."""
    covered_rate = covered_ratio = 0
    for seed in range(20):
        x, truth = simulate_units(100 + seed)
        fit = fit_founding(x, draws=500, tune=500, chains=2, seed=seed)
        tab, con = fit.table(), fit.contrasts()
        covered_rate += int(((tab["lower"] < truth["rate"]) & (truth["rate"] < tab["upper"])).sum())
        r = truth["rate"]
        true_ratio = np.array([r[1] / r[0], r[2] / r[0], r[2] / r[1]])
        covered_ratio += int(((con["lower"] < true_ratio) & (true_ratio < con["upper"])).sum())
    lo, hi = stats.binom.ppf([0.005, 0.995], 60, 0.95)
    assert lo <= covered_rate <= hi, covered_rate
    assert lo <= covered_ratio <= hi, covered_ratio


@pytest.mark.slow
def test_intervals_cover_known_rates_with_a_calendar_trend():
    """10 data sets whose log founding rate follows a random walk (SD 0.15 a year) beside the era
    effects, fitted with ``trend=True``: of 30 era rates, Binomial(30, 0.95) puts 99% of its mass
    on 25..30 covered."""
    covered = 0
    for seed in range(10):
        rng = np.random.default_rng(1000 + seed)
        steps = np.concatenate([[0], np.cumsum(rng.normal(0, 0.15, 12))])
        x, truth = simulate_units(300 + seed, trend=lambda y, s=steps: s[y - 2000])
        tab = fit_founding(x, trend=True, draws=500, tune=500, chains=2, seed=seed).table()
        r = truth["rate"]
        covered += int(((tab["lower"] < r) & (r < tab["upper"])).sum())
    lo, hi = stats.binom.ppf([0.005, 0.995], 30, 0.95)
    assert lo <= covered <= hi, covered
