"""Prediction for new units against closed forms on fake posteriors (no sampling)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fakes import constant, tiny_tree
from scipy import integrate

from bayessa.errors import DataError, SpecError
from bayessa.posterior.newdata import predict_newdata

CUTS = [0.0, 1.0, 3.0, math.inf]
LAM = np.array([0.2, 0.1, 0.05])  # hazard of the reference in each interval
BETA = 0.7  # log HR of x = b
U = {"A": 0.3, "B": -0.3}
SD = 0.5


def _tree(draws: int = 4):
    shape = (1, draws)
    return tiny_tree(
        baseline=constant(np.log(LAM), (*shape, 3)),
        beta=constant([BETA], (*shape, 1)),
        coef_names=["x[b]"],
        levels={"x": ["a", "b"]},
        terms=["x"],
        cluster_effect=constant([U["A"], U["B"]], (*shape, 2)),
        cluster_sd=constant(SD, shape),
        cluster_levels=["A", "B"],
        cuts=CUTS,
    )


def _H0(t: float, lam=LAM) -> float:
    widths = np.clip(np.minimum(t, CUTS[1:]) - CUTS[:-1], 0, None)
    return float(np.sum(lam * widths))


def test_conditional_rows_match_the_closed_form():
    new = pd.DataFrame({"x": ["b", "a"], "county": ["A", "B"]}, index=["p", "q"])
    times = [0.5, 1.0, 2.0, 5.0]
    out = predict_newdata(_tree(), new, times=times, horizon=4.0)
    assert list(out["row"]) == ["p"] * 4 + ["q"] * 4
    for row, x, u in (("p", BETA, U["A"]), ("q", 0.0, U["B"])):
        r = out[out["row"] == row]
        assert set(r["cluster_effect"]) == {f"conditional on county = {'A' if row == 'p' else 'B'}"}
        scale = math.exp(x + u)
        H = np.array([_H0(t) * scale for t in times])
        np.testing.assert_allclose(r["cumhaz"], H, rtol=1e-12)
        np.testing.assert_allclose(r["survival"], np.exp(-H), rtol=1e-12)
        # hazard at t: right-closed intervals, so t = 1 is still in the first interval
        np.testing.assert_allclose(r["hazard"], LAM[[0, 0, 1, 2]] * scale, rtol=1e-12)
        assert np.all(r["survival_lower"] == r["survival"])  # every draw the same
        rmst, _ = integrate.quad(lambda t, s=scale: math.exp(-_H0(t) * s), 0, 4.0, points=[1, 3])
        assert r["rmst"].iloc[0] == pytest.approx(rmst, rel=1e-9)
        median = _median(scale)
        assert r["median"].iloc[0] == pytest.approx(median, rel=1e-9)


def _median(scale: float) -> float:
    target = math.log(2) / scale  # H0(t) = log 2 / scale
    acc = 0.0
    for a, b, lam in zip(CUTS[:-1], CUTS[1:], LAM, strict=True):
        if acc + lam * (b - a) >= target:
            return a + (target - acc) / lam
        acc += lam * (b - a)
    raise AssertionError


def test_marginal_rows_integrate_over_a_new_cluster():
    new = pd.DataFrame({"x": ["b", "b", "b"], "county": ["Alger", None, "A"]})
    times = [0.5, 2.0, 6.0]
    out = predict_newdata(_tree(), new, times=times)
    labels = out.groupby("row")["cluster_effect"].first()
    assert out.groupby("row")["county"].first().tolist()[::2] == ["Alger", "A"]  # as given
    assert labels[0] == "marginal over county effects (county 'Alger' not in the data)"
    assert labels[1] == "marginal over county effects (county not given)"
    assert labels[2] == "conditional on county = A"
    marg = out[out["row"] == 0]
    density = lambda u: math.exp(-0.5 * (u / SD) ** 2) / (SD * math.sqrt(2 * math.pi))  # noqa: E731
    for t, s, h in zip(times, marg["survival"], marg["hazard"], strict=True):
        H = _H0(t) * math.exp(BETA)
        S, _ = integrate.quad(lambda u, H=H: density(u) * math.exp(-math.exp(u) * H), -10, 10)
        k = np.searchsorted(CUTS, t, side="left") - 1
        f, _ = integrate.quad(
            lambda u, H=H, k=k: density(u) * math.exp(u) * LAM[k] * math.exp(BETA)
            * math.exp(-math.exp(u) * H), -10, 10,
        )  # fmt: skip
        assert s == pytest.approx(S, abs=1e-6)
        assert h == pytest.approx(f / S, rel=1e-5)
    np.testing.assert_allclose(marg["cumhaz"], -np.log(marg["survival"]), rtol=1e-12)
    without = predict_newdata(_tree(), new.drop(columns="county"), times=times)
    np.testing.assert_allclose(without[without["row"] == 2]["survival"], marg["survival"])


def test_levels_match_as_text_and_bad_rows_are_named():
    tree = tiny_tree(
        baseline=constant(np.log(LAM), (1, 2, 3)), beta=constant([BETA], (1, 2, 1)),
        coef_names=["x[2]"], levels={"x": ["1", "2"]}, terms=["x"], cuts=CUTS,
    )  # fmt: skip
    as_int = predict_newdata(tree, pd.DataFrame({"x": [2, 1.0]}), times=[1.0])
    assert list(as_int["x"]) == ["2", "1"]
    assert as_int["cluster_effect"].iloc[0] == "no cluster effects in the model"
    with pytest.raises(DataError, match=r"unknown levels \['\(missing\)', '7'\]") as err:
        predict_newdata(tree, pd.DataFrame({"x": [1, 7, None]}, index=[10, 11, 12]), times=[1.0])
    assert "11" in str(err.value) and "12" in str(err.value) and "1, 2" in str(err.value)
    with pytest.raises(DataError, match="column 'x' not found"):
        predict_newdata(tree, pd.DataFrame({"y": [1]}), times=[1.0])
    with pytest.raises(SpecError, match="times must be numbers"):
        predict_newdata(tree, pd.DataFrame({"x": [1]}), times=[0.0])


def _H_path(t: float, s: float, before: float, after: float) -> float:
    """Cumulative hazard at t of a unit with log HR ``before`` until s and ``after`` from s."""
    return math.exp(before) * _H0(min(t, s)) + math.exp(after) * max(_H0(t) - _H0(s), 0.0)


def test_a_covariate_path_stitches_the_hazards_at_the_change_time():
    # x = a until 2 (inside the second interval), x = b after; conditional on county A
    new = pd.DataFrame(
        {"unit": ["u", "u", "w"], "from": [2.0, 0.0, 0.0], "x": ["b", "a", "a"],
         "county": ["A", "A", "A"]}
    )  # fmt: skip
    times = [0.5, 2.0, 2.5, 5.0]
    out = predict_newdata(_tree(), new, times=times, horizon=4.0, id="unit", tstart="from")
    path = out[out["unit"] == "u"]
    assert set(path["path"]) == {"x = a; from 2 years: x = b"}
    assert list(path["x"]) == ["a", "a", "b", "b"]  # the value in force at each time
    H = np.array([_H_path(t, 2.0, U["A"], BETA + U["A"]) for t in times])
    np.testing.assert_allclose(path["cumhaz"], H, rtol=1e-12)
    np.testing.assert_allclose(path["survival"], np.exp(-H), rtol=1e-12)
    np.testing.assert_allclose(
        path["hazard"], LAM[[0, 1, 1, 2]] * np.exp([U["A"], U["A"], BETA + U["A"], BETA + U["A"]])
    )
    rmst, _ = integrate.quad(
        lambda t: math.exp(-_H_path(t, 2.0, U["A"], BETA + U["A"])), 0, 4.0, points=[1, 2, 3]
    )
    assert path["rmst"].iloc[0] == pytest.approx(rmst, rel=1e-9)
    # the unit that stays at x = a is the one-row prediction
    alone = predict_newdata(_tree(), new.iloc[[2]].drop(columns=["unit", "from"]), times=times)
    np.testing.assert_allclose(out[out["unit"] == "w"]["survival"], alone["survival"])


def test_path_rows_must_start_at_zero_and_increase():
    new = pd.DataFrame({"unit": ["u", "u"], "from": [1.0, 2.0], "x": ["a", "b"]})
    with pytest.raises(DataError, match="start at 0") as err:
        predict_newdata(_tree(), new, times=[1.0], id="unit", tstart="from")
    assert "u" in str(err.value)
    with pytest.raises(SpecError, match="both id and tstart"):
        predict_newdata(_tree(), new, times=[1.0], id="unit")
