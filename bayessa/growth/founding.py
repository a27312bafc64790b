r"""The founding-rate model: new units per year by era, calendar trend and cluster.

With :math:`N_{jc}` units founded in slice :math:`j` (an era cut at calendar years, of length
:math:`t_j` years; :meth:`bayessa.growth.tables.ExpansionData.founding_counts`) in cluster
:math:`c`:

.. math::

    N_{jc} \sim \mathrm{Poisson}(\mu_{jc}) \;\text{or}\;
    \mathrm{NB2}(\mu_{jc}, \phi), \qquad
    \log \mu_{jc} = \log t_j + \alpha + \beta_{e(j)} + f_j + u_c ,

with :math:`\operatorname{Var} N_{jc} = \mu_{jc} + \mu_{jc}^2/\phi` under the negative binomial.

* :math:`\alpha`: the log founding rate per year of a cluster of average effect in the first
  era, :math:`\alpha \sim N(\log \bar r, 2^2)`, :math:`\bar r` the observed new units per
  cluster-year (a prior centred on the data's scale, wide: a factor of 50 either way at 95%);
* :math:`\beta_1 = 0`, :math:`\beta_e \sim N(0, 1)` for the later eras (log rate ratios against
  the first: 95% of the prior between 0.14 and 7.1);
* :math:`u_c`: sum-to-zero cluster effects, :math:`u \sim \mathrm{ZSN}(\sigma_u)`,
  :math:`\sigma_u \sim \mathrm{HalfNormal}(1)`, centred when the data pin each effect, i.e.
  when the between-cluster SD of the log rate estimated from the counts reaches a cluster's
  Poisson noise (:func:`form_by_signal`; the survival model's rule with the SD estimated
  rather than assumed). On the bundled data (38 counties, median 4.5 new groups each, SD
  about 0.9) centred steps gave a min bulk ESS of 4,220-4,362, non-centred 1,560-1,898, where
  the survival rule (median events per cluster >= 20) picks non-centred;
* :math:`f_j = 0` without a trend; with ``trend=True`` a random walk over calendar years
  :math:`y`, :math:`g_{y+1} = g_y + \sigma_f \epsilon_y`, :math:`\epsilon_y \sim N(0, 1)`,
  :math:`\sigma_f \sim \mathrm{HalfNormal}(0.5)` (per year), taken at each slice's year and
  centred within each era, :math:`f_j = g_{y(j)} - \sum_{j' \in e(j)} t_{j'} g_{y(j')} /
  T_{e(j)}`: an era's level is its effect :math:`\beta_e`, the walk its shape within the era,
  so the two share no ridge. The steps are centred by the same rule: when the year-to-year
  movement of the observed log rate within eras reaches its Poisson noise
  (:func:`walk_signal`). The survival baseline's rule (events per interval) failed here: at
  100,000 simulated groups (7,400 new groups a year, no true trend) it chose centred steps,
  which gave a min bulk ESS of 120-165 and R-hat 1.03-1.04, non-centred 2,200-2,500 and 1.004;
  with a true walk of SD 0.15 at 13,700 a year centred gave 3,465, non-centred 522 with 4
  divergences; at 78 a year both about 830 (4 x 1,000 draws each);
* :math:`1/\phi \sim \mathrm{HalfNormal}(1)` (negative binomial only; :math:`1/\phi = 1` is a
  gamma frailty with a coefficient of variation of 100% per cell).

All priors are per year. **Family** (``family="auto"``, :func:`choose_family`): the Poisson GLM
with era and cluster fixed effects (slice and cluster with a trend, so that a trend is not taken
for overdispersion) is fitted to the same counts by maximum likelihood
(:func:`bayessa.frequentist.poisson_glm`); with Pearson's :math:`X^2 = \sum (N - \hat\mu)^2 /
\hat\mu` on :math:`d` residual degrees of freedom, the negative binomial is chosen when
:math:`P(\chi^2_d \ge X^2) < 0.05` (dispersion :math:`X^2/d` significantly above 1), the Poisson
otherwise.

Outputs read only the DataTree: the statewide rate of an era is the expected new units per year
summed over clusters and averaged over the era's slices by their length,

.. math::

    r_e = \frac{1}{T_e} \sum_{j \in e} t_j \sum_c \exp(\alpha + \beta_e + f_j + u_c),

which under the negative binomial is the mean too.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from bayessa.errors import DataError, SpecError
from bayessa.model.expansion_spec import FAMILIES
from bayessa.model.spec import Prior, SamplerSpec

if TYPE_CHECKING:
    import pymc

    from bayessa.growth.tables import ExpansionData

__all__ = [
    "DISPERSION_LEVEL",
    "FamilyChoice",
    "FoundingFit",
    "FoundingPriors",
    "adapted_sampler",
    "build_founding_model",
    "choose_family",
    "fit_founding",
    "founding_data_groups",
    "cluster_signal",
    "form_by_signal",
    "founding_forms",
    "signal_and_noise",
    "walk_signal",
]

#: Significance level of the Pearson dispersion test that chooses the negative binomial.
DISPERSION_LEVEL = 0.05
_SLICE_COLUMNS = ("slice", "era", "year", "mid", "years", "groups")
_FORMS = ("auto", "centered", "noncentered")


@dataclass(frozen=True)
class FoundingPriors:
    r"""Priors of the founding-rate model, per year.

    Parameters
    ----------
    intercept_sd : float, default 2.0
        SD of :math:`\alpha \sim N(\log \bar r, \text{sd}^2)`, centred on the observed new units
        per cluster-year.
    era : Prior, default normal(0, 1)
        Log rate ratio of each later era against the first.
    cluster_sd : Prior, default halfnormal(1)
        SD of the cluster effects.
    trend_sd : Prior, default halfnormal(0.5)
        SD of the random walk's yearly steps.
    inv_dispersion : Prior, default halfnormal(1)
        :math:`1/\phi` of the negative binomial.
    """

    intercept_sd: float = 2.0
    era: Prior = field(default_factory=lambda: Prior("normal", {"mu": 0.0, "sigma": 1.0}))
    cluster_sd: Prior = field(default_factory=lambda: Prior("halfnormal", {"sigma": 1.0}))
    trend_sd: Prior = field(default_factory=lambda: Prior("halfnormal", {"sigma": 0.5}))
    inv_dispersion: Prior = field(default_factory=lambda: Prior("halfnormal", {"sigma": 1.0}))

    def describe(self) -> dict[str, str]:
        """Each prior as text.

        Returns
        -------
        dict of str to str
        """
        return {
            "intercept": f"normal(log mean rate per cluster-year, {self.intercept_sd:g})",
            "era": str(self.era),
            "cluster_sd": str(self.cluster_sd),
            "trend_sd": str(self.trend_sd),
            "inv_dispersion": str(self.inv_dispersion),
        }


@dataclass(frozen=True)
class FamilyChoice:
    r"""The count family and why: Pearson's dispersion test of the Poisson GLM.

    Parameters
    ----------
    family : {"poisson", "negbin"}
    reason : str
        The rule and the numbers.
    requested : {"auto", "poisson", "negbin"}
    pearson : float
        :math:`X^2 = \sum (N - \hat\mu)^2 / \hat\mu` of the Poisson GLM (era and cluster fixed
        effects, log exposure offset).
    df : int
        Its residual degrees of freedom :math:`d`.
    p_value : float
        :math:`P(\chi^2_d \ge X^2)`.
    level : float
        The negative binomial is chosen (under ``"auto"``) when ``p_value < level``.
    """

    family: str
    reason: str
    requested: str
    pearson: float
    df: int
    p_value: float
    level: float

    @property
    def dispersion(self) -> float:
        """Pearson's dispersion :math:`X^2 / d` (1 under the Poisson)."""
        return self.pearson / self.df if self.df > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """The choice as JSON-ready values.

        Returns
        -------
        dict
        """
        return {"family": self.family, "reason": self.reason, "requested": self.requested,
                "pearson": self.pearson, "df": self.df, "dispersion": self.dispersion,
                "p_value": self.p_value, "level": self.level}  # fmt: skip


def _cluster_column(counts: pd.DataFrame) -> str:
    """The cluster column of :meth:`ExpansionData.founding_counts`'s frame."""
    other = [c for c in counts.columns if c not in _SLICE_COLUMNS]
    if len(other) != 1:
        raise DataError(
            f"founding counts need the columns {list(_SLICE_COLUMNS)} and one cluster column, "
            f"got {list(counts.columns)}: pass ExpansionData.founding_counts()"
        )
    return other[0]


@dataclass(frozen=True)
class _Counts:
    """The founding counts as arrays: cells (slice x cluster) and slices."""

    groups: np.ndarray  # (n,) new units per cell
    years: np.ndarray  # (n,) exposure
    slice: np.ndarray  # (n,) slice of each cell
    cluster: np.ndarray  # (n,) cluster code
    eras: list[str]
    clusters: list[str]
    cluster_name: str
    slice_era: np.ndarray  # (J,) era code of each slice
    slice_year: np.ndarray  # (J,) calendar year
    slice_years: np.ndarray  # (J,) length in years

    @property
    def has_clusters(self) -> bool:
        return len(self.clusters) > 1

    @property
    def era(self) -> np.ndarray:
        return self.slice_era[self.slice]


def _arrays(counts: pd.DataFrame) -> _Counts:
    name = _cluster_column(counts)
    sl = counts["slice"].to_numpy().astype(np.int64)
    J = int(sl.max()) + 1
    first = np.unique(sl, return_index=True)[1]
    if len(first) != J:
        raise DataError("founding counts must hold every slice 0, 1, ... (with zeros)")
    by_slice = counts.iloc[first]
    years = counts["years"].to_numpy(np.float64)
    groups = counts["groups"].to_numpy()
    if not (years > 0).all() or (groups < 0).any():
        raise DataError("founding counts need positive slice lengths and counts >= 0")
    return _Counts(
        groups=groups.astype(np.int64), years=years, slice=sl,
        cluster=counts[name].cat.codes.to_numpy().astype(np.int64),
        eras=[str(e) for e in counts["era"].cat.categories],
        clusters=[str(c) for c in counts[name].cat.categories], cluster_name=name,
        slice_era=by_slice["era"].cat.codes.to_numpy().astype(np.int64),
        slice_year=by_slice["year"].to_numpy().astype(np.int64),
        slice_years=by_slice["years"].to_numpy(np.float64),
    )  # fmt: skip


def choose_family(
    counts: pd.DataFrame,
    requested: str = "auto",
    *,
    trend: bool = False,
    level: float = DISPERSION_LEVEL,
) -> FamilyChoice:
    r"""Poisson or negative binomial founding counts, by Pearson's dispersion test.

    The Poisson GLM :math:`\log \mu_{jc} = \log t_j + a + b_{e(j)} + v_c` (era and cluster as
    fixed effects, first levels as references; with ``trend``, :math:`b_j` per slice, so that
    the founding rate may move from year to year as the walk lets it) is fitted by maximum
    likelihood; with
    :math:`X^2 = \sum_{jc} (N_{jc} - \hat\mu_{jc})^2 / \hat\mu_{jc}` on :math:`d = n - p`
    degrees of freedom the negative binomial is chosen when :math:`P(\chi^2_d \ge X^2) <`
    ``level``. On counts laid out as the bundled data's (15 slices x 38 counties, mean 0.6 per
    cell) and drawn from the Poisson, the rule chose the negative binomial in 5.3% of 300
    simulations (the chi-square reference holds although the counts are small); with a gamma
    frailty of :math:`1/\phi = 0.3` in 61%, with :math:`1/\phi = 1` in all.

    Parameters
    ----------
    counts : pandas.DataFrame
        :meth:`bayessa.growth.tables.ExpansionData.founding_counts`.
    requested : {"auto", "poisson", "negbin"}, default "auto"
        A family other than ``"auto"`` is kept (the test is still reported).
    trend : bool, default False
        The model has the calendar walk: slice rather than era effects in the GLM.
    level : float, default 0.05
        Significance level of the test.

    Returns
    -------
    FamilyChoice

    Raises
    ------
    SpecError
        An unknown family.
    """
    from scipy import stats

    from bayessa.frequentist.glm import poisson_glm

    if requested not in FAMILIES:
        raise SpecError(f"family must be one of {list(FAMILIES)}, got {requested!r}")
    a = _arrays(counts)
    E, C = len(a.eras), len(a.clusters)
    period, n_periods = (a.slice, len(a.slice_years)) if trend else (a.era, E)
    cols = [np.ones(len(a.groups))]
    cols += [(period == e).astype(np.float64) for e in range(1, n_periods) if (period == e).any()]
    cols += [(a.cluster == c).astype(np.float64) for c in range(1, C)]
    X = np.column_stack(cols)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        glm = poisson_glm(a.groups, a.years, X, [f"x{i}" for i in range(X.shape[1])])
    mu = a.years * np.exp(X @ glm.coef)
    keep = mu > 1e-12  # cells of an era or cluster without foundings fit mu = 0 exactly
    x2 = float(np.sum((a.groups[keep] - mu[keep]) ** 2 / mu[keep]))
    df = int(keep.sum() - X.shape[1])
    p = float(stats.chi2.sf(x2, df)) if df > 0 else float("nan")
    terms = "slice + cluster" if trend else "era + cluster"
    test = (f"Pearson X2 = {x2:.1f} on {df} df of the Poisson GLM ({terms}), dispersion "
            f"{x2 / max(df, 1):.3f}, P(chi2_{df} >= X2) = {p:.3g}")  # fmt: skip
    if caught:
        test += " (the GLM did not converge: the test is unreliable)"
    if requested != "auto":
        family, reason = requested, f"requested ({requested}); {test}"
    elif p < level:
        family, reason = "negbin", f"{test} < {level:g}: overdispersed, negative binomial"
    else:
        family, reason = "poisson", f"{test} >= {level:g}: no evidence of overdispersion, Poisson"
    return FamilyChoice(family, reason, requested, x2, df, p, level)


def walk_signal(counts: pd.DataFrame) -> tuple[float, float]:
    r"""How far the founding rate moves from year to year within eras, against Poisson noise.

    With :math:`N_j` new units in slice :math:`j` (all clusters) over :math:`t_j` years,
    :math:`\hat g_j = \log(N_j / t_j)` estimates the log rate up to a constant (the cluster
    effects do not change over time). For consecutive slices :math:`j, j+1` of one era,
    :math:`d_j = \hat g_{j+1} - \hat g_j` has variance :math:`\sigma_f^2 + v_j` with Poisson
    noise :math:`v_j \approx 1/N_j + 1/N_{j+1}`, so

    .. math::

        \hat\sigma_f = \sqrt{\max(0, \overline{d_j^2 - v_j})}, \qquad
        \text{noise} = \sqrt{\operatorname{median}_j v_j} .

    Parameters
    ----------
    counts : pandas.DataFrame
        :meth:`bayessa.growth.tables.ExpansionData.founding_counts`.

    Returns
    -------
    step_sd, noise_sd : float
        NaN when fewer than two steps have foundings on both sides.
    """
    a = _arrays(counts)
    n = np.bincount(a.slice, weights=a.groups, minlength=len(a.slice_years))
    same = (a.slice_era[1:] == a.slice_era[:-1]) & (n[1:] > 0) & (n[:-1] > 0)
    if same.sum() < 2:
        return float("nan"), float("nan")
    g = np.log(np.where(n > 0, n, 1) / a.slice_years)
    d = np.diff(g)[same]
    v = (1 / n[1:] + 1 / n[:-1])[same]
    return float(np.sqrt(max(0.0, np.mean(d**2 - v)))), float(np.sqrt(np.median(v)))


def cluster_signal(counts: pd.DataFrame) -> tuple[float, float]:
    r"""How much the founding rate differs between clusters, against Poisson noise.

    Every cluster shares the same slices, so with :math:`N_c` new units in cluster :math:`c`,
    :math:`\hat u_c = \log(N_c + \tfrac12)` estimates its effect up to a constant, with
    noise :math:`v_c \approx 1/(N_c + \tfrac12)`:

    .. math::

        \hat\sigma_u = \sqrt{\max(0, \operatorname{var}_c \hat u_c - \overline{v_c})},
        \qquad \text{noise} = \sqrt{\operatorname{median}_c v_c} .

    Parameters
    ----------
    counts : pandas.DataFrame
        :meth:`bayessa.growth.tables.ExpansionData.founding_counts`.

    Returns
    -------
    sd, noise_sd : float
        NaN without clusters.
    """
    a = _arrays(counts)
    if not a.has_clusters:
        return float("nan"), float("nan")
    n = np.bincount(a.cluster, weights=a.groups, minlength=len(a.clusters)) + 0.5
    return signal_and_noise(np.log(n), 1 / n)


def signal_and_noise(estimates: np.ndarray, noise_var: np.ndarray) -> tuple[float, float]:
    r"""The SD of effects beyond their noise, and the typical noise SD (method of moments).

    .. math::

        \hat\sigma = \sqrt{\max(0, \operatorname{var}(\hat x) - \overline{v})}, \qquad
        \text{noise} = \sqrt{\operatorname{median}\, v}

    Parameters
    ----------
    estimates : (n,) array
        Rough estimates :math:`\hat x` of the effects (at least 2).
    noise_var : (n,) array
        Their sampling variances :math:`v`.

    Returns
    -------
    sd, noise_sd : float
    """
    if len(estimates) < 2:
        return float("nan"), float("nan")
    sd = np.sqrt(max(0.0, float(np.var(estimates, ddof=1) - np.mean(noise_var))))
    return float(sd), float(np.sqrt(np.median(noise_var)))


def form_by_signal(sd: float, noise: float, requested: str, what: str) -> tuple[str, str]:
    r"""Centred when the effects' SD reaches their noise (the data pin each effect).

    The rule of :func:`bayessa.model.pem.choose_parameterization` (centred when each effect's
    noise :math:`1/\sqrt{E}` is small against an assumed SD of 0.2-0.5), with the SD estimated
    from the data (:func:`signal_and_noise`) instead of assumed: effects that hardly vary need
    the non-centred form however many units hold each.

    Parameters
    ----------
    sd, noise : float
        From :func:`signal_and_noise` (NaN: non-centred).
    requested : {"auto", "centered", "noncentered"}
        A form other than ``"auto"`` is returned as it is.
    what : str
        What varies, for the reason (``"between-cluster SD of the log rate"``).

    Returns
    -------
    form : {"centered", "noncentered"}
    reason : str
    """
    facts = f"{what} {sd:.3g} beyond a noise SD of {noise:.3g}"
    if requested != "auto":
        return requested, f"requested ({requested}); {facts}"
    if sd >= noise:
        return "centered", f"{facts}: the data pin each effect"
    return "noncentered", f"{facts}: the prior shapes the effects"


def founding_forms(
    counts: pd.DataFrame,
    *,
    cluster_parameterization: str = "auto",
    trend_parameterization: str = "auto",
) -> dict[str, tuple[str, str]]:
    """Centred or non-centred cluster effects and random-walk steps, with the reasons.

    Parameters
    ----------
    counts : pandas.DataFrame
        :meth:`bayessa.growth.tables.ExpansionData.founding_counts`.
    cluster_parameterization, trend_parameterization : {"auto", "centered", "noncentered"}
        ``"auto"``: centred when the effects' SD estimated from the data reaches their
        noise (:func:`form_by_signal`, with :func:`cluster_signal` and :func:`walk_signal`).

    Returns
    -------
    dict
        ``{"cluster": (form, reason), "trend": (form, reason)}``.
    """
    for r in (cluster_parameterization, trend_parameterization):
        if r not in _FORMS:
            raise SpecError(f"parameterization must be one of {list(_FORMS)}, got {r!r}")
    return {
        "cluster": form_by_signal(*cluster_signal(counts), cluster_parameterization,
                                  "between-cluster SD of the log founding rate"),
        "trend": form_by_signal(*walk_signal(counts), trend_parameterization,
                                "year-to-year SD of the log founding rate within eras"),
    }  # fmt: skip


def build_founding_model(
    counts: pd.DataFrame,
    *,
    family: str = "poisson",
    trend: bool = False,
    cluster_parameterization: str = "auto",
    trend_parameterization: str = "auto",
    priors: FoundingPriors | None = None,
) -> pymc.Model:
    r"""The founding-rate model (module docstring) for founding counts.

    Parameters
    ----------
    counts : pandas.DataFrame
        :meth:`bayessa.growth.tables.ExpansionData.founding_counts`: one row per slice and
        cluster (a single level ``all`` means no cluster effects).
    family : {"poisson", "negbin"}, default "poisson"
        :func:`choose_family` picks one.
    trend : bool, default False
        Add the random walk over calendar years, centred within each era.
    cluster_parameterization, trend_parameterization : {"auto", "centered", "noncentered"}
        See :func:`founding_forms`.
    priors : FoundingPriors, optional

    Returns
    -------
    pymc.Model
        Dims ``era``, ``later_era``, the cluster, ``slice``, ``year_step``, ``cell``. Variables:
        ``intercept``, ``era_contrast`` (sampled, later eras), ``era_effect`` (every era, 0 for
        the first), ``cluster_sd``, ``cluster_effect`` (``cluster_z`` non-centred), ``trend_sd``,
        ``trend`` (per slice; steps ``trend_step`` or ``trend_z``), ``inv_dispersion``, and the
        observed ``groups`` (per cell).
    """
    import pymc as pm
    import pytensor.tensor as pt

    from bayessa.model.priors import prior_rv

    if family not in ("poisson", "negbin"):
        raise SpecError(f"family must be 'poisson' or 'negbin' here, got {family!r}")
    pri = priors or FoundingPriors()
    a = _arrays(counts)
    forms = founding_forms(counts, cluster_parameterization=cluster_parameterization,
                           trend_parameterization=trend_parameterization)  # fmt: skip
    J = len(a.slice_years)
    coords: dict[str, list] = {"era": a.eras, "later_era": a.eras[1:], "slice": list(range(J)),
                               "cell": list(range(len(a.groups)))}  # fmt: skip
    if a.has_clusters:
        coords[a.cluster_name] = a.clusters
    n_clusters = len(a.clusters)
    mean_rate = max(a.groups.sum(), 0.5) / (a.slice_years.sum() * n_clusters)
    with pm.Model(coords=coords) as model:
        alpha = pm.Normal("intercept", mu=np.log(mean_rate), sigma=pri.intercept_sd)
        contrast = prior_rv(pm, "era_contrast", pri.era, dims="later_era")
        beta = pm.Deterministic("era_effect", pt.concatenate([pt.zeros(1), contrast]), dims="era")
        eta = alpha + beta[a.era]
        if a.has_clusters:
            sd = prior_rv(pm, "cluster_sd", pri.cluster_sd)
            if forms["cluster"][0] == "centered":
                u = pm.ZeroSumNormal("cluster_effect", sigma=sd, dims=a.cluster_name)
            else:
                z = pm.ZeroSumNormal("cluster_z", sigma=1.0, dims=a.cluster_name)
                u = pm.Deterministic("cluster_effect", sd * z, dims=a.cluster_name)
            eta = eta + u[a.cluster]
        if trend:
            f = _trend(pm, pt, a, pri, forms["trend"][0])
            eta = eta + f[a.slice]
        mu = pt.exp(eta + np.log(a.years))
        if family == "poisson":
            pm.Poisson("groups", mu=mu, observed=a.groups, dims="cell")
        else:
            inv_phi = prior_rv(pm, "inv_dispersion", pri.inv_dispersion)
            pm.NegativeBinomial("groups", mu=mu, alpha=1.0 / inv_phi, observed=a.groups,
                                dims="cell")  # fmt: skip
    return model


def _trend(pm, pt, a: _Counts, pri: FoundingPriors, form: str):
    """The random walk over calendar years at each slice, centred within each era."""
    from bayessa.model.priors import prior_rv

    y0 = int(a.slice_year.min())
    n_years = int(a.slice_year.max()) - y0 + 1
    if n_years < 3:
        raise SpecError(
            f"a calendar trend needs a founding window over at least 3 calendar years, got "
            f"{n_years}: fit without trend"
        )
    model = pm.modelcontext(None)
    model.add_coord("year_step", list(range(y0 + 1, y0 + n_years)))
    sd = prior_rv(pm, "trend_sd", pri.trend_sd)
    if form == "centered":
        steps = pm.Normal("trend_step", 0.0, sd, dims="year_step")
    else:
        steps = sd * pm.Normal("trend_z", 0.0, 1.0, dims="year_step")
    g = pt.concatenate([pt.zeros(1), pt.cumsum(steps)])[a.slice_year - y0]  # (J,)
    E = len(a.eras)
    onehot = np.zeros((len(a.slice_era), E))
    onehot[np.arange(len(a.slice_era)), a.slice_era] = 1.0
    T = onehot.T @ a.slice_years
    weights = (onehot * a.slice_years[:, None]) / np.where(T > 0, T, 1.0)  # (J, E)
    era_mean = (weights * g[:, None]).sum(axis=0)  # (E,)
    return pm.Deterministic("trend", g - era_mean[a.slice_era], dims="slice")


def _sampler_settings(
    sampler: SamplerSpec | None, draws: int | None, tune: int | None, chains: int | None,
    seed: int | None,
) -> SamplerSpec:  # fmt: skip
    """``sampler`` (default :class:`SamplerSpec`) with the given settings replaced."""
    changes = {k: v for k, v in dict(draws=draws, tune=tune, chains=chains, seed=seed).items()
               if v is not None}  # fmt: skip
    return replace(sampler or SamplerSpec(), **changes)


def adapted_sampler(model: pymc.Model, settings: SamplerSpec) -> tuple[SamplerSpec, str]:
    """The sampler settings for a model: the adaptation chosen for its size.

    Parameters
    ----------
    model : pymc.Model
    settings : SamplerSpec

    Returns
    -------
    settings : SamplerSpec
        ``settings`` with ``adaptation`` resolved by
        :func:`bayessa.sampling.nuts.choose_adaptation` (``"auto"``: diagonal above
        :data:`~bayessa.sampling.nuts.LOW_RANK_MAX_PARAMETERS` parameters).
    reason : str
    """
    from bayessa.sampling.nuts import choose_adaptation

    n = int(sum(np.size(v) for v in model.initial_point().values()))
    if settings.backend != "nutpie":
        return settings, f"{settings.adaptation} (as set); {n} parameters"
    adaptation, reason = choose_adaptation(settings.adaptation, n)
    return replace(settings, adaptation=adaptation), reason


def _quantiles(x: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and the central ``prob`` interval over the first axis."""
    lo, med, hi = np.quantile(x, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    return med, lo, hi


@dataclass(frozen=True)
class FoundingFit:
    r"""A fitted founding-rate model.

    Everything is computed from :attr:`idata` (its posterior and its ``constant_data``), so a
    fake or loaded DataTree works the same.

    Parameters
    ----------
    idata : xarray.DataTree
        ``posterior``, ``sample_stats``, ``observed_data`` (``groups`` per cell) and
        ``constant_data`` (per cell: ``years``, ``cell_slice``, ``cell_cluster``; per slice:
        ``slice_era``, ``slice_year``, ``slice_years``), attrs (family, its test, priors,
        parameterisations).
    family : {"poisson", "negbin"}
    family_reason : str
        Why (:func:`choose_family`).
    trend : bool
        Whether the model has the calendar random walk.
    timings : dict, optional
        Seconds spent building, compiling and sampling (:func:`bayessa.sampling.nuts.sample`).
    """

    idata: Any
    family: str
    family_reason: str
    trend: bool = False
    timings: dict[str, Any] = field(default_factory=dict)

    @property
    def eras(self) -> list[str]:
        """The era labels, in time order."""
        return [str(e) for e in self.idata["posterior"]["era"].values]

    def _era_index(self, era: str | int) -> int:
        if isinstance(era, str):
            if era not in self.eras:
                raise SpecError(f"unknown era {era!r}: choose among {self.eras}")
            return self.eras.index(era)
        return int(era)

    def _const(self, name: str) -> np.ndarray:
        return self.idata["constant_data"][name].to_numpy()

    def slice_rate_draws(
        self, *, era: str | int | None = None, max_draws: int | None = None, seed: int = 0
    ) -> np.ndarray:
        r"""Expected new units per year in each slice and cluster.

        .. math::

            \lambda_{jc} = \exp(\alpha + \beta_{e(j)} + f_j + u_c)

        Conditional on each cluster's effect (not marginal over the cluster distribution).

        Parameters
        ----------
        era : str or int, optional
            Had every slice been in this era (label or index): :math:`\beta_{e}` in place of
            :math:`\beta_{e(j)}`, the trend :math:`f_j` kept (a counterfactual); default each
            slice's own era.
        max_draws : int, optional
            Keep at most this many posterior draws, chosen at random
            (:func:`bayessa.posterior.predict.thin`); default all.
        seed : int, default 0
            Seed of the thinning.

        Returns
        -------
        numpy.ndarray
            ``(S, n_slices, n_clusters)``; one cluster (``all``) without cluster effects.
        """
        from bayessa.posterior.predict import draws, thin

        post = thin(self.idata["posterior"].dataset, max_draws, seed=seed)
        era_of = self._const("slice_era").astype(np.int64)
        if era is not None:
            era_of = np.full_like(era_of, self._era_index(era))
        log = draws(post, "intercept")[:, None] + draws(post, "era_effect")[:, era_of]  # (S, J)
        if "trend" in post:
            log = log + draws(post, "trend")
        u = draws(post, "cluster_effect") if "cluster_effect" in post else np.zeros((len(log), 1))
        return np.exp(log[:, :, None] + u[:, None, :])

    def rate_draws(self, *, max_draws: int | None = None, seed: int = 0) -> np.ndarray:
        r"""Expected new units per year in each era, summed over the clusters.

        .. math::

            r_e = \frac{1}{T_e} \sum_{j \in e} t_j \sum_c \lambda_{jc}

        (the trend averaged over the era's slices, weighted by their length :math:`t_j`): the
        whole region's rate, summed over the clusters seen, each at its own effect.

        Parameters
        ----------
        max_draws : int, optional
            See :meth:`slice_rate_draws`.
        seed : int, default 0

        Returns
        -------
        numpy.ndarray
            ``(S, n_eras)``.
        """
        lam = self.slice_rate_draws(max_draws=max_draws, seed=seed).sum(axis=2)  # (S, J)
        t = self._const("slice_years")
        era = self._const("slice_era").astype(np.int64)
        E = len(self.eras)
        onehot = np.zeros((len(t), E))
        onehot[np.arange(len(t)), era] = t
        return (lam @ onehot) / onehot.sum(axis=0)

    def observed(self) -> pd.DataFrame:
        """Observed new units, years and rate per era.

        Returns
        -------
        pandas.DataFrame
            ``era``, ``groups``, ``years``, ``rate`` (groups per year).
        """
        E = len(self.eras)
        era = self._const("slice_era").astype(np.int64)
        groups = self.idata["observed_data"]["groups"].to_numpy()
        cell_era = era[self._const("cell_slice").astype(np.int64)]
        n = np.bincount(cell_era, weights=groups, minlength=E).astype(np.int64)
        years = np.bincount(era, weights=self._const("slice_years"), minlength=E)
        return pd.DataFrame({"era": self.eras, "groups": n, "years": years, "rate": n / years})

    def table(self, *, prob: float = 0.95) -> pd.DataFrame:
        """``founding.csv``: one row per era.

        Parameters
        ----------
        prob : float, default 0.95
            Probability of the central interval.

        Returns
        -------
        pandas.DataFrame
            ``era``, ``groups`` (observed), ``years``, ``rate`` (posterior median of the new units
            per year, :meth:`rate_draws`), ``lower``, ``upper``.
        """
        med, lo, hi = _quantiles(self.rate_draws(), prob)
        out = self.observed().drop(columns="rate")
        return out.assign(rate=med, lower=lo, upper=hi)

    def contrasts(self, *, prob: float = 0.95) -> pd.DataFrame:
        """``founding_contrasts.csv``: the rate ratio of every later era to every earlier one.

        Parameters
        ----------
        prob : float, default 0.95

        Returns
        -------
        pandas.DataFrame
            ``era_from``, ``era_to`` (later), ``ratio`` (posterior median of
            :math:`r_{to}/r_{from}`), ``lower``, ``upper``, ``p_gt_1`` (posterior probability
            that the ratio exceeds 1).
        """
        r = self.rate_draws()
        rows = []
        for i, a in enumerate(self.eras):
            for j in range(i + 1, len(self.eras)):
                ratio = r[:, j] / r[:, i]
                med, lo, hi = _quantiles(ratio, prob)
                rows.append({"era_from": a, "era_to": self.eras[j], "ratio": med, "lower": lo,
                             "upper": hi, "p_gt_1": float(np.mean(ratio > 1))})  # fmt: skip
        return pd.DataFrame(rows, columns=["era_from", "era_to", "ratio", "lower", "upper",
                                           "p_gt_1"])  # fmt: skip


def founding_data_groups(counts: pd.DataFrame) -> tuple[xr.Dataset, xr.Dataset]:
    """The ``observed_data`` and ``constant_data`` of a founding fit.

    Parameters
    ----------
    counts : pandas.DataFrame
        :meth:`bayessa.growth.tables.ExpansionData.founding_counts`.

    Returns
    -------
    observed, constant : xarray.Dataset
        ``groups`` per cell; per cell ``years``, ``cell_slice``, ``cell_cluster`` (codes), per slice
        ``slice_era`` (code), ``slice_year``, ``slice_years``.
    """
    a = _arrays(counts)
    J, n = len(a.slice_years), len(a.groups)
    coords = {"cell": np.arange(n), "slice": np.arange(J), "era": a.eras}
    observed = xr.Dataset({"groups": ("cell", a.groups)}, coords={"cell": np.arange(n)})
    constant = xr.Dataset(
        {"years": ("cell", a.years), "cell_slice": ("cell", a.slice),
         "cell_cluster": ("cell", a.cluster), "slice_era": ("slice", a.slice_era),
         "slice_year": ("slice", a.slice_year), "slice_years": ("slice", a.slice_years)},
        coords=coords,
    )  # fmt: skip
    return observed, constant


def fit_founding(
    data: ExpansionData,
    *,
    trend: bool = False,
    family: str = "auto",
    sampler: SamplerSpec | None = None,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: int | None = None,
    progress: bool = False,
    cluster_parameterization: str = "auto",
    trend_parameterization: str = "auto",
    priors: FoundingPriors | None = None,
) -> FoundingFit:
    """Fit the founding-rate model (module docstring) to the expansion data.

    Parameters
    ----------
    data : ExpansionData
        :func:`bayessa.growth.tables.read_expansion`.
    trend : bool, default False
        Add the random walk over calendar years (``[expansion] trend``).
    family : {"auto", "poisson", "negbin"}, default "auto"
        ``"auto"``: :func:`choose_family` (``[expansion] family``).
    sampler : SamplerSpec, optional
        Sampler settings (default :class:`bayessa.model.spec.SamplerSpec`).
    draws, tune, chains, seed : int, optional
        Replace those of ``sampler``.
    progress : bool, default False
        Show the sampler's progress bar.
    cluster_parameterization, trend_parameterization : {"auto", "centered", "noncentered"}
        See :func:`founding_forms`.
    priors : FoundingPriors, optional

    Returns
    -------
    FoundingFit
    """
    from bayessa.sampling.nuts import sample

    counts = data.founding_counts()
    choice = choose_family(counts, family, trend=trend)
    settings = _sampler_settings(sampler, draws, tune, chains, seed)
    pri = priors or FoundingPriors()
    forms = founding_forms(counts, cluster_parameterization=cluster_parameterization,
                           trend_parameterization=trend_parameterization)  # fmt: skip
    timings: dict[str, Any] = {}
    t = time.perf_counter()
    model = build_founding_model(
        counts, family=choice.family, trend=trend, priors=pri,
        cluster_parameterization=cluster_parameterization,
        trend_parameterization=trend_parameterization,
    )  # fmt: skip
    timings["build_s"] = time.perf_counter() - t
    settings, adaptation = adapted_sampler(model, settings)
    dt = sample(model, settings, progress=progress, timings=timings)
    dt["observed_data"], dt["constant_data"] = founding_data_groups(counts)
    dt.attrs.update({
        "bayessa_model": "founding", "bayessa_family": choice.family,
        "bayessa_family_choice": json.dumps(choice.to_dict()), "bayessa_trend": int(trend),
        "bayessa_priors": json.dumps(pri.describe()), "bayessa_seed": int(settings.seed),
        "bayessa_forms": json.dumps({k: list(v) for k, v in forms.items()}),
        "bayessa_cluster": data.cluster or "", "bayessa_eras": json.dumps(data.eras.describe()),
        "bayessa_adaptation": adaptation,
    })  # fmt: skip
    return FoundingFit(dt, choice.family, choice.reason, trend, timings)
