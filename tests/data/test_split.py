"""Lexis splitting: exact hand-computed fixtures and invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayessa.data import Columns, read_data
from bayessa.data.cells import aggregate
from bayessa.data.lexis import split
from bayessa.errors import DataError, SpecError


def units(**over):
    base = {"id": ["a", "b", "c"], "t": [2.5, 0.4, 6.0], "d": [1, 0, 1], "x": ["p", "q", "p"]}
    base.update(over)
    return read_data(
        pd.DataFrame(base),
        Columns(
            id="id",
            time="t",
            event="d",
            covariates=("x",),
            **({"entry": "e"} if "e" in base else {}),
        ),
    )


def test_hand_computed_rows():
    p = split(units(), [0, 1, 2, 5, 10])
    f = p.frame
    assert list(f.columns) == [
        "id",
        "interval",
        "period",
        "start",
        "stop",
        "exposure",
        "event",
        "x",
    ]
    expected = pd.DataFrame(
        {
            "id": ["a", "a", "a", "b", "c", "c", "c", "c"],
            "interval": ["(0,1]", "(1,2]", "(2,5]", "(0,1]", "(0,1]", "(1,2]", "(2,5]", "(5,10]"],
            "start": [0, 1, 2, 0, 0, 1, 2, 5.0],
            "stop": [1, 2, 2.5, 0.4, 1, 2, 5, 6.0],
            "event": [0, 0, 1, 0, 0, 0, 0, 1],
            "x": ["p", "p", "p", "q", "p", "p", "p", "p"],
        }
    )
    assert f["id"].tolist() == expected["id"].tolist()
    assert f["interval"].astype(str).tolist() == expected["interval"].tolist()
    np.testing.assert_array_equal(f["start"], expected["start"])
    np.testing.assert_array_equal(f["stop"], expected["stop"])
    np.testing.assert_array_equal(f["exposure"], expected["stop"] - expected["start"])
    assert f["event"].tolist() == expected["event"].tolist()
    assert f["x"].astype(str).tolist() == expected["x"].tolist()
    assert (f["period"] == "all").all()
    assert list(f["interval"].cat.categories) == ["(0,1]", "(1,2]", "(2,5]", "(5,10]"]


def test_event_exactly_at_cut_point_belongs_to_the_interval_it_closes():
    p = split(units(t=[2.0, 0.4, 6.0]), [0, 1, 2, 5, 10])
    a = p.frame[p.frame["id"] == "a"]
    assert a["interval"].astype(str).tolist() == ["(0,1]", "(1,2]"]
    assert a["event"].tolist() == [0, 1]


def test_delayed_entry_starts_first_piece_at_entry():
    p = split(units(e=[1.5, 0.1, 5.5]), [0, 1, 2, 5, 10])
    f = p.frame
    a = f[f["id"] == "a"]
    assert a["start"].tolist() == [1.5, 2.0] and a["stop"].tolist() == [2.0, 2.5]
    assert a["interval"].astype(str).tolist() == ["(1,2]", "(2,5]"]
    c = f[f["id"] == "c"]
    assert c["start"].tolist() == [5.5] and c["exposure"].tolist() == [0.5]


def test_calendar_split_hand_computed():
    # time zero at calendar 1988.0 (numeric origin), periods cut at 1990 and 1993.
    df = pd.DataFrame({"id": ["a"], "t": [6.0], "d": [1], "o": [1988.0]})
    data = read_data(df, Columns(id="id", time="t", event="d", origin="o"))
    p = split(
        data,
        [0, 1, 3, 10],
        periods=[1990.0, 1993.0],
        period_labels=["before", "early", "formal"],
        period_name="era_now",
    )
    f = p.frame
    assert f["start"].tolist() == [0, 1, 2, 3, 5]
    assert f["stop"].tolist() == [1, 2, 3, 5, 6]
    assert f["interval"].astype(str).tolist() == ["(0,1]", "(1,3]", "(1,3]", "(3,10]", "(3,10]"]
    assert f["era_now"].astype(str).tolist() == ["before", "before", "early", "early", "formal"]
    assert f["event"].tolist() == [0, 0, 0, 0, 1]


def test_calendar_split_with_dates_and_default_labels():
    df = pd.DataFrame(
        {
            "id": ["a", "b"],
            "s": ["1989-01-01", "1994-06-01"],
            "e": ["1995-01-01", "1995-01-01"],
            "d": [0, 1],
        }
    )
    data = read_data(df, Columns(id="id", start="s", stop="e", event="d"))
    p = split(data, [0, np.inf], periods=["1990-01-01", "1993-01-01"])
    assert list(p.frame["period"].cat.categories) == [
        "before 1990-01-01",
        "1990-01-01 to 1993-01-01",
        "from 1993-01-01",
    ]
    a = p.frame[p.frame["id"] == "a"]
    assert a["period"].astype(str).tolist() == list(p.frame["period"].cat.categories)
    # piece boundaries fall on the calendar dates: 1990-01-01 is 365 days after 1989-01-01
    np.testing.assert_allclose(a["stop"].iloc[0], 365 / 365.25, rtol=1e-12)
    assert p.frame[p.frame["id"] == "b"]["period"].astype(str).tolist() == ["from 1993-01-01"]


def test_invariants_on_random_units():
    rng = np.random.default_rng(7)
    n = 2000
    entry = rng.uniform(0, 3, n) * (rng.random(n) < 0.3)
    t = entry + rng.exponential(4, n) + 1e-9
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "t": t,
            "e": entry,
            "d": rng.integers(0, 2, n),
            "o": rng.uniform(1985, 1995, n),
        }
    )
    data = read_data(df, Columns(id="id", time="t", event="d", entry="e", origin="o"))
    p = split(data, [0, 0.5, 1, 2, 3, 5, 8, np.inf], periods=[1989.0, 1993.0])
    f = p.frame
    assert (f["exposure"] > 0).all()
    per_unit = f.groupby("id", sort=True)[["exposure", "event"]].sum()
    np.testing.assert_allclose(per_unit["exposure"].to_numpy(), t - entry, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(per_unit["event"].to_numpy(), df["d"].to_numpy())
    # every piece lies inside its interval and its calendar period
    cuts = p.cuts
    k = f["interval"].cat.codes.to_numpy()
    assert (f["start"].to_numpy() >= cuts[k] - 1e-12).all() and (
        f["stop"].to_numpy() <= cuts[k + 1] + 1e-12
    ).all()
    cal0 = df["o"].to_numpy()[p.unit_index] + f["start"].to_numpy()
    cal1 = df["o"].to_numpy()[p.unit_index] + f["stop"].to_numpy()
    edges = np.array([-np.inf, 1989.0, 1993.0, np.inf])
    j = f["period"].cat.codes.to_numpy()
    assert (cal0 >= edges[j] - 1e-9).all() and (cal1 <= edges[j + 1] + 1e-9).all()
    # replaying the split on the same data gives the same pieces
    pd.testing.assert_frame_equal(p.replay(data).frame, f)


def test_follow_up_beyond_last_cut_needs_explicit_choice():
    with pytest.raises(DataError) as exc:
        split(units(), [0, 1, 2, 5])
    msg = str(exc.value)
    assert (
        "beyond the last cut point 5" in msg
        and "(1 unit: c)" in msg
        and "administrative_censoring=True" in msg
    )
    p = split(units(), [0, 1, 2, 5], administrative_censoring=True)
    c = p.frame[p.frame["id"] == "c"]
    assert c["stop"].max() == 5 and c["event"].sum() == 0
    assert (
        "1 units followed beyond it were censored there (1 later events not counted)" in p.notes[0]
    )


@pytest.mark.parametrize(
    "cuts, match",
    [
        ([0, 2, 1], "strictly increasing"),
        ([1, 2, 3], "must start at 0"),
        ([0, -1], "must not be negative"),
        ([0], "at least two"),
        ([0, np.nan, 2], "finite"),
        ("abc", "must be numbers"),
    ],
)
def test_bad_cuts(cuts, match):
    with pytest.raises(SpecError, match=match):
        split(units(), cuts)


def test_calendar_periods_need_origin_and_matching_labels():
    with pytest.raises(SpecError, match="calendar time of each unit's time zero"):
        split(units(), [0, 10], periods=[1990.0])
    df = pd.DataFrame({"id": ["a"], "t": [6.0], "d": [1], "o": [1988.0]})
    data = read_data(df, Columns(id="id", time="t", event="d", origin="o"))
    with pytest.raises(SpecError, match="make 3 periods but 2 period_labels"):
        split(data, [0, 10], periods=[1990.0, 1991.0], period_labels=["a", "b"])
    with pytest.raises(SpecError, match="strictly increasing"):
        split(data, [0, 10], periods=[1991.0, 1990.0])


def test_aggregation_preserves_poisson_likelihood_up_to_constant():
    """sum_j d_j log(mu_j) - mu_j over pieces equals the same over cells minus sum_j d_j log t_j."""
    rng = np.random.default_rng(11)
    n = 3000
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "t": rng.exponential(3, n) + 0.01,
            "d": rng.integers(0, 2, n),
            "o": rng.uniform(1985, 1995, n),
            "x": rng.choice(["a", "b", "c"], n),
            "g": rng.choice([f"k{i}" for i in range(7)], n),
        }
    )
    data = read_data(
        df, Columns(id="id", time="t", event="d", origin="o", covariates=("x",), cluster="g")
    )
    p = split(data, [0, 1, 2, 4, np.inf], periods=[1990.0])
    cells = aggregate(p)
    f, c = p.frame, cells.frame
    assert c["events"].sum() == df["d"].sum()
    np.testing.assert_allclose(c["exposure"].sum(), f["exposure"].sum(), rtol=1e-12)
    for _ in range(5):  # random parameter values
        beta = {
            k: rng.normal(0, 1, len(f[k].cat.categories)) for k in ("interval", "period", "x", "g")
        }

        def log_rate(tab, beta=beta):
            return sum(beta[k][tab[k].cat.codes.to_numpy()] for k in beta)

        lp, lc = log_rate(f), log_rate(c)
        d, t = f["event"].to_numpy(), f["exposure"].to_numpy()
        ll_pieces = np.sum(d * (lp + np.log(t)) - np.exp(lp) * t)
        D, T = c["events"].to_numpy(), c["exposure"].to_numpy()
        ll_cells = np.sum(D * (lc + np.log(T)) - np.exp(lc) * T)
        const = np.sum(d * np.log(t)) - np.sum(D * np.log(T))
        np.testing.assert_allclose(ll_pieces, ll_cells + const, rtol=1e-10)
    # each piece maps to the cell with its own key
    for k in cells.keys:
        assert (c[k].to_numpy()[cells.piece_cell] == f[k].to_numpy()).all()
