"""Simulation: the general PEM simulator, switching covariates and the synthetic SA-groups study.

Simulation: the general piecewise-exponential simulator (:func:`simulate_pem`, with competing
causes (:class:`Cause`) and inspection schedules (:class:`Inspection`) as options), a covariate that
switches during follow-up (:func:`simulate_switching`) and the synthetic SA-groups study
(:func:`make_sa_groups`, with its leaders' changes :func:`make_leadership_changes`).
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "AtOrigin": "bayessa.simulate.covariates",
    "Cause": "bayessa.simulate.pem",
    "Inspection": "bayessa.simulate.pem",
    "Given": "bayessa.simulate.covariates",
    "Normal": "bayessa.simulate.covariates",
    "Uniform": "bayessa.simulate.covariates",
    "Simulation": "bayessa.simulate.pem",
    "Truth": "bayessa.simulate.pem",
    "as_generator": "bayessa.simulate.pem",
    "simulate_pem": "bayessa.simulate.pem",
    "Switching": "bayessa.simulate.paths",
    "simulate_switching": "bayessa.simulate.paths",
    "CLOSURE_REASONS": "bayessa.simulate.sa_groups",
    "CONTACT_INTERVAL_DAYS": "bayessa.simulate.sa_groups",
    "CONTACT_JITTER_DAYS": "bayessa.simulate.sa_groups",
    "CLOSURE_REASON_FACTORS": "bayessa.simulate.sa_groups",
    "CLOSURE_REASON_PROBS": "bayessa.simulate.sa_groups",
    "COLUMNS": "bayessa.simulate.sa_groups",
    "ERA_CUTS": "bayessa.simulate.sa_groups",
    "LEADER_CHANGE_RATE": "bayessa.simulate.sa_groups",
    "N_GROUPS": "bayessa.simulate.sa_groups",
    "STUDY_END": "bayessa.simulate.sa_groups",
    "STUDY_START": "bayessa.simulate.sa_groups",
    "make_leadership_changes": "bayessa.simulate.sa_groups",
    "make_sa_groups": "bayessa.simulate.sa_groups",
    "write_leadership_changes": "bayessa.simulate.sa_groups",
    "write_sa_groups": "bayessa.simulate.sa_groups",
    "write_sa_groups_dataset": "bayessa.simulate.sa_groups",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
