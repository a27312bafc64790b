"""The interval form of follow-up: parsing, validation messages, the split of (L, R] and cells."""

import numpy as np
import pandas as pd
import pytest

from bayessa.data.cells import aggregate
from bayessa.data.columns import Columns
from bayessa.data.lexis import split
from bayessa.data.read import read_data
from bayessa.errors import DataError, SpecError

COLS = Columns(id="id", time_lower="L", time_upper="R", covariates=("x",))


def _table():
    return pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6],
        "L": [1.0, 2.0, np.nan, 0.5, 3.0, 0.2],
        "R": [1.0, np.nan, 2.0, 1.5, np.inf, 2.5],
        "x": ["a", "b", "a", "b", "a", "b"],
    })  # fmt: skip


def _read(df, cols=COLS, **kw):
    return read_data(df, cols, time_unit="years", on_invalid=kw.pop("on_invalid", "raise"), **kw)


def test_interval2_conventions():
    sd = _read(_table())
    f = sd.frame
    # exact (L == R): event at L; blank or inf upper: censored at L; blank lower: (0, R]
    np.testing.assert_array_equal(f["exit"], [1.0, 2.0, 0.0, 0.5, 3.0, 0.2])
    np.testing.assert_array_equal(f["event"], [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(f["upper"], [np.nan, np.nan, 2.0, 1.5, np.nan, 2.5])
    assert sd.n_events == 4 and sd.has_intervals
    np.testing.assert_array_equal(sd.interval_censored, [False, False, True, True, False, True])
    assert any("left-censored" in n for n in sd.audit.notes)
    assert any("3 of 6 units" in n for n in sd.audit.notes)


def test_dates_with_start():
    df = pd.DataFrame({
        "id": [1, 2, 3], "s": ["2000-01-01"] * 3,
        "L": ["2001-01-01", "2002-01-01", "2003-01-01"], "R": ["2001-07-02", "", "2003-01-01"],
    })  # fmt: skip
    sd = _read(df, Columns(id="id", start="s", time_lower="L", time_upper="R"))
    f = sd.frame
    np.testing.assert_allclose(f["exit"], np.array([366, 731, 1096]) / 365.25)
    np.testing.assert_allclose(f["upper"], [(366 + 182) / 365.25, np.nan, np.nan])
    np.testing.assert_array_equal(f["event"], [0, 0, 1])
    np.testing.assert_allclose(f["origin"], 10957 / 365.25)


def test_dates_need_start():
    df = pd.DataFrame({"id": [1], "L": ["2001-01-01"], "R": ["2002-01-01"]})
    with pytest.raises(DataError, match="hold dates but no start date column"):
        _read(df, Columns(id="id", time_lower="L", time_upper="R"))


def test_bad_bounds_named_with_ids():
    df = pd.DataFrame({
        "id": ["u1", "u2", "u3", "u4", "u5"], "L": [2.0, -1.0, np.nan, 1.0, "soon"],
        "R": [1.0, 2.0, np.nan, 2.0, 3.0], "x": list("ababa"),
    })  # fmt: skip
    with pytest.raises(DataError) as err:
        _read(df)
    text = str(err.value)
    assert "'L' after 'R' (1 unit: u1)" in text
    assert "bounds before time zero (1 unit: u2)" in text
    assert "both 'L' and 'R' are blank (1 unit: u3)" in text
    assert "neither numbers nor blank (e.g. 'soon')" in text and "u5" in text
    assert "u4" not in text
    # excluded instead, and listed in the audit
    df = pd.concat([df, df.iloc[[3]].assign(id="u6", x="a", R=np.nan)], ignore_index=True)
    sd = _read(df, on_invalid="exclude")
    assert list(sd.frame["id"]) == ["u4", "u6"] and sd.audit.rows_excluded == 4


def test_before_entry_and_zero_length():
    df = pd.DataFrame({"id": [1, 2, 3], "e": [1.0, 1.0, 0.5], "L": [0.5, 1.0, 1.0],
                       "R": [2.0, np.nan, 2.0], "x": ["a", "b", "a"]})  # fmt: skip
    with pytest.raises(DataError) as err:
        _read(df, Columns(id="id", entry="e", time_lower="L", time_upper="R", covariates=("x",)))
    assert "event or last contact before entry (1 unit: 1)" in str(err.value)
    assert "zero length" in str(err.value) and "(1 unit: 2)" in str(err.value)


def test_roles_conflicts():
    with pytest.raises(SpecError, match="together with"):
        Columns(time="t", event="d", time_lower="L", time_upper="R").check()
    with pytest.raises(SpecError, match="needs both time_lower"):
        Columns(time_lower="L").check()
    with pytest.raises(SpecError, match="not supported"):
        Columns(time_lower="L", time_upper="R", censored="none").check()


def test_split_and_cells_hold_the_intervals():
    sd = _read(_table())
    p = split(sd, [0, 1, 2, np.inf])
    # ordinary pieces: follow-up to L only, no event for interval-censored units
    by_unit = p.frame.groupby("id")["exposure"].sum()
    np.testing.assert_allclose(by_unit.loc[[1, 2, 4, 5, 6]], [1.0, 2.0, 0.5, 3.0, 0.2])
    assert 3 not in by_unit.index  # left-censored from 0: no time known event-free
    icf = p.interval_frame
    lengths = icf.assign(u=p.interval_unit).groupby("u")["exposure"].sum()
    np.testing.assert_allclose(lengths.to_numpy(), [2.0, 1.0, 2.3])  # (0,2], (0.5,1.5], (0.2,2.5]
    assert list(icf["interval"].astype(str)[icf["id"] == 6]) == ["(0,1]", "(1,2]", "(2,inf]"]
    cells = aggregate(p)
    f = cells.frame
    # exposure and events only from the ordinary pieces; every interval piece has its cell
    assert f["exposure"].sum() == pytest.approx(p.frame["exposure"].sum())
    assert f["events"].sum() == 1
    keyed = f.iloc[cells.interval_cell]
    np.testing.assert_array_equal(keyed["interval"].astype(str), icf["interval"].astype(str))
    np.testing.assert_array_equal(keyed["x"].astype(str), icf["x"].astype(str))
    # events shared over the cells an interval crosses, in proportion to length
    assert cells.effective_events.sum() == pytest.approx(4.0)


def test_cell_reached_only_by_an_interval():
    df = pd.DataFrame({"id": [1, 2, 3], "L": [0.5, 0.4, 1.0], "R": [np.nan, 0.4, 5.0],
                       "x": ["a", "b", "b"]})  # fmt: skip
    cells = aggregate(split(_read(df), [0, 1, 2, np.inf]))
    f = cells.frame
    empty = f[f["exposure"] == 0]
    assert len(empty) == 2 and (empty["events"] == 0).all() and (empty["n_pieces"] == 0).all()
    assert set(empty["interval"].astype(str)) == {"(1,2]", "(2,inf]"}


def test_beyond_last_cut():
    df = _table().drop(index=4)  # unit 5, censored at 3, is beyond the last cut as any unit
    sd = _read(df)
    with pytest.raises(DataError, match="upper bound is beyond the last cut point 2"):
        split(sd, [0, 1, 2])
    p = split(sd, [0, 1, 2], administrative_censoring=True)
    assert any("count as censored at their lower bound" in n for n in p.notes)
    # unit 6's (0.2, 2.5] reaches beyond 2: censored at 0.2; units 3 and 4 keep theirs
    assert sorted(set(p.interval_frame["id"])) == [3, 4]
