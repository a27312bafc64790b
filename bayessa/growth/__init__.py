"""The expansion analysis: how the founding of new units, their mix and the reach changed by era.

Data flow: the one-row-per-unit table -> :func:`read_expansion` (:mod:`bayessa.growth.tables`:
eras, slices, founding counts, new units) -> the founding-rate model
(:mod:`bayessa.growth.founding`) and the composition models (:mod:`bayessa.growth.composition`)
-> reach and the counterfactual (with a survival fit). ``python -m bayessa.expansion`` and
:func:`bayessa.expansion` run it all.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "DISPERSION_LEVEL": "bayessa.growth.founding",
    "adapted_sampler": "bayessa.growth.founding",
    "FamilyChoice": "bayessa.growth.founding",
    "FoundingFit": "bayessa.growth.founding",
    "FoundingPriors": "bayessa.growth.founding",
    "build_founding_model": "bayessa.growth.founding",
    "choose_family": "bayessa.growth.founding",
    "fit_founding": "bayessa.growth.founding",
    "founding_data_groups": "bayessa.growth.founding",
    "founding_forms": "bayessa.growth.founding",
    "walk_signal": "bayessa.growth.founding",
    "cluster_signal": "bayessa.growth.founding",
    "form_by_signal": "bayessa.growth.founding",
    "signal_and_noise": "bayessa.growth.founding",
    "JOIN": "bayessa.growth.composition",
    "CompositionCounts": "bayessa.growth.composition",
    "CompositionFit": "bayessa.growth.composition",
    "CompositionPriors": "bayessa.growth.composition",
    "build_composition_model": "bayessa.growth.composition",
    "composition_signal": "bayessa.growth.composition",
    "composition_counts": "bayessa.growth.composition",
    "composition_data_groups": "bayessa.growth.composition",
    "fit_composition": "bayessa.growth.composition",
    "variable_name": "bayessa.growth.composition",
    "FACTORS": "bayessa.growth.counterfactual",
    "ReachModel": "bayessa.growth.counterfactual",
    "expected_active": "bayessa.growth.counterfactual",
    "shapley_shares": "bayessa.growth.counterfactual",
    "reach_model": "bayessa.growth.scenarios",
    "reach_tables": "bayessa.growth.scenarios",
    "survival_traits": "bayessa.growth.scenarios",
    "STEP_DAYS": "bayessa.growth.reach",
    "date_grid": "bayessa.growth.reach",
    "observed_reach": "bayessa.growth.reach",
    "Eras": "bayessa.growth.tables",
    "ExpansionData": "bayessa.growth.tables",
    "read_expansion": "bayessa.growth.tables",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
