"""Command-line plumbing shared by ``python -m bayessa.<command>``.

Every command is ``main(argv) -> int``: 0 success, 1 a failed check the user asked to be strict
about, 2 bad data, spec or arguments (one clear message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import types
from collections.abc import Callable, Sequence

from bayessa.errors import BayessaError

__all__ = [
    "ArgumentParser",
    "EXIT_BAD_INPUT",
    "EXIT_FAILED_CHECK",
    "EXIT_OK",
    "exit_without_teardown",
    "run_main",
]

EXIT_OK = 0
EXIT_FAILED_CHECK = 1
EXIT_BAD_INPUT = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports errors as ``prog: error: ...`` and exits 2 (argparse's own code)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def run_main(body: Callable[[], int], prog: str) -> int:
    """Run a command body, turning bayessa's errors into exit 2 with a message and no traceback."""
    try:
        return body()
    except BayessaError as err:
        sys.stderr.write(f"{prog}: error: {err}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; nothing was written\n")
        return 130


def csv_floats(text: str) -> list[float]:
    """Parse ``"0,0.5,1,inf"`` for argparse."""
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _int_at_least(text: str, minimum: int) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < minimum:
        raise argparse.ArgumentTypeError(
            f"must be at least 1, got {v}" if minimum == 1 else f"must be 0 or more, got {v}"
        )
    return v


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return _int_at_least(text, 1)


def nonnegative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    return _int_at_least(text, 0)


def argv_or_sys(argv: Sequence[str] | None) -> list[str]:
    return list(sys.argv[1:] if argv is None else argv)


def callable_module(module_name: str, target: str) -> None:
    """Make the command module ``module_name`` callable as the library function ``target``.

    ``bayessa.fit`` and ``bayessa.logrank`` are both a library function (the public API) and a
    command module (``python -m bayessa.fit``). Importing the module would otherwise replace the
    function on the package; with this hook ``bayessa.fit(...)`` keeps working either way.
    ``target`` is ``"package.module:function"``.
    """
    mod_name, _, func = target.partition(":")

    class _CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return getattr(importlib.import_module(mod_name), func)(*args, **kwargs)

    sys.modules[module_name].__class__ = _CallableModule


def exit_without_teardown(code: int) -> None:
    """End a command's process: flush, run the ``atexit`` handlers, skip the module teardown.

    After a fit, Python's own teardown of the thousands of modules and objects that PyMC,
    PyTensor, numba, ArviZ and matplotlib load took 1.2-1.4 s of a ~12 s run, freeing memory the
    operating system reclaims anyway. Every file a command writes is closed (and renamed into
    place) before its ``main`` returns, and the registered exit handlers (logging, h5py, Dask,
    multiprocessing) still run here, so only that teardown is skipped. For ``__main__`` blocks
    only: ``main(argv)`` itself returns normally, so tests and library callers are unaffected.
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
