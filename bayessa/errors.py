"""Errors and warnings raised by bayessa.

Every user-facing error names *what* is wrong, *where* (column, unit ids) and *how to fix it*,
and lists every problem found at once rather than stopping at the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "BayessaError",
    "ClusterError",
    "ConvergenceWarning",
    "DataError",
    "Problem",
    "SpecError",
    "format_ids",
]

MAX_IDS_SHOWN = 5


def format_ids(
    ids: Iterable[object], *, limit: int = MAX_IDS_SHOWN, total: int | None = None
) -> str:
    """Return ``"a, b, c and 12 more"`` for a list of unit ids (first *limit* shown).

    Parameters
    ----------
    ids : iterable
        Unit ids or row numbers, shown with ``str``.
    limit : int, default 5
        How many ids to show before ``"and N more"``.
    total : int, optional
        How many ids there are when ``ids`` holds only the first of them (data read partition
        by partition keep the first few and a count); default ``len(ids)``.

    Returns
    -------
    str
    """
    ids = list(ids)
    shown = ", ".join(str(i) for i in ids[:limit])
    rest = (len(ids) if total is None else total) - len(ids[:limit])
    return f"{shown} and {rest} more" if rest > 0 else shown


@dataclass(frozen=True)
class Problem:
    """One problem found in the input.

    Parameters
    ----------
    what : str
        What is wrong, in words ("negative durations").
    fix : str
        How to fix it ("durations must be >= 0; correct or remove these units").
    column : str, optional
        The column (or spec key) where it was found.
    ids : sequence, optional
        Offending unit ids (or row numbers); all are kept, the first few are shown.
    count : int, optional
        How many units are concerned when ``ids`` holds only the first of them (data validated
        partition by partition, :mod:`bayessa.data.partitioned`); default ``len(ids)``.
    """

    what: str
    fix: str
    column: str | None = None
    ids: Sequence[object] = field(default_factory=tuple)
    count: int | None = None

    @property
    def n_ids(self) -> int:
        """How many units the problem concerns (``count``, or the number of ``ids``)."""
        return len(self.ids) if self.count is None else self.count

    def __str__(self) -> str:
        where = f"column '{self.column}': " if self.column is not None else ""
        n = self.n_ids
        units = ""
        if n:
            units = f" ({n} unit{'s' if n != 1 else ''}: {format_ids(self.ids, total=n)})"
        return f"{where}{self.what}{units}. Fix: {self.fix}"


class BayessaError(Exception):
    """Base class of all bayessa errors."""


class _ProblemsError(BayessaError, ValueError):
    """An error carrying one or more :class:`Problem` objects."""

    kind = "input"

    def __init__(
        self, problems: Problem | str | Sequence[Problem | str], *, source: str | None = None
    ):
        if isinstance(problems, (Problem, str)):
            problems = [problems]
        self.problems: list[Problem | str] = list(problems)
        self.source = source
        super().__init__(self._message())

    def __reduce__(self):
        # as the problems, not the message: an error raised on a Dask worker arrives unchanged
        return _rebuild, (type(self), self.problems, self.source)

    def _message(self) -> str:
        head = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} in the {self.kind}"
        if self.source:
            head += f" ({self.source})"
        if len(self.problems) == 1:
            return f"{head}: {self.problems[0]}"
        return head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)


class DataError(_ProblemsError):
    """The data cannot be used as given. Lists every problem at once.

    Parameters
    ----------
    problems : Problem, str or sequence of Problem or str
        What is wrong; a single problem is wrapped in a list (kept as ``.problems``).
    source : str, optional
        Where the data came from (a path, ``"DataFrame"``), shown in the message.
    """

    kind = "data"


class SpecError(_ProblemsError):
    """A model spec, formula, prior or argument is invalid. Lists every problem at once.

    Parameters
    ----------
    problems : Problem, str or sequence of Problem or str
        What is wrong; a single problem is wrapped in a list (kept as ``.problems``).
    source : str, optional
        The spec file or argument concerned, shown in the message.
    """

    kind = "model spec"


class ClusterError(BayessaError):
    """The Dask cluster could not finish the work: a worker died, or the scheduler was lost.

    Nothing was written; the message says what failed and what to try.
    """


def _rebuild(cls: type, problems: list, source: str | None) -> _ProblemsError:
    """An error of ``cls`` from its problems (unpickling)."""
    return cls(problems, source=source)


class ConvergenceWarning(UserWarning):
    """MCMC diagnostics did not pass the gate (R-hat, ESS, divergences, E-BFMI)."""
