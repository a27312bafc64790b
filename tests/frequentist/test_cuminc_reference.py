"""Competing risks pinned to R: cmprsk::cuminc (incidence, Gray's variance and test), survfit's AJ.

Reference: tests/reference/make_cuminc_reference.R (R 4.2.2, survival 3.5.3, cmprsk 2.2-11) ->
cuminc/*.csv and cuminc/cuminc_reference.json. cuminc's curves are step-function corners
(0, t1, t1, t2, t2, ..., tmax); the value after each jump (the even positions from 2) is the
estimate at that event time. The computations are transcriptions of cmprsk's Fortran, so they
agree to rounding; 1e-8 (relative) is far above it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.frequentist import cause_specific_logrank, cumulative_incidence, gray_test, logrank

REF = Path(__file__).parents[1] / "reference" / "cuminc"
RTOL = 1e-8


@cache
def reference() -> dict:
    return json.loads((REF / "cuminc_reference.json").read_text())


def _data(case: dict) -> pd.DataFrame:
    if case.get("data"):
        df = pd.read_csv(REF / case["data"])
    else:
        df = pd.DataFrame(case["data_inline"])
    if case.get("strata") == "age70":
        df["age70"] = np.where(df["age"] < 70, "<70", ">=70")
    return df


def _cases():
    r = reference()
    return [(k, v) for k, v in {**r["cases"], **r["edge_cases"]}.items()]


@pytest.mark.parametrize(("name", "case"), _cases(), ids=[k for k, _ in _cases()])
def test_cumulative_incidence_and_variance_match_cuminc(name, case):
    df = _data(case)
    table = cumulative_incidence(df, time=case["time"], event=case["status"], group=case["group"])
    for curve in case["curves"].values():
        t, est, var = (np.asarray(curve[k], dtype=float) for k in ("time", "est", "var"))
        jumps = slice(2, len(t) - 1, 2)  # the value after each jump
        mine = table[table["cause"] == curve["cause"]]
        if case["group"] is not None:
            mine = mine[mine["group"].astype(str) == str(curve["group"])]
        np.testing.assert_allclose(mine["time"], t[jumps], rtol=0)
        np.testing.assert_allclose(mine["cif"], est[jumps], rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(mine["std_err"] ** 2, var[jumps], rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize(
    ("name", "case"),
    [(k, v) for k, v in _cases() if v["group"] is not None],
    ids=[k for k, v in _cases() if v["group"] is not None],
)
def test_gray_test_matches_cuminc(name, case):
    df = _data(case)
    res = gray_test(df, time=case["time"], event=case["status"], group=case["group"],
                    strata=case["strata"], rho=case["rho"])  # fmt: skip
    tests = case["tests"]
    for i, cause in enumerate(tests["cause"]):
        row = res.table.loc[cause]
        assert row["df"] == tests["df"][i]
        ref = tests["by_cause"][str(cause)]
        np.testing.assert_allclose(res.scores[cause], ref["score"], rtol=RTOL, atol=1e-12)
        np.testing.assert_allclose(res.covariances[cause], ref["variance"], rtol=RTOL, atol=1e-12)
        if tests["stat"][i] == -1:  # singular covariance: R's statistic -1 (and p 1: ours NaN)
            assert row["statistic"] == -1 and np.isnan(row["p_value"])
        else:
            np.testing.assert_allclose(row["statistic"], tests["stat"][i], rtol=RTOL)
            np.testing.assert_allclose(row["p_value"], tests["pv"][i], rtol=1e-7)


@pytest.mark.parametrize("name", ["mgus2_sex", "pbc_trt", "ties_group"])
def test_the_estimate_is_survfits_aalen_johansen(name):
    case = reference()["cases"][name]
    table = cumulative_incidence(_data(case), time=case["time"], event=case["status"],
                                 group=case["group"])  # fmt: skip
    for g, fit in case["survfit"]["groups"].items():
        times = np.asarray(fit["time"], dtype=float)
        for cause in case["causes"]:
            mine = table[(table["group"].astype(str) == g) & (table["cause"] == cause)]
            at = np.searchsorted(times, mine["time"].to_numpy())
            np.testing.assert_allclose(
                mine["cif"], np.asarray(fit["pstate"][str(cause)])[at], rtol=RTOL, atol=1e-15
            )


def test_text_outcomes_and_the_censor_value():
    case = reference()["cases"]["mgus2_sex"]
    df = _data(case)
    numeric = cumulative_incidence(df, time="etime", event="event", group="sex")
    text = cumulative_incidence(df, time="etime", event="outcome", group="sex")  # 'censored'
    assert set(text["cause"]) == {"death", "pcm"}
    coded = numeric["cause"].map({1: "pcm", 2: "death"})
    for cause in ("pcm", "death"):
        np.testing.assert_allclose(text.loc[text["cause"] == cause, "cif"],
                                   numeric.loc[coded == cause, "cif"])  # fmt: skip
    with pytest.raises(Exception, match="censor_value"):
        cumulative_incidence(df.assign(outcome=df["outcome"].str.upper()), time="etime",
                             event="outcome")  # fmt: skip


def test_limits_on_the_log_minus_log_scale():
    df = _data(reference()["cases"]["pbc_all"])
    t = cumulative_incidence(df, time="time", event="status")
    f, se = t["cif"].to_numpy(), t["std_err"].to_numpy()
    z = 1.959963984540054
    lo = np.exp(-np.exp(np.log(-np.log(f)) + z * se / np.abs(f * np.log(f))))
    np.testing.assert_allclose(t["lower"], lo, rtol=1e-12)
    assert (t["lower"] <= t["cif"]).all() and (t["cif"] <= t["upper"]).all()


def test_cause_specific_logrank_censors_the_other_causes():
    df = _data(reference()["cases"]["pbc_trt"])
    res = cause_specific_logrank(df, time="time", event="status", group="trt")
    death = logrank(df.assign(d=(df["status"] == 2).astype(int)), time="time", event="d",
                    group="trt")  # fmt: skip
    assert set(res) == {1, 2}
    assert res[2].statistic == pytest.approx(death.statistic, rel=1e-12)


@pytest.mark.parametrize("name", ["mgus2_sex", "pbc_trt", "ties_group", "pbc_all"])
def test_infinitesimal_jackknife_standard_errors_match_survfit(name):
    case = reference()["cases"][name]
    table = cumulative_incidence(_data(case), time=case["time"], event=case["status"],
                                 group=case["group"], se="ij")  # fmt: skip
    groups = case["survfit"]["groups"]
    for g, fit in groups.items():
        times = np.asarray(fit["time"], dtype=float)
        for cause in case["causes"]:
            mine = table[table["cause"] == cause]
            if case["group"] is not None:
                mine = mine[mine["group"].astype(str) == g]
            at = np.searchsorted(times, mine["time"].to_numpy())
            # survfit's SE is 4e-17 where an incidence reaches 1: compare absolutely too
            np.testing.assert_allclose(
                mine["std_err"], np.asarray(fit["std_err"][str(cause)])[at], rtol=RTOL, atol=1e-12
            )
