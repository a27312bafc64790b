"""PSIS-LOO with the unit as the observation and ``python -m bayessa.compare`` (no sampling)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from fakes import fake_run
from scipy.special import logsumexp

from bayessa.checks import elpd as compare
from bayessa.cli import compare as compare_cli
from bayessa.errors import SpecError


def _loglik_tree(ll_mean, *, noise=1e-3, draws=300, units=None, seed=0):
    """A DataTree whose per-unit log-likelihood barely varies over the draws."""
    rng = np.random.default_rng(seed)
    n = len(ll_mean)
    units = units or [f"u{i}" for i in range(n)]
    ll = np.asarray(ll_mean) + noise * rng.normal(size=(2, draws, n))
    dt = xr.DataTree()
    dt["posterior"] = xr.Dataset({"a": (("chain", "draw"), rng.normal(size=(2, draws)))})
    dt["log_likelihood"] = xr.Dataset({"time": (("chain", "draw", "unit"), ll)},
                                      coords={"unit": units})  # fmt: skip
    dt["observed_data"] = xr.Dataset(
        {"time": ("unit", np.arange(1.0, n + 1))}, coords={"unit": units}
    )
    dt["constant_data"] = xr.Dataset(
        {"time": ("unit", np.ones(n, np.int8))}, coords={"unit": units}
    )
    return dt, ll


def test_loo_matches_importance_sampling_by_hand():
    """With nearly constant weights PSIS equals plain importance sampling:
    elpd_i = -log mean_s exp(-ll_si), p_loo = lppd - elpd."""
    dt, ll = _loglik_tree(np.log([0.5, 0.2, 0.9, 0.05]))
    res = compare.loo(dt, name="m")
    flat = ll.reshape(-1, ll.shape[-1])
    S = flat.shape[0]
    elpd_i = -(logsumexp(-flat, axis=0) - np.log(S))
    lppd = logsumexp(flat, axis=0) - np.log(S)
    np.testing.assert_allclose(res.elpd, elpd_i.sum(), rtol=1e-6)
    np.testing.assert_allclose(res.p, (lppd - elpd_i).sum(), atol=1e-7)  # smoothing: ~2e-8
    assert res.n_units == 4 and res.n_samples == S and res.units == ["u0", "u1", "u2", "u3"]
    np.testing.assert_allclose(res.good_k, min(1 - 1 / np.log10(S), 0.7))
    kt = res.k_table()
    assert kt["count"].sum() == 4 and kt["count"].iloc[0] == 4
    assert "elpd_loo" in res.summary() and res.to_dict()["n_units"] == 4


def test_high_pareto_k_is_reported_as_data_not_warned():
    """A unit whose likelihood ratio has a heavy right tail over the draws gets a large k."""
    dt, _ = _loglik_tree([-1.0, -1.0, -1.0])
    ll = dt["log_likelihood"].dataset["time"].values.copy()
    ll[..., 1] = -np.exp(np.random.default_rng(3).normal(0, 1.5, ll.shape[:2]))
    dt["log_likelihood"] = dt["log_likelihood"].dataset.assign(time=(("chain", "draw", "unit"), ll))
    res = compare.loo(dt)  # pytest turns warnings into errors: none may escape
    assert res.high_k().index[0] == "u1" and res.k_table()["count"].iloc[0] == 2
    assert "u1" in res.summary()


def test_compare_two_runs_and_refuse_different_units():
    a, b = (
        _loglik_tree(np.log([0.5, 0.2, 0.9]))[0],
        _loglik_tree(np.log([0.4, 0.1, 0.9]), seed=1)[0],
    )
    table = compare.compare({"a": a, "b": b})
    assert list(table.index) == ["a", "b"] and table.loc["a", "rank"] == 0
    assert table.loc["b", "elpd_diff"] < 0
    other = _loglik_tree(np.log([0.5, 0.2, 0.9]), units=["x", "y", "z"])[0]
    with pytest.raises(SpecError, match="not fitted to the same units"):
        compare.compare({"a": a, "c": other})
    with pytest.raises(SpecError, match="at least two"):
        compare.compare({"a": a})


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    one = fake_run(draws=60, seed=1).save(root / "one", report=False)
    two = fake_run(draws=60, seed=2, formula="leader + era + setting + (1 | county)")
    noll = fake_run(draws=20, log_likelihood=False).save(root / "noll", report=False)
    return one, two.save(root / "two", report=False), noll


def test_cli_prints_loo_and_the_comparison_table(saved_runs, capsys):
    one, two, _ = saved_runs
    assert compare_cli.main([str(one), str(two)]) == 0
    out = capsys.readouterr().out
    assert "one: PSIS-LOO with the unit as the observation (360 units" in out
    assert "Pareto k" in out and "Model comparison" in out and "elpd_diff" in out


@pytest.mark.parametrize(
    ("which", "message"),
    [("notrun", "not a bayessa run directory"), ("noll", "no per-unit log-likelihood")],
)
def test_cli_bad_runs_exit_2_with_a_message(saved_runs, tmp_path, capsys, which, message):
    one, _, noll = saved_runs
    other = noll if which == "noll" else tmp_path
    assert compare_cli.main([str(one), str(other)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_same_folder_names_are_told_apart(tmp_path):
    assert compare_cli._names(["a/run", "b/run", "c"]) == ["a/run", "b/run", "c"]
