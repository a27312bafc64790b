"""Work-arounds for costly import side effects of our dependencies.

``arviz_base`` registers ``jax`` as a lazy module in ``sys.modules`` when ArviZ is imported (for its
numpyro converter). SciPy's array-API helpers, called by ``logsumexp`` and so by ArviZ's PSIS-LOO in
every report, test whether an array is a JAX array by looking ``jax`` up in ``sys.modules`` and
reading ``jax.Array``: that imports all of JAX (~0.5 s, and its teardown at exit) in a process that
never uses it, about 1 s of a 12 s fit of the bundled data. It only happens where JAX is installed
(``bayessa[numpyro]``, which ``make`` installs).
"""

from __future__ import annotations

import importlib
import sys
import types

__all__ = ["forget_unloaded_jax"]


class _DeferredJax(types.ModuleType):
    """Stands in for ``arviz_base.io_numpyro.jax``: imports JAX on first attribute access."""

    def __getattr__(self, name: str):
        return getattr(importlib.import_module("jax"), name)


def forget_unloaded_jax() -> bool:
    """Drop a lazily registered, never loaded ``jax`` from ``sys.modules``.

    A later ``import jax`` (the numpyro back end) loads it normally, and ArviZ's numpyro converter
    gets a stand-in that imports JAX when first used. Returns whether anything was dropped.
    """
    mod = sys.modules.get("jax")
    if mod is None or type(mod).__name__ != "_LazyModule":
        return False  # absent, or really loaded
    del sys.modules["jax"]
    io_numpyro = sys.modules.get("arviz_base.io_numpyro")
    if io_numpyro is not None and getattr(io_numpyro, "jax", None) is mod:
        io_numpyro.jax = _DeferredJax("jax")
    return True
