"""Edge cases of the fit: each works with sensible, NaN-free output or fails with a clear message.

Small real fits (2 chains x 200 draws), marked ``fit``. The data are simulated with a known truth
(:func:`bayessa.simulate.simulate_pem`): 300 units, a leader covariate (log HR 0.5), six counties,
cut points 0, 1, 2, 3, 6 years and a hazard of :math:`e^{-30}` in (2, 3], so that interval holds
no events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayessa
from bayessa.errors import SpecError
from bayessa.model.spec import Spec
from bayessa.simulate.pem import simulate_pem

pytestmark = pytest.mark.fit

CUTS = [0.0, 1.0, 2.0, 3.0, 6.0]
LOG_BASELINE = [-1.0, -1.2, -30.0, -1.5]
LOG_HR = 0.5
SMALL = dict(draws=200, tune=300, chains=2, seed=5, progress=False)


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    sim = simulate_pem(
        300, cuts=CUTS, log_baseline=LOG_BASELINE,
        covariates={"leader": {"consumer": 0.6, "professional": 0.4}},
        effects={"leader[professional]": LOG_HR}, clusters=6, cluster_sd=0.3,
        cluster_name="county", censoring_rate=0.05, seed=3,
    )  # fmt: skip
    return sim.frame


def spec(cuts=CUTS, formula="leader + (1 | county)", time_unit="years", **model) -> Spec:
    return Spec.from_dict(
        {
            "data": {"id": "id", "time": "time", "event": "event", "time_unit": time_unit},
            "time": {"cuts": list(cuts)},
            "model": {"formula": formula, **model},
        }
    )


def assert_clean(result) -> None:
    """No NaN or infinity in the summary, the hazard ratios or the diagnostics."""
    summary = result.summary()
    assert np.isfinite(summary.select_dtypes("number").to_numpy()).all(), summary
    hr = result.hazard_ratios()
    assert np.isfinite(hr.to_numpy()).all(), hr
    diag = result.diagnostics()
    for name in ("max_rhat", "min_ess_bulk", "min_ess_tail", "min_bfmi"):
        assert np.isfinite(getattr(diag, name)), name


@pytest.fixture(scope="module")
def reference_fit(units):
    return bayessa.fit(units, spec(), **SMALL)


def test_interval_with_zero_events(units, reference_fit):
    pieces = reference_fit.prepared.cells.frame
    assert pieces.loc[pieces["interval"] == "(2,3]", "events"].sum() == 0
    assert_clean(reference_fit)
    base = reference_fit.idata["posterior"].dataset["baseline"]
    median = base.median(("chain", "draw")).to_series()
    # no events: the interval's hazard is estimated lower than both neighbours', still finite
    assert median["(2,3]"] < min(median["(1,2]"], median["(3,6]"])
    hr = reference_fit.hazard_ratios().loc["leader[professional]"]
    assert hr["hr_lower"] < np.exp(LOG_HR) < hr["hr_upper"]


def test_county_with_one_group(units):
    data = units.copy()
    data["county"] = data["county"].astype(str)
    data.loc[0, "county"] = "solo"
    result = bayessa.fit(data, spec(), **SMALL)
    assert_clean(result)
    effect = result.idata["posterior"].dataset["cluster_effect"].sel(county="solo")
    # one unit says little: its effect stays near the prior (SD of the cluster effects)
    assert abs(float(effect.median())) < 2 * float(effect.std())


def test_every_unit_of_one_level_censored(units):
    data = units.copy()
    data.loc[data["leader"] == "professional", "event"] = 0
    result = bayessa.fit(data, spec(), **SMALL)
    assert_clean(result)
    assert "level 'professional' of 'leader' has no events" in "\n".join(
        result.prepared.data.audit.notes
    )
    hr = result.hazard_ratios().loc["leader[professional]"]
    # no events: the HR is small but bounded by the normal(0, 1) prior, not driven to zero
    assert hr["p_hr_gt_1"] < 0.01 and 1e-4 < hr["hr_lower"] < hr["hr_upper"] < 1


def test_single_county_is_refused_with_a_clear_message(units):
    data = units.assign(county="c01")
    with pytest.raises(SpecError, match="grouping factor 'county' has one level.*remove it"):
        bayessa.fit(data, spec(), **SMALL)
    result = bayessa.fit(data, spec(formula="leader"), **SMALL)  # the fix it suggests works
    assert_clean(result)


@pytest.mark.parametrize(("unit", "factor"), [("days", 365.25), ("decades", 0.1)])
def test_time_scales_give_the_same_hazard_ratios(units, reference_fit, unit, factor):
    # the same follow-up on another scale: days (hazards ~1e-3 per unit) or decades (~3 per unit)
    data = units.assign(time=units["time"] * factor)
    label = "days" if unit == "days" else "years"  # decades: durations only label the scale
    result = bayessa.fit(data, spec(cuts=[c * factor for c in CUTS], time_unit=label), **SMALL)
    assert_clean(result)
    hr = result.hazard_ratios()["log_hr_mean"]
    ref = reference_fit.hazard_ratios()
    assert abs(hr.iloc[0] - ref["log_hr_mean"].iloc[0]) < 3 * ref["log_hr_sd"].iloc[0] / np.sqrt(20)
    # the baseline log hazard shifts by -log(factor); priors per time unit differ, so compare
    # only intervals with events, within their posterior SDs
    base = result.idata["posterior"].dataset["baseline"]
    ref_base = reference_fit.idata["posterior"].dataset["baseline"]
    for k in (0, 1, 3):
        shifted = float(base.isel(interval=k).mean()) + np.log(factor)
        sd = float(ref_base.isel(interval=k).std())
        assert abs(shifted - float(ref_base.isel(interval=k).mean())) < sd, k


def test_covariates_named_like_the_report_columns(units, tmp_path):
    """A covariate called ``kind`` or ``quantity`` (survival.csv's own column names) is written
    there as ``kind_value`` / ``quantity_value``; the report is built (found by a new user)."""
    data = units.rename(columns={"leader": "kind"})
    data["quantity"] = np.where(np.arange(len(data)) % 2, "high", "low")
    result = bayessa.fit(data, spec(formula="kind + quantity + (1 | county)"), **SMALL)
    out = result.save(tmp_path / "run")
    table = pd.read_csv(out / "survival.csv")
    assert {"kind_value", "quantity_value"} <= set(table.columns)
    # the report's own column still says what kind of curve a row is, not the covariate's level
    assert not {"consumer", "professional"} & set(table["kind"].astype(str))
    assert "professional" in set(table["kind_value"].astype(str))
    assert (out / "report.html").exists()
