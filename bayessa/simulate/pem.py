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

**Competing causes** (``causes``). Each cause :math:`r` has its own piecewise-constant hazard,

.. math::

    \lambda_{ir}(t) = \exp\bigl(\alpha_{r,k(t)} + x_i^\top\beta_r + \eta^{\text{shared}}_i(t)\bigr),

with its own baseline :math:`\alpha_r` and log hazard ratios :math:`\beta_r` (:class:`Cause`);
:math:`\eta^{\text{shared}}` holds what every cause shares: the top-level ``effects`` and
``period_effects``, the smooth terms and the cluster effect :math:`u_{c(i)}` (one draw per
cluster, the same for every cause). A latent time is drawn per cause by the same inversion,
:math:`T_{ir} = H_{ir}^{-1}(E_{ir})`, and the first wins: :math:`T_i = \min_r T_{ir}`, cause
:math:`\arg\min_r T_{ir}`. The all-cause hazard is :math:`\sum_r \lambda_{ir}` and the probability
that an event is of cause :math:`r` is :math:`\lambda_{ir}(T_i) / \sum_s \lambda_{is}(T_i)`, so the
cumulative incidence of cause :math:`r` is
:math:`F_r(t) = \int_0^t \lambda_{ir}(u)\, S_i(u)\, du` with :math:`S_i` the all-cause survival
(for constant hazards :math:`F_r(t) = \lambda_r / \lambda \cdot (1 - e^{-\lambda t})`,
:math:`\lambda = \sum_r \lambda_r`).

**Inspection** (``inspection``). The event times above are exact. With an :class:`Inspection`
schedule the event is seen only at contacts: the unit's entry (time zero without delayed entry),
the scheduled visits during its follow-up (regular or given times, each moved by a uniform
jitter) and a final contact at the end of its follow-up :math:`X_i^{\max} = \min(e_i + C_i,
\tau - o_i, a_K)` (loss to follow-up, the study end or the last cut point). An event at
:math:`T_i` is then known to lie in

.. math::

    (L_i, U_i] = \bigl(\max\{\text{contacts} < T_i\},\; \min\{\text{contacts} \ge T_i\}\bigr],

so :math:`L_i < T_i \le U_i` always; a share ``exact`` of the events is seen when it happens
(:math:`L_i = U_i = T_i`), and a censored unit has :math:`L_i = X_i` and no :math:`U_i`
(right-censored at :math:`L_i`). These are the ``time_lower`` / ``time_upper`` columns, in the
interval conventions of R's ``Surv(type = "interval2")``: equal = exact, upper blank = right-
censored at the lower bound.

The frame returned is in the **durations** input form of :func:`bayessa.data.read_data`; read it
with ``Simulation.columns`` (or :meth:`Simulation.read`). The study-like data set lives in
:mod:`bayessa.simulate.sa_groups`; ``python -m bayessa.simulate sa-groups --seed N --out FILE`` writes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

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

__all__ = ["Cause", "Inspection", "Simulation", "Truth", "as_generator", "simulate_pem"]

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
    causes : dict of str to dict
        Competing causes only: cause -> ``{"log_baseline": [...], "effects": {...}}``, the cause's
        own baseline and its log hazard ratios (its own plus the shared ones). ``log_baseline``
        is then the all-cause log hazard of the reference unit,
        :math:`\log \sum_r e^{\alpha_{rk}}`, and ``effects`` the effects shared by every cause.
    censored_value : str or None
        Competing causes only: the ``outcome`` of a unit without an event.
    inspection : dict
        With an inspection schedule: the schedule (:meth:`Inspection.to_dict`).
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
    causes: dict[str, dict] = field(default_factory=dict)
    censored_value: str | None = None
    inspection: dict = field(default_factory=dict)

    @property
    def n_discarded(self) -> int:
        """Units simulated but never observed (truncated or entering after follow-up ended)."""
        return self.n_truncated + self.n_unobserved

    def to_dict(self) -> dict:
        """JSON-serialisable form (an infinite last cut point is written as the string ``"inf"``).

        ``numeric``, ``smooth``, ``causes``, ``censored_value`` and ``inspection`` are left out
        when empty, so the record of a simulation without them is unchanged.

        Returns
        -------
        dict
        """
        out = asdict(self)
        out["cuts"] = ["inf" if np.isinf(c) else c for c in self.cuts]
        for key in ("numeric", "smooth", "causes", "censored_value", "inspection"):
            if out[key] is None or (isinstance(out[key], dict) and not out[key]):
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


@dataclass(frozen=True)
class Cause:
    r"""One cause of a competing-risks simulation (``simulate_pem(..., causes={name: Cause(...)})``).

    The cause's hazard is
    :math:`\lambda_{ir}(t) = \exp(\alpha_{r,k(t)} + x_i^\top\beta_r + \eta^{\text{shared}}_i(t))`
    (module docstring): its own baseline and log hazard ratios, plus what every cause shares.

    Parameters
    ----------
    log_baseline : sequence of float
        :math:`\alpha_{rk}`, the cause's log hazard of the reference unit in each age interval of
        ``simulate_pem``'s ``cuts``.
    effects : mapping, optional
        The cause's own log hazard ratios, keyed as ``simulate_pem``'s ``effects`` (categorical
        ``"name[level]"``, numeric ``"name"``, interactions with ``":"``, the current calendar
        period ``"<period_name>[label]"``). They are **added** to the effects shared by every
        cause (``simulate_pem``'s ``effects`` and ``period_effects``).
    """

    log_baseline: Sequence[float]
    effects: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Inspection:
    r"""An inspection schedule: the event is seen only at contacts (``simulate_pem(..., inspection=)``).

    Give either ``every`` (regular visits) or ``times`` (given visits). A unit's contacts are its
    entry (time zero without delayed entry), the visits during its follow-up and a final contact
    at the end of its follow-up (loss to follow-up, the study end or the last cut point); an event
    is known to lie between the last contact before it and the first contact at or after it
    (module docstring).

    Parameters
    ----------
    every : float, optional
        Regular visits, one every ``every`` time units: at :math:`j \cdot \text{every}`,
        :math:`j = 1, 2, \dots` after each unit's time zero (``scale = "age"``), or at every
        multiple of ``every`` on the calendar (``scale = "calendar"``).
    times : sequence of float, optional
        Given visit times, strictly increasing (ages > 0, or calendar times); no visit after the
        last one (only the final contact).
    jitter : float, default 0
        Each visit of each unit is moved by its own :math:`\mathrm{Uniform}(-\text{jitter},
        \text{jitter})`; less than half the smallest gap between scheduled visits (on the age
        scale, counting the gap from time zero to the first visit), so that visits keep their
        order.
    exact : float, default 0
        Probability that an event is seen when it happens (reported, not found at a visit):
        then ``time_lower = time_upper = time``.
    scale : {"age", "calendar"}, default "age"
        Whether the schedule runs on each unit's own clock (time since time zero) or on the
        calendar (the scale of ``simulate_pem``'s ``calendar`` and ``study_end``: a survey of
        every unit at the same dates).
    """

    every: float | None = None
    times: Sequence[float] | None = None
    jitter: float = 0.0
    exact: float = 0.0
    scale: str = "age"

    def to_dict(self) -> dict:
        """JSON-serialisable record of the schedule (for the truth).

        Returns
        -------
        dict
        """
        return {
            "every": None if self.every is None else float(self.every),
            "times": None if self.times is None else [float(t) for t in self.times],
            "jitter": float(self.jitter),
            "exact": float(self.exact),
            "scale": self.scale,
            "final_contact": "the end of each unit's follow-up",
        }

    def problems(self) -> list[str]:
        """Everything wrong with the schedule (an empty list when it is valid).

        Returns
        -------
        list of str
        """
        problems: list[str] = []
        if (self.every is None) == (self.times is None):
            return ["inspection: give either every (regular visits) or times (given visits)"]
        if self.scale not in ("age", "calendar"):
            problems.append(f"inspection: scale must be 'age' or 'calendar', got {self.scale!r}")
        gaps: np.ndarray = np.empty(0)
        if self.every is not None:
            if not (_is_number(self.every) and np.isfinite(self.every) and self.every > 0):
                problems.append(f"inspection: every must be a number > 0, got {self.every!r}")
            else:
                gaps = np.array([float(self.every)])
        else:
            try:
                t = np.asarray(self.times, dtype=np.float64)
            except (TypeError, ValueError):
                t = np.array([np.nan])
            if t.ndim != 1 or t.size == 0 or not np.isfinite(t).all():
                problems.append(f"inspection: times must be finite numbers, got {self.times!r}")
            elif not (np.diff(t) > 0).all():
                problems.append(f"inspection: times must be strictly increasing, got {list(t)}")
            elif self.scale == "age" and t[0] <= 0:
                problems.append(f"inspection: visit ages must be > 0, got {list(t)}")
            else:
                gaps = np.diff(np.concatenate([[0.0], t]) if self.scale == "age" else t)
        if not (_is_number(self.jitter) and np.isfinite(self.jitter) and self.jitter >= 0):
            problems.append(f"inspection: jitter must be a number >= 0, got {self.jitter!r}")
        elif gaps.size and self.jitter >= gaps.min() / 2:
            problems.append(
                f"inspection: jitter {self.jitter} must be less than half the smallest gap "
                f"between visits ({gaps.min():g}), so that visits keep their order"
            )
        if not (_is_number(self.exact) and 0 <= self.exact <= 1):
            problems.append(
                f"inspection: exact must be a probability in [0, 1], got {self.exact!r}"
            )
        return problems


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


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
    log_baseline: Sequence[float] | None = None,
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
    causes: Mapping[str, Cause] | None = None,
    censored_value: str = "censored",
    inspection: Inspection | None = None,
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
        Required, unless ``causes`` are given (each has its own; then leave it out).
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
        Log hazard ratios (with ``causes``: shared by every cause, added to each cause's own). A categorical term is ``"name[level]"``, a numeric one ``"name"`` (the
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
    causes : mapping of str to Cause, optional
        Competing risks: ``{cause: Cause(log_baseline, effects)}``, each cause with its own
        piecewise-constant hazard (module docstring); a latent time is drawn per cause and the
        first wins. The cluster effects, smooth terms, ``effects`` and ``period_effects`` are
        shared by every cause.
    censored_value : str, default "censored"
        With ``causes``: the ``outcome`` of a unit without an event (not a cause's name).
    inspection : Inspection, optional
        Coarsen the event times by an inspection schedule (:class:`Inspection`): adds the
        columns ``time_lower`` and ``time_upper``.
    seed : int or numpy.random.Generator
        Randomness source; the global NumPy state is never used.

    Returns
    -------
    Simulation
        ``frame`` columns: ``id``, ``entry`` (only with ``entry_delay``), ``time`` (exit age),
        ``event`` (0/1; with ``causes``: an event of any cause), ``outcome`` (only with
        ``causes``: the cause, or ``censored_value``; a Categorical with ``censored_value``
        first, then the causes in order), ``time_lower`` and ``time_upper`` (only with
        ``inspection``: an event lies in ``(time_lower, time_upper]``; equal for an event seen
        when it happened; ``time_upper`` NaN (blank) for a censored unit, which has
        ``time_lower = time``, and for an event that no contact found), ``origin`` (calendar time
        of time zero), the covariates (Categoricals, reference level first; numeric ones float64)
        and the cluster (Categorical). ``time`` and ``event`` are the exact truth also with
        ``inspection``. ``columns`` reads it with ``read_data`` in the durations form (with
        ``causes``: ``event="outcome"``, ``censored=censored_value``), every covariate named in
        ``covariates``.

    Raises
    ------
    SpecError
        Listing every problem with the arguments, then (separately) every problem with the numeric
        draws or the smooth functions' values (wrong length, not finite).

    Notes
    -----
    Draws are made from one generator in this order: cluster effects, time zero, the covariates
    (in the order of ``covariates``), cluster membership, the unit exponentials :math:`E_i`,
    entry ages, censoring times. Smooth functions draw nothing. With ``causes`` the exponentials
    are :math:`E_{ir}`, one block of ``n`` per cause in the order of ``causes`` (so a single
    cause draws exactly what the simulation without causes draws). The inspection schedule is
    drawn last, from a child stream of the generator (``rng.spawn(1)[0]``; for an integer seed
    ``SeedSequence(seed).spawn(1)[0]``): per observed unit, four uniforms for the jitter of the
    visits around its event time and one for ``exact``. It leaves the generator's own stream
    untouched, so every other column is the same with and without ``inspection``.
    """
    rng = as_generator(seed)
    base = log_baseline
    if causes is not None or log_baseline is None:  # a placeholder (see _cause_setups)
        base = np.zeros(max(np.size(cuts) - 1, 0))
    s = _setup(
        n, cuts, base, covariates, effects, smooth, periods, period_labels, period_name,
        period_effects, calendar, clusters, cluster_sd, cluster_name, censoring_rate, entry_delay,
    )  # fmt: skip
    per_cause = _cause_setups(
        s, log_baseline, causes, censored_value, inspection, covariates, cluster_name, period_name
    )
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
    e = rng.standard_exponential(n if causes is None else (len(per_cause), n))
    if delay.size == 2:
        entry = delay[0] + (delay[1] - delay[0]) * rng.random(n)
    else:
        entry = np.full(n, delay[0])
    censor = entry + (rng.exponential(1.0 / censoring_rate, n) if censoring_rate > 0 else np.inf)

    shared = u[cluster] + offset
    if causes is None:
        t = _event_times(
            e, origin, a, s.alpha, pc, _linear_predictor(s, drawn, shared, period_name)
        )
    else:  # latent times per cause; the first wins
        latent = np.stack(
            [
                _event_times(
                    e[r], origin, a, c.alpha, pc, _linear_predictor(c, drawn, shared, period_name)
                )
                for r, c in enumerate(per_cause.values())
            ]
        )
        first = np.argmin(latent, axis=0)
        t = latent[first, np.arange(n)]

    end = np.full(n, a[-1]) if study_end is None else np.minimum(a[-1], study_end - origin)
    stop = np.minimum(np.minimum(t, censor), end)
    event = (t <= np.minimum(censor, end)).astype(np.int8)
    truncated = t <= entry
    keep = ~truncated & (stop > entry)
    out = {"id": np.arange(1, int(keep.sum()) + 1, dtype=np.int64)}
    if entry_delay is not None:
        out["entry"] = entry[keep]
    out |= {"time": stop[keep], "event": event[keep]}
    if causes is not None:
        names = np.array(list(per_cause), dtype=object)
        out["outcome"] = pd.Categorical(
            np.where(event[keep] == 1, names[first[keep]], censored_value),
            categories=[censored_value, *per_cause],
        )
    if inspection is not None:
        out["time_lower"], out["time_upper"] = _coarsen(
            rng.spawn(1)[0], inspection, stop[keep], event[keep] == 1, entry[keep],
            np.minimum(censor, end)[keep], origin[keep],
        )  # fmt: skip
    out["origin"] = origin[keep]
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
        event="event" if causes is None else "outcome",
        entry="entry" if entry_delay is not None else None,
        origin="origin",
        covariates=tuple(drawn),
        cluster=cluster_name if clusters is not None else None,
        censored=None if causes is None else censored_value,
    )
    alpha = s.alpha
    if causes is not None:  # the all-cause hazard of the reference unit
        alpha = np.logaddexp.reduce(np.stack([c.alpha for c in per_cause.values()]), axis=0)
    truth = Truth(
        cuts=tuple(float(x) for x in a),
        log_baseline=tuple(float(x) for x in alpha),
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
        causes={
            name: {
                "log_baseline": [float(x) for x in c.alpha],
                "effects": dict(c.effects),
            }
            for name, c in (per_cause or {}).items()
        },
        censored_value=None if causes is None else censored_value,
        inspection={} if inspection is None else inspection.to_dict(),
    )
    return Simulation(frame=pd.DataFrame(out), truth=truth, columns=columns)


def _cause_setups(
    s: _Setup,
    log_baseline: Sequence[float] | None,
    causes: Mapping[str, Cause] | None,
    censored_value: object,
    inspection: Inspection | None,
    covariates: Mapping[str, CovariateSpec] | None,
    cluster_name: str,
    period_name: str,
) -> dict[str, _Setup]:
    """Check the options of causes and inspection; each cause's setup (its baseline and effects).

    Returns an empty dict without causes. Raises one SpecError listing every problem.
    """
    problems: list[str] = []
    taken = {*(covariates or {}), cluster_name}
    per_cause: dict[str, _Setup] = {}
    if causes is None:
        if log_baseline is None:
            problems.append(
                f"log_baseline is required: {s.cuts.size - 1} values, one per interval "
                "(or give causes, each with its own log_baseline)"
            )
    elif log_baseline is not None:
        problems.append(
            "log_baseline is given with causes: each cause has its own (Cause(log_baseline=...)); "
            "drop log_baseline"
        )
    if causes is not None:
        if "outcome" in taken:
            problems.append("'outcome' is the cause column of competing causes: rename the column")
        if not isinstance(censored_value, str) or not censored_value:
            problems.append(f"censored_value must be a non-empty string, got {censored_value!r}")
        if not isinstance(causes, Mapping) or not causes:
            problems.append(f"causes must be a non-empty {{name: Cause}} mapping, got {causes!r}")
            causes = {}
        levels = {**s.levels, period_name: s.period_labels}
        for name, cause in causes.items():
            if not isinstance(name, str) or not name or name == censored_value:
                problems.append(
                    f"cause {name!r}: name each cause with a non-empty string other than the "
                    f"censored_value {censored_value!r}"
                )
                continue
            if not isinstance(cause, Cause):
                problems.append(f"cause '{name}': give Cause(log_baseline, effects), got {cause!r}")
                continue
            try:
                alpha = np.asarray(cause.log_baseline, dtype=np.float64)
            except (TypeError, ValueError):
                alpha = np.empty(0)
            if alpha.shape != (s.cuts.size - 1,) or not np.isfinite(alpha).all():
                problems.append(
                    f"cause '{name}': log_baseline needs {s.cuts.size - 1} finite values "
                    "(one per interval)"
                )
                continue
            own = {str(k): v for k, v in dict(cause.effects or {}).items()}
            if not all(_is_number(v) and np.isfinite(v) for v in own.values()):
                problems.append(f"cause '{name}': effects must be finite numbers, got {own}")
                continue
            effects = dict(s.effects)
            for k, v in own.items():
                effects[k] = effects.get(k, 0.0) + float(v)
            here: list[str] = []
            parsed = {k: _parse_effect(k, levels, list(s.numeric), here) for k in effects}
            problems += [f"cause '{name}': {p}" for p in here]
            per_cause[name] = replace(s, alpha=alpha, effects=effects, parsed=parsed)
    if inspection is not None:
        if not isinstance(inspection, Inspection):
            problems.append(f"inspection must be an Inspection(...), got {inspection!r}")
        else:
            problems += inspection.problems()
        clash = sorted(taken & {"time_lower", "time_upper"})
        if clash:
            problems.append(f"{clash} are the columns of the inspection: rename the column(s)")
    if problems:
        raise SpecError(problems)
    return per_cause


def _coarsen(
    rng: np.random.Generator,
    inspection: Inspection,
    time: np.ndarray,
    event: np.ndarray,
    entry: np.ndarray,
    last: np.ndarray,
    origin: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    r"""``time_lower`` and ``time_upper`` of each unit under the inspection schedule.

    ``time`` is the exit age, ``event`` whether it is an event, ``entry`` the entry age and
    ``last`` the age of the final contact (the end of the unit's possible follow-up, >= ``time``
    for an event). Visits are :math:`v_j = \text{nominal}_j + J_{ij}` with :math:`|J_{ij}| <`
    half the smallest gap, so the last visit before an event time :math:`T` and the first at or
    after it are among the four visits :math:`m - 1, \dots, m + 2` around the nominal visit
    :math:`m` with :math:`\text{nominal}_m \le T < \text{nominal}_{m+1}`: only their jitters are
    drawn (four uniforms per unit, then one for ``exact``).
    """
    n = time.size
    jitter = inspection.jitter * (2.0 * rng.random((n, 4)) - 1.0)
    seen = rng.random(n) < inspection.exact
    shift = origin if inspection.scale == "calendar" else np.zeros(n)
    x = time + shift  # the event time on the schedule's clock
    step = np.arange(-1, 3)
    if inspection.every is not None:
        every = float(inspection.every)
        j = np.floor(x / every).astype(np.int64)[:, None] + step
        nominal = j * every
        valid = j >= 1 if inspection.scale == "age" else np.ones(j.shape, dtype=bool)
    else:
        given = np.asarray(inspection.times, dtype=np.float64)
        j = (np.searchsorted(given, x, side="right") - 1)[:, None] + step
        valid = (j >= 0) & (j < given.size)
        nominal = given[np.clip(j, 0, given.size - 1)]
    visit = nominal + jitter - shift[:, None]  # ages
    before = valid & (visit < time[:, None])
    after = valid & (visit >= time[:, None])
    lower = np.maximum(np.where(before, visit, -np.inf).max(axis=1), entry)
    upper = np.minimum(np.where(after, visit, np.inf).min(axis=1), last)
    lower = np.where(event & ~seen, lower, time)
    upper = np.where(event & ~seen, upper, np.where(event, time, np.nan))
    upper[np.isinf(upper)] = np.nan  # an event no contact found: right-censored at time_lower
    return lower, upper


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
