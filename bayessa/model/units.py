r"""Priors are stated per year; a model on another time scale gets them converted.

With :math:`u` time units per year (365.25 for days, 12 for months, 365.25/7 for weeks, 1 for
years) the same spec means the same model in any unit:

* ``baseline_level`` (a log hazard per unit of time): the location moves by :math:`-\log u`;
* ``baseline_smoothing`` (the SD of a random-walk step per unit of time, scaled by the square
  root of the interval spacing): its scale is divided by :math:`\sqrt{u}` for ``rw1``, and by
  :math:`u^{3/2}` for ``rw2`` (the walk is on the slope, itself per unit of time);
* ``baseline_slope`` (``rw2``'s initial slope, a log hazard per unit of time per unit of time):
  location and scale divided by :math:`u`;
* hazard ratios, cluster and time-varying SDs have no unit and are unchanged.

The bundled analyses are in years, where nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from bayessa.errors import SpecError

__all__ = ["priors_in_unit", "units_per_year"]

#: Days in each time unit (1 year = 365.25 days).
_DAYS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}


def units_per_year(time_unit: str) -> float:
    """How many ``time_unit`` make a year (365.25 days).

    Parameters
    ----------
    time_unit : {"days", "weeks", "months", "years"}

    Returns
    -------
    float
    """
    try:
        return 365.25 / _DAYS[time_unit]
    except KeyError:
        raise SpecError(f"time_unit '{time_unit}' is not one of {sorted(_DAYS)}") from None


def _scaled(prior, factor: float, *, shift: float = 0.0, location: bool = False):
    """A prior of ``factor * X + shift`` for ``X`` with ``prior`` (scale and location families)."""
    from bayessa.model.spec import Prior

    params = dict(prior.params)
    if "sigma" in params:
        params["sigma"] = params["sigma"] * factor
    if "lam" in params:  # exponential: the rate of factor * X is lam / factor
        params["lam"] = params["lam"] / factor
    if "mu" in params:
        params["mu"] = params["mu"] * (factor if location else 1.0) + shift
    return Prior(prior.dist, params)


def priors_in_unit(priors: Mapping, time_unit: str, baseline: str) -> dict:
    """The spec's per-year priors on the time scale ``time_unit``.

    Parameters
    ----------
    priors : mapping of str to Prior
        The spec's priors (per year).
    time_unit : str
        The data's time unit.
    baseline : {"iid", "rw1", "rw2"}
        The baseline prior (the smoothing SD's unit depends on it).

    Returns
    -------
    dict of str to Prior
        The same priors, with the time-dependent ones converted (see the module docstring).
    """
    u = units_per_year(time_unit)
    if u == 1.0:
        return dict(priors)
    out = dict(priors)
    out["baseline_level"] = _scaled(priors["baseline_level"], 1.0, shift=-math.log(u))
    power = 1.5 if baseline == "rw2" else 0.5
    out["baseline_smoothing"] = _scaled(priors["baseline_smoothing"], u**-power)
    out["baseline_slope"] = _scaled(priors["baseline_slope"], 1.0 / u, location=True)
    return out
