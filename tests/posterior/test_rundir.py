"""bayessa.posterior.rundir: opening runs, atomic writes, and no litter from killed writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import xarray as xr

from bayessa.errors import SpecError
from bayessa.posterior.rundir import open_tree, remove_stale, write_atomically

# A writer that stages one file, tells the parent where, then waits to be killed.
SLOW_WRITER = """
import sys, time
from pathlib import Path
from bayessa.posterior.rundir import write_atomically

def write(d):
    (d / "part.txt").write_text("half a run")
    print(d, flush=True)
    time.sleep(120)

write_atomically(Path(sys.argv[1]), write)
"""


def _start_writer(out: Path) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(out)], stdout=subprocess.PIPE, text=True
    )
    staging = Path(proc.stdout.readline().strip())
    assert staging.is_dir() and staging.parent == out.parent
    return proc, staging


def _staging(parent: Path, name: str) -> list[Path]:
    return sorted(parent.glob(f".{name}.tmp-*")) + sorted(parent.glob(f".{name}.old-*"))


def test_a_killed_writers_folder_is_removed_by_the_next_write(tmp_path):
    out = tmp_path / "run"
    proc, staging = _start_writer(out)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert staging.is_dir()  # SIGKILL: nothing could clean up
    write_atomically(out, lambda d: (d / "done.txt").write_text("ok"))
    assert (out / "done.txt").read_text() == "ok"
    assert not staging.exists() and _staging(tmp_path, "run") == []


def test_a_live_writers_folder_is_left_alone(tmp_path):
    out = tmp_path / "run"
    proc, staging = _start_writer(out)
    try:
        assert remove_stale(out) == []
        write_atomically(tmp_path / "run", lambda d: (d / "x").write_text("1"), overwrite=True)
        assert staging.is_dir() and (staging / "part.txt").is_file()
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert remove_stale(out) == [staging]


def test_other_hosts_other_names_and_fresh_legacy_folders_are_kept(tmp_path):
    keep = [
        tmp_path / ".run.tmp-otherhost-1-abc",  # pid 1 exists nowhere here, but another host
        tmp_path / ".runner.tmp-x-999999999-abc",  # another run's name
        tmp_path / ".run.tmp-k2j3x",  # pre-0.1 format, fresh
    ]
    old_legacy = tmp_path / ".run.tmp-oldone"
    for d in [*keep, old_legacy]:
        d.mkdir()
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(old_legacy, (day_ago, day_ago))
    assert remove_stale(tmp_path / "run") == [old_legacy]
    assert all(d.is_dir() for d in keep)


def test_open_tree_reads_paths_trees_and_results_and_refuses_the_rest(tmp_path):
    tree = xr.DataTree(xr.Dataset({"a": ("x", [1.0, 2.0])}))
    assert open_tree(tree) is tree

    class Result:
        idata = tree

    assert open_tree(Result()) is tree
    (tmp_path / "run").mkdir()
    tree.to_netcdf(tmp_path / "run" / "idata.nc", engine="h5netcdf")
    assert float(open_tree(tmp_path / "run")["a"].sum()) == 3.0
    with pytest.raises(SpecError, match="not a bayessa run directory"):
        open_tree(tmp_path)
    with pytest.raises(TypeError, match="run directory"):
        open_tree(3.5)


@pytest.mark.fit
def test_a_fit_killed_while_writing_leaves_nothing_after_the_next_fit(tmp_path):
    """python -m bayessa.fit, SIGKILLed once its run folder is being written (three times)."""
    out = tmp_path / "runs" / "mine"
    argv = [sys.executable, "-m", "bayessa.fit", "--draws", "60", "--tune", "60", "--quiet"]
    killed = []
    for _ in range(3):
        before = set(_staging(out.parent, "mine")) if out.parent.exists() else set()
        proc = subprocess.Popen([*argv, "--out", str(out)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            new = set(_staging(out.parent, "mine")) - before if out.parent.exists() else set()
            if new:
                proc.send_signal(signal.SIGKILL)
                killed += new
                break
            time.sleep(0.005)
        proc.wait(timeout=60)
    assert len(killed) == 3, "a fit was not caught while writing its run"
    # each new writer removed the folder its killed predecessor left; the last one is still there
    assert _staging(out.parent, "mine") == [killed[-1]] and not out.exists()
    done = subprocess.run([*argv, "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, textwrap.shorten(done.stderr, 2000)
    assert (out / "idata.nc").is_file()
    assert _staging(out.parent, "mine") == []
