"""The notebooks in notebooks/ run, top to bottom, with small draws; a failing cell fails here.

Storage: each notebook is a jupytext percent-format ``.py`` file (the source, reviewed as text)
paired with an ``.ipynb`` stored without outputs (what GitHub and Jupyter open). The first test
keeps the pair in sync and stripped; regenerate the ``.ipynb`` with
``.venv/bin/jupytext --sync notebooks/*.py`` after editing the ``.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["posterior_predictive", "prior_predictive", "causes_and_intervals", "expansion"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_pair_in_sync_and_stripped(name):
    source = jupytext.read(NOTEBOOKS / f"{name}.py")
    stored = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert [(c.cell_type, c.source) for c in stored.cells] == [
        (c.cell_type, c.source) for c in source.cells
    ], f"{name}.ipynb differs from {name}.py: run jupytext --sync notebooks/{name}.py"
    for cell in stored.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip the outputs"


# jupyter_client warns about its own path migration and zmq's event loop on some platforms;
# neither concerns the notebooks, whose cells' errors are what this test checks.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning:zmq.*")
@pytest.mark.fit
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("BAYESSA_NB_DRAWS", "200")
    monkeypatch.setenv("BAYESSA_NB_CHAINS", "2")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError naming the failing cell
    print(f"{name}: {time.perf_counter() - start:.1f} s")
