"""Competing risks end to end: cause-specific fits, their hazard ratios and incidence (real fits)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import bayessa
from bayessa.cli.fit import main as fit_main
from bayessa.frequentist import cumulative_incidence


def _simulated(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Constant cause-specific hazards: 'folded' 0.10 (group a) / 0.20 (b), 'merged' 0.15."""
    rng = np.random.default_rng(seed)
    grp = rng.choice(["a", "b"], n)
    h1 = np.where(grp == "b", 0.20, 0.10)
    h2 = np.full(n, 0.15)
    t_event = rng.exponential(1 / (h1 + h2))
    cause = np.where(rng.uniform(size=n) < h1 / (h1 + h2), "folded", "merged")
    censor = np.minimum(rng.exponential(1 / 0.05, n), 6.0)
    time = np.minimum(t_event, censor)
    outcome = np.where(t_event <= censor, cause, "censored")
    return pd.DataFrame({"gid": np.arange(n), "years": time, "outcome": outcome, "grp": grp})


@pytest.mark.fit
def test_cause_specific_fits_recover_hazard_ratios_and_the_incidence(tmp_path):
    df = _simulated()
    res = bayessa.fit(df, formula="grp", id="gid", time="years", event="outcome",
                      censored="censored", cuts=[0, 1, 2, 4, 6], draws=500, chains=2, seed=3,
                      progress=False)  # fmt: skip
    assert res.causes == ("folded", "merged")
    hr = res.hazard_ratios().set_index("cause")
    assert hr.loc["folded", "hr_lower"] < 2.0 < hr.loc["folded", "hr_upper"]
    assert hr.loc["merged", "hr_lower"] < 1.0 < hr.loc["merged", "hr_upper"]
    # the posterior incidence of group b agrees with the Aalen-Johansen estimate
    cif = res.cumulative_incidence({"grp": "b"}, times=[5.0])
    aj = cumulative_incidence(df, time="years", event="outcome", group="grp")
    for cause in res.causes:
        ours = cif.loc[cif["cause"] == cause, "cif"].iloc[0]
        ref = aj[(aj["group"] == "b") & (aj["cause"] == cause) & (aj["time"] <= 5.0)].iloc[-1]
        assert abs(ours - ref["cif"]) < 4 * ref["std_err"], (cause, ours, ref["cif"])
    # each cause's run is an ordinary run; the combined tables sit beside them
    out = res.save(tmp_path / "runs")
    assert json.loads((out / "manifest.json").read_text())["causes"] == ["folded", "merged"]
    assert (out / "folded" / "idata.nc").exists() and (out / "merged" / "report.html").exists()
    table = pd.read_csv(out / "cif.csv")
    assert set(table["cause"]) == {"folded", "merged"} and (table["lower"] <= table["cif"]).all()
    loaded = bayessa.load(out / "folded")
    assert loaded.idata["observed_data"]["events"].sum() == (df["outcome"] == "folded").sum()
    both = bayessa.load(out)  # the competing-risks folder: every cause's run
    assert both.causes == ("folded", "merged")
    again = both.cumulative_incidence({"grp": "b"}, times=[5.0])
    np.testing.assert_allclose(again["cif"], cif["cif"], rtol=1e-12)


@pytest.mark.fit
def test_the_fit_command_runs_competing_risks(tmp_path, capsys):
    data = tmp_path / "groups.csv"
    _simulated(n=800).to_csv(data, index=False)
    rc = fit_main(["--data", str(data), "--id", "gid", "--time", "years", "--event", "outcome",
                   "--censor-value", "censored", "--formula", "grp", "--cuts", "0,2,6",
                   "--draws", "200", "--chains", "2", "--out", str(tmp_path / "run")])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0
    assert "=== cause 'folded'" in text and "=== cause 'merged'" in text
    assert "Cumulative incidence at the end of follow-up" in text
    assert (tmp_path / "run" / "hazard_ratios.csv").exists()


@pytest.mark.fit
def test_incidence_difference_between_groups():
    df = _simulated(n=1500, seed=11)
    res = bayessa.fit(df, formula="grp", id="gid", time="years", event="outcome",
                      censored="censored", cuts=[0, 2, 6], draws=300, chains=2, seed=1,
                      progress=False)  # fmt: skip
    d = res.incidence_difference({"grp": "b"}, {"grp": "a"}, times=[4.0]).set_index("cause")
    # group b's hazard of folding is twice a's: more folded, fewer merged (the competing cause)
    assert d.loc["folded", "p_gt_0"] > 0.99 and d.loc["merged", "p_gt_0"] < 0.05
    assert d.loc["folded", "rmtl_difference"] > 0
    a = res.cumulative_incidence({"grp": "a"}, times=[4.0]).set_index("cause")
    b = res.cumulative_incidence({"grp": "b"}, times=[4.0]).set_index("cause")
    np.testing.assert_allclose(d["difference"], b["cif"] - a["cif"], atol=0.01)


@pytest.mark.fit
def test_the_combined_report_shows_every_cause(tmp_path):
    df = _simulated(n=1000, seed=5)
    res = bayessa.fit(df, formula="grp", id="gid", time="years", event="outcome",
                      censored="censored", cuts=[0, 2, 6], draws=200, chains=2, seed=2,
                      progress=False)  # fmt: skip
    out = res.save(tmp_path / "cr")
    md = (out / "report.md").read_text()
    assert "## Cumulative incidence" in md and "## Hazard ratios by cause" in md
    assert "report-cif_reference.png" in md and (out / "report-cif_by_grp.png").exists()
    assert "Gray's test of equal incidence by grp" in md
    assert "folded/report.html" in md and "grp: b − a" in md
    assert "## Predictive check" in md and (out / "report-cif_ppc.png").exists()
    # replicates draw the cause; units censored in the data are censored at their exit
    from bayessa.checks.ppc_competing import incidence_check, replicate_causes

    runs = {c: r.idata for c, r in res.results.items()}
    rep = replicate_causes(runs, n_draws=50, seed=4)
    assert set(np.unique(rep["cause"].values)) <= {0, 1, 2} and rep.sizes["unit"] == len(df)
    censored = (df["outcome"] == "censored").to_numpy()
    assert (rep["time"].values[:, censored] <= df["years"].to_numpy()[censored] + 1e-9).all()
    observed, band = incidence_check(runs, n_replicates=100, seed=1)
    inside = (observed["cif"] >= band["lower"] - 1e-12) & (observed["cif"] <= band["upper"] + 1e-12)
    assert inside.mean() > 0.9, inside.mean()  # the model is the truth here


def test_a_formula_per_cause_builds_each_causes_design():
    from bayessa.errors import SpecError
    from bayessa.model.causes import cause_spec, for_cause
    from bayessa.model.preparation import prepare, resolve_spec

    df = _simulated(n=400, seed=2).assign(z=lambda d: np.where(d["gid"] % 3 == 0, "x", "y"))
    spec = resolve_spec(data=df, formula="grp + z", id="gid", time="years", event="outcome",
                        censored="censored", cuts=[0, 2, 6])  # fmt: skip
    spec = spec.with_overrides(model__formulas={"merged": "grp"})
    prepared = prepare(df, spec)
    causes = prepared.cells.causes
    folded = for_cause(prepared, "folded", cause_spec(spec, "folded", causes))
    merged = for_cause(prepared, "merged", cause_spec(spec, "merged", causes))
    assert folded.design.coef_names == ["grp[b]", "z[y]"]
    assert merged.design.coef_names == ["grp[b]"] and merged.spec.model.formula == "grp"
    assert merged.cells.events.sum() == (df["outcome"] == "merged").sum()
    with pytest.raises(SpecError, match="does not have"):
        cause_spec(spec.with_overrides(model__formulas={"melted": "grp"}), "folded", causes)
