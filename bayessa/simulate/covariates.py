r"""Covariates of the PEM simulator: their specifications and their seeded draws.

A covariate of :func:`bayessa.simulate.pem.simulate_pem` is either

- **categorical**: ``{level: probability}`` (first level = reference), :class:`Given` (drawn
  conditionally on earlier categorical covariates) or :class:`AtOrigin` (the calendar period that
  contains the unit's time zero); or
- **numeric**: :class:`Normal`, :class:`Uniform` or any callable ``f(rng, n)`` returning ``n``
  finite floats. Numeric covariates are unit-level (constant over a unit's follow-up).

Order of draws (reproducibility): the covariates are drawn one after another in the order of the
``covariates`` mapping, each from the simulator's one :class:`numpy.random.Generator`. A
categorical covariate uses one ``rng.random(n)`` (one uniform per unit, inverted through the
cumulative probabilities; :class:`AtOrigin` uses none); :class:`Normal` one
``rng.standard_normal(n)`` without bounds or one ``rng.random(n)`` with them; :class:`Uniform`
one ``rng.random(n)``; a callable whatever it draws from the ``rng`` it is given. Adding a numeric
covariate at the end of the mapping therefore leaves every earlier covariate's draws unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["AtOrigin", "Given", "Normal", "Uniform"]

#: Standard-normal quantiles are clipped to this range; ``ndtri`` returns ``inf`` only at
#: probabilities 0 and 1, which a uniform draw reaches with probability :math:`2^{-53}`.
_Z_MAX = 38.0


@dataclass(frozen=True)
class Given:
    """A covariate drawn conditionally on earlier covariate(s).

    ``table`` maps each level of ``on`` (a tuple of levels when ``on`` names several covariates)
    to ``{level: probability}``. Every combination of parent levels must be present. Parents must
    be categorical: conditioning on a numeric covariate is refused.

    Parameters
    ----------
    on : str or tuple of str
        The earlier covariate(s).
    table : mapping
        Parent level (or tuple of levels) -> ``{level: probability}``.
    """

    on: str | tuple[str, ...]
    table: Mapping[object, Mapping[str, float]]

    @property
    def parents(self) -> tuple[str, ...]:
        """The covariates this one is drawn conditionally on."""
        return (self.on,) if isinstance(self.on, str) else tuple(self.on)


@dataclass(frozen=True)
class AtOrigin:
    r"""A covariate equal to the calendar period that contains the unit's time zero.

    E.g. era *at founding*: ``AtOrigin(cuts=(1989.0, 1993.0), labels=("before", "early", "formal"))``
    gives ``"before"`` for :math:`o_i < 1989`, ``"early"`` for :math:`1989 \le o_i < 1993`, and so on.

    Parameters
    ----------
    cuts : sequence of float
        Calendar cut points, increasing, on the scale of the units' time zero.
    labels : sequence of str
        One label per period (``len(cuts) + 1``); the first is the reference level.
    """

    cuts: Sequence[float]
    labels: Sequence[str]


def _rounded(x: np.ndarray, decimals: int | None) -> np.ndarray:
    return x if decimals is None else np.round(x, decimals)


def _decimals_problem(decimals: object) -> list[str]:
    ok = decimals is None or (
        isinstance(decimals, (int, np.integer)) and not isinstance(decimals, bool)
    )
    return [] if ok else [f"decimals must be None or an integer, got {decimals!r}"]


@dataclass(frozen=True)
class Normal:
    r"""A numeric covariate drawn from a normal distribution, optionally truncated and rounded.

    .. math::

        x_i \sim \mathcal N(\mu, \sigma^2) \text{ restricted to } [l, u], \qquad
        x_i = \mu + \sigma\,\Phi^{-1}\bigl(\Phi(a) + U_i\,(\Phi(b) - \Phi(a))\bigr),

    with :math:`a = (l - \mu)/\sigma`, :math:`b = (u - \mu)/\sigma` and
    :math:`U_i \sim \mathrm{U}[0, 1)`. Truncation is **exact, by inversion** (neither rejection nor
    clipping): one uniform per unit, whatever the bounds, so the stream position after the draw
    does not depend on them. When the interval lies above the mean the draw is made in the
    mirrored lower tail, which keeps :math:`\Phi` accurate far out. Without bounds the draw is
    ``rng.standard_normal(n)``.

    ``decimals`` rounds the draws (``numpy.round``), e.g. ``decimals=0`` for ages in whole years, so
    that units share values and cells collapse. Rounding comes after truncation: a bound that is
    not on the rounding grid can be passed by up to half a grid step.

    Parameters
    ----------
    mean : float
        :math:`\mu`.
    sd : float
        :math:`\sigma > 0`.
    lower, upper : float, optional
        Truncation bounds :math:`l < u` (``None``: unbounded on that side).
    decimals : int, optional
        Decimals to round to (negative: tens, hundreds, ...).
    """

    mean: float
    sd: float
    lower: float | None = None
    upper: float | None = None
    decimals: int | None = None

    def _standard_bounds(self) -> tuple[float, float]:
        a = -math.inf if self.lower is None else (float(self.lower) - self.mean) / self.sd
        b = math.inf if self.upper is None else (float(self.upper) - self.mean) / self.sd
        return a, b

    def problems(self) -> list[str]:
        """What is wrong with the parameters (empty when they are valid).

        Returns
        -------
        list of str
        """
        from scipy.special import ndtr

        out = _decimals_problem(self.decimals)
        if not (np.isfinite(self.mean) and np.isfinite(self.sd) and self.sd > 0):
            return [*out, f"Normal needs a finite mean and sd > 0, got {self.mean}, {self.sd}"]
        bounds = [v for v in (self.lower, self.upper) if v is not None]
        if any(np.isnan(float(v)) for v in bounds):
            return [*out, "Normal bounds must be numbers or None, not NaN"]
        a, b = self._standard_bounds()
        if not a < b:
            return [*out, f"Normal needs lower < upper, got {self.lower}, {self.upper}"]
        a, b = (-b, -a) if a > 0 else (a, b)
        if not ndtr(b) - ndtr(a) > 0:
            out.append(
                f"Normal({self.mean}, {self.sd}) has no probability in [{self.lower}, {self.upper}]"
            )
        return out

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (see the class docstring for the draws used)."""
        from scipy.special import ndtr, ndtri

        a, b = self._standard_bounds()
        if a == -math.inf and b == math.inf:
            return _rounded(self.mean + self.sd * rng.standard_normal(n), self.decimals)
        sign = -1.0 if a > 0 else 1.0  # mirror an upper-tail interval into the lower tail
        a, b = (-b, -a) if sign < 0 else (a, b)
        pa, pb = ndtr(a), ndtr(b)
        z = np.clip(ndtri(pa + (pb - pa) * rng.random(n)), max(a, -_Z_MAX), min(b, _Z_MAX))
        return _rounded(self.mean + self.sd * sign * z, self.decimals)

    def to_dict(self) -> dict:
        """Plain, JSON-serialisable description (infinite bounds written as ``None``).

        Returns
        -------
        dict
        """
        bound = lambda v: None if v is None or not np.isfinite(v) else float(v)  # noqa: E731
        return {
            "distribution": "normal",
            "mean": float(self.mean),
            "sd": float(self.sd),
            "lower": bound(self.lower),
            "upper": bound(self.upper),
            "decimals": None if self.decimals is None else int(self.decimals),
        }


@dataclass(frozen=True)
class Uniform:
    r"""A numeric covariate drawn uniformly on :math:`[\text{low}, \text{high})`, optionally rounded.

    .. math:: x_i = \text{low} + (\text{high} - \text{low})\,U_i, \qquad U_i \sim \mathrm U[0, 1),

    one ``rng.random(n)``; ``decimals`` rounds as in :class:`Normal` (the rounded values may then
    include ``high``).

    Parameters
    ----------
    low, high : float
        Finite, ``low < high``.
    decimals : int, optional
        Decimals to round to.
    """

    low: float
    high: float
    decimals: int | None = None

    def problems(self) -> list[str]:
        """What is wrong with the parameters (empty when they are valid).

        Returns
        -------
        list of str
        """
        out = _decimals_problem(self.decimals)
        if not (np.isfinite(self.low) and np.isfinite(self.high) and self.low < self.high):
            out.append(f"Uniform needs finite low < high, got {self.low}, {self.high}")
        return out

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values with one ``rng.random(n)``."""
        x = self.low + (self.high - self.low) * rng.random(n)
        return _rounded(x, self.decimals)

    def to_dict(self) -> dict:
        """Plain, JSON-serialisable description.

        Returns
        -------
        dict
        """
        return {
            "distribution": "uniform",
            "low": float(self.low),
            "high": float(self.high),
            "decimals": None if self.decimals is None else int(self.decimals),
        }


NumericDraw = Callable[[np.random.Generator, int], np.ndarray]
CovariateSpec = Mapping[str, float] | Given | AtOrigin | Normal | Uniform | NumericDraw


def is_numeric(spec: object) -> bool:
    """A numeric covariate is any callable ``f(rng, n)`` (:class:`Normal`, :class:`Uniform`)."""
    return callable(spec)


def describe(spec: NumericDraw) -> dict:
    """Plain dict describing a numeric covariate's distribution, for the truth record."""
    if isinstance(spec, (Normal, Uniform)):
        return spec.to_dict()
    name = getattr(spec, "__qualname__", type(spec).__qualname__)
    return {"distribution": "callable", "function": f"{spec.__module__}.{name}"}


# --------------------------------------------------------------------------------------------
# checking


def probabilities(spec: Mapping[str, float], what: str, problems: list[str]) -> np.ndarray:
    """Probability vector of ``{level: probability}``, uniform (and a problem noted) if invalid."""
    p = np.asarray(list(spec.values()), dtype=np.float64)
    if p.size < 1 or np.isnan(p).any() or (p < 0).any() or not np.isclose(p.sum(), 1.0):
        problems.append(f"{what}: probabilities must be >= 0 and sum to 1, got {dict(spec)}")
        return np.full(max(p.size, 1), 1.0 / max(p.size, 1))
    return p / p.sum()


def covariate_levels(spec: CovariateSpec) -> tuple[str, ...]:
    """A categorical covariate's levels, reference first."""
    if isinstance(spec, AtOrigin):
        return tuple(str(x) for x in spec.labels)
    if isinstance(spec, Given):
        seen: dict[str, None] = {}
        for row in spec.table.values():
            seen.update(dict.fromkeys(str(k) for k in row))
        return tuple(seen)
    return tuple(str(k) for k in spec)


def _given(name, spec: Given, out, levels, problems) -> tuple[tuple[str, ...], np.ndarray] | None:
    """Probability matrix of a :class:`Given`, one row per combination of parent levels."""
    parents, lv = spec.parents, levels[name]
    numeric = [p for p in parents if p in out and callable(out[p][1])]
    if numeric:
        problems.append(
            f"covariate '{name}': Given cannot condition on numeric covariate(s) {numeric}; "
            "condition on a categorical covariate (e.g. age groups) instead"
        )
        return None
    missing = [p for p in parents if p not in out]
    if missing:
        problems.append(f"covariate '{name}': parents {missing} must be defined before it")
        return None
    combos = list(np.ndindex(*(len(levels[p]) for p in parents)))
    probs = np.full((len(combos), len(lv)), 1.0 / len(lv))
    for r, combo in enumerate(combos):
        labels = tuple(levels[p][c] for p, c in zip(parents, combo, strict=True))
        key = labels[0] if len(labels) == 1 else labels
        if key not in spec.table:
            problems.append(f"covariate '{name}': no probabilities given for {key!r}")
            continue
        row = {str(k): v for k, v in spec.table[key].items()}
        what = f"covariate '{name}' given {key!r}"
        probs[r] = probabilities({lab: row.get(lab, 0.0) for lab in lv}, what, problems)
    return parents, probs


def compile_covariates(
    specs: Mapping[str, CovariateSpec], levels: Mapping[str, tuple[str, ...]], problems: list[str]
) -> dict[str, tuple[tuple[str, ...], np.ndarray | NumericDraw]]:
    """Check every covariate spec before anything is drawn.

    Returns ``{name: (parents, what to draw from)}``: for :class:`AtOrigin` no parents and the
    calendar cuts (a 1-d array); for a numeric covariate no parents and the callable; otherwise a
    probability matrix with one row per combination of parent levels.
    """
    out: dict[str, tuple[tuple[str, ...], np.ndarray | NumericDraw]] = {}
    for name, spec in specs.items():
        if is_numeric(spec):
            if isinstance(spec, (Normal, Uniform)):
                problems.extend(f"covariate '{name}': {p}" for p in spec.problems())
            out[name] = ((), spec)
        elif isinstance(spec, AtOrigin):
            cuts = np.asarray(spec.cuts, dtype=np.float64)
            if len(levels[name]) != cuts.size + 1 or not (np.diff(cuts) > 0).all():
                problems.append(f"covariate '{name}': need increasing cuts and len(cuts)+1 labels")
            out[name] = ((), cuts)
        elif isinstance(spec, Given):
            given = _given(name, spec, out, levels, problems)
            if given is not None:
                out[name] = given
        elif isinstance(spec, Mapping):
            out[name] = ((), probabilities(spec, f"covariate '{name}'", problems)[None, :])
        else:
            problems.append(
                f"covariate '{name}': give {{level: probability}}, Given or AtOrigin (categorical), "
                f"or Normal, Uniform or a callable f(rng, n) (numeric); got {spec!r}"
            )
    return out


# --------------------------------------------------------------------------------------------
# drawing


def draw_codes(rng: np.random.Generator, probs: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Category codes: unit ``i`` draws from ``probs[row[i]]`` (rows of a probability matrix).

    One uniform per unit, inverted through the row's cumulative probabilities.
    """
    cum = np.cumsum(probs, axis=1)[:, :-1]
    u = rng.random(row.size)
    if probs.shape[0] == 1:
        return np.searchsorted(cum[0], u, side="right").astype(np.int32)
    codes = np.empty(row.size, dtype=np.int32)
    for r in range(probs.shape[0]):
        idx = row == r
        codes[idx] = np.searchsorted(cum[r], u[idx], side="right")
    return codes


def _draw_numeric(
    rng: np.random.Generator, name: str, f: NumericDraw, n: int, problems: list[str]
) -> np.ndarray:
    """``f(rng, n)`` as float64, checked: ``n`` finite values (zeros and a problem otherwise)."""
    try:
        x = np.asarray(f(rng, n), dtype=np.float64)
    except (TypeError, ValueError) as err:
        problems.append(f"covariate '{name}': f(rng, n) failed: {err}")
        return np.zeros(n)
    if x.shape != (n,):
        problems.append(
            f"covariate '{name}': f(rng, n) must return {n} values, got shape {x.shape}"
        )
        return np.zeros(n)
    bad = int((~np.isfinite(x)).sum())
    if bad:
        problems.append(f"covariate '{name}': {bad} of {n} draws are not finite (NaN or inf)")
    return x


def draw_covariates(
    rng: np.random.Generator,
    compiled: Mapping[str, tuple[tuple[str, ...], np.ndarray | NumericDraw]],
    levels: Mapping[str, tuple[str, ...]],
    origin: np.ndarray,
    problems: list[str],
) -> dict[str, np.ndarray]:
    """Draw every covariate in order: int32 codes (categorical) or float64 values (numeric).

    Problems with numeric draws (wrong length, non-finite values) are appended to ``problems``.
    """
    drawn: dict[str, np.ndarray] = {}
    n = origin.size
    for name, (parents, arr) in compiled.items():
        if callable(arr):
            drawn[name] = _draw_numeric(rng, name, arr, n, problems)
        elif arr.ndim == 1:  # AtOrigin: the calendar period containing time zero
            drawn[name] = np.searchsorted(arr, origin, side="right").astype(np.int32)
        elif parents:
            sizes = [len(levels[p]) for p in parents]
            row = np.ravel_multi_index(tuple(drawn[p] for p in parents), sizes)
            drawn[name] = draw_codes(rng, arr, row)
        else:
            drawn[name] = draw_codes(rng, arr, np.zeros(n, dtype=np.intp))
    return drawn
