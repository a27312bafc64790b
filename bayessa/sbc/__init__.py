"""Simulation-based calibration of a spec's model, serially or on Dask (:func:`run`).

A spec with competing risks is calibrated as the joint model of every cause
(:mod:`bayessa.sbc.competing`); an interval-censored spec with its simulated event times
coarsened by a contact schedule like the data's (:mod:`bayessa.sbc.intervals`).
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "SBCConfig": "bayessa.sbc.calibrate",
    "causes_of": "bayessa.sbc.competing",
    "is_competing": "bayessa.sbc.competing",
    "pipeline_cause_cells": "bayessa.sbc.competing",
    "ranks_frame": "bayessa.sbc.calibrate",
    "run": "bayessa.sbc.calibrate",
    "summarize": "bayessa.sbc.calibrate",
    "write_outputs": "bayessa.sbc.calibrate",
    "CompetingTemplate": "bayessa.sbc.competing",
    "build_competing_template": "bayessa.sbc.competing",
    "draw_joint_prior": "bayessa.sbc.competing",
    "fit_one_competing": "bayessa.sbc.competing",
    "simulate_competing": "bayessa.sbc.competing",
    "IntervalData": "bayessa.sbc.intervals",
    "IntervalTemplate": "bayessa.sbc.intervals",
    "IntervalTerms": "bayessa.sbc.intervals",
    "add_interval_containers": "bayessa.sbc.intervals",
    "build_interval_template": "bayessa.sbc.intervals",
    "contact_bounds": "bayessa.sbc.intervals",
    "fit_one_interval": "bayessa.sbc.intervals",
    "interval_summary": "bayessa.sbc.intervals",
    "is_interval": "bayessa.sbc.intervals",
    "pipeline_interval_cells": "bayessa.sbc.intervals",
    "simulate_interval": "bayessa.sbc.intervals",
    "ABSENT_LOG_EXPOSURE": "bayessa.sbc.sim",
    "Template": "bayessa.sbc.sim",
    "build_template": "bayessa.sbc.sim",
    "draw_prior": "bayessa.sbc.sim",
    "fit_one": "bayessa.sbc.sim",
    "simulate": "bayessa.sbc.sim",
    "EcdfBand": "bayessa.sbc.stats",
    "chi2_uniformity": "bayessa.sbc.stats",
    "ecdf_band": "bayessa.sbc.stats",
    "plot_rank_ecdf": "bayessa.sbc.stats",
    "rank": "bayessa.sbc.stats",
    "rank_ecdf": "bayessa.sbc.stats",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
