"""Small real fits through the API and the CLI (seconds each; marked ``fit``)."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pandas as pd
import pytest

import bayessa
from bayessa.api.result import RUN_FILES

# the command module (bayessa.fit the attribute is the API function until the module is imported)
fit_cli = importlib.import_module("bayessa.cli.fit")

pytestmark = pytest.mark.fit
SMALL = dict(draws=150, tune=200, chains=2, seed=7, progress=False)


@pytest.fixture(scope="module")
def small_fit():
    return bayessa.fit(**SMALL)


def test_api_fit_datatree_layout(small_fit):
    dt = small_fit.idata
    for group in ("posterior", "sample_stats", "observed_data", "constant_data", "log_likelihood"):
        assert group in dt.children, group
    post = dt["posterior"].dataset
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 150
    assert list(post["coef"].values) == list(small_fit.prepared.design.coef_names)
    # ArviZ survival layout: times in observed_data, status in constant_data under the same name
    obs, const = dt["observed_data"].dataset, dt["constant_data"].dataset
    np.testing.assert_array_equal(
        obs["time"].values, small_fit.prepared.data.frame["exit"].to_numpy()
    )
    np.testing.assert_array_equal(
        const["time"].values, small_fit.prepared.data.frame["event"].to_numpy()
    )
    assert dt["log_likelihood"].dataset["time"].shape == (2, 150, 360)
    assert np.isfinite(dt["log_likelihood"].dataset["time"].values).all()
    assert dt.attrs["bayessa_data_hash"] == small_fit.prepared.data.data_hash
    assert dt.attrs["bayessa_seed"] == 7


def test_hazard_ratios_match_posterior(small_fit):
    hr = small_fit.hazard_ratios()
    b = small_fit.idata["posterior"].dataset["beta"].sel(coef="leader[professional]").values.ravel()
    row = hr.loc["leader[professional]"]
    np.testing.assert_allclose(row["hr_median"], np.exp(np.median(b)))
    np.testing.assert_allclose(row["p_hr_gt_1"], np.mean(b > 0))
    assert row["hr_lower"] < row["hr_median"] < row["hr_upper"]


def test_save_load_round_trip(small_fit, tmp_path):
    out = small_fit.save(tmp_path / "run")
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    again = bayessa.load(out)
    pd.testing.assert_frame_equal(again.hazard_ratios(), small_fit.hazard_ratios())
    diag = json.loads((out / "diagnostics.json").read_text())
    assert {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "min_bfmi", "passed"} <= set(
        diag
    )
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert (
        "beta[leader[professional]]" in summary.index and not summary.index.str.endswith("_z").any()
    )
    with pytest.raises(bayessa.SpecError, match="already holds a run"):
        small_fit.save(out)
    small_fit.save(out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folders left


def test_cli_end_to_end_and_exit_codes(tmp_path, capsys):
    out = tmp_path / "cli_run"
    args = [
        "--out",
        str(out),
        "--draws",
        "100",
        "--tune",
        "150",
        "--chains",
        "2",
        "--seed",
        "3",
        "--quiet",
    ]
    assert fit_cli.main(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["command"].startswith("python -m bayessa.fit --out")
    assert "pymc" in manifest["versions"]
    # an existing run is not overwritten without --overwrite, and is left intact
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert fit_cli.main(args) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # --strict with an impossible ESS gate would fail; short chains fail the default gate
    assert fit_cli.main([*args, "--overwrite", "--strict", "--draws", "20", "--tune", "20"]) == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "nope.csv"], "does not exist"),
        (["--formula", "leader + colour"], "colour"),
        (["--cuts", "0,2,1"], "strictly increasing"),
        (["--draws", "0"], "must be at least 1"),
        (["--model", "models/nope.toml"], "does not exist"),
        (["--cuts", "0,1,2"], "beyond the last cut point"),
        (["--event", "closed"], "--event needs a follow-up form"),
    ],
)
def test_cli_bad_input_exits_2_without_traceback(
    argv, message, tmp_path, capsys, monkeypatch, root
):
    monkeypatch.chdir(root)
    code = fit_cli.main([*argv, "--out", str(tmp_path / "x")])  # argparse errors too
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("sampler", ["pymc", "numpyro"])
def test_alternative_samplers_give_the_same_layout(sampler):
    """PyMC's NUTS and numpyro are alternatives to nutpie: same variables, dims and attrs."""
    res = bayessa.fit(
        sampler=sampler, draws=60, tune=60, chains=1, seed=2, progress=False, log_likelihood=False
    )
    post = res.idata["posterior"].dataset
    assert {"beta", "baseline", "cluster_effect", "cluster_sd"} <= set(post.data_vars)
    assert post["beta"].dims == ("chain", "draw", "coef") and post.sizes["draw"] == 60
    assert {"diverging", "energy"} <= set(res.idata["sample_stats"].dataset.data_vars)
    assert np.isfinite(res.hazard_ratios().to_numpy()).all()
