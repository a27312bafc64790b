"""The Poisson-GLM PEM with numeric covariates and transforms, pinned to R's glm on survSplit data.

Reference: tests/reference/make_numeric_reference.R (R 4.2.2, survival 3.5.3) ->
numeric_glm_reference.json. Each case is, in R::

    sp <- survSplit(Surv(time, event) ~ ., data, cut = CUTS, episode = "interval")
    glm(event ~ 0 + factor(interval) + <terms> + offset(log(tstop - tstart)), family = poisson,
        control = glm.control(epsilon = 1e-14, maxit = 100))

and here the same formula goes through bayessa's pipeline (read, validate, Lexis split,
aggregate into cells, design), then :func:`bayessa.frequentist.poisson_pem` with the design's
columns. The IRLS converges to machine precision on both sides, so estimates and standard
errors agree to 1e-8 (relative); the exposure is a sum of day counts, exact in floating point.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.frequentist import poisson_pem
from bayessa.model.preparation import prepare, resolve_spec

REF = Path(__file__).parents[1] / "reference"
RTOL = 1e-8


@cache
def reference() -> dict:
    return json.loads((REF / "numeric_glm_reference.json").read_text())["cases"]


def _fit(case: dict):
    data = pd.read_csv(REF / case["data"])
    if case["data"] == "lung.csv":
        data = data.drop(columns=["entry"])  # the reference has no delayed entry
    spec = resolve_spec(
        data=data,
        formula=case["bayessa_formula"],
        time=case["time"],
        # lung.csv has `event` (status == 2); veteran's `status` is already 0/1
        event=case["event"] if case["event"] in data else case["event_definition"],
        cuts=[0.0, *case["cuts"], float("inf")],
        time_unit="days",
        on_invalid="exclude",  # R drops the rows with a missing covariate (na.omit)
    )
    prepared = prepare(data, spec)
    d = prepared.design
    res = poisson_pem(prepared.cells.frame, design=(d.coef_names, d.X))
    return prepared, res


@pytest.mark.parametrize("name", sorted(reference()))
def test_numeric_pem_matches_glm_on_survsplit(name: str) -> None:
    case = reference()[name]
    prepared, res = _fit(case)
    n_base = len(case["interval_labels"])
    r_names = case["names"][n_base:]
    r_coef = dict(zip(case["names"], case["coef"], strict=True))
    r_se = dict(zip(case["names"], case["se"], strict=True))
    assert sorted(res.table.index) == sorted(r_names), (list(res.table.index), r_names)
    for coef in r_names:
        row = res.table.loc[coef]
        np.testing.assert_allclose(row["log_hr"], r_coef[coef], rtol=RTOL, err_msg=coef)
        np.testing.assert_allclose(row["se"], r_se[coef], rtol=RTOL, err_msg=coef)
    # the same units, pieces and events as R
    assert prepared.data.audit.rows_kept == case["n_units"]
    assert len(prepared.pieces.frame) == case["n_split_rows"]
    assert prepared.cells.events.sum() == case["n_events"]
    np.testing.assert_allclose(prepared.cells.exposure.sum(), case["total_exposure"], rtol=1e-12)
    # bayessa's baseline is the log hazard at the reference profile (numeric columns at their
    # reference values), R's at 0: they differ by x_ref' beta.
    beta = np.array([r_coef[c] for c in prepared.design.coef_names])
    shift = prepared.design.x_reference @ beta
    r_base = np.array(case["coef"][:n_base])
    np.testing.assert_allclose(res.baseline["log_rate"], r_base + shift, rtol=RTOL)


def test_scale_and_center_use_the_units_mean_and_sd() -> None:
    """R: scale(lung$age) on the one-row-per-patient table (sd with n - 1)."""
    case = reference()["lung_scaleage_sex"]
    prepared, _ = _fit(case)
    term = prepared.design.numeric["scale(age)"]
    assert term.center == pytest.approx(case["transform"]["mean"], rel=1e-13)
    assert term.scale == pytest.approx(case["transform"]["sd"], rel=1e-13)


def test_scale_and_center_change_only_the_scale_of_the_age_effect() -> None:
    """scale(age) = (age - m) / s: its coefficient is s times age's; center(age) equals age's."""
    fits = {k: _fit(reference()[k])[1].table for k in ("lung_scaleage_sex", "lung_centerage_sex")}
    s = reference()["lung_scaleage_sex"]["transform"]["sd"]
    scaled = fits["lung_scaleage_sex"].loc["scale(age)", "log_hr"]
    centred = fits["lung_centerage_sex"].loc["center(age)", "log_hr"]
    assert scaled == pytest.approx(s * centred, rel=1e-9)
    sex = [f.loc["sex[2]", "log_hr"] for f in fits.values()]
    assert sex[0] == pytest.approx(sex[1], rel=1e-9)


def test_design_columns_are_checked() -> None:
    cells = pd.DataFrame({"interval": ["a", "b"], "events": [1, 2], "exposure": [1.0, 2.0]})
    from bayessa.errors import SpecError

    with pytest.raises(SpecError, match=r"one row per cell and one column per name: \(2, 1\)"):
        poisson_pem(cells, design=(["x"], np.ones((3, 1))))
    with pytest.raises(SpecError, match="either covariates"):
        poisson_pem(cells, covariates=["interval"], design=(["x"], np.ones((2, 1))))
