r"""The composition models: counts per (era, cluster), the log-density against binomial and
multinomial likelihoods written by hand, the tables on fake posteriors, small real fits and
(slow) coverage.

By hand, for cell :math:`(e, c)` with :math:`n_{ec}` new units, :math:`y_{ec\cdot}` by level:
:math:`p_{ec\cdot} = \mathrm{softmax}(0, a + b_e + w_c)`,
``scipy.stats.multinomial.logpmf(y, n, p)`` (``binom.logpmf(y_2, n, p_2)`` for two levels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from model_helpers import posterior_from_point, random_point
from scipy import stats
from scipy.special import softmax

from bayessa.errors import SpecError
from bayessa.growth.composition import (
    CompositionFit,
    build_composition_model,
    composition_counts,
    composition_data_groups,
    composition_signal,
    fit_composition,
)
from bayessa.growth.tables import read_expansion
from bayessa.model.spec import Spec, load_spec

EPOCH = np.datetime64("1970-01-01", "D")
ERAS = ("a", "b", "c")


def _spec(cluster: bool = True) -> Spec:
    formula = "kind + (1 | area)" if cluster else "kind"
    return Spec.from_dict({
        "data": {"id": "id", "start": "founded", "event_date": "closed", "censor_date": "seen"},
        "model": {"formula": formula},
        "expansion": {"era_cuts": ["2003-07-01", "2007-01-01"], "era_labels": list(ERAS),
                      "window": ["2000-01-01", "2011-12-31"], "end": "2012-06-30",
                      "composition": ["kind", "mode"], **({"cluster": "area"} if cluster else {})},
    })  # fmt: skip


def _table(founded, area, kind, mode, rng) -> pd.DataFrame:
    founded = np.asarray(founded)
    closed = np.where(
        rng.random(len(founded)) < 0.3, founded + rng.integers(1, 200, len(founded)), 0
    )
    iso = np.array([str(EPOCH + np.timedelta64(int(d), "D")) for d in np.abs(closed) + founded * (closed == 0)])  # fmt: skip
    start = [str(EPOCH + np.timedelta64(int(d), "D")) for d in founded]
    return pd.DataFrame({"id": np.arange(len(founded)), "founded": start,
                         "closed": np.where(closed > 0, iso, ""),
                         "seen": np.where(closed > 0, iso, "2012-06-30"),
                         "kind": kind, "mode": mode, "area": area})  # fmt: skip


#: Known truth of the simulation: log-odds of q and r against p, per era; clusters' SD.
A = np.array([-0.5, -1.0])
B = np.array([[0.0, 0.0], [0.5, 0.2], [1.0, 0.8]])
A_MODE, B_MODE = -0.8, np.array([0.0, 0.6, 1.2])


def simulate_units(seed, n=320, n_clusters=8, cluster_sd=0.4, cluster=True):
    """Units founded uniformly over the window, kind (p, q, r) and mode (x, y) drawn from
    multinomial logits with era effects and sum-to-zero cluster intercepts."""
    rng = np.random.default_rng(seed)
    lo = int((np.datetime64("2000-01-01") - EPOCH).astype(int))
    hi = int((np.datetime64("2011-12-31") - EPOCH).astype(int))
    founded = np.sort(rng.integers(lo, hi + 1, n))
    cuts = [int((np.datetime64(c) - EPOCH).astype(int)) for c in ("2003-07-01", "2007-01-01")]
    era = np.searchsorted(cuts, founded, side="right")
    c = rng.integers(0, n_clusters, n) if cluster else np.zeros(n, int)
    w = rng.normal(0, cluster_sd, (n_clusters, 3)) * cluster
    w -= w.mean(axis=0)
    eta = np.concatenate([np.zeros((n, 1)), A + B[era] + w[c, :2]], axis=1)
    p = softmax(eta, axis=1)
    kind = np.array(["p", "q", "r"])[(rng.random(n)[:, None] > np.cumsum(p, 1)).sum(1)]
    p_mode = 1 / (1 + np.exp(-(A_MODE + B_MODE[era] + w[c, 2])))
    mode = np.where(rng.random(n) < p_mode, "y", "x")
    x = read_expansion(_table(founded, [f"k{i}" for i in c], kind, mode, rng), _spec(cluster))
    # the truth standardised over the observed cluster mix (as the model reports it)
    pi = np.bincount(c, minlength=n_clusters) / n
    share = np.stack([pi @ softmax(np.concatenate([np.zeros((n_clusters, 1)), A + B[e] + w[:, :2]],
                                                  1), axis=1) for e in range(3)])  # fmt: skip
    mode_share = np.array([pi @ (1 / (1 + np.exp(-(A_MODE + B_MODE[e] + w[:, 2]))))
                           for e in range(3)])  # fmt: skip
    return x, {"kind": share, "mode": mode_share}


@pytest.fixture(scope="module")
def small():
    return simulate_units(4)[0]


@pytest.fixture(scope="module")
def bundled():
    return read_expansion(None, load_spec("models/partnership.toml"))


# ------------------------------------------------------------------ counts


def test_counts_per_era_and_cluster_by_hand():
    rng = np.random.default_rng(0)
    d = [int((np.datetime64(s) - EPOCH).astype(int)) for s in
         ("2001-01-01", "2001-02-01", "2002-01-01", "2004-01-01", "2008-01-01", "2009-01-01")]  # fmt: skip
    df = _table(d, ["k1", "k1", "k2", "k2", "k1", "k1"], ["p", "q", "p", "r", "r", "r"],
                ["x", "x", "y", "y", "x", "y"], rng)  # fmt: skip
    x = read_expansion(df, _spec())
    c = composition_counts(x, "kind")
    assert c.levels == ("p", "q", "r") and c.variable == "kind" and c.clusters == ("k1", "k2")
    # cells (era, cluster) holding units: (a, k1), (a, k2), (b, k2), (c, k1)
    assert list(zip(c.era, c.cluster, strict=True)) == [(0, 0), (0, 1), (1, 1), (2, 0)]
    np.testing.assert_array_equal(c.counts, [[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 2]])
    np.testing.assert_allclose(c.cluster_weight, [4 / 6, 2 / 6])
    j = composition_counts(x, ("kind", "mode"))
    assert j.variable == "kind|mode" and len(j.levels) == 6
    assert j.levels[:3] == ("p|x", "p|y", "q|x")
    np.testing.assert_array_equal(j.counts[0], [1, 0, 1, 0, 0, 0])  # (a, k1): p|x, q|x
    np.testing.assert_array_equal(j.counts[3], [0, 0, 0, 0, 1, 1])  # (c, k1): r|x, r|y
    per = c.per_era()
    assert list(per.loc[per["era"] == "a", "groups"]) == [2, 1, 0]
    with pytest.raises(SpecError, match="not traits"):
        composition_counts(x, "colour")


# ------------------------------------------------------------------ log-probability


@pytest.mark.parametrize(
    ("variable", "form"),
    [("mode", "noncentered"), ("mode", "centered"), ("kind", "noncentered"),
     ("kind", "centered"), (("kind", "mode"), "noncentered")],
)  # fmt: skip
def test_likelihood_equals_the_hand_likelihood(small, variable, form):
    c = composition_counts(small, variable)
    model = build_composition_model(c, cluster_parameterization=form)
    assert ("cluster_z" in model.named_vars) == (form == "noncentered")
    names = ["intercept", "era_effect", "cluster_effect"]
    loglik = model.compile_logp(vars=[model["counts"]], jacobian=False)
    rng = np.random.default_rng(7)
    for _ in range(3):
        point = random_point(model, rng)
        post = posterior_from_point(model, point, names)
        a, b, w = (post[n].values[0, 0] for n in names)
        assert (b[0] == 0).all() and np.abs(w.sum(axis=1)).max() < 1e-10
        eta = a + b[c.era] + w[:, c.cluster].T
        p = softmax(np.concatenate([np.zeros((len(c.n), 1)), eta], axis=1), axis=1)
        if len(c.levels) == 2:
            hand = stats.binom.logpmf(c.counts[:, 1], c.n, p[:, 1]).sum()
        else:
            hand = sum(stats.multinomial.logpmf(y, n, q) for y, n, q in zip(c.counts, c.n, p,
                                                                           strict=True))  # fmt: skip
        np.testing.assert_allclose(loglik(point), hand, rtol=1e-10)


def test_whole_density_equals_the_stated_priors_and_likelihood():
    """Without clusters: a_k ~ N(pooled log-odds, 2), b ~ N(0, 1), multinomial likelihood."""
    x = simulate_units(1, cluster=False)[0]
    assert x.cluster is None
    c = composition_counts(x, "kind")
    model = build_composition_model(c)
    assert "cluster_sd" not in model.named_vars
    logp = model.compile_logp(jacobian=False)
    m = c.counts.sum(axis=0) + 0.5
    rng = np.random.default_rng(3)
    for _ in range(3):
        point = random_point(model, rng)
        post = posterior_from_point(model, point, ["intercept", "era_contrast"])
        a, bc = post["intercept"].values[0, 0], post["era_contrast"].values[0, 0]
        prior = (stats.norm.logpdf(a, np.log(m[1:] / m[0]), 2).sum()
                 + stats.norm.logpdf(bc, 0, 1).sum())  # fmt: skip
        b = np.concatenate([np.zeros((1, 2)), bc])
        p = softmax(np.concatenate([np.zeros((len(c.n), 1)), a + b[c.era]], axis=1), axis=1)
        like = sum(stats.multinomial.logpmf(y, n, q) for y, n, q in zip(c.counts, c.n, p,
                                                                       strict=True))  # fmt: skip
        np.testing.assert_allclose(logp(point), prior + like, rtol=1e-10)


# ------------------------------------------------------------------ tables on fake posteriors


def _fake_fit(c, seed=0, S=(2, 40)):
    rng = np.random.default_rng(seed)
    K, C = len(c.levels), len(c.clusters)
    observed, constant = composition_data_groups(c)
    eff = np.concatenate([np.zeros((*S, 1, K - 1)), rng.normal(0.5, 0.3, (*S, 2, K - 1))], 2)
    ds = xr.Dataset(
        {"intercept": (("chain", "draw", "level_vs"), rng.normal(-0.5, 0.2, (*S, K - 1))),
         "era_effect": (("chain", "draw", "era", "level_vs"), eff),
         "cluster_effect": (("chain", "draw", "level_vs", "area"),
                            rng.normal(0, 0.3, (*S, K - 1, C)))},
        coords={"chain": np.arange(S[0]), "draw": np.arange(S[1]), "era": list(ERAS),
                "level_vs": list(c.levels[1:]), "area": list(c.clusters)},
    )  # fmt: skip
    dt = xr.DataTree.from_dict({"posterior": ds, "observed_data": observed,
                                "constant_data": constant})  # fmt: skip
    return CompositionFit(dt, c.variable, c.levels), ds


def test_probabilities_shares_tables_and_contrasts_on_a_fake_posterior(small):
    c = composition_counts(small, "kind")
    fit, ds = _fake_fit(c)
    S = 80
    a = ds["intercept"].values.reshape(S, -1)
    b = ds["era_effect"].values.reshape(S, 3, -1)
    w = ds["cluster_effect"].values.reshape(S, 2, -1)
    for e, era in enumerate(ERAS):
        eta = a[:, None, :] + b[:, e][:, None, :] + np.swapaxes(w, 1, 2)  # (S, C, K - 1)
        p = softmax(np.concatenate([np.zeros((S, len(c.clusters), 1)), eta], 2), axis=2)
        np.testing.assert_allclose(fit.prob_draws(era), p, rtol=1e-12)
        np.testing.assert_allclose(fit.prob_draws(e), p, rtol=1e-12)
        np.testing.assert_allclose(fit.share_draws(era), p.transpose(0, 2, 1) @ c.cluster_weight)
    np.testing.assert_allclose(fit.share_draws("b").sum(axis=1), 1.0)
    tab = fit.table()
    assert list(tab.columns) == ["variable", "level", "era", "share", "lower", "upper"]
    assert len(tab) == 9 and set(tab["variable"]) == {"kind"}
    s_c = fit.share_draws("c")
    row = tab[(tab["era"] == "c") & (tab["level"] == "r")].iloc[0]
    assert row["share"] == pytest.approx(np.median(s_c[:, 2]))
    assert row["lower"] == pytest.approx(np.quantile(s_c[:, 2], 0.025))
    con = fit.contrasts()
    assert len(con) == 3 * 3  # 3 levels x 3 era pairs
    assert list(con.columns) == [
        "variable", "level", "era_from", "era_to", "difference", "difference_lower",
        "difference_upper", "odds_ratio", "odds_ratio_lower", "odds_ratio_upper", "p_rose",
    ]  # fmt: skip
    s_a = fit.share_draws("a")
    r = con[(con["era_from"] == "a") & (con["era_to"] == "c") & (con["level"] == "q")].iloc[0]
    d = s_c[:, 1] - s_a[:, 1]
    odds = (s_c[:, 1] / (1 - s_c[:, 1])) / (s_a[:, 1] / (1 - s_a[:, 1]))
    assert r["difference"] == pytest.approx(np.median(d))
    assert r["difference_upper"] == pytest.approx(np.quantile(d, 0.975))
    assert r["odds_ratio"] == pytest.approx(np.median(odds))
    assert r["p_rose"] == pytest.approx(np.mean(d > 0))
    with pytest.raises(SpecError, match="unknown era"):
        fit.share_draws("z")


# ------------------------------------------------------------------ real fits


def _truth_leader():
    """The simulator's share of professional-led new groups per era, and of each (leader,
    setting): P(setting | era) P(leader | era, setting)."""
    from bayessa.simulate.sa_groups import ERA_LABELS, LEADER, SETTING

    joint = {}
    for e in ERA_LABELS:
        for s, ps in SETTING.table[e].items():
            for lead, pl in LEADER.table[(e, s)].items():
                joint[(e, f"{lead}|{s}")] = ps * pl
    prof = {e: sum(v for (f, k), v in joint.items() if f == e and k.startswith("professional"))
            for e in ERA_LABELS}  # fmt: skip
    return prof, joint


@pytest.mark.fit
def test_leader_fit_on_the_bundled_data(bundled):
    fit = fit_composition(bundled, "leader", draws=500, tune=500, chains=2, seed=1)
    assert fit.levels == ("consumer", "professional")
    assert int(fit.idata["sample_stats"]["diverging"].sum()) == 0
    obs = composition_counts(bundled, "leader").per_era()
    prof_truth, _ = _truth_leader()  # before 0.1625, early 0.335, formal 0.46
    for era in fit.eras:
        s = fit.share_draws(era)[:, 1]
        seen = obs[(obs["era"] == era) & (obs["level"] == "professional")]["share"].item()
        assert abs(np.median(s) - seen) < 3 * s.std(), era
        assert np.quantile(s, 0.025) < prof_truth[era] < np.quantile(s, 0.975), era
    con = fit.contrasts()
    rose = con[(con["level"] == "professional") & (con["era_from"] == "before")
               & (con["era_to"] == "formal")].iloc[0]  # fmt: skip
    assert rose["p_rose"] > 0.99 and rose["odds_ratio_lower"] > 1


@pytest.mark.fit
def test_joint_leader_and_setting_fit_on_the_bundled_data(bundled):
    fit = fit_composition(bundled, ("leader", "setting"), draws=500, tune=500, chains=2, seed=2)
    assert fit.variable == "leader|setting"
    assert fit.levels == ("consumer|community", "consumer|mental_health",
                          "professional|community", "professional|mental_health")  # fmt: skip
    assert fit.prob_draws("early").shape[1:] == (len(bundled.clusters), 4)
    _, joint = _truth_leader()
    obs = composition_counts(bundled, ("leader", "setting")).per_era()
    for era in fit.eras:
        s = fit.share_draws(era)
        np.testing.assert_allclose(s.sum(axis=1), 1.0)
        seen = obs.loc[obs["era"] == era, "share"].to_numpy()
        z_seen = (np.median(s, axis=0) - seen) / s.std(axis=0)
        assert (np.abs(z_seen) < 3).all(), (era, z_seen)
        # loosely against the simulator's truth: the bundled draw itself strays from it (early
        # era: 56 of 104 consumer-led community groups where 0.44 were expected, 2 SEs off)
        truth = np.array([joint[(era, k)] for k in fit.levels])
        z_truth = (np.median(s, axis=0) - truth) / s.std(axis=0)
        assert (np.abs(z_truth) < 3.5).all(), (era, z_truth)


# ------------------------------------------------------------------ slow: coverage


@pytest.mark.slow
def test_intervals_cover_known_shares_at_the_nominal_rate():
    """20 simulated data sets (320 new units, 8 clusters with SD 0.4 on each log-odds, 3 eras):
    the 95% intervals of the standardised shares against the truth standardised the same way.
    Three-level ``kind``: 180 shares (3 per era, summing to 1, so correlated), Binomial(180,
    0.95) puts 99% on 163..178; two-level ``mode``: the share of ``y`` per era, 60 checks,
    52..60."""
    kind = mode = 0
    for seed in range(20):
        x, truth = simulate_units(200 + seed)
        tk = fit_composition(x, "kind", draws=500, tune=500, chains=2, seed=seed).table()
        tm = fit_composition(x, "mode", draws=500, tune=500, chains=2, seed=seed).table()
        t = truth["kind"][tk["era"].map(ERAS.index), tk["level"].map("pqr".index)]
        kind += int(((tk["lower"] < t) & (t < tk["upper"])).sum())
        tm = tm[tm["level"] == "y"]
        t = truth["mode"][tm["era"].map(ERAS.index)]
        mode += int(((tm["lower"] < t) & (t < tm["upper"])).sum())
    assert stats.binom.ppf(0.005, 180, 0.95) <= kind <= stats.binom.ppf(0.995, 180, 0.95), kind
    assert stats.binom.ppf(0.005, 60, 0.95) <= mode <= stats.binom.ppf(0.995, 60, 0.95), mode


def test_cluster_signal_by_hand(small, bundled):
    c = composition_counts(small, "kind")
    y = np.zeros((len(c.clusters), 3))
    np.add.at(y, c.cluster, c.counts)
    y += 0.5
    sd, noise = composition_signal(c)
    for k in (1, 2):
        w, v = np.log(y[:, k] / y[:, 0]), 1 / y[:, k] + 1 / y[:, 0]
        assert sd[k - 1] == pytest.approx(np.sqrt(max(0, np.var(w, ddof=1) - v.mean())))
        assert noise[k - 1] == pytest.approx(np.sqrt(np.median(v)))
    # a few new groups per county: the noise swamps any county effect, non-centred
    model = build_composition_model(composition_counts(bundled, "setting_type"))
    assert "cluster_z" in model.named_vars
    forced = build_composition_model(c, cluster_parameterization="centered")
    assert "cluster_z" not in forced.named_vars
    with pytest.raises(SpecError, match="parameterization"):
        build_composition_model(c, cluster_parameterization="sideways")


def test_large_models_sample_with_diagonal_adaptation(bundled):
    from bayessa.growth.founding import adapted_sampler
    from bayessa.model.spec import SamplerSpec

    big = build_composition_model(composition_counts(bundled, "setting_type"))
    s, why = adapted_sampler(big, SamplerSpec())
    # 6 intercepts, 2 x 6 era effects, 6 SDs, 6 x 37 sum-to-zero county effects
    assert s.adaptation == "diag" and why.startswith("diag: 246 parameters > 128")
    small = build_composition_model(composition_counts(bundled, "leader"))
    assert adapted_sampler(small, SamplerSpec())[0].adaptation == "low_rank"
    assert adapted_sampler(big, SamplerSpec(backend="pymc"))[0] == SamplerSpec(backend="pymc")
    assert adapted_sampler(big, SamplerSpec(adaptation="diag"))[0].adaptation == "diag"
