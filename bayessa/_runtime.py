"""Process-level work-arounds: costly import side effects of our dependencies, and a fast exit.

``arviz_base`` registers ``jax`` as a lazy module in ``sys.modules`` when ArviZ is imported (for its
numpyro converter). SciPy's array-API helpers, called by ``logsumexp`` and so by ArviZ's PSIS-LOO in
every report, test whether an array is a JAX array by looking ``jax`` up in ``sys.modules`` and
reading ``jax.Array``: that imports all of JAX (~0.5 s, and its teardown at exit) in a process that
never uses it, about 1 s of a 12 s fit of the bundled data. It only happens where JAX is installed
(``bayessa[numpyro]``, which ``make`` installs): :func:`forget_unloaded_jax`.

nutpie imports the ``arviz`` meta-package at import time for one call, its trace conversion, which
bayessa does itself (:mod:`bayessa.sampling.trace`); the meta-package loads ArviZ's plotting
(matplotlib) and LOO (SciPy) code, ~0.8 s of a warm fit: :func:`import_nutpie`.

Ending a command: :func:`exit_without_teardown`.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import time
import types
from pathlib import Path

__all__ = ["exit_without_teardown", "forget_unloaded_jax", "import_nutpie", "process_seconds"]


class _DeferredModule(types.ModuleType):
    """Stands in for a module (in ``sys.modules``, or as another module's attribute) until used.

    Then the real module is imported (replacing the stand-in in ``sys.modules``, so later imports
    get it directly) and the attribute is read from it. Unlike
    :class:`importlib.util.LazyLoader`, an ``import`` statement does not trigger the load (the
    import system reads ``__spec__``, which this stand-in has, as ``None``).
    """

    def __getattr__(self, attr: str):
        real = sys.modules.get(self.__name__)
        if real is None or real is self:
            sys.modules.pop(self.__name__, None)
            real = importlib.import_module(self.__name__)
        return getattr(real, attr)


def forget_unloaded_jax() -> bool:
    """Drop a lazily registered, never loaded ``jax`` from ``sys.modules``.

    A later ``import jax`` (the numpyro back end) loads it normally, and ArviZ's numpyro converter
    gets a stand-in that imports JAX when first used. Returns whether anything was dropped.

    Returns
    -------
    bool
        True when a lazily registered ``jax`` was removed from ``sys.modules``; False when it was
        absent or really loaded.
    """
    mod = sys.modules.get("jax")
    if mod is None or type(mod).__name__ != "_LazyModule":
        return False  # absent, or really loaded
    del sys.modules["jax"]
    io_numpyro = sys.modules.get("arviz_base.io_numpyro")
    if io_numpyro is not None and getattr(io_numpyro, "jax", None) is mod:
        io_numpyro.jax = _DeferredModule("jax")
    return True


def import_nutpie() -> types.ModuleType:
    """Import nutpie with ``arviz`` deferred until first used.

    If ``arviz`` is not imported yet, a stand-in takes its place in ``sys.modules`` while nutpie
    is imported: nutpie's ``import arviz`` then costs nothing, and any use of ``arviz`` (by nutpie
    or anyone else) imports the real package at that moment, so code that uses ArviZ is
    unaffected and a fit, which does not, never pays for it.

    Returns
    -------
    module
        ``nutpie``.
    """
    if "nutpie" not in sys.modules and "arviz" not in sys.modules:
        sys.modules["arviz"] = _DeferredModule("arviz")
        try:
            importlib.import_module("nutpie")
        finally:
            if isinstance(sys.modules.get("arviz"), _DeferredModule):
                del sys.modules["arviz"]  # a later ``import arviz`` gets the real package
    return importlib.import_module("nutpie")


def process_seconds() -> float | None:
    """Seconds since this process started (interpreter start-up included), where the OS says.

    Linux: from ``/proc/self/stat`` (start time in clock ticks since boot, 10 ms resolution)
    and the boot-time clock. Elsewhere None.

    Returns
    -------
    float or None
    """
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat(5)
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def exit_without_teardown(code: int) -> None:
    """End a command's process: flush, run the ``atexit`` handlers, skip the module teardown.

    After a fit, Python's own teardown of the thousands of modules and objects that PyMC,
    PyTensor, numba, ArviZ and matplotlib load took 1.2-1.4 s of a ~12 s run, freeing memory the
    operating system reclaims anyway. Every file a command writes is closed (and renamed into
    place) before its ``main`` returns, and the registered exit handlers (logging, h5py, Dask,
    multiprocessing) still run here, so only that teardown is skipped. For ``__main__`` blocks
    only: ``main(argv)`` itself returns normally, so tests and library callers are unaffected.

    Parameters
    ----------
    code : int
        The process exit status (passed to ``os._exit``).
    """
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # closed or broken pipe: nothing more to say
                pass
        os._exit(code)
