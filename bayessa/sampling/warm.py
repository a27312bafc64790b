"""Warm fits: the compiled model of a fit, found by the fit's inputs and loaded without PyMC.

A cache hit of :mod:`bayessa.sampling.compile_cache` still builds the PyMC model and lets
PyTensor rewrite its graph to find the compiled kernels' keys: for the default model on the
bundled data that was import PyMC 0.3 s + build 0.4 s + graph rewriting 1.0-1.4 s, every fit, to
load two callbacks. Here the second and later fits of the same model *and data* skip all three:

* :func:`fit_key` hashes everything :func:`bayessa.model.pem.build_model` reads -- the cells,
  the design, the spec's model, priors and time unit, the cut points, the data-as-inputs switch
  and the centring -- with the source of the modules that turn them into a compiled model and the
  versions of NumPy, PyMC, PyTensor, numba and nutpie.
* :func:`store_compiled` (called after a full compilation) writes, under that key, what nutpie needs to
  sample: the two callbacks' source and numba cache keys, the variables' names, shapes and
  coordinates, the shared data and the initial-point recipe.
* :func:`load_compiled` rebuilds nutpie's compiled model from it: the callbacks come from numba's cache
  (the very machine code the full path loads), the initial points from NumPy.

The initial points are PyMC's (support point plus U(-1, 1) jitter on the unconstrained scale,
seeded as :func:`pymc.pytensorf.reseed_rngs` seeds them); :func:`store_compiled` records which of PyMC's
random generators jitters which variable and writes the entry only if the recipe reproduces
PyMC's initial points exactly at several seeds. So a warm fit draws exactly the same chains as
the cold fit with the same seed (tested).

Entries live in ``<PyTensor base_compiledir>/bayessa-warm/<key>/`` (``~/.pytensor`` unless
``PYTENSOR_FLAGS`` sets ``base_compiledir``); ``numba__cache=False`` turns them off; deleting the
folder clears them. Anything missing or stale falls back to the full path.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["fit_key", "load_compiled", "store_compiled", "warm_dir"]

#: Bump when an entry's layout or meaning changes.
_ENTRY_VERSION = "1"
#: Modules whose code decides the compiled model (hashed into every key).
#: The code that builds the model graph (its data are hashed separately); see the test that
#: every module ``model/pem.py`` builds with is listed.
_SOURCES = (
    "model/pem.py", "model/units.py", "model/random.py", "model/smooth.py", "model/priors.py",
    "model/patterns.py", "model/intervals.py",
    "sampling/compile_cache.py", "sampling/warm.py",
)  # fmt: skip
_PACKAGES = ("numpy", "pymc", "pytensor", "numba", "nutpie")


def _flags() -> dict[str, str]:
    items = [
        kv.split("=", 1) for kv in os.environ.get("PYTENSOR_FLAGS", "").split(",") if "=" in kv
    ]
    return {k.strip().removeprefix("config."): v.strip() for k, v in items}


def warm_dir() -> Path | None:
    """Where warm entries live, or None when PyTensor's numba cache is switched off.

    Returns
    -------
    Path or None
        ``<base_compiledir>/bayessa-warm``.
    """
    flags = _flags()
    if flags.get("numba__cache", "True").lower() in ("false", "0", "no"):
        return None
    base = flags.get("base_compiledir")
    return (Path(base).expanduser() if base else Path.home() / ".pytensor") / "bayessa-warm"


def _update(h, part: Any) -> None:
    """Feed ``part`` into the hash, unambiguously (type tags and lengths)."""
    if isinstance(part, np.ndarray):
        arr = np.ascontiguousarray(part)
        if arr.dtype == object:
            arr = arr.astype(str)
        h.update(f"nd|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    elif isinstance(part, dict):
        h.update(f"dict|{len(part)}|".encode())
        for k, v in part.items():
            _update(h, k)
            _update(h, v)
    elif isinstance(part, list | tuple):
        h.update(f"seq|{len(part)}|".encode())
        for v in part:
            _update(h, v)
    else:
        text = repr(part).encode()
        h.update(f"{type(part).__name__}|{len(text)}|".encode())
        h.update(text)


def fit_key(cells, design, spec, *, data_containers: bool, center=None) -> str:
    """The key of a fit's compiled model: a hash of everything that decides it.

    Parameters
    ----------
    cells : Cells
    design : Design
    spec : Spec
    data_containers : bool
        Whether the data enter the model as inputs (``build_model(data_containers=...)``).
    center : array, optional
        The centring passed to ``build_model``.

    Returns
    -------
    str
        A hex digest.
    """
    h = hashlib.sha256(f"bayessa-warm|{_ENTRY_VERSION}|".encode())
    root = Path(__file__).resolve().parent.parent
    for rel in _SOURCES:
        _update(h, (root / rel).read_bytes().decode())
    for pkg in _PACKAGES:
        try:
            _update(h, (pkg, version(pkg)))
        except PackageNotFoundError:
            _update(h, (pkg, None))
    f = cells.frame
    columns = {}
    for name in f.columns:
        col = f[name]
        if hasattr(col, "cat"):
            columns[name] = (col.cat.codes.to_numpy(), [str(c) for c in col.cat.categories])
        else:
            columns[name] = col.to_numpy()
    random = [(r.name, r.codes, [str(v) for v in r.levels], list(r.slopes), r.Z)
              for r in design.random]  # fmt: skip
    _update(h, columns)
    _update(h, np.asarray(cells.pieces.cuts, dtype=float))
    if cells.interval_cell is not None:  # the (L, R] terms are constants of the model
        ic = cells.pieces.interval_frame["exposure"].to_numpy()
        _update(h, (cells.interval_cell, ic, np.asarray(cells.pieces.interval_unit)))
    _update(h, (design.X, list(design.coef_names), list(design.term_of_coef), random))
    _update(h, (design.formula, list(design.variables)))
    _update(h, (repr(spec.model), repr(spec.priors), spec.data.time_unit, data_containers))
    _update(h, None if center is None else np.asarray(center, dtype=float))
    return h.hexdigest()[:32]


# ---------------------------------------------------------------- storing


def store_compiled(
    key: str, recipe: dict, initial_point: Any, arrays: dict[str, np.ndarray]
) -> bool:
    """Write a warm entry, if its initial points reproduce PyMC's exactly.

    Parameters
    ----------
    key : str
        :func:`fit_key` of the fit.
    recipe : dict
        JSON-ready description of the compiled model (see :mod:`bayessa.sampling.compile_cache`).
    initial_point : callable
        nutpie's initial-point function of the compiled model (seed -> flat array).
    arrays : dict
        ``base`` (the un-jittered initial point) and the shared data, by name.

    Returns
    -------
    bool
        Whether the entry was written.
    """
    root = warm_dir()
    if root is None:
        return False
    recipe = dict(recipe)
    recipe["init"] = _jitter_recipe(recipe["init"], initial_point, arrays["base"])
    if recipe["init"] is None:
        return False
    target = root / key
    tmp = root / f".{key}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        np.savez(tmp / "arrays.npz", **arrays)
        (tmp / "entry.json").write_text(json.dumps(recipe, default=_plain))
        if not target.exists():  # another process may have stored the same entry meanwhile
            os.replace(tmp, target)
    except OSError:
        return False
    finally:
        if tmp.exists():
            for p in tmp.iterdir():
                p.unlink()
            tmp.rmdir()
    return True


def _plain(obj: Any) -> Any:
    """JSON for NumPy scalars (shape entries, counts)."""
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _jitter_recipe(init: dict, initial_point, base: np.ndarray) -> dict | None:
    """Which of PyMC's generators jitters each variable, checked against PyMC at several seeds.

    PyMC seeds its ``n_rngs`` generators as ``PCG64(s)`` for ``s`` in
    ``SeedSequence(seed).spawn(n_rngs)`` and adds ``Generator.uniform(-1, 1, shape)`` to each
    variable's support point. The generator of each variable is found at one seed and the whole
    recipe verified at others; None when PyMC's points cannot be reproduced.
    """
    n = init["n_rngs"]
    slices = [slice(a, b) for a, b in init["slices"]]
    shapes = [tuple(s) for s in init["shapes"]]
    first = np.asarray(initial_point(0))
    spawn = np.random.SeedSequence(0).spawn(n)
    index = []
    for sl, shape in zip(slices, shapes, strict=True):
        found = None
        if np.array_equal(first[sl], base[sl]):
            index.append(None)  # not jittered
            continue
        for k in range(n):
            u = np.random.Generator(np.random.PCG64(spawn[k])).uniform(-1, 1, size=shape)
            if np.array_equal(first[sl], (base[sl].reshape(shape) + u).ravel()):
                found = k
                break
        if found is None:
            return None
        index.append(found)
    out = dict(init, rng_index=index)
    check = _initial_point_fn(out, base)
    for seed in (1, 7, 2**32 + 3, 2**63 - 25):
        if not np.array_equal(np.asarray(initial_point(seed)), check(seed)):
            return None
    return out


def _initial_point_fn(init: dict, base: np.ndarray):
    """PyMC's jittered initial point, in NumPy (seed -> flat unconstrained vector)."""
    n = init["n_rngs"]
    parts = [
        (slice(a, b), tuple(shape), k)
        for (a, b), shape, k in zip(init["slices"], init["shapes"], init["rng_index"], strict=True)
    ]

    def initial_point(seed=None):
        spawn = np.random.SeedSequence(seed).spawn(n)
        out = base.copy()
        for sl, shape, k in parts:
            if k is not None:
                u = np.random.Generator(np.random.PCG64(spawn[k])).uniform(-1, 1, size=shape)
                out[sl] = (base[sl].reshape(shape) + u).ravel()
        return out

    return initial_point


# ---------------------------------------------------------------- loading

_REGISTRY: dict[Any, tuple[str, str]] = {}
_LOCK = threading.Lock()


class _Missing:
    """Stands for a kernel that a cached callback never calls through Python."""


class _Slot:
    """A shared input as nutpie's ``make_user_data``/``with_data`` see it: a name and a rank."""

    def __init__(self, name: str, ndim: int) -> None:
        self.name, self.ndim = name, ndim


def _register_locator() -> None:
    """Let numba find cached callbacks by our key in PyTensor's numba cache folder."""
    from numba.core.caching import CacheImpl, _CacheLocator

    if any(getattr(c, "_bayessa", False) for c in CacheImpl._locator_classes):
        return

    class _Locator(_CacheLocator):
        _bayessa = True

        def __init__(self, py_func, py_file):
            self._path, self._key = _REGISTRY[py_func]

        def ensure_cache_path(self):
            pass

        def get_cache_path(self):
            return self._path

        def get_source_stamp(self):
            return 0  # as PyTensor's locator: the key decides, not the file

        def get_disambiguator(self):
            return self._key

        @classmethod
        def from_function(cls, py_func, py_file):
            return cls(py_func, py_file) if py_func in _REGISTRY else None

    CacheImpl._locator_classes.insert(0, _Locator)


def _callback(part: dict, numba_path: str, sig):
    """The cached ``numba.cfunc``, or None when numba's cache does not hold it."""
    import numba

    from bayessa.sampling._numba_ptr import address_as_void_pointer

    env = {
        "__name__": "bayessa.sampling.compile_cache", "numba": numba, "np": np,
        "kernel": _Missing(), "address_as_void_pointer": address_as_void_pointer,
        **part["consts"],
    }  # fmt: skip
    local: dict[str, Any] = {}
    exec(compile(part["src"], "<string>", "exec"), env, local)  # noqa: S102 - our own source
    py_func = local[part["name"]]
    py_func.__source__ = part["src"]
    _REGISTRY[py_func] = (numba_path, part["key"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cb = numba.cfunc(sig, cache=True)(py_func)
    except Exception:  # noqa: BLE001 - not in the cache: numba tried to compile the stand-in
        return None
    return cb if cb.cache_hits else None


def load_compiled(key: str):
    """The compiled model (nutpie's) for ``key``, or None when there is no usable entry.

    Parameters
    ----------
    key : str
        :func:`fit_key` of the fit.

    Returns
    -------
    nutpie.compile_pymc.CompiledPyMCModel or None
        Without PyTensor functions (``logp_func``/``expand_func`` are None): enough to sample
        and to replace the shared data (``with_data``).
    """
    root = warm_dir()
    if root is None or not (root / key / "entry.json").is_file():
        return None
    try:
        recipe = json.loads((root / key / "entry.json").read_text())
        with np.load(root / key / "arrays.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError):
        return None
    import numba
    import pandas as pd
    from nutpie.compile_pymc import CompiledPyMCModel, make_user_data

    with _LOCK:
        _register_locator()
        ptr = numba.types.CPointer(numba.types.double)
        logp = _callback(
            recipe["logp"], recipe["numba_path"],
            numba.types.int64(numba.types.uint64, ptr, ptr, ptr, numba.types.voidptr),
        )  # fmt: skip
        expand = _callback(
            recipe["expand"], recipe["numba_path"],
            numba.types.int64(numba.types.uint64, numba.types.uint64, ptr, ptr, numba.types.voidptr),
        )  # fmt: skip
    if logp is None or expand is None:
        return None
    shared_var_keys, shared_data = {}, {}
    for i, (skey, name, ndim) in enumerate(recipe["shared"]):
        shared_var_keys[_Slot(name, ndim)] = skey
        value = np.array(arrays[f"shared_{i}"], order="C", copy=True)
        value.flags.writeable = False
        shared_data[skey] = value
    names, slices, shapes = recipe["shape_info"]
    shape_info = (names, [slice(a, b) for a, b in slices], [tuple(s) for s in shapes])
    return CompiledPyMCModel(
        _n_dim=recipe["n_dim"],
        dims={k: tuple(v) for k, v in recipe["dims"].items()},
        _coords={k: pd.Index(v) for k, v in recipe["coords"].items()},
        _shapes={n: tuple(s) for n, s in zip(names, shape_info[2], strict=True)},
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        initial_point_func=_initial_point_fn(recipe["init"], arrays["base"]),
        shared_data=shared_data,
        shared_var_keys=shared_var_keys,
        user_data=make_user_data(shared_var_keys, shared_data),
        n_expanded=recipe["n_expanded"],
        shape_info=shape_info,
        logp_func=None,
        expand_func=None,
        reparameterized_names=recipe["reparameterized"],
    )
