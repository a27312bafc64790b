r"""Seeded simulator of a covariate that switches during follow-up (one switch, A to B).

Each unit :math:`i` has fixed covariates :math:`x_i` (drawn once, as in
:func:`bayessa.simulate.pem.simulate_pem`) and one categorical covariate :math:`z_i(t)` whose
value changes during follow-up: a unit starts at level A and switches to level B at time
:math:`S_i`, and stays at B (B is absorbing; at most one switch per unit); a share ``initial`` of
the units is at B from time 0 (:math:`S_i = 0`, no switch during follow-up). The switch time is
exponential, with a hazard that may depend on the fixed covariates,

.. math::

    S_i \sim \mathrm{Exp}\bigl(\nu\, e^{x_i^\top \gamma}\bigr)
    \quad\text{or}\quad S_i = s_0 \text{ (a fixed switch time for every unit)},

independent of the unit's event time given :math:`x_i`. The event hazard uses the *current*
value,

.. math::

    \lambda_i(t) = \exp\bigl(\alpha_{k(t)} + \eta_i(z_i(t))\bigr), \qquad
    z_i(t) = \begin{cases} A & t \le S_i \\ B & t > S_i \end{cases},

where :math:`\eta_i(z)` collects the log hazard ratios (``effects``): of the current value
(``"<name>[B]"``), of the fixed covariates, and of their interactions with the current value
(``"<name>[B]:x[level]"``). The hazard is piecewise constant in :math:`t`, with breakpoints at the
age cut points and at :math:`S_i`, so the cumulative hazard

.. math::

    H_i(t) = \int_0^t \lambda_i(u)\,du
    = \sum_k \int_{(a_k, a_{k+1}] \cap (0, t]} e^{\alpha_k}
      \bigl(e^{\eta_i(A)} [u \le S_i] + e^{\eta_i(B)} [u > S_i]\bigr)\,du

is piecewise linear and the event time is drawn **exactly** by inversion,
:math:`T_i = H_i^{-1}(E_i)`, :math:`E_i \sim \mathrm{Exp}(1)`. The inversion is that of
:func:`bayessa.simulate.pem.simulate_pem`: the switch is a calendar cut point at 0 on a clock that
each unit starts at :math:`-S_i`, with "period" A before it and B after it. Follow-up ends at

.. math::

    X_i = \min(T_i, C_i, \tau, a_K), \qquad C_i \sim \mathrm{Exp}(c),

with :math:`\tau` the administrative end of follow-up and :math:`a_K` the last cut point; the
unit's switch is *observed* when :math:`S_i < X_i`.

The result has both input forms of a time-varying covariate (:mod:`bayessa.data.counting`,
:mod:`bayessa.data.changes`): counting-process rows, and a base table (one row per unit, the value
at entry) plus a change table (the switches observed during follow-up). They describe the same
follow-up: ``read_data(base, ..., changes=changes, change_time="time")`` gives the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from bayessa._rng import Seed, as_generator
from bayessa.data.columns import Columns, SurvivalData
from bayessa.data.read import read_data
from bayessa.errors import SpecError
from bayessa.simulate.covariates import AtOrigin, CovariateSpec, describe, draw_covariates
from bayessa.simulate.pem import _event_times, _linear_predictor, _parse_effect, _setup

__all__ = ["Switching", "simulate_switching"]

#: Column names of the rows that ``simulate_pem``'s check (reserved names and ``time``) lacks.
_OUTPUT = ("tstart", "tstop")


@dataclass(frozen=True)
class Switching:
    """A simulated data set with a switching covariate, in both forms, and its truth.

    Parameters
    ----------
    rows : pandas.DataFrame
        Counting-process rows: ``id``, ``tstart``, ``tstop``, ``event`` (0/1, only on a unit's
        last row), the current value of the switching covariate (Categorical ``(A, B)``) and the
        fixed covariates. One row for a unit that does not switch during follow-up, two for one
        that does: :math:`(0, S_i]` at A and :math:`(S_i, X_i]` at B.
    base : pandas.DataFrame
        One row per unit: ``id``, ``time`` (:math:`X_i`), ``event``, the switching covariate's
        value at entry (A) and the fixed covariates.
    changes : pandas.DataFrame
        One row per switch observed during follow-up (:math:`S_i < X_i`): ``id``, ``time``
        (:math:`S_i`) and the new value (B) under the covariate's name.
    truth : dict
        JSON-serialisable: ``n``, ``seed`` (``None`` for a Generator), ``cuts`` (an infinite last
        cut point as ``"inf"``), ``log_baseline``, ``effects`` (log hazard ratios, keyed as
        given), ``levels`` (reference first), ``numeric`` (numeric covariates' distributions),
        ``switch`` (``covariate``, ``from``, ``to``, ``hazard``, ``effects`` (log hazard ratios of
        the switch hazard), ``time`` (the fixed switch time, or ``None``)),
        ``censoring_rate``, ``follow_up``, ``n_switched`` (switches observed) and ``n_events``.
    columns : Columns
        Roles of ``rows``' columns (``tstart``/``tstop``), for ``read_data``.
    base_columns : Columns
        Roles of ``base``'s columns (``time``/``event``), for ``read_data`` with ``changes``.
    """

    rows: pd.DataFrame
    base: pd.DataFrame
    changes: pd.DataFrame
    truth: dict
    columns: Columns
    base_columns: Columns

    def read(self, form: str = "rows") -> SurvivalData:
        """Validate one form with :func:`bayessa.data.read_data` (nothing is modified).

        Parameters
        ----------
        form : {"rows", "changes"}
            ``"rows"``: the counting-process rows; ``"changes"``: the base table with the change
            table merged in. Both give the same rows.

        Returns
        -------
        SurvivalData
        """
        if form == "rows":
            return read_data(self.rows, self.columns)
        if form == "changes":
            return read_data(self.base, self.base_columns, changes=self.changes, change_time="time")
        raise SpecError(f"form must be 'rows' or 'changes', got {form!r}")


def _problems(
    name: str,
    levels: tuple[str, ...],
    covariates: Mapping[str, CovariateSpec],
    switch_hazard: float,
    switch_effects: Mapping[str, float],
    switch_time: float | None,
    follow_up: float | None,
) -> list[str]:
    """What is wrong with the arguments that :func:`bayessa.simulate.pem.simulate_pem` lacks."""
    problems: list[str] = []
    if len(levels) != 2 or len(set(levels)) != 2:
        problems.append(f"levels must be two different labels (A, B), got {levels!r}")
    clash = sorted({name, *covariates} & set(_OUTPUT))
    if clash:
        problems.append(f"names {clash} clash with the rows' columns {list(_OUTPUT)}; rename them")
    at_origin = [k for k, v in covariates.items() if isinstance(v, AtOrigin)]
    if at_origin:
        problems.append(
            f"covariates {at_origin}: AtOrigin needs calendar time zeros, which this simulator "
            "does not have (every unit starts at 0); give {level: probability} instead"
        )
    if switch_time is not None:
        if not (np.isfinite(switch_time) and switch_time >= 0):
            problems.append(f"switch_time must be a finite number >= 0, got {switch_time!r}")
        if switch_hazard or switch_effects:
            problems.append("give either switch_time or switch_hazard (with switch_effects)")
    if not (np.isfinite(switch_hazard) and switch_hazard >= 0):
        problems.append(f"switch_hazard must be a finite number >= 0, got {switch_hazard!r}")
    if follow_up is not None and not (follow_up > 0):
        problems.append(f"follow_up must be a number > 0 (or None), got {follow_up!r}")
    if not np.isfinite(list(switch_effects.values()) or [0.0]).all():
        problems.append(f"switch_effects must be finite numbers, got {dict(switch_effects)}")
    for key in switch_effects:
        if name in {term.split("[")[0].strip() for term in key.split(":")}:
            problems.append(
                f"switch_effects '{key}': the switch hazard depends on fixed covariates only, "
                f"not on '{name}' itself"
            )
    return problems


def simulate_switching(
    n: int,
    *,
    cuts: Sequence[float],
    log_baseline: Sequence[float],
    effects: Mapping[str, float] | None = None,
    switch_hazard: float = 0.0,
    switch_effects: Mapping[str, float] | None = None,
    switch_time: float | None = None,
    name: str = "current",
    levels: Sequence[str] = ("A", "B"),
    initial: float = 0.0,
    covariates: Mapping[str, CovariateSpec] | None = None,
    censoring_rate: float = 0.0,
    follow_up: float | None = None,
    seed: Seed,
) -> Switching:
    r"""Simulate survival data with a covariate that switches once, from A to B, during follow-up.

    Parameters
    ----------
    n : int
        Units, all followed from time 0.
    cuts : sequence of float
        Age cut points :math:`0 = a_0 < \dots < a_K`; the last may be ``inf``. Follow-up is
        censored at :math:`a_K`.
    log_baseline : sequence of float
        :math:`\alpha_k`, the log hazard in each interval of a unit currently at A with reference
        levels (numeric covariates at 0).
    effects : mapping, optional
        Log hazard ratios, keyed as in :func:`~bayessa.simulate.pem.simulate_pem`:
        ``"<name>[B]"`` for the current value B against A, ``"x[level]"`` or ``"x"`` (numeric)
        for fixed covariates, and interactions joined by ``":"``; an interaction with the
        current value (``"<name>[B]:x[level]"``) holds only after the switch.
    switch_hazard : float, default 0
        :math:`\nu`, the hazard of switching from A to B of a unit with reference levels (0: no
        unit switches).
    switch_effects : mapping, optional
        :math:`\gamma`, log hazard ratios of the switch hazard, keyed as ``effects``; fixed
        covariates only.
    switch_time : float, optional
        :math:`s_0`, a fixed switch time for every unit, instead of ``switch_hazard`` (e.g. a
        policy change at a known age).
    name : str, default "current"
        Name of the switching covariate.
    levels : (str, str), default ("A", "B")
        Its levels: the value at entry (reference) and the value after the switch.
    initial : float, default 0
        Probability that a unit is at B already at time 0 (its switch came before time zero: it
        has no switch during follow-up, and the hazard uses B throughout).
    covariates : mapping, optional
        Fixed covariates, as in :func:`~bayessa.simulate.pem.simulate_pem` (``{level:
        probability}``, :class:`~bayessa.simulate.covariates.Given`,
        :class:`~bayessa.simulate.covariates.Normal`, :class:`~bayessa.simulate.covariates.Uniform`
        or a callable); :class:`~bayessa.simulate.covariates.AtOrigin` is refused (no calendar).
    censoring_rate : float, default 0
        :math:`c`, rate of independent exponential loss to follow-up.
    follow_up : float, optional
        :math:`\tau`, administrative end of follow-up (time since time zero).
    seed : int or numpy.random.Generator
        Randomness source; the global NumPy state is never used.

    Returns
    -------
    Switching
        The counting-process ``rows``, the ``base`` and ``changes`` tables, the ``truth`` and the
        column roles of both forms.

    Raises
    ------
    SpecError
        Listing every problem with the arguments.

    Notes
    -----
    Draws are made from one generator in this order: the fixed covariates (in the order of
    ``covariates``), one uniform per unit for the value at entry (B when below ``initial``), one
    standard exponential per unit for the switch times
    (:math:`S_i = E^S_i / (\nu e^{x_i^\top\gamma})`; drawn even when no unit switches, so the
    later draws do not depend on the switch hazard), the unit exponentials :math:`E_i`, and the
    censoring times (only when ``censoring_rate > 0``).

    A switch is absorbing and happens at most once; a unit that returns to A, or passes through
    several levels, needs a change table with several rows per unit, which this simulator does
    not draw.
    """
    rng = as_generator(seed)
    covariates = dict(covariates or {})
    levels = tuple(str(x) for x in levels)
    a_label, b_label = (*levels, "A", "B")[:2]
    switch_effects = {str(k): v for k, v in (switch_effects or {}).items()}
    problems = _problems(
        name, levels, covariates, switch_hazard, switch_effects, switch_time, follow_up
    )
    if not (np.isfinite(initial) and 0 <= initial < 1):
        problems.append(f"initial must be a probability in [0, 1), got {initial!r}")
    try:
        s = _setup(
            n, cuts, log_baseline, covariates, effects, None, (0.0,), (a_label, b_label), name,
            None, (0.0, 0.0), None, 0.0, name, censoring_rate, None,
        )  # fmt: skip
    except SpecError as err:
        raise SpecError([*err.problems, *problems]) from None
    if problems:
        raise SpecError(problems)
    numeric = list(s.numeric)
    parsed = {k: _parse_effect(k, s.levels, numeric, problems) for k in switch_effects}
    if problems:
        raise SpecError(problems)
    switch_effects = {k: float(v) for k, v in switch_effects.items()}

    drawn = draw_covariates(rng, s.compiled, s.levels, np.zeros(n), problems)
    if problems:
        raise SpecError(problems)
    at_b = rng.random(n) < initial
    e_switch = rng.standard_exponential(n)
    e = rng.standard_exponential(n)
    censor = rng.exponential(1.0 / censoring_rate, n) if censoring_rate > 0 else np.full(n, np.inf)

    a = s.cuts
    horizon = min(a[-1], np.inf if follow_up is None else float(follow_up))
    if switch_time is not None:
        switch = np.full(n, float(switch_time))
    else:
        rate = float(switch_hazard) * np.exp(
            _linear_predictor(
                replace(s, parsed=parsed, effects=switch_effects), drawn, np.zeros(n), name
            )[:, 0]
        )
        with np.errstate(divide="ignore"):
            switch = np.where(rate > 0, e_switch / rate, np.inf)
    switch = np.where(at_b, 0.0, switch)
    # the switch as a calendar cut at 0 on a clock started at -S (a switch after the horizon is
    # placed at it: a segment of zero width, or far beyond any event without a horizon)
    at = np.minimum(switch, horizon if np.isfinite(horizon) else np.finfo(np.float64).max)
    eta = _linear_predictor(s, drawn, np.zeros(n), name)
    t = _event_times(e, -at, a, s.alpha, s.periods, eta)

    stop = np.minimum(np.minimum(t, censor), horizon)
    event = (t <= np.minimum(censor, horizon)).astype(np.int8)
    switched = (switch < stop) & ~at_b
    ids = np.arange(1, n + 1, dtype=np.int64)
    fixed = {
        k: v if k in s.numeric else pd.Categorical.from_codes(v, categories=list(s.levels[k]))
        for k, v in drawn.items()
    }
    current = pd.Categorical.from_codes(at_b.astype(np.int8), categories=[a_label, b_label])
    base = pd.DataFrame({"id": ids, "time": stop, "event": event, name: current, **fixed})
    changes = pd.DataFrame(
        {
            "id": ids[switched],
            "time": switch[switched],
            name: pd.Categorical.from_codes(
                np.ones(int(switched.sum()), dtype=np.int8), categories=[a_label, b_label]
            ),
        }
    )
    rows = _rows(base, switched, switch, name)
    covs = (name, *drawn)
    truth = {
        "n": n,
        "seed": seed if isinstance(seed, int) else None,
        "cuts": ["inf" if np.isinf(c) else float(c) for c in a],
        "log_baseline": [float(x) for x in s.alpha],
        "effects": dict(s.effects),
        "levels": {name: [a_label, b_label], **{k: list(v) for k, v in s.levels.items()}},
        "numeric": {k: describe(f) for k, f in s.numeric.items()},
        "initial": float(initial),
        "switch": {
            "covariate": name,
            "from": a_label,
            "to": b_label,
            "hazard": None if switch_time is not None else float(switch_hazard),
            "effects": switch_effects,
            "time": None if switch_time is None else float(switch_time),
        },
        "censoring_rate": float(censoring_rate),
        "follow_up": None if follow_up is None else float(follow_up),
        "n_switched": int(switched.sum()),
        "n_events": int(event.sum()),
    }
    return Switching(
        rows=rows,
        base=base,
        changes=changes,
        truth=truth,
        columns=Columns(id="id", tstart="tstart", tstop="tstop", event="event", covariates=covs),
        base_columns=Columns(id="id", time="time", event="event", covariates=covs),
    )


def _rows(base: pd.DataFrame, switched: np.ndarray, switch: np.ndarray, name: str) -> pd.DataFrame:
    """Counting-process rows: ``(0, X]`` at the value at entry, or ``(0, S]`` at A and ``(S, X]`` at B."""
    n = len(base)
    unit = np.repeat(np.arange(n), 1 + switched.astype(np.intp))
    second = np.zeros(unit.size, dtype=bool)
    second[1:] = unit[1:] == unit[:-1]
    first_of_two = np.zeros(unit.size, dtype=bool)
    first_of_two[:-1] = second[1:]
    out = base.iloc[unit].reset_index(drop=True)
    exit_ = out.pop("time").to_numpy()
    sw = switch[unit]
    out.insert(1, "tstart", np.where(second, sw, 0.0))
    out.insert(2, "tstop", np.where(first_of_two, sw, exit_))
    out["event"] = np.where(first_of_two, 0, out["event"].to_numpy()).astype(np.int8)
    value = base[name].cat
    codes = np.where(second, 1, value.codes.to_numpy()[unit]).astype(np.int8)
    out[name] = pd.Categorical.from_codes(codes, categories=value.categories)
    return out
