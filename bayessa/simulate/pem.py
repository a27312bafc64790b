r"""Seeded piecewise-exponential (PEM) survival simulator.

A unit :math:`i` with time zero at calendar time :math:`o_i` has, at age :math:`t` (time since its
own time zero), the hazard

.. math::

    \lambda_i(t) = \exp\bigl(\alpha_{k(t)} + x_i^\top\beta + \gamma_{p(o_i + t)}
                   + z_{p(o_i+t)}(x_i)^\top\delta + u_{c(i)}\bigr),
    \qquad u_c \sim \mathcal N(0, \sigma_u^2),

where :math:`k(t)` is the age interval :math:`(a_k, a_{k+1}]`, :math:`p(\cdot)` the *current*
calendar period (so the hazard changes when a unit crosses a calendar cut point), :math:`\beta`
the log hazard ratios of categorical covariates and their interactions, :math:`\gamma` the period
effects, :math:`\delta` covariate x period interactions and :math:`u` the cluster effects. The
hazard is constant on each Lexis piece (age interval x calendar period), so the cumulative hazard
:math:`H_i(t)` is piecewise linear and the event time is drawn by inversion,

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
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from bayessa._rng import Seed, as_generator
from bayessa.data.columns import RESERVED, Columns, SurvivalData
from bayessa.data.lexis import check_cuts
from bayessa.data.read import read_data
from bayessa.errors import SpecError

__all__ = ["AtOrigin", "Given", "Simulation", "Truth", "as_generator", "simulate_pem"]

#: Units per block in the event-time inversion; bounds memory at about 100 MB per block.
_BLOCK = 250_000
_TERM = re.compile(r"\s*([^\[\]:]+?)\s*\[\s*([^\[\]]+?)\s*\]\s*")


@dataclass(frozen=True)
class Given:
    """A covariate drawn conditionally on earlier covariate(s).

    ``table`` maps each level of ``on`` (a tuple of levels when ``on`` names several covariates)
    to ``{level: probability}``. Every combination of parent levels must be present.

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


CovariateSpec = Mapping[str, float] | Given | AtOrigin


@dataclass(frozen=True)
class Truth:
    r"""The parameters a simulation used, and what it discarded.

    ``effects`` holds every log hazard ratio, including period effects (keyed
    ``"<period_name>[<label>]"``); absent levels are reference levels (effect 0). ``levels`` lists
    each covariate's levels, reference first. ``cluster_effects`` are the realised :math:`u_c`
    (drawn iid, not centred).

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

    @property
    def n_discarded(self) -> int:
        """Units simulated but never observed (truncated or entering after follow-up ended)."""
        return self.n_truncated + self.n_unobserved

    def to_dict(self) -> dict:
        """JSON-serialisable form (an infinite last cut point is written as the string ``"inf"``).

        Returns
        -------
        dict
        """
        out = asdict(self)
        out["cuts"] = ["inf" if np.isinf(c) else c for c in self.cuts]
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


def _probabilities(spec: Mapping[str, float], what: str, problems: list[str]) -> np.ndarray:
    p = np.asarray(list(spec.values()), dtype=np.float64)
    if p.size < 1 or np.isnan(p).any() or (p < 0).any() or not np.isclose(p.sum(), 1.0):
        problems.append(f"{what}: probabilities must be >= 0 and sum to 1, got {dict(spec)}")
        return np.full(max(p.size, 1), 1.0 / max(p.size, 1))
    return p / p.sum()


def _levels(spec: CovariateSpec) -> tuple[str, ...]:
    if isinstance(spec, AtOrigin):
        return tuple(str(x) for x in spec.labels)
    if isinstance(spec, Given):
        seen: dict[str, None] = {}
        for row in spec.table.values():
            seen.update(dict.fromkeys(str(k) for k in row))
        return tuple(seen)
    return tuple(str(k) for k in spec)


def _parse_effect(
    key: str, levels: Mapping[str, tuple[str, ...]], problems: list[str]
) -> list[tuple[str, int]]:
    terms = []
    for part in key.split(":"):
        m = _TERM.fullmatch(part)
        if m is None:
            problems.append(
                f"effect '{key}': write terms as name[level], joined by ':' for interactions"
            )
            return []
        name, level = m.groups()
        if name not in levels:
            problems.append(f"effect '{key}': '{name}' is not one of {sorted(levels)}")
        elif level not in levels[name]:
            problems.append(
                f"effect '{key}': level '{level}' of '{name}' is not one of {list(levels[name])}"
            )
        else:
            terms.append((name, levels[name].index(level)))
    return terms


# --------------------------------------------------------------------------------------------
# drawing


def _draw(rng: np.random.Generator, probs: np.ndarray, row: np.ndarray) -> np.ndarray:
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


def _compile_covariates(
    specs: Mapping[str, CovariateSpec], levels: Mapping[str, tuple[str, ...]], problems: list[str]
) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Check every covariate spec before anything is drawn.

    Returns ``{name: (parents, array)}``: for :class:`AtOrigin` no parents and the calendar cuts
    (a 1-d array); otherwise a probability matrix with one row per combination of parent levels.
    """
    out: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    for name, spec in specs.items():
        lv = levels[name]
        if isinstance(spec, AtOrigin):
            cuts = np.asarray(spec.cuts, dtype=np.float64)
            if len(lv) != cuts.size + 1 or not (np.diff(cuts) > 0).all():
                problems.append(f"covariate '{name}': need increasing cuts and len(cuts)+1 labels")
            out[name] = ((), cuts)
        elif isinstance(spec, Given):
            parents = spec.parents
            missing = [p for p in parents if p not in out]
            if missing:
                problems.append(f"covariate '{name}': parents {missing} must be defined before it")
                continue
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
                probs[r] = _probabilities({lab: row.get(lab, 0.0) for lab in lv}, what, problems)
            out[name] = (parents, probs)
        else:
            out[name] = ((), _probabilities(spec, f"covariate '{name}'", problems)[None, :])
    return out


def _draw_covariates(
    rng: np.random.Generator,
    compiled: Mapping[str, tuple[tuple[str, ...], np.ndarray]],
    levels: Mapping[str, tuple[str, ...]],
    origin: np.ndarray,
) -> dict[str, np.ndarray]:
    codes: dict[str, np.ndarray] = {}
    for name, (parents, arr) in compiled.items():
        if arr.ndim == 1:  # AtOrigin: the calendar period containing time zero
            codes[name] = np.searchsorted(arr, origin, side="right").astype(np.int32)
        elif parents:
            sizes = [len(levels[p]) for p in parents]
            row = np.ravel_multi_index(tuple(codes[p] for p in parents), sizes)
            codes[name] = _draw(rng, arr, row)
        else:
            codes[name] = _draw(rng, arr, np.zeros(origin.size, dtype=np.intp))
    return codes


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
        :math:`\alpha_k`, the log hazard of the reference unit in each of the :math:`K` intervals.
    covariates : mapping, optional
        Categorical covariates, drawn in order: ``{level: probability}``, :class:`Given`
        (conditional on earlier covariates) or :class:`AtOrigin` (calendar period at time zero).
        The first level listed is the reference.
    effects : mapping, optional
        Log hazard ratios keyed ``"name[level]"``; interactions join terms with ``":"``
        (``"leader[professional]:era[formal]"``). A term may name the current calendar period
        (``"<period_name>[label]"``), which makes the effect time-varying.
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
        ``event`` (0/1), ``origin`` (calendar time of time zero), the covariates and the cluster
        (Categoricals, reference level first). ``columns`` reads it with ``read_data``.
    """
    rng = as_generator(seed)
    s = _setup(
        n, cuts, log_baseline, covariates, effects, periods, period_labels, period_name,
        period_effects, calendar, clusters, cluster_sd, cluster_name, censoring_rate, entry_delay,
    )  # fmt: skip
    a, pc, delay = s.cuts, s.periods, s.delay

    # draws, in a fixed order so that a seed always gives the same data
    if cluster_effects is not None:
        missing = sorted(set(s.labels) - set(cluster_effects))
        if missing:
            raise SpecError(f"cluster_effects has no value for clusters {missing}")
        u = np.array([float(cluster_effects[label]) for label in s.labels])
    elif cluster_sd > 0:
        u = rng.normal(0.0, cluster_sd, len(s.labels))
    else:
        u = np.zeros(len(s.labels))
    origin = _origins(rng, calendar, n)
    codes = _draw_covariates(rng, s.compiled, s.levels, origin)
    cluster = _draw(rng, s.weights[None, :], np.zeros(n, dtype=np.intp))
    e = rng.standard_exponential(n)
    if delay.size == 2:
        entry = delay[0] + (delay[1] - delay[0]) * rng.random(n)
    else:
        entry = np.full(n, delay[0])
    censor = entry + (rng.exponential(1.0 / censoring_rate, n) if censoring_rate > 0 else np.inf)

    eta = _linear_predictor(s, codes, u[cluster], period_name)
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
    for name, c in codes.items():
        out[name] = pd.Categorical.from_codes(c[keep], categories=list(s.levels[name]))
    if clusters is not None:
        out[cluster_name] = pd.Categorical.from_codes(cluster[keep], categories=s.labels)
    columns = Columns(
        id="id",
        time="time",
        event="event",
        entry="entry" if entry_delay is not None else None,
        origin="origin",
        covariates=tuple(codes),
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
    )
    return Simulation(frame=pd.DataFrame(out), truth=truth, columns=columns)


@dataclass(frozen=True)
class _Setup:
    """The checked arguments of :func:`simulate_pem`, in the form the draws need."""

    cuts: np.ndarray
    alpha: np.ndarray
    periods: np.ndarray
    period_labels: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]
    effects: dict[str, float]
    parsed: dict[str, list[tuple[str, int]]]
    compiled: object
    labels: list[str]
    weights: np.ndarray
    delay: np.ndarray


def _setup(
    n, cuts, log_baseline, covariates, effects, periods, period_labels, period_name,
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
    levels = {name: _levels(spec) for name, spec in specs.items()}
    # covariate and cluster names become frame columns; the period name is used in effects
    taken = {*RESERVED, "time"}
    clash = sorted(({*levels, cluster_name} & taken) | ({*levels} & {period_name, cluster_name}))
    if clash:
        problems.append(f"names {clash} clash with other columns or reserved names; rename them")
    levels_all = {**levels, period_name: plabels}
    all_effects = {str(k): float(v) for k, v in (effects or {}).items()}
    all_effects |= {f"{period_name}[{k}]": float(v) for k, v in (period_effects or {}).items()}
    parsed = {k: _parse_effect(k, levels_all, problems) for k, v in all_effects.items()}
    if not np.isfinite(list(all_effects.values()) or [0.0]).all():
        problems.append(f"effects must be finite numbers, got {all_effects}")
    compiled = _compile_covariates(specs, levels, problems)
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
        a, alpha, pc, plabels, levels, all_effects, parsed, compiled, labels, weights, delay
    )


def _linear_predictor(s: _Setup, codes, cluster_effect: np.ndarray, period_name: str) -> np.ndarray:
    r"""Log hazard ratio of each unit in each calendar period, ``(n, P)``.

    .. math:: \eta_{ip} = u_{g(i)} + \sum_k \beta_k \, 1[\text{unit } i \text{ and
        period } p \text{ match term } k]
    """
    n, P = len(cluster_effect), s.periods.size + 1
    eta = np.zeros((n, P))
    eta += cluster_effect[:, None]
    for key, terms in s.parsed.items():
        mask = np.ones((n, 1), dtype=bool)
        per = np.ones((1, P), dtype=bool)
        for name, code in terms:
            if name == period_name:
                per = per & (np.arange(P) == code)[None, :]
            else:
                mask = mask & (codes[name] == code)[:, None]
        eta += np.where(mask & per, s.effects[key], 0.0)
    return eta
