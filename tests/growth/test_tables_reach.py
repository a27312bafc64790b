"""The expansion analysis' data (eras, slices, founding counts), the observed reach, and the
expected-active engine of the reach band and the counterfactual (closed forms)."""

import numpy as np
import pandas as pd
import pytest

from bayessa.errors import DataError, SpecError
from bayessa.growth.counterfactual import ReachModel, expected_active, shapley_shares
from bayessa.growth.reach import observed_reach
from bayessa.growth.tables import read_expansion
from bayessa.model.spec import Spec, load_spec

YEAR = 365.25


def _spec(**expansion):
    base = {"era_cuts": ["2001-01-01"], "era_labels": ["early", "late"], "composition": ["kind"],
            "cluster": "area"}  # fmt: skip
    return Spec.from_dict({
        "data": {"id": "id", "start": "founded", "event_date": "closed", "censor_date": "seen"},
        "model": {"formula": "kind + (1 | area)"}, "expansion": base | expansion,
    })  # fmt: skip


def _table():
    return pd.DataFrame({
        "id": [1, 2, 3, 4, 5],
        "founded": ["2000-01-01", "2000-06-01", "2001-03-01", "2001-04-01", "2002-12-31"],
        "closed": ["2000-07-01", "", "", "2002-01-01", ""],
        "seen": ["2000-07-01", "2003-01-01", "2002-01-01", "2002-01-01", "2003-01-01"],
        "kind": ["a", "b", "a", "a", "b"], "area": ["x", "x", "y", "y", "x"],
    })  # fmt: skip


def test_eras_slices_and_counts():
    x = read_expansion(_table(), _spec(window=["2000-01-01", "2002-12-31"], end="2003-01-01"))
    assert x.eras.describe()[0].startswith("early: 2000-01-01 to 2000-12-31")
    np.testing.assert_allclose(x.eras.years, [366 / YEAR, 730 / YEAR])
    s = x.slices
    assert list(s["year"]) == [2000, 2001, 2002] and list(s["era"]) == ["early", "late", "late"]
    assert s["years"].sum() == pytest.approx(1096 / YEAR)
    fc = x.founding_counts()
    assert len(fc) == 6 and fc["groups"].sum() == 5
    assert fc.set_index(["year", "area"])["groups"].to_dict() == {
        (2000, "x"): 2,
        (2000, "y"): 0,
        (2001, "x"): 0,
        (2001, "y"): 2,
        (2002, "x"): 1,
        (2002, "y"): 0,
    }
    per = x.per_era()
    assert list(per["groups"]) == [2, 3]
    u = x.units
    assert list(u["closed"]) == [True, False, False, True, False]
    assert list(u["lost"]) == [False, False, True, False, False]  # unit 3 last seen 2002-01-01


def test_window_leaves_out_and_era_column_checked():
    df = _table()
    x = read_expansion(df, _spec(window=["2000-02-01", "2002-12-31"]))
    assert len(x.units) == 4 and "1 units founded outside the window" in x.notes[0]
    df["era"] = ["early", "early", "late", "early", "late"]
    with pytest.raises(DataError, match="era column disagrees") as err:
        read_expansion(df, _spec(era="era", composition=["kind", "era"]))
    assert "4" in str(err.value)
    with pytest.raises(SpecError, match="era_cuts"):
        read_expansion(_table(), _spec(era_cuts=[], era_labels=[]))
    with pytest.raises(SpecError, match="inside the founding window"):
        read_expansion(_table(), _spec(era_cuts=["1999-01-01"]))


def test_observed_reach_counts_and_weights_lost_units():
    x = read_expansion(_table(), _spec(window=["2000-01-01", "2002-12-31"], end="2003-01-01"))
    d = np.array([np.datetime64(v, "D").astype(int) for v in
                  ["2000-05-01", "2000-08-01", "2001-06-01", "2002-06-01"]], dtype=float)  # fmt: skip
    r = observed_reach(x, d)
    assert list(r["active_known"]) == [1, 1, 3, 1]
    # 2002-06-01: unit 3 is lost since 2002-01-01 (age 0.84); it counts with KM's
    # S(1.25) / S(0.84) = 1: the closures are at ages 0.50 and 0.75, none between
    assert r["active"].iloc[3] == pytest.approx(2.0)
    assert list(r["clusters_known"]) == [1, 1, 2, 1]
    assert r["clusters"].iloc[3] == pytest.approx(2.0)
    # last seen earlier, at age 0.25, before both closures: S(1.25) / S(0.25) = S(1.25)
    df = _table()
    df.loc[2, "seen"] = "2001-06-01"
    x = read_expansion(df, _spec(window=["2000-01-01", "2002-12-31"], end="2003-01-01"))
    r = observed_reach(x, d)
    # KM by hand: at age 0.5 units 1, 2, 4 at risk (3 left at 0.25, 5 at 0.003): 2/3; at 0.75
    # units 2, 4: 1/2; so S(1.25) = 1/3
    assert r["active"].iloc[3] == pytest.approx(1 + 1 / 3)


def test_bundled_expansion_data():
    x = read_expansion(None, load_spec("models/partnership.toml"))
    per = x.per_era()
    assert list(per["groups"]) == [53, 104, 203] and per["groups"].sum() == 360
    r = observed_reach(x)
    assert (r["active"] >= r["active_known"] - 1e-12).all() and r["active"].max() < 360


def _constant(h=0.3, r=12.0, n=60, step=YEAR / 12, first=0.0, era_cut=None):
    S, C, X, K = 1, 1, 1, 1
    start = np.array([first, era_cut if era_cut else first + n * step])
    stop = np.array([start[1], first + 10 * n * step])
    m = ReachModel(
        slice_start=start, slice_stop=stop, slice_era=np.array([0, 1]),
        rate=np.full((S, 2, C), r), rate_first_era=np.full((S, 2, C), r),
        mix=np.ones((S, 2, C, X)), log_hazard=np.full((S, 2, C, X, K), np.log(h)),
        cuts=np.array([0.0, np.inf]),
    )  # fmt: skip
    return m, step, n


def test_expected_active_is_the_midpoint_sum_and_near_the_integral():
    h, r = 0.3, 12.0
    m, step, n = _constant(h, r)
    A = expected_active(m, 0.0, step, n)[0, :, 0]
    D = step / YEAR
    i = np.arange(n)
    exact_sum = r * D * np.exp(-h * D / 2) * (1 - np.exp(-h * D * (i + 1))) / (1 - np.exp(-h * D))
    np.testing.assert_allclose(A, exact_sum, rtol=1e-12)
    integral = r / h * (1 - np.exp(-h * D * (i + 1)))
    np.testing.assert_allclose(A, integral, rtol=(h * D) ** 2 / 20)  # midpoint rule error


def test_counterfactual_factors_and_shapley():
    rng = np.random.default_rng(0)
    S, J, C, X, K = 3, 2, 2, 2, 2
    m = ReachModel(
        slice_start=np.array([0.0, 400.0]), slice_stop=np.array([400.0, 2000.0]),
        slice_era=np.array([0, 1]), rate=rng.uniform(5, 10, (S, J, C)),
        rate_first_era=rng.uniform(2, 5, (S, J, C)),
        mix=rng.dirichlet([1, 1], (S, 2, C)), log_hazard=rng.normal(-1.5, 0.3, (S, 2, C, X, K)),
        cuts=np.array([0.0, 1.0, np.inf]),
    )  # fmt: skip
    step, n = YEAR / 12, 60
    base = expected_active(m, 0.0, step, n)
    all_first = expected_active(m, 0.0, step, n, foundings="first", mix="first", survival="first")
    assert not np.allclose(base, all_first)
    # with everything at the first era the second era's own parameters play no role
    m2 = ReachModel(**{**m.__dict__, "mix": m.mix.copy(), "log_hazard": m.log_hazard.copy()})
    m2.mix[:, 1] = 0.5
    m2.log_hazard[:, 1] = 0.0
    np.testing.assert_allclose(
        expected_active(m2, 0.0, step, n, foundings="first", mix="first", survival="first"),
        all_first, rtol=1e-12,
    )  # fmt: skip
    G = {}
    from itertools import combinations

    from bayessa.growth.counterfactual import FACTORS

    for k in range(4):
        for T in combinations(FACTORS, k):
            kw = {f: ("observed" if f in T else "first") for f in FACTORS}
            G[frozenset(T)] = expected_active(m, 0.0, step, n, **kw).sum(axis=(1, 2))
    shares = shapley_shares(G)
    np.testing.assert_allclose(sum(shares.values()), G[frozenset(FACTORS)] - G[frozenset()])
    # additive G: each factor's share is its own effect
    add = {
        T: sum(float(f in T) * w for f, w in zip(FACTORS, (1.0, 2.0, 4.0), strict=True)) for T in G
    }
    assert {f: float(v) for f, v in shapley_shares(add).items()} == {
        "foundings": 1.0,
        "mix": 2.0,
        "survival": 4.0,
    }
