"""nutpie's raw trace -> DataTree (bayessa.sampling.trace) equals nutpie's own conversion."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from model_helpers import small_cells, spec_for

from bayessa.model.design import build_design
from bayessa.model.pem import build_model
from bayessa.sampling.compile_cache import compile_model
from bayessa.sampling.trace import trace_to_tree


@pytest.mark.fit
def test_same_groups_as_nutpies_conversion():
    import nutpie
    from nutpie.sample import _arrow_to_arviz

    cells = small_cells(seed=21, n=150)
    spec = spec_for("x + z + (1 | g)", baseline="rw1")
    model = build_model(cells, build_design(cells.frame, spec.model.formula), spec)[0]
    compiled, _ = compile_model(model)
    raw = nutpie.sample(
        compiled, draws=30, tune=25, chains=3, cores=1, seed=2, progress_bar=False,
        save_warmup=False, return_raw_trace=True,
    )  # fmt: skip
    draws, stats = raw.get_arrow_trace()  # nutpie hands the batches out once

    class Taken:
        def is_arrow(self):
            return True

        def get_arrow_trace(self):
            return draws, stats

    ours = trace_to_tree(
        Taken(), unconstrained_names=compiled.reparameterized_names, coords=compiled.coords
    )
    theirs = _arrow_to_arviz(
        draws, stats, skip_vars=sorted(
            ["gradient", "unconstrained_draw", "mass_matrix_inv", "mass_matrix_eigvals",
             "mass_matrix_stds", "divergence_start", "divergence_end", "divergence_momentum",
             "divergence_start_gradient", "transformed_position", "transformed_gradient",
             "transformation_mu"]
        ),
        reparameterized_names=compiled.reparameterized_names,
        coords={k: v for k, v in compiled.coords.items()},
    )  # fmt: skip
    for group in ("posterior", "sample_stats"):
        a, b = ours[group].dataset, theirs[group].dataset
        assert a.sizes["chain"] == 3 and a.sizes["draw"] == 30  # warm-up dropped
        xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert "cluster_sd" in ours.posterior and "cluster_sd_log__" not in ours.posterior
    assert np.issubdtype(ours.sample_stats["diverging"].dtype, np.bool_)
