"""The Python API's top layer: :func:`fit` (the whole pipeline), :class:`FitResult` and :func:`load`.

It composes every layer below it; the commands (:mod:`bayessa.cli`) sit above it.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "CompetingRisksResult": "bayessa.api.competing",
    "MAX_RHAT": "bayessa.api.ess_target",
    "round_seed": "bayessa.api.ess_target",
    "sample_to_target": "bayessa.api.ess_target",
    "ExpansionResult": "bayessa.api.growth",
    "expansion": "bayessa.api.growth",
    "DATA_INPUT_MAX_CELLS": "bayessa.api.pipeline",
    "PREFETCH": "bayessa.api.pipeline",
    "data_as_inputs": "bayessa.api.pipeline",
    "fit": "bayessa.api.pipeline",
    "fit_prepared": "bayessa.api.pipeline",
    "FitResult": "bayessa.api.result",
    "OPTIONAL_RUN_FILES": "bayessa.api.result",
    "RUN_FILES": "bayessa.api.result",
    "load": "bayessa.api.result",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
