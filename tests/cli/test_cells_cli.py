"""``python -m bayessa.cells`` and ``python -m bayessa.fit --cells``: cells as a product."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bayessa.cli.cells import main
from bayessa.data import read_cells

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "models" / "partnership.toml")
DATA = ROOT / "bayessa" / "resources" / "data" / "sa_groups.csv"


def test_cells_of_the_bundled_analysis_are_written_with_audit_and_split(tmp_path, capsys):
    out = tmp_path / "cells.parquet"
    assert main(["--model", SPEC, "--engine", "memory", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Data audit" in printed and f"to {out}" in printed and "read_validate_s" in printed
    cells, meta = read_cells(out)
    assert cells.keys == ("interval", "period", "leader", "era", "setting", "county")
    assert cells.units.n_units == 360 and cells.frame["events"].sum() == cells.units.n_events
    assert meta["engine"] == "memory" and "leader * era" in meta["spec"]
    # an existing file is kept unless --overwrite is given
    assert main(["--model", SPEC, "--engine", "memory", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_bad_data_and_interruptions_write_nothing(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.csv"
    raw = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    raw.loc[3, "founded"] = "someday"
    raw.to_csv(bad, index=False)
    out = tmp_path / "cells.parquet"
    assert main(["--model", SPEC, "--data", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "'someday'" in err and "Traceback" not in err

    import bayessa.model.preparation as preparation

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(preparation, "prepare", interrupted)
    assert main(["--model", SPEC, "--out", str(out)]) == 130
    assert "nothing was written" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


@pytest.mark.fit
def test_the_dask_engine_writes_the_same_cells_as_memory(tmp_path):
    pytest.importorskip("distributed")
    folder = tmp_path / "sa"
    folder.mkdir()
    raw = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    raw.iloc[:200].to_parquet(folder / "a.parquet", index=False)
    raw.iloc[200:].to_parquet(folder / "b.parquet", index=False)
    common = ["--model", SPEC, "--data", str(folder), "--quiet"]
    assert main([*common, "--engine", "memory", "--out", str(tmp_path / "m.parquet")]) == 0
    dask = ["--engine", "dask", "--workers", "1", "--out", str(tmp_path / "d.parquet")]
    assert main([*common, *dask]) == 0
    (m, _), (d, dm) = read_cells(tmp_path / "m.parquet"), read_cells(tmp_path / "d.parquet")
    pd.testing.assert_frame_equal(d.frame, m.frame, check_exact=True)
    assert d.units.audit == m.units.audit and dm["engine"] == "dask"


@pytest.mark.fit
def test_fit_from_cells_writes_a_run_whose_report_says_what_needs_units(tmp_path, capsys):
    from bayessa.api.result import load
    from bayessa.cli.fit import main as fit

    cells = tmp_path / "cells.parquet"
    assert main(["--model", SPEC, "--engine", "memory", "--out", str(cells), "--quiet"]) == 0
    run = tmp_path / "run"
    argv = ["--cells", str(cells), "--draws", "200", "--tune", "200", "--chains", "2",
            "--out", str(run)]  # fmt: skip
    assert fit(argv) == 0
    printed = capsys.readouterr().out
    assert "Fitted from cells" in printed and "360 rows read" in printed
    report = (run / "report.md").read_text()
    assert "fitted from their cells" in report and "Kaplan–Meier" in report
    assert "LOO not computed" in report and "| county |" not in report
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["audit"]["rows_read"] == 360
    result = load(run)
    assert "log_likelihood" not in result.idata.children
    assert "unit" not in result.idata["observed_data"].dataset.dims
    assert result.hazard_ratios().shape[0] == 6
    # --data and --cells together are refused
    assert fit(["--cells", str(cells), "--data", str(DATA), "--out", str(run)]) == 2
