"""The PEM under interval censoring pinned to R: an independent R maximisation and survreg.

Reference: tests/reference/make_interval_reference.R (R 4.2.2, survival 3.5-3) ->
interval/ic_pwe.csv, ic_exp.csv, ic_entry.csv and interval_reference.json:

    pem: the log-likelihood written afresh in R (exact log h - H, right -H(L), interval
         log(S(L) - S(R)), minus log S(entry)) with its analytic gradient, optim(BFGS,
         reltol = 1e-14) then Newton steps to max |gradient| < 1e-9; SEs from R's analytic
         Hessian (checked against optimHess to 1e-6 relative in R)
    survreg(Surv(L, R, type = "interval2") ~ x, dist = "exponential",
            control = survreg.control(rel.tolerance = 1e-13))       (and ~ 1)

Tolerances. With |gradient| < 1e-9 and an information of order 10..100, R's estimate is within
~1e-10 of the maximum, and ours (Newton to a step < 1e-10) likewise: coefficients to 1e-8
(relative, absolute 1e-9), SEs and covariances to 1e-8, the log-likelihood to 1e-12. survreg's
tightened rel.tolerance leaves it ~1e-12 from the maximum; the comparison with the one-piece
PEM (alpha = -(Intercept), beta = -coef) uses the 1e-6 of the issue, far above what is seen
(~4e-14).
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.errors import DataError, SpecError
from bayessa.frequentist import IntervalPEMResult, interval_pem, poisson_pem

REF = Path(__file__).parents[1] / "reference" / "interval"


@cache
def reference() -> dict:
    return json.loads((REF / "interval_reference.json").read_text())


@cache
def _data(file: str) -> pd.DataFrame:
    return pd.read_csv(REF / file)


def _cuts(values) -> list[float]:
    return [np.inf if v == "Inf" else float(v) for v in values]


PEM = reference()["pem"]


@pytest.mark.parametrize("name", list(PEM))
def test_matches_the_independent_r_maximisation(name):
    case = PEM[name]
    fit = interval_pem(_data(case["data"]), lower="L", upper="R", cuts=_cuts(case["cuts"]),
                       covariates=case["covariates"], entry=case["entry"])  # fmt: skip
    assert fit.names == case["names"]
    assert fit.converged
    np.testing.assert_allclose(fit.coef, case["coef"], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(fit.se, case["se"], rtol=1e-8)
    np.testing.assert_allclose(fit.cov, case["cov"], rtol=1e-8, atol=1e-12)
    assert fit.loglik == pytest.approx(case["loglik"], rel=1e-12)
    counts = case["counts"]
    assert fit.counts["exact"] == counts["exact"]
    assert fit.counts["interval"] + fit.counts["left"] == counts["interval_or_left"]
    assert fit.counts["right"] == counts["right"]


@pytest.mark.parametrize("name", list(reference()["survreg"]))
def test_one_piece_is_survreg_exponential(name):
    case = reference()["survreg"][name]
    covariates = ["x"] if case["names"] == ["(Intercept)", "xb"] else []
    fit = interval_pem(_data(case["data"]), lower="L", upper="R", cuts=[0, np.inf],
                       covariates=covariates)  # fmt: skip
    np.testing.assert_allclose(-fit.coef, case["coef"], rtol=1e-6)
    np.testing.assert_allclose(fit.cov, case["vcov"], rtol=1e-6)
    assert fit.loglik == pytest.approx(case["loglik"], rel=1e-6)


def test_delayed_entry_column_of_zeros_changes_nothing():
    df = _data("ic_pwe.csv")
    cuts = [0, 1, 2, 4, np.inf]
    a = interval_pem(df, lower="L", upper="R", cuts=cuts, covariates=["x"])
    b = interval_pem(df.assign(e=0.0), lower="L", upper="R", cuts=cuts, covariates=["x"], entry="e")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-13)


def test_lower_bound_below_entry_is_read_as_entry():
    df = _data("ic_entry.csv")
    cuts = [0, 1, 2, 4, np.inf]
    a = interval_pem(df, lower="L", upper="R", cuts=cuts, covariates=["x"], entry="entry")
    lowered = df.assign(L=np.where(df["kind"] == "left", 0.0, df["L"]))
    b = interval_pem(lowered, lower="L", upper="R", cuts=cuts, covariates=["x"], entry="entry")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    assert b.counts == a.counts and a.counts["left"] == (df["kind"] == "left").sum()


def test_exact_and_right_censored_only_is_the_poisson_pem():
    """Without interval-censored units the likelihood is the Poisson PEM's on the split cells."""
    df = _data("ic_entry.csv")
    df = df[df["kind"].isin(["exact", "right"])].reset_index(drop=True)
    cuts = np.array([0, 1, 2, 4, np.inf])
    fit = interval_pem(df, lower="L", upper="R", cuts=cuts, covariates=["x"], entry="entry")
    exit_, entry = df["L"].to_numpy(), df["entry"].to_numpy()
    width = np.diff(cuts)
    expo = np.clip(exit_[:, None] - cuts[:-1], 0, width) - np.clip(
        entry[:, None] - cuts[:-1], 0, width
    )
    piece = np.searchsorted(cuts, exit_, side="left") - 1
    event = np.zeros_like(expo)
    exact = (df["kind"] == "exact").to_numpy()
    event[np.flatnonzero(exact), piece[exact]] = 1
    rows = pd.DataFrame({"x": np.repeat(df["x"].to_numpy(), 4), "interval": np.tile(range(4), len(df)),
                         "events": event.ravel(), "exposure": expo.ravel()})  # fmt: skip
    cells = rows.groupby(["interval", "x"], as_index=False)[["events", "exposure"]].sum()
    glm = poisson_pem(cells[cells["exposure"] > 0], covariates=["x"])
    np.testing.assert_allclose(fit.coef, glm.glm.coef, rtol=1e-8)
    np.testing.assert_allclose(fit.se, glm.glm.se, rtol=1e-8)


def test_result_tables_and_summary():
    case = PEM["ic_pwe_x"]
    fit = interval_pem(_data("ic_pwe.csv"), lower="L", upper="R", cuts=[0, 1, 2, 4, np.inf],
                       covariates=["x"], conf_level=0.9)  # fmt: skip
    assert isinstance(fit, IntervalPEMResult)
    assert list(fit.table.index) == case["names"]
    assert list(fit.effects.index) == ["x[b]"]
    assert fit.effects["hr"].iloc[0] == pytest.approx(np.exp(case["coef"][-1]), rel=1e-8)
    assert list(fit.baseline.columns) == ["log_rate", "se", "lower", "upper", "rate"]
    z = 1.6448536269514722
    np.testing.assert_allclose(fit.upper - fit.coef, z * fit.se, rtol=1e-12)
    text = fit.summary()
    assert "Hazard ratios" in text and "interval[(4,inf]]" in text and "57 left" in text
    assert "converged=True" in repr(fit)


def test_a_piece_without_events_goes_to_minus_infinity_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = interval_pem(_data("ic_pwe.csv"), lower="L", upper="R",
                           cuts=[0, 1, 2, 4, 6, np.inf], covariates=["x"])  # fmt: skip
    assert fit.converged and fit.coef[4] < -20 and fit.se[4] > 1e3


def test_input_errors():
    df = pd.DataFrame({"L": [0.0, 1.0, 2.0], "R": [1.0, 3.0, np.nan], "x": ["a", None, "b"],
                       "e": [0.5, 3.0, 0.0]}, index=["u1", "u2", "u3"])  # fmt: skip
    with pytest.raises(DataError, match="missing values") as err:
        interval_pem(df, lower="L", upper="R", cuts=[0, np.inf], covariates=["x"])
    assert err.value.problems[0].ids == ["u2"]
    with pytest.raises(DataError, match="at or before entry") as err:
        interval_pem(df, lower="L", upper="R", cuts=[0, np.inf], entry="e")
    assert err.value.problems[0].ids == ["u2"]
    with pytest.raises(DataError, match="beyond the last cut point 2.5") as err:
        interval_pem(df, lower="L", upper="R", cuts=[0, 1, 2.5])
    assert err.value.problems[0].ids == ["u2"]
    with pytest.raises(DataError, match="greater than the upper bound"):
        interval_pem(df.assign(L=[2.0, 1.0, 2.0]), lower="L", upper="R", cuts=[0, np.inf])
    for cuts in ([1, 2, np.inf], [0, 2, 1], [0], [0, np.inf, 5], "ab"):
        with pytest.raises(SpecError, match="cuts"):
            interval_pem(df, lower="L", upper="R", cuts=cuts)
    early = pd.DataFrame({"L": [0.0, 0.5], "R": [1.0, 0.5]})
    with pytest.raises(
        SpecError, match=r"interval\[\(1,2\]\], interval\[\(2,inf\]\].*not estimable"
    ):
        interval_pem(early, lower="L", upper="R", cuts=[0, 1, 2, np.inf])
    with pytest.raises(SpecError, match="conf_level"):
        interval_pem(df, lower="L", upper="R", cuts=[0, np.inf], conf_level=1.5)
    with pytest.raises(SpecError, match="reference"):
        interval_pem(df.dropna(subset="x"), lower="L", upper="R", cuts=[0, np.inf],
                     reference={"y": "a"})  # fmt: skip
