"""The one seed helper: every random function in bayessa takes a seed or a ``numpy.random.Generator``."""

from __future__ import annotations

import numpy as np

from bayessa.errors import SpecError

__all__ = ["Seed", "as_generator"]

Seed = int | np.random.Generator


def as_generator(seed: Seed | None, *, allow_none: bool = False) -> np.random.Generator:
    """Return ``seed`` if it is a Generator, else a new PCG64 Generator seeded with it.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
        A non-negative integer, or a Generator (used as it is, so draws continue its stream).
    allow_none : bool
        Accept ``None`` as "a fresh, unseeded Generator" (irreproducible; for interactive use).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    SpecError
        Anything else (negative or non-integer seeds, booleans).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None and allow_none:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))
