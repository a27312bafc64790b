"""Compile a PyMC model for nutpie, re-using compiled models across processes.

Small fits are compile-bound: for the default model on the bundled data, nutpie's own
:func:`nutpie.compile_pymc_model` spent ~7.6 s of ~9.8 s wrapping the log-density and its gradient
in two ``numba.cfunc`` callbacks, in every process, because those callbacks cannot be cached
("uses dynamic globals"); the PyTensor kernels they call were already cached on disk by PyTensor.

:func:`compile_model` builds the same PyTensor functions as nutpie (nutpie's ``_make_functions``)
and wraps them in callbacks generated from source and registered with PyTensor's numba cache under
a key made of the kernel's own cache key (a hash of the graph, constants included), the wrapper
source and the versions involved. The second and later processes load the callbacks from
PyTensor's compile directory (``~/.pytensor/numba`` by default) instead of compiling them. The
callbacks call the very same kernels, so the log-density, its gradient and the draws for a given
seed are identical to nutpie's (tested).

Kernels are compiled without numba's ``fastmath`` flags (PyTensor's default turns them on). With
them, a kernel compiled in this process and the same kernel loaded from the cache differed in the
last bits (about 1e-14 on the log-density), so the first fit of a model drew a different chain
from every later fit with the same seed; without them the two are bit-identical and sampling was
no slower (1.35 s vs 1.7-1.9 s for the default model). Exact IEEE arithmetic is the better default
for a statistics package anyway.

``python -m bayessa.compile [--model SPEC] [--data PATH]`` compiles a spec's model (default: the
default analysis of the bundled data) without sampling, so that later fits load it; ``make``'s
one-time set-up runs it, which also compiles the building blocks every bayessa model shares
(most of a first fit's ~45 s), and it prepares the workers of a cluster before a Dask SBC run.

The cache follows PyTensor's own switch: with ``PYTENSOR_FLAGS=numba__cache=False``, or for a model
whose graph PyTensor cannot key, or one with shared data (``pm.Data``, which nutpie passes
through pointers at run time), this falls back to :func:`nutpie.compile_pymc_model`. Deleting the
compile directory clears the cache.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass
from typing import Any

__all__ = ["CompileInfo", "compile_model"]

PROG = "python -m bayessa.compile"

#: Bump when the generated callbacks change meaning (their source is hashed into the key too).
_WRAPPER_VERSION = "1"

_LOGP_SRC = """
def bayessa_logp_callback(dim, x_, out_, logp_, user_data_):
    if dim != N_DIM:
        return -1
    try:
        x = numba.carray(x_, (N_DIM,))
        out = numba.carray(out_, (N_DIM,))
        logp = numba.carray(logp_, ())
        logp_val, grad = kernel(x)
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""

_EXPAND_SRC = """
def bayessa_expand_callback(dim, expanded, x_, out_, user_data_):
    if dim != N_DIM:
        return -1
    if expanded != N_EXPANDED:
        return -1
    try:
        x = numba.carray(x_, (N_DIM,))
        out = numba.carray(out_, (N_EXPANDED,))
        (values,) = kernel(x)
        out[...] = values
    except Exception:
        return -2
    return 0
"""


@dataclass(frozen=True)
class CompileInfo:
    """How a model was compiled, for the run's manifest.

    Parameters
    ----------
    cache : str
        ``"hit"`` (both callbacks loaded from disk), ``"miss"`` (compiled and stored),
        ``"partial"`` or ``"off"`` (nutpie's own compilation; see ``reason``).
    reason : str
        Why the cache was off, or empty.
    seconds : float
        Wall time of the compilation.
    """

    cache: str
    reason: str
    seconds: float


def _versions_key() -> str:
    import numba
    import nutpie
    import pytensor

    src = "\n".join(
        [_WRAPPER_VERSION, _LOGP_SRC, _EXPAND_SRC, nutpie.__version__, numba.__version__,
         pytensor.__version__]
    )  # fmt: skip
    return hashlib.sha256(src.encode()).hexdigest()[:16]


def _callback(src: str, name: str, kernel: Any, consts: dict[str, int], key: str, sig: Any):
    """A ``numba.cfunc`` from generated source, cached on disk under ``key``."""
    import numba
    import numpy as np
    from pytensor.link.numba.cache import compile_numba_function_src

    py_func = compile_numba_function_src(
        src,
        name,
        # numba re-imports the module named here when it loads the callback from the cache
        global_env={"__name__": __name__, "numba": numba, "np": np, "kernel": kernel, **consts},
        cache_key=key,
    )
    return numba.cfunc(sig, cache=True)(py_func)


def compile_model(model: Any) -> tuple[Any, CompileInfo]:
    """Compile ``model`` for :func:`nutpie.sample`, loading the callbacks from disk when cached.

    Parameters
    ----------
    model : pymc.Model

    Returns
    -------
    compiled : nutpie.compile_pymc.CompiledPyMCModel
        What :func:`nutpie.compile_pymc_model` returns (same initial points, with jitter),
        compiled without ``fastmath``.
    info : CompileInfo
    """
    import numba
    import pytensor

    t0 = time.perf_counter()
    with pytensor.config.change_flags(numba__fastmath=False):
        try:
            compiled, cache, reason = _compile_cached(model)
        except (ImportError, AttributeError, TypeError) as exc:  # nutpie internals moved
            compiled, cache, reason = None, "off", f"cached compilation unavailable: {exc}"
        except numba.NumbaWarning as exc:  # raised as an error in _compile_cached
            compiled, cache, reason = None, "off", f"numba cannot cache the callbacks: {exc}"
        if compiled is None:
            import nutpie

            compiled = nutpie.compile_pymc_model(model)
    return compiled, CompileInfo(cache, reason, time.perf_counter() - t0)


def _compile_cached(model: Any) -> tuple[Any, str, str]:
    import numba
    from nutpie.compile_pymc import (
        CompiledPyMCModel,
        _make_functions,
        _prepare_dims_and_coords,
        _wrap_with_lock,
        make_user_data,
    )
    from pymc.initial_point import make_initial_point_fn
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    if model.data_vars:  # decided before building anything nutpie's fallback would build again
        return None, "off", "the model has shared data (pm.Data)"
    # As nutpie.compile_pymc_model does for the numba back end: support points, jittered.
    initial_point_fn = _wrap_with_lock(
        make_initial_point_fn(
            model=model,
            default_strategy="support_point",
            jitter_rvs=set(model.free_RVs),
            return_transformed=True,
        )
    )
    n_dim, n_expanded, logp_pt, expand_pt, init_fn, shape_info, reparam = _make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=initial_point_fn,
    )
    if logp_pt.get_shared() or expand_pt.get_shared():  # shared variables of another origin
        return None, "off", "the model has shared data (pm.Data)"
    logp_kernel, expand_kernel = logp_pt.vm.jit_fn, expand_pt.vm.jit_fn
    logp_key = CACHED_SRC_FUNCTIONS.get(logp_kernel.py_func)
    expand_key = CACHED_SRC_FUNCTIONS.get(expand_kernel.py_func)
    if logp_key is None or expand_key is None:
        return None, "off", "PyTensor's numba cache is off or cannot key this graph"

    ptr = numba.types.CPointer(numba.types.double)
    logp_sig = numba.types.int64(numba.types.uint64, ptr, ptr, ptr, numba.types.voidptr)
    expand_sig = numba.types.int64(
        numba.types.uint64, numba.types.uint64, ptr, ptr, numba.types.voidptr
    )
    version = _versions_key()
    with warnings.catch_warnings():
        # a callback numba cannot cache would be compiled in every process: use nutpie's then
        # (the cache is "off" with the reason; the tests require a hit or a miss)
        warnings.filterwarnings("error", message="Cannot cache compiled function")
        logp_cb = _callback(
            _LOGP_SRC, "bayessa_logp_callback", logp_kernel, {"N_DIM": n_dim},
            f"bayessa_logp_{version}_{logp_key}_{n_dim}", logp_sig,
        )  # fmt: skip
        expand_cb = _callback(
            _EXPAND_SRC, "bayessa_expand_callback", expand_kernel,
            {"N_DIM": n_dim, "N_EXPANDED": n_expanded},
            f"bayessa_expand_{version}_{expand_key}_{n_dim}_{n_expanded}", expand_sig,
        )  # fmt: skip
    hits = logp_cb.cache_hits + expand_cb.cache_hits
    cache = "hit" if hits == 2 else "miss" if hits == 0 else "partial"

    dims, coords = _prepare_dims_and_coords(model, shape_info, reparam)
    compiled = CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_cb,
        compiled_expand_func=expand_cb,
        initial_point_func=init_fn,
        shared_data={},
        shared_var_keys={},
        user_data=make_user_data({}, {}),
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_pt,
        expand_func=expand_pt,
        reparameterized_names=reparam,
    )
    return compiled, cache, ""
