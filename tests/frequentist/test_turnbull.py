"""Turnbull NPMLE pinned to R: npsurv's NPMLE and survival's survfit Turnbull estimate.

Reference: tests/reference/make_interval_reference.R (R 4.2.2, survival 3.5-3, npsurv 0.5-0) ->
interval/ic_pwe.csv, ic_exp.csv and interval_reference.json. R calls, per data set (all units,
then each level of x):

    survfit(Surv(L, R, type = "interval2") ~ 1)              # stock: EM stops at 5e-5
    survfitTurnbull with the stopping rule tightened to 1e-11    # "survfit_tight"
    npsurv::npsurv(cbind(L, R), tol = 1e-13, maxit = 1000)   # Wang's CNM, the NPMLE

Tolerances. npsurv's masses are exact to its remaining gradient (maxgrad / n <= 7e-10 in these
fits): ours are compared to 5e-9. survfit's curves are compared at survfit's own times, with the
drop of each innermost interval at its midpoint (survfit's convention); the tightened EM is still
up to 2e-8 from npsurv's NPMLE (recorded by R as tight_vs_npmle_max_abs), the stock EM up to 2.3e-3
(stock_vs_npmle_max_abs): ours must be within R's own distance + 1e-9 of each.
"""

from __future__ import annotations

import doctest
import importlib
import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.errors import DataError, SpecError
from bayessa.frequentist import kaplan_meier, turnbull, turnbull_steps, turnbull_survival

REF = Path(__file__).parents[1] / "reference" / "interval"
LUNG = Path(__file__).parents[1] / "reference" / "lung.csv"


@cache
def reference() -> dict:
    return json.loads((REF / "interval_reference.json").read_text())


def _num(values) -> np.ndarray:
    return np.array([np.inf if v == "Inf" else np.nan if v is None else v for v in values], float)


@cache
def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"{name}.csv")


def _fits():
    out = []
    for name, case in reference()["turnbull"].items():
        out.append((name, None, case["all"]))
        out += [(name, g, fit) for g, fit in case["groups"].items()]
    return out


FITS = _fits()
IDS = [f"{name}-{g or 'all'}" for name, g, _ in FITS]


def _mine(name: str, group: str | None) -> pd.DataFrame:
    df = _data(name)
    return turnbull(df if group is None else df[df["x"] == group], lower="L", upper="R")


@pytest.mark.parametrize(("name", "group", "fit"), FITS, ids=IDS)
def test_masses_match_npsurv(name, group, fit):
    mine = _mine(name, group)
    ref = fit["npsurv"]
    p = np.asarray(ref["p"], float)
    keep = p > 0
    np.testing.assert_array_equal(mine["left"], _num(ref["left"])[keep])
    np.testing.assert_array_equal(mine["right"], _num(ref["right"])[keep])
    np.testing.assert_allclose(mine["mass"], p[keep], rtol=0, atol=5e-9)
    info = mine.attrs["fit"][None]
    assert info["converged"] and info["max_gradient"] < 1e-10 and info["n"] == fit["n"]
    assert info["loglik"] == pytest.approx(ref["ll"], rel=1e-12)


@pytest.mark.parametrize(("name", "group", "fit"), FITS, ids=IDS)
def test_curve_matches_survfit_turnbull_at_its_times(name, group, fit):
    mine = _mine(name, group)
    for key, dist in (("survfit_tight", "tight_vs_npmle_max_abs"),
                      ("survfit", "stock_vs_npmle_max_abs")):  # fmt: skip
        curve = fit[key]
        s = turnbull_survival(mine, curve["time"], within="midpoint")["survival"].to_numpy()
        diff = np.max(np.abs(s - np.asarray(curve["surv"])))
        assert diff <= fit["checks"][dist] + 1e-9, (key, diff)
    # the stock curve really is that far off: R's 5e-5 stopping rule, not a difference of ours
    assert fit["checks"]["stock_vs_npmle_max_abs"] > 1e-4


def test_groups_are_separate_fits():
    df = _data("ic_pwe")
    both = turnbull(df, lower="L", upper="R", group="x")
    assert list(both.columns) == ["group", "left", "right", "mass", "survival_before", "survival"]
    assert set(both.attrs["fit"]) == {"a", "b"}
    for g in ("a", "b"):
        alone = turnbull(df[df["x"] == g], lower="L", upper="R")
        part = both[both["group"] == g].drop(columns="group").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, alone)


def test_r_left_censored_na_rule_is_not_followed():
    """survfit makes an L = NA unit with R before its first jump an exact event; we do not."""
    edge = reference()["turnbull_edge_cases"]
    for key in ("left_na_before_first_jump", "left_zero_is_interval"):
        case = edge[key]
        df = pd.DataFrame(
            {"L": _num(case["data_inline"]["L"]), "R": _num(case["data_inline"]["R"])}
        )
        mine = turnbull(df, lower="L", upper="R")
        np.testing.assert_allclose(mine["mass"], case["npsurv"]["p"], rtol=1e-12)
        np.testing.assert_array_equal(mine["left"], _num(case["npsurv"]["left"]))
        s = turnbull_survival(mine, case["survfit"]["time"])["survival"].to_numpy()
        if key == "left_zero_is_interval":
            np.testing.assert_allclose(s, case["survfit"]["surv"], atol=1e-12)
        else:  # survfit: 2/3, 1/3, 0 at 1, 2, 4; the NPMLE: 1/3 at 1 and 2 (mass 2/3 in (0, 1])
            np.testing.assert_allclose(case["survfit"]["surv"], [2 / 3, 1 / 3, 0])
            np.testing.assert_allclose(s, [1 / 3, 1 / 3, 0], atol=1e-12)


def test_exact_and_right_censored_only_is_kaplan_meier():
    lung = pd.read_csv(LUNG)
    df = pd.DataFrame({"L": lung["time"], "R": np.where(lung["event"] == 1, lung["time"], np.nan)})
    mine = turnbull(df, lower="L", upper="R")
    km = kaplan_meier(lung, time="time", event="event")
    ev = km[km["n_event"] > 0]
    np.testing.assert_array_equal(mine["left"].iloc[: len(ev)], ev["time"])
    s = turnbull_survival(mine, km["time"])["survival"].to_numpy()
    np.testing.assert_allclose(s, km["surv"], rtol=0, atol=1e-10)


def test_missing_lower_is_zero_and_missing_upper_is_infinite():
    df = _data("ic_exp")  # L = NA (left-censored) and R = Inf (right-censored)
    recoded = df.assign(L=df["L"].fillna(0.0), R=df["R"].replace(np.inf, np.nan))
    a = turnbull(df, lower="L", upper="R")
    b = turnbull(recoded, lower="L", upper="R")
    pd.testing.assert_frame_equal(a, b)


def test_ties_follow_half_open_intervals():
    # (0, 2] and (2, 4] do not overlap; the exact time 2 lies in (0, 2] but not in (2, 4]
    df = pd.DataFrame({"L": [0.0, 2.0, 2.0], "R": [2.0, 4.0, 2.0]})
    mine = turnbull(df, lower="L", upper="R")
    assert mine[["left", "right"]].values.tolist() == [[2.0, 2.0], [2.0, 4.0]]
    np.testing.assert_allclose(mine["mass"], [2 / 3, 1 / 3])


def test_survival_rules_and_plot_steps():
    df = pd.DataFrame({"L": [0.0, 0.0, 3.0, 0.5, 1.0], "R": [1.0, 2.0, 5.0, 0.5, np.nan]})
    tab = turnbull(df, lower="L", upper="R")  # mass 0.6 at 0.5, 0.4 in (3, 5]
    t = [0.4, 0.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    expect = {
        "midpoint": [1, 0.4, 0.4, 0.4, 0, 0, 0],
        "left": [1, 0.4, 0.4, 0, 0, 0, 0],
        "right": [1, 0.4, 0.4, 0.4, 0.4, 0.4, 0],
        "linear": [1, 0.4, 0.4, 0.3, 0.2, 0.1, 0],
    }
    for within, values in expect.items():
        got = turnbull_survival(tab, t, within=within)["survival"]
        np.testing.assert_allclose(got, values, atol=1e-12, err_msg=within)
    steps = turnbull_steps(tab)
    assert steps["time"].tolist() == [0.0, 0.5, 0.5, 4.0, 4.0, 5.0]
    np.testing.assert_allclose(steps["survival"], [1, 1, 0.4, 0.4, 0, 0], atol=1e-12)
    lin = turnbull_steps(tab, within="linear")
    assert lin["time"].tolist() == [0.0, 0.5, 0.5, 3.0, 5.0]
    grouped = turnbull(_data("ic_pwe"), lower="L", upper="R", group="x")
    assert set(turnbull_steps(grouped)["group"]) == {"a", "b"}
    with pytest.raises(SpecError, match="within"):
        turnbull_survival(tab, t, within="middle")


def test_mass_beyond_the_last_inspection():
    df = pd.DataFrame({"L": [1.0, 2.0, 3.0], "R": [1.0, np.inf, np.inf]})
    tab = turnbull(df, lower="L", upper="R")
    assert tab[["left", "right"]].values.tolist() == [[1.0, 1.0], [3.0, np.inf]]
    np.testing.assert_allclose(tab["mass"], [1 / 3, 2 / 3])
    assert turnbull_survival(tab, [10.0])["survival"].iloc[0] == pytest.approx(2 / 3)
    assert turnbull_steps(tab)["time"].iloc[-1] == 3.0


@pytest.mark.parametrize(
    ("L", "R", "column", "match", "ids"),
    [
        ([1.0, 3.0], [2.0, 2.0], "L, R", "greater than the upper bound", ["u2"]),
        ([-1.0, 0.0], [2.0, 2.0], "L", "negative lower bound", ["u1"]),
        ([0.0, 1.0], [2.0, -2.0], "R", "negative upper bound", ["u2"]),
        (["a", 1.0], [2.0, 2.0], "L", "non-numeric lower bound", ["u1"]),
        ([np.nan, 1.0], [np.nan, 2.0], "L, R", "both bounds missing", ["u1"]),
        ([0.0, 1.0], [0.0, 2.0], "R", "upper bound 0", ["u1"]),
        ([np.inf, 1.0], [np.inf, 2.0], "L", "infinite lower bounds", ["u1"]),
    ],
)
def test_bad_bounds_name_the_column_and_rows(L, R, column, match, ids):
    df = pd.DataFrame({"L": L, "R": R}, index=["u1", "u2"])
    with pytest.raises(DataError, match=match) as err:
        turnbull(df, lower="L", upper="R")
    problem = err.value.problems[0]
    assert problem.column == column and list(problem.ids) == ids


def test_other_input_errors():
    df = pd.DataFrame({"L": [0.0, 1.0], "R": [1.0, 2.0], "g": ["a", None], "b": [True, False]})
    with pytest.raises(DataError, match="'upper' column 'nope' not found|upper column 'nope'"):
        turnbull(df, lower="L", upper="nope")
    with pytest.raises(DataError, match="missing group values"):
        turnbull(df, lower="L", upper="R", group="g")
    with pytest.raises(DataError, match="true/false"):
        turnbull(df, lower="b", upper="R")
    with pytest.raises(DataError, match="no rows"):
        turnbull(df.iloc[:0], lower="L", upper="R")
    with pytest.raises(SpecError, match="tol"):
        turnbull(df, lower="L", upper="R", tol=0)
    with pytest.raises(TypeError):
        turnbull(df.to_dict(), lower="L", upper="R")


def test_no_warning_on_reference_data_and_warning_when_stopped_early():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        turnbull(_data("ic_exp"), lower="L", upper="R", group="x")
    with pytest.warns(RuntimeWarning, match="gradient condition"):
        turnbull(_data("ic_pwe"), lower="L", upper="R", tol=1e-300, max_iter=1)


def test_docstring_examples():
    module = importlib.import_module("bayessa.frequentist.npmle")
    assert doctest.testmod(module, extraglobs={"pd": pd}).failed == 0
