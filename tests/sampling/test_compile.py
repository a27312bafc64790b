"""The compiled-model cache (bayessa.compile): same log-density, same draws, loaded from disk."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from model_helpers import random_point, small_cells, spec_for

from bayessa.model.design import build_design
from bayessa.model.pem import build_model
from bayessa.sampling.compile_cache import compile_model


def _model(seed=3, **model_kw):
    cells = small_cells(seed=seed, n=150)
    spec = spec_for("x + z + (1 | g)", baseline="rw1", **model_kw)
    return build_model(cells, build_design(cells.frame, spec.model.formula), spec)[0]


def _call_logp(compiled, x: np.ndarray) -> tuple[int, float, np.ndarray]:
    """Call the C callback nutpie's Rust sampler calls, as it calls it."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    grad = np.empty_like(x)
    logp = np.empty((), dtype=np.float64)
    dptr = ctypes.POINTER(ctypes.c_double)
    rc = compiled.compiled_logp_func.ctypes(
        ctypes.c_uint64(x.size),
        x.ctypes.data_as(dptr),
        grad.ctypes.data_as(dptr),
        logp.ctypes.data_as(dptr),
        ctypes.c_void_p(compiled.user_data.ctypes.data),
    )
    return rc, float(logp), grad


def test_callbacks_compute_the_models_logp_and_gradient():
    model = _model()
    compiled, info = compile_model(model)
    assert info.cache in ("hit", "miss"), info.reason
    logp_fn = model.compile_logp(jacobian=True)
    dlogp_fn = model.compile_dlogp(jacobian=True)
    names = [model.rvs_to_values[v].name for v in model.free_RVs]
    rng = np.random.default_rng(1)
    for _ in range(3):
        point = random_point(model, rng)
        flat = np.concatenate([np.ravel(point[n]) for n in names])
        rc, logp, grad = _call_logp(compiled, flat)
        assert rc == 0
        np.testing.assert_allclose(logp, logp_fn(point), rtol=1e-10)
        np.testing.assert_allclose(grad, dlogp_fn(point), rtol=1e-8, atol=1e-10)
    # a wrong dimension is refused, not read out of bounds
    assert _call_logp(compiled, np.zeros(flat.size + 1))[0] == -1


def test_second_compilation_loads_the_callbacks_from_disk():
    model = _model(seed=4)
    first, info1 = compile_model(model)
    second, info2 = compile_model(model)  # new callbacks, as in a new process
    assert info1.cache in ("hit", "miss")
    assert info2.cache == "hit"
    x = first.initial_point_func(1)
    np.testing.assert_array_equal(_call_logp(first, x)[2], _call_logp(second, x)[2])


def test_different_data_get_different_callbacks():
    """The key includes the graph's constants: a model on other data must not reuse a callback."""
    a, _ = compile_model(_model(seed=5))
    b, _ = compile_model(_model(seed=6))
    x = a.initial_point_func(1)
    assert x.size == b.initial_point_func(1).size
    assert _call_logp(a, x)[1] != _call_logp(b, x)[1]


@pytest.mark.fit
def test_draws_identical_to_nutpies_own_compilation():
    import nutpie
    import pytensor

    model = _model(seed=7)
    ours, info = compile_model(model)
    assert info.cache in ("hit", "miss")
    with pytensor.config.change_flags(numba__fastmath=False):  # as compile_model compiles
        theirs = nutpie.compile_pymc_model(model)
    kw = dict(draws=60, tune=60, chains=2, cores=1, seed=11, progress_bar=False)
    a = nutpie.sample(ours, **kw)
    b = nutpie.sample(theirs, **kw)
    for name in ("beta", "cluster_effect", "baseline", "cluster_sd"):
        np.testing.assert_array_equal(a.posterior[name].values, b.posterior[name].values)


def test_shared_data_are_read_from_nutpies_record_and_follow_with_data():
    """pm.Data: the cached callback reads the arrays nutpie points it to, new data included."""
    import pymc as pm

    def normal_logp(mu: float, y: np.ndarray) -> tuple[float, float]:
        # mu ~ N(0, 1), y_i ~ N(mu, 1): log density (up to nothing) and its derivative
        c = -0.5 * np.log(2 * np.pi)
        lp = c - 0.5 * mu**2 + np.sum(c - 0.5 * (y - mu) ** 2)
        return lp, -mu + np.sum(y - mu)

    y0 = np.array([0.5, 1.5, 1.0])
    with pm.Model() as model:
        y = pm.Data("y", y0)
        mu = pm.Normal("mu", 0, 1)
        pm.Normal("obs", mu, 1, observed=y)
    compiled, info = compile_model(model)
    assert info.cache in ("hit", "miss"), info.reason
    rc, lp, grad = _call_logp(compiled, np.array([0.3]))
    assert rc == 0
    np.testing.assert_allclose([lp, grad[0]], normal_logp(0.3, y0), rtol=1e-12)
    y1 = np.array([2.0, -1.0, 0.25, 4.0, 3.0])  # another length: shapes come from the record
    rc, lp, grad = _call_logp(compiled.with_data(y=y1), np.array([0.3]))
    assert rc == 0
    np.testing.assert_allclose([lp, grad[0]], normal_logp(0.3, y1), rtol=1e-12)
    again, info = compile_model(model)
    assert info.cache == "hit"


COLD_WARM_SCRIPT = """
import hashlib, json
import nutpie
from bayessa.model.preparation import prepare, resolve_spec
from bayessa.sampling.compile_cache import compile_model
from bayessa.model.pem import build_model
spec = resolve_spec(None)
p = prepare(None, spec)
model, _ = build_model(p.cells, p.design, spec)
compiled, info = compile_model(model)
dt = nutpie.sample(compiled, draws=50, tune=100, chains=2, cores=1, seed=3, progress_bar=False)
digest = hashlib.sha256(dt.posterior["beta"].values.tobytes()).hexdigest()
print(json.dumps({"cache": info.cache, "digest": digest}))
"""


@pytest.mark.slow
def test_first_and_later_processes_draw_identical_chains(tmp_path):
    """A process that compiles the model and one that loads it from the cache draw the same
    chain for the same seed (with fastmath on they differed in the last bits, then diverged)."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp_path}")
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", COLD_WARM_SCRIPT], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr[-2000:]
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert [r["cache"] for r in runs] == ["miss", "hit"]
    assert runs[0]["digest"] == runs[1]["digest"]


def test_cli_compiles_the_default_model_into_the_cache(capsys):
    from bayessa.cli.compile import main

    assert main([]) == 0
    assert main([]) == 0  # the second process-equivalent run loads it
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert "model 'partnership' compiled" in lines[1]
    assert "cache hit" in lines[1]


def test_cli_bad_spec_exits_2_with_one_message(tmp_path, capsys):
    from bayessa.cli.compile import main

    assert main(["--model", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert "missing.toml" in err and "does not exist" in err
    assert "Traceback" not in err


def test_a_callback_numba_cannot_cache_falls_back_to_nutpie(monkeypatch):
    import warnings

    import numba

    import bayessa.sampling.compile_cache as bc

    def refuse(*args, **kwargs):
        warnings.warn(
            "Cannot cache compiled function 'cb' as it uses dynamic globals",
            numba.NumbaWarning,
            stacklevel=2,
        )

    monkeypatch.setattr(bc, "_callback", refuse)
    model = _model(seed=8)
    compiled, info = bc.compile_model(model)
    assert info.cache == "off"
    assert "numba cannot cache the callbacks" in info.reason
    rc, logp, _ = _call_logp(compiled, compiled.initial_point_func(1))
    assert rc == 0 and np.isfinite(logp)


def test_a_refit_to_other_data_of_the_same_structure_loads_the_compiled_model():
    """Data enter as inputs (pm.Data): filtered rows reuse the compiled model, same draws."""
    import nutpie
    import pandas as pd
    import pytensor

    from bayessa.model.preparation import prepare, resolve_spec
    from bayessa.sampling.compile_cache import compile_model

    spec = resolve_spec("models/partnership.toml")
    full = pd.read_csv("data/sa_groups.csv")
    first = prepare(full, spec)
    compile_model(build_model(first.cells, first.design, spec, data_containers=True)[0])
    part = prepare(full[full.index % 3 != 0], spec)
    assert part.cells.n_cells != first.cells.n_cells
    model = build_model(part.cells, part.design, spec, data_containers=True)[0]
    compiled, info = compile_model(model)
    assert info.cache == "hit", info
    with pytensor.config.change_flags(numba__fastmath=False):  # as compile_model compiles
        own = nutpie.compile_pymc_model(model)
    a, b = (
        nutpie.sample(c, draws=40, tune=40, chains=1, seed=3, progress_bar=False)
        for c in (compiled, own)
    )
    assert np.array_equal(a.posterior["beta"].values, b.posterior["beta"].values)
    # and the same draws as the model with the data as constants
    const = compile_model(build_model(part.cells, part.design, spec)[0])[0]
    c = nutpie.sample(const, draws=40, tune=40, chains=1, seed=3, progress_bar=False)
    assert np.array_equal(a.posterior["beta"].values, c.posterior["beta"].values)
