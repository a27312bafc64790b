"""Checks of a fit: convergence, LOO, predictive checks and prior sensitivity.

Checks of a fit: the convergence gate (:func:`check`), PSIS-LOO with the unit as the observation
(:func:`loo`, :func:`compare`), predictive checks (:func:`replicate_lifetimes`,
:func:`prior_draws`, their summaries) and prior sensitivity.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "advise": "bayessa.checks.advice",
    "term_of": "bayessa.checks.advice",
    "SUMMARY_COLUMNS": "bayessa.checks.convergence",
    "TAIL_PROBS": "bayessa.checks.convergence",
    "parameter_table": "bayessa.checks.convergence",
    "Diagnostics": "bayessa.checks.diagnostics",
    "check": "bayessa.checks.diagnostics",
    "LooSummary": "bayessa.checks.elpd",
    "compare": "bayessa.checks.elpd",
    "loo": "bayessa.checks.elpd",
    "same_units": "bayessa.checks.elpd",
    "UnitLayout": "bayessa.checks.ppc",
    "UnitPaths": "bayessa.checks.ppc",
    "draw_times": "bayessa.checks.ppc",
    "incidence_check": "bayessa.checks.ppc_competing",
    "replicate_causes": "bayessa.checks.ppc_competing",
    "censoring_times": "bayessa.checks.ppc",
    "prior_draws": "bayessa.checks.ppc",
    "replicate_lifetimes": "bayessa.checks.ppc",
    "unit_cumulative_hazard": "bayessa.checks.ppc",
    "unit_layout": "bayessa.checks.ppc",
    "PPCStatistic": "bayessa.checks.ppc_stats",
    "event_counts": "bayessa.checks.ppc_stats",
    "km_curves": "bayessa.checks.ppc_stats",
    "km_on_grid": "bayessa.checks.ppc_stats",
    "km_survival_at": "bayessa.checks.ppc_stats",
    "loo_pit": "bayessa.checks.ppc_stats",
    "ppc_statistic": "bayessa.checks.ppc_stats",
    "PRIOR_OF": "bayessa.checks.sensitivity",
    "PRIOR_OF_SMOOTH": "bayessa.checks.sensitivity",
    "log_prior": "bayessa.checks.sensitivity",
    "power_scaled_hazard_ratios": "bayessa.checks.sensitivity",
    "prior_sensitivity": "bayessa.checks.sensitivity",
    "with_log_prior": "bayessa.checks.sensitivity",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
