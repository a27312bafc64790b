r"""Posterior survival curves, restricted mean survival time (RMST) and median survival.

The model's hazard is constant within each age interval :math:`(a_k, a_{k+1}]`, of width
:math:`w_k`. For a unit with log hazard :math:`\eta_k` in interval :math:`k` (one posterior
draw), the cumulative hazard and survival are

.. math::

    H(t) = \sum_k e^{\eta_k}\, o_k(t), \qquad
    o_k(t) = \min\{\max(t - a_k, 0),\, w_k\}, \qquad S(t) = e^{-H(t)} .

Each quantity is computed for every posterior draw, so its posterior (median, equal-tailed
interval, probabilities) comes from the draws.

**County effects.** A curve is either *conditional* on a named county (its effect
:math:`u_g` added to :math:`\eta`), *marginal* over the county distribution (the survival of a
unit in a new county, :math:`E_u[S(t \mid u)]` with :math:`u \sim N(0, \sigma_u)`; not
:math:`S(t \mid u = 0)`, which is larger early and smaller late), or, for averages over the
units, each unit's *own* county. The marginal expectation uses Gauss--Hermite quadrature
(deterministic, unlike Monte Carlo), with as many nodes as the largest county SD among the draws
needs for an absolute error below :math:`10^{-6}` in :math:`S` (:data:`GH_NODES`; far below
the Monte Carlo error of the posterior draws; tested against adaptive quadrature):

.. math::

    E_u[S(t \mid u)] \approx \frac{1}{\sqrt\pi} \sum_{j=1}^{J} v_j
        \exp\!\left(-e^{\sqrt2 \sigma_u x_j} H(t)\right),

with Hermite nodes :math:`x_j` and weights :math:`v_j`.

**Standardised curves** average :math:`S(t)` over the observed covariates of the units
(``constant_data`` ``unit_<var>``) with some variables set to given levels -- the
population-averaged curve of a leader type, say:
:math:`\bar S(t) = n^{-1} \sum_i S(t \mid x_i^{\text{set}})`.

Every curve is therefore a :class:`Mixture` of piecewise-exponential components.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayessa.errors import SpecError
from bayessa.posterior.predict import DesignInfo, draws, profile_log_hazard, thin, unit_frame

__all__ = [
    "GH_NODES",
    "MAX_PATTERNS",
    "Mixture",
    "gh_nodes",
    "Predictor",
    "cumulative_hazard",
    "median_survival",
    "path_log_hazard",
    "rmst",
    "summarise",
    "survival",
]

#: Gauss--Hermite nodes for the marginal over county effects, by the largest county SD among the
#: draws: the fewest nodes whose absolute error in S(t) is below 1e-6 for every H(t) (measured
#: against adaptive quadrature; 8 nodes: 9e-7 at SD 0.5, 24 nodes: 3e-7 at SD 1, 64 nodes: 8e-7
#: at SD 1.9; larger county SDs, rare on the log-hazard scale, get 64 nodes and a larger error).
GH_NODES = ((0.5, 8), (0.75, 16), (1.0, 24), (1.25, 32), (np.inf, 64))
# Nodes whose weight is below this share are dropped (they change nothing at double precision).
_MIN_NODE_WEIGHT = 1e-16


def gh_nodes(max_sd: float) -> int:
    """Number of Gauss--Hermite nodes for county SDs up to ``max_sd`` (:data:`GH_NODES`).

    Parameters
    ----------
    max_sd : float
        The largest county SD among the draws.

    Returns
    -------
    int
    """
    return next(n for sd, n in GH_NODES if max_sd <= sd)


def _overlap(times: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """:math:`o_k(t)`: time spent in interval k by time t, shape ``times.shape + (K,)``."""
    a, w = cuts[:-1], np.diff(cuts)
    return np.minimum(np.maximum(np.asarray(times, float)[..., None] - a, 0.0), w)


def _check_times(times: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if (t < 0).any() or (t > cuts[-1]).any() or not np.isfinite(t).all():
        raise SpecError(
            f"times must lie in [0, {cuts[-1]:g}], the modelled follow-up (the last cut point); "
            f"got {t[(t < 0) | (t > cuts[-1]) | ~np.isfinite(t)].tolist()}"
        )
    return t


def cumulative_hazard(log_hazard: np.ndarray, cuts: np.ndarray, times) -> np.ndarray:
    r"""Cumulative hazard :math:`H(t) = \sum_k e^{\eta_k} o_k(t)`.

    Parameters
    ----------
    log_hazard : (..., K) float
        :math:`\eta_k` per interval.
    cuts : (K + 1,) float
        Cut points :math:`a_0 = 0 < \dots < a_K` (:math:`a_K` may be ``inf``).
    times : (T,) float
        Times in :math:`[0, a_K]`.

    Returns
    -------
    (..., T) float
    """
    cuts = np.asarray(cuts, dtype=float)
    t = _check_times(times, cuts)
    return np.exp(log_hazard) @ _overlap(t, cuts).T


def survival(log_hazard: np.ndarray, cuts: np.ndarray, times) -> np.ndarray:
    r"""Survival :math:`S(t) = \exp\{-H(t)\}` (see :func:`cumulative_hazard`), ``(..., T)``.

    Parameters
    ----------
    log_hazard : (..., K) float
        :math:`\eta_k` per interval.
    cuts : (K + 1,) float
        Cut points :math:`a_0 = 0 < \dots < a_K` (:math:`a_K` may be ``inf``).
    times : (T,) float
        Times in :math:`[0, a_K]`.

    Returns
    -------
    (..., T) float
    """
    return np.exp(-cumulative_hazard(log_hazard, cuts, times))


def rmst(log_hazard: np.ndarray, cuts: np.ndarray, tau: float) -> np.ndarray:
    r"""Restricted mean survival time :math:`\int_0^\tau S(t)\,dt`, in closed form.

    With :math:`\lambda_k = e^{\eta_k}` and :math:`w'_k = \min(a_{k+1}, \tau) - a_k` for the
    intervals starting before :math:`\tau`:

    .. math::

        \mathrm{RMST}(\tau) = \sum_{k:\, a_k < \tau} S(a_k)\,
            \frac{1 - e^{-\lambda_k w'_k}}{\lambda_k}

    (the term is :math:`S(a_k) w'_k` in the limit :math:`\lambda_k \to 0`).

    Parameters
    ----------
    log_hazard : (..., K) float
        :math:`\eta_k` per interval.
    cuts : (K + 1,) float
        Cut points :math:`a_0 = 0 < \dots < a_K` (:math:`a_K` may be ``inf``).
    tau : float
        The horizon, in :math:`[0, a_K]`.

    Returns
    -------
    (...) float
    """
    cuts = np.asarray(cuts, dtype=float)
    tau = float(_check_times([tau], cuts)[0])
    lam = np.exp(log_hazard)
    start = np.exp(-(lam @ _overlap(cuts[:-1], cuts).T))  # S(a_k), (..., K)
    width = _overlap(np.array(tau), cuts)  # w'_k (0 for intervals after tau)
    x = lam * width
    small = x < 1e-12
    piece = np.where(small, width, -np.expm1(-x) / np.where(small, 1.0, lam))
    return np.sum(start * piece, axis=-1)


def median_survival(log_hazard: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    r"""Median survival: the time :math:`t` with :math:`S(t) = 1/2`, in closed form.

    If :math:`S(a_k) > 1/2 \ge S(a_{k+1})`, then

    .. math:: t_{1/2} = a_k + \frac{\log 2 - H(a_k)}{\lambda_k} .

    ``inf`` where :math:`S` stays above 1/2 through the last finite cut point (the median lies
    beyond the modelled follow-up).

    Parameters
    ----------
    log_hazard : (..., K) float
        :math:`\eta_k` per interval.
    cuts : (K + 1,) float
        Cut points :math:`a_0 = 0 < \dots < a_K` (:math:`a_K` may be ``inf``).

    Returns
    -------
    (...) float
    """
    cuts = np.asarray(cuts, dtype=float)
    lam = np.exp(log_hazard)
    with np.errstate(invalid="ignore"):  # 0 x inf at an open last cut: NaN, never "reached"
        H = lam @ _overlap(cuts, cuts).T  # at every cut point, (..., K + 1)
    reached = H[..., 1:] >= np.log(2.0)
    k = np.argmax(reached, axis=-1)
    Hk = np.take_along_axis(H, k[..., None], axis=-1)[..., 0]
    lk = np.take_along_axis(lam, k[..., None], axis=-1)[..., 0]
    t = cuts[k] + (np.log(2.0) - Hk) / lk
    return np.where(reached.any(axis=-1), t, np.inf)


def path_log_hazard(
    log_hazard: np.ndarray, starts: np.ndarray, cuts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""The log hazard of a covariate path, on the cut points refined by its change times.

    Profile :math:`r` holds on :math:`(s_r, s_{r+1}]` (:math:`s_0 = 0`), so along the path the
    hazard is :math:`\eta_{r(t), k(t)}`, piecewise constant between the union of the cut points
    :math:`a_k` and the change times :math:`s_r` -- again a piecewise-exponential curve, on finer
    cut points, and every curve function applies to it unchanged.

    Parameters
    ----------
    log_hazard : (S, R, K) float
        Log hazard of each draw, profile of the path (in order) and interval.
    starts : (R,) float
        Time from which each profile holds: ``starts[0] == 0``, strictly increasing.
    cuts : (K + 1,) float
        The model's cut points.

    Returns
    -------
    log_hazard : (S, 1, K') float
        The path's log hazard on the refined intervals.
    cuts : (K' + 1,) float
        The refined cut points.
    """
    starts = np.asarray(starts, dtype=np.float64)
    inside = starts[(starts > cuts[0]) & (starts < cuts[-1])]
    refined = np.union1d(cuts, inside)
    lo = refined[:-1]
    k = np.searchsorted(cuts, lo, side="right") - 1  # the model interval holding (lo, next]
    r = np.searchsorted(starts, lo, side="right") - 1  # the profile that holds from lo
    return log_hazard[:, r, k][:, None, :], refined


def _hermite(sd: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Log-hazard shifts ``(S, J)`` and weights ``(J,)`` for :math:`u \sim N(0, sd)`."""
    x, w = np.polynomial.hermite.hermgauss(n)
    w = w / np.sqrt(np.pi)
    keep = w > _MIN_NODE_WEIGHT
    x, w = x[keep], w[keep] / w[keep].sum()
    return np.sqrt(2.0) * np.asarray(sd, dtype=float)[:, None] * x[None, :], w


@dataclass(frozen=True)
class Mixture:
    r"""A survival curve that is a weighted average of piecewise-exponential components.

    .. math::

        S_s(t) = \sum_p w_p \sum_j v_j \exp\!\left(-e^{z_{sj}} H_{sp}(t)\right)

    for draw :math:`s`, components :math:`p` (covariate patterns) with weights :math:`w_p`, and
    quadrature shifts :math:`z_{sj}` with weights :math:`v_j` (marginal over county effects;
    absent otherwise, i.e. one shift :math:`z = 0`).

    Parameters
    ----------
    log_hazard : (S, P, K) float
        Log hazard of each draw, component and interval.
    weights : (P,) float
        Sum to one.
    cuts : (K + 1,) float
        Age cut points.
    label : str
        What the curve is, e.g. ``"leader = professional (standardised over the units)"``.
    cluster : str
        How county effects enter, in words (conditional, marginal, each unit's own).
    shifts : (S, J) float or None
        Log-hazard shifts of the quadrature nodes per draw (marginal curves only).
    shift_weights : (J,) float or None
        Their weights, summing to one.
    """

    log_hazard: np.ndarray
    weights: np.ndarray
    cuts: np.ndarray
    label: str
    cluster: str
    shifts: np.ndarray | None = None
    shift_weights: np.ndarray | None = None

    def _nodes(self):
        if self.shifts is None:
            return [(None, 1.0)]
        return [(self.shifts[:, j, None], v) for j, v in enumerate(self.shift_weights)]

    def _eta(self, shift) -> np.ndarray:
        return self.log_hazard if shift is None else self.log_hazard + shift[..., None]

    def survival(self, times) -> np.ndarray:
        """Posterior draws of :math:`S(t)`, ``(S, T)``.

        Parameters
        ----------
        times : (T,) float
            Times in :math:`[0, a_K]`.

        Returns
        -------
        (S, T) float
        """
        H = cumulative_hazard(self.log_hazard, self.cuts, times)  # (S, P, T)
        out = np.zeros((H.shape[0], H.shape[2]))
        for shift, v in self._nodes():
            scale = 1.0 if shift is None else np.exp(shift)[..., None]  # (S, 1, 1)
            out += v * np.einsum("p,spt->st", self.weights, np.exp(-scale * H))
        return out

    def rmst(self, tau: float) -> np.ndarray:
        r"""Posterior draws of the RMST at ``tau``, ``(S,)``.

        Posterior draws of :math:`\mathrm{RMST}(\tau)` (:func:`rmst`; linear in the
        components, so exact for the mixture), ``(S,)``.

        Parameters
        ----------
        tau : float
            The horizon, in :math:`[0, a_K]`.

        Returns
        -------
        (S,) float
        """
        out = np.zeros(self.log_hazard.shape[0])
        for shift, v in self._nodes():
            out += v * (rmst(self._eta(shift), self.cuts, tau) @ self.weights)
        return out

    def median(self) -> np.ndarray:
        """Posterior draws of the median survival time, ``(S,)``; ``inf`` beyond follow-up.

        One component: closed form (:func:`median_survival`). A mixture has none: the interval
        :math:`(a_k, a_{k+1}]` holding :math:`S = 1/2` is found from :math:`S` at the cut
        points, and the root within it by Newton's method from :math:`a_k`. There :math:`S` is
        a positive combination of exponentials in :math:`t`, so convex and decreasing, and
        Newton's iterates rise monotonically to the root without overshooting; they stop when
        the step is below :math:`10^{-12}` of the interval width (a few iterations).

        Returns
        -------
        (S,) float
        """
        if self.log_hazard.shape[1] == 1 and self.shifts is None:
            return median_survival(self.log_hazard[:, 0, :], self.cuts)
        cuts = self.cuts
        finite = cuts[np.isfinite(cuts)]
        at = self.survival(finite)  # (S, n finite cuts)
        reached = at[:, 1:] <= 0.5
        found = reached.any(axis=1)
        k = np.argmax(reached, axis=1)
        if not np.isfinite(cuts[-1]):  # open last interval: the root lies in it
            k = np.where(found, k, len(cuts) - 2)
            found = np.ones_like(found)
        lo, width = cuts[k], np.diff(cuts)[k]
        t = lo.copy()
        lam = np.exp(np.take_along_axis(self.log_hazard, k[:, None, None], axis=2)[..., 0])
        scale = np.where(np.isfinite(width), width, 1.0)
        for _ in range(100):
            S, dS = self._at(t, lam)
            step = np.where(found, (S - 0.5) / np.maximum(-dS, 1e-300), 0.0)
            t = t + step
            if np.all(np.abs(step) <= 1e-12 * scale):
                break
        return np.where(found, t, np.inf)

    def _at(self, t: np.ndarray, lam: np.ndarray | None = None):
        """Survival of each draw at its own time, ``(S,)``.

        :math:`S_s(t_s)`, each draw at its own time, ``(S,)``; with ``lam`` (the hazards
        ``(S, P)`` of the components at :math:`t_s`) also :math:`dS_s/dt`.
        """
        H = np.einsum("spk,sk->sp", np.exp(self.log_hazard), _overlap(t, self.cuts))
        out = np.zeros(H.shape[0])
        slope = np.zeros(H.shape[0])
        for shift, v in self._nodes():
            scale = 1.0 if shift is None else np.exp(shift)
            e = np.exp(-scale * H)
            out += v * (e @ self.weights)
            if lam is not None:
                slope -= v * ((scale * lam * e) @ self.weights)
        return (out, slope) if lam is not None else out


def summarise(samples: np.ndarray, *, ci_prob: float = 0.95) -> dict[str, np.ndarray]:
    """Posterior ``mean``, ``median`` and equal-tailed ``lower``/``upper`` limits over axis 0.

    Infinite draws (a median beyond follow-up) make the mean infinite and move the quantiles,
    as they should; ``p_inf`` is the share of infinite draws.

    Parameters
    ----------
    samples : array_like
        Draws along axis 0.
    ci_prob : float, default 0.95
        Probability of the equal-tailed interval.

    Returns
    -------
    dict of str to numpy.ndarray
        ``mean``, ``median``, ``lower``, ``upper`` and ``p_inf``, each of ``samples.shape[1:]``.
    """
    a = (1 - ci_prob) / 2
    with np.errstate(invalid="ignore"):
        q = np.quantile(samples, [a, 0.5, 1 - a], axis=0)
        mean = np.mean(samples, axis=0)
    return {
        "mean": mean,
        "median": q[1],
        "lower": q[0],
        "upper": q[2],
        "p_inf": np.mean(np.isinf(samples), axis=0),
    }


#: Standardised curves average over at most this many covariate patterns; beyond it (numeric
#: covariates make nearly every unit a pattern) a seeded sample of them, drawn with probability
#: proportional to their units, stands in. The Monte Carlo error of S(t) is then the SD of the
#: units' S(t) over sqrt(500): at most 0.5 / 22 ~ 0.022, typically (SD ~ 0.1) ~ 0.005, well
#: inside the posterior bands; memory stays bounded (500 draws x 500 patterns x 100 times is
#: 200 MB; a 100,000-group fit with two numeric covariates had 36,000 patterns: ~50 GB).
MAX_PATTERNS = 500


def _sample_patterns(counts: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, str]:
    """At most :data:`MAX_PATTERNS` patterns (a weighted sample), and a note for the label."""
    total = int(counts["n"].sum())
    if len(counts) <= MAX_PATTERNS:
        return counts, ""
    rng = np.random.default_rng([seed, len(counts), total])
    pick = rng.choice(len(counts), size=MAX_PATTERNS, p=counts["n"].to_numpy() / total)
    idx, n = np.unique(pick, return_counts=True)
    note = (
        f"; a seeded sample of {MAX_PATTERNS:,} of the {len(counts):,} covariate patterns, drawn "
        "in proportion to their units"
    )
    return counts.iloc[idx].assign(n=n).reset_index(drop=True), note


def _count_patterns(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Distinct rows of ``frame[keys]`` (as text) with their counts ``n``.

    Factorises each column (fast on categoricals) and counts integer keys, so a million units
    with a handful of covariate patterns take milliseconds, not seconds of string hashing.
    """
    codes, uniques = [], []
    for k in keys:
        c, u = pd.factorize(frame[k], sort=True)
        codes.append(np.asarray(c))
        uniques.append(np.asarray(u).astype(str))
    dims = [max(len(u), 1) for u in uniques]
    values, n = np.unique(np.ravel_multi_index(codes, dims), return_counts=True)
    idx = np.unravel_index(values, dims)
    out = pd.DataFrame({k: u[i] for k, u, i in zip(keys, uniques, idx, strict=True)})
    return out.assign(n=n)


class Predictor:
    """Survival curves of a fitted run, computed from its DataTree.

    Parameters
    ----------
    dt : xarray.DataTree
        A run's DataTree (fresh, loaded, or fake): posterior, constant/observed data, attrs.
    max_draws : int, optional
        Use at most this many posterior samples, chosen by a generator seeded with ``seed``
        (:func:`bayessa.posterior.predict.thin`). Curves need fewer draws than the sampler keeps; the
        Monte Carlo error of a posterior median from 500 draws is about 4% of its posterior sd.
    seed : int
        Seed of that choice.
    nodes : int, optional
        Gauss--Hermite nodes for marginal curves; default: enough for an error below
        :math:`10^{-6}` given the largest county SD among the draws (:func:`gh_nodes`).
    """

    def __init__(
        self, dt, *, max_draws: int | None = None, seed: int = 0, nodes: int | None = None
    ):
        self.info = DesignInfo.from_datatree(dt)
        self.posterior = thin(dt["posterior"].dataset, max_draws, seed=seed)
        self.seed = seed
        self.units = unit_frame(dt)
        self.nodes = nodes
        self.n_samples = self.posterior.sizes["draw"]

    # ------------------------------------------------------------------ county effects

    def _cluster(self, cluster: str, eta: np.ndarray, frame: pd.DataFrame | None = None):
        """Apply a county treatment to ``eta (S, P, K)``: (eta, shifts, weights, label).

        ``frame`` holds the profiles (for the cluster's random slopes, when it has them).
        """
        info, post = self.info, self.posterior
        name = info.cluster
        if name is None or "cluster_effect" not in post:
            return eta, None, None, "no county effects in the model" + self._others()
        if cluster == "marginal":
            sd = draws(post, "cluster_sd")
            shifts, w = _hermite(sd, self.nodes or gh_nodes(float(np.max(sd))))
            label = f"marginal over {name} effects (a new {name}, u ~ N(0, {name} SD))"
            if "cluster_slope" in post:
                label += f"; {name} slopes at their mean (0)"
            return eta, shifts, w, label + self._others()
        if cluster in info.cluster_levels:
            g = info.cluster_levels.index(cluster)
            u = draws(post, "cluster_effect")[:, g]
            eta = self._slopes(eta + u[:, None, None], frame, np.full(eta.shape[1], g))
            return eta, None, None, f"conditional on {name} = {cluster}" + self._others()
        raise SpecError(
            f"cluster must be 'marginal' or one of the {name} levels "
            f"({', '.join(info.cluster_levels[:5])}, ...); got {cluster!r}"
        )

    def _slopes(self, eta: np.ndarray, frame: pd.DataFrame | None, g: np.ndarray) -> np.ndarray:
        """Add the cluster's random slopes of level ``g[p]`` to profile ``p``'s log hazard."""
        if frame is None or "cluster_slope" not in self.posterior:
            return eta
        slopes = self.posterior["cluster_slope"].coords["cluster_slope_coef"].values
        idx = [self.info.coef_names.index(str(c)) for c in slopes]
        Z = self.info.rows(frame)[:, idx]  # (P, q)
        v = draws(self.posterior, "cluster_slope")[:, g]  # (S, P, q)
        return eta + np.einsum("pq,spq->sp", Z, v)[:, :, None]

    def _others(self) -> str:
        """``"; region effects at 0 (an average region)"`` for the further random terms."""
        others = [t for t in self.info.random_terms[1:] if f"{t}_effect" in self.posterior]
        return "".join(f"; {t} effects at 0 (an average {t})" for t in others)

    # ------------------------------------------------------------------ curves

    def profile(self, profile: Mapping[str, str], *, cluster: str = "marginal") -> Mixture:
        """The survival curve of one covariate profile.

        The survival curve of one covariate profile (every covariate and the strata variable
        given), conditional on a county (``cluster=<level>``) or marginal over counties.

        Parameters
        ----------
        profile : mapping of str to str
            Variable -> level, for every covariate of the formula and the strata variable.
        cluster : str, default "marginal"
            ``"marginal"`` or a county level.

        Returns
        -------
        Mixture
            One component.
        """
        frame = pd.DataFrame([{k: str(v) for k, v in profile.items()}])
        eta = profile_log_hazard(self.posterior, self.info, frame)
        eta, shifts, w, how = self._cluster(cluster, eta, frame)
        label = self.info.describe(frame.iloc[0].to_dict())
        return Mixture(eta, np.ones(1), self.info.cuts, label, how, shifts, w)

    def standardised(
        self,
        set: Mapping[str, str] | None = None,  # noqa: A002 - reads as "set leader to ..."
        *,
        where: Mapping[str, str] | None = None,
        cluster: str = "marginal",
    ) -> Mixture:
        r"""Survival averaged over the units' observed covariates, with ``set`` variables fixed.

        .. math:: \bar S(t) = \frac{1}{n} \sum_{i \in W} S(t \mid x_i \text{ with } set)

        Variables with no unit-level column (a time-varying calendar period) must be in
        ``set``; otherwise they are held at their reference level and the label says so.

        Parameters
        ----------
        set : mapping, optional
            Variable -> level given to every unit (e.g. ``{"leader": "professional"}``).
        where : mapping, optional
            Average only over the units with these levels (a subgroup, e.g. one era).
        cluster : str
            ``"marginal"`` (a new county per unit), ``"own"`` (each unit's own county
            effect) or a county level (all units in that county).

        Returns
        -------
        Mixture
            One component per distinct covariate pattern (and county, with ``"own"``), weighted
            by its share of the units.
        """
        info, units = self.info, self.units
        set, where = dict(set or {}), dict(where or {})
        for v, lv in [*set.items(), *where.items()]:
            if v not in info.levels or str(lv) not in info.levels[v]:
                raise SpecError(f"unknown variable or level {v} = {lv!r}; levels: {info.levels}")
        sel = np.ones(len(units), bool)
        for v, lv in where.items():
            if v not in units:
                raise SpecError(
                    f"'{v}' has no unit-level values (time-varying); cannot select on it"
                )
            sel &= units[v].to_numpy() == str(lv)
        if not sel.any():
            raise SpecError(f"no units have {where}")
        frame = units.loc[sel].copy()
        held = []
        for v in info.profile_variables:
            if v in set:
                frame[v] = str(set[v])
            elif v not in frame:
                frame[v] = info.reference[v]
                held.append(f"{v} held at {info.reference[v]}")
        own = cluster == "own" and info.cluster is not None and "cluster_effect" in self.posterior
        keys = list(info.profile_variables) + ([info.cluster] if own else [])
        counts = _count_patterns(frame, keys)
        counts, sampled = _sample_patterns(counts, self.seed)
        eta = profile_log_hazard(self.posterior, info, counts)
        if own:
            u = draws(self.posterior, "cluster_effect")
            g = [info.cluster_levels.index(c) for c in counts[info.cluster]]
            eta = self._slopes(eta + u[:, g, None], counts, np.asarray(g))
            how = f"each unit's own {info.cluster} effect" + self._others()
        elif cluster == "own":
            how = "no county effects in the model"
        else:
            eta, shifts, w, how = self._cluster(cluster, eta, counts)
        weights = counts["n"].to_numpy(float) / counts["n"].sum()
        parts = [f"{v} = {lv}" for v, lv in set.items()]
        scope = (
            f"units with {', '.join(f'{v} = {lv}' for v, lv in where.items())}"
            if where
            else "all units"
        )
        label = ", ".join(parts) if parts else "all units as observed"
        label += f" (standardised over {scope}, n = {int(sel.sum())}"
        label += (", " + ", ".join(held) if held else "") + sampled + ")"
        if own or cluster == "own":
            return Mixture(eta, weights, info.cuts, label, how)
        return Mixture(eta, weights, info.cuts, label, how, shifts, w)
