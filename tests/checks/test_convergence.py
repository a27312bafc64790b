"""One pass of summary and convergence statistics (bayessa.checks.convergence) equals ArviZ's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayessa.checks.convergence import SUMMARY_COLUMNS, TAIL_PROBS, parameter_table


def _posterior(seed=0, chains=4, draws=300):
    """An autocorrelated AR(1) posterior with a scalar, a labelled vector and an unlabelled matrix."""
    rng = np.random.default_rng(seed)

    def ar(shape, phi):
        x = np.empty((chains, draws, *shape))
        x[:, 0] = rng.normal(size=(chains, *shape))
        for t in range(1, draws):
            x[:, t] = phi * x[:, t - 1] + rng.normal(size=(chains, *shape))
        return x

    return xr.Dataset(
        {
            "sd": (("chain", "draw"), np.exp(ar((), 0.9))),
            "beta": (("chain", "draw", "coef"), ar((3,), 0.5) + [0, 1, -2]),
            "step": (("chain", "draw", "step_dim_0", "step_dim_1"), ar((2, 2), 0.2)),
            "fixed": (("chain", "draw"), np.ones((chains, draws))),  # constant: no R-hat
        },
        coords={"chain": np.arange(chains), "draw": np.arange(draws),
                "coef": ["a[x]", "b", "c"]},
    )  # fmt: skip


def test_matches_arviz_summary_and_vehtari_tail_ess():
    import arviz as az

    post = _posterior()
    names = ["sd", "beta", "step", "fixed"]
    ours = parameter_table(post, names)
    with np.errstate(invalid="ignore", divide="ignore"):  # ArviZ on the constant variable
        theirs = az.summary(
            xr.DataTree.from_dict({"posterior": post}), var_names=names, ci_prob=0.95
        )
    assert list(ours.index) == list(theirs.index)
    assert list(ours.columns[:9]) == SUMMARY_COLUMNS
    same = [c for c in SUMMARY_COLUMNS if c != "ess_tail"]
    pd.testing.assert_frame_equal(
        ours[same].astype(float), pd.DataFrame(theirs[same]).astype(float), rtol=1e-12
    )
    dt = xr.DataTree.from_dict({"posterior": post})
    tail = az.ess(dt, var_names=["sd"], method="tail", prob=TAIL_PROBS)["sd"]
    np.testing.assert_allclose(ours.loc["sd", "ess_tail"], float(tail), rtol=1e-12)
    q = az.mcse(dt, var_names=["beta"], method="quantile", prob=0.975)["beta"].values
    np.testing.assert_allclose(ours.loc[["beta[a[x]]", "beta[b]", "beta[c]"], "mcse_q975"], q)
    assert np.isnan(ours.loc["fixed", "r_hat"])  # no R-hat for a constant, as in ArviZ
    # ArviZ's default tail ESS (rcParams ci_prob 0.89) is a different, less extreme statistic
    assert not np.isclose(ours.loc["sd", "ess_tail"], theirs.loc["sd", "ess_tail"])
