r"""Hazard-ratio contrasts implied by the formula, with posterior intervals and P(HR > 1).

A contrast compares two levels :math:`a` and :math:`b` of one variable :math:`v` with every other
variable held at the same levels :math:`c` (the *context*). Its log hazard ratio is the difference
of the two design rows times the coefficients:

.. math::

    \log \mathrm{HR}_{a:b \mid c} = (x_{v=a, c} - x_{v=b, c})^\top \beta .

With treatment coding this is, for ``leader * era``, professional vs consumer within era
:math:`e`: :math:`\beta_{\text{leader}} + \beta_{\text{leader:era}[e]}` (the reference era
gives :math:`\beta_{\text{leader}}` alone). Only the variables that share a term with
:math:`v` change the contrast, so the contexts are the combinations of their levels; every other
variable drops out, and the table says so ("same for every setting").

A numeric covariate's contrast compares two values of it (:func:`~bayessa.model.numeric.contrast_step`:
its reference value and one unit more, or twice it for ``log(x)``, ...), so the hazard ratio is
per unit of the covariate as the user gave it whatever centring or scaling the model used; a
numeric variable it interacts with is held at its reference value.

Time-varying effects: the contrast uses :math:`\beta`, the average log hazard ratio over the
intervals, and the label says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayessa.model.numeric import contrast_step
from bayessa.posterior.predict import DesignInfo, draws

__all__ = ["Contrast", "contrast_table", "contrasts", "hazard_ratio_draws"]


@dataclass(frozen=True)
class Contrast:
    """One hazard-ratio contrast.

    Parameters
    ----------
    variable, level, versus : str
        ``level`` compared with ``versus`` (HR > 1: ``level`` has the higher hazard); for a
        numeric covariate the two values compared (:func:`bayessa.model.numeric.contrast_step`).
    within : dict
        Levels of the interacting variables (the context); empty when none interact.
    same_for : tuple of str
        Variables that do not change this contrast (no shared term).
    weights : numpy.ndarray
        :math:`x_{v=a, c} - x_{v=b, c}`, one entry per coefficient.
    per : str, default ""
        For a numeric covariate, the step in words (``"per unit"``, ``"per doubling"``).
    """

    variable: str
    level: str
    versus: str
    within: dict[str, str]
    same_for: tuple[str, ...]
    weights: np.ndarray
    per: str = ""

    @property
    def label(self) -> str:
        """e.g. ``"leader: professional vs consumer | era = early (same for every setting)"``.

        For a numeric covariate: ``"age: per unit (64 vs 63)"``.
        """
        text = f"{self.variable}: {self.level} vs {self.versus}"
        if self.per:
            text = f"{self.variable}: {self.per} ({self.level} vs {self.versus})"
        if self.within:
            text += " | " + ", ".join(f"{k} = {v}" for k, v in self.within.items())
        if self.same_for:
            text += f" (same for every {' and every '.join(self.same_for)})"
        return text

    def combination(self, coef_names) -> str:
        """The coefficients combined, e.g. ``"β[leader[professional]] + β[...:era[early]]"``.

        Parameters
        ----------
        coef_names : sequence of str
            Coefficient names, in the order of ``weights``.

        Returns
        -------
        str
            ``"0"`` when every weight is 0.
        """
        parts = []
        for w, name in zip(self.weights, coef_names, strict=True):
            if w:
                sign = "+" if w > 0 else "-"
                mult = "" if abs(w) == 1 else f"{abs(w):g}·"
                parts.append(f"{sign} {mult}β[{name}]")
        text = " ".join(parts).removeprefix("+ ")
        return text or "0"


def contrasts(info: DesignInfo, *, pairs: str = "all") -> list[Contrast]:
    """Every contrast the formula implies.

    Parameters
    ----------
    info : DesignInfo
    pairs : {"all", "reference"}
        ``"reference"``: each non-reference level vs the reference; ``"all"``: also every other
        pair of levels (for variables with three or more levels).

    Returns
    -------
    list of Contrast
        For each variable (formula order), each pair of levels, each combination of levels of
        the variables that interact with it.
    """
    out = []
    for v in info.variables:
        per = ""
        if v in info.numeric_columns:
            terms = [t for t in info.numeric.values() if t.column == v]
            if any(t.transform == "bspline" for t in terms):
                continue  # a smooth has no single hazard ratio: see its curve
            a, b, per = contrast_step(terms)
            level_pairs = [(f"{a:.6g}", f"{b:.6g}")]
        elif pairs == "reference":
            lv = info.levels[v]
            level_pairs = [(a, lv[0]) for a in lv[1:]]
        else:
            lv = info.levels[v]
            level_pairs = [(a, b) for i, b in enumerate(lv) for a in lv[i + 1 :]]
        inter = info.interacting(v)
        others = tuple(w for w in info.variables if w != v and w not in inter)
        base = {w: info.reference[w] for w in info.profile_variables}
        # interacting categories take each level; interacting numeric columns their reference
        options = [info.levels.get(w, (info.reference[w],)) for w in inter]
        for context in itertools.product(*options):
            within = dict(zip(inter, context, strict=True))
            for a, b in level_pairs:
                xa, xb = info.rows([{**base, **within, v: a}, {**base, **within, v: b}])
                out.append(Contrast(v, a, b, within, others, xa - xb, per))
    return out


def hazard_ratio_draws(posterior, info: DesignInfo, items: list[Contrast]) -> np.ndarray:
    """Posterior draws of the log hazard ratios, ``(n_samples, n_contrasts)``.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior draws with ``beta`` (chain, draw, coef).
    info : DesignInfo
        The run's coding, from which ``items`` were built.
    items : list of Contrast
        The contrasts.

    Returns
    -------
    numpy.ndarray
        Zeros when the model has no ``beta`` or there are no contrasts.
    """
    if "beta" not in posterior or not items:
        return np.zeros((posterior.sizes["chain"] * posterior.sizes["draw"], len(items)))
    W = np.stack([c.weights for c in items], axis=1)  # (p, n)
    return draws(posterior, "beta") @ W


def contrast_table(dt, *, ci_prob: float = 0.95, pairs: str = "all", mle=None) -> pd.DataFrame:
    r"""Hazard ratios of every contrast: posterior summaries and, optionally, the MLE.

    Columns: ``variable``, ``level``, ``versus``, ``within``, ``note``, ``label``,
    ``combination``, ``log_hr_mean``, ``log_hr_sd``, ``hr_median``, ``hr_lower``, ``hr_upper``
    (equal-tailed ``ci_prob`` interval, :math:`\exp` of the log-HR quantiles), ``p_hr_gt_1``
    = :math:`P(\mathrm{HR} > 1 \mid \text{data})`; with ``mle`` (a
    :class:`~bayessa.frequentist.GLMResult` whose names include the coefficient names) also
    ``mle_hr``, ``mle_lower``, ``mle_upper``: :math:`\exp(w^\top \hat\beta \pm z\,
    \sqrt{w^\top \hat V w})`.

    Parameters
    ----------
    dt : xarray.DataTree
        A run's DataTree (posterior, attrs).
    ci_prob : float, default 0.95
        Probability of the posterior intervals and coverage of the MLE limits.
    pairs : {"all", "reference"}
        Which pairs of levels (see :func:`contrasts`).
    mle : GLMResult, optional
        A maximum-likelihood fit; its columns are left out if it lacks a coefficient.

    Returns
    -------
    pandas.DataFrame
        One row per contrast, with the columns above.
    """
    info = DesignInfo.from_datatree(dt)
    post = dt["posterior"].dataset
    items = contrasts(info, pairs=pairs)
    lhr = hazard_ratio_draws(post, info, items)
    a = (1 - ci_prob) / 2
    q = np.quantile(lhr, [a, 0.5, 1 - a], axis=0) if len(items) else np.zeros((3, 0))
    tv = set(info.time_varying_coefs)
    rows = []
    for j, c in enumerate(items):
        note = []
        if c.same_for:
            note.append(f"same for every {' and every '.join(c.same_for)} (no interaction term)")
        if tv & {n for n, w in zip(info.coef_names, c.weights, strict=True) if w}:
            note.append("average over age intervals (time-varying effect)")
        rows.append(
            {
                "variable": c.variable,
                "level": c.level,
                "versus": c.versus,
                "within": ", ".join(f"{k} = {v}" for k, v in c.within.items()),
                "note": "; ".join(note),
                "label": c.label,
                "combination": c.combination(info.coef_names),
                "log_hr_mean": lhr[:, j].mean(),
                "log_hr_sd": lhr[:, j].std(ddof=1) if lhr.shape[0] > 1 else np.nan,
                "hr_median": np.exp(q[1, j]),
                "hr_lower": np.exp(q[0, j]),
                "hr_upper": np.exp(q[2, j]),
                "p_hr_gt_1": (lhr[:, j] > 0).mean(),
            }
        )
    table = pd.DataFrame(rows)
    if mle is not None and len(items):
        table = table.join(_mle_columns(mle, info, items, ci_prob))
    return table


def _mle_columns(mle, info: DesignInfo, items: list[Contrast], ci_prob: float) -> pd.DataFrame:
    from scipy import stats

    idx = [mle.names.index(n) if n in mle.names else -1 for n in info.coef_names]
    if min(idx, default=0) < 0:  # the MLE lacks some coefficient: no column rather than a wrong one
        return pd.DataFrame(index=range(len(items)))
    b, V = mle.coef[idx], mle.cov[np.ix_(idx, idx)]
    z = stats.norm.ppf(0.5 + ci_prob / 2)
    W = np.stack([c.weights for c in items])
    est = W @ b
    se = np.sqrt(np.einsum("np,pq,nq->n", W, V, W))
    return pd.DataFrame(
        {
            "mle_hr": np.exp(est),
            "mle_lower": np.exp(est - z * se),
            "mle_upper": np.exp(est + z * se),
        }
    )
