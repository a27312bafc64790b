"""Figures: every function takes ``ax=None`` (or makes its own figure) and returns the Axes.

:mod:`bayessa.plots.posterior` for the report's figures, :mod:`bayessa.plots.ppc` for predictive
checks. matplotlib loads only when a figure is drawn.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "counterfactual_curve": "bayessa.plots.expansion",
    "foundings_per_year": "bayessa.plots.expansion",
    "reach_curves": "bayessa.plots.expansion",
    "shares_by_era": "bayessa.plots.expansion",
    "incidence_bands": "bayessa.plots.incidence",
    "incidence_ppc": "bayessa.plots.incidence",
    "stacked_incidence": "bayessa.plots.incidence",
    "COLORS": "bayessa.plots.posterior",
    "baseline_hazard": "bayessa.plots.posterior",
    "cluster_effects": "bayessa.plots.posterior",
    "forest": "bayessa.plots.posterior",
    "interval_hazard_ratios": "bayessa.plots.posterior",
    "smooth_effect": "bayessa.plots.posterior",
    "new_axes": "bayessa.plots.posterior",
    "png_bytes": "bayessa.plots.posterior",
    "survival_curves": "bayessa.plots.posterior",
    "survival_difference": "bayessa.plots.posterior",
    "plot_event_counts": "bayessa.plots.ppc",
    "plot_hr_draws": "bayessa.plots.ppc",
    "plot_hr_intervals": "bayessa.plots.ppc",
    "plot_km_ppc": "bayessa.plots.ppc",
    "plot_km_ppc_grid": "bayessa.plots.ppc",
    "plot_loo_pit": "bayessa.plots.ppc",
    "plot_ppc_statistic": "bayessa.plots.ppc",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
