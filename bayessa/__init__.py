"""bayessa: hierarchical Bayesian piecewise-exponential survival analysis.

Importing bayessa is cheap: PyMC, ArviZ and the sampler back ends load only when a model is built.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

from bayessa.errors import ConvergenceWarning, DataError, SpecError  # noqa: E402

# Public names resolved lazily (module, attribute) so `import bayessa` stays fast.
_LAZY: dict[str, tuple[str, str]] = {
    "read_data": ("bayessa.data", "read_data"),
    "Columns": ("bayessa.data", "Columns"),
    "SurvivalData": ("bayessa.data", "SurvivalData"),
    "split": ("bayessa.split", "split"),
    "aggregate": ("bayessa.aggregate", "aggregate"),
    "build_design": ("bayessa.design", "build_design"),
    "load_spec": ("bayessa.spec", "load_spec"),
    "Spec": ("bayessa.spec", "Spec"),
    "fit": ("bayessa.api", "fit"),
    "prepare": ("bayessa.api", "prepare"),
    "load": ("bayessa.result", "load"),
    "FitResult": ("bayessa.result", "FitResult"),
    "check_diagnostics": ("bayessa.diagnostics", "check"),
    "simulate_pem": ("bayessa.simulate", "simulate_pem"),
    "kaplan_meier": ("bayessa.frequentist", "kaplan_meier"),
    "km_summary": ("bayessa.frequentist", "km_summary"),
    "km_median": ("bayessa.frequentist", "km_median"),
    "km_rmst": ("bayessa.frequentist", "km_rmst"),
    "logrank": ("bayessa.frequentist", "logrank"),
    "logrank_trend": ("bayessa.frequentist", "logrank_trend"),
    "LogRankResult": ("bayessa.frequentist", "LogRankResult"),
    "poisson_glm": ("bayessa.frequentist", "poisson_glm"),
    "poisson_pem": ("bayessa.frequentist", "poisson_pem"),
    "make_sa_groups": ("bayessa.sa_groups", "make_sa_groups"),
    # predictive checks; summaries, figures and sensitivity live in bayessa.ppc_stats,
    # bayessa.plots_ppc and bayessa.sensitivity
    "replicate_lifetimes": ("bayessa.ppc", "replicate_lifetimes"),
    "prior_draws": ("bayessa.ppc", "prior_draws"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'bayessa' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["ConvergenceWarning", "DataError", "SpecError", "__version__", *_LAZY]
