"""The sampling layer: NUTS back ends and the compiled-model cache.

The sampling layer: NUTS back ends (nutpie, PyMC, numpyro) and the cross-process cache of
compiled models.

Imports the model layer's spec; nothing above it.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "CompileInfo": "bayessa.sampling.compile_cache",
    "compile_model": "bayessa.sampling.compile_cache",
    "sample": "bayessa.sampling.nuts",
    "show_progress": "bayessa.sampling.nuts",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
