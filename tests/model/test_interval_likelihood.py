r"""The interval-censored likelihood: the model's log-density and the per-unit log-likelihood
against the survival likelihood written by hand, unit by unit, from the piecewise hazard.

For unit :math:`i` entering at :math:`e_i` with hazard :math:`\lambda(t)`:
exact :math:`\log\lambda(T) - \int_e^T\lambda`; right-censored :math:`-\int_e^L\lambda`;
interval-censored :math:`-\int_e^L\lambda + \log(1 - e^{-\int_L^R \lambda})`.
"""

import numpy as np
import pandas as pd
import pytest
from model_helpers import posterior_from_point, random_point, spec_for
from scipy.special import gammaln

from bayessa.data.cells import aggregate
from bayessa.data.columns import Columns
from bayessa.data.lexis import split
from bayessa.data.read import read_data
from bayessa.model.design import build_design
from bayessa.model.intervals import interval_patterns
from bayessa.model.loglik import unit_log_likelihood
from bayessa.model.pem import build_model
from bayessa.posterior.predict import log_rate

CUTS = np.array([0.0, 1.0, 2.5, np.inf])


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    entry = np.where(rng.random(n) < 0.3, rng.uniform(0, 1.5, n), 0.0)
    L = entry + rng.uniform(0.05, 3, n)
    kind = rng.choice(["exact", "right", "interval", "left"], n)
    R = np.where(kind == "interval", L + rng.uniform(0.1, 2, n), np.nan)
    R = np.where(kind == "exact", L, R)
    R = np.where(kind == "left", L, R)
    L = np.where(kind == "left", np.nan, L)
    # a few share a grid interval, so patterns are shared
    grid = rng.random(n) < 0.3
    L = np.where(grid & (kind == "interval"), 1.0 + entry * 0, L)
    R = np.where(grid & (kind == "interval"), 2.0, R)
    entry = np.where(grid & (kind == "interval"), 0.0, entry)
    df = pd.DataFrame({"id": np.arange(n), "e": entry, "L": L, "R": R,
                       "x": rng.choice(["a", "b"], n), "g": rng.choice(["k1", "k2", "k3"], n)})  # fmt: skip
    # a cluster seen only through one left-censored unit: its cells have no exposure
    df.loc[n] = [n, 0.0, np.nan, 3.0, "a", "k4"]
    cols = Columns(
        id="id", entry="e", time_lower="L", time_upper="R", covariates=("x",), cluster="g"
    )
    return df, read_data(df, cols, time_unit="years", on_invalid="raise")


def _H(a, b, rates):
    """Integral of the piecewise-constant hazard ``rates`` (per interval of CUTS) over (a, b]."""
    lo, hi = CUTS[:-1], CUTS[1:]
    return float(np.sum(rates * np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0, None)))


def _by_hand(sd, baseline, beta, u):
    f = sd.frame
    out = []
    for _, r in f.iterrows():
        rates = np.exp(baseline + beta * (r["x"] == "b") + u[r["g"]])
        ll = -_H(r["entry"], r["exit"], rates)
        if r["event"] == 1:
            ll += np.log(rates[np.searchsorted(CUTS, r["exit"], side="left") - 1])
        if np.isfinite(r["upper"]):
            ll += np.log1p(-np.exp(-_H(r["exit"], r["upper"], rates)))
        out.append(ll)
    return np.array(out)


def test_model_density_and_unit_loglik_equal_the_hand_likelihood():
    _, sd = _data()
    assert sd.has_intervals and (sd.frame["event"] == 1).any()
    cells = aggregate(split(sd, CUTS))
    assert (cells.frame["exposure"] == 0).any()  # some cells are reached only by an interval
    pats = interval_patterns(cells)
    assert pats.n_patterns < sd.interval_censored.sum()  # the grid units share one pattern
    design = build_design(cells.frame, "x + (1 | g)")
    model, _ = build_model(cells, design, spec_for("x + (1 | g)"))
    assert "interval_censored" in [p.name for p in model.potentials]
    rng = np.random.default_rng(5)
    interval = cells.frame["interval"].cat.codes.to_numpy()
    observed = model.compile_logp(vars=[model["events"]], jacobian=False)
    # random variables replaced by their value variables (else compile_fn draws from them)
    pot = model.replace_rvs_by_values(model.potentials)[0]
    potential = model.compile_fn(pot, inputs=model.value_vars, on_unused_input="ignore")
    exposed = cells.exposure > 0
    D, T = cells.events[exposed], cells.exposure[exposed]
    const = np.sum(D * np.log(T) - gammaln(D + 1))
    for _ in range(3):
        point = random_point(model, rng)
        post = posterior_from_point(model, point, ["baseline", "beta", "cluster_effect"])
        base = post["baseline"].values[0, 0]
        beta = float(post["beta"].values[0, 0, 0])
        u = dict(zip(post["g"].values, post["cluster_effect"].values[0, 0], strict=True))
        hand = _by_hand(sd, base, beta, u)
        model_ll = observed(point) + potential(point)
        np.testing.assert_allclose(model_ll, hand.sum() + const, rtol=1e-10)
        eta = log_rate(post, interval=interval, X=design.X, cluster=design.random[0].codes)
        np.testing.assert_allclose(unit_log_likelihood(eta, cells)[0], hand, rtol=1e-10, atol=1e-12)


def test_patterns_group_identical_intervals_only():
    _, sd = _data(seed=3, n=200)
    cells = aggregate(split(sd, CUTS))
    pats = interval_patterns(cells)
    assert pats.weight.sum() == sd.interval_censored.sum() == pats.units.size
    rates = np.random.default_rng(0).uniform(0.1, 2, (2, cells.n_cells))
    delta = pats.delta(rates)
    # each unit's Delta from its own pieces equals its pattern's
    p = cells.pieces
    own = np.array([[np.sum(r[cells.interval_cell[p.interval_unit == u]]
                            * p.interval_frame["exposure"].to_numpy()[p.interval_unit == u])
                     for u in pats.units] for r in rates])  # fmt: skip
    np.testing.assert_allclose(delta[:, pats.unit_pattern], own, rtol=1e-12)


def test_no_intervals_no_potential():
    df, _ = _data()
    df = df.assign(R=df["L"])  # every bound exact or left -> exact
    df = df[df["L"].notna()]
    sd = read_data(df, Columns(id="id", entry="e", time_lower="L", time_upper="R",
                               covariates=("x",)), time_unit="years", on_invalid="raise")  # fmt: skip
    cells = aggregate(split(sd, CUTS))
    assert cells.interval_cell is None or cells.interval_cell.size == 0
    model, _ = build_model(cells, build_design(cells.frame, "x"), spec_for("x"))
    assert not model.potentials
    with pytest.raises(KeyError):
        model["interval_censored"]
