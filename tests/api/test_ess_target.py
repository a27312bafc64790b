"""Sampling to an ESS target (bayessa.api.ess_target): chains are added until the target holds."""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from bayessa.api.ess_target import MAX_RHAT, round_seed, sample_to_target
from bayessa.model.spec import SamplerSpec


def _chains(seed: int, chains: int, draws: int = 1000, phi: float = 0.5) -> xr.DataTree:
    """AR(1) chains of a scalar parameter: ESS per draw about (1 - phi) / (1 + phi)."""
    rng = np.random.default_rng(seed)
    x = np.empty((chains, draws))
    x[:, 0] = rng.normal(size=chains)
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + np.sqrt(1 - phi**2) * rng.normal(size=chains)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    post = xr.Dataset({"beta": (("chain", "draw"), x)}, coords=coords)
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros_like(x, bool))}, coords=coords)
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})


def _run(ess: float, max_chains: int = 16):
    sampler = SamplerSpec(chains=4, seed=7, ess=ess, max_chains=max_chains)
    seeds = []

    def draw_more(settings, timings):
        seeds.append(settings.seed)
        timings.update(sample_s=1.0, compile_s=0.0)
        return _chains(settings.seed, settings.chains)

    timings = {"sample_s": 1.0}
    dt, table, rounds = sample_to_target(_chains(7, 4), draw_more, sampler, timings)
    return dt, table, rounds, seeds, timings


def test_chains_are_added_until_the_target_holds():
    dt, table, rounds, seeds, timings = _run(ess=2500)
    # 4 x 1000 AR(0.5) draws give ESS ~1300: rounds of 4 chains until >= 2500 (seeded: exact)
    assert rounds[0]["min_ess_bulk"] < 2500 <= rounds[-1]["min_ess_bulk"]
    assert rounds[-1]["max_rhat"] <= MAX_RHAT
    assert all(
        r["min_ess_bulk"] < 2500 or r["max_rhat"] > MAX_RHAT for r in rounds[:-1]
    )  # stopped at the first success
    assert dt.posterior.sizes["chain"] == rounds[-1]["chains"] == 4 * len(rounds)
    assert list(dt.posterior.chain.values) == list(range(4 * len(rounds)))
    assert seeds == [round_seed(7, k) for k in range(1, len(rounds))]
    assert len(set(seeds)) == len(seeds) and 7 not in seeds  # new, reproducible streams
    assert timings["sample_s"] == len(rounds)  # every round's sampling counted
    assert table.loc["beta", "ess_bulk"] == rounds[-1]["min_ess_bulk"]
    np.testing.assert_array_equal(dt.posterior.beta.values[:4], _chains(7, 4).posterior.beta.values)


def test_the_cap_stops_it_and_no_target_samples_once():
    dt, _, rounds, seeds, _ = _run(ess=10_000, max_chains=10)
    assert dt.posterior.sizes["chain"] == 8 and len(seeds) == 1  # 12 would exceed the cap
    assert rounds[-1]["min_ess_bulk"] < 10_000
    dt, table, rounds, seeds, _ = _run(ess=0)
    assert (table, rounds, seeds) == (None, [], []) and dt.posterior.sizes["chain"] == 4


def test_round_seeds_are_deterministic_and_distinct():
    assert round_seed(5, 0) == 5
    assert round_seed(5, 1) == round_seed(5, 1) != round_seed(5, 2) != round_seed(6, 1)


def test_spec_validates_the_target():
    import pytest

    from bayessa.errors import SpecError
    from bayessa.model.spec import Spec

    with pytest.raises(SpecError, match=r"max_chains \(2\) must be at least chains \(4\)"):
        Spec.from_dict({"model": {"formula": "x"}, "sampler": {"max_chains": 2}})
    spec = Spec.from_dict({"model": {"formula": "x"}, "sampler": {"ess": 1000}})
    assert dataclasses.asdict(spec.sampler)["ess"] == 1000


def test_the_bundled_target_and_how_overrides_change_it(capsys):
    from bayessa.cli.fit import _overrides, build_parser, main
    from bayessa.model.preparation import resolve_spec

    assert resolve_spec(None).sampler.ess == 1000  # the bundled analysis promises it
    assert resolve_spec(None, draws=200).sampler.ess == 0  # an explicit amount of sampling
    assert resolve_spec(None, chains=2).sampler.ess == 0
    assert resolve_spec(None, draws=200, ess=500).sampler.ess == 500
    args = build_parser().parse_args(["--ess", "1500", "--max-chains", "8"])
    assert {k: _overrides(args)[k] for k in ("ess", "max_chains")} == {"ess": 1500, "max_chains": 8}
    assert main(["--ess", "-5"]) == 2
    assert "--ess must be 0 (no target) or a positive ESS, got -5" in capsys.readouterr().err


def test_the_report_says_how_the_target_was_met():
    import json

    from bayessa.report.sections import _ess_rounds

    rounds = [dict(chains=4, seed=3, min_ess_bulk=770.4, parameter="cluster_sd", max_rhat=1.0123),
              dict(chains=8, seed=9, min_ess_bulk=1855.2, parameter="cluster_sd", max_rhat=1.0064)]  # fmt: skip
    text = _ess_rounds({"bayessa_ess_rounds": json.dumps(rounds)}, {"ess": 1000})
    assert "the first 4 chains gave 770 (R-hat 1.012)" in text and "pooled 8 chains: 1855" in text
    once = _ess_rounds({"bayessa_ess_rounds": json.dumps(rounds[1:])}, {"ess": 1000})
    assert once.endswith("met by the first 8 chains (1855)")
    assert _ess_rounds({}, {}) == ""
