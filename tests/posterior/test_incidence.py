"""Cumulative incidence and restricted mean time lost of piecewise-exponential causes (closed forms)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from bayessa.posterior.curves import Mixture
from bayessa.posterior.incidence import (
    cause_incidence,
    incidence_draws,
    restricted_mean_time_lost,
)

CUTS = np.array([0.0, 1.0, 3.0, math.inf])
LAM = np.array([[0.2, 0.1, 0.3], [0.05, 0.4, 0.1]])  # cause x interval


def _numeric_cif(j, t, lam=LAM):
    def hazard(u, c):
        return lam[c][min(np.searchsorted(CUTS, u, side="left") - 1, 2) if u > 0 else 0]

    def surv(u):
        o = np.clip(np.minimum(u, CUTS[1:]) - CUTS[:-1], 0, None)
        return math.exp(-float(np.sum(lam.sum(axis=0) * o)))

    return integrate.quad(lambda u: hazard(u, j) * surv(u), 0, t, points=[1, 3], limit=200)[0]


def test_incidence_is_the_integral_of_hazard_times_survival():
    times = np.array([0.5, 1.0, 2.0, 5.0])
    cif = incidence_draws(np.log(LAM)[:, None, :], CUTS, times)  # one draw
    for j in range(2):
        for i, t in enumerate(times):
            assert cif[j, 0, i] == pytest.approx(_numeric_cif(j, t), rel=1e-9)
    # the causes' incidences and the survival add to one
    total = np.exp(-np.sum(LAM.sum(0) * np.clip(np.minimum(5.0, CUTS[1:]) - CUTS[:-1], 0, None)))
    assert cif[:, 0, -1].sum() + total == pytest.approx(1.0, rel=1e-12)


def test_restricted_mean_time_lost_is_the_integral_of_the_incidence():
    rmtl = restricted_mean_time_lost(np.log(LAM)[:, None, :], CUTS, 4.0)
    for j in range(2):
        ref = integrate.quad(lambda t, j=j: _numeric_cif(j, t), 0, 4.0, points=[1, 3])[0]
        assert rmtl[j, 0] == pytest.approx(ref, rel=1e-7)


def test_marginal_over_each_causes_cluster_effect_is_the_product_rule():
    # two causes, each with a cluster effect u_j ~ N(0, sd_j), by brute-force Monte Carlo
    sd = [0.4, 0.7]
    mixtures = []
    for j in range(2):
        x, w = np.polynomial.hermite.hermgauss(24)
        shifts = np.sqrt(2) * sd[j] * x[None, :]
        mixtures.append(Mixture(np.log(LAM[j])[None, None, :], np.ones(1), CUTS, "", "",
                                shifts, w / np.sqrt(np.pi)))  # fmt: skip
    cif, _ = cause_incidence(mixtures, np.array([2.0]), 3.0)
    rng = np.random.default_rng(1)
    u = rng.normal(0, 1, (200_000, 2)) * sd
    eta = np.log(LAM)[None, :, :] + u[:, :, None]  # (draws, cause, K)
    mc = incidence_draws(np.moveaxis(eta, 1, 0), CUTS, np.array([2.0]))[:, :, 0].mean(axis=1)
    se = incidence_draws(np.moveaxis(eta, 1, 0), CUTS, np.array([2.0]))[:, :, 0].std(axis=1)
    np.testing.assert_allclose(cif[:, 0, 0], mc, atol=4 * se.max() / np.sqrt(200_000))


def test_three_causes_use_fewer_nodes_each_with_the_same_incidence(monkeypatch):
    import bayessa.posterior.incidence as inc
    from bayessa.posterior.curves import _hermite

    lam = np.vstack([LAM, [0.1, 0.1, 0.1]])
    mixtures = []
    for j in range(3):
        shifts, w = _hermite(np.array([0.8]), 24)
        mixtures.append(Mixture(np.log(lam[j])[None, None, :], np.ones(1), CUTS, "", "",
                                shifts, w))  # fmt: skip
    capped, _ = cause_incidence(mixtures, np.array([1.0, 4.0]), 3.0)
    assert all(m.shifts.shape[1] <= 10 for m in inc._fewer_nodes(mixtures))
    monkeypatch.setattr(inc, "MAX_NODE_COMBINATIONS", 10**6)
    full, _ = cause_incidence(mixtures, np.array([1.0, 4.0]), 3.0)
    np.testing.assert_allclose(capped, full, atol=1e-5)
