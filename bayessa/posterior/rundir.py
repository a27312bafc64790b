"""Run directories: opening one (:func:`open_tree`) and writing one atomically.

Writing puts everything into a temporary sibling, then moves it into place.

A failed or interrupted write leaves no half-written run, and an existing run is replaced only
when asked (and only once the new one is complete).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bayessa.errors import SpecError

__all__ = ["check_output_dir", "open_tree", "write_atomically"]


def check_output_dir(out: Path, *, overwrite: bool) -> None:
    """Refuse, before any work, an output that could not be written.

    A path that is a file, a directory already holding a run (without ``overwrite``), or one
    whose nearest existing ancestor is not a writable directory (the run is written beside
    ``out``, then renamed).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpecError(f"output '{out}' exists and is not a directory; choose another --out")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise SpecError(
            f"output directory '{out}' already holds a run; pass --overwrite (overwrite=True) "
            "to replace it, or choose another --out"
        )
    parent = out.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise SpecError(
            f"output '{out}' cannot be created: '{parent}' is a file, not a directory; choose another --out"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SpecError(
            f"output '{out}' cannot be written: no write permission in '{parent}'; choose a writable --out"
        )


def write_atomically(out: Path, write: Callable[[Path], None], *, overwrite: bool = False) -> Path:
    """Call ``write(tmp)`` on a fresh temporary folder beside ``out``, then rename it to ``out``.

    An existing ``out`` is moved aside and removed only after the new folder is in place.
    """
    out = Path(out)
    check_output_dir(out, overwrite=overwrite)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as err:
        raise SpecError(
            f"cannot write to '{parent}': {err.strerror}; choose a writable --out"
        ) from None
    try:
        write(tmp)
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def open_tree(source: Any):
    """The DataTree of a run: the one way to open a FitResult, a DataTree or a run directory.

    Parameters
    ----------
    source : FitResult, xarray.DataTree, str or Path
        A fitted result (its ``idata``), a DataTree (returned as it is), or the folder a fit
        wrote (its ``idata.nc`` is read into memory).

    Returns
    -------
    xarray.DataTree

    Raises
    ------
    SpecError
        A folder that is not a run directory (no ``idata.nc``).
    TypeError
        Anything else.
    """
    import xarray as xr

    if isinstance(source, str | Path):
        nc = Path(source) / "idata.nc"
        if not nc.is_file():
            raise SpecError(
                f"'{source}' is not a bayessa run directory (no idata.nc); give the --out folder "
                "of a fit"
            )
        return xr.open_datatree(nc, engine="h5netcdf").load()
    tree = getattr(source, "idata", source)
    if not isinstance(tree, xr.DataTree):
        raise TypeError(
            f"expected a FitResult, an xarray.DataTree or a run directory, got {type(source).__name__}"
        )
    return tree
