"""Competing risks in the data layer: an outcome column of causes, one split, events per cause."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayessa.data import aggregate, read_data, split
from bayessa.errors import DataError, SpecError

DF = pd.DataFrame(
    {
        "gid": [f"g{i}" for i in range(8)],
        "years": [1.0, 2.5, 3.0, 0.5, 4.0, 2.0, 1.5, 3.5],
        "outcome": ["folded", "merged", "censored", "folded", "censored", "merged", "folded", "x"],
        "leader": ["c", "p"] * 4,
    }
)
ROLES = dict(id="gid", time="years", event="outcome", censored="censored", covariates=("leader",))


def test_outcomes_become_causes_and_cells_count_each_causes_events():
    data = read_data(DF, ROLES)
    assert data.causes == ("folded", "merged", "x")  # sorted; every non-censored value a cause
    assert list(data.frame["cause"]) == [1, 2, 0, 1, 0, 2, 1, 3]
    assert list(data.frame["event"]) == [1, 1, 0, 1, 0, 1, 1, 1]
    pieces = split(data, [0, 1, 2, 5])
    # the cause sits on the event's piece only
    assert (pieces.frame["cause"] > 0).sum() == 6
    assert (pieces.frame.loc[pieces.frame["event"] == 0, "cause"] == 0).all()
    cells = aggregate(pieces)
    np.testing.assert_array_equal(cells.cause_events.sum(axis=1), cells.events)
    np.testing.assert_array_equal(cells.cause_events.sum(axis=0), [3, 2, 1])
    merged = cells.for_cause("merged")
    assert merged.events.sum() == 2 and merged.pieces.frame["event"].sum() == 2
    np.testing.assert_allclose(merged.exposure, cells.exposure)  # one split, one exposure


def test_outcome_problems_are_named():
    bad = DF.assign(outcome=DF["outcome"].where(DF.index != 2, None))
    with pytest.raises(DataError, match="missing outcomes") as err:
        read_data(bad, ROLES)
    assert "g2" in str(err.value)
    with pytest.raises(DataError, match="no event of any cause"):
        read_data(DF.assign(outcome="censored"), ROLES)
    with pytest.raises(SpecError, match="event-date form has none"):
        read_data(DF, dict(id="gid", start="a", event_date="b", censor_date="c", censored="0"))


def test_a_censoring_value_nobody_has_is_stated():
    data = read_data(DF.assign(outcome=DF["outcome"].replace("censored", "lost")), ROLES)
    assert "lost" in data.causes
    assert any("no unit has the censoring value 'censored'" in n for n in data.audit.notes)
