"""The sampling layer: NUTS back ends and the compiled-model cache.

The sampling layer: NUTS back ends (nutpie, PyMC, numpyro) and the cross-process cache of
compiled models.

Imports the model layer's spec; nothing above it.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "LOW_RANK_MAX_PARAMETERS": "bayessa.sampling.nuts",
    "choose_adaptation": "bayessa.sampling.nuts",
    "CompileInfo": "bayessa.sampling.compile_cache",
    "compile_model": "bayessa.sampling.compile_cache",
    "fit_key": "bayessa.sampling.warm",
    "load_compiled": "bayessa.sampling.warm",
    "sample": "bayessa.sampling.nuts",
    "show_progress": "bayessa.sampling.nuts",
    "store_compiled": "bayessa.sampling.warm",
    "trace_to_tree": "bayessa.sampling.trace",
    "warm_dir": "bayessa.sampling.warm",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
