"""Run directories: opening one (:func:`open_tree`) and writing one atomically.

Writing puts everything into a temporary sibling, then moves it into place.

A failed or interrupted write leaves no half-written run, and an existing run is replaced only
when asked (and only once the new one is complete). A process killed while writing (SIGKILL,
power loss) cannot remove its temporary folder; its name records the host and process id
(``.NAME.tmp-HOST-PID-XXXX``), and the next write beside it removes those of processes on this
host that no longer run. Another live run's folder is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bayessa.errors import SpecError

__all__ = ["check_output_dir", "open_tree", "remove_stale", "write_atomically"]

#: Temporary and set-aside folders of a run NAME: ``.NAME.tmp-HOST-PID-XXXX``, ``.NAME.old-HOST-PID``.
_STAGING = re.compile(
    r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<host>[A-Za-z0-9_.-]+?)-(?P<pid>\d+)(?:-[^-]*)?$"
)
#: Folders in the pre-0.1 format (``.NAME.tmp-XXXX``, no host or pid) older than this are stale.
_LEGACY_AGE_S = 24 * 3600.0


def check_output_dir(out: Path, *, overwrite: bool) -> None:
    """Refuse, before any work, an output that could not be written.

    A path that is a file, a directory already holding a run (without ``overwrite``), or one
    whose nearest existing ancestor is not a writable directory (the run is written beside
    ``out``, then renamed).

    Parameters
    ----------
    out : str or Path
        The run directory to be written.
    overwrite : bool
        Whether a directory already holding a run may be replaced.

    Raises
    ------
    SpecError
        Naming the problem and what to do.
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

    Parameters
    ----------
    out : str or Path
        The run directory.
    write : callable
        ``write(folder)`` writes every file into ``folder``.
    overwrite : bool, default False
        Replace an existing run in ``out``.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    SpecError
        ``out`` cannot be written (see :func:`check_output_dir`).
    """
    out = Path(out)
    check_output_dir(out, overwrite=overwrite)
    parent = out.resolve().parent
    tag = f"{_host()}-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale(parent / out.name)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{tag}-", dir=parent))
    except OSError as err:
        raise SpecError(
            f"cannot write to '{parent}': {err.strerror}; choose a writable --out"
        ) from None
    try:
        write(tmp)
        if out.exists():
            old = parent / f".{out.name}.old-{tag}"
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


def _host() -> str:
    """The machine's name, reduced to the characters a staging folder's name allows."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def remove_stale(out: str | Path) -> list[Path]:
    """Remove the staging folders of ``out`` left by writers that no longer run.

    A staging folder ``.NAME.tmp-HOST-PID-XXXX`` (or ``.NAME.old-HOST-PID``) beside ``out`` is
    stale when HOST is this machine and process PID no longer exists. Folders of live
    processes, and of other hosts (a shared file system), are left alone; folders in the older
    format without host and pid are removed once a day old.

    Parameters
    ----------
    out : path
        The run directory (it need not exist).

    Returns
    -------
    list of Path
        The folders removed.
    """
    out = Path(out)
    parent = out.parent if out.parent != Path("") else Path(".")
    if not parent.is_dir():
        return []
    removed = []
    host, now = _host(), time.time()
    for d in parent.glob(f".{_glob_escape(out.name)}.*-*"):
        if not d.is_dir():
            continue
        m = _STAGING.match(d.name)
        if m is not None and m["name"] == out.name:
            stale = m["host"] == host and not _alive(int(m["pid"]))
        elif d.name.startswith((f".{out.name}.tmp-", f".{out.name}.old-")):
            try:
                stale = now - d.stat().st_mtime > _LEGACY_AGE_S
            except OSError:
                stale = False
        else:
            stale = False
        if stale:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)
