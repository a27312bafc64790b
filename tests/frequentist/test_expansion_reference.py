"""Expansion cross-check pinned to R: founding-rate GLMs (glm, MASS::glm.nb), chisq.test, fisher.test.

Reference: tests/reference/make_expansion_reference.R (R 4.2.2, MASS 7.3-58.2) ->
expansion/*.csv and expansion/expansion_reference.json. Tolerances:

* Poisson GLM: R refitted with epsilon 1e-14 and restarted at its solution (so its standard
  errors use the weights at the solution), ours to |dD|/(|D| + 0.1) < 1e-13: both are the MLE to
  rounding; 1e-8 relative (quantities that are 0 in exact arithmetic, e.g. a log rate ratio of
  two equal rates, are compared with 1e-12 absolute).
* Negative binomial: pinned at 1e-8 to R's *polished* joint ML (theta.ml to 1e-11 relative
  alternating with glm at epsilon 1e-14). glm.nb's own defaults stop earlier: its theta.ml stops
  when the Newton step is < 1.2e-4 and the alternation when 2|dll|/d1 + |dtheta| < 1e-8, which
  leaves theta and the coefficients off by up to 3.5e-8 and the standard errors by 1.4e-7
  relative (recorded in the JSON), so against glm.nb's defaults the test uses 1e-6; its SE.theta
  is the information one Newton step before the returned theta (off by up to 4e-5): 1e-3.
* Tables: chisq.test and fisher.test are closed forms or exact sums; 1e-8 relative (observed
  <= 3e-12). The 2 x 2 odds ratio and limits are pinned at 1e-8 to the same R code solved with
  uniroot(tol = 1e-14); fisher.test's own values (uniroot tol 1.2e-4, absolute) within 1.3e-4
  on uniroot's scale of uniroot (psi if psi < 1, else 1 / psi). Monte Carlo p-values cannot share R's random numbers: they are compared within 4.5
  binomial standard errors.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.errors import DataError, SpecError
from bayessa.frequentist import composition_tests, founding_rate_ratios

ROOT = Path(__file__).parents[2]
REF = ROOT / "tests" / "reference" / "expansion"
RTOL = 1e-8
ATOL = 1e-12


@cache
def reference() -> dict:
    return json.loads((REF / "expansion_reference.json").read_text())


def _num(v) -> float:
    if v is None:
        return math.nan
    if isinstance(v, str):
        return {"Inf": math.inf, "-Inf": -math.inf}[v]
    return float(v)


def _arr(values) -> np.ndarray:
    return (
        np.array([_num(v) for v in values])
        if isinstance(values, list)
        else np.array([_num(values)])
    )


def close(mine, ref, rtol=RTOL, atol=ATOL, what=""):
    mine = np.atleast_1d(np.asarray(mine, dtype=float))
    ref = _arr(ref) if not isinstance(ref, np.ndarray) else ref
    np.testing.assert_allclose(mine, ref, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def _counts(case: dict) -> pd.DataFrame:
    return pd.read_csv(REF / case["data"])


def _fit(case: dict):
    return founding_rate_ratios(
        _counts(case),
        cluster=case["cluster"],
        reference=case["reference"],
        family=case["family"],
        conf_level=case["conf_level"],
    )


RATE_CASES = list(reference()["rates"].items())
COMP_CASES = list(reference()["composition"].items())


# ----------------------------------------------------------------------------- the data


def test_count_fixtures_are_the_bundled_data():
    sa = pd.read_csv(ROOT / "data" / "sa_groups.csv", parse_dates=["founded"])
    b = reference()["bundled"]
    assert len(sa) == b["n_units"] == 360
    starts = pd.to_datetime(b["slices"]["start"])
    stops = pd.to_datetime(b["slices"]["stop"])
    np.testing.assert_allclose((stops - starts).days / 365.25, b["slices"]["years"], rtol=1e-14)
    ecy = pd.read_csv(REF / "sa_era_county_year.csv")
    slice_of = np.searchsorted(starts.to_numpy(), sa["founded"].to_numpy(), side="right") - 1
    mine = (
        sa.assign(year=np.asarray(b["slices"]["year"])[slice_of]).groupby(["year", "county"]).size()
    )
    ref = ecy.set_index(["year", "county"])["groups"]
    assert mine.reindex(ref.index, fill_value=0).equals(ref)
    assert sorted(sa["county"].unique()) == b["counties"] == sorted(ecy["county"].unique())
    era = pd.read_csv(REF / "sa_era.csv").set_index("era")
    assert sa["era"].value_counts().reindex(era.index).tolist() == era["groups"].tolist()
    np.testing.assert_allclose(era["years"], np.array([1280, 1461, 2281]) / 365.25, rtol=1e-14)
    for name in ("sa_era_year.csv", "sa_era_county.csv"):
        agg = pd.read_csv(REF / name)
        assert agg["groups"].sum() == 360
        key = "year" if "year" in agg else "county"
        assert (agg.groupby(key)["groups"].sum() == ecy.groupby(key)["groups"].sum()).all()


def test_growth_founding_counts_give_the_r_fit():
    """bayessa.growth's founding counts of the bundled spec are R's; fitted, R's numbers."""
    from bayessa.growth.tables import read_expansion
    from bayessa.model.spec import load_spec

    x = read_expansion(None, load_spec(ROOT / "models" / "partnership.toml"))
    counts = x.founding_counts()
    case = reference()["rates"]["sa_era_county_year"]
    res = founding_rate_ratios(counts, cluster="county", reference="formal", conf_level=0.9)
    assert res.eras == ("before", "early", "formal")
    close(res.ratios["rate_ratio"], case["ratios"]["rate_ratio"])
    close(res.tests.loc["lr_era", "statistic"], case["lr_test"]["statistic"])
    close(res.rates["years"], case["rates"]["years"])


# ----------------------------------------------------------------------------- rate ratios


@pytest.mark.parametrize(("name", "case"), RATE_CASES, ids=[k for k, _ in RATE_CASES])
def test_founding_rate_ratios_match_r(name, case):
    res = _fit(case)
    assert list(res.eras) == case["eras"] and res.reference == case["reference"]
    rates = case["rates"]
    assert list(res.rates.index) == rates["era"]
    assert res.rates["groups"].tolist() == rates["groups"]
    cols = ["years", "rate", "se_log", "lower", "upper"]
    cols += ["exact_lower", "exact_upper"] if case["family"] == "poisson" else []
    for col in cols:
        close(res.rates[col], rates[col], what=f"rates.{col}")
    if case["family"] == "negbin":
        assert res.rates["exact_lower"].isna().all()

    ratios = case["ratios"]
    assert res.ratios["era"].tolist() == ratios["era"]
    assert res.ratios["versus"].tolist() == ratios["versus"]
    assert res.ratios["kind"].tolist() == ratios["kind"]
    for col in ("log_rr", "se", "z", "p_value", "rate_ratio", "lower", "upper"):
        close(res.ratios[col], ratios[col], what=f"ratios.{col}")

    lr = res.tests.loc["lr_era"]
    close(
        [lr["statistic"], lr["p_value"]], [case["lr_test"]["statistic"], case["lr_test"]["p_value"]]
    )
    assert lr["df"] == case["lr_test"]["df"]
    disp = res.tests.loc["pearson_dispersion"]
    d = case["dispersion"]
    assert disp["df"] == d["df"] == res.df_residual == case["fit"]["df_residual"]
    close([disp["statistic"], res.dispersion], [d["pearson_chi2"], d["ratio"]], atol=1e-10)
    if d["df"] > 0:
        close(disp["p_value"], d["p_value"])
    else:  # saturated: R's pchisq(0, 0, lower.tail = FALSE) = 0; no residual information
        assert math.isnan(disp["p_value"]) and math.isnan(res.dispersion)

    fit = case["fit"]
    close([res.loglik, res.aic], [fit["loglik"], fit["aic"]])
    close(res.deviance, fit["deviance"], atol=1e-10)
    assert list(res.coefficients.index) == fit["terms"]
    close(res.coefficients["coef"], fit["coef"], what="coef")
    close(res.coefficients["se"], fit["se"], what="se")
    if case["family"] == "negbin":
        close([res.theta, res.theta_se], [fit["theta"], fit["theta_se"]], what="theta")
        o = res.tests.loc["lr_poisson_vs_negbin"]
        od = case["overdispersion_lr"]
        close([o["statistic"], o["p_value"]], [od["statistic"], od["p_value"]])
    else:
        assert res.theta is None and "lr_poisson_vs_negbin" not in res.tests.index


NB_CASES = [(k, v) for k, v in RATE_CASES if v["family"] == "negbin"]


@pytest.mark.parametrize(("name", "case"), NB_CASES, ids=[k for k, _ in NB_CASES])
def test_negbin_matches_glm_nb_defaults_to_its_convergence(name, case):
    res = _fit(case)
    default = case["glm_nb_default"]
    # glm.nb's coefficients are the treatment-coded ones only where there is no cluster and no
    # dropped level; the cell-means era coefficients are compared where the models coincide
    assert case["check_max_rel_diff_glm_nb_default"]["coef"] < 1e-6
    close(res.theta, default["theta"], rtol=1e-6)
    close(res.loglik, default["loglik"], rtol=1e-6)
    close(res.theta_se, default["SE_theta"], rtol=1e-3)
    if case["cluster"] is None and not case["zero_clusters"]:
        close(res.coefficients["coef"], default["coef"], rtol=1e-6)
    anova = case.get("check_anova_negbin_lr")
    if anova:
        close(res.tests.loc["lr_era", "statistic"], anova["statistic"], rtol=1e-6)


def test_levels_without_foundings():
    res = _fit(reference()["rates"]["zero_era"])
    r = res.ratios.set_index(["kind", "era", "versus"])
    zero, inf = ("reference", "e2", "e1"), ("consecutive", "e3", "e2")
    assert r.loc[zero, "rate_ratio"] == 0 and r.loc[inf, "rate_ratio"] == math.inf
    assert r.loc[[zero, inf], ["se", "lower", "upper", "p_value"]].isna().all().all()
    assert res.rates.loc["e2", "rate"] == 0 and res.rates.loc["e2", "exact_lower"] == 0
    assert any("e2" in n for n in res.notes)
    res = _fit(reference()["rates"]["zero_cluster"])
    assert "cluster[s]" not in res.coefficients.index and any("(s)" in n for n in res.notes)


def test_no_overdispersion_warns_and_reduces_to_poisson():
    counts = pd.read_csv(REF / "sa_era_county.csv")
    with pytest.warns(RuntimeWarning, match="theta -> infinity"):
        nb = founding_rate_ratios(counts, cluster="county", family="negbin")
    pois = founding_rate_ratios(counts, cluster="county")
    assert nb.theta == math.inf
    close(nb.ratios["rate_ratio"], pois.ratios["rate_ratio"].to_numpy(), rtol=1e-12)


def test_rate_summary_and_order():
    counts = pd.read_csv(REF / "sa_era_year.csv")
    counts["era"] = pd.Categorical(counts["era"], ["formal", "early", "before"])
    res = founding_rate_ratios(counts, family="negbin")
    assert res.eras == ("formal", "early", "before") and res.reference == "formal"
    assert res.ratios["kind"].tolist() == ["reference", "reference", "consecutive", "consecutive"]
    text = str(res)
    assert "negative binomial" in text and "lr_era" in text and "FoundingRateResult" in repr(res)


# ----------------------------------------------------------------------------- bad inputs


def _good() -> pd.DataFrame:
    return pd.read_csv(REF / "small.csv")


def test_rate_bad_inputs_raise_clear_errors():
    with pytest.raises(DataError, match="column 'count' not found"):
        founding_rate_ratios(_good(), groups="count")
    with pytest.raises(DataError, match="column 'county' not found"):
        founding_rate_ratios(_good(), cluster="county")
    bad = _good().astype({"groups": float})
    bad.loc[2, "groups"] = -1
    bad.loc[4, "groups"] = 1.5
    with pytest.raises(DataError, match="negative or not whole") as err:
        founding_rate_ratios(bad)
    assert err.value.problems[0].ids == [2, 4]
    bad = _good()
    bad.loc[1, "years"] = 0.0
    bad.loc[3, "years"] = -2.0
    with pytest.raises(DataError, match="exposure infinite, zero or negative") as err:
        founding_rate_ratios(bad)
    assert err.value.problems[0].ids == [1, 3]
    with pytest.raises(DataError, match="only one era"):
        founding_rate_ratios(_good()[_good()["era"] == "b"])
    bad = _good()
    bad.loc[0, "era"] = None
    with pytest.raises(DataError, match="missing values"):
        founding_rate_ratios(bad)
    bad = _good().astype({"groups": str})
    with pytest.raises(DataError, match="non-numeric counts"):
        founding_rate_ratios(bad)
    with pytest.raises(DataError, match="no rows"):
        founding_rate_ratios(_good().iloc[:0])
    with pytest.raises(DataError, match="no foundings in any era"):
        founding_rate_ratios(_good().assign(groups=0))
    confounded = pd.DataFrame({"era": ["a", "a", "b"], "cl": ["x", "x", "y"], "years": 1.0,
                               "groups": [1, 2, 3]})  # fmt: skip
    with pytest.raises(DataError, match="confounded"):
        founding_rate_ratios(confounded, cluster="cl")
    with pytest.raises(SpecError, match="reference era 'z'"):
        founding_rate_ratios(_good(), reference="z")
    with pytest.raises(SpecError, match="family"):
        founding_rate_ratios(_good(), family="quasipoisson")
    with pytest.raises(SpecError, match="conf_level"):
        founding_rate_ratios(_good(), conf_level=95)


# ----------------------------------------------------------------------------- composition


def _units(case: dict) -> tuple[pd.DataFrame, str, str]:
    if case["data"]:
        sa = pd.read_csv(ROOT / case["data"])
        sa["era"] = pd.Categorical(sa["era"], ["before", "early", "formal"])
        if case["era"] != "era":  # the before / formal 2 x 2
            sa = sa[sa["era"] != "early"]
        return sa, case["variable"], "era"
    counts = np.asarray(case["counts"])
    units = [(a, b) for i, a in enumerate(case["rows"]) for j, b in enumerate(case["cols"])
             for _ in range(counts[i, j])]  # fmt: skip
    return pd.DataFrame(units, columns=["trait", "period"]), "trait", "period"


def _comp(case: dict, **kw):
    df, var, era = _units(case)
    return composition_tests(df, variable=var, era=era, **kw)


@pytest.mark.parametrize(("name", "case"), COMP_CASES, ids=[k for k, _ in COMP_CASES])
def test_composition_tests_match_r(name, case):
    res = _comp(case, seed=1)
    rows, cols = case["rows"], case["cols"]
    assert sorted(map(str, res.table.index)) == sorted(rows)
    table = res.table.loc[rows, cols]
    np.testing.assert_array_equal(table.to_numpy(), case["counts"])
    for key in ("expected", "residuals", "stdres"):
        close(getattr(res, key).loc[rows, cols].to_numpy().ravel(), np.ravel(case[key]), what=key)
    close(res.min_expected, case["min_expected"])
    chisq = case["chisq"]
    close(
        [res.chisq_statistic, res.chisq_p_value], [chisq["statistic"], chisq["p_value"]], atol=1e-14
    )
    assert res.chisq_df == chisq["df"] and res.yates == chisq["correct_applied"]
    assert ("Yates" in res.chisq_method) == ("Yates" in chisq["method"])
    close(res.shares.sum(axis=0).to_numpy(), np.ones(len(cols)), rtol=1e-14)
    if "chisq_uncorrected" in case:
        un = _comp(case, correct=False)
        ref = case["chisq_uncorrected"]
        close([un.chisq_statistic, un.chisq_p_value], [ref["statistic"], ref["p_value"]])
        assert not un.yates
    fisher = case.get("fisher")
    if fisher is None:  # FEXACT cannot: ours falls back to Monte Carlo and says so
        assert case["fexact_error"].startswith("FEXACT error")
        assert res.fisher_method.startswith("Monte Carlo") and any(
            "Monte Carlo" in n for n in res.notes
        )
        return
    close(res.fisher_p_value, fisher["p_value"], what="fisher p")
    assert res.fisher_method.startswith("exact")
    if "odds_ratio" in fisher:
        got = [res.odds_ratio, res.odds_ratio_lower, res.odds_ratio_upper]
        close(got, [fisher["odds_ratio_tight"], *fisher["conf_int_tight"]], what="OR")
        # fisher.test's own values: uniroot(tol = 1.22e-4) on t = psi (psi < 1) or 1 / psi
        r_default = _arr([fisher["odds_ratio"], *fisher["conf_int"]])
        finite = np.isfinite(r_default) & (r_default > 0)
        on_scale = lambda v: np.where(v <= 1, v, 1 / v)  # noqa: E731
        np.testing.assert_allclose(
            on_scale(np.array(got)[finite]), on_scale(r_default[finite]), rtol=0, atol=1.3e-4
        )
        assert fisher["check_max_abs_diff_uniroot_scale"] < 1.3e-4
    else:
        assert math.isnan(res.odds_ratio)


def _within_mc_error(p_mine: float, n_mine: int, p_ref: float, n_ref: float) -> None:
    p = max(p_ref, 1.0 / n_mine)
    se = math.sqrt(p * (1 - p) / n_mine + p * (1 - p) / n_ref)
    assert abs(p_mine - p_ref) < 4.5 * se, (p_mine, p_ref, se)


def test_monte_carlo_p_values_agree_with_r_within_their_error():
    case = reference()["composition"]["sa_setting_type"]
    sim = case["simulated"]
    res = _comp(case, seed=7, n_sim=200_000)
    assert res.fisher_method == "Monte Carlo (200000 tables)" and not math.isnan(res.chisq_df)
    _within_mc_error(res.fisher_p_value, 200_000, sim["fisher_p_value"], sim["B"])
    both = _comp(case, simulate=True, seed=7, n_sim=200_000)
    assert math.isnan(both.chisq_df) and both.chisq_method.endswith("(200000 tables)")
    close(both.chisq_statistic, sim["chisq_statistic"])
    _within_mc_error(both.chisq_p_value, 200_000, sim["chisq_p_value"], sim["B"])
    assert both.fisher_p_value == res.fisher_p_value  # the same seed draws the same tables
    # a small table: Monte Carlo around the exact p
    small = reference()["composition"]["three_by_three_single"]
    mc = _comp(small, simulate=True, seed=3, n_sim=20_000)
    _within_mc_error(mc.fisher_p_value, 20_000, small["fisher"]["p_value"], math.inf)
    _within_mc_error(
        mc.chisq_p_value, 20_000, small["simulated"]["chisq_p_value"], small["simulated"]["B"]
    )
    forced = _comp(small, max_tables=50, seed=3, n_sim=20_000)
    assert forced.fisher_method.startswith("Monte Carlo") and forced.notes
    assert forced.fisher_p_value == mc.fisher_p_value


def test_monte_carlo_is_reproducible_and_2x2_fisher_stays_exact():
    case = reference()["composition"]["three_by_three_single"]
    a = _comp(case, simulate=True, seed=11)
    b = _comp(case, simulate=True, seed=11)
    assert a.fisher_p_value == b.fisher_p_value and a.chisq_p_value == b.chisq_p_value
    assert a.fisher_p_value * 2001 == round(a.fisher_p_value * 2001)  # (1 + k) / (B + 1)
    two = reference()["composition"]["two_by_two"]
    res = _comp(two, simulate=True, seed=1)  # as R: simulate.p.value only for larger tables
    close(res.fisher_p_value, two["fisher"]["p_value"])
    assert res.fisher_method == "exact (hypergeometric)" and res.chisq_method.startswith("Pearson")


def test_composition_bad_inputs_and_summary():
    df = pd.DataFrame({"leader": ["c", "p", "c", "p"], "era": ["a", "a", "b", "b"]})
    with pytest.raises(DataError, match="column 'setting' not found"):
        composition_tests(df, variable="setting", era="era")
    with pytest.raises(DataError, match="only 1 level"):
        composition_tests(df.assign(era="a"), variable="leader", era="era")
    bad = df.copy()
    bad.loc[2, "leader"] = None
    with pytest.raises(DataError, match="missing values") as err:
        composition_tests(bad, variable="leader", era="era")
    assert err.value.problems[0].ids == [2]
    with pytest.raises(SpecError, match="n_sim"):
        composition_tests(df, variable="leader", era="era", n_sim=0)
    # unused categories are left out, category order kept
    cat = df.assign(era=pd.Categorical(df["era"], ["b", "z", "a"]))
    res = composition_tests(cat, variable="leader", era="era")
    assert list(res.table.columns) == ["b", "a"]
    assert "leader by era" in str(res) and "odds ratio" in str(res) and "chisq" in repr(res)
    assert list(res.tests.index) == ["chisq", "fisher"]
