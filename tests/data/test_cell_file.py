"""Cells as a product (bayessa.data.cell_file), exact exposure sums, and the merge helpers of the
partitioned engine that need no cluster."""

from __future__ import annotations

import math
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayessa.data import (
    Audit,
    Columns,
    UnitSummary,
    aggregate,
    combine_parts,
    exposure_parts,
    read_cells,
    read_data,
    split,
    write_cells,
)
from bayessa.data.columns import Exclusion
from bayessa.data.parsing import _split_examples
from bayessa.errors import DataError, Problem, SpecError, format_ids

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "bayessa" / "resources" / "data" / "sa_groups.csv"
SA = Columns(
    id="group_id", start="founded", event_date="closed", censor_date="last_contact",
    covariates=("leader", "setting", "era"), cluster="county",
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0.0, max_value=1e4, allow_nan=False), min_size=1, max_size=60),
    st.randoms(use_true_random=False),
)
def test_exposure_sums_are_exact_whatever_the_order(values, rnd):
    x = np.asarray(values)
    cell = np.array([rnd.randrange(3) for _ in values])
    parts = exposure_parts(cell, x, 3)
    got = combine_parts(parts)
    exact = [math.fsum(x[cell == k]) for k in range(3)]
    # correctly rounded, but for the bits below 2**-75 of a time unit, which are dropped
    assert got.tolist() == pytest.approx(exact, rel=2**-52, abs=len(values) * 2.0**-75)
    order = list(range(len(values)))
    rnd.shuffle(order)
    again = exposure_parts(cell[order], x[order], 3)
    assert (again == parts).all()  # the parts, not only their total
    halves = exposure_parts(cell[: len(x) // 2], x[: len(x) // 2], 3) + exposure_parts(
        cell[len(x) // 2 :], x[len(x) // 2 :], 3
    )
    assert (combine_parts(halves) == got).all()  # partitions add exactly


def test_exposure_of_an_absurd_length_is_refused():
    with pytest.raises(DataError, match="time unit"):
        exposure_parts(np.zeros(1, int), np.array([2.0**31]), 1)


def test_problem_and_exclusion_counts_beyond_the_ids_kept():
    p = Problem("missing dates", "fill them in", "founded", ("a", "b"), count=40)
    assert "(40 units: a, b and 38 more)" in str(p)
    assert format_ids(list("abcdefg")) == "a, b, c, d, e and 2 more"
    e = Exclusion("missing dates [founded]", ("a",), 3)
    audit = Audit("x.csv", 10, 7, (e,), ("a note",))
    assert "excluded 3: missing dates [founded] (a and 2 more)" in str(audit)
    assert Audit.from_dict(audit.to_dict()) == replace(audit, exclusions=(replace(e, ids=("a",)),))
    err = DataError([p], source="x.csv")
    assert str(pickle.loads(pickle.dumps(err))) == str(err)  # errors cross process boundaries


def test_examples_are_split_off_a_problem_text():
    assert _split_examples("dates that are not ISO 8601 (e.g. 'x', 'y')") == (
        "dates that are not ISO 8601",
        "",
    )
    assert _split_examples("covariate is str, not numbers (e.g. 'a'), but the formula")[1] == (
        ", but the formula"
    )
    assert _split_examples("missing dates") == ("missing dates", None)


def _bundled_cells():
    data = read_data(BUNDLED, SA)
    pieces = split(data, [0, 0.5, 1, 2, 3, 5, 8, 14], periods=["1989-01-01"],
                   period_name="calendar_era")  # fmt: skip
    return data, replace(aggregate(pieces), units=UnitSummary.of(data))


def test_cells_file_round_trip_keeps_cells_audit_and_split(tmp_path):
    data, cells = _bundled_cells()
    path = write_cells(cells, tmp_path / "cells.parquet", spec="name = 'x'", engine="memory")
    got, meta = read_cells(path)
    pd.testing.assert_frame_equal(got.frame, cells.frame, check_exact=True)
    assert got.keys == cells.keys and not got.has_pieces
    p, q = got.pieces, cells.pieces
    assert np.array_equal(p.cuts, q.cuts) and p.periods == q.periods
    assert (p.period_labels, p.period_name, p.time_unit) == (q.period_labels, q.period_name,
                                                            q.time_unit)  # fmt: skip
    assert (p.covariates, p.cluster, p.notes, p.n_units) == (q.covariates, q.cluster, q.notes,
                                                            data.n_units)  # fmt: skip
    assert got.units.audit == data.audit
    assert (got.units.n_units, got.units.n_events) == (data.n_units, data.n_events)
    assert got.units.data_hash == data.data_hash
    assert got.units.levels["county"][1].sum() == data.n_units
    assert meta["spec"] == "name = 'x'" and meta["engine"] == "memory"
    assert [f.name for f in tmp_path.iterdir()] == ["cells.parquet"]


def test_an_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    _, cells = _bundled_cells()
    real = pq.write_table

    def interrupted(table, where, **kw):
        real(table.slice(0, 3), where, **kw)  # half a file on disk, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_cells(cells, tmp_path / "cells.parquet")
    assert list(tmp_path.iterdir()) == []


def test_what_is_not_a_cells_file_is_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_cells(tmp_path / "nope.parquet")
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(DataError, match="without bayessa's cells metadata"):
        read_cells(tmp_path / "plain.parquet")
    _, cells = _bundled_cells()
    with pytest.raises(SpecError, match="UnitSummary"):
        write_cells(replace(cells, units=None), tmp_path / "c.parquet")


def test_a_spec_must_agree_with_the_cells_split(tmp_path):
    from bayessa.model.preparation import prepare_cells, resolve_spec

    _, cells = _bundled_cells()
    path = write_cells(cells, tmp_path / "cells.parquet")
    spec = resolve_spec(ROOT / "models" / "partnership.toml")  # cuts 0 ... 14, no periods
    with pytest.raises(SpecError, match="time.periods: the cells have"):
        prepare_cells(path, spec)
    free = resolve_spec(None, data=path, formula="leader + calendar_era + (1 | county)")
    prepared = prepare_cells(path, free)  # a spec-free fit takes the cells' split
    assert prepared.data is None and prepared.spec.time.period_name == "calendar_era"
    assert prepared.audit == cells.units.audit
    with pytest.raises(SpecError, match="do not carry"):
        prepare_cells(path, resolve_spec(None, data=path, formula="leader + founding_year"))


def test_numeric_terms_from_cells_use_the_units_values(tmp_path):
    from bayessa.model.preparation import prepare, prepare_cells, resolve_spec

    rng = np.random.default_rng(5)
    n = 400
    table = pd.DataFrame({"t": rng.exponential(2.0, n) + 0.01, "d": rng.integers(0, 2, n),
                          "age": rng.choice([41.0, 55.5, 60.0, 73.0], n),
                          "arm": rng.choice(["a", "b"], n)})  # fmt: skip
    table.loc[0, "d"] = 1
    spec = resolve_spec(None, data=table, time="t", event="d", formula="scale(age) + arm",
                        cuts=[0, 1, 3, np.inf])  # fmt: skip
    memory = prepare(table, spec, engine="memory")
    cells = replace(memory.cells, units=UnitSummary.of(memory.data))
    path = write_cells(cells, tmp_path / "cells.parquet", spec=spec.to_toml())
    got = prepare_cells(path, spec)
    a, b = got.design.numeric["scale(age)"], memory.design.numeric["scale(age)"]
    assert a.reference == b.reference  # the units' median
    assert a.center == pytest.approx(b.center, rel=1e-14) and a.scale == pytest.approx(b.scale)
    np.testing.assert_allclose(got.design.X, memory.design.X, rtol=1e-12, atol=1e-12)
