"""Hazard ratios by age interval (bayessa.posterior.time_varying), the report's table and figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fakes import constant, fake_run, tiny_tree

from bayessa.posterior.time_varying import INTERVAL_HR_COLUMNS, interval_hazard_ratios

CUTS = [0.0, 1.0, 2.0, 4.0, np.inf]


def _tree(beta, delta, **kw):
    K = len(CUTS) - 1
    return tiny_tree(
        baseline=np.full((*beta.shape[:2], K), np.log(0.2)), beta=beta,
        coef_names=["leader[professional]", "era[late]"],
        levels={"leader": ["consumer", "professional"], "era": ["early", "late"]},
        terms=["leader", "era"], tv_delta=delta, tv_coefs=["leader[professional]"], cuts=CUTS,
        **kw,
    )  # fmt: skip


def test_each_interval_is_beta_plus_its_deviation():
    delta = np.array([-0.3, -0.1, 0.1, 0.3])[None, None, None, :]
    dt = _tree(constant(0.2, (1, 1, 2)), delta)
    tab = interval_hazard_ratios(dt["posterior"].dataset, CUTS)
    assert list(tab.columns) == INTERVAL_HR_COLUMNS
    assert list(tab["coef"]) == ["leader[professional]"] * 4  # only the time-varying one
    np.testing.assert_allclose(tab["hr_median"], np.exp(0.2 + delta.ravel()))
    np.testing.assert_array_equal(tab["start"], CUTS[:-1])
    np.testing.assert_array_equal(tab["end"], CUTS[1:])
    assert list(tab["interval"]) == ["k0", "k1", "k2", "k3"]
    assert list(tab["p_hr_gt_1"]) == [0.0, 1.0, 1.0, 1.0]  # 0.2 - 0.3 < 0 < 0.2 - 0.1


def test_intervals_and_probabilities_follow_the_draws():
    rng = np.random.default_rng(3)
    S = 20_000
    beta = np.stack([rng.normal(0.1, 0.2, S), rng.normal(0, 1, S)], -1)[None]  # (1, S, 2)
    dev = np.array([0.4, -0.4, 0.2, -0.2])
    delta = (dev + rng.normal(0, 0.1, (S, 4)))[None, :, None, :]
    tab = interval_hazard_ratios(_tree(beta, delta)["posterior"].dataset, CUTS, ci_prob=0.9)
    sd = np.hypot(0.2, 0.1)  # log HR_k ~ N(0.1 + dev_k, sd)
    mc = 3 * 1.25 * sd / np.sqrt(S)  # 3 Monte Carlo SEs of a normal median (1.25 sd/sqrt(S))
    np.testing.assert_allclose(np.log(tab["hr_median"]), 0.1 + dev, atol=mc)
    np.testing.assert_allclose(np.log(tab["hr_upper"]), 0.1 + dev + 1.645 * sd, atol=4 * mc)
    from scipy.stats import norm

    p = norm.sf(0, loc=0.1 + dev, scale=sd)
    assert np.all(np.abs(tab["p_hr_gt_1"] - p) <= 3 * np.sqrt(p * (1 - p) / S) + 1e-9)


def test_no_time_varying_effects_gives_an_empty_table():
    dt = tiny_tree(baseline=np.zeros((1, 2, 4)), beta=np.zeros((1, 2, 1)),
                   coef_names=["leader[professional]"],
                   levels={"leader": ["consumer", "professional"]}, terms=["leader"], cuts=CUTS)  # fmt: skip
    tab = interval_hazard_ratios(dt["posterior"].dataset, CUTS)
    assert tab.empty and list(tab.columns) == INTERVAL_HR_COLUMNS


def test_fit_result_report_and_run_show_them(tmp_path):
    result = fake_run(draws=40, seed=2, log_likelihood=False, time_varying=["leader"])
    by = result.hazard_ratios(by_interval=True)
    assert set(by["coef"]) == {c for c in result.info.time_varying_coefs}
    assert len(by) == len(result.info.time_varying_coefs) * result.info.n_intervals
    out = result.save(tmp_path / "run")
    saved = pd.read_csv(out / "hazard_ratios_by_interval.csv")
    np.testing.assert_allclose(saved["hr_median"], by["hr_median"])
    html = (out / "report.html").read_text()
    assert "Hazard ratio by age interval" in html
    assert (out / "report-interval_hazard_ratios.png").read_bytes()[:4] == b"\x89PNG"
    plain = fake_run(draws=20, seed=2, log_likelihood=False)
    assert plain.hazard_ratios(by_interval=True).empty
    assert not (plain.save(tmp_path / "plain") / "hazard_ratios_by_interval.csv").exists()


def test_the_plot_takes_and_returns_axes():
    from bayessa.plots import posterior as plots

    table = pd.DataFrame({"coef": "leader[professional]", "start": [0.0, 1.0], "end": [1.0, np.inf],
                          "hr_median": [1.2, 0.8], "hr_lower": [0.9, 0.5], "hr_upper": [1.6, 1.3]})  # fmt: skip
    given = plots.new_axes()
    avg = pd.DataFrame({"hr_median": [1.0]}, index=["leader[professional]"])
    assert plots.interval_hazard_ratios(table, given, average=avg) is given
    assert given.get_yscale() == "log" and given.get_title() == "leader[professional]"
    assert given.get_xlim()[1] >= 2.0  # the open last interval is drawn as wide as the one before
