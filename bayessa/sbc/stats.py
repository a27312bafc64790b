r"""Rank statistics for simulation-based calibration (SBC).

Rank statistics for simulation-based calibration (SBC): ranks, the rank ECDF, its simultaneous
band and a uniformity test per quantity, and the rank-ECDF-difference plot.

In SBC (Talts et al. 2018; Modrák et al. 2023) each simulation draws :math:`\tilde\theta` from the
prior, data :math:`\tilde y` from the model, and :math:`L` (roughly independent) posterior draws
:math:`\theta_1, \dots, \theta_L` given :math:`\tilde y`. For a scalar quantity :math:`f`, the rank

.. math::

    r = \#\{\ell : f(\theta_\ell) < f(\tilde\theta)\} \in \{0, \dots, L\}

is discrete uniform on :math:`\{0, \dots, L\}` when the sampler draws from the exact posterior.

**The ECDF and its band** (Säilynoja, Bürkner & Vehtari 2022, section 2 and the SBC example). With
:math:`N` simulations, evaluate the ECDF of the ranks at :math:`z_i = i / (L + 1)`,
:math:`i = 1, \dots, L`:

.. math::

    \hat F_i = \frac{1}{N} \#\{n : r_n < i\}, \qquad N \hat F_i \sim \mathrm{Bin}(N, z_i)
    \text{ under uniformity.}

The statistic of a sample is its smallest two-sided pointwise tail probability,

.. math::

    t = \min_i\, 2 \min\bigl\{ P(B_i \le N \hat F_i),\; P(B_i \ge N \hat F_i) \bigr\},
    \qquad B_i \sim \mathrm{Bin}(N, z_i),

whose null distribution is simulated from discrete-uniform ranks. The :math:`1-\alpha` simultaneous
band is the set of ECDF values whose pointwise tail probability is at least :math:`\gamma`, the
:math:`\alpha` quantile of the null :math:`t`; the ECDF leaves the band exactly when the test's
p-value :math:`P(T \le t_{\text{obs}})` is at most about :math:`\alpha`.

ArviZ (``arviz_stats.ecdf_utils.ecdf_pit``, ``arviz_plots.plot_ecdf_pit(method="envelope")``) has
the same band for continuous PIT values; the ranks here are discrete (:math:`L + 1` values), so the
binomial points and the null are computed for the discrete case, as in the paper's SBC section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["EcdfBand", "chi2_uniformity", "ecdf_band", "plot_rank_ecdf", "rank", "rank_ecdf"]


def rank(truth: float, draws: np.ndarray, rng: np.random.Generator) -> int:
    r"""Rank of ``truth`` among ``draws``: :math:`\#\{\ell: \theta_\ell < \tilde\theta\}`.

    Ties (possible for discrete quantities) are broken uniformly at random, which keeps the rank
    uniform under the null. A non-finite truth or draw is an error (it has no rank).

    Parameters
    ----------
    truth : float
        :math:`f(\tilde\theta)`, the prior draw's value.
    draws : numpy.ndarray
        :math:`f(\theta_\ell)`, the posterior draws (flattened).
    rng : numpy.random.Generator
        Breaks ties.

    Returns
    -------
    int
        In ``0..len(draws)``.

    Raises
    ------
    ValueError
        ``truth`` or a draw is not finite.
    """
    draws = np.asarray(draws, dtype=np.float64).ravel()
    if not (np.isfinite(truth) and np.isfinite(draws).all()):
        raise ValueError("rank needs a finite truth and finite draws")
    below = int((draws < truth).sum())
    ties = int((draws == truth).sum())
    return below + (int(rng.integers(0, ties + 1)) if ties else 0)


def rank_ecdf(ranks: np.ndarray, n_draws: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Points :math:`z_i = i/(L+1)` and the rank ECDF :math:`\hat F_i` there, :math:`i = 1..L`.

    Parameters
    ----------
    ranks : numpy.ndarray of int
        The ranks, one per simulation, on ``0..n_draws``.
    n_draws : int
        :math:`L`.

    Returns
    -------
    z, ecdf : numpy.ndarray
        Each of length :math:`L`; the ECDF is 0 for no ranks.

    Raises
    ------
    ValueError
        A rank outside ``0..n_draws``.
    """
    r = np.asarray(ranks, dtype=np.int64)
    if r.size and (r.min() < 0 or r.max() > n_draws):
        raise ValueError(f"ranks must lie in 0..{n_draws}")
    counts = np.bincount(r, minlength=n_draws + 1)
    below = np.cumsum(counts)[:-1]  # #{r < i} for i = 1..L
    z = np.arange(1, n_draws + 1) / (n_draws + 1)
    return z, below / max(r.size, 1)


def _tail_table(n_sims: int, z: np.ndarray) -> np.ndarray:
    """``table[k, i] = 2 min(P(B_i <= k), P(B_i >= k))`` for ``k = 0..N`` (capped at 1)."""
    k = np.arange(n_sims + 1)[:, None]
    lower = stats.binom.cdf(k, n_sims, z[None, :])
    upper = stats.binom.sf(k - 1, n_sims, z[None, :])
    return np.minimum(1.0, 2.0 * np.minimum(lower, upper))


def _null_statistic(n_sims: int, n_draws: int, n_rep: int, rng: np.random.Generator) -> np.ndarray:
    """``n_rep`` draws of :math:`t` for ``n_sims`` discrete-uniform ranks on ``0..n_draws``."""
    z = np.arange(1, n_draws + 1) / (n_draws + 1)
    table = _tail_table(n_sims, z)
    out = np.empty(n_rep)
    cols = np.arange(n_draws)
    for s in range(0, n_rep, 1000):
        m = min(1000, n_rep - s)
        r = rng.integers(0, n_draws + 1, size=(m, n_sims))
        offset = (n_draws + 1) * np.arange(m)[:, None]
        counts = np.bincount((r + offset).ravel(), minlength=m * (n_draws + 1))
        counts = counts.reshape(m, n_draws + 1)
        below = np.cumsum(counts, axis=1)[:, :-1]
        out[s : s + m] = table[below, cols].min(axis=1)
    return out


@dataclass(frozen=True)
class EcdfBand:
    r"""A simultaneous band for the rank ECDF of ``n_sims`` ranks on ``0..n_draws``.

    ``lower``/``upper`` are ECDF values at ``z``; ``gamma`` the pointwise tail level; ``null`` the
    simulated null statistics (used for p-values).

    Parameters
    ----------
    z : numpy.ndarray
        Points :math:`z_i = i/(L+1)`, :math:`i = 1..L`.
    lower, upper : numpy.ndarray
        The band's ECDF limits at ``z``.
    gamma : float
        Pointwise tail level :math:`\gamma`.
    prob : float
        Simultaneous coverage :math:`1 - \alpha`.
    n_sims, n_draws : int
        :math:`N`, the number of ranks; :math:`L`, the largest rank.
    null : numpy.ndarray
        Simulated null statistics :math:`t`.
    """

    z: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    gamma: float
    prob: float
    n_sims: int
    n_draws: int
    null: np.ndarray

    def statistic(self, ranks: np.ndarray) -> float:
        """:math:`t` of a sample of ranks (smaller = less uniform).

        Parameters
        ----------
        ranks : numpy.ndarray of int
            The ranks, one per simulation, on ``0..n_draws``.

        Returns
        -------
        float
        """
        z, f = rank_ecdf(ranks, self.n_draws)
        n = len(ranks)
        table = _tail_table(n, z)
        return float(table[np.rint(f * n).astype(np.int64), np.arange(z.size)].min())

    def p_value(self, ranks: np.ndarray) -> float:
        r""":math:`P(T \le t_{\text{obs}})` under uniformity, with the +1 Monte Carlo correction.

        Parameters
        ----------
        ranks : numpy.ndarray of int
            The ranks, exactly ``n_sims``, on ``0..n_draws``.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            The number of ranks is not ``n_sims``.
        """
        if len(ranks) != self.n_sims:
            raise ValueError(f"band made for {self.n_sims} ranks, got {len(ranks)}")
        t = self.statistic(ranks)
        return float((1 + np.sum(self.null <= t * (1 + 1e-12))) / (1 + self.null.size))

    def inside(self, ranks: np.ndarray) -> bool:
        """Whether the whole rank ECDF lies inside the band.

        Parameters
        ----------
        ranks : numpy.ndarray of int
            The ranks, one per simulation, on ``0..n_draws``.

        Returns
        -------
        bool
        """
        _, f = rank_ecdf(ranks, self.n_draws)
        return bool(np.all((f >= self.lower - 1e-12) & (f <= self.upper + 1e-12)))


def ecdf_band(
    n_sims: int,
    n_draws: int,
    *,
    prob: float = 0.95,
    n_rep: int = 10_000,
    seed: int | np.random.Generator = 0,
) -> EcdfBand:
    r"""The simultaneous ``prob`` band of the rank ECDF (Säilynoja et al. 2022, simulation method).

    Parameters
    ----------
    n_sims : int
        :math:`N`, the number of SBC simulations (ranks).
    n_draws : int
        :math:`L`, the posterior draws each rank is taken among (ranks are ``0..L``).
    prob : float
        Simultaneous coverage :math:`1 - \alpha` under uniformity.
    n_rep : int
        Null samples simulated to find :math:`\gamma` and the p-values.
    seed : int or Generator
        The band is a Monte Carlo estimate; the seed makes it reproducible.

    Returns
    -------
    EcdfBand

    Raises
    ------
    ValueError
        ``n_sims`` or ``n_draws`` below 1, or ``prob`` not in (0, 1).
    """
    if n_sims < 1 or n_draws < 1 or not 0 < prob < 1:
        raise ValueError("need n_sims >= 1, n_draws >= 1 and 0 < prob < 1")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    null = _null_statistic(n_sims, n_draws, n_rep, rng)
    gamma = float(np.quantile(null, 1 - prob, method="inverted_cdf"))
    z = np.arange(1, n_draws + 1) / (n_draws + 1)
    ok = _tail_table(n_sims, z) >= gamma  # (N+1, L): ECDF counts inside the band
    k = np.arange(n_sims + 1)[:, None]
    lower = np.where(ok, k, n_sims + 1).min(axis=0) / n_sims
    upper = np.where(ok, k, -1).max(axis=0) / n_sims
    return EcdfBand(z, lower, upper, gamma, prob, n_sims, n_draws, null)


def chi2_uniformity(ranks: np.ndarray, n_draws: int, *, bins: int = 10) -> float:
    r"""Pearson :math:`\chi^2` p-value of the rank histogram in ``bins`` bins (Talts et al. 2018).

    Rank value :math:`r` goes to bin :math:`\lfloor r B / (L + 1) \rfloor`; each bin's expected
    count is :math:`N` times its share of the :math:`L + 1` rank values. A coarse, classical
    companion to the ECDF test (which is more powerful against smooth departures).

    Parameters
    ----------
    ranks : numpy.ndarray of int
        The ranks, one per simulation, on ``0..n_draws``.
    n_draws : int
        :math:`L`.
    bins : int, default 10
        :math:`B`, at most :math:`L + 1`.

    Returns
    -------
    float
    """
    m = n_draws + 1
    bins = min(bins, m)
    r = np.asarray(ranks, dtype=np.int64)
    counts = np.bincount(r * bins // m, minlength=bins)
    width = np.bincount(np.arange(m) * bins // m, minlength=bins)
    return float(stats.chisquare(counts, f_exp=r.size * width / m).pvalue)


def plot_rank_ecdf(
    ranks: Mapping[str, np.ndarray],
    band: EcdfBand,
    *,
    p_values: Mapping[str, float] | None = None,
    ncols: int = 4,
    title: str | None = None,
):
    r"""Rank-ECDF difference :math:`\hat F_i - z_i` with the simultaneous band, one panel each.

    Returns the matplotlib Figure.

    Parameters
    ----------
    ranks : mapping of str to numpy.ndarray
        Quantity label -> its ranks (one panel each, in order).
    band : EcdfBand
        The band, made for these ranks' ``n_sims`` and ``n_draws``.
    p_values : mapping of str to float, optional
        Shown under each label.
    ncols : int, default 4
        Panels per row.
    title : str, optional
        Figure title; default names the simulations and the band.

    Returns
    -------
    matplotlib.figure.Figure
        A pyplot figure (close it when done); curves leaving the band are red.
    """
    import matplotlib.pyplot as plt

    names: Sequence[str] = list(ranks)
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), sharex=True, sharey=True, squeeze=False
    )
    zz = np.concatenate([[0.0], band.z, [1.0]])
    lo = np.concatenate([[0.0], band.lower - band.z, [0.0]])
    hi = np.concatenate([[0.0], band.upper - band.z, [0.0]])
    for ax, name in zip(axes.flat, names, strict=False):
        z, f = rank_ecdf(ranks[name], band.n_draws)
        inside = band.inside(ranks[name])
        ax.fill_between(zz, lo, hi, step="mid", color="0.85", lw=0)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.step(
            np.concatenate([[0.0], z, [1.0]]),
            np.concatenate([[0.0], f - z, [0.0]]),
            where="mid",
            color="C0" if inside else "C3",
            lw=1.2,
        )
        label = name if p_values is None else f"{name}\np = {p_values[name]:.3f}"
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("fractional rank", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("ECDF − uniform", fontsize=8)
    fig.suptitle(
        title
        or f"SBC rank ECDF difference, {band.n_sims} simulations, {band.prob:.0%} simultaneous band",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
