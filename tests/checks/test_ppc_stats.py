"""Summaries of replicates (bayessa.ppc_stats) and their figures (bayessa.plots_ppc)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from _ppc_fakes import fake_tree

from bayessa.checks.ppc import replicate_lifetimes
from bayessa.checks.ppc_stats import (
    PPCStatistic,
    event_counts,
    km_curves,
    km_on_grid,
    km_survival_at,
    ppc_statistic,
)
from bayessa.errors import SpecError
from bayessa.frequentist import kaplan_meier
from bayessa.plots.ppc import (
    plot_event_counts,
    plot_hr_draws,
    plot_hr_intervals,
    plot_km_ppc,
    plot_km_ppc_grid,
    plot_loo_pit,
    plot_ppc_statistic,
)

EXIT = np.array([0.3, 0.7, 1.2, 1.2, 2.5, 3.0, 4.5, 6.0])
EVENT = np.array([1, 0, 1, 1, 0, 1, 1, 0])
LEADER = ["c", "c", "p", "c", "p", "p", "c", "p"]


@pytest.fixture
def tree():
    S = 60
    return fake_tree(
        exit=EXIT, event=EVENT, baseline=np.full((S, 3), np.log(0.3)), cuts=(0, 1, 3, 8),
        unit_vars={"leader": LEADER}, chains=2,
    )  # fmt: skip


@pytest.fixture
def rep(tree):
    return replicate_lifetimes(tree, seed=1)


def _as_replicate(tree, times, events):
    """A replicate Dataset holding given (samples, units) arrays, one chain."""
    return xr.Dataset(
        {
            "time": (("chain", "draw", "unit"), np.asarray(times, float)[None]),
            "event": (("chain", "draw", "unit"), np.asarray(events, np.int8)[None]),
        },
        coords={"unit": tree["observed_data"]["unit"].values},
    )


def test_km_on_grid_matches_the_pinned_estimator():
    km = kaplan_meier(pd.DataFrame({"t": EXIT, "d": EVENT}), time="t", event="d")
    grid = np.array([0.0, 0.3, 0.5, 1.2, 2.9, 6.0, 6.5])
    got = km_on_grid(EXIT, EVENT, np.zeros(8), grid)
    want = [1.0, *(km["surv"][km["time"] <= g].iloc[-1] for g in grid[1:-1]), np.nan]
    np.testing.assert_allclose(got, want)


def test_km_curves_observed_and_replicated(tree, rep):
    c = km_curves(tree, rep, by="leader", grid=np.array([0.0, 1.0, 3.0]))
    assert c["replicated"].dims == ("sample", "group", "t")
    assert c.sizes["sample"] == 60 and list(c["group"].values) == ["c", "p"]
    m = np.array(LEADER) == "p"
    np.testing.assert_allclose(
        c["observed"].sel(group="p"), km_on_grid(EXIT[m], EVENT[m], np.zeros(4), c["t"].values)
    )
    assert c.attrs["by"] == "leader"
    assert km_curves(tree).sizes["group"] == 1
    with pytest.raises(SpecError, match="unit variables: \\['leader'\\]"):
        km_curves(tree, by="county")


def test_event_counts_by_interval_and_by_unit_variable(tree):
    same = _as_replicate(tree, [EXIT, EXIT + 10], [EVENT, EVENT])
    ec = event_counts(tree, same)
    # events at 0.3, 1.2, 1.2, 3.0, 4.5: (0,1] 1, (1,3] 3, (3,8] 1; the shifted copy: all last
    np.testing.assert_array_equal(ec["observed"], [1, 3, 1])
    np.testing.assert_array_equal(ec["replicated"], [[1, 3, 1], [0, 0, 5]])
    assert list(ec["level"].values) == ["(0,1]", "(1,3]", "(3,8]"]
    by = event_counts(tree, same, by="leader")
    np.testing.assert_array_equal(by["observed"], [3, 2])
    np.testing.assert_array_equal(by["replicated"], [[3, 2], [3, 2]])


def test_ppc_statistic_and_p_value(tree):
    early = np.r_[EXIT[:-1] * 0.1, 6.0]
    reps = _as_replicate(tree, [EXIT, EXIT, early], [EVENT, EVENT, np.r_[np.ones(7), 0]])
    s5 = km_survival_at(1.0)
    res = ppc_statistic(tree, reps, s5)
    assert res.observed == pytest.approx(7 / 8) and res.name == "S(1)"
    # two replicates equal the data (T_rep >= T_obs); in one, 7 of 8 units die before 0.5
    np.testing.assert_allclose(res.replicated, [7 / 8, 7 / 8, 1 / 8])
    assert res.p_value == pytest.approx(2 / 3) and res.n_undefined == 0
    assert "p = P(T_rep >= T_obs) = 0.667" in str(res)
    # S(5.5) is undefined beyond a replicate's last exit: such replicates are left out, counted
    half = _as_replicate(tree, [EXIT, EXIT * 0.5], [EVENT, EVENT])
    late = ppc_statistic(tree, half, km_survival_at(5.5))
    assert late.n_undefined == 1 and late.p_value == 1.0
    with pytest.raises(SpecError, match="not defined for the observed data"):
        ppc_statistic(tree, half, km_survival_at(7.0))
    sub = ppc_statistic(tree, reps, s5, by="leader", level="p")
    assert sub.name == "S(1) [leader = p]"
    with pytest.raises(SpecError, match="not a level"):
        ppc_statistic(tree, reps, s5, by="leader", level="x")


# ---------------------------------------------------------------------------------- figures


def test_plot_km_ppc_draws_n_lines_and_the_observed_curve(tree, rep):
    c = km_curves(tree, rep, by="leader")
    ax = plot_km_ppc(c, group="p", n_lines=20)
    assert len(ax.lines) == 21 and ax.get_title() == "leader = p"
    assert len(ax.collections) == 1  # the band
    axes = plot_km_ppc_grid(c, n_lines=5)
    assert len(axes) == 2 and all(len(a.lines) == 6 for a in axes)
    assert len(plot_km_ppc(km_curves(tree)).lines) == 1  # observed only
    plt.close("all")


def test_plot_event_counts(tree, rep):
    ax = plot_event_counts(event_counts(tree, rep))
    assert len(ax.lines) == 2 and len(ax.collections) == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["(0,1]", "(1,3]", "(3,8]"]
    plt.close("all")


def test_plot_ppc_statistic():
    res = PPCStatistic("S(5)", 0.4, np.linspace(0.2, 0.6, 50), 0.52)
    ax = plot_ppc_statistic(res)
    assert len(ax.lines) == 1 and ax.lines[0].get_xdata()[0] == 0.4
    assert "0.52" in ax.get_title()
    plt.close("all")


def test_plot_loo_pit():
    ax = plot_loo_pit(np.random.default_rng(0).uniform(size=200), n_simulations=200)
    assert len(ax.lines) == 2 and len(ax.collections) == 1
    plt.close("all")


def test_plot_hr_intervals_and_draws():
    table = pd.DataFrame(
        {"hr_median": [2.0, 0.8], "hr_lower": [1.2, 0.5], "hr_upper": [3.0, 1.1]},
        index=["leader[p]", "era[e]"],
    )
    ax = plot_hr_intervals({"default": table, "wider": table * 1.1}, coef="leader[p]")
    assert {t.get_text() for t in ax.get_yticklabels()} == {"default", "wider"}
    assert len(ax.lines) == 2 and ax.get_xscale() == "log"
    np.testing.assert_allclose(sorted(ax.lines[0].get_xdata()), [2.0, 2.2])
    scaled = pd.DataFrame({"alpha": [0.5, 1.0], "coef": ["b", "b"], "hr_median": [1, 1],
                           "hr_lower": [0.5, 0.6], "hr_upper": [2, 1.8]})  # fmt: skip
    ax = plot_hr_intervals(scaled, coef="b")
    assert {t.get_text() for t in ax.get_yticklabels()} == {"prior^0.5", "prior^1"}
    ax = plot_hr_draws({"prior": np.random.default_rng(1).normal(size=500), "posterior": [0.5] * 9})
    assert len(ax.patches) == 2 and len(ax.lines) == 1
    plt.close("all")
