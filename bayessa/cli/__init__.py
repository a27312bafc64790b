"""The commands: one module per command, each with ``build_parser()`` and ``main(argv) -> int``.

Every command follows one convention: exit 0 on success, 1 when a check the user asked to be
strict about failed, 2 on bad data, spec or arguments (one message on stderr, never a
traceback). Each runs as ``python -m bayessa.<command>`` and as ``bayessa <command>`` (the console
script, :func:`main`). Commands only parse arguments, call the library and print.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

#: Command name -> one-line description (the order of ``bayessa --help``).
COMMANDS: dict[str, str] = {
    "fit": "fit a model spec to data and write a run directory",
    "cells": "write the cells of a spec's data (in memory or on Dask) to a Parquet file",
    "report": "rebuild the report of a saved run",
    "compare": "PSIS-LOO of runs and their comparison",
    "predict": "predict survival of new units from a run",
    "logrank": "log-rank family tests on a table of units",
    "cuminc": "cumulative incidence of competing risks and Gray's test",
    "expansion": "founding, composition and reach of new units across eras",
    "sbc": "simulation-based calibration of a spec's model",
    "compile": "compile a spec's model into the cache",
    "simulate": "simulate survival data sets",
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {what}" for name, what in COMMANDS.items()]
    return (
        "usage: bayessa COMMAND [ARGS ...]\n\n"
        "Hierarchical Bayesian piecewise-exponential survival analysis.\n\ncommands:\n"
        + "\n".join(lines)
        + "\n\n'bayessa COMMAND --help' describes a command's arguments.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``bayessa COMMAND [ARGS ...]``: run one command; returns its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``bayessa``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The command's exit status; 0 for ``--help``, 2 for an unknown or missing command.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        (sys.stdout if args else sys.stderr).write(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from bayessa import __version__

        print(f"bayessa {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        sys.stderr.write(
            f"bayessa: error: unknown command {name!r}; the commands are {', '.join(COMMANDS)}\n"
        )
        return 2
    command = importlib.import_module(f"bayessa.cli.{name}")
    # usage and messages say how the command was called ("bayessa fit", not "python -m ...")
    prog, command.PROG = command.PROG, f"bayessa {name}"
    try:
        return command.main(rest)
    finally:
        command.PROG = prog
