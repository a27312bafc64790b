"""Simulation-based calibration of competing risks (bayessa.sbc.competing).

Fast tests: every cause's template shares the cells and is the model the pipeline fits for that
cause; the joint prior draws every cause's parameters; the simulator draws the causes at the
rates of their hazards (given fixed parameters) and its per-cause cells equal the pipeline's;
ranks and diagnostics are booked per cause; the summary reports per cause. A tiny run through
the Dask path is a small real fit (``fit``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.cli.sbc import main
from bayessa.errors import DataError, SpecError
from bayessa.sbc import competing
from bayessa.sbc.calibrate import ranks_frame, summarize
from bayessa.sbc.competing import (
    build_competing_template,
    causes_of,
    draw_joint_prior,
    fit_one_competing,
    is_competing,
    pipeline_cause_cells,
    simulate_competing,
)
from bayessa.sbc.sim import (
    LOGLIK,
    Fitted,
    SBCConfig,
    _as_posterior,
    build_template,
    cell_log_rate,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "models" / "closure_reasons.toml")
CAUSES = ("folded", "lost_venue", "merged")


@pytest.fixture(scope="module")
def config():
    return SBCConfig(model=SPEC, sims=4)


@pytest.fixture(scope="module")
def ct(config):
    return build_competing_template(config)


@pytest.fixture(scope="module")
def prior(ct):
    return draw_joint_prior(ct, 400, seed=11)


# ------------------------------------------------------------------ templates and prior


def test_competing_spec_is_detected(config):
    assert is_competing(config) and causes_of(config) == CAUSES
    single = SBCConfig(model=str(ROOT / "models" / "partnership.toml"))
    assert not is_competing(single) and causes_of(single) == ()
    with pytest.raises(SpecError, match="competing risks"):
        build_template(config)  # a single-cause template of a competing-risks spec
    with pytest.raises(SpecError, match="not in the data"):
        build_template(config, cause="eaten")
    with pytest.raises(SpecError, match="no competing risks"):
        build_template(single, cause="folded")


def test_each_cause_has_the_pipelines_model_on_the_same_cells(ct):
    from bayessa.model.causes import cause_spec, for_cause
    from bayessa.model.preparation import prepare, resolve_spec

    assert ct.causes == CAUSES and ct.censored == "censored"
    spec = resolve_spec(SPEC)
    real = prepare(None, spec)
    base = ct.base
    for c in CAUSES:
        t = ct.templates[c]
        assert t._key_index.equals(base._key_index)
        np.testing.assert_array_equal(t.cells.piece_cell, base.cells.piece_cell)
        one = for_cause(real, c, cause_spec(spec, c, CAUSES))
        ev, X = one.cells.events, one.design.X
        np.testing.assert_allclose(t.center, ev @ X / ev.sum())  # this cause's events centre
        assert t.design.coef_names == one.design.coef_names
    assert not np.allclose(ct.templates["folded"].center, ct.templates["merged"].center)
    labels = ct.quantities
    assert len(labels) == 3 * 16 + 1 and labels[-1] == LOGLIK
    assert labels[0] == "folded:beta[leader[professional]]"
    assert {f"{c}:{q}" for c in CAUSES for q in ("cluster_sd", "log_likelihood")} <= set(labels)
    assert ct.sim_spec.data.event == "sbc_event" and ct.sim_spec.data.censored == "censored"


def test_joint_prior_draws_every_cause_independently(ct, prior):
    assert all(set(p) == set(CAUSES) for p in prior)
    beta = {c: np.stack([p[c]["beta"] for p in prior]) for c in CAUSES}
    for c in CAUSES:
        assert abs(beta[c].std() - 1.0) < 0.08 and abs(beta[c].mean()) < 0.08
        u = np.stack([p[c]["cluster_effect"] for p in prior])
        np.testing.assert_allclose(u.sum(axis=1), 0.0, atol=1e-9)
    r = np.corrcoef(beta["folded"][:, 0], beta["merged"][:, 0])[0, 1]
    assert abs(r) < 0.15 and not np.allclose(beta["folded"], beta["merged"])
    again = draw_joint_prior(ct, 2, seed=11)
    np.testing.assert_array_equal(again[1]["merged"]["beta"], prior[1]["merged"]["beta"])
    one = draw_joint_prior(ct, 1, seed=11)  # pymc.draw drops the draws axis for one draw
    np.testing.assert_array_equal(one[0]["lost_venue"]["beta"], prior[0]["lost_venue"]["beta"])


# ------------------------------------------------------------------ simulation


def constant_hazards(ct, prior, rates) -> dict:
    """Every unit's hazard of cause j is rates[j] (no effects, no clusters)."""
    out = {}
    for c, rate in zip(ct.causes, rates, strict=True):
        t = dict(prior[0][c])
        t["beta"] = np.zeros_like(t["beta"])
        t["cluster_effect"] = np.zeros_like(t["cluster_effect"])
        t["baseline"] = np.full_like(t["baseline"], np.log(rate))
        out[c] = t
    return out


def test_simulator_draws_the_causes_at_the_rates_of_their_hazards(ct, prior):
    rates = (0.02, 0.04, 0.08)  # causes in proportion 1 : 2 : 4 whenever a unit is at risk
    truth = constant_hazards(ct, prior, rates)
    rng = np.random.default_rng(1)
    counts, exposure = np.zeros(3), 0.0
    for _ in range(60):
        table, events, expo = simulate_competing(ct, truth, rng)
        counts += events.sum(axis=0)
        exposure += expo.sum()
        n = table["sbc_event"].value_counts()
        np.testing.assert_array_equal([n.get(c, 0) for c in CAUSES], events.sum(axis=0))
    expected = np.asarray(rates) * exposure  # E[D_j] = lambda_j T (the compensator)
    z = (counts - expected) / np.sqrt(expected)
    assert np.all(np.abs(z) < 4), z
    share = counts / counts.sum()
    np.testing.assert_allclose(share, np.array([1, 2, 4]) / 7, atol=0.02)


def test_simulated_events_of_each_cause_match_its_hazard(ct, prior):
    # E[D_cj - lambda_cj T_c] = 0 per cell and cause, with every effect drawn from the prior
    truth = prior[3]
    lam = np.stack(
        [np.exp(cell_log_rate(ct.templates[c], _as_posterior(ct.templates[c], truth[c]))[0])
         for c in CAUSES], axis=1,
    )  # fmt: skip
    rng = np.random.default_rng(2)
    D, T = np.zeros_like(lam), np.zeros(lam.shape[0])
    for _ in range(200):
        _, ev, ex = simulate_competing(ct, truth, rng)
        D, T = D + ev, T + ex
    interval = ct.base.cells.frame["interval"].cat.codes.to_numpy()
    for j in range(3):
        expected = np.bincount(interval, lam[:, j] * T)
        z = (np.bincount(interval, D[:, j]) - expected) / np.sqrt(np.maximum(expected, 1.0))
        assert np.all(np.abs(z) < 4), (CAUSES[j], z)


def test_pipeline_gives_each_causes_exact_statistics(ct, prior):
    rng = np.random.default_rng(3)
    for truth in prior[:4]:
        table, events, exposure = simulate_competing(ct, truth, rng)
        assert set(table["sbc_event"]) <= {"censored", *CAUSES}
        p_events, p_exposure = pipeline_cause_cells(ct, table)
        np.testing.assert_array_equal(p_events, events)
        np.testing.assert_allclose(p_exposure, exposure, rtol=1e-12, atol=1e-12)
    # a cause without any event: the others' cells as usual, none of its own
    quiet = dict(prior[0], merged=dict(prior[0]["merged"]))
    quiet["merged"]["baseline"] = prior[0]["merged"]["baseline"] - 40.0
    table, events, exposure = simulate_competing(ct, quiet, rng)
    assert events[:, 2].sum() == 0 and events.sum() > 0
    p_events, _ = pipeline_cause_cells(ct, table)
    np.testing.assert_array_equal(p_events, events)
    # no event of any cause: the pipeline refuses (the SBC then fits the direct statistics)
    silent = {c: dict(prior[0][c], baseline=prior[0][c]["baseline"] - 40.0) for c in CAUSES}
    table, events, _ = simulate_competing(ct, silent, rng)
    assert events.sum() == 0
    with pytest.raises(DataError):
        pipeline_cause_cells(ct, table)


# ------------------------------------------------------------------ ranks per cause


def test_fit_one_books_ranks_and_diagnostics_per_cause(ct, prior, config, monkeypatch):
    calls = []

    def fake_fit(config, template, compiled, truth, events, exposure, seed, rank_rng):
        j = len(calls) % 3
        calls.append((compiled, int(events.sum()), seed))
        draws = np.arange(config.rank_draws, dtype=float) + 10.0 * j
        return Fitted(
            diagnostics={"divergences": j, "treedepth_hits": 0, "max_rhat": 1.0 + j / 100,
                         "min_ess_bulk": 300.0 - j},
            ranks={q[0]: j for q in template.quantities},
            truths={q[0]: float(j) for q in template.quantities},
            loglik_truth=float(config.rank_draws) / 3 * (j + 1),
            loglik_draws=draws,
        )  # fmt: skip

    monkeypatch.setattr(competing, "_compiled", lambda config: (ct, {c: c for c in CAUSES}))
    monkeypatch.setattr(competing, "fit_and_rank", fake_fit)
    rec = fit_one_competing(config, 5, prior[5])
    assert rec["error"] is None and [c[0] for c in calls] == list(CAUSES)
    assert [c[1] for c in calls] == [rec[f"n_events:{c}"] for c in CAUSES]
    assert rec["n_events"] == sum(rec[f"n_events:{c}"] for c in CAUSES)
    assert [c[2] for c in calls] == [rec[f"fit_seed:{c}"] for c in CAUSES]
    assert len({c[2] for c in calls}) == 3  # a sampler seed per cause
    assert list(rec["ranks"]) == ct.quantities
    assert rec["ranks"]["folded:beta[era[early]]"] == 0
    assert rec["ranks"]["merged:cluster_sd"] == 2 and rec["truth"]["lost_venue:baseline_sd"] == 1.0
    # the joint log-likelihood: sum of the truths among the draws' sums paired by position
    L = config.rank_draws
    total = np.arange(L) * 3.0 + 30.0
    assert rec["ranks"][LOGLIK] == int((total < 2 * L).sum())
    assert rec["divergences"] == 3 and rec["divergences:merged"] == 2
    assert rec["max_rhat"] == pytest.approx(1.02) and rec["min_ess_bulk"] == 298.0
    assert rec["pipeline"] == "ok" and rec["n_units"] == 360
    again = fit_one_competing(config, 5, prior[5])  # seeds are per simulation
    assert again["n_events"] == rec["n_events"] and again["ranks"] == rec["ranks"]


def competing_records(n: int, rng, *, bad: str | None = None) -> list[dict]:
    labels = [f"{c}:{q}" for c in ("a", "b") for q in ("x", LOGLIK)] + [LOGLIK]
    recs = []
    for i in range(n):
        ranks = {q: int(rng.integers(0, 21)) for q in labels}
        if bad:
            ranks[bad] = 20
        recs.append({
            "sim": i, "error": None, "n_events": 12, "n_events:a": 10, "n_events:b": 2 * (i % 2),
            "pipeline": "ok", "divergences": 1, "max_rhat": 1.0, "min_ess_bulk": 500.0,
            "treedepth_hits": 0, "divergences:a": 0, "max_rhat:a": 1.0, "min_ess_bulk:a": 500.0,
            "treedepth_hits:a": 0, "divergences:b": 1, "max_rhat:b": 1.0,
            "min_ess_bulk:b": 500.0, "treedepth_hits:b": 0, "seconds": 1.0, "ranks": ranks,
        })  # fmt: skip
    return recs


def test_summary_reports_each_cause():
    config = SBCConfig(model=SPEC, sims=100, rank_draws=20)
    s = summarize(competing_records(100, np.random.default_rng(7)), config, n_rep=2000,
                  causes=("a", "b"))  # fmt: skip
    assert s["calibrated"] and set(s["causes"]) == {"a", "b"}
    a, b = s["causes"]["a"], s["causes"]["b"]
    assert a["n_quantities"] == b["n_quantities"] == 2
    assert a["smallest_ecdf_p"] == min(s["quantities"][q]["ecdf_p"] for q in ("a:x", f"a:{LOGLIK}"))
    assert a["bonferroni_p"] == min(1.0, 2 * a["smallest_ecdf_p"])
    assert b["events"] == {"min": 0, "median": 1.0, "max": 2, "n_zero": 50}
    assert a["sampling_flags"] == {} and b["sampling_flags"] == {"divergent": 100}
    assert s["sampling_flags"] == {"divergent": 100} and s["bonferroni_threshold"] == 0.05 / 5
    records = competing_records(100, np.random.default_rng(5), bad="b:x")
    bad = summarize(records, config, n_rep=2000, causes=("a", "b"))
    assert not bad["calibrated"] and bad["failing_quantities"] == ["b:x"]
    assert bad["causes"]["b"]["failing_quantities"] == ["b:x"]
    assert bad["causes"]["a"]["failing_quantities"] == []
    assert bad["causes"]["b"]["smallest_ecdf_p_quantity"] == "b:x"
    frame = ranks_frame(records)
    assert {"rank:a:x", "rank:b:x", f"rank:{LOGLIK}", "n_events:b", "divergences:b"} <= set(
        frame.columns
    )
    no_causes = summarize(competing_records(30, np.random.default_rng(6)), config, n_rep=500)
    assert "causes" not in no_causes  # the single-cause summary is unchanged


# ------------------------------------------------------------------ through Dask


@pytest.mark.fit
def test_cli_runs_competing_risks_on_dask(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "cr"
    argv = ["--model", SPEC, "--sims", "2", "--draws", "100", "--tune", "100",
            "--rank-draws", "20", "--workers", "1", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert {"summary.json", "ranks.csv", "rank_ecdf.png"} <= {p.name for p in out.iterdir()}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_sims"] == summary["n_fitted"] == 2 and summary["n_failed"] == 0
    assert summary["competing_risks"] == {"causes": list(CAUSES), "censored": "censored"}
    assert set(summary["causes"]) == set(CAUSES)
    assert len(summary["quantities"]) == 49 and summary["bonferroni_threshold"] == 0.05 / 49
    ranks = pd.read_csv(out / "ranks.csv")
    cols = [c for c in ranks.columns if c.startswith("rank:")]
    assert cols[0] == "rank:folded:beta[leader[professional]]" and cols[-1] == f"rank:{LOGLIK}"
    assert ranks[cols].ge(0).all().all() and ranks[cols].le(20).all().all()
    assert (ranks["pipeline"] == "ok").all()
    n = ranks[[f"n_events:{c}" for c in CAUSES]].sum(axis=1)
    assert (n == ranks["n_events"]).all()


@pytest.mark.slow
def test_competing_ranks_do_not_depend_on_dask(tmp_path):
    pytest.importorskip("distributed")
    small = ["--model", SPEC, "--sims", "3", "--draws", "100", "--tune", "100",
             "--rank-draws", "20", "--quiet"]  # fmt: skip
    assert main([*small, "--workers", "1", "--out", str(tmp_path / "dask")]) == 0
    assert main([*small, "--serial", "--out", str(tmp_path / "serial")]) == 0
    a = pd.read_csv(tmp_path / "dask" / "ranks.csv")
    b = pd.read_csv(tmp_path / "serial" / "ranks.csv")
    cols = [c for c in a.columns if c.startswith(("rank:", "n_events", "fit_seed"))]
    pd.testing.assert_frame_equal(a[cols], b[cols])  # seeds are per simulation
