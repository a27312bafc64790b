"""Time-varying covariates, pinned to R: counting-process rows and change tables (tmerge).

Reference: tests/reference/make_tvc_reference.R (R 4.2.2, survival 3.5.3) -> tvc/*.csv and
tvc/tvc_reference.json:

* ``heart`` (Stanford heart transplant, counting-process rows: transplant switches 0 -> 1):
  ``glm`` on ``survSplit`` rows, the log-rank test with the row's current group (the score test
  of ``coxph(Surv(start, stop, event) ~ factor(transplant), ties = "exact")``), and
  ``survfit(Surv(start, stop, event) ~ 1)``;
* ``pbc`` + ``pbcseq`` merged by ``tmerge(..., tdc(day, bili), ...)``: our change-table merge
  must give R's rows exactly, and the Poisson GLM on them R's estimates.

IRLS converges to machine precision on both sides and exposures are sums of whole days, so
estimates and standard errors agree to 1e-8 (relative); the rows of the merge agree exactly.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.data import read_data
from bayessa.data.changes import apply_changes
from bayessa.frequentist import kaplan_meier, logrank, poisson_pem
from bayessa.model.preparation import prepare, resolve_spec

REF = Path(__file__).parents[1] / "reference" / "tvc"
RTOL = 1e-8


@cache
def reference() -> dict:
    return json.loads((REF / "tvc_reference.json").read_text())


def _prepared(case: dict):
    cuts = [0.0, *case["cuts"], float("inf")]
    if case["data"] == "heart.csv":
        roles = dict(id="id", tstart="start", tstop="stop", event="event")
        spec = resolve_spec(
            data=REF / "heart.csv",
            formula=case["bayessa_formula"],
            cuts=cuts,
            time_unit="days",
            **roles,
        )
        return prepare(REF / "heart.csv", spec)
    spec = resolve_spec(
        data=REF / "pbc_base.csv",
        formula="log(bili) + albumin + age",
        id="id",
        time="time",
        event="event",
        changes=REF / "pbc_changes.csv",
        change_time="day",
        cuts=cuts,
        time_unit="days",
    )
    return prepare(REF / "pbc_base.csv", spec)


@pytest.mark.parametrize("name", ["heart_transplant", "heart_transplant_factor", "pbc_tmerge"])
def test_poisson_pem_on_counting_rows_matches_glm_on_survsplit(name: str) -> None:
    case = reference()["cases"][name]
    prepared = _prepared(case)
    d = prepared.design
    res = poisson_pem(prepared.cells.frame, design=(d.coef_names, d.X))
    n_base = len(case["interval_labels"])
    coef = dict(zip(case["names"], case["coef"], strict=True))
    se = dict(zip(case["names"], case["se"], strict=True))
    assert sorted(res.table.index) == sorted(case["names"][n_base:])
    for term in case["names"][n_base:]:
        np.testing.assert_allclose(res.table.loc[term, "log_hr"], coef[term], rtol=RTOL)
        np.testing.assert_allclose(res.table.loc[term, "se"], se[term], rtol=RTOL)
    # the same units, rows, split rows, events and exposure as R
    assert prepared.data.n_units == case["n_units"]
    assert len(prepared.data.frame) == case["n_rows"]
    assert len(prepared.pieces.frame) == case["n_split_rows"]
    assert prepared.cells.events.sum() == case["n_events"]
    np.testing.assert_allclose(prepared.cells.exposure.sum(), case["total_exposure"], rtol=1e-12)
    by_interval = prepared.cells.frame.groupby("interval", observed=False)
    np.testing.assert_array_equal(by_interval["events"].sum(), case["events_per_interval"])
    np.testing.assert_allclose(
        by_interval["exposure"].sum(), case["exposure_per_interval"], rtol=1e-12
    )


def test_change_table_merge_gives_tmerge_rows_exactly() -> None:
    base = read_data(
        REF / "pbc_base.csv",
        dict(id="id", time="time", event="event", covariates=("bili", "albumin", "protime")),
        time_unit="days",
    )
    merged = apply_changes(base, pd.read_csv(REF / "pbc_changes.csv"), id="id", time="day")
    ref = pd.read_csv(REF / "pbc_tmerge.csv")
    f = merged.frame
    assert len(f) == len(ref) == reference()["tmerge"]["pbc"]["n_rows"]
    np.testing.assert_array_equal(f["id"], ref["id"])
    for ours, theirs in [("entry", "tstart"), ("exit", "tstop"), ("event", "death")]:
        np.testing.assert_array_equal(f[ours].to_numpy(), ref[theirs].to_numpy())
    for col in ("bili", "albumin", "protime"):
        np.testing.assert_array_equal(f[col].to_numpy(), ref[col].to_numpy())
    # every unit's first row starts at its entry, the last ends at its exit, rows are contiguous
    assert merged.n_units == 312
    np.testing.assert_array_equal(merged.units["exit"], base.frame["exit"])
    # R's tcount for bili: 312 at the first start, 1495 within follow-up, 138 after the end
    tc = reference()["tmerge"]["pbc"]["tcount"]["bili"]
    note = next(n for n in merged.audit.notes if "changes read" in n)
    assert f"{tc['within']} during follow-up" in note
    assert f"{tc['leading']} at or before a unit's entry" in note
    assert f"{tc['late']} at or after a unit's exit (ignored)" in note


@pytest.mark.parametrize("name", ["heart_transplant", "heart_surgery"])
def test_logrank_on_counting_rows_is_coxph_score_test(name: str) -> None:
    case = reference()["logrank"][name]
    df = pd.read_csv(REF / case["data"])
    res = logrank(df, time="stop", event="event", group=case["group"], entry="start")
    np.testing.assert_allclose(res.statistic, case["statistic"], rtol=RTOL)
    np.testing.assert_allclose(res.p_value, case["p_value"], rtol=RTOL)
    np.testing.assert_allclose(res.observed, case["observed"], rtol=RTOL)
    np.testing.assert_allclose(res.expected, case["expected"], rtol=RTOL)
    if "coxph" in case:
        np.testing.assert_allclose(res.statistic, case["coxph"]["score"], rtol=RTOL)


def test_kaplan_meier_on_counting_rows_matches_survfit() -> None:
    case = reference()["kaplan_meier"]["heart_all"]
    rows = case["rows"]
    df = pd.read_csv(REF / case["data"])
    km = kaplan_meier(df, time="stop", event="event", entry="start", conf_type="log")
    np.testing.assert_allclose(km["time"], rows["time"], rtol=0)
    np.testing.assert_array_equal(km["n_risk"], rows["n_risk"])
    np.testing.assert_array_equal(km["n_event"], rows["n_event"])
    np.testing.assert_allclose(km["surv"], rows["surv"], rtol=RTOL)
    np.testing.assert_allclose(km["std_err"], rows["std_err"], rtol=RTOL)
    np.testing.assert_allclose(km["lower"], rows["lower"], rtol=RTOL)
