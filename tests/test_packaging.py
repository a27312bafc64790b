"""The wheel: package data, the console script, and the default analysis from another folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("bayessa-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed into its own folder (dependencies come from this environment)."""
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return target


def _run(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env)


def test_the_wheel_ships_the_bundled_analysis_and_the_console_script(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    for f in ("models/partnership.toml", "models/calendar_era.toml",
              "models/stratified_setting.toml", "models/founding_trend.toml",
              "models/current_leader.toml", "models/closure_reasons.toml", "data/sa_groups.csv",
              "data/sa_leadership_changes.csv"):  # fmt: skip
        assert f"bayessa/resources/{f}" in names, f
    assert "bayessa = bayessa.cli:main" in entry_points
    assert not any(n.startswith(("tests/", "benchmarks/", "notebooks/")) for n in names)


def test_the_installed_package_is_the_wheel_and_finds_its_data(installed, tmp_path):
    code = (
        "import bayessa; from bayessa.resources import bundled_spec, bundled_data; "
        "print(bayessa.__file__); print(bundled_spec()); print(bundled_data().is_file())"
    )
    done = _run([sys.executable, "-c", code], installed, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    where, spec, data_ok = done.stdout.split()
    assert Path(where).is_relative_to(installed) and Path(spec).is_relative_to(installed)
    assert data_ok == "True"


def test_the_console_script_lists_the_commands(installed, tmp_path):
    done = _run([str(installed / "bin" / "bayessa"), "--help"], installed, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    for command in ("fit", "report", "compare", "predict", "logrank", "sbc", "compile", "simulate"):
        assert f"\n  {command} " in done.stdout
    bad = _run([str(installed / "bin" / "bayessa"), "frobnicate"], installed, tmp_path)
    assert bad.returncode == 2 and "unknown command 'frobnicate'" in bad.stderr


@pytest.mark.fit
def test_the_default_analysis_runs_from_another_folder(installed, tmp_path):
    args = [sys.executable, "-m", "bayessa.fit", "--draws", "100", "--tune", "100", "--quiet"]
    done = _run([*args, "--out", "run"], installed, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "run" / "idata.nc").is_file() and (
        tmp_path / "run" / "report.html"
    ).is_file()
    via_script = _run(
        [str(installed / "bin" / "bayessa"), "logrank", "--data",
         str(installed / "bayessa" / "resources" / "data" / "sa_groups.csv"),
         "--model", str(installed / "bayessa" / "resources" / "models" / "partnership.toml"),
         "--group", "leader"],
        installed, tmp_path,
    )  # fmt: skip
    assert via_script.returncode == 0, via_script.stderr[-3000:]
    assert "Chisq=" in via_script.stdout
