"""The convergence gate on fake posteriors (no sampling): each check, its threshold and advice."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from bayessa.checks.diagnostics import check

C, D = 4, 500


def _tree(*, shift=0.0, divergent=0, energy=None, maxdepth=0.0, parameterization=None, seed=0):
    """iid N(0, 1) draws of a scalar ``a`` and ``b[coef]``; chain 3 of ``b[y]`` moved by shift."""
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(C, D, 2))
    b[3, :, 1] += shift
    post = xr.Dataset(
        {
            "a": (("chain", "draw"), rng.normal(size=(C, D))),
            "b": (("chain", "draw", "coef"), b),
            "b_z": (("chain", "draw"), np.zeros((C, D))),  # internal helper: never checked
        },
        coords={"chain": np.arange(C), "draw": np.arange(D), "coef": ["x", "y"]},
    )
    div = np.zeros((C, D), bool)
    div.flat[:divergent] = True
    depth = np.zeros((C, D), bool)
    depth.flat[: int(maxdepth * C * D)] = True
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), div),
            "energy": (("chain", "draw"), rng.normal(size=(C, D)) if energy is None else energy),
            "maxdepth_reached": (("chain", "draw"), depth),
        },
        coords={"chain": np.arange(C), "draw": np.arange(D)},
    )
    dt = xr.DataTree()
    dt["posterior"], dt["sample_stats"] = post, stats
    if parameterization:
        info = {"parameterization": parameterization, "cluster": "county"}
        dt.attrs["bayessa_model_info"] = json.dumps(info)
    return dt


def test_well_mixed_draws_pass_and_report_every_check():
    d = check(_tree())
    assert d.passed and d.failures == []
    assert d.max_rhat < 1.01 and d.min_ess_bulk > 1000 and d.divergences == 0
    # iid draws: MCSE of a mean is sd / sqrt(ESS) ~ 1 / sqrt(2000)
    assert d.max_mcse_ratio == pytest.approx(1 / np.sqrt(C * D), rel=0.3)
    assert [c["check"] for c in d.checks] == [
        "R-hat", "bulk ESS", "tail ESS", "MCSE", "MCSE (2.5%/97.5%)", "divergences", "E-BFMI",
        "tree depth",
    ]  # fmt: skip
    assert all(c["passed"] for c in d.checks)
    assert "b_z" not in json.dumps(d.worst)  # the internal helper is excluded
    json.dumps(d.to_dict())  # serialisable for diagnostics.json


def test_chains_that_disagree_fail_rhat_naming_the_element():
    d = check(_tree(shift=1.0))
    assert not d.passed and d.max_rhat > 1.05
    assert d.worst["rhat"] == "b[y]"
    line = next(f for f in d.failures if f.startswith("max R-hat"))
    assert "(worst: b[y])" in line and "chains disagree" in line
    # far from 1: chains with different answers, which more draws do not fix
    assert "Try: the chains found different answers for b[y]" in line


def test_divergences_depth_and_bfmi_fail_with_advice():
    walk = np.cumsum(np.random.default_rng(1).normal(size=(C, D)), axis=1)  # E-BFMI ~ 1/D
    d = check(_tree(divergent=3, energy=walk, maxdepth=0.05, parameterization="noncentered"))
    assert d.divergences == 3 and d.min_bfmi < 0.3 and d.max_treedepth_share == 0.05
    text = "\n".join(d.failures)
    assert "3 divergent transitions" in text and "--target-accept 0.95" in text
    # the form in use is the one the data call for (or unknown): no switch is suggested
    assert "parameterization" not in text
    assert "min E-BFMI" in text and "5.0% of draws at the maximum tree depth" in text
    failed = {c["check"] for c in d.checks if not c["passed"]}
    assert failed == {"divergences", "E-BFMI", "tree depth"}


def test_thresholds_are_configurable():
    d = check(_tree(), min_ess=1e6, max_mcse_ratio=1e-4)
    failed = {c["check"] for c in d.checks if not c["passed"]}
    assert failed == {"bulk ESS", "tail ESS", "MCSE"}
    assert d.thresholds["min_ess"] == 1e6 and d.thresholds["max_mcse_quantile_ratio"] == 0.2
    assert check(_tree(divergent=2), max_divergences=2).passed


def test_constant_elements_are_ignored_without_warnings():
    dt = _tree()
    post = dt["posterior"].dataset
    dt["posterior"] = post.assign(c=(("chain", "draw"), np.zeros((C, D))))
    d = check(dt)  # warnings are errors under pytest
    assert d.passed and "c" not in d.worst.values()


def test_var_names_and_missing_sample_stats():
    dt = _tree(shift=1.0)
    assert check(dt, var_names=["a"]).passed
    del dt["sample_stats"]
    d = check(dt, var_names=["a"])
    assert d.passed and d.divergences == 0 and np.isnan(d.min_bfmi)


def _advice(info, worst, **kw):
    from bayessa.checks.advice import advise

    args = dict(chains=4, draws=1000, min_ess_bulk=770.0, max_rhat=1.012, min_ess=400.0)
    return advise(info, worst, **(args | kw))


BUNDLED = {  # the default analysis of the bundled data, as its run records it
    "cluster": "county", "parameterization": "noncentered",
    "parameterization_reason": "median events per cluster 3 < 20",
    "parameterization_by_rule": "noncentered", "baseline_parameterization": "centered",
    "baseline_parameterization_by_rule": "noncentered",
    "baseline_parameterization_reason": "requested (centered); median events per interval 20",
}  # fmt: skip


def test_low_ess_in_a_well_chosen_form_asks_for_more_draws_not_a_switch():
    """Measured: centred county effects on the bundled data gave ESS 100-201 (docs/decisions)."""
    worst = {"ess_bulk": "cluster_sd", "rhat": "cluster_effect[Wayne]", "ess_tail": "cluster_sd"}
    adv = _advice(BUNDLED, worst)
    assert adv["bulk ESS"].startswith("sample more: --ess 1000 adds 4 chains at a time")
    assert "about 7 chains" in adv["bulk ESS"]  # 4 x 1.2 x 1000 / 770, rounded up
    assert adv["R-hat"].startswith("sample more") and "centered" not in " ".join(adv.values())


def test_a_requested_form_the_data_argue_against_is_switched_first():
    info = dict(BUNDLED, parameterization="centered",
                parameterization_reason="requested (centered); median events per cluster 3")  # fmt: skip
    adv = _advice(info, {"ess_bulk": "cluster_sd", "rhat": "cluster_sd"}, max_rhat=1.3)
    for name in ("bulk ESS", "R-hat", "divergences"):
        assert adv[name].startswith(
            "switch the county effects to the noncentered form the data call for "
            "(--cluster-parameterization noncentered; now centered: requested (centered)"
        ), name
    # the baseline walk was requested centred against the rule: switched when it is the worst
    adv = _advice(BUNDLED, {"ess_bulk": "baseline_sd"})
    assert "--baseline-parameterization noncentered; now centered" in adv["divergences"]
    # a centred walk the data call for (lung in days): target_accept, not a switch (measured)
    lung = dict(BUNDLED, baseline_parameterization_by_rule="centered")
    adv = _advice(lung, {"ess_bulk": "baseline_sd"}, target_accept=0.9)
    assert adv["divergences"].startswith("raise the target acceptance: --target-accept 0.95")


def test_far_rhat_points_at_the_model_and_divergences_at_target_accept():
    auto = dict(BUNDLED, baseline_parameterization="noncentered")
    adv = _advice(auto, {"rhat": "beta[leader[professional]]", "ess_bulk": "beta[x]"},
                  max_rhat=1.2, target_accept=0.9)  # fmt: skip
    assert adv["R-hat"].startswith("the chains found different answers for beta[leader[")
    assert (
        adv["divergences"]
        == "raise the target acceptance: --target-accept 0.95 (now 0.9), then 0.99"
    )
