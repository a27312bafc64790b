"""``python -m bayessa.cuminc``: the estimates and tests of R's cmprsk, and bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bayessa.cli.cuminc import main

REF = Path(__file__).parents[1] / "reference" / "cuminc"


def test_cuminc_prints_grays_test_and_writes_the_table(tmp_path, capsys):
    out = tmp_path / "cif.csv"
    rc = main(["--data", str(REF / "mgus2.csv"), "--time", "etime", "--event", "outcome",
               "--group", "sex", "--out", str(out)])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    ref = json.loads((REF / "cuminc_reference.json").read_text())["cases"]["mgus2_sex"]["tests"]
    stat = dict(zip(ref["cause"], ref["stat"], strict=True))
    gray = text.split("Gray's test")[1].split("Cause-specific")[0]
    assert f"{stat[1]:.4g}" in gray and f"{stat[2]:.4g}" in gray  # pcm 1.195, death 11.65
    table = pd.read_csv(out)
    assert set(table["cause"]) == {"pcm", "death"} and set(table["group"]) == {"F", "M"}
    assert "Cause-specific log-rank tests" in text


def test_cuminc_bad_input_exits_2_without_traceback(tmp_path, capsys):
    rc = main(["--data", str(REF / "mgus2.csv"), "--time", "nope", "--event", "outcome"])
    err = capsys.readouterr().err
    assert rc == 2 and "column 'nope' not found" in err and "Traceback" not in err
    rc = main(["--data", str(REF / "mgus2.csv"), "--time", "etime", "--event", "sex"])
    err = capsys.readouterr().err
    assert rc == 2 and "censor_value" in err
