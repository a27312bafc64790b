"""The SA-groups simulator at scale: a Parquet dataset written one partition at a time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bayessa.cli import simulate as simulate_cli
from bayessa.errors import SpecError
from bayessa.simulate import sa_groups
from bayessa.simulate.sa_groups import COLUMNS, make_sa_groups, write_sa_groups_dataset


def test_partitions_number_groups_consecutively_and_share_the_counties(tmp_path):
    truth_path, parts = write_sa_groups_dataset(
        tmp_path / "ds", seed=4, n_groups=3001, partitions=4
    )
    frames = [pd.read_parquet(p) for p in parts]
    assert [len(f) for f in frames] == [751, 750, 750, 750]
    ds = pd.concat(frames, ignore_index=True)
    assert list(ds.columns) == list(COLUMNS)
    assert list(ds["group_id"]) == [f"SA{j:04d}" for j in range(1, 3002)]
    single, _ = make_sa_groups(seed=4, n_groups=50)
    for c in ("county", "leader", "setting", "setting_type", "era"):  # same levels, same order
        assert list(ds[c].cat.categories) == list(single[c].cat.categories), c
    truth = json.loads(truth_path.read_text())
    assert truth["n_groups"] == 3001 and truth["partitions"] == 4 and truth["seed"] == 4
    assert set(truth["cluster_effects"]) == set(single["county"].cat.categories)
    # reproducible, and the county effects do not depend on how the data set is cut
    _, again = write_sa_groups_dataset(tmp_path / "again", seed=4, n_groups=3001, partitions=4)
    pd.testing.assert_frame_equal(pd.read_parquet(again[2]), frames[2])
    t2, _ = write_sa_groups_dataset(tmp_path / "two", seed=4, n_groups=3001, partitions=2)
    assert json.loads(t2.read_text())["cluster_effects"] == truth["cluster_effects"]


def test_the_data_set_follows_the_same_model_as_one_table(tmp_path):
    """Shares professional-led by era and the share closed agree with the in-memory simulator
    within Monte Carlo error (4 standard errors of a difference of proportions)."""
    n = 40_000
    _, parts = write_sa_groups_dataset(tmp_path / "ds", seed=9, n_groups=n, partitions=5)
    ds = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    one, _ = make_sa_groups(seed=10, n_groups=n)
    for era in ("before", "early", "formal"):
        a = ds.loc[ds["era"] == era, "leader"].eq("professional")
        b = one.loc[one["era"] == era, "leader"].eq("professional")
        se = np.sqrt(a.mean() * (1 - a.mean()) / len(a) + b.mean() * (1 - b.mean()) / len(b))
        assert abs(a.mean() - b.mean()) < 4 * se, era
    a, b = ds["closed"].notna(), one["closed"].notna()
    # county effects differ between the two (drawn once each): allow their spread too
    assert abs(a.mean() - b.mean()) < 0.05


def test_refusals_and_no_half_written_data_set(tmp_path, monkeypatch, capsys):
    with pytest.raises(SpecError, match="--partitions must be between 1 and the 3 groups"):
        write_sa_groups_dataset(tmp_path / "x", seed=1, n_groups=3, partitions=4)
    (tmp_path / "taken").mkdir()
    argv = ["sa-groups", "--seed", "1", "--n", "10", "--partitions", "2", "--out"]
    assert simulate_cli.main([*argv, str(tmp_path / "taken")]) == 2
    assert "exists; a data set is written into a new folder" in capsys.readouterr().err
    real, calls = sa_groups.make_sa_groups, []

    def failing(**kw):  # the second partition fails (a full disk, an interrupt)
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(**kw)

    monkeypatch.setattr(sa_groups, "make_sa_groups", failing)
    with pytest.raises(SpecError, match="No space left on device"):
        write_sa_groups_dataset(tmp_path / "half", seed=1, n_groups=100, partitions=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # nothing half-written


def test_cli_writes_the_dataset(tmp_path, capsys):
    out = tmp_path / "big"
    assert simulate_cli.main(["sa-groups", "--seed", "2", "--n", "500", "--partitions", "3",
                              "--out", str(out)]) == 0  # fmt: skip
    assert "wrote 500 groups in 3 Parquet files" in capsys.readouterr().out
    assert sum(len(pd.read_parquet(p)) for p in sorted(out.glob("part-*.parquet"))) == 500
