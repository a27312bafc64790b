"""Simulation-based calibration: the rank statistics, the simulator, the re-used model, the CLI.

Fast tests check the statistics on known rank distributions, that the simulated data go through
the pipeline to the exact sufficient statistics, that the re-used (padded, ``pm.Data``) model has
the log-density of the model the pipeline would build, and that the prior draws follow the spec.
The end-to-end run on Dask is slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

from bayessa.cli.sbc import main
from bayessa.errors import DataError
from bayessa.model.pem import build_model
from bayessa.posterior.predict import thin as thin_draws
from bayessa.sbc.calibrate import ranks_frame, summarize
from bayessa.sbc.sim import (
    ABSENT_LOG_EXPOSURE,
    SBCConfig,
    _as_posterior,
    _seeds,
    build_template,
    cell_log_rate,
    draw_prior,
    pipeline_cells,
    simulate,
)
from bayessa.sbc.stats import chi2_uniformity, ecdf_band, plot_rank_ecdf, rank, rank_ecdf

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "models" / "partnership.toml")


# ------------------------------------------------------------------ rank statistics


def test_rank_counts_draws_below_and_breaks_ties_at_random():
    rng = np.random.default_rng(0)
    assert rank(0.5, np.array([0.1, 0.2, 0.9]), rng) == 2
    assert rank(-1.0, np.array([0.1, 0.2]), rng) == 0 and rank(5.0, np.array([0.1, 0.2]), rng) == 2
    ties = [rank(1.0, np.array([0.0, 1.0, 1.0, 2.0]), rng) for _ in range(400)]
    assert set(ties) == {1, 2, 3}
    with pytest.raises(ValueError, match="finite"):
        rank(np.nan, np.array([0.0]), rng)


def test_rank_ecdf_at_the_binomial_points():
    z, f = rank_ecdf(np.array([0, 0, 1, 3]), n_draws=3)
    np.testing.assert_allclose(z, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(f, [0.5, 0.75, 0.75])  # #{r < i} / N for i = 1, 2, 3
    with pytest.raises(ValueError):
        rank_ecdf(np.array([4]), n_draws=3)


@pytest.fixture(scope="module")
def band():
    return ecdf_band(200, 100, seed=1)


def test_band_has_simultaneous_coverage_and_calibrated_p_values(band):
    assert np.all(band.lower <= band.z) and np.all(band.z <= band.upper)
    assert np.all(np.diff(band.lower) >= 0) and np.all(np.diff(band.upper) >= 0)
    rng = np.random.default_rng(2)
    null = [rng.integers(0, 101, 200) for _ in range(400)]
    inside = np.mean([band.inside(r) for r in null])
    p = np.array([band.p_value(r) for r in null])
    assert 0.92 <= inside <= 0.98
    assert 0.02 <= np.mean(p <= 0.05) <= 0.08
    # leaving the band and p <= alpha are the same event (up to Monte Carlo error in gamma)
    assert np.mean([band.inside(r) == (q > 0.05) for r, q in zip(null, p, strict=True)]) > 0.98


def test_band_test_detects_biased_and_overdispersed_ranks(band):
    rng = np.random.default_rng(3)
    biased = np.minimum(100, (rng.beta(1.4, 1.0, 200) * 101).astype(int))  # truth too high
    narrow = np.minimum(100, (rng.beta(2.5, 2.5, 200) * 101).astype(int))  # posterior too wide
    wide = np.where(rng.random(200) < 0.5, rng.integers(0, 10, 200), rng.integers(91, 101, 200))
    for ranks in (biased, narrow, wide):
        assert band.p_value(ranks) < 0.001 and not band.inside(ranks)
    assert (
        chi2_uniformity(wide, 100) < 1e-6 and chi2_uniformity(rng.integers(0, 101, 200), 100) > 1e-3
    )


def test_rank_ecdf_plot(band):
    rng = np.random.default_rng(4)
    ranks = {f"q{i}": rng.integers(0, 101, 200) for i in range(5)}
    fig = plot_rank_ecdf(ranks, band, p_values=dict.fromkeys(ranks, 0.5))
    assert sum(ax.get_visible() for ax in fig.axes) == 5
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_thinning_takes_evenly_spaced_draws_across_chains():
    post = xr.Dataset(
        {"a": (("chain", "draw"), np.arange(20.0).reshape(2, 10)),
         "b": (("chain", "draw", "k"), np.arange(60.0).reshape(2, 10, 3))},
        coords={"chain": [0, 1], "draw": np.arange(10), "k": list("xyz")},
    )  # fmt: skip
    thin = thin_draws(post, 4, method="even")
    np.testing.assert_array_equal(thin["a"].values, [[2, 7, 12, 17]])
    assert thin["b"].dims == ("chain", "draw", "k") and list(thin["k"].values) == list("xyz")


# ------------------------------------------------------------------ template and simulation


@pytest.fixture(scope="module")
def template():
    return build_template(SBCConfig(model=SPEC, sims=4))


@pytest.fixture(scope="module")
def prior(template):
    return draw_prior(template, 1000, seed=11)


def test_template_keeps_the_real_design(template):
    from bayessa.model.preparation import prepare, resolve_spec

    real = prepare(None, resolve_spec(SPEC))
    ev, X = real.cells.events, real.design.X
    np.testing.assert_allclose(template.center, ev @ X / ev.sum())
    assert template.info.parameterization == "noncentered"  # what 'auto' picks on the real data
    assert template.design.coef_names == real.design.coef_names
    # every cell of the real data is a template cell, with the same covariates
    idx = template._key_index.get_indexer(template.key_index(real.cells.frame))
    assert (idx >= 0).all()
    np.testing.assert_array_equal(template.design.X[idx], real.design.X)
    assert len(template.units) == real.data.n_units
    labels = [q[0] for q in template.quantities]
    assert labels[:2] == ["beta[leader[professional]]", "beta[era[early]]"]
    assert {"baseline[(0,0.5]]", "baseline_sd", "cluster_sd", "log_likelihood"} <= set(labels)


def test_prior_draws_follow_the_spec(prior):
    beta = np.stack([p["beta"] for p in prior])
    assert abs(beta.std() - 1.0) < 0.05 and abs(beta.mean()) < 0.05
    sd = np.array([p["cluster_sd"] for p in prior])
    assert abs(sd.mean() - 0.5 * np.sqrt(2 / np.pi)) < 0.03  # halfnormal(0.5)
    u = np.stack([p["cluster_effect"] for p in prior])
    np.testing.assert_allclose(u.sum(axis=1), 0.0, atol=1e-9)  # sum-to-zero county effects
    start = np.array([p["baseline_start"] for p in prior])
    assert abs(start.mean() + 2.0) < 0.2 and abs(start.std() - 2.0) < 0.15


def test_pipeline_gives_the_exact_sufficient_statistics(template, prior):
    rng = np.random.default_rng(5)
    for truth in prior[:5]:
        table, events, exposure = simulate(template, truth, rng)
        p_events, p_exposure = pipeline_cells(template, table)
        np.testing.assert_array_equal(p_events, events)
        np.testing.assert_allclose(p_exposure, exposure, rtol=1e-12, atol=1e-12)
        assert table["sbc_time"].gt(0).all() and table["sbc_time"].le(14).all()
    # a draw with a tiny hazard: no events, which the pipeline refuses and the SBC still fits
    quiet = dict(prior[0], baseline=prior[0]["baseline"] - 40.0)
    table, events, exposure = simulate(template, quiet, rng)
    assert events.sum() == 0 and exposure.sum() > 0
    with pytest.raises(DataError, match="no events at all"):
        pipeline_cells(template, table)


def test_simulated_events_match_the_hazard_on_average(template, prior):
    # E[D_c - lambda_c T_c] = 0 for every cell (the compensator of the counting process)
    truth = prior[1]
    lam = np.exp(cell_log_rate(template, _as_posterior(template, truth))[0])
    rng = np.random.default_rng(6)
    D, T = np.zeros(lam.size), np.zeros(lam.size)
    for _ in range(300):
        _, ev, ex = simulate(template, truth, rng)
        D, T = D + ev, T + ex
    interval = template.cells.frame["interval"].cat.codes.to_numpy()
    expected = np.bincount(interval, lam * T)
    z = (np.bincount(interval, D) - expected) / np.sqrt(np.maximum(expected, 1.0))
    assert np.all(np.abs(z) < 4), z


def test_reused_model_has_the_log_density_of_the_pipeline_model(template, prior):
    rng = np.random.default_rng(7)
    table, _, _ = simulate(template, prior[2], rng)
    from bayessa.model.preparation import prepare

    prep = prepare(table, template.sim_spec)
    direct, _ = build_model(prep.cells, prep.design, template.spec, center=template.center)
    events, exposure = pipeline_cells(template, table)
    log_exposure = np.full(exposure.shape, ABSENT_LOG_EXPOSURE)
    np.log(exposure, out=log_exposure, where=exposure > 0)
    pm.set_data({"events_data": events, "log_exposure": log_exposure}, model=template.model)
    assert (exposure == 0).any()  # some template cells are unreached: padding is exercised
    logp_direct, logp_reused = direct.compile_logp(), template.model.compile_logp()
    for _ in range(3):
        point = {
            v.name: rng.normal(0, 0.5, size=np.shape(x))
            for v, x in zip(direct.value_vars, direct.initial_point().values(), strict=True)
        }
        assert logp_reused(point) == pytest.approx(logp_direct(point), rel=1e-10)


def test_seeds_are_per_simulation():
    config = SBCConfig(model=SPEC)
    a, b = _seeds(config, 3), _seeds(config, 3)
    assert a[1] == b[1] and a[0].random() == b[0].random()
    assert _seeds(config, 4)[1] != a[1]


# ------------------------------------------------------------------ summary and CLI


def fake_records(n: int, ranks, **extra) -> list[dict]:
    return [
        {"sim": i, "error": None, "n_events": 10, "pipeline": "ok", "divergences": 0,
         "max_rhat": 1.0, "min_ess_bulk": 500.0, "treedepth_hits": 0, "seconds": 1.0,
         "ranks": {"a": int(ranks[0][i]), "b": int(ranks[1][i])}, **extra}
        for i in range(n)
    ]  # fmt: skip


def test_summary_counts_failures_and_flags_and_judges_calibration():
    rng = np.random.default_rng(8)
    config = SBCConfig(model=SPEC, sims=100, rank_draws=20)
    good = fake_records(100, [rng.integers(0, 21, 100), rng.integers(0, 21, 100)])
    s = summarize(good, config, n_rep=2000)
    assert s["calibrated"] and s["n_failed"] == 0 and set(s["quantities"]) == {"a", "b"}
    bad = fake_records(100, [np.full(100, 20), rng.integers(0, 21, 100)], divergences=3)
    bad.append({"sim": 100, "error": "RuntimeError: boom", "seconds": 0.1})
    s = summarize(bad, config, n_rep=2000)
    assert not s["calibrated"] and s["failing_quantities"] == ["a"]
    assert s["n_failed"] == 1 and s["failures"][0]["error"] == "RuntimeError: boom"
    assert s["sampling_flags"] == {"divergent": 100} and s["n_fitted"] == 100
    frame = ranks_frame(bad)
    assert {"rank:a", "rank:b", "flags", "error"} <= set(frame.columns) and len(frame) == 101


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rank-draws", "2000"], "cannot exceed chains x draws"),
        (["--dropout", "-1"], "dropout must be a rate >= 0"),
        (["--model", "nope.toml"], "does not exist"),
    ],
)
def test_cli_bad_arguments_exit_2(tmp_path, capsys, args, message):
    assert main([*args, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_refuses_an_existing_output(tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "summary.json").write_text("{}")
    assert main(["--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "o" / "summary.json").read_text() == "{}"


@pytest.mark.slow
def test_cli_end_to_end_on_dask_and_serial_agree(tmp_path, capsys):
    small = ["--sims", "4", "--draws", "100", "--tune", "100", "--rank-draws", "20", "--quiet"]
    assert main([*small, "--workers", "2", "--out", str(tmp_path / "dask")]) == 0
    assert main([*small, "--serial", "--out", str(tmp_path / "serial")]) == 0
    for name in ("summary.json", "ranks.csv", "rank_ecdf.png"):
        assert (tmp_path / "dask" / name).is_file(), name
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert summary["n_sims"] == summary["n_fitted"] == 4 and summary["n_failed"] == 0
    assert summary["command"].startswith("python -m bayessa.sbc --sims 4")
    a = pd.read_csv(tmp_path / "dask" / "ranks.csv")
    b = pd.read_csv(tmp_path / "serial" / "ranks.csv")
    cols = [c for c in a.columns if c.startswith("rank:")] + ["n_events", "fit_seed"]
    pd.testing.assert_frame_equal(a[cols], b[cols])  # seeds are per simulation, not per worker


# ------------------------------------------------------------------ covariates that change


@pytest.fixture(scope="module")
def heart_template(tmp_path_factory):
    heart = Path(__file__).parents[1] / "reference" / "tvc" / "heart.csv"
    spec = tmp_path_factory.mktemp("heart") / "heart.toml"
    spec.write_text(
        f'name = "heart"\n[data]\npath = "{heart}"\nid = "id"\ntstart = "start"\n'
        'tstop = "stop"\nevent = "event"\ntime_unit = "days"\n'
        '[time]\ncuts = [0, 30, 100, 365, 2000]\n[model]\nformula = "C(transplant) + surgery"\n'
    )
    return build_template(SBCConfig(model=str(spec), sims=4, dropout=0.001))


def test_simulated_units_follow_their_observed_paths(heart_template):
    t = heart_template
    assert t.rows is not None and len(t.units) == 103
    assert t.sim_spec.data.tstart == "sbc_tstart" and t.sim_spec.data.time is None
    prior = draw_prior(t, 5, seed=3)
    rng = np.random.default_rng(8)
    for truth in prior:
        table, events, exposure = simulate(t, truth, rng)
        p_events, p_exposure = pipeline_cells(t, table)
        np.testing.assert_array_equal(p_events, events)
        np.testing.assert_allclose(p_exposure, exposure, rtol=1e-12, atol=1e-9)
        # each unit's rows are its observed ones, cut at its simulated exit
        first = table.groupby("sbc_id", sort=False).first()
        assert (first["sbc_tstart"] == 0).all()
        assert table.groupby("sbc_id")["sbc_event"].sum().le(1).all()
        switched = table.groupby("sbc_id")["transplant"].nunique().gt(1)
        assert switched.any()  # some simulated units live past their transplant
