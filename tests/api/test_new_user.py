"""A new user's first fits: R's veteran and lung with nothing but the table, its columns and a formula.

References: ``tests/reference/new_user/make_new_user.R`` (coxph, R 4.2.2, survival 3.5.3).

Tolerance. bayessa's posterior median differs from Cox's partial-likelihood estimate for three
reasons: the prior (effects ~ Normal(0, 1) on the log hazard ratio) shrinks it towards 0; the
piecewise-constant baseline approximates Cox's unspecified one; Monte Carlo error. The first is
computed, not tolerated: with Cox's estimate b and covariance V, the normal-normal update gives
the expected posterior mean (V^-1 + I)^-1 V^-1 b. What is left (baseline approximation, mean vs
median, MC error ~ 0.03 SE at ESS > 1,000) is held to 0.3 standard errors of Cox's estimate.
Measured: at most 0.18 SE (veteran), 0.10 SE (lung).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayessa
from bayessa.cli.fit import main

REF = Path(__file__).resolve().parents[1] / "reference" / "new_user"
R = json.loads((REF / "new_user_reference.json").read_text())
TOL_SE = 0.3

pytestmark = pytest.mark.fit


def _expected(b: np.ndarray, V: np.ndarray, prior_sd: float = 1.0) -> np.ndarray:
    """Posterior mean of the log HRs under Normal(0, prior_sd) priors and a normal likelihood."""
    P = np.linalg.inv(V)
    return np.linalg.solve(P + np.eye(len(b)) / prior_sd**2, P @ b)


def _close(got: np.ndarray, b: np.ndarray, V: np.ndarray) -> np.ndarray:
    z = (got - _expected(b, V)) / np.sqrt(np.diag(V))
    assert np.all(np.abs(z) < TOL_SE), f"deviation in Cox standard errors: {z.round(2)}"
    return z


def test_veteran_through_the_cli_in_days(tmp_path, capsys):
    """coxph(Surv(time, status) ~ factor(trt) + celltype, veteran)."""
    out = tmp_path / "vet"
    argv = ["--data", str(REF / "veteran.csv"), "--time", "time", "--event", "status",
            "--formula", "C(trt) + celltype", "--time-unit", "days", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "cut points chosen from the data (days)" in printed and "Diagnostics passed" in printed
    assert (out / "report.html").is_file()
    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["passed"], diag
    hr = pd.read_csv(out / "hazard_ratios.csv", index_col=0)
    assert list(hr.index) == [
        "trt[2]",
        "celltype[large]",
        "celltype[smallcell]",
        "celltype[squamous]",
    ]
    # R's reference for celltype is squamous (its factor order); bayessa's is adeno (sorted):
    # re-express R's (trt2, smallcell, adeno, large vs squamous) against adeno.
    r = R["veteran_trt_celltype"]
    A = np.array([[1, 0, 0, 0], [0, 0, -1, 1], [0, 1, -1, 0], [0, 0, -1, 0]], dtype=float)
    b, V = A @ np.array(r["log_hr"]), A @ np.array(r["vcov"]).reshape(4, 4) @ A.T
    _close(np.log(hr["hr_median"].to_numpy()), b, V)
    report = (out / "report.md").read_text()
    assert "days" in report and "(years)" not in report
    # default report times: 1 and 2 years in days, inside the follow-up (the last interval is
    # open, so the follow-up ends at the latest exit, 999 days)
    times = set(pd.read_csv(out / "survival.csv")["time"].dropna().round(2))
    assert {365.25, 730.5} <= times
    # predictions for new patients, from the saved run
    from bayessa.cli.predict import main as predict

    new = pd.DataFrame({"trt": [1, 2], "celltype": ["squamous", "smallcell"]})
    new.to_csv(tmp_path / "new.csv", index=False)
    argv = [str(out), "--newdata", str(tmp_path / "new.csv"), "--times", "30,90,365",
            "--out", str(tmp_path / "pred.csv")]  # fmt: skip
    assert predict(argv) == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert len(pred) == 6 and set(pred["cluster_effect"]) == {"no cluster effects in the model"}
    for _, rows in pred.groupby("row"):
        assert rows["survival"].is_monotonic_decreasing
        assert np.all(rows["survival_lower"] <= rows["survival"])
    # small-cell patients on the test treatment fare worse than squamous on the standard one
    assert (
        pred.loc[pred["row"] == 1, "median"].iloc[0] < pred.loc[pred["row"] == 0, "median"].iloc[0]
    )


def test_lung_as_r_codes_it_through_the_api():
    """Status 1/2 and a missing ph.ecog, as in survival::lung; coxph(~ factor(sex) + factor(ph.ecog))."""
    res = bayessa.fit(
        REF / "lung.csv", formula="C(sex) + C(ph.ecog)", time="time", event="status",
        time_unit="days", on_invalid="exclude", progress=False,
    )  # fmt: skip
    audit = res.prepared.data.audit
    assert audit.rows_read == 228 and audit.rows_kept == 227  # coxph's n: the same row dropped
    assert int(res.prepared.data.frame["event"].sum()) == R["lung_sex_ecog"]["events"] == 164
    assert any("coded 1/2" in n for n in audit.notes)
    assert list(res.prepared.data.frame["ph.ecog"].cat.categories) == ["0", "1", "2", "3"]
    diag = res.diagnostics()
    # converged; a stray divergence of the random-walk baseline happens at some seeds (0-1 in
    # seeds 1-3, centred or not): counted by the gate, not what this test is about
    assert diag.max_rhat <= 1.01 and diag.min_ess_bulk >= 1000 and diag.divergences <= 2, diag
    hr = res.hazard_ratios()
    r = R["lung_sex_ecog"]
    b, V = np.array(r["log_hr"]), np.array(r["vcov"]).reshape(4, 4)
    # ph.ecog = 3 is one patient: compare the three coefficients the data inform
    keep = [0, 1, 2]
    got = np.log(hr["hr_median"].to_numpy())
    z = (got - _expected(b, V)) / np.sqrt(np.diag(V))
    assert np.all(np.abs(z[keep]) < TOL_SE), z.round(2)
    assert hr.index[0] == "sex[2]" and hr["hr_median"].iloc[0] < 1  # women fare better
