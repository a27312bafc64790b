"""A Parquet dataset (a folder or a glob of files) read as one table."""

from __future__ import annotations

import pandas as pd
import pytest

from bayessa.data.columns import Columns
from bayessa.data.read import read_data, read_table
from bayessa.errors import DataError
from bayessa.simulate.sa_groups import write_sa_groups_dataset

SA = Columns(id="group_id", start="founded", event_date="closed", censor_date="last_contact",
             covariates=("leader", "setting", "era"), cluster="county")  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("d") / "ds"
    _, parts = write_sa_groups_dataset(out, seed=5, n_groups=900, partitions=3)
    return out, parts


def test_a_folder_and_a_glob_read_as_the_concatenated_files(dataset):
    out, parts = dataset
    whole = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    df, name = read_table(out)  # truth.json beside the files is not read
    assert name == str(out) and df.attrs["bayessa_notes"] == ["read 3 Parquet files as one table"]
    pd.testing.assert_frame_equal(df, whole)
    globbed, _ = read_table(out / "part-*.parquet")
    pd.testing.assert_frame_equal(globbed, whole)
    # the same units and audit as one file holding them all
    single = out.parent / "all.parquet"
    whole.to_parquet(single, index=False)
    a, b = read_data(out, SA), read_data(single, SA)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.audit.rows_kept == b.audit.rows_kept == 900


def test_datasets_that_cannot_be_read_are_refused(dataset, tmp_path):
    out, parts = dataset
    with pytest.raises(
        DataError, match=r"1 of the 4 files matching .* are not Parquet \(e.g. truth.json\)"
    ):
        read_table(out / "*")
    with pytest.raises(DataError, match="no file matches"):
        read_table(tmp_path / "nothing-*.parquet")
    with pytest.raises(DataError, match="is a directory without Parquet files"):
        read_table(tmp_path)
    bad = tmp_path / "mixed"
    bad.mkdir()
    pd.read_parquet(parts[0]).to_parquet(bad / "a.parquet", index=False)
    pd.DataFrame({"group_id": [1, 2]}).to_parquet(bad / "b.parquet", index=False)
    with pytest.raises(DataError, match="could not be read as one table"):
        read_table(bad)
