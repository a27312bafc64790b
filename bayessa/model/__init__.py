"""The model layer: spec, design, the PEM and the per-unit log-likelihood.

The model layer: the spec (TOML <-> dataclasses), formula -> design, the PEM in PyMC, the
per-unit log-likelihood, and :func:`prepare`, which composes the data layer's steps for a spec.

Imports the data layer; nothing above it.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "MIN_CELLS": "bayessa.model.patterns",
    "MIN_CELLS_PER_PATTERN": "bayessa.model.patterns",
    "Patterns": "bayessa.model.patterns",
    "add_pattern_likelihood": "bayessa.model.patterns",
    "cell_patterns": "bayessa.model.patterns",
    "use_patterns": "bayessa.model.patterns",
    "MAX_INTERVALS": "bayessa.model.cuts",
    "automatic_cuts": "bayessa.model.cuts",
    "describe_rule": "bayessa.model.cuts",
    "round_significant": "bayessa.model.cuts",
    "priors_in_unit": "bayessa.model.units",
    "units_per_year": "bayessa.model.units",
    "CHANGE_ARGS": "bayessa.model.preparation",
    "ROLES": "bayessa.model.preparation",
    "BASELINE": "bayessa.model.design",
    "Design": "bayessa.model.design",
    "CALLS": "bayessa.model.formula",
    "FormulaTerms": "bayessa.model.formula",
    "parse_terms": "bayessa.model.formula",
    "NUMERIC_TRANSFORMS": "bayessa.model.numeric",
    "NumericTerm": "bayessa.model.numeric",
    "numeric_reference": "bayessa.model.numeric",
    "contrast_step": "bayessa.model.numeric",
    "DEFAULT_K": "bayessa.model.smooth",
    "MAX_K": "bayessa.model.smooth",
    "MIN_K": "bayessa.model.smooth",
    "bspline_column": "bayessa.model.numeric",
    "knot_vector": "bayessa.model.numeric",
    "smooth_basis_terms": "bayessa.model.smooth",
    "smooth_coefficients": "bayessa.model.smooth",
    "smooth_groups": "bayessa.model.smooth",
    "RandomTerm": "bayessa.model.design",
    "build_design": "bayessa.model.design",
    "parse_formula": "bayessa.model.formula",
    "DEFAULT_MAX_ELEMENTS": "bayessa.model.loglik",
    "unit_log_likelihood": "bayessa.model.loglik",
    "prior_dist": "bayessa.model.priors",
    "prior_rv": "bayessa.model.priors",
    "LKJ_ETA": "bayessa.model.random",
    "random_prefix": "bayessa.model.random",
    "random_term_effects": "bayessa.model.random",
    "ModelInfo": "bayessa.model.pem",
    "build_model": "bayessa.model.pem",
    "model_info": "bayessa.model.pem",
    "choose_parameterization": "bayessa.model.pem",
    "column_scales": "bayessa.model.pem",
    "interval_spacing": "bayessa.model.pem",
    "DEFAULT_SPEC": "bayessa.model.preparation",
    "OVERRIDES": "bayessa.model.preparation",
    "Prepared": "bayessa.model.preparation",
    "columns_for": "bayessa.model.preparation",
    "prepare": "bayessa.model.preparation",
    "resolve_spec": "bayessa.model.preparation",
    "BASELINES": "bayessa.model.spec",
    "DataSpec": "bayessa.model.spec",
    "ModelSpec": "bayessa.model.spec",
    "PRIOR_FAMILIES": "bayessa.model.spec",
    "Prior": "bayessa.model.spec",
    "SamplerSpec": "bayessa.model.spec",
    "Spec": "bayessa.model.spec",
    "TimeSpec": "bayessa.model.spec",
    "load_spec": "bayessa.model.spec",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
