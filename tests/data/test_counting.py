"""The counting-process form: several rows per unit, validated per unit, split and aggregated exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayessa.data import aggregate, read_data, split
from bayessa.errors import DataError, SpecError

ROLES = dict(id="pid", tstart="t0", tstop="t1", event="ev", covariates=("x",))


def _rows(**changes) -> pd.DataFrame:
    base = {
        "pid": [1, 1, 2, 3, 3, 3],
        "t0": [0.0, 2.0, 0.0, 1.0, 3.0, 4.0],
        "t1": [2.0, 5.0, 3.0, 3.0, 4.0, 7.0],
        "ev": [0, 1, 1, 0, 0, 0],
        "x": ["a", "b", "a", "a", "b", "a"],
    }
    return pd.DataFrame(base | changes)


def test_rows_are_ordered_by_unit_and_time_and_units_summarise_them():
    df = _rows().iloc[[5, 1, 2, 0, 4, 3]]  # shuffled: units in order of first appearance
    before = df.copy()
    data = read_data(df, ROLES)
    pd.testing.assert_frame_equal(df, before)  # the input is not modified
    f = data.frame
    assert list(f["id"]) == [3, 3, 3, 1, 1, 2]
    assert list(f["entry"]) == [1.0, 3.0, 4.0, 0.0, 2.0, 0.0]
    assert list(data.unit_codes) == [0, 0, 0, 1, 1, 2]
    assert data.n_units == 3 and data.has_paths and data.n_events == 2
    u = data.units
    assert list(u["id"]) == [3, 1, 2]
    assert list(u["entry"]) == [1.0, 0.0, 0.0]  # first row's start: delayed entry for unit 3
    assert list(u["exit"]) == [7.0, 5.0, 3.0]  # last row's end
    assert list(u["event"]) == [0, 1, 1]
    assert list(u["x"]) == ["a", "a", "a"]  # the value at entry
    assert any("6 rows for 3 units (2 with more than one row)" in n for n in data.audit.notes)


def test_every_problem_of_the_rows_is_named_with_its_units():
    df = _rows(
        t0=[0.0, 1.5, 0.0, 1.0, 3.0, 4.0],  # unit 1: overlap (second row starts at 1.5 < 2)
        t1=[2.0, 5.0, 3.0, 3.0, 3.0, 7.0],  # unit 3: an empty row (3, 3]
        ev=[1, 0, 1, 0, 0, 0],  # unit 1: event on a row that is not its last
    )
    with pytest.raises(DataError) as err:
        read_data(df, ROLES)
    text = str(err.value)
    assert "overlapping rows of a unit" in text and "(1 unit: 1)" in text
    assert "an event on a row that is not the unit's last" in text
    assert "rows with t1 at or before t0 (1 unit: 3)" in text
    assert len(err.value.problems) == 3


def test_a_bad_row_excludes_its_whole_unit_with_on_invalid_exclude():
    df = _rows(t1=[2.0, 5.0, 3.0, 3.0, 3.0, 7.0])  # unit 3's second row is empty
    data = read_data(df, ROLES, on_invalid="exclude")
    assert sorted(set(data.frame["id"])) == [1, 2]
    assert data.audit.rows_read == 6 and data.audit.rows_kept == 3
    assert data.audit.exclusions[0].ids == (3,)


def test_time_zero_and_cluster_must_not_change_within_a_unit():
    df = _rows(g=["A", "B", "A", "C", "C", "C"], o=[10.0, 10.0, 11.0, 12.0, 12.5, 12.0])
    with pytest.raises(DataError) as err:
        read_data(df, {**ROLES, "cluster": "g", "origin": "o"})
    text = str(err.value)
    assert "'g' changes between the rows of a unit (1 unit: 1)" in text
    assert "time zero changes between the rows of a unit (1 unit: 3)" in text


def test_gaps_are_legal_and_stated():
    df = _rows(t0=[0.0, 2.5, 0.0, 1.0, 3.0, 4.0])  # unit 1 not at risk on (2, 2.5]
    data = read_data(df, ROLES)
    gap = [n for n in data.audit.notes if "gaps between rows" in n]
    assert gap and "1 gaps in 1 units" in gap[0] and gap[0].startswith("1 unit(s) (1)")
    pieces = split(data, [0, 10])
    exposure = pieces.frame.groupby("id")["exposure"].sum()
    assert exposure[1] == pytest.approx(4.5)  # (0, 2] + (2.5, 5]


def test_the_form_needs_an_id_and_both_bounds():
    with pytest.raises(SpecError, match="needs an id column"):
        read_data(_rows(), {**ROLES, "id": None})
    with pytest.raises(SpecError, match="needs both tstart and tstop"):
        read_data(_rows(), {**ROLES, "tstop": None})
    with pytest.raises(SpecError, match="drop the other follow-up columns"):
        read_data(_rows(), {**ROLES, "time": "t1"})


def test_dates_count_from_the_start_column_or_the_first_row():
    df = pd.DataFrame(
        {
            "pid": ["p", "p", "q"],
            "from": ["2000-01-01", "2000-01-31", "2000-03-01"],
            "to": ["2000-01-31", "2000-03-01", "2000-04-10"],
            "ev": [0, 1, 0],
            "zero": ["1999-12-02", "1999-12-02", "2000-03-01"],
        }
    )
    roles = dict(id="pid", tstart="from", tstop="to", event="ev")
    own = read_data(df, roles, time_unit="days")
    assert list(own.frame["entry"]) == [0.0, 30.0, 0.0] and list(own.frame["exit"]) == [
        30.0,
        60.0,
        40.0,
    ]
    assert any("earliest from date" in n for n in own.audit.notes)
    zero = read_data(df, {**roles, "start": "zero"}, time_unit="days")
    assert list(zero.frame["entry"]) == [30.0, 60.0, 0.0]  # p entered 30 days after time zero
    assert zero.has_calendar


def test_pieces_keep_their_rows_covariates_and_cells_are_exact():
    data = read_data(_rows(), ROLES)
    pieces = split(data, [0, 1, 3, 10])
    f = pieces.frame
    # unit 1: x = a on (0, 2], b on (2, 5]; the cut at 3 splits the second row
    one = f[f["id"] == 1]
    assert list(zip(one["start"], one["stop"], one["x"], strict=True)) == [
        (0.0, 1.0, "a"),
        (1.0, 2.0, "a"),
        (2.0, 3.0, "b"),
        (3.0, 5.0, "b"),
    ]
    assert list(pieces.unit_index) == [0, 0, 0, 0, 1, 1, 2, 2, 2]
    assert pieces.n_units == 3
    # the Poisson log-likelihood of rows, pieces and cells is the same for any rates per
    # (interval, x): rows by integrating the piecewise-constant hazard over each row
    rng = np.random.default_rng(3)
    rates = {(k, x): rng.uniform(0.1, 1.0) for k in range(3) for x in "ab"}
    a = np.array([0, 1, 3, 10.0])

    def rate(t, x):
        return rates[(int(np.searchsorted(a, t, side="left") - 1), x)]

    ll_rows = 0.0
    for r in data.frame.itertuples():
        grid = np.unique(np.clip(np.r_[r.entry, a, r.exit], r.entry, r.exit))
        ll_rows -= sum(
            rate(0.5 * (lo + hi), r.x) * (hi - lo)
            for lo, hi in zip(grid[:-1], grid[1:], strict=True)
        )
        ll_rows += r.event * np.log(rate(r.exit, r.x))
    codes = f["interval"].cat.codes.to_numpy()
    lam = np.array([rates[(k, x)] for k, x in zip(codes, f["x"], strict=True)])
    ll_pieces = np.sum(f["event"] * np.log(lam) - lam * f["exposure"])
    cells = aggregate(pieces).frame
    lam_c = np.array(
        [rates[(k, x)] for k, x in zip(cells["interval"].cat.codes, cells["x"], strict=True)]
    )
    ll_cells = np.sum(cells["events"] * np.log(lam_c) - lam_c * cells["exposure"])
    assert ll_rows == pytest.approx(ll_pieces, rel=1e-12)
    assert ll_pieces == pytest.approx(ll_cells, rel=1e-12)


def test_calendar_periods_split_each_row_at_the_calendar_cut():
    df = _rows(o=[2000.0, 2000.0, 2001.0, 1999.0, 1999.0, 1999.0])
    data = read_data(df, {**ROLES, "origin": "o"})
    pieces = split(data, [0, 10], periods=[2003.0], period_labels=["early", "late"])
    f = pieces.frame
    # unit 1 (time zero 2000): rows (0, 2] and (2, 5]; 2003 falls at age 3, inside the second row
    one = f[f["id"] == 1]
    assert list(zip(one["start"], one["stop"], one["period"], one["x"], strict=True)) == [
        (0.0, 2.0, "early", "a"),
        (2.0, 3.0, "early", "b"),
        (3.0, 5.0, "late", "b"),
    ]
    # per unit, exposure is the sum over its rows
    np.testing.assert_allclose(f.groupby("id")["exposure"].sum().loc[[1, 2, 3]], [5.0, 3.0, 6.0])
