"""The nutpie internals bayessa.sampling.compile_cache builds on: fail loudly when they change.

bayessa's compile cache builds nutpie's ``CompiledPyMCModel`` from nutpie's private helpers
(``nutpie.compile_pymc``), so pyproject.toml pins nutpie to the tested minor series. When a new
nutpie changes any of them, this test names what changed; update compile_cache.py (and the pin)
together, or the cache falls back to nutpie's own compilation at best and fails at worst.
"""

from __future__ import annotations

import dataclasses
import inspect
from importlib.metadata import requires, version

import pytest

nutpie = pytest.importorskip("nutpie")
from nutpie import compile_pymc  # noqa: E402

USED = ("CompiledPyMCModel", "_make_functions", "_prepare_dims_and_coords", "_wrap_with_lock",
        "make_user_data")  # fmt: skip


def test_the_installed_nutpie_is_inside_the_pinned_range():
    from packaging.requirements import Requirement

    pin = next(Requirement(r) for r in requires("bayessa") if r.startswith("nutpie"))
    assert any(s.operator == "<" for s in pin.specifier), f"nutpie needs an upper bound: {pin}"
    assert pin.specifier.contains(version("nutpie")), f"nutpie {version('nutpie')} vs {pin}"


def test_the_private_helpers_exist():
    missing = [name for name in USED if not hasattr(compile_pymc, name)]
    assert not missing, f"nutpie {nutpie.__version__} no longer has {missing}"


def test_make_functions_takes_the_arguments_we_pass():
    params = inspect.signature(compile_pymc._make_functions).parameters
    for name in ("model", "mode", "compute_grad", "join_expanded", "pymc_initial_point_fn"):
        assert name in params, f"_make_functions lost '{name}': {list(params)}"
    required = {
        n for n, p in params.items() if p.default is inspect.Parameter.empty and n != "model"
    }
    assert required <= {"mode", "compute_grad", "join_expanded", "pymc_initial_point_fn"}


def test_compiled_model_has_the_fields_we_set():
    fields = {f.name for f in dataclasses.fields(compile_pymc.CompiledPyMCModel)}
    ours = {"_n_dim", "dims", "_coords", "_shapes", "compiled_logp_func", "compiled_expand_func",
            "initial_point_func", "shared_data", "shared_var_keys", "user_data", "n_expanded",
            "shape_info", "logp_func", "expand_func", "reparameterized_names"}  # fmt: skip
    assert ours <= fields, f"CompiledPyMCModel lost {sorted(ours - fields)}"
    required = {
        f.name
        for f in dataclasses.fields(compile_pymc.CompiledPyMCModel)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert required <= ours, f"CompiledPyMCModel needs fields we do not set: {required - ours}"


def test_helper_signatures():
    sig = lambda f: list(inspect.signature(f).parameters)  # noqa: E731
    assert sig(compile_pymc.make_user_data) == ["shared_var_keys", "shared_data"]
    assert sig(compile_pymc._prepare_dims_and_coords) == [
        "model", "shape_info", "reparameterized_names"
    ]  # fmt: skip
    assert len(sig(compile_pymc._wrap_with_lock)) == 1


def test_pytensor_keeps_its_numba_cache_registry():
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    assert hasattr(CACHED_SRC_FUNCTIONS, "get")


def test_auto_adaptation_is_low_rank_for_small_models_and_diagonal_above_128_parameters():
    from bayessa.sampling.nuts import LOW_RANK_MAX_PARAMETERS, choose_adaptation

    assert choose_adaptation("auto", LOW_RANK_MAX_PARAMETERS)[0] == "low_rank"
    chosen, why = choose_adaptation("auto", LOW_RANK_MAX_PARAMETERS + 1)
    assert chosen == "diag" and "129 parameters > 128" in why
    assert choose_adaptation("low_rank", 500)[0] == "low_rank"  # as set
    assert choose_adaptation("diag", 3)[0] == "diag"


@pytest.mark.fit
def test_the_fit_records_the_adaptation_it_used():
    import json

    import numpy as np
    import pandas as pd

    import bayessa

    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({"t": rng.exponential(3, n), "d": rng.integers(0, 2, n),
                       "g": [f"c{i}" for i in rng.integers(0, 150, n)]})  # fmt: skip
    res = bayessa.fit(df, time="t", event="d", formula="(1 | g)", cuts=[0, 2, np.inf],
                      draws=100, tune=100, chains=1, progress=False, ess=0)  # fmt: skip
    timings = json.loads(res.idata.attrs["bayessa_timings"])
    assert timings["adaptation"] == "diag" and "parameters > 128" in timings["adaptation_reason"]
