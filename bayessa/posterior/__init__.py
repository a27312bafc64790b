"""The posterior layer: what is computed from draws.

Completing a sampled DataTree (:func:`assemble`, the layout), opening and writing run
directories (:func:`open_tree`, :func:`write_atomically`), draws and prediction (:func:`draws`,
:func:`thin`, :func:`log_rate`), survival curves, RMST and standardisation
(:class:`Predictor`, :func:`survival`), contrasts (:func:`contrasts`) and hazard ratios by age
interval (:func:`interval_hazard_ratios`).
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "predict_newdata": "bayessa.posterior.newdata",
    "MAX_NODE_COMBINATIONS": "bayessa.posterior.incidence",
    "cause_incidence": "bayessa.posterior.incidence",
    "incidence_draws": "bayessa.posterior.incidence",
    "restricted_mean_time_lost": "bayessa.posterior.incidence",
    "GH_NODES": "bayessa.posterior.curves",
    "MAX_PATTERNS": "bayessa.posterior.curves",
    "Mixture": "bayessa.posterior.curves",
    "Predictor": "bayessa.posterior.curves",
    "cumulative_hazard": "bayessa.posterior.curves",
    "gh_nodes": "bayessa.posterior.curves",
    "median_survival": "bayessa.posterior.curves",
    "path_log_hazard": "bayessa.posterior.curves",
    "rmst": "bayessa.posterior.curves",
    "summarise": "bayessa.posterior.curves",
    "survival": "bayessa.posterior.curves",
    "NO_UNITS": "bayessa.posterior.datatree",
    "assemble": "bayessa.posterior.datatree",
    "versions": "bayessa.posterior.datatree",
    "Contrast": "bayessa.posterior.effects",
    "contrast_table": "bayessa.posterior.effects",
    "contrasts": "bayessa.posterior.effects",
    "hazard_ratio_draws": "bayessa.posterior.effects",
    "INTERVAL_HR_COLUMNS": "bayessa.posterior.time_varying",
    "interval_hazard_ratios": "bayessa.posterior.time_varying",
    "SMOOTH_COLUMNS": "bayessa.posterior.smooths",
    "smooth_columns": "bayessa.posterior.smooths",
    "smooth_table": "bayessa.posterior.smooths",
    "DesignInfo": "bayessa.posterior.predict",
    "coded_rows": "bayessa.posterior.predict",
    "draws": "bayessa.posterior.predict",
    "log_rate": "bayessa.posterior.predict",
    "model_variables": "bayessa.posterior.predict",
    "profile_log_hazard": "bayessa.posterior.predict",
    "thin": "bayessa.posterior.predict",
    "row_frame": "bayessa.posterior.predict",
    "unit_frame": "bayessa.posterior.predict",
    "check_output_dir": "bayessa.posterior.rundir",
    "open_tree": "bayessa.posterior.rundir",
    "remove_stale": "bayessa.posterior.rundir",
    "write_atomically": "bayessa.posterior.rundir",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
