"""Interval-censored endings end to end: a real fit recovers the truth, the command runs on
dates, the predictive checks and the report use Turnbull's NPMLE and the interval LOO-PIT."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayessa
from bayessa.checks.ppc import replicate_lifetimes
from bayessa.checks.ppc_stats import event_counts, km_curves, loo_pit
from bayessa.cli.fit import main as fit_main
from bayessa.errors import SpecError
from bayessa.simulate import Inspection, simulate_pem

LOG_HR = np.log(2.0)


def _simulated(n=1500, seed=11):
    sim = simulate_pem(
        n, cuts=[0, 1, 3, 8], log_baseline=[-1.6, -1.2, -1.4],
        covariates={"grp": {"a": 0.5, "b": 0.5}}, effects={"grp[b]": LOG_HR},
        censoring_rate=0.05, inspection=Inspection(every=1.0, jitter=0.3, exact=0.2), seed=seed,
    )  # fmt: skip
    df = sim.frame
    return df, sim


@pytest.fixture(scope="module")
def fitted():
    df, _ = _simulated()
    res = bayessa.fit(df, formula="grp", time_lower="time_lower", time_upper="time_upper",
                      cuts=[0, 1, 3, 8], draws=500, chains=2, seed=4, progress=False)  # fmt: skip
    return df, res


@pytest.mark.fit
def test_interval_censored_fit_recovers_the_hazard_ratio(fitted):
    df, res = fitted
    n_ic = int((df["time_lower"] < df["time_upper"]).sum())
    assert n_ic > 300  # most events are seen only at a visit
    hr = res.hazard_ratios()
    lo, hi = hr.loc["grp[b]", ["hr_lower", "hr_upper"]]
    assert lo < 2.0 < hi
    base = res.idata["posterior"]["baseline"].mean(("chain", "draw")).to_numpy()
    sd = res.idata["posterior"]["baseline"].std(("chain", "draw")).to_numpy()
    assert np.all(np.abs(base - [-1.6, -1.2, -1.4]) < 4 * sd)
    # the run records the bounds; the per-unit log-likelihood has every unit
    const = res.idata["constant_data"]
    assert int(np.isfinite(const["time_upper"]).sum()) == n_ic
    assert np.isfinite(res.idata["log_likelihood"]["time"]).all()


@pytest.mark.fit
def test_predictive_checks_with_intervals(fitted):
    _, res = fitted
    pit = loo_pit(res, seed=2)
    status = pit["event"].to_numpy()
    assert set(np.unique(status)) <= {0, 1, 2} and (status == 2).sum() > 300
    # the PIT is uniform under the model: each decile holds about a tenth of the units
    counts = np.histogram(pit["pit"].to_numpy(), bins=10, range=(0, 1))[0]
    n = counts.sum()
    assert np.all(np.abs(counts - n / 10) < 4 * np.sqrt(n * 0.1 * 0.9))
    rep = replicate_lifetimes(res, n_draws=40, seed=3)
    k = km_curves(res, rep, by="grp")
    assert k.attrs["observed"] == "Turnbull"
    obs = k["observed"].to_numpy()
    lo, hi = np.percentile(k["replicated"].to_numpy(), [0.5, 99.5], axis=0)
    assert np.mean((obs >= lo - 0.02) & (obs <= hi + 0.02)) > 0.95
    with pytest.raises(SpecError, match="known only to lie between two inspections"):
        event_counts(res, rep)


@pytest.mark.fit
def test_report_compares_with_turnbull(fitted, tmp_path):
    _, res = fitted
    out = res.save(tmp_path / "run")
    md = (out / "report.md").read_text()
    assert "Turnbull NPMLE (dashed)" in md
    assert "no log-rank tests and no Poisson MLE" in md
    assert "PEM MLE under interval censoring" in md  # the cross-check of the hazard ratio
    assert "known only between two inspections" in md


@pytest.mark.fit
def test_the_command_reads_dates(tmp_path, capsys):
    df, _ = _simulated(n=400, seed=5)
    start = pd.Timestamp("1990-01-01")
    days = pd.to_timedelta

    def as_date(t):
        d = start + days(np.round(t * 365.25), unit="D")
        return d.dt.strftime("%Y-%m-%d").where(np.isfinite(t), "")

    table = pd.DataFrame({"gid": df.index, "founded": start.strftime("%Y-%m-%d"),
                          "seen": as_date(df["time_lower"]), "gone": as_date(df["time_upper"]),
                          "grp": df["grp"]})  # fmt: skip
    path = tmp_path / "groups.csv"
    table.to_csv(path, index=False)
    rc = fit_main(["--data", str(path), "--id", "gid", "--start", "founded", "--time-lower", "seen",
                   "--time-upper", "gone", "--formula", "grp", "--cuts", "0,1,3,8",
                   "--draws", "200", "--chains", "2", "--out", str(tmp_path / "run")])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "interval censoring:" in text and "(seen, gone]" in text
    # a lower bound after the upper: exit 2, one message naming the unit, no traceback
    table.loc[3, ["seen", "gone"]] = ["1995-01-01", "1994-01-01"]
    table.to_csv(path, index=False)
    rc = fit_main(["--data", str(path), "--id", "gid", "--start", "founded", "--time-lower", "seen",
                   "--time-upper", "gone", "--formula", "grp", "--out", str(tmp_path / "bad")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "'seen' after 'gone' (1 unit: 3)" in err and "Traceback" not in err
