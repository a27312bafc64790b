"""The expansion analysis end to end (real fits, small draws): API, run folder, report, command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import bayessa
from bayessa.cli.expansion import main as expansion_main

SMALL = {"draws": 300, "tune": 300, "chains": 2}


@pytest.fixture(scope="module")
def bundled():
    return bayessa.expansion(composition=["leader", "setting"], n_draws=200, **SMALL)


@pytest.mark.fit
def test_bundled_expansion_tables_and_truth(bundled):
    res = bundled
    f = res.founding_table().set_index("era")
    # the simulation's rates per year (data/README.md): 15.9, 26.5, 31.8
    for era, truth in {"before": 15.89, "early": 26.48, "formal": 31.77}.items():
        assert f.loc[era, "lower"] < truth < f.loc[era, "upper"]
    c = res.composition_table()
    prof = c[(c["variable"] == "leader") & (c["level"] == "professional")].set_index("era")
    assert prof.loc["before", "share"] < prof.loc["formal", "share"]
    # reach: the observed curve sits inside the predictive band most of the time
    r = res.reach
    inside = (r["active"] >= r["groups_lower"]) & (r["active"] <= r["groups_upper"])
    assert inside.mean() > 0.9
    # the Shapley parts add up to the difference (medians only approximately; check the sum)
    gy = res.group_years.set_index("quantity")
    parts = gy.loc[["of which foundings", "of which mix", "of which survival"], "median"].sum()
    assert abs(parts - gy.loc["difference", "median"]) < 0.15 * gy.loc["difference", "median"]
    assert gy.loc["difference", "p_gt_0"] > 0.95  # more foundings: more group-years


@pytest.mark.fit
def test_run_folder_and_report(bundled, tmp_path):
    out = bundled.save(tmp_path / "run")
    files = {p.name for p in out.iterdir()}
    for name in ("founding.csv", "founding_contrasts.csv", "composition.csv",
                 "composition_contrasts.csv", "reach.csv", "counterfactual.csv",
                 "group_years.csv", "idata.nc", "report.html", "report.md", "manifest.json"):  # fmt: skip
        assert name in files, name
    assert (out / "survival" / "idata.nc").exists()  # the survival model fitted here
    founding = pd.read_csv(out / "founding.csv")
    assert list(founding.columns[:6]) == ["era", "groups", "years", "rate", "lower", "upper"]
    md = (out / "report.md").read_text()
    for section in ("## Founding rate", "## Composition of new groups", "## Reach",
                    "## Counterfactual", "Poisson-GLM rate ratios", "Fisher"):  # fmt: skip
        assert section in md, section
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["analysis"] == "expansion" and manifest["founding_family"]["family"]
    import xarray as xr

    tree = xr.open_datatree(out / "idata.nc", engine="h5netcdf")
    assert {"founding", "composition_leader", "mix"} <= set(tree.children)


def _own_table(n_counties=6, seed=3):
    """A new user's table: units founded at 20 a year before 2001 and 40 after, kind b more
    common after, closing at 0.2 (a) / 0.4 (b) a year; dates, no bundled settings."""
    rng = np.random.default_rng(seed)
    rows = []
    for start, stop, rate, p_b in (("1996-01-01", "2001-01-01", 20, 0.2),
                                   ("2001-01-01", "2005-01-01", 40, 0.6)):  # fmt: skip
        a, b = np.datetime64(start), np.datetime64(stop)
        days = int((b - a).astype(int))
        k = rng.poisson(rate * days / 365.25)
        founded = a + np.sort(rng.integers(0, days, k)).astype("timedelta64[D]")
        kind = np.where(rng.uniform(size=k) < p_b, "b", "a")
        life = rng.exponential(1 / np.where(kind == "b", 0.4, 0.2)) * 365.25
        end = np.datetime64("2006-01-01")
        closed = founded + life.astype(int).astype("timedelta64[D]")
        rows.append(pd.DataFrame({
            "opened": founded.astype(str), "kind": kind,
            "region": rng.choice([f"r{i}" for i in range(n_counties)], k),
            "closed": np.where(closed < end, closed.astype(str), ""),
            "seen": np.where(closed < end, closed.astype(str), str(end)),
        }))  # fmt: skip
    df = pd.concat(rows, ignore_index=True)
    df.insert(0, "uid", [f"u{i}" for i in range(len(df))])
    return df


@pytest.mark.fit
def test_the_command_on_a_new_users_table(tmp_path, capsys):
    path = tmp_path / "units.csv"
    _own_table().to_csv(path, index=False)
    args = ["--data", str(path), "--id", "uid", "--start", "opened", "--event-date", "closed",
            "--censor-date", "seen", "--formula", "kind + (1 | region)",
            "--era-cuts", "2001-01-01", "--era-labels", "before,after",
            "--window", "1996-01-01,2004-12-31", "--end", "2006-01-01",
            "--composition", "kind", "--cluster", "region",
            "--draws", "300", "--tune", "300", "--chains", "2", "--quiet",
            "--out", str(tmp_path / "run")]  # fmt: skip
    rc = expansion_main(args)
    text = capsys.readouterr().out
    assert rc == 0, text
    ratio = pd.read_csv(tmp_path / "run" / "founding_contrasts.csv").iloc[0]
    assert ratio["lower"] < 2.0 < ratio["upper"]  # 40 a year after vs 20 before
    shares = pd.read_csv(tmp_path / "run" / "composition.csv")
    b_after = shares[(shares["level"] == "b") & (shares["era"] == "after")]["share"].iloc[0]
    assert 0.45 < b_after < 0.75
    # the survival formula has no era: the survival part of the counterfactual is zero
    gy = pd.read_csv(tmp_path / "run" / "group_years.csv").set_index("quantity")
    assert gy.loc["of which survival", "median"] == pytest.approx(0.0, abs=1e-9)


def test_the_command_refuses_bad_eras(tmp_path, capsys):
    path = tmp_path / "units.csv"
    _own_table().to_csv(path, index=False)
    base = ["--data", str(path), "--id", "uid", "--start", "opened", "--event-date", "closed",
            "--censor-date", "seen", "--formula", "kind", "--composition", "kind",
            "--out", str(tmp_path / "run")]  # fmt: skip
    rc = expansion_main(base)
    err = capsys.readouterr().err
    assert rc == 2 and "era_cuts" in err and "Traceback" not in err
    rc = expansion_main([*base, "--era-cuts", "1990-01-01"])
    err = capsys.readouterr().err
    assert rc == 2 and "inside the founding window" in err
    assert not (tmp_path / "run").exists()
