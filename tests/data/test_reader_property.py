"""Property: on any table, and any file, ``read_data`` returns valid data or raises ``DataError``.

Nothing else escapes (no pandas/pyarrow exception, no warning: the test suite turns warnings into
errors), whatever the cells hold: text, numbers, NaN, infinities, booleans, blanks, dates in
several formats, or raw bytes in a file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayessa.data import Columns, read_data
from bayessa.errors import DataError

FORMS = [
    Columns(id="gid", time="years", event="closed", covariates=("leader",), cluster="county"),
    Columns(time="years", event="closed", entry="entry", origin="origin"),
    Columns(id="gid", start="start", stop="stop", event="closed", covariates=("leader",)),
    Columns(id="gid", start="start", event_date="stop", censor_date="last", entry="entry"),
]
NAMES = ["gid", "years", "closed", "leader", "county", "entry", "origin", "start", "stop", "last"]
SPECIAL = ["", " ", "yes", "no", "1", "0", "true", "2", "-1", "nan", "inf", "-inf", "1e308",
           "2.5 years", "1990-01-01", "1990-13-45", "01/02/1990", "1990-01-01T12:00", "\ufeff"]  # fmt: skip

PLAUSIBLE = {
    "gid": ["a", "b", "c", "d", "e", "a"],
    "years": ["0.5", "1", "2.25", "0", "7", "-1"],
    "closed": ["1", "0", "1", "yes", "true", ""],
    "leader": ["consumer", "professional", "x"],
    "county": ["Wayne", "Kent"],
    "entry": ["0", "0.1", "1990-06-01", "0"],
    "origin": ["1990.5", "1991", "1995"],
    "start": ["1990-01-01", "1991-05-02", "1992-02-29"],
    "stop": ["1993-01-01", "1994-07-31", "", "1990-01-01"],
    "last": ["1999-06-30", "1995-01-01", ""],
}
cell = st.one_of(
    st.none(),
    st.sampled_from(SPECIAL),
    st.text(max_size=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
    st.booleans(),
)


@st.composite
def tables(draw, form: Columns | None = None) -> pd.DataFrame:
    """Tables with (usually) the columns ``form`` reads, plus others; cells of any kind."""
    n = draw(st.integers(0, 6))
    if form is not None and draw(st.integers(0, 9)) > 0:
        names = form.used() + draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
        names = list(dict.fromkeys(names))
    else:
        names = draw(st.lists(st.sampled_from(NAMES), unique=True, min_size=1, max_size=len(NAMES)))
    data = {}
    for name in names:
        kind = draw(st.sampled_from(["text"] * 6 + ["mixed", "float", "int", "bool", "category"]))
        if kind == "mixed":
            data[name] = pd.Series(draw(st.lists(cell, min_size=n, max_size=n)), dtype=object)
        elif kind == "text":  # plausible values, so that some tables are valid
            values = draw(st.lists(st.sampled_from(PLAUSIBLE[name]), min_size=n, max_size=n))
            data[name] = pd.Series(values, dtype=object)
        elif kind == "float":
            data[name] = pd.Series(draw(st.lists(st.floats(), min_size=n, max_size=n)), dtype=float)
        elif kind == "int":
            data[name] = pd.Series(
                draw(st.lists(st.integers(-5, 10**6), min_size=n, max_size=n)), dtype="int64"
            )
        elif kind == "bool":
            data[name] = pd.Series(
                draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool
            )
        else:
            values = draw(st.lists(st.sampled_from(["a", "b", " ", "c"]), min_size=n, max_size=n))
            data[name] = pd.Series(values, dtype="category")
    return pd.DataFrame(data, index=pd.RangeIndex(n))


def check(result) -> None:
    f = result.frame
    assert np.isfinite(f["exit"]).all() and (f["exit"] > f["entry"]).all()
    assert (f["entry"] >= 0).all() and set(f["event"].unique()) <= {0, 1}
    assert f["event"].sum() > 0


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def table_case(data, form, exclude) -> None:
    table = data.draw(tables(form))
    before = table.copy(deep=True)
    try:
        result = read_data(table, form, on_invalid="exclude" if exclude else "raise")
    except DataError as err:
        assert str(err)  # a message, never empty
    else:
        check(result)
    pd.testing.assert_frame_equal(table, before)  # the input is never modified


lines = st.lists(
    st.lists(st.one_of(st.sampled_from(SPECIAL), st.text(max_size=5)), min_size=1, max_size=5),
    max_size=5,
)


files = dict(
    content=st.one_of(
        st.binary(max_size=200),
        lines.map(
            lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")
        ),
        lines.map(  # with a header naming every column any form reads
            lambda rows: (",".join(NAMES) + "\n" + "\n".join(",".join(r) for r in rows)).encode(
                "utf-8", "surrogatepass"
            )
        ),
    ),
    form=st.sampled_from(FORMS),
    suffix=st.sampled_from([".csv", ".parquet", ".txt"]),
)


def file_case(content, form, suffix) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"table{suffix}"
        path.write_bytes(content)
        try:
            result = read_data(path, form)
        except DataError as err:
            assert str(err)
        else:
            check(result)


tables_args = dict(data=st.data(), form=st.sampled_from(FORMS), exclude=st.booleans())
test_reader_raises_only_data_error_on_any_table = FAST(given(**tables_args)(table_case))
test_reader_raises_only_data_error_on_any_file = FAST(given(**files)(file_case))
test_reader_thorough_tables = pytest.mark.slow(THOROUGH(given(**tables_args)(table_case)))
test_reader_thorough_files = pytest.mark.slow(THOROUGH(given(**files)(file_case)))
