"""bayessa: hierarchical Bayesian piecewise-exponential survival analysis.

Importing bayessa is cheap: PyMC, ArviZ and the sampler back ends load only when a model is built.
The public names below resolve on first use; the subpackages follow the data flow (see
``docs/architecture.md``): :mod:`bayessa.data` -> :mod:`bayessa.model` -> :mod:`bayessa.sampling`
-> :mod:`bayessa.posterior` -> :mod:`bayessa.checks` -> :mod:`bayessa.plots` / :mod:`bayessa.report`,
with :mod:`bayessa.api` composing them and :mod:`bayessa.cli` on top.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from bayessa._lazy import lazy_exports
from bayessa.errors import BayessaError, ConvergenceWarning, DataError, SpecError

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    # data
    "read_data": "bayessa.data.read",
    "read_table": "bayessa.data.read",
    "Columns": "bayessa.data.columns",
    "SurvivalData": "bayessa.data.columns",
    "split": "bayessa.data.lexis",
    "aggregate": "bayessa.data.cells",
    # model
    "build_design": "bayessa.model.design",
    "load_spec": "bayessa.model.spec",
    "Spec": "bayessa.model.spec",
    "prepare": "bayessa.model.preparation",
    # fitting and results
    "fit": "bayessa.api.pipeline",
    "load": "bayessa.api.result",
    "FitResult": "bayessa.api.result",
    "expansion": "bayessa.api.growth",
    "ExpansionResult": "bayessa.api.growth",
    # checks
    "check_diagnostics": "bayessa.checks.diagnostics",
    "loo": "bayessa.checks.elpd",
    "compare": "bayessa.checks.elpd",
    "replicate_lifetimes": "bayessa.checks.ppc",
    "prior_draws": "bayessa.checks.ppc",
    # simulation
    "simulate_pem": "bayessa.simulate.pem",
    "make_sa_groups": "bayessa.simulate.sa_groups",
    # frequentist cross-check
    "kaplan_meier": "bayessa.frequentist",
    "km_summary": "bayessa.frequentist",
    "km_median": "bayessa.frequentist",
    "km_rmst": "bayessa.frequentist",
    "logrank": "bayessa.frequentist",
    "logrank_trend": "bayessa.frequentist",
    "cumulative_incidence": "bayessa.frequentist",
    "gray_test": "bayessa.frequentist",
    "LogRankResult": "bayessa.frequentist",
    "poisson_glm": "bayessa.frequentist",
    "poisson_pem": "bayessa.frequentist",
    "turnbull": "bayessa.frequentist",
    "interval_pem": "bayessa.frequentist",
}
# Public names defined under another name in their module.
_RENAMED = {"check_diagnostics": "check"}

_getattr, __dir__ = lazy_exports(__name__, {k: v for k, v in _EXPORTS.items() if k not in _RENAMED})


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        from importlib import import_module

        value = getattr(import_module(_EXPORTS[name]), _RENAMED[name])
        globals()[name] = value
        return value
    return _getattr(name)


class _Package(types.ModuleType):
    """The ``bayessa`` module: a command module never replaces a public function.

    ``python -m bayessa.fit`` needs a module ``bayessa.fit`` while ``bayessa.fit`` is the library
    function. Importing a submodule sets it as an attribute of its package; for the few public
    names that are also command modules (``fit``, ``logrank``, ``compare``) that would replace the
    function by the module. This class ignores exactly that assignment.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "BayessaError",
    "ConvergenceWarning",
    "DataError",
    "SpecError",
    "__version__",
    *sorted(_EXPORTS),
]
