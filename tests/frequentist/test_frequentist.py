"""Frequentist cross-check pinned to R ``survival`` 3.5 / ``stats::glm``.

Reference numbers come from ``tests/reference/make_reference.R`` (R is not needed here); every
case in ``survival_reference.json`` carries the exact R call, repeated in the docstrings below.
Tolerances: KM 1e-10, log-rank family 1e-8, Poisson GLM 1e-6 (all relative).
"""

from __future__ import annotations

import json
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayessa.frequentist import (
    kaplan_meier,
    km_median,
    km_rmst,
    km_summary,
    logrank,
    logrank_trend,
    poisson_glm,
    poisson_pem,
)

REF = Path(__file__).resolve().parents[1] / "reference"


@cache
def reference() -> dict:
    return json.loads((REF / "survival_reference.json").read_text())


def load(case: dict) -> pd.DataFrame:
    df = pd.read_csv(REF / case["data"])
    if case.get("subset"):
        df = df[df["case"] == case["subset"]]
    if case.get("dropna"):
        df = df[df[case["dropna"]].notna()]
    return df


def label(level: object) -> str:
    """R's level label for a Python group level (1.0 -> "1")."""
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)


def arr(values: object) -> np.ndarray:
    return np.atleast_1d(np.array(values, dtype=np.float64))  # JSON null -> NaN


def assert_close(actual: object, expected: object, rtol: float, what: str) -> None:
    np.testing.assert_allclose(arr(actual), arr(expected), rtol=rtol, atol=0, err_msg=what)


def cases(section: str) -> list[str]:
    """Case names of one section of the reference file (``sa_*``: the bundled data)."""
    return list(reference()[section])


# ---------------------------------------------------------------- Kaplan-Meier vs survfit


@pytest.mark.parametrize("name", cases("kaplan_meier"))
def test_kaplan_meier_matches_survfit(name: str) -> None:
    """summary(fit, censored = TRUE) for, among others:

    survfit(Surv(time, status) ~ sex, data = lung, conf.type = "log" | "log-log" | "plain")
    survfit(Surv(time, status) ~ 1, data = lung)
    survfit(Surv(time, status) ~ celltype, data = veteran)
    survfit(Surv(futime, fustat) ~ rx, data = ovarian, conf.type = "log-log")
    survfit(Surv(entry, time, status) ~ sex, data = lung, conf.type = ...)   # delayed entry
    survfit(Surv(time, event) ~ 1, data = small_cases[case == "ties" | "flat", ])
    survfit(Surv(days, closed) ~ leader | era, data = sa)                    # bundled data
    """
    c = reference()["kaplan_meier"][name]
    out = kaplan_meier(
        load(c),
        time=c["time"],
        event=c["event"],
        group=c["group"],
        entry=c["entry"],
        conf_type=c["conf_type"],
    )
    rows = c["rows"]
    assert len(out) == len(arr(rows["time"])), c["call"]
    if c["group"] is not None:
        assert [label(g) for g in out["group"]] == list(np.atleast_1d(rows["group"]))
    for col in ("time", "n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(out[col].to_numpy(float), arr(rows[col]), err_msg=col)
    for col in ("surv", "std_err", "lower", "upper"):
        assert_close(out[col], rows[col], 1e-10, f"{col}: {c['call']}")


@pytest.mark.parametrize("name", cases("kaplan_meier"))
def test_median_and_rmean_match_print_survfit(name: str) -> None:
    """print(fit, rmean = tau) / summary(fit, rmean = tau)$table, e.g.

    print(survfit(Surv(time, status) ~ sex, data = lung), rmean = 365)
    print(survfit(Surv(time, event) ~ 1, data = small_cases[case == "flat", ]), rmean = 4)
    """
    c = reference()["kaplan_meier"][name]
    ref = c["summary"]
    kw = dict(time=c["time"], event=c["event"], group=c["group"], entry=c["entry"])
    out = km_summary(load(c), conf_type=c["conf_type"], tau=ref["tau"], **kw)
    for col in ("records", "n_max", "n_start", "events", "median"):
        assert_close(out[col], ref[col], 1e-12, f"{col}: {c['call']}")
    for col in ("median_lower", "median_upper", "rmean", "se_rmean"):
        assert_close(out[col], ref[col], 1e-10, f"{col}: {c['call']}")
    med = km_median(load(c), conf_type=c["conf_type"], **kw)
    assert_close(med["median_upper"], ref["median_upper"], 1e-12, "km_median")
    rm = km_rmst(load(c), tau=ref["tau"], **kw)
    assert_close(rm["rmst"], ref["rmean"], 1e-10, "rmst")
    assert_close(rm["se"], ref["se_rmean"], 1e-10, "rmst se")


def test_flat_median_is_midpoint() -> None:
    """survfit(Surv(time, event) ~ 1, data = small_cases[case == "flat", ]): S = 0.5 on [3, 4)
    and R prints median 3.5, 0.95LCL 2, 0.95UCL NA."""
    df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "d": [1, 1, 1, 1, 0, 1]})
    out = km_median(df, time="t", event="d")
    assert out.loc[0, "median"] == 3.5 and out.loc[0, "median_lower"] == 2
    assert np.isnan(out.loc[0, "median_upper"])


# ---------------------------------------------------------------- closed forms


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=40))
def test_km_without_censoring_is_empirical_survival(times: list[int]) -> None:
    """No censoring: S(t) = #{T > t}/n, Greenwood SE = sqrt(S(1 - S)/n), RMST to max(T) = mean,
    se(rmean) = sqrt(sum (T - mean)^2)/n, and with entry = 0 for all the curve is unchanged."""
    t = np.array(times, dtype=float)
    df = pd.DataFrame({"t": t, "d": 1, "e": 0.0})
    km = kaplan_meier(df, time="t", event="d")
    emp = np.array([(t > x).mean() for x in km["time"]])
    np.testing.assert_allclose(km["surv"], emp, rtol=1e-12, atol=1e-15)
    live = emp > 0
    np.testing.assert_allclose(
        km["std_err"][live], np.sqrt(emp * (1 - emp) / t.size)[live], rtol=1e-10, atol=1e-15
    )
    pd.testing.assert_frame_equal(km, kaplan_meier(df, time="t", event="d", entry="e"))
    rm = km_rmst(df, time="t", event="d", tau=t.max())
    assert rm.loc[0, "rmst"] == pytest.approx(t.mean(), rel=1e-12)
    assert rm.loc[0, "se"] == pytest.approx(
        np.sqrt(((t - t.mean()) ** 2).sum()) / t.size, abs=1e-12
    )


def test_km_with_distinct_odd_times_has_sample_median() -> None:
    t = np.array([5.0, 1.0, 9.0, 3.0, 7.0])
    out = km_median(pd.DataFrame({"t": t, "d": 1}), time="t", event="d")
    assert out.loc[0, "median"] == np.median(t)


def test_km_groups_are_independent_and_sorted() -> None:
    df = load(reference()["kaplan_meier"]["veteran_celltype"])
    both = kaplan_meier(df, time="time", event="status", group="celltype")
    assert list(pd.unique(both["group"])) == ["adeno", "large", "smallcell", "squamous"]
    one = kaplan_meier(df[df.celltype == "large"], time="time", event="status")
    pd.testing.assert_frame_equal(
        both[both.group == "large"].drop(columns="group").reset_index(drop=True), one
    )


def _two_group_fixture() -> pd.DataFrame:
    return pd.DataFrame({"t": [1, 3, 2, 4], "d": [1, 1, 1, 0], "g": ["A", "A", "B", "B"]})


def _fh_closed_form(rho: float, gamma: float) -> float:
    """Derived by hand for A: 1, 3 (events), B: 2 (event), 4 (censored).

    Event times 1, 2, 3 with (n, n_A, d, event in A) = (4, 2, 1, yes), (3, 1, 1, no),
    (2, 1, 1, yes); pooled S(t-) = 1, 3/4, 1/2. O_A - E_A = w1/2 - w2/3 + w3/2 and
    V = w1^2/4 + 2 w2^2/9 + w3^2/4 with w = S(t-)^rho (1 - S(t-))^gamma.
    """

    def w(s: float) -> float:
        return s**rho * (1 - s) ** gamma

    w1, w2, w3 = w(1.0), w(0.75), w(0.5)
    u = w1 / 2 - w2 / 3 + w3 / 2
    return u * u / (w1**2 / 4 + 2 * w2**2 / 9 + w3**2 / 4)


@pytest.mark.parametrize("rho, gamma", [(0, 0), (1, 0), (0, 1), (1, 1), (0.5, 2.5), (2, 0.5)])
def test_fleming_harrington_closed_form(rho: float, gamma: float) -> None:
    """R survdiff has no gamma: FH(rho, gamma) is pinned to a hand derivation (and, in
    make_reference.R, to logrank_hand() on lung and veteran)."""
    res = logrank(_two_group_fixture(), time="t", event="d", group="g", rho=rho, gamma=gamma)
    assert res.statistic == pytest.approx(_fh_closed_form(rho, gamma), rel=1e-12)
    exact = {(0, 0): Fraction(8, 13), (1, 1): Fraction(1, 6), (0, 1): Fraction(4, 11)}
    if (rho, gamma) in exact:
        assert res.statistic == pytest.approx(float(exact[rho, gamma]), rel=1e-14)


def test_identical_groups_give_observed_equal_expected() -> None:
    """Symmetry: two copies of the same sample have O = E and statistic 0, any weights."""
    df = load(reference()["logrank"]["ovarian_rx"])
    twin = pd.concat([df.assign(arm="a"), df.assign(arm="b")], ignore_index=True)
    for rho, gamma in [(0, 0), (1, 0), (1, 1)]:
        r = logrank(twin, time="futime", event="fustat", group="arm", rho=rho, gamma=gamma)
        np.testing.assert_allclose(r.observed, r.expected, rtol=1e-12)
        assert r.statistic == pytest.approx(0, abs=1e-20) and r.p_value == pytest.approx(1)
        assert r.variance.sum() == pytest.approx(0, abs=1e-12)  # rows of V sum to 0


def test_two_group_trend_equals_logrank_and_scores_are_affine_invariant() -> None:
    c = reference()["logrank"]["lung_sex"]
    df = load(c)
    kw = dict(time="time", event="event", group="sex")
    assert logrank_trend(df, **kw).statistic == pytest.approx(logrank(df, **kw).statistic)
    c = reference()["trend"]["lung_ecog"]
    df = load(c)
    kw = dict(time="time", event="event", group="ph.ecog")
    a = logrank_trend(df, **kw).statistic
    assert logrank_trend(df, scores=[-3, 1, 5, 9], **kw).statistic == pytest.approx(a, rel=1e-12)
    assert logrank_trend(df, scores={0.0: 1, 1.0: 2, 2.0: 3, 3.0: 4}, **kw).statistic == a


# ---------------------------------------------------------------- log-rank family vs survdiff


@pytest.mark.parametrize("name", cases("logrank"))
def test_logrank_matches_survdiff(name: str) -> None:
    """Each case's R call is in the JSON; they are:

    survdiff(Surv(time, status) ~ sex, data = lung)               (and rho = 1)
    survdiff(Surv(time, status) ~ celltype, data = veteran)       (and rho = 1)
    survdiff(Surv(time, status) ~ trt + strata(celltype), data = veteran)   (and rho = 1)
    survdiff(Surv(futime, fustat) ~ rx, data = ovarian)
    survdiff(Surv(time, status) ~ ph.ecog, data = lung)
    survdiff(Surv(days, closed) ~ leader | era | leader + strata(setting), data = sa)
    logrank_hand(...)   # delayed entry and FH gamma, where survdiff cannot go; the delayed-entry
                        # statistics equal coxph(Surv(entry, time, event) ~ ..., ties = "exact")$score
    """
    c = reference()["logrank"][name]
    r = logrank(
        load(c),
        time=c["time"],
        event=c["event"],
        group=c["group"],
        strata=c.get("strata"),
        rho=c["rho"],
        gamma=c["gamma"],
        entry=c.get("entry"),
    )
    order = [[label(g) for g in r.groups].index(g) for g in c["groups"]]
    assert r.df == c["df"]
    assert_close(r.statistic, c["statistic"], 1e-8, f"statistic: {c['call']}")
    assert_close(r.p_value, c["p_value"], 1e-8, f"p: {c['call']}")
    assert_close(r.observed[order], c["observed"], 1e-8, "observed")
    assert_close(r.expected[order], c["expected"], 1e-8, "expected")
    v = np.array(c["variance"], dtype=float)
    np.testing.assert_allclose(
        r.variance[np.ix_(order, order)], v, rtol=1e-8, atol=1e-12 * np.abs(v).max()
    )
    np.testing.assert_array_equal(r.table["n"].to_numpy()[order], c["n"])
    assert_close(
        r.table["(O-E)^2/V"].to_numpy()[order],
        (arr(c["observed"]) - c["expected"]) ** 2 / np.diag(v),
        1e-8,
        "(O-E)^2/V",
    )


@pytest.mark.parametrize("name", cases("trend"))
def test_trend_matches_survdiff_components(name: str) -> None:
    """(c'(O - E))^2 / c'Vc from survdiff(Surv(time, status) ~ ph.ecog [+ strata(sex)], lung),
    survdiff(Surv(time, status) ~ celltype, veteran) with named scores and
    survdiff(Surv(days, closed) ~ era, sa); the lung ones equal
    coxph(Surv(time, event) ~ ph.ecog [+ strata(sex)], ties = "exact")$score."""
    c = reference()["trend"][name]
    df = load(c)
    levels = {label(v): v for v in df[c["group"]].unique()}
    scores = {levels[g]: s for g, s in zip(c["groups"], c["scores"], strict=True)}
    r = logrank_trend(
        df,
        time=c["time"],
        event=c["event"],
        group=c["group"],
        strata=c.get("strata"),
        scores=scores,
    )
    assert r.df == 1 and r.test == "trend"
    assert_close(r.statistic, c["statistic"], 1e-8, c["call"])
    assert_close(r.p_value, c["p_value"], 1e-8, c["call"])


def test_summary_prints_like_survdiff() -> None:
    """survdiff(Surv(time, status) ~ trt + strata(celltype), data = veteran) prints
    trt=1 69 64 68.2 0.260 0.702 / trt=2 68 64 59.8 0.296 0.702, Chisq= 0.7 on 1 df."""
    c = reference()["logrank"]["veteran_trt_strata_celltype"]
    text = str(logrank(load(c), time="time", event="status", group="trt", strata="celltype"))
    assert "stratified by celltype (4 strata)" in text
    assert "trt=1 69       64     68.2     0.260     0.702" in text
    assert "Chisq= 0.702  on 1 degree of freedom, p= 0.402" in text
    assert "Peto-Peto" in logrank(load(c), time="time", event="status", group="trt", rho=1).title


# ---------------------------------------------------------------- Poisson GLM vs glm


def _pem_fit(name: str):
    if name == "lung_pem":
        cells = pd.read_csv(REF / "lung_pem_cells.csv")
        return poisson_pem(cells, covariates=["sex", "ecog"], interactions=[("sex", "ecog")])
    if name == "lung_pem_ref_male":
        cells = pd.read_csv(REF / "lung_pem_cells.csv")
        return poisson_pem(cells, covariates=["sex", "ecog"], reference={"sex": "male"})
    cells = pd.read_csv(REF / "sa_groups_pem_cells.csv")
    return poisson_pem(cells, covariates=["leader", "era"], interactions=[("leader", "era")])


@pytest.mark.parametrize("name", cases("glm"))
def test_poisson_pem_matches_glm(name: str) -> None:
    """glm(events ~ 0 + factor(interval) + sex + ecog + sex:ecog, family = poisson,
           offset = log(exposure), data = lung_pem_cells)
    glm(events ~ 0 + factor(interval) + relevel(sex, "male") + ecog, ...)
    glm(events ~ 0 + factor(interval) + leader + era + leader:era, ..., data = sa_groups_pem_cells)
    with glm.control(epsilon = 1e-14); limits from confint.default()."""
    c = reference()["glm"][name]
    res = _pem_fit(name)
    g = res.glm
    assert g.names == c["names"] and g.converged
    for k in ("coef", "se", "z", "lower", "upper"):
        assert_close(getattr(g, k), c[k], 1e-6, f"{k}: {c['call']}")
    assert_close(g.p_value, c["p_value"], 1e-5, "p")  # tiny p: relative error grows with z
    for k in ("loglik", "deviance", "aic"):
        assert_close(getattr(g, k), c[k], 1e-9, k)
    assert g.df_residual == c["df_residual"]
    n_base = sum(n.startswith("interval[") for n in c["names"])
    assert list(res.table.index) == c["names"][n_base:]
    np.testing.assert_allclose(res.table["hr"], np.exp(c["coef"][n_base:]), rtol=1e-6)
    np.testing.assert_allclose(res.baseline["rate"], np.exp(c["coef"][:n_base]), rtol=1e-6)


def test_poisson_glm_saturated_closed_form() -> None:
    """Two cells, baseline + binary x: rate0 = y0/E0, log HR = log(y1 E0 / (y0 E1)),
    se(log HR) = sqrt(1/y0 + 1/y1)."""
    y, e = np.array([7.0, 19.0]), np.array([130.0, 95.5])
    X = np.array([[1.0, 0.0], [1.0, 1.0]])
    g = poisson_glm(y, e, X, ["base", "x"])
    np.testing.assert_allclose(g.coef, [np.log(7 / 130), np.log(19 * 130 / (7 * 95.5))], rtol=1e-12)
    assert g.se[1] == pytest.approx(np.sqrt(1 / 7 + 1 / 19), rel=1e-10)
    assert g.deviance == pytest.approx(0, abs=1e-10)


def test_splitting_cells_leaves_the_fit_unchanged() -> None:
    """The Poisson kernel depends on the data only through events and exposure per cell."""
    cells = pd.read_csv(REF / "lung_pem_cells.csv")
    half = cells.events // 2
    split = pd.concat(
        [
            cells.assign(events=half, exposure=cells.exposure * 0.3),
            cells.assign(events=cells.events - half, exposure=cells.exposure * 0.7),
        ],
        ignore_index=True,
    )
    kw = dict(covariates=["sex", "ecog"], interactions=[("sex", "ecog")])
    a, b = poisson_pem(cells, **kw).glm, poisson_pem(split, **kw).glm
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-9)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-9)


# ---------------------------------------------------------------- bundled data snapshot


def test_bundled_data_snapshot_is_current(root: Path) -> None:
    """The sa_groups references were made from data/sa_groups.csv (durations in days, closure
    indicator, leader, era, setting); if the bundled data are regenerated, rerun
    `Rscript tests/reference/make_reference.R`."""
    src = root / reference()["bundled_data"]["source"]
    if not src.exists():
        pytest.skip("data/sa_groups.csv is not bundled")
    raw = pd.read_csv(src, parse_dates=["founded", "closed", "last_contact"])
    snap = pd.read_csv(REF / "sa_groups_durations.csv")
    stale = "data/sa_groups.csv changed: rerun Rscript tests/reference/make_reference.R"
    assert len(raw) == len(snap), stale
    np.testing.assert_array_equal((raw.last_contact - raw.founded).dt.days, snap.days, stale)
    np.testing.assert_array_equal(raw.closed.notna().astype(int), snap.closed, stale)
    for col in ("group_id", "leader", "era", "setting"):
        assert raw[col].astype(str).tolist() == snap[col].astype(str).tolist(), stale


def test_one_million_rows_is_fast() -> None:
    """Sorting + counting, no loop over units: 10^6 rows in well under a few seconds."""
    import time

    rng = np.random.default_rng(2024)
    n = 1_000_000
    df = pd.DataFrame(
        {
            "t": rng.exponential(size=n).round(4) + 1e-3,
            "d": rng.random(n) < 0.7,
            "g": rng.integers(0, 3, n),
            "s": rng.integers(0, 2, n),
        }
    )
    start = time.perf_counter()
    kaplan_meier(df, time="t", event="d", group="g")
    logrank(df, time="t", event="d", group="g", strata="s", rho=1)
    assert time.perf_counter() - start < 30


# ---------------------------------------------------------------- invalid input


def _frame(**over: object) -> pd.DataFrame:
    base = {"t": [2.0, 3.0, 5.0, 7.0], "d": [1, 0, 1, 1], "g": ["a", "b", "a", "b"]}
    return pd.DataFrame(base | over, index=["u1", "u2", "u3", "u4"])


def _data_error(func, df: pd.DataFrame, **kw: object) -> str:
    from bayessa.errors import DataError

    with pytest.raises(DataError) as exc:
        func(df, **({"time": "t", "event": "d"} | kw))
    return str(exc.value)


@pytest.mark.parametrize(
    "over, expected",
    [
        ({"t": ["2", "x", 5.0, 7.0]}, "column 't': non-numeric time values (1 unit: u2)"),
        ({"t": [2.0, -1.0, 5.0, -3.0]}, "column 't': negative time values (2 units: u2, u4)"),
        ({"t": [2.0, np.nan, 5.0, 7.0]}, "column 't': missing time values (1 unit: u2)"),
        ({"t": [2.0, np.inf, 5.0, 7.0]}, "column 't': infinite time values (1 unit: u2)"),
        ({"t": [True, False, True, True]}, "time column holds true/false values"),
        ({"d": [1, 2, 0, 1]}, "event values other than 0/1 or True/False (found 2) (1 unit: u2)"),
        ({"d": ["yes", 1, 0, 1]}, "found 'yes'"),
        ({"d": [1.0, np.nan, 0.0, 1.0]}, "column 'd': missing event indicators (1 unit: u2)"),
        ({"g": ["a", None, "a", "b"]}, "column 'g': missing group values (1 unit: u2)"),
    ],
)
def test_invalid_values_name_column_rows_and_fix(over: dict, expected: str) -> None:
    for func in (kaplan_meier, logrank):
        msg = _data_error(func, _frame(**over), group="g")
        assert expected in msg and "Fix:" in msg


def test_every_problem_is_reported_at_once() -> None:
    msg = _data_error(kaplan_meier, _frame(t=[-1.0, 3.0, 5.0, 7.0], d=[1, 0, 3, 1]))
    assert msg.startswith("2 problems in the data:")
    assert "negative time values (1 unit: u1)" in msg and "(found 3) (1 unit: u3)" in msg


def test_missing_columns_are_listed_together() -> None:
    msg = _data_error(logrank, _frame(), time="T", event="d", group="grp")
    assert "time column 'T' not found" in msg and "group column 'grp' not found" in msg
    assert "t, d, g" in msg  # the fix lists what is available


def test_entry_not_before_time() -> None:
    df = _frame(e=[0.0, 3.0, 6.0, 1.0])
    msg = _data_error(kaplan_meier, df, entry="e")
    assert "column 'e': entry time not before the exit time 't' (2 units: u2, u3)" in msg
    assert "entry < time" in msg


def test_empty_data_and_single_group_and_no_events() -> None:
    assert "the data have no rows" in _data_error(kaplan_meier, _frame().iloc[:0])
    msg = _data_error(logrank, _frame(g=["a"] * 4), group="g")
    assert "only 1 group level ('a'); a test needs at least 2" in msg
    msg = _data_error(logrank_trend, _frame(d=[0, 0, 0, 0]), group="g")
    assert "no events: every row is censored" in msg
    assert kaplan_meier(_frame(d=[0, 0, 0, 0]), time="t", event="d")["surv"].eq(1).all()


def test_bad_arguments_raise_spec_error() -> None:
    from bayessa.errors import SpecError

    df = _frame()
    with pytest.raises(SpecError, match="conf_type must be one of log, log-log, plain"):
        kaplan_meier(df, time="t", event="d", conf_type="logit")
    with pytest.raises(SpecError, match="rho must be a finite number >= 0"):
        logrank(df, time="t", event="d", group="g", rho=-1)
    with pytest.raises(SpecError, match="3 scores for 2 group levels"):
        logrank_trend(df, time="t", event="d", group="g", scores=[1, 2, 3])
    with pytest.raises(SpecError, match="no value for group level"):
        logrank_trend(df, time="t", event="d", group="g", scores={"a": 1})
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        kaplan_meier(df.to_dict(), time="t", event="d")


def test_glm_input_problems() -> None:
    from bayessa.errors import DataError, SpecError

    X = np.ones((3, 1))
    with pytest.raises(
        DataError, match=r"exposure missing, infinite or not positive \(1 unit: 1\)"
    ):
        poisson_glm([1, 2, 3], [1.0, 0.0, 2.0], X, ["a"])
    with pytest.raises(DataError, match="event counts missing, infinite or negative"):
        poisson_glm([1, -2, 3], [1.0, 1.0, 2.0], X, ["a"])
    with pytest.raises(DataError, match="column.s. b are linear combinations"):
        poisson_glm([1, 2, 3], [1.0, 1.0, 2.0], np.ones((3, 2)), ["a", "b"])
    with pytest.raises(DataError, match="2 names for 1 columns"):
        poisson_glm([1, 2, 3], [1.0, 1.0, 2.0], X, ["a", "b"])
    cells = pd.read_csv(REF / "lung_pem_cells.csv")
    with pytest.raises(DataError, match="column 'stage' not found"):
        poisson_pem(cells, covariates=["sex", "stage"])
    with pytest.raises(SpecError, match="reference level 'other' of 'sex' is not in the data"):
        poisson_pem(cells, covariates=["sex"], reference={"sex": "other"})
    with pytest.raises(SpecError, match="interactions must be pairs of covariates"):
        poisson_pem(cells, covariates=["sex"], interactions=[("sex", "ecog")])
    bad = cells.assign(exposure=cells.exposure.where(cells.index != 3, 0.0))
    with pytest.raises(DataError, match=r"not positive \(1 unit: 3\)"):
        poisson_pem(bad, covariates=["sex"])
