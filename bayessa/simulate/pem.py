r"""Seeded piecewise-exponential (PEM) survival simulator.

A unit :math:`i` with time zero at calendar time :math:`o_i` has, at age :math:`t` (time since its
own time zero), the hazard

.. math::

    \lambda_i(t) = \exp\bigl(\alpha_{k(t)} + x_i^\top\beta + \sum_j f_j(x_{ij})
                   + \gamma_{p(o_i + t)} + z_{p(o_i+t)}(x_i)^\top\delta + u_{c(i)}\bigr),
    \qquad u_c \sim \mathcal N(0, \sigma_u^2),

where :math:`k(t)` is the age interval :math:`(a_k, a_{k+1}]`, :math:`p(\cdot)` the *current*
calendar period (so the hazard changes when a unit crosses a calendar cut point), :math:`\beta`
the log hazard ratios of categorical covariates (indicators), of numeric covariates (slopes per
unit) and of their interactions, :math:`f_j` smooth (arbitrary) log hazard ratio functions of
numeric covariates, :math:`\gamma` the period effects, :math:`\delta` covariate x period
interactions and :math:`u` the cluster effects. Covariates are unit-level (drawn once, see
:mod:`bayessa.simulate.covariates`), so the hazard is constant on each Lexis piece (age interval x
calendar period), the cumulative hazard :math:`H_i(t)` is piecewise linear and the event time is
drawn by inversion,

.. math::

    T_i = H_i^{-1}(E_i), \qquad E_i \sim \mathrm{Exp}(1),

which is exact (no time grid). Follow-up then ends at

.. math::

    X_i = \min\bigl(T_i,\; e_i + C_i,\; \tau - o_i,\; a_K\bigr),
    \qquad C_i \sim \mathrm{Exp}(c),

with :math:`e_i` the entry age (delayed entry), :math:`C_i` independent random censoring counted
from entry, :math:`\tau` the study end (administrative censoring) and :math:`a_K` the last age cut
point. Units with :math:`T_i \le e_i` are never observed under left truncation; they are discarded
and counted (``Truth.n_truncated``), as are units whose entry falls at or after the end of their
possible follow-up (``Truth.n_unobserved``).

The frame returned is in the **durations** input form of :func:`bayessa.data.read_data`; read it
with ``Simulation.columns`` (or :meth:`Simulation.read`). The study-like data set lives in
:mod:`bayessa.simulate.sa_groups`; ``python -m bayessa.simulate sa-groups --seed N --out FILE`` writes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from bayessa._rng import Seed, as_generator
from bayessa.data.columns import RESERVED, Columns, SurvivalData
from bayessa.data.lexis import check_cuts
from bayessa.data.read import read_data
from bayessa.errors import SpecError
from bayessa.simulate.covariates import (
    AtOrigin,
    CovariateSpec,
    Given,
    compile_covariates,
    covariate_levels,
    describe,
    draw_codes,
    draw_covariates,
    is_numeric,
)

__all__ = ["Simulation", "Truth", "as_generator", "simulate_pem"]

#: Units per block in the event-time inversion; bounds memory at about 100 MB per block.
_BLOCK = 250_000
_TERM = re.compile(r"\s*([^\[\]:]+?)\s*\[\s*([^\[\]]+?)\s*\]\s*")
_NAME = re.compile(r"\s*([^\[\]:]+?)\s*")
#: Points of the grid on which each smooth effect is recorded in the truth.
SMOOTH_GRID = 101


@dataclass(frozen=True)
class Truth:
    r"""The parameters a simulation used, and what it discarded.

    ``effects`` holds every log hazard ratio, including period effects (keyed
    ``"<period_name>[<label>]"``) and the slopes of numeric covariates (keyed by their name);
    absent levels are reference levels (effect 0). ``levels`` lists each categorical covariate's
    levels, reference first. ``cluster_effects`` are the realised :math:`u_c` (drawn iid, not
    centred). ``numeric`` describes each numeric covariate's distribution, and ``smooth`` each
    smooth effect :math:`f` as a table, ``{"x": [...], "f": [...]}``, of :math:`f` on 101 equally
    spaced points from the smallest to the largest value in the frame (of all units simulated if
    none is observed), so that it can be compared with an estimate without the callable.

    Parameters
    ----------
    cuts : tuple of float
        Age cut points.
    log_baseline : tuple of float
        :math:`\alpha_k` per interval.
    effects : dict of str to float
        Log hazard ratios, keyed as ``simulate_pem``'s ``effects``.
    levels : dict of str to tuple of str
        Each covariate's levels, reference first.
    periods : tuple of float
        Calendar cut points (empty without calendar periods).
    period_labels : tuple of str
        One label per calendar period.
    period_name : str
        Name of the calendar period in ``effects``.
    cluster_sd : float
        :math:`\sigma_u`.
    cluster_effects : dict of str to float
        Cluster label -> :math:`u_c` (empty without clusters).
    censoring_rate : float
        Rate of the exponential censoring.
    study_end : float or None
        Calendar time of administrative censoring.
    n_simulated : int
        Units simulated from time zero.
    n_truncated : int
        Units discarded because the event came before entry.
    n_unobserved : int
        Units discarded because follow-up ended before entry.
    numeric : dict of str to dict
        Numeric covariate -> its distribution as a plain dict (``{"distribution": "normal",
        "mean": ..., ...}``; a callable is named, ``{"distribution": "callable", "function":
        "module.name"}``).
    smooth : dict of str to dict
        Numeric covariate -> ``{"x": grid, "f": f(grid)}`` (lists of 101 floats).
    """

    cuts: tuple[float, ...]
    log_baseline: tuple[float, ...]
    effects: dict[str, float]
    levels: dict[str, tuple[str, ...]]
    periods: tuple[float, ...]
    period_labels: tuple[str, ...]
    period_name: str
    cluster_sd: float
    cluster_effects: dict[str, float]
    censoring_rate: float
    study_end: float | None
    n_simulated: int
    n_truncated: int
    n_unobserved: int
    numeric: dict[str, dict] = field(default_factory=dict)
    smooth: dict[str, dict] = field(default_factory=dict)

    @property
    def n_discarded(self) -> int:
        """Units simulated but never observed (truncated or entering after follow-up ended)."""
        return self.n_truncated + self.n_unobserved

    def to_dict(self) -> dict:
        """JSON-serialisable form (an infinite last cut point is written as the string ``"inf"``).

        ``numeric`` and ``smooth`` are left out when empty, so the record of a simulation with
        categorical covariates only is unchanged.

        Returns
        -------
        dict
        """
        out = asdict(self)
        out["cuts"] = ["inf" if np.isinf(c) else c for c in self.cuts]
        for key in ("numeric", "smooth"):
            if not out[key]:
                del out[key]
        return out


@dataclass(frozen=True)
class Simulation:
    """A simulated data set (durations form) and the truth that generated it.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per observed unit (see :func:`simulate_pem`).
    truth : Truth
        The parameters used and the units discarded.
    columns : Columns
        The roles of ``frame``'s columns, for ``read_data``.
    """

    frame: pd.DataFrame
    truth: Truth
    columns: Columns

    def read(self) -> SurvivalData:
        """Validate the frame with :func:`bayessa.data.read_data` (no copy is modified).

        Returns
        -------
        SurvivalData
        """
        return read_data(self.frame, self.columns)


# --------------------------------------------------------------------------------------------
# argument checking


def _parse_effect(
    key: str, levels: Mapping[str, tuple[str, ...]], numeric: Sequence[str], problems: list[str]
) -> list[tuple[str, int | None]]:
    """An effect key's terms: ``(name, level code)`` (categorical) or ``(name, None)`` (numeric)."""
    terms: list[tuple[str, int | None]] = []
    for part in key.split(":"):
        m, bare = _TERM.fullmatch(part), _NAME.fullmatch(part)
        if m is None and bare is not None and bare.group(1) in numeric:
            terms.append((bare.group(1), None))
            continue
        if m is None:
            hint = f"; '{bare.group(1)}' is categorical" if bare and bare.group(1) in levels else ""
            problems.append(
                f"effect '{key}': write terms as name[level] (categorical) or name (numeric), "
                f"joined by ':' for interactions{hint}"
            )
            return []
        name, level = m.groups()
        if name in numeric:
            problems.append(
                f"effect '{key}': '{name}' is numeric and takes no level; write '{name}' "
                "for its slope (log hazard ratio per unit)"
            )
        elif name not in levels:
            problems.append(f"effect '{key}': '{name}' is not one of {sorted({*levels, *numeric})}")
        elif level not in levels[name]:
            problems.append(
                f"effect '{key}': level '{level}' of '{name}' is not one of {list(levels[name])}"
            )
        else:
            terms.append((name, levels[name].index(level)))
    return terms


def _check_smooth(
    smooth: Mapping[str, object], specs: Mapping[str, CovariateSpec], problems: list[str]
) -> None:
    """Each smooth names a numeric covariate and is a callable."""
    for name, f in smooth.items():
        if name not in specs:
            problems.append(f"smooth '{name}': no covariate '{name}'; covariates: {list(specs)}")
        elif not is_numeric(specs[name]):
            problems.append(
                f"smooth '{name}': '{name}' is categorical; give its log hazard ratios in "
                "effects ('name[level]') instead"
            )
        if not callable(f):
            problems.append(f"smooth '{name}': give a function f(x) -> log hazard ratio, got {f!r}")


# --------------------------------------------------------------------------------------------
# drawing


def _clusters(
    clusters: int | Mapping[str, float] | None, problems: list[str]
) -> tuple[list[str], np.ndarray]:
    """Cluster labels and assignment probabilities."""
    if clusters is None:
        return ["c01"], np.ones(1)
    if isinstance(clusters, Mapping):
        w = np.asarray(list(clusters.values()), dtype=np.float64)
        if w.size and np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0:
            return [str(k) for k in clusters], w / w.sum()
    elif (
        isinstance(clusters, (int, np.integer)) and not isinstance(clusters, bool) and clusters > 0
    ):
        k = int(clusters)
        return [f"c{j + 1:0{max(2, len(str(k)))}d}" for j in range(k)], np.ones(k) / k
    problems.append(
        f"clusters must be a positive integer or {{label: weight >= 0}}, got {clusters!r}"
    )
    return ["c01"], np.ones(1)


def _origins(
    rng: np.random.Generator, calendar: tuple[float, float] | Callable, n: int
) -> np.ndarray:
    if callable(calendar):
        origin = np.asarray(calendar(rng, n), dtype=np.float64)
        if origin.shape != (n,) or not np.isfinite(origin).all():
            raise SpecError(f"calendar(rng, n) must return {n} finite calendar times")
        return origin
    lo, hi = (float(x) for x in calendar)
    return lo + (hi - lo) * rng.random(n)


def _event_times(
    e: np.ndarray, origin: np.ndarray, cuts: np.ndarray, alpha: np.ndarray,
    periods: np.ndarray, eta: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Invert the piecewise-linear cumulative hazard over each unit's Lexis pieces.

    ``eta[i, p]`` is unit ``i``'s log relative hazard in calendar period ``p``. Returns
    :math:`H_i^{-1}(E_i)`, or ``inf`` when :math:`E_i > H_i(a_K)`.
    """
    n = e.size
    out = np.empty(n)
    inner = cuts[1:-1]
    for s in range(0, n, _BLOCK):
        sl = slice(s, min(s + _BLOCK, n))
        m = sl.stop - sl.start
        cols = [np.zeros((m, 1)), np.broadcast_to(inner, (m, inner.size))]
        if periods.size:
            cols.append(np.clip(periods[None, :] - origin[sl, None], 0.0, cuts[-1]))
        cols.append(np.full((m, 1), cuts[-1]))
        bp = np.concatenate(cols, axis=1)
        bp.sort(axis=1)
        lo, hi = bp[:, :-1], bp[:, 1:]
        width = hi - lo
        mid = lo + 0.5 * width
        k = np.searchsorted(cuts, mid, side="left") - 1
        if periods.size:
            p = np.searchsorted(periods, origin[sl, None] + mid, side="right")
            log_rate = alpha[k] + np.take_along_axis(eta[sl], p, axis=1)
        else:
            log_rate = alpha[k] + eta[sl, :1]
        rate = np.exp(log_rate)
        inc = np.where(width > 0, rate * width, 0.0)
        cum = np.cumsum(inc, axis=1)
        j = (cum < e[sl, None]).sum(axis=1)
        hit = j < cum.shape[1]
        jj = np.minimum(j, cum.shape[1] - 1)[:, None]
        prev = np.where(jj > 0, np.take_along_axis(cum, np.maximum(jj - 1, 0), axis=1), 0.0)
        t = np.take_along_axis(lo, jj, axis=1) + (e[sl, None] - prev) / np.take_along_axis(
            rate, jj, axis=1
        )
        out[sl] = np.where(hit, t[:, 0], np.inf)
    return out


# --------------------------------------------------------------------------------------------
# the simulator


def simulate_pem(
    n: int,
    *,
    cuts: Sequence[float],
    log_baseline: Sequence[float],
    covariates: Mapping[str, CovariateSpec] | None = None,
    effects: Mapping[str, float] | None = None,
    smooth: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    periods: Sequence[float] = (),
    period_labels: Sequence[str] | None = None,
    period_name: str = "period",
    period_effects: Mapping[str, float] | None = None,
    calendar: tuple[float, float] | Callable[[np.random.Generator, int], np.ndarray] = (0.0, 0.0),
    clusters: int | Mapping[str, float] | None = None,
    cluster_sd: float = 0.0,
    cluster_name: str = "cluster",
    censoring_rate: float = 0.0,
    study_end: float | None = None,
    entry_delay: float | tuple[float, float] | None = None,
    cluster_effects: Mapping[str, float] | None = None,
    seed: Seed,
) -> Simulation:
    r"""Simulate right-censored, left-truncated survival data from a piecewise-exponential model.

    Parameters
    ----------
    n : int
        Units simulated from time zero (before any are discarded by left truncation).
    cuts : sequence of float
        Age cut points :math:`0 = a_0 < \dots < a_K`; the last may be ``inf``. Follow-up is censored
        at :math:`a_K`.
    log_baseline : sequence of float
        :math:`\alpha_k`, the log hazard of the reference unit in each of the :math:`K` intervals:
        reference levels, numeric covariates at 0 (not at their mean) and smooth terms at 0.
    covariates : mapping, optional
        Covariates, drawn in order (see :mod:`bayessa.simulate.covariates` for the draws each
        uses). Categorical: ``{level: probability}``, :class:`~bayessa.simulate.covariates.Given`
        (conditional on earlier categorical covariates) or
        :class:`~bayessa.simulate.covariates.AtOrigin` (calendar period at time zero); the first
        level listed is the reference. Numeric (unit-level, float64 columns):
        :class:`~bayessa.simulate.covariates.Normal`,
        :class:`~bayessa.simulate.covariates.Uniform` or any callable ``f(rng, n)`` returning
        ``n`` finite floats.
    effects : mapping, optional
        Log hazard ratios. A categorical term is ``"name[level]"``, a numeric one ``"name"`` (the
        slope :math:`\beta`: log hazard ratio per unit, so ``{"age": 0.02}`` adds
        :math:`0.02\,x_{\text{age}}`). Interactions join terms with ``":"`` and multiply them:
        ``"leader[professional]:era[formal]"``, ``"age:sex[m]"`` (an extra slope for ``sex = m``),
        ``"age:income"`` (the product). A term may name the current calendar period
        (``"<period_name>[label]"``), which makes the effect time-varying.
    smooth : mapping, optional
        ``{numeric covariate: f}``, ``f(x)`` the log hazard ratio as a function of the covariate
        (vectorised, e.g. ``{"age": lambda a: 0.5 * np.sin(a / 10)}``). :math:`f(x)` is added to
        the log hazard **as given**, not centred at a reference value: any constant in it is a
        shift of the baseline. It adds to a linear ``effects`` term of the same covariate, if
        both are given.
    periods, period_labels, period_name : optional
        Calendar cut points :math:`c_1 < \dots` (same scale as ``calendar``), their labels
        (default ``"p0"``, ``"p1"``, ...) and the name used in ``effects``.
    period_effects : mapping, optional
        ``{period label: log HR}`` of the *current* period, :math:`\gamma_p` (first period = 0).
    calendar : (first, last) or callable
        Time zero of each unit (staggered entry): uniform on ``[first, last)``, or
        ``calendar(rng, n)`` returning ``n`` calendar times.
    clusters : int or mapping, optional
        Number of clusters (labels ``c01``, ``c02``, ... equally likely) or ``{label: weight}``.
    cluster_sd : float
        :math:`\sigma_u`, SD of the normal cluster effects on the log-hazard scale.
    cluster_name : str, default "cluster"
        Name of the cluster column.
    censoring_rate : float
        :math:`c`, rate of independent exponential censoring, counted from entry.
    study_end : float, optional
        Calendar time :math:`\tau` of administrative censoring.
    entry_delay : float or (low, high), optional
        Entry age :math:`e_i` (fixed, or uniform on ``[low, high)``); units with
        :math:`T_i \le e_i` are discarded.
    cluster_effects : mapping, optional
        The cluster effects :math:`u_c` by label, instead of drawing them (so that several
        simulations, e.g. the partitions of a large data set, share one set of clusters).
    seed : int or numpy.random.Generator
        Randomness source; the global NumPy state is never used.

    Returns
    -------
    Simulation
        ``frame`` columns: ``id``, ``entry`` (only with ``entry_delay``), ``time`` (exit age),
        ``event`` (0/1), ``origin`` (calendar time of time zero), the covariates (Categoricals,
        reference level first; numeric ones float64) and the cluster (Categorical).
        ``columns`` reads it with ``read_data``, every covariate named in ``covariates``.

    Raises
    ------
    SpecError
        Listing every problem with the arguments, then (separately) every problem with the numeric
        draws or the smooth functions' values (wrong length, not finite).

    Notes
    -----
    Draws are made from one generator in this order: cluster effects, time zero, the covariates
    (in the order of ``covariates``), cluster membership, the unit exponentials :math:`E_i`,
    entry ages, censoring times. Smooth functions draw nothing.
    """
    rng = as_generator(seed)
    s = _setup(
        n, cuts, log_baseline, covariates, effects, smooth, periods, period_labels, period_name,
        period_effects, calendar, clusters, cluster_sd, cluster_name, censoring_rate, entry_delay,
    )  # fmt: skip
    a, pc, delay = s.cuts, s.periods, s.delay

    # draws, in a fixed order so that a seed always gives the same data
    u = _cluster_effects(rng, s.labels, cluster_sd, cluster_effects)
    origin = _origins(rng, calendar, n)
    problems: list[str] = []
    drawn = draw_covariates(rng, s.compiled, s.levels, origin, problems)
    offset = _smooth_sum(s.smooth, drawn, problems)
    if problems:
        raise SpecError(problems)
    cluster = draw_codes(rng, s.weights[None, :], np.zeros(n, dtype=np.intp))
    e = rng.standard_exponential(n)
    if delay.size == 2:
        entry = delay[0] + (delay[1] - delay[0]) * rng.random(n)
    else:
        entry = np.full(n, delay[0])
    censor = entry + (rng.exponential(1.0 / censoring_rate, n) if censoring_rate > 0 else np.inf)

    eta = _linear_predictor(s, drawn, u[cluster] + offset, period_name)
    t = _event_times(e, origin, a, s.alpha, pc, eta)

    end = np.full(n, a[-1]) if study_end is None else np.minimum(a[-1], study_end - origin)
    stop = np.minimum(np.minimum(t, censor), end)
    event = (t <= np.minimum(censor, end)).astype(np.int8)
    truncated = t <= entry
    keep = ~truncated & (stop > entry)
    out = {"id": np.arange(1, int(keep.sum()) + 1, dtype=np.int64)}
    if entry_delay is not None:
        out["entry"] = entry[keep]
    out |= {"time": stop[keep], "event": event[keep], "origin": origin[keep]}
    for name, values in drawn.items():
        if name in s.numeric:
            out[name] = values[keep]
        else:
            out[name] = pd.Categorical.from_codes(values[keep], categories=list(s.levels[name]))
    if clusters is not None:
        out[cluster_name] = pd.Categorical.from_codes(cluster[keep], categories=s.labels)
    columns = Columns(
        id="id",
        time="time",
        event="event",
        entry="entry" if entry_delay is not None else None,
        origin="origin",
        covariates=tuple(drawn),
        cluster=cluster_name if clusters is not None else None,
    )
    truth = Truth(
        cuts=tuple(float(x) for x in a),
        log_baseline=tuple(float(x) for x in s.alpha),
        effects=s.effects,
        levels=dict(s.levels),
        periods=tuple(float(x) for x in pc),
        period_labels=s.period_labels,
        period_name=period_name,
        cluster_sd=float(cluster_sd),
        cluster_effects=dict(zip(s.labels, map(float, u), strict=True))
        if clusters is not None
        else {},
        censoring_rate=float(censoring_rate),
        study_end=None if study_end is None else float(study_end),
        n_simulated=n,
        n_truncated=int(truncated.sum()),
        n_unobserved=int((~truncated & (stop <= entry)).sum()),
        numeric={name: describe(spec) for name, spec in s.numeric.items()},
        smooth=_smooth_tables(s.smooth, drawn, keep if keep.any() else np.ones(n, dtype=bool)),
    )
    return Simulation(frame=pd.DataFrame(out), truth=truth, columns=columns)


def _cluster_effects(
    rng: np.random.Generator,
    labels: list[str],
    cluster_sd: float,
    given: Mapping[str, float] | None,
) -> np.ndarray:
    """:math:`u_c` per cluster label: as given, drawn iid normal, or zero."""
    if given is not None:
        missing = sorted(set(labels) - set(given))
        if missing:
            raise SpecError(f"cluster_effects has no value for clusters {missing}")
        return np.array([float(given[label]) for label in labels])
    if cluster_sd > 0:
        return rng.normal(0.0, cluster_sd, len(labels))
    return np.zeros(len(labels))


def _smooth_values(name: str, f: Callable, x: np.ndarray, problems: list[str]) -> np.ndarray:
    """``f(x)`` as float64, checked: one finite value per ``x`` (zeros and a problem otherwise)."""
    try:
        fx = np.asarray(f(x), dtype=np.float64)
    except (TypeError, ValueError) as err:
        problems.append(f"smooth '{name}': f(x) failed: {err}")
        return np.zeros(x.size)
    if fx.shape != x.shape:
        problems.append(
            f"smooth '{name}': f(x) must return one value per x (shape {x.shape}), got {fx.shape}"
        )
        return np.zeros(x.size)
    bad = int((~np.isfinite(fx)).sum())
    if bad:
        problems.append(f"smooth '{name}': f(x) is not finite (NaN or inf) at {bad} units")
    return fx


def _smooth_sum(
    smooth: Mapping[str, Callable], drawn: Mapping[str, np.ndarray], problems: list[str]
) -> np.ndarray | float:
    r""":math:`\sum_j f_j(x_{ij})` per unit (``0.0`` without smooth effects)."""
    total: np.ndarray | float = 0.0
    for name, f in smooth.items():
        total = total + _smooth_values(name, f, drawn[name], problems)
    return total


def _smooth_tables(
    smooth: Mapping[str, Callable], drawn: Mapping[str, np.ndarray], observed: np.ndarray
) -> dict:
    """``{name: {"x": grid, "f": f(grid)}}``, ``SMOOTH_GRID`` points over the observed units' x."""
    tables = {}
    problems: list[str] = []
    for name, f in smooth.items():
        x = drawn[name][observed]
        grid = np.linspace(x.min(), x.max(), SMOOTH_GRID)
        tables[name] = {"x": grid.tolist(), "f": _smooth_values(name, f, grid, problems).tolist()}
    if problems:
        raise SpecError([f"{p} (on the truth's grid)" for p in problems])
    return tables


@dataclass(frozen=True)
class _Setup:
    """The checked arguments of :func:`simulate_pem`, in the form the draws need."""

    cuts: np.ndarray
    alpha: np.ndarray
    periods: np.ndarray
    period_labels: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]
    numeric: dict[str, Callable]
    effects: dict[str, float]
    smooth: dict[str, Callable]
    parsed: dict[str, list[tuple[str, int | None]]]
    compiled: object
    labels: list[str]
    weights: np.ndarray
    delay: np.ndarray


def _setup(
    n, cuts, log_baseline, covariates, effects, smooth, periods, period_labels, period_name,
    period_effects, calendar, clusters, cluster_sd, cluster_name, censoring_rate, entry_delay,
) -> _Setup:  # fmt: skip
    """Check every argument of :func:`simulate_pem`; raise one SpecError listing all problems."""
    problems: list[str] = []
    a = check_cuts(cuts)
    alpha = np.asarray(log_baseline, dtype=np.float64)
    if alpha.shape != (a.size - 1,) or not np.isfinite(alpha).all():
        problems.append(f"log_baseline needs {a.size - 1} finite values (one per interval)")
        alpha = np.zeros(a.size - 1)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SpecError(f"n must be a positive integer, got {n!r}")
    pc = np.asarray(periods, dtype=np.float64)
    if pc.size and not (np.diff(pc) > 0).all():
        problems.append(f"periods must be strictly increasing, got {list(periods)}")
    plabels = tuple(period_labels or (f"p{j}" for j in range(pc.size + 1)))
    if len(plabels) != pc.size + 1:
        problems.append(f"{pc.size} period cut points need {pc.size + 1} period_labels")
    specs = dict(covariates or {})
    numeric = {name: spec for name, spec in specs.items() if is_numeric(spec)}
    levels = {
        name: covariate_levels(spec)
        for name, spec in specs.items()
        if isinstance(spec, (Mapping, Given, AtOrigin))
    }
    # covariate and cluster names become frame columns; the period name is used in effects
    taken = {*RESERVED, "time"}
    clash = sorted(({*specs, cluster_name} & taken) | ({*specs} & {period_name, cluster_name}))
    if clash:
        problems.append(f"names {clash} clash with other columns or reserved names; rename them")
    levels_all = {**levels, period_name: plabels}
    all_effects = {str(k): float(v) for k, v in (effects or {}).items()}
    all_effects |= {f"{period_name}[{k}]": float(v) for k, v in (period_effects or {}).items()}
    parsed = {k: _parse_effect(k, levels_all, list(numeric), problems) for k in all_effects}
    if not np.isfinite(list(all_effects.values()) or [0.0]).all():
        problems.append(f"effects must be finite numbers, got {all_effects}")
    smooth = dict(smooth or {})
    _check_smooth(smooth, specs, problems)
    compiled = compile_covariates(specs, levels, problems)
    labels, weights = _clusters(clusters, problems)
    delay = np.ravel(np.asarray(entry_delay if entry_delay is not None else 0.0, dtype=float))
    if delay.size not in (1, 2) or not (np.isfinite(delay).all() and (np.diff(delay) >= 0).all()):
        problems.append(f"entry_delay must be a number or (low, high), got {entry_delay!r}")
    elif (delay < 0).any():
        problems.append(f"entry_delay must be >= 0, got {entry_delay!r}")
    if not callable(calendar) and not (len(calendar) == 2 and calendar[1] >= calendar[0]):
        problems.append(f"calendar must be (first, last) with last >= first, got {calendar!r}")
    for name, value in (("cluster_sd", cluster_sd), ("censoring_rate", censoring_rate)):
        if not (np.isfinite(value) and value >= 0):
            problems.append(f"{name} must be a finite number >= 0, got {value}")
    if problems:
        raise SpecError(problems)
    return _Setup(
        a, alpha, pc, plabels, levels, numeric, all_effects, smooth, parsed, compiled, labels,
        weights, delay,
    )  # fmt: skip


def _linear_predictor(s: _Setup, drawn, offset: np.ndarray, period_name: str) -> np.ndarray:
    r"""Log hazard ratio of each unit in each calendar period, ``(n, P)``.

    .. math:: \eta_{ip} = o_i + \sum_k \beta_k \prod_{j \in k} z_{ijp}

    where :math:`o_i` is the offset (cluster effect plus smooth terms) and the terms :math:`j` of
    effect :math:`k` give :math:`z_{ijp}`: an indicator (categorical level, or current period
    :math:`p`) or a numeric covariate's value :math:`x_{ij}`.
    """
    n, P = len(offset), s.periods.size + 1
    eta = np.zeros((n, P))
    eta += offset[:, None]
    for key, terms in s.parsed.items():
        value = np.full((n, 1), s.effects[key])
        per = np.ones((1, P), dtype=bool)
        for name, code in terms:
            if name == period_name:
                per = per & (np.arange(P) == code)[None, :]
            elif code is None:
                value = value * drawn[name][:, None]
            else:
                value = value * (drawn[name] == code)[:, None]
        eta += value * per
    return eta
