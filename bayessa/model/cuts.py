r"""Cut points of the piecewise-exponential baseline chosen from the data, when none are given.

The rule (documented in docs/decisions.md):

* the number of intervals is :math:`K = \min(12, \max(1, \mathrm{round}(\sqrt{D} / 2)))` for
  :math:`D` events, so each interval holds about :math:`2\sqrt{D}` events (8 intervals for 250
  events; a single, exponential, interval below 9 events);
* the interior cut points are the :math:`j/K` quantiles of the event times (:math:`j = 1..K-1`),
  rounded to two significant digits and made strictly increasing, so that every interval holds
  about the same number of events and the labels read well;
* the first cut point is 0 and the last is ``inf``: the last interval is open, so no follow-up
  is ever beyond the last cut point and nothing is censored by the choice.

Like pammtools' default (cuts at the event times) the cuts follow the events; fewer, rounded
cuts keep the model small and the report readable. The chosen cuts are stated in the run's notes
and written into its ``spec.toml``, so the fit can be repeated exactly.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MAX_INTERVALS", "automatic_cuts", "describe_rule", "round_significant"]

#: At most this many intervals are chosen automatically.
MAX_INTERVALS = 12


def round_significant(x: float, digits: int = 2) -> float:
    """``x`` rounded to ``digits`` significant digits (0, negative and infinite values unchanged).

    Parameters
    ----------
    x : float
        The value.
    digits : int, default 2
        Significant digits kept.

    Returns
    -------
    float
    """
    if x <= 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(x))))


def automatic_cuts(event_times: np.ndarray) -> tuple[float, ...]:
    """Cut points ``(0, c_1, ..., c_{K-1}, inf)`` at rounded quantiles of the event times.

    Parameters
    ----------
    event_times : array of float
        Times (on the analysis scale) of the observed events; censored times are not used.

    Returns
    -------
    tuple of float
        Strictly increasing, starting at 0 and ending with ``inf``.
    """
    t = np.asarray(event_times, dtype=np.float64)
    t = t[np.isfinite(t) & (t > 0)]
    k = min(MAX_INTERVALS, max(1, round(math.sqrt(t.size) / 2)))
    cuts = [0.0]
    if k > 1:
        for q in np.quantile(t, np.arange(1, k) / k):
            c = round_significant(float(q))
            if c > cuts[-1]:
                cuts.append(c)
    return (*cuts, math.inf)


def describe_rule(cuts: tuple[float, ...], n_events: int, time_unit: str) -> str:
    """One sentence for the run's notes: which cuts were chosen and by what rule.

    Parameters
    ----------
    cuts : tuple of float
        The chosen cut points.
    n_events : int
        Events they were chosen from.
    time_unit : str
        The time unit, for the message.

    Returns
    -------
    str
    """
    shown = ", ".join("inf" if math.isinf(c) else f"{c:g}" for c in cuts)
    return (
        f"cut points chosen from the data ({time_unit}): {shown} -- {len(cuts) - 1} interval(s) "
        f"at quantiles of the {n_events} event times, the last one open; give cuts (--cuts) "
        "to set them"
    )
