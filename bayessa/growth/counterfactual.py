r"""Expected active units over calendar time, as observed and under counterfactual eras.

Units are founded in cluster :math:`c` at rate :math:`r_c(s)` per year (the founding model),
with traits :math:`x` (e.g. leader type x setting) with probabilities :math:`\pi_{x}(e, c)` in
era :math:`e` (the composition model), and then survive :math:`S_{xec}(a)` to age :math:`a` (the
survival model: a piecewise-constant hazard by age, with the era at founding a covariate). With
foundings a Poisson process, the units active at date :math:`d` are a thinned Poisson process,
so their number in cluster :math:`c` is Poisson with mean

.. math::

    A_c(d) = \int_{s < d} r_c(s) \sum_x \pi_x(e(s), c)\, S_{x e(s) c}(d - s)\, ds ,

and a cluster is reached (holds an active unit) with probability :math:`1 - e^{-A_c(d)}`. The
integral is a sum over founding bins of one month (:data:`bayessa.growth.reach.STEP_DAYS`) with
the founding at each bin's middle, exact in the rates (each bin's expected foundings is the
integral of the piecewise-constant rate over it, split by era where a bin straddles a boundary)
and second order in the bin width for the survival term.

**Counterfactual.** A scenario says which era governs each of the three factors for units
founded after the first era: the founding rate (``"foundings"``), the mix of traits (``"mix"``)
and survival (``"survival"``). "As before the partnership" sets all three to the first era.
The posterior difference in group-years :math:`\int A(d)\,dd` between the observed eras and the
counterfactual is split into the three factors by the **Shapley** decomposition: each factor's
share is its marginal effect averaged over the 3! orders of switching the factors on, so the
shares add up to the total exactly (:func:`shapley_shares`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import factorial

import numpy as np

from bayessa.data.columns import TIME_UNITS

__all__ = ["FACTORS", "ReachModel", "expected_active", "shapley_shares"]

_YEAR = TIME_UNITS["years"]
#: The factors a counterfactual can hold at the first era.
FACTORS = ("foundings", "mix", "survival")


@dataclass(frozen=True)
class ReachModel:
    """Posterior draws of everything :func:`expected_active` needs.

    Parameters
    ----------
    slice_start, slice_stop : (J,) float
        The founding slices' bounds (days since 1970; stop exclusive).
    slice_era : (J,) int
        Each slice's era.
    rate : (S, J, C) float
        Foundings per year in each slice and cluster, as observed (each slice in its own era).
    rate_first_era : (S, J, C) float
        The same had every slice been in the first era (its trend kept).
    mix : (S, E, C, X) float
        Trait probabilities by era and cluster (rows sum to 1 over ``X``).
    log_hazard : (S, E, C, X, K) float
        Log hazard per age interval of a unit founded in era ``e``, cluster ``c``, traits ``x``.
    cuts : (K + 1,) float
        Age cut points in years (the last may be inf).
    """

    slice_start: np.ndarray
    slice_stop: np.ndarray
    slice_era: np.ndarray
    rate: np.ndarray
    rate_first_era: np.ndarray
    mix: np.ndarray
    log_hazard: np.ndarray
    cuts: np.ndarray

    @property
    def n_draws(self) -> int:
        """Posterior draws."""
        return self.rate.shape[0]


def _bins(m: ReachModel, first: float, step: float, n: int, rate: np.ndarray) -> np.ndarray:
    """Expected foundings per (draw, bin, era, cluster): the rate integrated over each bin."""
    S, J, C = rate.shape
    E = m.mix.shape[1]
    lo = first + step * np.arange(n)
    hi = lo + step
    overlap = np.clip(np.minimum(hi[:, None], m.slice_stop[None, :])
                      - np.maximum(lo[:, None], m.slice_start[None, :]), 0, None) / _YEAR  # fmt: skip
    W = np.zeros((S, n, E, C))
    for e in range(E):
        on = m.slice_era == e
        W[:, :, e, :] = np.einsum("bj,sjc->sbc", overlap[:, on], rate[:, on, :])
    return W


def _survival(log_hazard: np.ndarray, cuts: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """:math:`S(a)` of the piecewise-constant hazards at ``ages`` (years): (..., len(ages))."""
    width = np.diff(cuts)
    lam = np.exp(log_hazard)
    overlap = np.clip(np.minimum(ages[:, None], cuts[None, 1:]) - cuts[None, :-1], 0, None)
    overlap = np.minimum(overlap, np.where(np.isfinite(width), width, np.inf)[None, :])
    return np.exp(-np.einsum("...k,ak->...a", lam, overlap))


def expected_active(
    m: ReachModel,
    first: float,
    step: float,
    n_dates: int,
    *,
    foundings: str = "observed",
    mix: str = "observed",
    survival: str = "observed",
) -> np.ndarray:
    r"""Expected active units :math:`A_c(d)` at the dates ``first + step * (i + 1)``.

    Parameters
    ----------
    m : ReachModel
    first : float
        First day of the founding window.
    step : float
        Bin width and date spacing, in days.
    n_dates : int
        Number of dates (and founding bins).
    foundings, mix, survival : {"observed", "first"}
        Which era governs each factor: each unit's own era, or the first era.

    Returns
    -------
    (S, n_dates, C) float64
    """
    rate = m.rate if foundings == "observed" else m.rate_first_era
    W = _bins(m, first, step, n_dates, rate)  # (S, B, E, C): founding era e
    E = m.mix.shape[1]
    mix_era = np.arange(E) if mix == "observed" else np.zeros(E, dtype=int)
    surv_era = np.arange(E) if survival == "observed" else np.zeros(E, dtype=int)
    ages = step * (np.arange(n_dates) + 0.5) / _YEAR  # date i, bin b < i+1: age (i - b + 0.5) step
    surv = _survival(m.log_hazard, m.cuts, ages)  # (S, E, C, X, A)
    # kernel[s, e, c, a] = sum_x mix[s, e', c, x] * S[s, e'', c, x, a]
    kernel = np.einsum("secx,secxa->seca", m.mix[:, mix_era], surv[:, surv_era])
    out = np.zeros((m.n_draws, n_dates, W.shape[3]))
    for b in range(n_dates):  # bin b reaches dates i >= b at age index i - b
        span = n_dates - b
        out[:, b:, :] += np.einsum("sec,seca->sac", W[:, b], kernel[:, :, :, :span])
    return out


def shapley_shares(group_years: dict[frozenset, np.ndarray]) -> dict[str, np.ndarray]:
    r"""Split the difference between all factors observed and none into the factors' shares.

    .. math::

        \phi_f = \sum_{T \subseteq F \setminus \{f\}} \frac{|T|!\,(|F| - |T| - 1)!}{|F|!}
                 \bigl(G(T \cup \{f\}) - G(T)\bigr),
        \qquad \sum_f \phi_f = G(F) - G(\varnothing).

    Parameters
    ----------
    group_years : dict of frozenset to array
        :math:`G(T)` (per draw) for every subset :math:`T` of :data:`FACTORS` held at their
        observed eras (the others at the first era).

    Returns
    -------
    dict of str to array
        Each factor's share, per draw.
    """
    n = len(FACTORS)
    out = {}
    for f in FACTORS:
        others = [g for g in FACTORS if g != f]
        total = 0.0
        for k in range(n):
            for T in combinations(others, k):
                w = factorial(k) * factorial(n - k - 1) / factorial(n)
                total = total + w * (group_years[frozenset(T) | {f}] - group_years[frozenset(T)])
        out[f] = total
    return out
