"""Numeric covariates and smooths in the outputs: contrasts, hazard ratios, curves, report (fake runs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fakes import fake_run

from bayessa.errors import DataError, SpecError
from bayessa.posterior.effects import contrast_table
from bayessa.posterior.predict import DesignInfo

FORMULA = "leader * size + s(founding_year, k=6) + (1 | county)"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A fake run of the bundled data with a numeric covariate, an interaction and a smooth."""
    from bayessa.resources import bundled_data

    data = pd.read_csv(bundled_data())
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("d") / "sa.csv"
    data.assign(size=rng.integers(4, 30, len(data))).to_csv(path, index=False)
    spec_path = tmp_path_factory.mktemp("s") / "spec.toml"
    text = bundled_spec_path().read_text()
    text = text.replace('path = "../data/sa_groups.csv"', f'path = "{path}"')
    spec_path.write_text(text)
    result = fake_run(str(spec_path), formula=FORMULA, reference={"leader": "consumer"}, draws=60)
    return result, result.save(tmp_path_factory.mktemp("r") / "run")


def bundled_spec_path():
    from bayessa.resources import bundled_spec

    return bundled_spec("partnership")


def test_numeric_contrast_is_per_unit_at_the_other_variables_levels(run):
    result, _ = run
    info = DesignInfo.from_datatree(result.idata)
    table = contrast_table(result.idata)
    size = table[table["variable"] == "size"]
    ref = info.numeric_columns["size"]
    assert set(size["versus"]) == {f"{ref:.6g}"} and set(size["level"]) == {f"{ref + 1:.6g}"}
    assert all(lab.startswith("size: per unit") for lab in size["label"])
    beta = result.idata["posterior"]["beta"]
    b = beta.stack(s=("chain", "draw")).transpose("coef", "s")
    slope = {
        "consumer": b.sel(coef="size"),
        "professional": b.sel(coef="size") + b.sel(coef="leader[professional]:size"),
    }
    for lv, draws in slope.items():
        row = size[size["within"] == f"leader = {lv}"].iloc[0]
        assert row["hr_median"] == pytest.approx(float(np.exp(np.median(draws))), rel=1e-12)
    # the leader contrast is at the reference size: beta_leader + r * beta_interaction
    lead = table[table["variable"] == "leader"].iloc[0]
    assert lead["within"] == f"size = {ref:.15g}"
    expected = b.sel(coef="leader[professional]") + ref * b.sel(coef="leader[professional]:size")
    assert lead["hr_median"] == pytest.approx(float(np.exp(np.median(expected))), rel=1e-12)
    # no contrast for the smoothed column
    assert "founding_year" not in set(table["variable"])


def test_hazard_ratios_say_the_unit_and_leave_out_the_smooth(run):
    result, _ = run
    hr = result.hazard_ratios()
    assert hr.loc["size", "per"] == "per unit of size"
    assert not any(c.startswith("s(founding_year)") for c in hr.index)
    smooth = result.smooth("founding_year")
    ref = smooth["reference"].iloc[0]
    at_ref = smooth.loc[np.isclose(smooth["x"], ref)]
    assert len(at_ref) == 1 and at_ref["hr_median"].iloc[0] == 1.0  # f(r) = 0 exactly
    with pytest.raises(SpecError, match="'size' has no smooth"):
        result.smooth("size")


def test_predictions_take_numbers_and_refuse_values_outside_the_smooth(run):
    result, _ = run
    new = pd.DataFrame({"leader": ["consumer"], "size": [10], "founding_year": [1990.5]})
    pred = result.predict(new, times=[1, 2])
    assert (pred["survival"].diff().dropna() <= 0).all()
    with pytest.raises(DataError, match="'s\\(founding_year\\)' was fitted on"):
        result.predict(new.assign(founding_year=2010.0), times=[1])
    with pytest.raises(DataError, match="'size' as a number"):
        result.predict(new.assign(size="big"), times=[1])


def test_the_report_shows_numeric_covariates_and_the_smooth(run):
    _, d = run
    html = (d / "report.html").read_text()
    assert "Numeric covariates" in html and "Smooth effects" in html
    assert "s(founding_year) (smooth)" in html and "size (per unit of size)" in html
    md = (d / "report.md").read_text()
    assert (
        "report-smooth_founding_year.png" in md
        and (d / "report-smooth_founding_year.png").is_file()
    )
    curves = pd.read_csv(d / "smooths.csv")
    assert set(curves["variable"]) == {"founding_year"} and len(curves) >= 101
    assert "no log-rank test for 'size': it is numeric" in md


def test_standardised_curves_sample_many_covariate_patterns(run, monkeypatch):
    """With numeric covariates nearly every unit is a pattern: beyond MAX_PATTERNS a seeded,
    unit-weighted sample stands in (bounded memory), close to the full average, and says so."""
    from bayessa.posterior import curves

    result, _ = run
    full = curves.Predictor(result.idata, max_draws=50, seed=1).standardised()
    monkeypatch.setattr(curves, "MAX_PATTERNS", 100)
    few = curves.Predictor(result.idata, max_draws=50, seed=1).standardised()
    assert len(full.weights) > 100 and len(few.weights) <= 100
    assert "a seeded sample of 100 of the" in few.label
    assert abs(few.weights.sum() - 1.0) < 1e-12
    t = np.array([1.0, 3.0, 8.0])
    S_full, S_few = full.survival(t), few.survival(t)
    # Monte Carlo error of a 100-pattern sample of S(t) in (0, 1): at most 0.5 / sqrt(100)
    assert np.abs(np.median(S_full, axis=0) - np.median(S_few, axis=0)).max() < 0.05
    again = curves.Predictor(result.idata, max_draws=50, seed=1).standardised()
    np.testing.assert_array_equal(again.weights, few.weights)  # seeded
