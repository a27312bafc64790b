"""The run report on fake posteriors (no sampling), the plots, and one real fit through the CLIs."""

from __future__ import annotations

import importlib
import json
import re

import numpy as np
import pandas as pd
import pytest
from fakes import fake_run

from bayessa.api.result import RUN_FILES
from bayessa.cli import compare as compare_cli
from bayessa.cli import report as report_cli
from bayessa.plots import posterior as plots
from bayessa.posterior.curves import Predictor
from bayessa.posterior.effects import contrast_table
from bayessa.report import build as report

SMALL = ["--draws", "60", "--tune", "100", "--chains", "2", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A fake run of the default model, saved (which writes the report)."""
    result = fake_run(draws=80, seed=5)
    return result, result.save(tmp_path_factory.mktemp("r") / "run")


def test_save_writes_the_report_and_the_csvs(run):
    result, d = run
    for name in RUN_FILES:
        assert (d / name).is_file(), name
    manifest = json.loads((d / "manifest.json").read_text())
    assert "report.html" in manifest["files"] and manifest["timings"]["report_s"] > 0
    html = (d / "report.html").read_text()
    # self-contained: figures embedded, no network, no scripts
    assert html.count('src="data:image/png;base64,') == 5
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<script" not in html
    for section in ("Data audit", "Model and priors", "Diagnostics", "Hazard ratios",
                    "Survival", "Baseline hazard", "County effects", "Frequentist cross-check"):  # fmt: skip
        assert f">{section}</h2>" in html, section
    md = (d / "report.md").read_text()
    for png in re.findall(r"\]\((report-[a-z_]+\.png)\)", md):
        assert (d / png).is_file()
    assert md.count("](report-") == 5


def test_contrasts_csv_is_the_contrast_table_with_the_mle(run):
    result, d = run
    saved = pd.read_csv(d / "contrasts.csv", keep_default_na=False)
    table = contrast_table(result.idata)
    pd.testing.assert_series_equal(saved["hr_median"], table["hr_median"], check_names=False)
    assert list(saved["label"]) == list(table["label"])
    assert {"mle_hr", "mle_lower", "mle_upper"} <= set(saved.columns)
    assert (saved["mle_lower"] < saved["mle_hr"]).all()


def test_survival_csv_holds_the_numbers_behind_the_figures(run):
    result, d = run
    s = pd.read_csv(d / "survival.csv", keep_default_na=False)
    std = s[s["kind"] == "standardised"]
    assert set(std["leader"]) == {"consumer", "professional"}
    assert set(std["quantity"]) == {"survival", "RMST to 14", "median survival"}
    # the standardised professional curve at t = 2, recomputed from the same thinned draws
    row = std[(std["leader"] == "professional") & (std["quantity"] == "survival")]
    row = row[np.isclose(row["time"].astype(float), 2.0)].iloc[0]
    mix = Predictor(result.idata, max_draws=500, seed=0).standardised({"leader": "professional"})
    np.testing.assert_allclose(float(row["median"]), np.median(mix.survival([2.0])[:, 0]))
    assert row["county"].startswith("marginal over county effects")
    kinds = set(s["kind"])
    assert {"difference", "difference within era", "standardised within era", "profile",
            "subgroup (KM comparison)"} <= kinds  # fmt: skip
    diff = s[(s["kind"] == "difference within era") & (s["quantity"] == "RMST difference to 14")]
    assert set(diff["era"]) == {"before", "early", "formal"}
    # 2 x 3 x 2 covariate profiles, each with RMST and median
    assert (s[s["kind"] == "profile"]["quantity"] == "median survival").sum() == 12


def test_crosscheck_flags_a_posterior_that_disagrees_with_the_mle(tmp_path):
    result = fake_run(draws=40, seed=3, log_likelihood=False)
    post = result.idata["posterior"].dataset
    beta = post["beta"].copy()
    beta.loc[{"coef": "setting[mental_health]"}] -= 2.2  # MLE: about +0.38
    result.idata["posterior"] = post.assign(beta=beta)
    files = report.write_report(result, tmp_path)
    html = files["report.html"].read_text()
    row = re.search(
        r"<tr class=\"bad\"><td class=\"txt\">setting\[mental_health\]</td>.*?</tr>", html
    )
    assert row and "FLAG: sign differs, MLE outside 95% CrI" in row.group(0)
    assert re.search(r"\d of 6 coefficients flagged", html)
    assert "LOO not computed" in html  # this run has no log-likelihood


@pytest.mark.parametrize("spec", ["models/stratified_setting.toml", "models/calendar_era.toml"])
def test_report_of_other_specs(spec, tmp_path, root):
    """Stratified baseline; a time-varying calendar period (no unit-level values)."""
    result = fake_run(str(root / spec), draws=30, seed=1, log_likelihood=False)
    rep = report.build_report(result, report.ReportOptions(max_draws=30))
    text = rep.markdown()
    assert "## Survival" in text and "## Frequentist cross-check" in text
    if "calendar" in spec:
        assert "no log-rank test for 'calendar_era'" in text
        assert "calendar_era held at before" in rep.survival["curve"].iloc[0]
    else:
        assert "baseline stratified by setting" in text
        assert set(rep.survival["setting"]) >= {"community", "mental_health"}


def test_report_cli_rebuilds_and_refuses_bad_input(run, tmp_path, capsys):
    _, d = run
    out = tmp_path / "again"
    assert report_cli.main([str(d), "--out", str(out), "--times", "1,3", "--horizon", "5"]) == 0
    assert "Report written to" in capsys.readouterr().out
    s = pd.read_csv(out / "survival.csv")
    assert "RMST to 5" in set(s["quantity"])
    assert "ΔS(3)" in (out / "report.md").read_text()
    for argv, message in [
        ([str(tmp_path)], "not a bayessa run directory"),
        ([str(d), "--out", str(out), "--horizon", "30"], "--horizon must lie in (0, 14]"),
        ([str(d), "--out", str(out), "--focus", "colour"], "'colour' is not a covariate"),
        ([str(d), "--out", str(out), "--times", "1,20"], "--times must lie in (0, 14]"),
    ]:
        assert report_cli.main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_a_failing_report_warns_but_the_run_is_saved(tmp_path, monkeypatch):
    result = fake_run(draws=20, log_likelihood=False)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(report, "write_report", broken)
    with pytest.warns(report.ReportWarning, match="boom"):
        d = result.save(tmp_path / "run")
    assert (d / "idata.nc").is_file() and not (d / "report.html").exists()
    assert "report.html" not in json.loads((d / "manifest.json").read_text())["files"]
    d = result.save(tmp_path / "quick", report=False)  # asked not to: no report, no warning
    assert not (d / "report.html").exists()


def test_plot_functions_take_and_return_axes():
    table = pd.DataFrame({"label": ["a: x vs y", "b: u vs v"], "variable": ["a", "b"],
                          "hr_median": [1.5, 0.8], "hr_lower": [1.1, 0.5], "hr_upper": [2.0, 1.2],
                          "p_hr_gt_1": [0.99, 0.2], "mle_hr": [1.4, 0.9]})  # fmt: skip
    ax = plots.forest(table)
    assert ax.get_xscale() == "log" and "Hazard ratio" in ax.get_xlabel()
    t = np.linspace(0, 5, 11)
    curves = pd.DataFrame({"group": "g", "time": t, "median": np.exp(-0.2 * t),
                           "lower": np.exp(-0.3 * t), "upper": np.exp(-0.1 * t)})  # fmt: skip
    km = pd.DataFrame({"group": "g", "time": [1.0, 2.0], "surv": [0.8, 0.6]})
    given = plots.new_axes()
    assert plots.survival_curves(curves, given, km=km) is given
    assert given.get_ylabel() == "Survival probability S(t)" and len(given.lines) == 2
    assert "Difference" in plots.survival_difference(curves, label="x").get_ylabel()
    summ = pd.DataFrame({"median": [0.3, 0.2], "lower": [0.2, 0.1], "upper": [0.4, 0.3]})
    ax = plots.baseline_hazard([0, 1, 2], summ, mle=np.array([0.3, 0.25]))
    assert ax.get_ylabel().startswith("Hazard (events per year")
    cl = pd.DataFrame({"median": [0.9, 1.1], "lower": [0.7, 0.8], "upper": [1.2, 1.5],
                       "units": [3, 4], "events": [1, 2]}, index=["A", "B"])  # fmt: skip
    ax = plots.cluster_effects(cl)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A (3 / 1)", "B (4 / 2)"]
    assert plots.png_bytes(ax.figure)[:4] == b"\x89PNG"


@pytest.mark.fit
def test_fit_report_and_compare_end_to_end(tmp_path, capsys, monkeypatch, root):
    """A real (small) fit through the CLI writes the report; report and compare work from it."""
    fit_cli = importlib.import_module("bayessa.cli.fit")
    monkeypatch.chdir(root)
    one, two = tmp_path / "one", tmp_path / "two"
    assert fit_cli.main(["--out", str(one), *SMALL, "--seed", "1"]) == 0
    assert fit_cli.main(["--out", str(two), *SMALL, "--seed", "2",
                         "--formula", "leader + era + setting + (1 | county)"]) == 0  # fmt: skip
    for name in ("report.html", "report.md", "contrasts.csv", "survival.csv"):
        assert (one / name).is_file()
    before = (one / "contrasts.csv").read_text()
    capsys.readouterr()
    assert report_cli.main([str(one)]) == 0
    assert (one / "contrasts.csv").read_text() == before  # rebuilt from the saved run: same
    assert compare_cli.main([str(one), str(two)]) == 0
    out = capsys.readouterr().out
    assert "Model comparison" in out and "one" in out and "two" in out


def test_default_report_times_lie_inside_the_follow_up():
    from bayessa.report.build import default_times

    assert default_times(14.0, "years") == (1.0, 2.0, 5.0)  # the bundled analysis: unchanged
    assert default_times(999.0, "days") == (365.25, 730.5)  # 1 and 2 years, in days
    assert default_times(300.0, "days") == (75.0, 150.0, 220.0)  # quarters: 1 year is beyond
    assert all(0 < t <= 1.5 for t in default_times(1.5, "years"))


def test_an_open_last_interval_ends_the_follow_up_at_the_latest_exit():
    import dataclasses

    import numpy as np

    from bayessa.posterior.predict import DesignInfo

    base = DesignInfo(
        formula="x", variables=("x",), levels={"x": ("a", "b")}, reference={"x": "a"},
        terms=("x",), coef_names=("x[b]",), coef_levels=((("x", "b"),),), cluster=None,
        cluster_levels=(), strata=None, strata_levels=(), time_varying_coefs=(),
        cuts=np.array([0.0, 16.0, 210.0, np.inf]), time_unit="days", max_exit=999.0,
    )  # fmt: skip
    assert base.last_cut == 999.0
    closed = dataclasses.replace(base, cuts=np.array([0.0, 16.0, 210.0]))
    assert closed.last_cut == 210.0
    assert dataclasses.replace(base, max_exit=float("nan")).last_cut == 210.0


def test_the_mle_baseline_follows_interval_order_not_label_order():
    """Cuts 0, 2, 10, 14: '(10,14]' sorts before '(2,10]' as text; the MLE must not."""
    import tomllib

    from bayessa.posterior.predict import DesignInfo, unit_frame
    from bayessa.report import sections as sec

    result = fake_run(draws=20, log_likelihood=False, cuts=[0, 2, 10, 14])
    dt = result.idata
    ctx = sec.Context(
        dt=dt, info=DesignInfo.from_datatree(dt), spec=tomllib.loads(dt.attrs["bayessa_spec"]),
        units=unit_frame(dt), opts=report.ReportOptions(times=(1.0,)),
    )  # fmt: skip
    freq = sec.frequentist(ctx)
    expect = ["interval[(0,2]]", "interval[(2,10]]", "interval[(10,14]]"]
    assert list(freq.pem.baseline.index) == expect
    # each interval's MLE rate is its events over its exposure at the reference profile's scale:
    # the crude rates per interval must rank the same way as the MLE's
    cells = result.prepared.cells.frame.groupby("interval", observed=True)[
        ["events", "exposure"]
    ].sum()
    crude = (cells["events"] / cells["exposure"]).to_numpy()
    mle = freq.pem.baseline["rate"].to_numpy()
    assert np.array_equal(np.argsort(crude), np.argsort(mle))


@pytest.mark.fit
def test_cli_fit_with_a_smooth_a_numeric_reference_and_two_random_terms(tmp_path, capsys):
    """The formula language from the command line: a smooth, a numeric reference value and two
    random-intercept terms, through a real (small) fit, its printed summary and its report."""
    fit_cli = importlib.import_module("bayessa.cli.fit")
    out = tmp_path / "run"
    formula = "leader + s(founding_year, k=5) + (1 | county) + (1 | setting_type)"
    loud = [a for a in SMALL if a != "--quiet"]  # the printed summary is part of the check
    code = fit_cli.main(["--out", str(out), *loud, "--seed", "3", "--formula", formula,
                         "--reference", "founding_year=1990"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "s(founding_year) -- hazard ratio against founding_year = 1990" in printed
    curves = pd.read_csv(out / "smooths.csv")
    assert curves["reference"].unique().tolist() == [1990.0]
    md = (out / "report.md").read_text()
    assert "Smooth effects" in md and "report-smooth_founding_year.png" in md
    assert "SD of the setting_type intercepts" in md and "SD of the county intercepts" in md
