"""Posterior means of numeric effects against R's glm PEM on lung and veteran (small real fits).

The reference is tests/reference/numeric_glm_reference.json (make_numeric_reference.R): R's
``glm(event ~ 0 + factor(interval) + <terms> + offset(log(tstop - tstart)), poisson)`` on
``survSplit`` data. With weak priors (normal(0, 10) on the effects and an iid baseline with
normal(0, 10)) the posterior is the normalised likelihood; with ~130-165 events it is close to
normal, so its mean differs from the MLE by a small fraction of a posterior SD (skewness of the
likelihood), the prior moves it by about sd^2/10^2, and the Monte Carlo error of the mean with
bulk ESS >= 1000 is at most 0.03 SD. 0.1 posterior SD (the issue's tolerance) is then a test that
a wrong likelihood, a wrong per-unit scaling of a numeric column or a wrong transform fails.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayessa
from bayessa.model.preparation import resolve_spec
from bayessa.model.spec import Prior

REF = Path(__file__).parents[1] / "reference"
CASES = ["lung_age_phkarno", "lung_logage_sex", "veteran_karno_age_celltype_trt"]


def _reference(name: str) -> dict:
    return json.loads((REF / "numeric_glm_reference.json").read_text())["cases"][name]


@pytest.mark.fit
@pytest.mark.parametrize("name", CASES)
def test_posterior_means_of_numeric_effects_match_glm(name):
    case = _reference(name)
    data = pd.read_csv(REF / case["data"])
    if case["data"] == "lung.csv":
        data = data.drop(columns=["entry"])
    event = case["event"] if case["event"] in data else case["event_definition"]
    spec = resolve_spec(
        data=data, formula=case["bayessa_formula"], time="time", event=event, time_unit="days",
        cuts=[0.0, *case["cuts"], float("inf")], on_invalid="exclude", baseline="iid",
        seed=3, draws=1000, tune=1000, chains=4,
    )  # fmt: skip
    weak = {"effects": Prior("normal", {"mu": 0.0, "sigma": 10.0}),  # per year, as specs state
            "baseline_level": Prior("normal", {"mu": -2.0, "sigma": 10.0})}  # fmt: skip
    spec = dataclasses.replace(spec, priors={**spec.priors, **weak})
    res = bayessa.fit(data, spec, progress=False, log_likelihood=False)
    diag = res.diagnostics()
    assert diag.max_rhat <= 1.01 and diag.min_ess_bulk >= 1000 and diag.divergences == 0, diag
    hr = res.hazard_ratios()
    n_base = len(case["interval_labels"])
    r = dict(zip(case["names"][n_base:], case["coef"][n_base:], strict=True))
    assert set(hr.index) == set(r)
    z = (hr["log_hr_mean"] - pd.Series(r)[hr.index]) / hr["log_hr_sd"]
    assert (z.abs() < 0.1).all(), z.round(3).to_dict()
    # the posterior SD matches the MLE's standard error (asymptotic normality), within 10%
    se = dict(zip(case["names"], case["se"], strict=True))
    np.testing.assert_allclose(hr["log_hr_sd"], pd.Series(se)[hr.index], rtol=0.1)
