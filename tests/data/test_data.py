"""Reading and validation: every rejected case names the column, the units and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayessa.data import Columns, read_data
from bayessa.errors import DataError, SpecError

DUR = Columns(id="gid", time="years", event="closed", covariates=("leader",), cluster="county")


def frame(**over) -> pd.DataFrame:
    base = {
        "gid": ["g1", "g2", "g3", "g4"],
        "years": [1.5, 2.0, 0.25, 7.0],
        "closed": [1, 0, 1, 0],
        "leader": ["consumer", "professional", "consumer", "professional"],
        "county": ["Wayne", "Kent", "Wayne", "Kent"],
    }
    base.update(over)
    return pd.DataFrame(base)


def error(df, cols=DUR, **kw) -> str:
    with pytest.raises(DataError) as exc:
        read_data(df, cols, **kw)
    return str(exc.value)


def test_durations_read_and_normalised():
    d = read_data(frame(), DUR)
    f = d.frame
    assert list(f.columns) == ["id", "entry", "exit", "event", "origin", "leader", "county"]
    np.testing.assert_array_equal(f["exit"], [1.5, 2.0, 0.25, 7.0])
    np.testing.assert_array_equal(f["entry"], 0.0)
    assert f["event"].dtype == np.int8 and f["event"].tolist() == [1, 0, 1, 0]
    assert list(f["leader"].cat.categories) == ["consumer", "professional"]
    assert d.audit.rows_read == d.audit.rows_kept == 4 and d.n_events == 2
    assert not d.has_calendar


def test_input_frame_is_not_modified():
    df = frame(closed=["true", "false", "TRUE", "0"])
    before = df.copy(deep=True)
    read_data(df, DUR)
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1, 0, 1, 0], [1, 0, 1, 0]),
        ([True, False, True, False], [1, 0, 1, 0]),
        (["true", "False", " 1", "0"], [1, 0, 1, 0]),
        ([1.0, 0.0, 1.0, 0.0], [1, 0, 1, 0]),
    ],
)
def test_event_codings_accepted(values, expected):
    assert read_data(frame(closed=values), DUR).frame["event"].tolist() == expected


def test_dates_form_converts_to_years():
    df = pd.DataFrame(
        {
            "gid": ["a", "b"],
            "start": ["1990-01-01", "1991-01-01"],
            "stop": ["1991-01-01", "1991-07-02"],
            "ev": [1, 0],
        }
    )
    d = read_data(df, Columns(id="gid", start="start", stop="stop", event="ev"))
    np.testing.assert_allclose(d.frame["exit"], [365 / 365.25, 182 / 365.25], rtol=1e-15)
    # calendar time of time zero: days since 1970-01-01 in years
    np.testing.assert_allclose(d.frame["origin"], [7305 / 365.25, 7670 / 365.25], rtol=1e-15)
    d_days = read_data(
        df, Columns(id="gid", start="start", stop="stop", event="ev"), time_unit="days"
    )
    np.testing.assert_array_equal(d_days.frame["exit"], [365.0, 182.0])


def test_event_date_form_derives_event_and_stop():
    df = pd.DataFrame(
        {
            "gid": ["a", "b"],
            "founded": ["1990-01-01", "1990-01-01"],
            "closed": ["1990-01-11", None],
            "last": ["1990-02-01", "1990-01-21"],
        }
    )
    d = read_data(
        df,
        Columns(id="gid", start="founded", event_date="closed", censor_date="last"),
        time_unit="days",
    )
    assert d.frame["event"].tolist() == [1, 0]
    assert d.frame["exit"].tolist() == [10.0, 20.0]


def test_delayed_entry_durations():
    d = read_data(
        frame(entry=[0.5, 0.0, 0.1, 6.0]),
        Columns(id="gid", time="years", event="closed", entry="entry"),
    )
    assert d.frame["entry"].tolist() == [0.5, 0.0, 0.1, 6.0]


# ---------------------------------------------------------------- rejected cases, one message each


def test_missing_columns_listed_all_at_once():
    msg = error(frame().drop(columns=["years", "county"]))
    assert "column 'years' not found" in msg and "column 'county' not found" in msg
    assert "the table has: gid, closed, leader" in msg


def test_non_numeric_durations():
    msg = error(frame(years=["1.5", "2 years", "0.25", "x"]))
    assert (
        "column 'years'" in msg and "not numbers" in msg and "g2, g4" in msg and "'2 years'" in msg
    )


def test_negative_and_infinite_durations():
    msg = error(frame(years=[-1.0, 2.0, np.inf, 7.0]))
    assert "negative durations (1 unit: g1)" in msg
    assert "infinite duration (1 unit: g3)" in msg


def test_missing_required_values():
    msg = error(frame(years=[np.nan, 2.0, 1.0, 7.0], closed=[1, None, 1, 0]))
    assert "missing duration (1 unit: g1)" in msg and "missing event values (1 unit: g2)" in msg


def test_stop_before_start():
    df = pd.DataFrame(
        {
            "gid": ["a", "b"],
            "s": ["1990-01-01", "1991-01-01"],
            "e": ["1989-01-01", "1992-01-01"],
            "ev": [1, 1],
        }
    )
    msg = error(df, Columns(id="gid", start="s", stop="e", event="ev"))
    assert "column 'e': end of follow-up before s (1 unit: a)" in msg


def test_unparseable_and_mixed_date_formats():
    df = pd.DataFrame(
        {
            "gid": ["a", "b", "c"],
            "s": ["1990-01-01", "01/02/1990", "soon"],
            "e": ["1991-01-01", "1992-01-01", "1992-01-01"],
            "ev": [1, 1, 0],
        }
    )
    msg = error(df, Columns(id="gid", start="s", stop="e", event="ev"))
    assert (
        "column 's': dates that are not ISO 8601" in msg
        and "(2 units: b, c)" in msg
        and "YYYY-MM-DD" in msg
    )


def test_entry_not_before_exit():
    msg = error(
        frame(entry=[2.0, 0.0, 0.25, 0.0]),
        Columns(id="gid", time="years", event="closed", entry="entry"),
    )
    assert "column 'entry': entry at or after the end of follow-up (2 units: g1, g3)" in msg


def test_zero_length_follow_up_without_entry():
    msg = error(frame(years=[0.0, 2.0, 1.0, 7.0]))
    assert "zero-length follow-up" in msg and "(1 unit: g1)" in msg


def test_event_values_outside_set():
    msg = error(frame(closed=["yes", "no", "1", "2"]))
    assert "event values outside {0, 1, true, false}" in msg and "(3 units: g1, g2, g4)" in msg
    assert "yes -> 1" in msg


def test_duplicate_ids():
    msg = error(frame(gid=["g1", "g1", "g3", "g3"]))
    assert "duplicated unit ids (4 units: g1, g1, g3, g3)" in msg


def test_missing_ids_are_labelled_by_row():
    msg = error(frame(gid=["g1", None, "g3", "g4"]))
    assert "missing unit ids (1 unit: row 2)" in msg


def test_empty_table():
    msg = error(frame().iloc[:0])
    assert "header but no rows" in msg


def test_no_events():
    msg = error(frame(closed=[0, 0, 0, 0]))
    assert "no events at all" in msg and "column 'closed'" in msg


def test_single_level_covariate():
    msg = error(frame(leader=["consumer"] * 4))
    assert "column 'leader': covariate has a single level ['consumer']" in msg


def test_missing_covariate_value():
    msg = error(frame(leader=["consumer", None, "", "professional"]))
    assert "missing covariate values (2 units: g2, g3)" in msg


def test_every_problem_reported_in_one_error():
    msg = error(frame(years=[-1.0, "x", 1.0, 2.0], closed=[1, 0, 5, 0], gid=["a", "a", "c", "d"]))
    assert msg.startswith("3 problems in the data") or msg.startswith("4 problems in the data")
    for part in (
        "duplicated unit ids",
        "not numbers",
        "negative durations",
        "event values outside",
    ):
        assert part in msg


def test_exclude_mode_records_every_exclusion():
    d = read_data(
        frame(years=[-1.0, 2.0, 1.0, 7.0], closed=[1, 0, 1, 9]), DUR, on_invalid="exclude"
    )
    assert d.frame["id"].tolist() == ["g2", "g3"]
    a = d.audit
    assert (a.rows_read, a.rows_kept, a.rows_excluded) == (4, 2, 2)
    reasons = {e.reason: e.ids for e in a.exclusions}
    assert reasons["negative durations [years]"] == ("g1",)
    assert any(ids == ("g4",) for r, ids in reasons.items() if r.startswith("event values"))
    assert "2 excluded" in str(a)


def test_inconsistent_roles_are_spec_errors():
    with pytest.raises(SpecError, match="no event column"):
        read_data(frame(), Columns(id="gid", time="years"))
    with pytest.raises(SpecError, match="no follow-up given"):
        read_data(frame(), Columns(id="gid", event="closed"))
    with pytest.raises(SpecError, match="more than one role"):
        read_data(frame(), Columns(id="gid", time="years", event="closed", covariates=("years",)))
    with pytest.raises(SpecError, match="reserved"):
        read_data(
            frame(exit=1), Columns(id="gid", time="years", event="closed", covariates=("exit",))
        )


def test_files_csv_parquet_and_bad_paths(tmp_path):
    df = frame()
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_parquet(tmp_path / "d.parquet")
    a = read_data(tmp_path / "d.csv", DUR).frame
    b = read_data(tmp_path / "d.parquet", DUR).frame
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(DataError, match="does not exist"):
        read_data(tmp_path / "nope.csv", DUR)
    csv_only = tmp_path / "csv_only"
    csv_only.mkdir()
    df.to_csv(csv_only / "d.csv", index=False)
    with pytest.raises(DataError, match="is a directory without Parquet files"):
        read_data(csv_only, DUR)
    pd.testing.assert_frame_equal(read_data(tmp_path, DUR).frame, b)  # a Parquet dataset folder
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        read_data(tmp_path / "empty.csv", DUR)
    (tmp_path / "header.csv").write_text("gid,years,closed,leader,county\n")
    with pytest.raises(DataError, match="header but no rows"):
        read_data(tmp_path / "header.csv", DUR)


def test_byte_order_mark_is_accepted(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufeff".encode() + frame().to_csv(index=False).encode())
    assert read_data(p, DUR).n_units == 4


def test_data_hash_identifies_content():
    h1 = read_data(frame(), DUR).data_hash
    assert h1 == read_data(frame(), DUR).data_hash
    assert h1 != read_data(frame(years=[1.5, 2.0, 0.25, 7.5]), DUR).data_hash
