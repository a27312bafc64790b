"""One reader, many formats: the same table from CSV (also compressed), Parquet, Feather, Stata,
SPSS and Excel gives the same validated units; value labels become categories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.data import Columns, read_data, read_table
from bayessa.errors import DataError

REF = Path(__file__).resolve().parents[1] / "reference" / "new_user"
COLUMNS = Columns(time="time", event="status", covariates=("trt", "celltype"), categorical=("trt",))


@pytest.fixture(scope="module")
def veteran() -> pd.DataFrame:
    return pd.read_csv(REF / "veteran.csv")


def _write(df: pd.DataFrame, path: Path) -> Path:
    suffix = "".join(path.suffixes)
    if suffix == ".csv.gz":
        df.to_csv(path, index=False, compression="gzip")
    elif suffix == ".parquet":
        df.to_parquet(path)
    elif suffix == ".feather":
        df.to_feather(path)
    elif suffix == ".dta":
        df.assign(celltype=pd.Categorical(df["celltype"])).to_stata(path, write_index=False)
    elif suffix == ".sav":
        pyreadstat = pytest.importorskip("pyreadstat")
        codes = {"adeno": 1, "large": 2, "smallcell": 3, "squamous": 4}
        pyreadstat.write_sav(
            df.assign(celltype=df["celltype"].map(codes)), str(path),
            variable_value_labels={"celltype": {v: k for k, v in codes.items()}},
        )  # fmt: skip
    elif suffix == ".xlsx":
        pytest.importorskip("openpyxl")
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            df.to_excel(xl, sheet_name="patients", index=False)
            df.head(2).to_excel(xl, sheet_name="other", index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv.gz", ".parquet", ".feather", ".dta", ".sav", ".xlsx"])
def test_every_format_gives_the_same_units(veteran, tmp_path, suffix):
    path = _write(veteran, tmp_path / f"vet{suffix}")
    raw, name = read_table(path)
    assert name == str(path) and len(raw) == len(veteran)
    units = read_data(path, COLUMNS, time_unit="days").frame
    expect = read_data(REF / "veteran.csv", COLUMNS, time_unit="days").frame
    np.testing.assert_array_equal(units["exit"], expect["exit"])
    np.testing.assert_array_equal(units["event"], expect["event"])
    assert list(units["trt"].cat.categories) == ["1", "2"]  # whole numbers, never '1.0'
    assert units["celltype"].astype(str).tolist() == expect["celltype"].astype(str).tolist()
    assert set(units["celltype"].cat.categories) == {"adeno", "large", "smallcell", "squamous"}
    if suffix == ".xlsx":
        assert raw.attrs["bayessa_notes"] == ["the first of 2 sheets was read ('patients')"]


def test_value_labels_keep_their_order(tmp_path):
    """A labelled Stata variable is a category in its labelled order, not sorted."""
    df = pd.DataFrame(
        {"t": [1.0, 2.0, 3.0, 4.0], "e": [1, 0, 1, 1],
         "dose": pd.Categorical(["high", "low", "mid", "low"], ["low", "mid", "high"])}
    )  # fmt: skip
    path = tmp_path / "doses.dta"
    df.to_stata(path, write_index=False)
    units = read_data(path, Columns(time="t", event="e", covariates=("dose",))).frame
    assert list(units["dose"].cat.categories) == ["low", "mid", "high"]


def test_a_missing_reader_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "x.sav"
    path.write_bytes(b"not really spss")
    import bayessa.data.read as reader

    monkeypatch.setattr(reader, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"needs the optional package pyreadstat") as err:
        read_table(path)
    assert "bayessa[formats]" in str(err.value)
    old = tmp_path / "old.xls"
    old.write_bytes(b"x")
    with pytest.raises(DataError, match=r"save the sheet as .xlsx"):
        read_table(old)


def test_a_corrupt_file_of_each_binary_format_is_one_clear_error(tmp_path):
    for suffix, kind in ((".feather", "Feather"), (".dta", "Stata"), (".parquet", "Parquet")):
        path = tmp_path / f"bad{suffix}"
        path.write_bytes(b"this is not a table at all")
        with pytest.raises(DataError, match=rf"could not be read as a table \({kind}\)"):
            read_table(path)
