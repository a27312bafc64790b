"""A base table plus a change table -> counting-process rows, with R's tmerge conventions.

(R's own output on pbc/pbcseq is pinned in tests/frequentist/test_tvc_reference.py.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayessa.data import read_data
from bayessa.data.changes import apply_changes
from bayessa.errors import DataError, SpecError

BASE = pd.DataFrame(
    {
        "gid": ["g1", "g2", "g3"],
        "years": [5.0, 3.0, 4.0],
        "closed": [1, 0, 1],
        "leader": ["consumer", "consumer", "professional"],
        "size": [10.0, 12.0, 8.0],
    }
)
ROLES = dict(id="gid", time="years", event="closed", covariates=("leader", "size"))


def _merge(changes: pd.DataFrame, base: pd.DataFrame = BASE, **kw):
    return apply_changes(read_data(base, ROLES, **kw), changes, id="gid", time="at")


def test_values_hold_from_their_time_until_the_next_change():
    changes = pd.DataFrame(
        {
            "gid": ["g1", "g1", "g2", "g3", "g3"],
            "at": [2.0, 0.0, 1.5, 4.0, 9.0],  # g1 at 0: at entry; g3 at its exit and after
            "leader": ["professional", None, "professional", "consumer", "consumer"],
            "size": [None, 11.0, None, None, 1.0],
        }
    )
    before = changes.copy()
    m = _merge(changes)
    pd.testing.assert_frame_equal(changes, before)
    f = m.frame
    got = list(zip(f["id"], f["entry"], f["exit"], f["event"], f["leader"], f["size"], strict=True))
    assert got == [
        ("g1", 0.0, 2.0, 0, "consumer", 11.0),  # the change at 0 sets the value from entry
        ("g1", 2.0, 5.0, 1, "professional", 11.0),  # blank size: size does not change
        ("g2", 0.0, 1.5, 0, "consumer", 12.0),
        ("g2", 1.5, 3.0, 0, "professional", 12.0),
        ("g3", 0.0, 4.0, 1, "professional", 8.0),  # changes at/after exit ignored
    ]
    assert m.counting and m.n_units == 3
    note = next(n for n in m.audit.notes if "changes read" in n)
    assert "2 during follow-up (in 2 units), 1 at or before a unit's entry" in note
    assert "2 at or after a unit's exit (ignored)" in note


def test_new_levels_may_first_appear_in_the_change_table():
    base = BASE.assign(leader=["consumer", "consumer", "consumer"])
    changes = pd.DataFrame({"gid": ["g2"], "at": [1.0], "leader": ["professional"]})
    m = read_data(base, ROLES, changes=changes, change_time="at")
    assert list(m.frame["leader"].cat.categories) == ["consumer", "professional"]
    # a single level at entry is fine when a change follows; after the merge it is checked
    late = changes.assign(at=[7.0])
    with pytest.raises(DataError, match="single level"):
        read_data(base, ROLES, changes=late, change_time="at")


def test_change_times_as_dates_count_from_each_units_time_zero():
    base = pd.DataFrame(
        {
            "gid": ["g1", "g2"],
            "founded": ["1990-01-01", "1995-07-01"],
            "ended": ["1994-01-01", "1999-01-01"],
            "closed": [1, 0],
            "leader": ["consumer", "professional"],
        }
    )
    roles = dict(id="gid", start="founded", stop="ended", event="closed", covariates=("leader",))
    data = read_data(base, roles, time_unit="days")
    changes = pd.DataFrame({"gid": ["g1"], "date": ["1991-01-01"], "leader": ["professional"]})
    m = apply_changes(data, changes, id="gid", time="date")
    assert list(m.frame["entry"]) == [0.0, 365.0, 0.0]  # 1990 has 365 days
    with pytest.raises(SpecError, match="calendar time zero is not known"):
        apply_changes(read_data(BASE, ROLES), changes.rename(columns={"date": "at"}), id="gid",
                      time="at")  # fmt: skip


def test_every_problem_of_the_change_table_at_once():
    changes = pd.DataFrame(
        {
            "gid": ["g1", "g9", "g2", "g2", None],
            "at": [1.0, 1.0, "soon", 2.0, 1.0],
            "size": [11.0, 1.0, 3.0, "big", 2.0],
        }
    )
    with pytest.raises(DataError) as err:
        _merge(changes)
    text = str(err.value)
    assert "changes for ids that are not in the base table" in text and "g9" in text
    assert "change time values that are not numbers" in text
    assert "new values that are not numbers" in text
    assert "changes without a unit id" in text


def test_conflicting_changes_at_one_time_are_refused():
    changes = pd.DataFrame(
        {"gid": ["g1", "g1"], "at": [2.0, 2.0], "leader": ["professional", "consumer"]}
    )
    with pytest.raises(DataError, match="conflicting changes"):
        _merge(changes)
    same = changes.assign(leader=["professional", "professional"])
    assert len(_merge(same).frame) == 4  # identical duplicates are one change


def test_columns_not_in_the_formula_are_ignored_and_named():
    changes = pd.DataFrame({"gid": ["g1"], "at": [2.0], "size": [9.0], "note": ["moved"]})
    m = _merge(changes)
    assert any("not in the formula were ignored: note" in n for n in m.audit.notes)
    with pytest.raises(DataError, match="no column of a covariate in the formula"):
        _merge(changes[["gid", "at", "note"]])


def test_read_data_merges_a_change_table_and_needs_its_time_column():
    changes = pd.DataFrame({"gid": ["g2"], "at": [1.0], "leader": ["professional"]})
    m = read_data(BASE, ROLES, changes=changes, change_time="at")
    assert len(m.frame) == 4 and m.has_paths
    with pytest.raises(SpecError, match="needs change_time"):
        read_data(BASE, ROLES, changes=changes)
    np.testing.assert_array_equal(m.units["exit"], BASE["years"])


def test_category_labels_match_the_base_table_whatever_the_change_tables_type():
    base = BASE.assign(grade=["1", "2", "1"])
    roles = {**ROLES, "covariates": ("leader", "grade"), "categorical": ("grade",)}
    changes = pd.DataFrame({"gid": ["g1", "g2"], "at": [1.0, 1.0], "grade": [2.0, None]})
    m = read_data(base, roles, changes=changes, change_time="at")
    assert list(m.frame["grade"].astype(str)) == ["1", "2", "2", "1"]  # g2: a blank, no split
    assert list(m.frame["grade"].cat.categories) == ["1", "2"]
    assert any("1 changes during follow-up had every value blank" in n for n in m.audit.notes)
