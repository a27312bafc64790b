"""Command-line plumbing shared by every command (``python -m bayessa.<command>``, ``bayessa <command>``).

Every command is ``main(argv) -> int``: 0 success, 1 a failed check the user asked to be strict
about, 2 bad data, spec or arguments (one clear message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bayessa.errors import BayessaError

__all__ = [
    "ArgumentParser",
    "EXIT_BAD_INPUT",
    "EXIT_FAILED_CHECK",
    "EXIT_OK",
    "argv_or_sys",
    "csv_floats",
    "nonnegative_int",
    "positive_int",
    "run_command",
    "run_main",
]

EXIT_OK = 0
EXIT_FAILED_CHECK = 1
EXIT_BAD_INPUT = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports errors as ``prog: error: ...`` and exits 2 (argparse's own code).

    Parameters
    ----------
    prog, usage, description, epilog, parents, formatter_class, prefix_chars
        As for :class:`argparse.ArgumentParser`.
    fromfile_prefix_chars, argument_default, conflict_handler, add_help, allow_abbrev, exit_on_error
        As for :class:`argparse.ArgumentParser`.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print the usage and ``prog: error: message`` on stderr, then exit 2.

        Parameters
        ----------
        message : str
            What is wrong with the arguments.

        Raises
        ------
        SystemExit
            Always, with code 2.
        """
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def run_main(body: Callable[[], int], prog: str) -> int:
    """Run a command body, turning bayessa's errors into exit 2 with a message and no traceback.

    The body parses its arguments too: argparse's errors (exit 2, usage and message on stderr)
    and ``--help`` (exit 0) come back as return codes, so ``main(argv)`` always returns.

    Parameters
    ----------
    body : callable
        Parses the arguments and runs the command; returns the exit status.
    prog : str
        The command's name, for messages.

    Returns
    -------
    int
        0 success; 1 a failed check the user asked to be strict about; 2 bad data, spec or
        arguments; 130 interrupted.
    """
    try:
        return body()
    except SystemExit as stop:  # argparse: --help (0) or a usage error (2)
        return stop.code if isinstance(stop.code, int) else EXIT_BAD_INPUT
    except BayessaError as err:
        sys.stderr.write(f"{prog}: error: {err}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; nothing was written\n")
        return 130
    except BrokenPipeError:  # the reader closed stdout early (`| head`): stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail
        return EXIT_OK


def csv_floats(text: str) -> list[float]:
    """Parse ``"0,0.5,1,inf"`` for argparse.

    Parameters
    ----------
    text : str
        Comma-separated numbers; empty items are skipped, ``inf`` is allowed.

    Returns
    -------
    list of float

    Raises
    ------
    argparse.ArgumentTypeError
        An item is not a number.
    """
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
    """Argparse type: a whole number >= 1.

    Parameters
    ----------
    text : str
        The argument as given.

    Returns
    -------
    int

    Raises
    ------
    argparse.ArgumentTypeError
        Not a whole number, or less than 1.
    """
    return _int_at_least(text, 1)


def nonnegative_int(text: str) -> int:
    """Argparse type: a whole number >= 0.

    Parameters
    ----------
    text : str
        The argument as given.

    Returns
    -------
    int

    Raises
    ------
    argparse.ArgumentTypeError
        Not a whole number, or negative.
    """
    return _int_at_least(text, 0)


def argv_or_sys(argv: Sequence[str] | None) -> list[str]:
    """The arguments given, or the process's own (``sys.argv[1:]``) when ``argv`` is None.

    Parameters
    ----------
    argv : sequence of str or None
        The command's arguments (without the program name).

    Returns
    -------
    list of str
    """
    return list(sys.argv[1:] if argv is None else argv)


def run_command(main: Callable[[], int]) -> None:
    """``python -m`` entry: run ``main()`` and end the process with its code.

    ``python -m`` entry: run ``main()`` and end the process with its code (see
    :func:`bayessa._runtime.exit_without_teardown`).

    Parameters
    ----------
    main : callable
        The command's ``main``, called with no arguments; returns the exit status.
    """
    from bayessa._runtime import exit_without_teardown

    exit_without_teardown(main())
