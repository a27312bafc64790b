"""Fits of the user's own table: nothing of the bundled analysis applies; units and cuts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import bayessa
from bayessa.cli.fit import main
from bayessa.errors import SpecError
from bayessa.model.cuts import automatic_cuts
from bayessa.model.preparation import prepare, resolve_spec
from bayessa.model.spec import DEFAULT_PRIORS
from bayessa.model.units import priors_in_unit, units_per_year


def _table(n: int = 240, seed: int = 3) -> pd.DataFrame:
    """Durations in days; eras that are not the bundled data's (pre/early/formal)."""
    sim = bayessa.simulate_pem(
        n, cuts=[0, 1, 2, 4, math.inf], log_baseline=[-1.0, -1.2, -1.5, -1.8],
        covariates={"era": {"pre": 0.3, "early": 0.3, "formal": 0.4}, "arm": {"a": 0.5, "b": 0.5}},
        effects={"arm[b]": 0.5, "era[formal]": -0.4}, censoring_rate=0.2, seed=seed,
    )  # fmt: skip
    f = sim.frame
    return pd.DataFrame(
        {
            "t": f["time"] * 365.25,
            "e": f["event"],
            "era": f["era"].astype(str),
            "arm": f["arm"].astype(str),
        }  # fmt: skip
    )


def test_nothing_of_the_bundled_analysis_applies(tmp_path):
    path = tmp_path / "my_study.csv"
    _table().to_csv(path, index=False)
    spec = resolve_spec(data=path, formula="arm + era", time="t", event="e", time_unit="days")
    assert spec.name == "my_study" and spec.data.id is None and spec.data.path is None
    assert spec.model.reference == {} and spec.time.cuts == ()
    assert spec.data.time_unit == "days" and spec.priors == DEFAULT_PRIORS
    prepared = prepare(path, spec)
    # reference = first level, sorted; no 'before' from the bundled spec
    assert list(prepared.design.coef_names) == ["arm[b]", "era[formal]", "era[pre]"]
    cuts = prepared.spec.time.cuts
    assert cuts[0] == 0 and math.isinf(cuts[-1]) and len(cuts) >= 3
    assert prepared.pieces.notes[0].startswith("cut points chosen from the data (days)")
    assert prepared.data.frame["id"].tolist()[:3] == [1, 2, 3]  # row numbers


def test_a_spec_free_fit_needs_a_formula_and_an_existing_file(tmp_path):
    with pytest.raises(SpecError, match="no formula") as err:
        resolve_spec(data=tmp_path / "absent.csv", time="t", event="e")
    assert "does not exist" in str(err.value)  # both problems, in one error


def test_reference_strata_and_roles_from_keywords(tmp_path):
    spec = resolve_spec(
        data=_table(), formula="arm", time="t", event="e", reference={"arm": "b"},
        strata="era", time_unit="days", on_invalid="exclude", cuts=[0, 300, 900, math.inf],
    )  # fmt: skip
    assert spec.model.reference == {"arm": "b"} and spec.model.strata == "era"
    assert spec.data.on_invalid == "exclude" and spec.time.cuts == (0, 300, 900, math.inf)
    assert list(prepare(_table(), spec).design.coef_names) == ["arm[a]"]
    with pytest.raises(SpecError, match="unknown argument"):
        resolve_spec(data=_table(), formula="arm", time="t", event="e", colour="red")


def test_cli_flags_for_spec_free_fits(tmp_path, capsys):
    path = tmp_path / "mine.csv"
    _table().to_csv(path, index=False)
    code = main(["--data", str(path), "--time", "t", "--event", "e", "--formula", "arm + era",
                 "--reference", "notavar", "--out", str(tmp_path / "x")])  # fmt: skip
    assert code == 2 and "expected VAR=LEVEL" in capsys.readouterr().err
    code = main(["--data", str(path), "--time", "t", "--event", "e", "--formula", "arm + era",
                 "--reference", "era=elsewhere", "--out", str(tmp_path / "x")])  # fmt: skip
    assert code == 2 and "reference level 'elsewhere' of 'era'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    from bayessa.cli.fit import _overrides, build_parser

    args = build_parser().parse_args(
        ["--data", str(path), "--time", "t", "--event", "e", "--formula", "arm",
         "--strata", "era", "--time-varying", "arm", "--time-unit", "days", "--on-invalid",
         "exclude", "--reference", "arm=b", "--baseline-parameterization", "noncentered"]
    )  # fmt: skip
    spec = resolve_spec(data=path, **_overrides(args))
    assert spec.model.strata == "era" and spec.model.time_varying == ("arm",)
    assert spec.model.reference == {"arm": "b"} and spec.data.on_invalid == "exclude"
    assert spec.model.baseline_parameterization == "noncentered" and spec.data.time_unit == "days"


def test_automatic_cuts_follow_the_rule():
    # 100 events: K = round(sqrt(100) / 2) = 5; quantiles 20.8, 40.6, 60.4, 80.2 of 1..100
    assert automatic_cuts(np.arange(1, 101)) == (0.0, 21.0, 41.0, 60.0, 80.0, math.inf)
    assert automatic_cuts(np.arange(1, 9)) == (0.0, math.inf)  # 8 events: one interval
    many = automatic_cuts(np.random.default_rng(0).exponential(1.0, 10_000))
    assert len(many) == 13  # capped at 12 intervals
    assert all(b > a for a, b in zip(many[:-1], many[1:], strict=False))


def test_priors_are_per_year_and_converted():
    days = priors_in_unit(DEFAULT_PRIORS, "days", "rw1")
    u = units_per_year("days")
    assert u == 365.25
    assert days["baseline_level"].params["mu"] == pytest.approx(-2.0 - math.log(365.25))
    assert days["baseline_level"].params["sigma"] == 2.0
    assert days["baseline_smoothing"].params["sigma"] == pytest.approx(1 / math.sqrt(365.25))
    rw2 = priors_in_unit(DEFAULT_PRIORS, "months", "rw2")
    assert rw2["baseline_smoothing"].params["sigma"] == pytest.approx(12**-1.5)
    assert rw2["baseline_slope"].params["sigma"] == pytest.approx(1 / 12)
    assert days["effects"] == DEFAULT_PRIORS["effects"]  # hazard ratios have no unit
    assert priors_in_unit(DEFAULT_PRIORS, "years", "rw1") == DEFAULT_PRIORS


@pytest.mark.fit
def test_the_same_data_in_days_and_years_give_the_same_answers():
    """Hazard ratios and survival curves agree within Monte Carlo error after conversion."""
    days = _table(n=400, seed=11)
    years = days.assign(t=days["t"] / 365.25)
    cuts_y = [0, 0.5, 1, 2, 4, math.inf]
    kw = dict(formula="arm + era", time="t", event="e", progress=False, seed=5, target_accept=0.95)
    fd = bayessa.fit(days, time_unit="days", cuts=[c * 365.25 for c in cuts_y], **kw)
    fy = bayessa.fit(years, time_unit="years", cuts=cuts_y, **kw)
    for fit in (fd, fy):  # converged (a stray divergence of the RW1 baseline is not the point)
        d = fit.diagnostics()
        assert d.max_rhat <= 1.01 and d.min_ess_bulk >= 400, d.failures
    bd = fd.idata["posterior"]["beta"].stack(s=("chain", "draw")).to_numpy()
    by = fy.idata["posterior"]["beta"].stack(s=("chain", "draw")).to_numpy()
    sd = by.std(axis=1)
    # two independent runs: their medians differ by ~ sqrt(2) * 1.25 sd / sqrt(ESS) (~0.06 sd)
    assert np.all(np.abs(np.median(bd, axis=1) - np.median(by, axis=1)) < 0.2 * sd)
    # the baseline: log hazard per day = log hazard per year - log(365.25)
    ld = fd.idata["posterior"]["baseline"].stack(s=("chain", "draw")).to_numpy()
    ly = fy.idata["posterior"]["baseline"].stack(s=("chain", "draw")).to_numpy()
    shift = np.median(ld, axis=1) - np.median(ly, axis=1)
    assert np.all(np.abs(shift + math.log(365.25)) < 0.2 * ly.std(axis=1))
