"""The likelihood factored over covariate patterns equals the per-cell Poisson one (no sampling)."""

from __future__ import annotations

import numpy as np
import pytest
from model_helpers import random_point, small_cells, spec_for
from scipy import special

import bayessa.model.patterns as patterns
from bayessa.model.design import build_design
from bayessa.model.patterns import MIN_CELLS, cell_patterns, use_patterns
from bayessa.model.pem import build_model


def _both(cells, formula, monkeypatch, **model):
    spec = spec_for(formula, **model)
    design = build_design(cells.frame, formula)
    per_cell, info_c = build_model(cells, design, spec)
    monkeypatch.setattr(patterns, "MIN_CELLS", 0)  # these cells are few: force the factored form
    factored, info_p = build_model(cells, design, spec)
    return per_cell, info_c, factored, info_p


@pytest.mark.parametrize(
    ("formula", "model"),
    [
        ("x + z + (1 | g)", {}),
        ("x * z + (1 + x | g)", {}),  # random slopes: the patterns' own Z rows
        ("x + (1 | g)", {"strata": "z"}),  # a baseline per stratum
        ("x + z", {"baseline": "iid"}),
    ],
)
def test_factored_log_density_is_the_poisson_one_up_to_its_constant(formula, model, monkeypatch):
    cells = small_cells(n=600)
    per_cell, info_c, factored, info_p = _both(cells, formula, monkeypatch, **model)
    assert (info_c.likelihood, info_p.likelihood) == ("cells", "patterns")
    assert info_p.n_patterns < cells.n_cells
    # the constant the factored form leaves out: sum_c D_c log T_c - log D_c!
    D, T = cells.events, cells.exposure
    constant = np.sum(D * np.log(T) - special.gammaln(D + 1))
    lp_c, lp_p = per_cell.compile_logp(), factored.compile_logp()
    dlp_c, dlp_p = per_cell.compile_dlogp(), factored.compile_dlogp()
    rng = np.random.default_rng(4)
    for _ in range(3):
        point = random_point(per_cell, rng)
        np.testing.assert_allclose(lp_p(point) + constant, lp_c(point), rtol=1e-10)
        np.testing.assert_allclose(dlp_p(point), dlp_c(point), rtol=1e-9, atol=1e-9)


def test_patterns_hold_the_cells_events_and_exposure():
    cells = small_cells(n=600, periods=[1990.0])
    f = cells.frame
    stratum = np.zeros(cells.n_cells, dtype=np.int64)
    pat = cell_patterns(cells, stratum, 1)
    keys = [k for k in cells.keys if k != "interval"]
    assert pat.n_patterns == len(f.groupby(keys, observed=True))
    assert pat.exposure.sum() == pytest.approx(cells.exposure.sum())
    assert pat.events.sum() == cells.events.sum() == pat.events_by_interval.sum()
    # every cell is its pattern's exposure in its interval, and the first cell has its keys
    k = f["interval"].cat.codes.to_numpy()
    np.testing.assert_allclose(pat.exposure[pat.index, k], cells.exposure)
    for key in keys:
        np.testing.assert_array_equal(f[key].to_numpy()[pat.first][pat.index], f[key].to_numpy())


def test_when_the_factored_form_is_used():
    big = MIN_CELLS + 1
    assert use_patterns(big, big // 8, time_varying=False, data_containers=False)
    assert not use_patterns(MIN_CELLS, 10, time_varying=False, data_containers=False)
    assert not use_patterns(big, big // 8, time_varying=True, data_containers=False)
    assert not use_patterns(big, big // 8, time_varying=False, data_containers=True)
    assert not use_patterns(big, big - 10, time_varying=False, data_containers=False)
