"""Cause-specific PEMs of mgus2 (pcm, death) pinned to R's survSplit + glm(poisson).

Reference: tests/reference/make_mgus2_cause_glm.R (R 4.2.2, survival 3.5-3) ->
mgus2_cause_glm/mgus2_cause_glm.json, on tests/reference/cuminc/mgus2.csv:

    years = etime / 12; pieces (0,2], (2,5], (5,10], (10,15], (15,Inf] numbered 1..5
    pieces <- survSplit(Surv(years, status) ~ ., cut = c(2, 5, 10, 15), episode = "interval",
                        start = "tstart", end = "tstop")             # status = event != 0
    glm(d_cause ~ 0 + factor(interval) + sex + age_c, family = poisson, offset = log(exposure),
        control = glm.control(epsilon = 1e-14))    # sex reference "F", age_c = (age - 70) / 10

The split is redone here with numpy (a time on a cut closes its piece) and checked against R's
piece x sex totals; then poisson_pem fits each cause with the other one censored. Both IRLS runs
converge to ~1e-12, so 1e-8 (relative) on coefficients and standard errors is generous. The R
standard errors are the inverse Fisher information at the estimate; glm's own vcov (se_glm) uses
the weights of its last IRLS pass, one step behind, and is 1.2e-7 (relative) away.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.frequentist import poisson_pem

REF = Path(__file__).parents[1] / "reference" / "mgus2_cause_glm"


@cache
def reference() -> dict:
    return json.loads((REF / "mgus2_cause_glm.json").read_text())


@cache
def pieces() -> pd.DataFrame:
    d = pd.read_csv(REF / reference()["data"]["file"])
    cuts = np.array([np.inf if c == "Inf" else c for c in reference()["data"]["cuts"]], float)
    years = d["etime"].to_numpy() / 12
    k = len(cuts) - 1
    start = np.minimum(cuts[:-1], years[:, None])
    stop = np.minimum(cuts[1:], years[:, None])
    exposure = stop - start  # (units, pieces)
    last = np.searchsorted(cuts, years, side="left") - 1  # c_k < t <= c_k+1
    unit, piece = np.nonzero(exposure > 0)
    out = pd.DataFrame({
        "interval": piece + 1,
        "sex": d["sex"].to_numpy()[unit],
        "age_c": (d["age"].to_numpy()[unit] - 70) / 10,
        "exposure": exposure[unit, piece],
    })  # fmt: skip
    on_last = piece == last[unit]
    for code, cause in ((1, "pcm"), (2, "death")):
        out[f"d_{cause}"] = (on_last & (d["event"].to_numpy()[unit] == code)).astype(float)
    assert np.all(last < k)
    return out


def test_the_split_matches_survsplit():
    p = pieces()
    assert len(p) == reference()["data"]["n_pieces"]
    for cause, ref in reference()["causes"].items():
        cells = p.groupby(["interval", "sex"], as_index=False).agg(
            events=(f"d_{cause}", "sum"), exposure=("exposure", "sum")
        )
        assert cells["interval"].tolist() == ref["cells"]["interval"]
        assert cells["sex"].tolist() == ref["cells"]["sex"]
        np.testing.assert_array_equal(cells["events"], ref["cells"]["events"])
        np.testing.assert_allclose(cells["exposure"], ref["cells"]["exposure"], rtol=1e-13)


@pytest.mark.parametrize("cause", ["pcm", "death"])
def test_cause_specific_poisson_pem_matches_glm(cause):
    ref = reference()["causes"][cause]
    fit = poisson_pem(pieces(), covariates=["sex", "age_c"], events=f"d_{cause}")
    assert fit.glm.names == ref["terms"]
    np.testing.assert_allclose(fit.glm.coef, ref["coef"], rtol=1e-8)
    np.testing.assert_allclose(fit.glm.se, ref["se"], rtol=1e-8)
    np.testing.assert_allclose(fit.glm.se, ref["se_glm"], rtol=1e-6)
    np.testing.assert_allclose(fit.glm.cov, ref["vcov"], rtol=1e-7, atol=1e-14)
    assert fit.glm.loglik == pytest.approx(ref["loglik"], rel=1e-12)
    assert fit.glm.deviance == pytest.approx(ref["deviance"], rel=1e-10)
    assert fit.glm.df_residual == ref["df_residual"]
    assert fit.table.loc["sex[M]", "log_hr"] == pytest.approx(ref["coef"][-2], rel=1e-8)
