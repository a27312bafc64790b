"""Simulation-based calibration of interval-censored specs (bayessa.sbc.intervals).

Fast tests: the template makes the pipeline's choices on the real interval-censored data; the
simulated bounds bracket the latent times and sit on the contact schedule; the pipeline's cells,
interval pieces and patterns equal those computed directly from the simulated bounds; the
re-used model (interval patterns in padded ``pm.Data``) has the log-density of the model the
pipeline builds; a simulation's record. A tiny run through the Dask path is a small real fit
(``fit``); Dask against serial ranks is ``slow``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytest

from bayessa.cli.sbc import main
from bayessa.errors import DataError, SpecError
from bayessa.sbc import intervals
from bayessa.sbc.intervals import (
    IntervalTerms,
    build_interval_template,
    fit_one_interval,
    interval_summary,
    is_interval,
    pipeline_interval_cells,
    simulate_interval,
)
from bayessa.sbc.sim import (
    ABSENT_LOG_EXPOSURE,
    LOGLIK,
    Fitted,
    SBCConfig,
    _as_posterior,
    cell_log_rate,
    draw_prior,
    simulate,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "models" / "interval_closure.toml")
DAYS = 365.25


@pytest.fixture(scope="module")
def config():
    return SBCConfig(model=SPEC, sims=4)


@pytest.fixture(scope="module")
def it(config):
    return build_interval_template(config)


@pytest.fixture(scope="module")
def prior(it):
    return draw_prior(it.base, 8, seed=11)


@pytest.fixture(scope="module")
def sims(it, config, prior):
    rng = np.random.default_rng(5)
    return [simulate_interval(it, config, truth, rng) for truth in prior[:5]]


# ------------------------------------------------------------------ template


def test_interval_spec_is_detected(config):
    assert is_interval(config)
    single = SBCConfig(model=str(ROOT / "models" / "partnership.toml"))
    assert not is_interval(single)
    with pytest.raises(SpecError, match="no interval censoring"):
        build_interval_template(single)


def test_template_makes_the_pipelines_choices_on_the_real_data(it):
    from bayessa.model.pem import model_info
    from bayessa.model.preparation import prepare, resolve_spec
    from bayessa.simulate.sa_groups import CONTACT_INTERVAL_DAYS, CONTACT_JITTER_DAYS

    spec = resolve_spec(SPEC)
    real = prepare(None, spec)
    assert real.data.has_intervals and real.cells.events.sum() == 0  # every closure in (L, R]
    ev, X = real.cells.effective_events, real.design.X
    np.testing.assert_allclose(it.base.center, ev @ X / ev.sum())  # what the real fit centres at
    info = model_info(real.cells, real.design, spec)
    assert it.base.info.parameterization == info.parameterization
    assert it.base.info.baseline_parameterization == info.baseline_parameterization
    assert it.base.pieces.interval_frame is None  # the template follows every unit to its horizon
    assert it.shape == (360, 7) and it.days_per_unit == DAYS
    assert np.isclose(it.base.horizon.max(), 14.0, atol=0.1)  # 1985-07 to 1999-06-30
    d = it.base.sim_spec.data
    assert (d.time_lower, d.time_upper, d.time, d.event) == ("sbc_lower", "sbc_upper", None, None)
    assert {"interval_cell", "interval_length", "interval_weight"} <= set(it.base.model.named_vars)
    assert [q[0] for q in it.quantities][-1] == LOGLIK and len(it.quantities) == 16
    default = SBCConfig(model=SPEC)  # the bundled data's schedule
    assert default.contact_days == CONTACT_INTERVAL_DAYS
    assert default.contact_jitter_days == CONTACT_JITTER_DAYS


def test_contact_settings_are_checked(tmp_path, capsys):
    with pytest.raises(SpecError, match="contact_jitter_days"):
        SBCConfig(model=SPEC, contact_jitter_days=200).check()
    with pytest.raises(SpecError, match="contact_days"):
        SBCConfig(model=SPEC, contact_days=0.5).check()
    argv = ["--model", SPEC, "--contact-jitter-days", "200", "--out", str(tmp_path / "o")]
    assert main([*argv, "--quiet"]) == 2
    assert "contact_jitter_days" in capsys.readouterr().err


# ------------------------------------------------------------------ simulation


def test_simulated_bounds_bracket_the_latent_times(it, sims):
    entry = it.base.units["entry"].to_numpy()
    for s in sims:
        ev = s.event
        assert ev.any() and (~ev).any()
        assert np.all(s.lower[ev] < s.latent[ev]) and np.all(s.latent[ev] <= s.upper[ev])
        assert np.all(s.upper[ev] <= s.end[ev]) and np.all(s.lower >= entry)
        assert np.all(s.latent[~ev] > s.end[~ev]) and np.all(s.lower[~ev] == s.end[~ev])
        assert np.isnan(s.upper[~ev]).all()
        # every bound is the entry, the end of follow-up or a contact: an anniversary +-60 days
        for b in (s.lower[ev], s.upper[ev]):
            d = b[(b > entry[ev]) & (b < s.end[ev])] * DAYS
            j = np.round(d / DAYS)
            assert np.all(j >= 1) and np.all(np.abs(d - np.floor(j * DAYS)) <= 60 + 1e-6)
        # consecutive contacts are at most 365.25 + 120 days apart
        assert np.all((s.upper - s.lower)[ev] * DAYS <= DAYS + 121)
        table = s.table
        assert list(table.columns[:3]) == ["sbc_id", "sbc_lower", "sbc_upper"]
        np.testing.assert_array_equal(table["sbc_upper"].notna(), ev)


def test_bounds_coarsen_the_single_cause_simulations_times(it, prior):
    # the same streams: the latent times are exactly those the exact-time SBC would simulate
    for k in range(3):
        exact, _, _ = simulate(it.base, prior[k], np.random.default_rng(k))
        s = simulate_interval(it, SBCConfig(model=SPEC), prior[k], np.random.default_rng(k))
        event = exact["sbc_event"].to_numpy() == 1
        np.testing.assert_array_equal(event, s.event)
        np.testing.assert_array_equal(exact["sbc_time"].to_numpy()[event], s.latent[event])
        np.testing.assert_array_equal(exact["sbc_time"].to_numpy()[~event], s.lower[~event])


def test_a_closure_before_the_first_contact_has_its_entry_as_lower_bound(it, prior, config):
    truth = dict(prior[0], baseline=prior[0]["baseline"] + 4.0)  # most close within months
    s = simulate_interval(it, config, truth, np.random.default_rng(9))
    early = s.event & (s.latent * DAYS < 365.25 - 60)
    assert early.sum() > 100
    np.testing.assert_array_equal(s.lower[early], 0.0)
    # found closed at the first contact, or when lost to follow-up before it (a final contact)
    first = s.upper[early] * DAYS >= 365 - 60
    assert first.mean() > 0.9
    np.testing.assert_array_equal(s.upper[early][~first], s.end[early][~first])


# ------------------------------------------------------------------ through the pipeline


def test_pipeline_gives_the_simulated_cells_and_intervals(it, sims):
    from bayessa.model.intervals import interval_patterns
    from bayessa.model.preparation import prepare

    rng = np.random.default_rng(6)
    for s in sims:
        events, exposure, terms, unit_exposure = pipeline_interval_cells(it, s.table)
        np.testing.assert_array_equal(events, s.events)
        assert events.sum() == 0  # every event lies between two contacts
        np.testing.assert_allclose(exposure, s.exposure, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(unit_exposure, s.unit_exposure, rtol=1e-12, atol=1e-12)
        assert terms.cell.shape == s.terms.cell.shape == it.shape
        assert terms.weight.sum() == s.event.sum() and terms.n_patterns <= s.event.sum()
        # the (L, R] terms: the pipeline's patterns (as its model adds them) = the direct ones
        log_rate = rng.normal(-2.0, 1.0, size=(3, it.base.cells.n_cells))
        np.testing.assert_allclose(
            terms.log_likelihood(log_rate), s.terms.log_likelihood(log_rate), rtol=1e-12
        )
        prep = prepare(s.table, it.base.sim_spec)
        assert prep.data.interval_censored.sum() == s.event.sum()
        ip = interval_patterns(prep.cells)
        idx = it.base._key_index.get_indexer(it.base.key_index(prep.cells.frame))
        own = ip.weight @ np.log(-np.expm1(-ip.delta(np.exp(log_rate[:, idx])).T))
        np.testing.assert_allclose(terms.log_likelihood(log_rate), own, rtol=1e-12)


def test_pipeline_refuses_data_without_events(it, prior, config):
    quiet = dict(prior[0], baseline=prior[0]["baseline"] - 40.0)
    s = simulate_interval(it, config, quiet, np.random.default_rng(7))
    assert not s.event.any() and s.terms.n_patterns == 0 and s.exposure.sum() > 0
    with pytest.raises(DataError, match="no events at all"):
        pipeline_interval_cells(it, s.table)


def test_reused_model_has_the_log_density_of_the_pipeline_model(it, sims):
    from bayessa.model.pem import build_model
    from bayessa.model.preparation import prepare

    s = sims[0]
    prep = prepare(s.table, it.base.sim_spec)
    direct, _ = build_model(prep.cells, prep.design, it.base.spec, center=it.base.center)
    assert "interval_censored" in direct.named_vars  # the pipeline's constant term
    events, exposure, terms, _ = pipeline_interval_cells(it, s.table)
    log_exposure = np.full(exposure.shape, ABSENT_LOG_EXPOSURE)
    np.log(exposure, out=log_exposure, where=exposure > 0)
    pm.set_data({"events_data": events, "log_exposure": log_exposure, **terms.data()},
                model=it.base.model)  # fmt: skip
    assert (exposure == 0).any() and (terms.weight == 0).any()  # padding of both kinds
    logp_direct, logp_reused = direct.compile_logp(), it.base.model.compile_logp()
    dlogp = it.base.model.compile_dlogp()
    rng = np.random.default_rng(7)
    for _ in range(3):
        point = {
            v.name: rng.normal(0, 0.5, size=np.shape(x))
            for v, x in zip(direct.value_vars, direct.initial_point().values(), strict=True)
        }
        assert logp_reused(point) == pytest.approx(logp_direct(point), rel=1e-10)
        assert np.isfinite(dlogp(point)).all()


def test_log_likelihood_of_the_terms_matches_the_model(it, sims, prior):
    from bayessa.sbc.sim import _loglik

    s = sims[1]
    truth = _as_posterior(it.base, prior[1])
    with_terms = _loglik(it.base, truth, s.events, s.exposure, s.terms)
    cells_only = _loglik(it.base, truth, s.events, s.exposure)
    lam = np.exp(cell_log_rate(it.base, truth)[0])
    delta = s.unit_exposure[s.event] @ lam  # each event's cumulative hazard over its (L, R]
    assert with_terms[0] - cells_only[0] == pytest.approx(np.log(-np.expm1(-delta)).sum())
    assert cells_only[0] == pytest.approx(-lam @ s.exposure)  # no exact events


# ------------------------------------------------------------------ one simulation's record


def test_fit_one_interval_records_the_contacts(it, prior, config, monkeypatch):
    calls = []

    def fake_fit(config, template, compiled, truth, events, exposure, seed, rank_rng, *,
                 interval=None):  # fmt: skip
        calls.append((compiled, events, interval))
        return Fitted(
            diagnostics={"divergences": 0, "treedepth_hits": 0, "max_rhat": 1.0,
                         "min_ess_bulk": 300.0},
            ranks={q[0]: 3 for q in template.quantities},
            truths={q[0]: 0.0 for q in template.quantities},
            loglik_truth=0.0, loglik_draws=np.zeros(config.rank_draws),
        )  # fmt: skip

    monkeypatch.setattr(intervals, "_compiled", lambda config: (it, "compiled"))
    monkeypatch.setattr(intervals, "fit_and_rank", fake_fit)
    rec = fit_one_interval(config, 2, prior[2])
    assert rec["error"] is None and rec["pipeline"] == "ok" and rec["n_units"] == 360
    compiled, events, terms = calls[0]
    assert compiled == "compiled" and events.sum() == 0 and isinstance(terms, IntervalTerms)
    assert terms.weight.sum() == rec["n_events"] and rec["n_patterns"] == terms.n_patterns
    assert 0 < rec["n_before_first_contact"] <= rec["n_events"]
    assert 0.3 < rec["median_interval"] < 1.4
    assert list(rec["ranks"]) == [q[0] for q in it.quantities]
    again = fit_one_interval(config, 2, prior[2])  # seeds are per simulation
    assert again["n_events"] == rec["n_events"] and again["fit_seed"] == rec["fit_seed"]
    np.testing.assert_array_equal(calls[1][2].length, terms.length)
    s = interval_summary([rec, again, {"sim": 9, "error": "boom"}])
    assert s["events"] == 2 * rec["n_events"] and s["exact_events"] == 0
    assert s["share_before_first_contact"] == rec["n_before_first_contact"] / rec["n_events"]
    assert interval_summary([]) == {}


def test_summary_names_the_contacts_only_for_interval_specs(tmp_path, monkeypatch):
    from bayessa.sbc import calibrate

    def fake_run(config, **kwargs):
        rng = np.random.default_rng(1)
        return [
            {"sim": i, "error": None, "n_events": 10, "n_before_first_contact": 4,
             "median_interval": 1.0, "n_patterns": 9, "pipeline": "ok", "divergences": 0,
             "max_rhat": 1.0, "min_ess_bulk": 500.0, "treedepth_hits": 0, "seconds": 1.0,
             "ranks": {"a": int(rng.integers(0, 21))}}
            for i in range(config.sims)
        ]  # fmt: skip

    monkeypatch.setattr(calibrate, "run", fake_run)
    small = ["--sims", "30", "--rank-draws", "20", "--quiet"]
    assert main(["--model", SPEC, *small, "--out", str(tmp_path / "ic")]) == 0
    s = json.loads((tmp_path / "ic" / "summary.json").read_text())
    assert s["config"]["contact_days"] == 365.25 and s["config"]["contact_jitter_days"] == 60
    ic = s["interval_censoring"]
    assert ic["time_lower"] == "last_seen_meeting" and ic["events"] == 300
    assert ic["share_before_first_contact"] == pytest.approx(0.4)
    partnership = str(ROOT / "models" / "partnership.toml")
    assert main(["--model", partnership, *small, "--out", str(tmp_path / "pa")]) == 0
    s = json.loads((tmp_path / "pa" / "summary.json").read_text())
    assert "interval_censoring" not in s and "contact_days" not in s["config"]


# ------------------------------------------------------------------ through Dask


@pytest.mark.fit
def test_cli_runs_interval_censoring_on_dask(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "ic"
    argv = ["--model", SPEC, "--sims", "2", "--draws", "100", "--tune", "100",
            "--rank-draws", "20", "--workers", "1", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert {"summary.json", "ranks.csv", "rank_ecdf.png"} <= {p.name for p in out.iterdir()}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_sims"] == summary["n_fitted"] == 2 and summary["n_failed"] == 0
    assert summary["interval_censoring"]["time_upper"] == "first_found_closed"
    assert summary["interval_censoring"]["events"] > 0
    assert len(summary["quantities"]) == 16 and summary["bonferroni_threshold"] == 0.05 / 16
    ranks = pd.read_csv(out / "ranks.csv")
    cols = [c for c in ranks.columns if c.startswith("rank:")]
    assert ranks[cols].ge(0).all().all() and ranks[cols].le(20).all().all()
    assert (ranks["pipeline"] == "ok").all()
    assert (ranks["n_patterns"] <= ranks["n_events"]).all()


@pytest.mark.slow
def test_interval_ranks_do_not_depend_on_dask(tmp_path):
    pytest.importorskip("distributed")
    small = ["--model", SPEC, "--sims", "3", "--draws", "100", "--tune", "100",
             "--rank-draws", "20", "--quiet"]  # fmt: skip
    assert main([*small, "--workers", "1", "--out", str(tmp_path / "dask")]) == 0
    assert main([*small, "--serial", "--out", str(tmp_path / "serial")]) == 0
    a = pd.read_csv(tmp_path / "dask" / "ranks.csv")
    b = pd.read_csv(tmp_path / "serial" / "ranks.csv")
    cols = [c for c in a.columns if c.startswith(("rank:", "n_events", "fit_seed", "n_patterns"))]
    pd.testing.assert_frame_equal(a[cols], b[cols])  # seeds are per simulation
