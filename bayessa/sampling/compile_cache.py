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
import uuid
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
{extract}        logp_val, grad = kernel(x{args})
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
{extract}        (values,) = kernel(x{args})
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
    import pytensor

    from bayessa._runtime import import_nutpie

    nutpie = import_nutpie()

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

    from bayessa.sampling._numba_ptr import address_as_void_pointer

    py_func = compile_numba_function_src(
        src,
        name,
        # numba re-imports the module named here when it loads the callback from the cache
        global_env={
            "__name__": __name__, "numba": numba, "np": np, "kernel": kernel,
            "address_as_void_pointer": address_as_void_pointer, **consts,
        },
        cache_key=key,
    )  # fmt: skip
    return numba.cfunc(sig, cache=True)(py_func)


def _shared_source(template: str, shared: list, keys: dict, user_data) -> str:
    """The callback's source, reading each shared input from nutpie's ``user_data`` record.

    nutpie's record (:func:`nutpie.compile_pymc.make_user_data`) holds, as unsigned 64-bit words,
    the address, size and shape of every shared variable; ``nutpie``'s ``with_data`` rewrites
    them in place, so a cached callback that reads them serves any data of the same structure.
    Without shared inputs the source is the plain template (the cache keys of such models are
    unchanged).
    """
    if not shared:
        return template.format(extract="", args="")
    rec, base = user_data.dtype.fields["shared"]
    data_t, data_off = rec.fields["data"]
    shape_t, shape_off = rec.fields["shape"]
    lines = [
        f"        ud = numba.carray(user_data_, ({user_data.dtype.itemsize // 8},), np.uint64)\n"
    ]
    for i, var in enumerate(shared):
        key = keys[var]
        addr = (base + data_off + data_t.fields[key][1]) // 8
        first = (base + shape_off + shape_t.fields[key][1]) // 8
        shape = ", ".join(f"int(ud[{first + axis}])" for axis in range(var.type.ndim))
        dtype = f"np.{var.type.dtype}"
        lines.append(
            f"        a{i} = numba.carray(address_as_void_pointer(ud[{addr}]), ({shape},), {dtype})\n"
        )
    args = "".join(f", a{i}" for i in range(len(shared)))
    return template.format(extract="".join(lines), args=args)


def compile_model(model: Any, *, warm_key: str | None = None) -> tuple[Any, CompileInfo]:
    """Compile ``model`` for :func:`nutpie.sample`, loading the callbacks from disk when cached.

    Parameters
    ----------
    model : pymc.Model
    warm_key : str, optional
        The fit's :func:`bayessa.sampling.warm.fit_key`: also store a warm entry under it, so
        that the next fit of the same model and data loads it without building the model.

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
            compiled, cache, reason = _compile_cached(model, warm_key)
        except (ImportError, AttributeError, TypeError) as exc:  # nutpie internals moved
            compiled, cache, reason = None, "off", f"cached compilation unavailable: {exc}"
        except numba.NumbaWarning as exc:  # raised as an error in _compile_cached
            compiled, cache, reason = None, "off", f"numba cannot cache the callbacks: {exc}"
        if compiled is None:
            from bayessa._runtime import import_nutpie

            compiled = import_nutpie().compile_pymc_model(model)
    return compiled, CompileInfo(cache, reason, time.perf_counter() - t0)


def _src_key(src: str, template: str) -> str:
    """Suffix of a callback's cache key: empty for the plain template, else the source's hash."""
    if src == template.format(extract="", args=""):
        return ""
    return "_" + hashlib.sha256(src.encode()).hexdigest()[:12]


def _compile_cached(model: Any, warm_key: str | None = None) -> tuple[Any, str, str]:
    import numba
    import numpy as np
    from nutpie.compile_pymc import (
        CompiledPyMCModel,
        _make_functions,
        _prepare_dims_and_coords,
        _wrap_with_lock,
        make_user_data,
    )
    from pymc.initial_point import make_initial_point_fn
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    # As nutpie.compile_pymc_model does for the numba back end: support points, jittered.
    pymc_initial_point = make_initial_point_fn(
        model=model,
        default_strategy="support_point",
        jitter_rvs=set(model.free_RVs),
        return_transformed=True,
    )
    initial_point_fn = _wrap_with_lock(pymc_initial_point)
    n_dim, n_expanded, logp_pt, expand_pt, init_fn, shape_info, reparam = _make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=initial_point_fn,
    )
    # Shared data (pm.Data) as nutpie keeps them: read-only copies under random keys, and the
    # record of their addresses that nutpie passes to the callbacks (and rewrites in with_data).
    shared_data, shared_var_keys = {}, {}
    for var in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if var not in shared_var_keys:
            key = uuid.uuid4().hex
            shared_data[key] = np.array(var.get_value(), order="C", copy=True)
            shared_data[key].flags.writeable = False
            shared_var_keys[var] = key
    user_data = make_user_data(shared_var_keys, shared_data)
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
    logp_name = f"bayessa_logp_{version}_{logp_key}_{n_dim}"
    expand_name = f"bayessa_expand_{version}_{expand_key}_{n_dim}_{n_expanded}"
    with warnings.catch_warnings():
        # a callback numba cannot cache would be compiled in every process: use nutpie's then
        # (the cache is "off" with the reason; the tests require a hit or a miss)
        warnings.filterwarnings("error", message="Cannot cache compiled function")
        logp_src = _shared_source(_LOGP_SRC, logp_pt.get_shared(), shared_var_keys, user_data)
        expand_src = _shared_source(_EXPAND_SRC, expand_pt.get_shared(), shared_var_keys, user_data)
        logp_part = {
            "src": logp_src, "name": "bayessa_logp_callback", "consts": {"N_DIM": int(n_dim)},
            "key": logp_name + _src_key(logp_src, _LOGP_SRC),
        }  # fmt: skip
        expand_part = {
            "src": expand_src, "name": "bayessa_expand_callback",
            "consts": {"N_DIM": int(n_dim), "N_EXPANDED": int(n_expanded)},
            "key": expand_name + _src_key(expand_src, _EXPAND_SRC),
        }  # fmt: skip
        logp_cb = _callback(
            logp_src, logp_part["name"], logp_kernel, logp_part["consts"], logp_part["key"],
            logp_sig,
        )  # fmt: skip
        expand_cb = _callback(
            expand_src, expand_part["name"], expand_kernel, expand_part["consts"],
            expand_part["key"], expand_sig,
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
        shared_data=shared_data,
        shared_var_keys=shared_var_keys,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_pt,
        expand_func=expand_pt,
        reparameterized_names=reparam,
    )
    if warm_key is not None:
        try:
            _store_warm(
                warm_key, model, compiled, pymc_initial_point,
                {"logp": logp_part, "expand": expand_part},
            )  # fmt: skip
        except Exception as err:  # noqa: BLE001 - the fit goes on; the next one compiles again
            warnings.warn(f"bayessa could not store a warm start ({err})", stacklevel=2)
    return compiled, cache, ""


def _store_warm(key: str, model: Any, compiled: Any, pymc_initial_point: Any, parts: dict) -> bool:
    """Record what :func:`bayessa.sampling.warm.load_compiled` needs to rebuild ``compiled``."""
    from nutpie.compile_pymc import _rv_dict_to_flat_array_wrapper
    from pymc.initial_point import make_initial_point_fn
    from pymc.pytensorf import find_rng_nodes
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    from bayessa.sampling import warm

    names, slices, shapes = compiled.shape_info
    n_free = len(model.free_RVs)
    unjittered = make_initial_point_fn(
        model=model, default_strategy="support_point", return_transformed=True
    )
    base = _rv_dict_to_flat_array_wrapper(
        unjittered, names=list(names[:n_free]), shapes=list(shapes[:n_free])
    )(0)
    keyed = list(compiled.shared_var_keys.items())
    recipe = {
        "numba_path": str(NUMBA_CACHE_PATH),
        **parts,
        "n_dim": int(compiled.n_dim),
        "n_expanded": int(compiled.n_expanded),
        "shape_info": [
            list(names),
            [[s.start, s.stop] for s in slices],
            [[int(n) for n in sh] for sh in shapes],
        ],
        "reparameterized": list(compiled.reparameterized_names),
        "dims": {k: list(v) for k, v in compiled.dims.items()},
        "coords": {k: list(v.tolist()) for k, v in compiled.coords.items()},
        "shared": [[key, var.name, int(var.type.ndim)] for var, key in keyed],
        "init": {
            "n_rngs": len(find_rng_nodes(pymc_initial_point.__wrapped__.maker.fgraph.outputs)),
            "slices": [[int(s.start), int(s.stop)] for s in slices[:n_free]],
            "shapes": [[int(n) for n in sh] for sh in shapes[:n_free]],
        },
    }
    arrays = {
        "base": base,
        **{f"shared_{i}": compiled.shared_data[k] for i, (_, k) in enumerate(keyed)},
    }
    return warm.store_compiled(key, recipe, compiled.initial_point_func, arrays)
