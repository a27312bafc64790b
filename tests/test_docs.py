"""The API reference (make docs) builds from the numpydoc docstrings without a warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-5000:]
    page = (tmp_path / "html" / "api" / "data.html").read_text()
    # the functions are documented where they are defined, with their numpydoc sections
    assert "bayessa.data.lexis.split" in page and "Parameters" in page and "Returns" in page


def test_every_subpackage_has_a_page():
    pages = {p.stem for p in (ROOT / "docs" / "api").glob("*.rst")}
    packages = {p.parent.name for p in (ROOT / "bayessa").glob("*/__init__.py")}
    assert packages - {"resources"} <= pages, sorted(packages - pages)


def test_every_public_module_is_documented():
    text = "".join(p.read_text() for p in (ROOT / "docs" / "api").glob("*.rst"))
    missing = []
    for p in (ROOT / "bayessa").glob("*/*.py"):
        if p.stem.startswith("_") or p.parent.name == "resources":
            continue
        module = f"bayessa.{p.parent.name}.{p.stem}"
        if f".. automodule:: {module}\n" not in text:
            missing.append(module)
    assert not missing, f"add to docs/api/*.rst: {sorted(missing)}"
