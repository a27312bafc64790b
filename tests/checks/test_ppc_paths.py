"""Per-unit likelihood and predictive replicates along observed covariate paths (no sampling)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fakes import fake_run

from bayessa.checks.ppc import replicate_lifetimes, unit_cumulative_hazard, unit_layout

HEART = Path(__file__).parents[1] / "reference" / "tvc" / "heart.csv"
ROLES = dict(id="id", tstart="start", tstop="stop", event="event", time_unit="days")


def _run():
    return fake_run(
        data=HEART, formula="C(transplant) + age + surgery", cuts=[0, 30, 100, 365, 2000], **ROLES
    )


def test_unit_log_likelihood_sums_over_the_units_rows():
    run = _run()
    tree, prepared = run.idata, run.prepared
    assert tree["log_likelihood"]["time"].sizes["unit"] == 103  # units, not 172 rows
    # by hand from the rows: the hazard integrated over each row with that row's transplant
    from bayessa.posterior.predict import draws

    beta = draws(tree["posterior"].dataset, "beta")  # (S, 3): transplant[1], age, surgery
    base = draws(tree["posterior"].dataset, "baseline")  # (S, K), at the reference profile
    design = prepared.design
    ref = design.x_reference
    a = prepared.pieces.cuts
    ll = np.zeros((beta.shape[0], 103))
    f = prepared.data.frame
    codes = prepared.data.unit_codes
    for r, (s, e, d, tr, age, surg) in enumerate(
        zip(f["entry"], f["exit"], f["event"], f["transplant"], f["age"], f["surgery"], strict=True)
    ):
        x = np.array([float(tr == "1"), age, surg]) - ref
        grid = np.unique(np.clip(np.r_[s, a, e], s, e))
        for lo, hi in zip(grid[:-1], grid[1:], strict=True):
            k = np.searchsorted(a, 0.5 * (lo + hi)) - 1
            lam = np.exp(base[:, k] + beta @ x)
            ll[:, codes[r]] -= lam * (hi - lo)
            if d and hi == e:
                ll[:, codes[r]] += np.log(lam)
    stored = tree["log_likelihood"]["time"].values.reshape(-1, 103)
    np.testing.assert_allclose(stored, ll, rtol=1e-10)


def test_replicates_use_the_path_and_agree_with_the_likelihood():
    run = _run()
    tree = run.idata
    lay = unit_layout(tree)
    assert lay.X.shape[0] == 172 and lay.paths is not None
    # the cumulative hazard along each observed path is minus the log-likelihood of a
    # censored unit (its only term)
    H = unit_cumulative_hazard(tree)
    ll = tree["log_likelihood"]["time"].values.reshape(H.shape)
    censored = tree["constant_data"]["time"].values == 0
    np.testing.assert_allclose(H[:, censored], -ll[:, censored], rtol=1e-12)
    rep = replicate_lifetimes(tree, seed=3, n_draws=10)
    assert rep["time"].sizes["unit"] == 103
    assert np.all(rep["time"].values >= lay.entry)


def test_a_stratum_that_changes_is_followed_row_by_row():
    # strata by the current transplant status: each row's baseline is its own stratum's
    run = fake_run(
        data=HEART, formula="age", strata="transplant", cuts=[0, 30, 100, 365, 2000], **ROLES
    )
    tree = run.idata
    lay = unit_layout(tree)
    assert lay.stratum.shape == (172,)
    H = unit_cumulative_hazard(tree)
    ll = tree["log_likelihood"]["time"].values.reshape(H.shape)
    censored = tree["constant_data"]["time"].values == 0
    np.testing.assert_allclose(H[:, censored], -ll[:, censored], rtol=1e-12)
