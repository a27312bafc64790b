"""The Dask engine (bayessa.data.partitioned) on a LocalCluster: the in-memory path's cells, cell by
cell, and its messages, audit and notes; duplicates across partitions; a worker that dies.

One cluster of two worker processes serves the module (about 3 s to start).
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.data import Columns, aggregate, read_data, split
from bayessa.errors import ClusterError, DataError, SpecError

pytest.importorskip("distributed")

from bayessa.data.partitioned import partitioned_cells  # noqa: E402

pytestmark = pytest.mark.fit

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "bayessa" / "resources" / "data" / "sa_groups.csv"
SA = Columns(
    id="group_id", start="founded", event_date="closed", censor_date="last_contact",
    covariates=("leader", "setting", "era"), cluster="county",
)  # fmt: skip
SPLIT = dict(
    periods=["1989-01-01", "1993-01-01"],
    period_labels=["before", "early", "formal"],
    period_name="calendar_era",
)
CUTS = [0, 0.5, 1, 2, 3, 5, 8, 11, 14]


@pytest.fixture(scope="module")
def scheduler():
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def _write_parts(frame: pd.DataFrame, folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(frame)), n)):
        frame.iloc[part].to_parquet(folder / f"part-{i:03d}.parquet", index=False)
    return folder


def _in_memory(source, columns, cuts=CUTS, on_invalid="raise", **split_args):
    data = read_data(source, columns, on_invalid=on_invalid)
    pieces = split(data, cuts, **split_args)
    return data, pieces, aggregate(pieces)


def _same(source, columns, scheduler, *, memory_source=None, cuts=CUTS, chunk_rows=250_000,
          on_invalid="raise", **split_args):  # fmt: skip
    """The Dask engine's cells, audit and split notes equal the in-memory path's, exactly."""
    data, pieces, cells = _in_memory(
        source if memory_source is None else memory_source, columns, cuts, on_invalid,
        **split_args,
    )  # fmt: skip
    got = partitioned_cells(
        source, columns, cuts=cuts, on_invalid=on_invalid, scheduler=scheduler,
        chunk_rows=chunk_rows, **split_args,
    )  # fmt: skip
    pd.testing.assert_frame_equal(got.frame, cells.frame, check_exact=True)
    assert got.keys == cells.keys
    assert str(got.units.audit) == str(data.audit)
    assert got.units.audit.to_dict() == data.audit.to_dict()
    assert got.pieces.notes == pieces.notes
    assert got.pieces.period_labels == pieces.period_labels
    assert (got.units.n_units, got.units.n_events) == (data.n_units, data.n_events)
    assert not got.has_pieces and len(got.piece_cell) == 0
    return got, data


def test_bundled_data_in_three_partitions_gives_the_in_memory_cells(tmp_path, scheduler):
    raw = pd.read_csv(BUNDLED, dtype=str, keep_default_na=False)
    folder = _write_parts(raw, tmp_path / "sa", 3)
    got, _ = _same(folder, SA, scheduler, chunk_rows=97, **SPLIT)
    # and those of the CSV itself, read in memory (the same values, one table)
    _, _, from_csv = _in_memory(BUNDLED, SA, **SPLIT)
    pd.testing.assert_frame_equal(got.frame, from_csv.frame, check_exact=True)
    assert got.n_cells > 100


@pytest.fixture(scope="module")
def million(tmp_path_factory) -> Path:
    """The simulated 1M-group data set (10 partitions of 100,000), written file by file."""
    from bayessa.simulate.sa_groups import write_sa_groups_dataset

    out = tmp_path_factory.mktemp("sim") / "sa1m"
    write_sa_groups_dataset(out, seed=18, n_groups=1_000_000, partitions=10)
    return out


def test_first_partitions_of_the_simulated_million_give_the_in_memory_cells(million):
    pattern = str(million / "part-0000[01].parquet")  # its first two partitions, as a glob
    # on a cluster of its own, as the command starts one: the id hashes spill to disk
    got, data = _same(pattern, SA, None, chunk_rows=60_000, **SPLIT)
    assert data.n_units == 200_000 and got.n_cells > 4_000
    assert got.units.audit.notes == ("read 2 Parquet files as one table",)


def test_a_dask_dataframe_is_read_partition_by_partition(scheduler):
    import dask.dataframe as dd

    raw = pd.read_csv(BUNDLED, dtype=str, keep_default_na=False)
    _, _, cells = _in_memory(raw, SA, **SPLIT)
    got = partitioned_cells(dd.from_pandas(raw, npartitions=3), SA, cuts=CUTS,
                            scheduler=scheduler, **SPLIT)  # fmt: skip
    pd.testing.assert_frame_equal(got.frame, cells.frame, check_exact=True)
    assert got.units.audit.source == "Dask DataFrame"


def _messy() -> pd.DataFrame:
    """Durations with delayed entry, no ids, a numeric covariate, R's 1/2 event coding."""
    rng = np.random.default_rng(3)
    n = 900
    f = pd.DataFrame(
        {
            "t": rng.exponential(3.0, n).round(3) + 0.1,
            "status": rng.choice([1, 2], n),
            "entry": np.where(rng.random(n) < 0.2, 0.05, 0.0),
            "age": rng.choice([40.0, 50.0, 60.0, 70.0], n),
            "arm": rng.choice([" a", "b ", "c"], n),
            "site": rng.choice(["s1", "s2", "s3", "s4"], n),
            "origin": 1990 + rng.random(n) * 10,
        }
    )
    f.loc[:299, "status"] = 1  # the first partition holds only 1s (censored under R's coding)
    return f


MESSY = Columns(time="t", event="status", entry="entry", origin="origin",
                covariates=("age", "arm"), cluster="site")  # fmt: skip


def test_whole_table_codings_apply_to_every_partition(tmp_path, scheduler):
    folder = _write_parts(_messy(), tmp_path / "messy", 3)
    got, data = _same(
        folder, MESSY, scheduler, cuts=[0, 1, 2, 4, np.inf], chunk_rows=128,
        periods=[1995.0], period_name="period",
    )  # fmt: skip
    notes = " ".join(data.audit.notes)
    assert "coded 1/2 as in R's Surv()" in notes and "row number" in notes
    assert "numeric with 4 distinct whole values" in notes
    assert got.units.numeric["age"][1].sum() == 900
    assert got.frame["age"].dtype == np.float64


def _broken(raw: pd.DataFrame) -> pd.DataFrame:
    bad = raw.copy()
    bad.loc[5, "founded"] = "1987-13-45"  # partition 0
    bad.loc[7, "leader"] = ""  # partition 0: missing covariate
    bad.loc[300, "group_id"] = bad.loc[2, "group_id"]  # a duplicate across partitions
    bad.loc[301, "founded"] = "soon"  # partition 2
    bad.loc[302, "last_contact"] = "1980-01-01"  # before founding
    return bad


def test_problems_across_partitions_give_the_in_memory_message(tmp_path, scheduler):
    raw = _broken(pd.read_csv(BUNDLED, dtype=str, keep_default_na=False))
    folder = _write_parts(raw, tmp_path / "broken", 3)
    with pytest.raises(DataError) as memory:
        _in_memory(folder, SA, **SPLIT)
    with pytest.raises(DataError) as dask:
        partitioned_cells(folder, SA, cuts=CUTS, scheduler=scheduler, chunk_rows=50, **SPLIT)
    assert str(dask.value) == str(memory.value)
    assert "duplicated unit ids" in str(dask.value) and "'1987-13-45', 'soon'" in str(dask.value)


def test_excluded_rows_give_the_in_memory_cells_and_audit(tmp_path, scheduler):
    raw = _broken(pd.read_csv(BUNDLED, dtype=str, keep_default_na=False))
    folder = _write_parts(raw, tmp_path / "broken", 3)
    got, data = _same(folder, SA, scheduler, on_invalid="exclude", chunk_rows=50, **SPLIT)
    assert data.audit.rows_excluded == 6  # both copies of the duplicated id
    assert [e.n for e in got.units.audit.exclusions] == [e.n for e in data.audit.exclusions]


def test_follow_up_beyond_the_last_cut_is_the_same_error(tmp_path, scheduler):
    raw = pd.read_csv(BUNDLED, dtype=str, keep_default_na=False)
    folder = _write_parts(raw, tmp_path / "sa", 2)
    with pytest.raises(DataError) as memory:
        _in_memory(folder, SA, cuts=[0, 1, 5])
    with pytest.raises(DataError) as dask:
        partitioned_cells(folder, SA, cuts=[0, 1, 5], scheduler=scheduler, chunk_rows=100)
    assert str(dask.value) == str(memory.value)
    got, _ = _same(folder, SA, scheduler, cuts=[0, 1, 5], administrative_censoring=True)
    assert "administrative censoring at 5 years" in got.pieces.notes[0]


def test_what_the_engine_does_not_read_is_refused_with_the_reason(tmp_path, scheduler):
    folder = _write_parts(pd.read_csv(BUNDLED, dtype=str), tmp_path / "sa", 2)
    with pytest.raises(SpecError, match="cut points chosen from the data"):
        partitioned_cells(folder, SA, cuts=[], scheduler=scheduler)
    with pytest.raises(SpecError, match="competing risks"):
        partitioned_cells(folder, replace(SA, event_date=None, censor_date=None, stop="last_contact",
                                          event="outcome", censored="censored"),
                          cuts=CUTS, scheduler=scheduler)  # fmt: skip
    with pytest.raises(SpecError, match="reads Parquet"):
        partitioned_cells(BUNDLED, SA, cuts=CUTS, scheduler=scheduler)


def _kill_worker_once(marker: str, index: int) -> None:
    """Kill this worker the first time partition 1 is computed (a marker file remembers)."""
    if index == 1 and not Path(marker).exists():
        Path(marker).write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)


def _kill_worker_always(index: int) -> None:
    if index == 1:
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture
def by_value():
    """Send this module's functions to the workers by value (they cannot import tests)."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_a_worker_killed_mid_run_is_replaced_and_its_partition_retried(
    tmp_path, scheduler, by_value
):
    raw = pd.read_csv(BUNDLED, dtype=str, keep_default_na=False)
    folder = _write_parts(raw, tmp_path / "sa", 3)
    kill = functools.partial(_kill_worker_once, str(tmp_path / "killed"))
    got = partitioned_cells(folder, SA, cuts=CUTS, scheduler=scheduler, on_partition=kill, **SPLIT)
    assert (tmp_path / "killed").exists()  # a worker did die
    _, _, cells = _in_memory(folder, SA, **SPLIT)
    pd.testing.assert_frame_equal(got.frame, cells.frame, check_exact=True)


def test_a_worker_that_keeps_dying_fails_the_run_with_a_clear_message(
    tmp_path, scheduler, by_value
):
    raw = pd.read_csv(BUNDLED, dtype=str, keep_default_na=False)
    folder = _write_parts(raw, tmp_path / "sa", 3)
    with pytest.raises(ClusterError, match="kept failing.*Nothing was written"):
        partitioned_cells(
            folder, SA, cuts=CUTS, scheduler=scheduler, on_partition=_kill_worker_always, **SPLIT
        )
