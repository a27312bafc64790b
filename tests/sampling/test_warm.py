"""Warm starts (bayessa.sampling.warm): a fit's compiled model loaded by its inputs, same draws."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from model_helpers import small_cells, spec_for

from bayessa.model.design import build_design
from bayessa.model.pem import build_model
from bayessa.sampling import warm
from bayessa.sampling.compile_cache import compile_model


@pytest.fixture
def warm_root(tmp_path, monkeypatch):
    """Warm entries in a folder of this test (the numba cache stays PyTensor's)."""
    import pytensor  # noqa: F401 - reads its flags now, so its own cache stays where it is

    base = tmp_path / "compiledir"
    monkeypatch.setenv("PYTENSOR_FLAGS", f"base_compiledir={base}")
    assert warm.warm_dir() == base / "bayessa-warm"
    return base / "bayessa-warm"


def _inputs(seed=3, formula="x + z + (1 | g)", **model_kw):
    cells = small_cells(seed=seed, n=150)
    spec = spec_for(formula, baseline="rw1", **model_kw)
    return cells, build_design(cells.frame, spec.model.formula), spec


def test_key_follows_every_input_of_the_model():
    cells, design, spec = _inputs()
    key = warm.fit_key(cells, design, spec, data_containers=True)
    assert key == warm.fit_key(cells, design, spec, data_containers=True)  # deterministic
    other_data = _inputs(seed=4)
    other_prior = dataclasses.replace(
        spec, priors={**spec.priors, "cluster_sd": spec.priors["baseline_smoothing"]}
    )
    assert len({
        key,
        warm.fit_key(cells, design, spec, data_containers=False),
        warm.fit_key(*other_data, data_containers=True),
        warm.fit_key(*_inputs(formula="x + (1 | g)"), data_containers=True),
        warm.fit_key(cells, design, other_prior, data_containers=True),
        warm.fit_key(*_inputs(cluster_parameterization="centered"), data_containers=True),
        warm.fit_key(cells, design, spec, data_containers=True, center=np.zeros(3)),
    }) == 7  # fmt: skip


def test_key_covers_the_source_of_every_module_that_builds_the_graph():
    """A change to any model-building module must change the key (a stale graph was loaded once
    when random.py changed and only pem.py was hashed)."""
    import ast
    from pathlib import Path

    root = Path(warm.__file__).resolve().parent.parent
    seen, todo = set(), ["model/pem.py"]
    data_only = {"model/design.py", "model/spec.py", "model/numeric.py", "model/cells.py"}
    while todo:  # modules pem.py imports from bayessa.model, transitively (also inside functions)
        rel = todo.pop()
        seen.add(rel)
        for node in ast.walk(ast.parse((root / rel).read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "bayessa.model."
            ):
                dep = node.module.removeprefix("bayessa.").replace(".", "/") + ".py"
                if dep not in seen and dep not in data_only:
                    todo.append(dep)
    assert seen <= set(warm._SOURCES), sorted(seen - set(warm._SOURCES))
    assert {"model/random.py", "model/smooth.py", "model/priors.py"} <= seen


def test_switched_off_with_pytensors_numba_cache(monkeypatch):
    monkeypatch.setenv("PYTENSOR_FLAGS", "numba__cache=False")
    assert warm.warm_dir() is None
    assert warm.load_compiled("0" * 32) is None


def _sample(compiled, seed=11):
    import nutpie

    from bayessa.sampling.trace import trace_to_tree

    raw = nutpie.sample(
        compiled, draws=40, tune=40, chains=2, cores=1, seed=seed, progress_bar=False,
        return_raw_trace=True,
    )  # fmt: skip
    return trace_to_tree(
        raw, unconstrained_names=compiled.reparameterized_names, coords=compiled.coords
    )


@pytest.mark.fit
@pytest.mark.parametrize("inputs", [True, False], ids=["data-as-inputs", "data-as-constants"])
def test_warm_entry_samples_exactly_as_the_full_compilation(warm_root, inputs):
    cells, design, spec = _inputs(seed=8 if inputs else 9)
    key = warm.fit_key(cells, design, spec, data_containers=inputs)
    assert warm.load_compiled(key) is None  # nothing stored yet
    model = build_model(cells, design, spec, data_containers=inputs)[0]
    full, info = compile_model(model, warm_key=key)
    assert info.cache in ("hit", "miss"), info.reason
    assert (warm_root / key / "entry.json").is_file()
    loaded = warm.load_compiled(key)
    assert loaded is not None and loaded.logp_func is None  # no PyTensor function rebuilt
    for seed in (0, 5, 2**40 + 1):  # PyMC's jittered initial points, reproduced in NumPy
        np.testing.assert_array_equal(
            loaded.initial_point_func(seed), full.initial_point_func(seed)
        )
    a, b = _sample(full), _sample(loaded)
    for group in ("posterior", "sample_stats"):
        for name, var in a[group].dataset.data_vars.items():
            np.testing.assert_array_equal(var.values, b[group].dataset[name].values, err_msg=name)
    assert list(loaded.coords) == list(full.coords)


def test_unreadable_or_stale_entries_fall_back(warm_root):
    bad = warm_root / ("f" * 32)
    bad.mkdir(parents=True)
    (bad / "entry.json").write_text("{not json")
    assert warm.load_compiled(bad.name) is None
    # a well-formed entry whose callbacks numba's cache does not hold: numba must not compile
    # the stand-in kernel; the entry is unusable and the fit takes the full path
    entry = {
        "numba_path": str(warm_root), "n_dim": 1, "n_expanded": 1,
        "logp": {"src": "def f(dim, x_, out_, logp_, user_data_):\n    return kernel(dim)\n",
                 "name": "f", "consts": {}, "key": "bayessa_test_absent_logp"},
        "expand": {"src": "def g(dim, e, x_, out_, user_data_):\n    return kernel(dim)\n",
                   "name": "g", "consts": {}, "key": "bayessa_test_absent_expand"},
    }  # fmt: skip
    (bad / "entry.json").write_text(json.dumps(entry))
    np.savez(bad / "arrays.npz", base=np.zeros(1))
    assert warm.load_compiled(bad.name) is None


@pytest.mark.fit
def test_a_refit_is_warm_and_draws_the_same_chains(warm_root, tmp_path):
    """Through bayessa.fit: the second fit of the same data and spec loads the warm entry."""
    import bayessa

    rng = np.random.default_rng(12)
    table = tmp_path / "units.csv"
    n = 120
    import pandas as pd

    pd.DataFrame({
        "id": np.arange(n), "t": rng.exponential(3, n) + 0.01, "d": rng.integers(0, 2, n),
        "x": rng.choice(["a", "b"], n), "g": rng.choice(["k1", "k2", "k3", "k4"], n),
    }).to_csv(table, index=False)  # fmt: skip
    kw = dict(
        formula="x + (1 | g)", time="t", event="d", id="id",
        draws=50, tune=50, chains=2, seed=4, progress=False,
    )  # fmt: skip
    from bayessa.sampling import nuts

    first = bayessa.fit(table, **kw)
    nuts._LAST.clear()  # as a new process: nothing compiled in memory
    second = bayessa.fit(table, **kw)
    t1 = json.loads(first.idata.attrs["bayessa_timings"])
    t2 = json.loads(second.idata.attrs["bayessa_timings"])
    assert t1["compile_cache"] in ("hit", "miss") and t2["compile_cache"] == "warm"
    assert t2["build_s"] == 0.0
    for name in ("beta", "baseline", "cluster_effect"):
        np.testing.assert_array_equal(
            first.idata.posterior[name].values, second.idata.posterior[name].values
        )


WARM_PROCESS = """
import json, sys
import bayessa
r = bayessa.fit(progress=False, log_likelihood=False, draws=30, tune=30, chains=2)
t = json.loads(r.idata.attrs["bayessa_timings"])
print(json.dumps({"cache": t["compile_cache"], "pymc": "pymc" in sys.modules,
                  "arviz_plots": "arviz_plots" in sys.modules}))
"""


@pytest.mark.fit
def test_a_warm_fit_imports_neither_pymc_nor_arviz_plots():
    """The point of a warm start: a later process fits without PyMC or ArviZ's plotting.

    (PyTensor itself is imported: numba's cache, unpickling the callbacks, imports the modules
    of PyTensor's compiled helpers they link to.)

    Uses the machine's own compile directory (``make`` compiled the default model there), so
    the first process is a cache hit or already warm, and the second is warm.
    """
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", WARM_PROCESS], capture_output=True, text=True, check=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        for _ in range(2)
    ]
    assert runs[0]["cache"] in ("miss", "hit", "warm")
    assert runs[1] == {"cache": "warm", "pymc": False, "arviz_plots": False}


@pytest.mark.fit
def test_bayessa_compile_leaves_the_first_fit_warm(warm_root, capsys):
    """``make`` runs ``python -m bayessa.compile``: it stores the default fit's warm entry too."""
    from bayessa.api.pipeline import data_as_inputs
    from bayessa.cli.compile import main as compile_main
    from bayessa.model.preparation import prepare, resolve_spec

    assert compile_main([]) == 0
    spec = resolve_spec(None)
    p = prepare(None, spec)
    key = warm.fit_key(p.cells, p.design, p.spec, data_containers=data_as_inputs(p.cells))
    assert (warm_root / key / "entry.json").is_file()
    assert warm.load_compiled(key) is not None
