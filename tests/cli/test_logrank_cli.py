"""``python -m bayessa.logrank``: output on good input, exit 2 and one message on bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bayessa.cli.logrank import main

REF = Path(__file__).resolve().parents[1] / "reference"
VET = ["--data", str(REF / "veteran.csv"), "--time", "time", "--event", "status"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_table_and_test_like_survdiff(capsys: pytest.CaptureFixture[str]) -> None:
    """survdiff(Surv(time, status) ~ celltype, data = veteran): Chisq= 25.4 on 3 df, p= 1e-05."""
    code, out, err = run([*VET, "--group", "celltype"], capsys)
    assert code == 0 and err == ""
    assert "Log-rank test" in out and "celltype=squamous  35       31     47.7" in out
    assert "Chisq= 25.4  on 3 degrees of freedom, p= 1.27e-05" in out


def test_stratified_weighted_and_trend(capsys: pytest.CaptureFixture[str]) -> None:
    """survdiff(Surv(time, status) ~ trt + strata(celltype), data = veteran, rho = 1)."""
    code, out, _ = run([*VET, "--group", "trt", "--strata", "celltype", "--rho", "1"], capsys)
    assert code == 0 and "G-rho test, rho = 1 (Peto-Peto), stratified by celltype" in out
    code, out, _ = run([*VET, "--group", "celltype", "--trend"], capsys)
    assert code == 0 and "Test for trend (log-rank test)" in out
    assert "scores: adeno=1, large=2, smallcell=3, squamous=4" in out


def test_parquet_and_delayed_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """logrank_hand(lung$time, lung$event, lung$sex, entry = lung$entry): Chisq 10.755."""
    path = tmp_path / "lung.parquet"
    pd.read_csv(REF / "lung.csv").to_parquet(path)
    argv = ["--data", str(path), "--time", "time", "--event", "event", "--group", "sex"]
    code, out, _ = run([*argv, "--entry", "entry", "--gamma", "0"], capsys)
    assert code == 0 and "Chisq= 10.8  on 1 degree of freedom, p= 0.00104" in out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["--data", "no/such.csv", "--time", "t", "--event", "d", "--group", "g"],
            "file 'no/such.csv' does not exist",
        ),
        ([*VET, "--group", "colour"], "group column 'colour' not found"),
        ([*VET, "--group", "celltype", "--rho", "-2"], "rho must be a finite number >= 0"),
        ([*VET, "--group", "celltype", "--rho", "abc"], "argument --rho: invalid float value"),
        ([*VET], "the following arguments are required: --group"),
        ([*VET, "--group", "celltype", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (
            [
                "--data",
                str(REF / "lung.csv"),
                "--time",
                "time",
                "--event",
                "status",
                "--group",
                "sex",
            ],
            "event values other than 0/1 or True/False (found 2) (165 units: 1, 2, 4, 5, 7",
        ),
    ],
)
def test_bad_input_exits_2_with_one_message(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    # one message, on the convention of every command (argparse's usage line may precede it)
    assert err.count("error:") == 1 and expected in err
    assert err.splitlines()[-1].startswith("python -m bayessa.logrank: error: ")
    assert "Traceback" not in err


def test_unreadable_and_single_group_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet at all")
    code, _, err = run(["--data", str(bad), "--time", "t", "--event", "d", "--group", "g"], capsys)
    assert code == 2 and "could not be read as a table (Parquet)" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run(
        ["--data", str(empty), "--time", "t", "--event", "d", "--group", "g"], capsys
    )
    assert code == 2 and "the file is empty" in err
    one = tmp_path / "one.csv"
    pd.DataFrame({"t": [1, 2], "d": [1, 1], "g": ["x", "x"]}).to_csv(one, index=False)
    code, _, err = run(["--data", str(one), "--time", "t", "--event", "d", "--group", "g"], capsys)
    assert code == 2 and "only 1 group level ('x')" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "--trend" in out


@pytest.mark.parametrize(
    "case, argv",
    [
        ("sa_leader", ["--group", "leader"]),
        ("sa_leader_strata_setting", ["--group", "leader", "--strata", "setting"]),
    ],
)
def test_bundled_data_through_the_model_spec_matches_r(case, argv, root, capsys) -> None:
    """survdiff(Surv(days, closed) ~ leader [+ strata(setting)], data = sa): the bundled data's
    dates read through the spec's [data] table (founded / closed / last_contact) give R's test
    (the statistic depends only on the order of the times, so years vs days do not matter)."""
    import json

    ref = json.loads((REF / "survival_reference.json").read_text())["logrank"][case]
    data, spec = str(root / "data" / "sa_groups.csv"), str(root / "models" / "partnership.toml")
    code, out, err = run(["--data", data, "--model", spec, *argv], capsys)
    assert code == 0 and err == ""
    assert "360 rows read, 360 kept" in out
    assert f"Chisq= {ref['statistic']:.3g}" in out
    code, _, err = run(["--data", data, "--model", spec, "--time", "x", *argv], capsys)
    assert code == 2 and "not both" in err
