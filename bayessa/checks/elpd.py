r"""Leave-one-out cross-validation with the unit (group) as the observation, and model comparison.

Sampling uses aggregated cells, but the per-unit survival log-likelihood is stored in the run's
``log_likelihood`` group (:mod:`bayessa.model.loglik`), so PSIS-LOO (Vehtari, Gelman and Gabry 2017)
leaves out one *unit* -- a whole group's follow-up -- at a time:

.. math::

    \widehat{\mathrm{elpd}}_{\mathrm{loo}} = \sum_i \log
        \frac{\sum_s w_i^{(s)} p(y_i \mid \theta^{(s)})}{\sum_s w_i^{(s)}},

with Pareto-smoothed importance weights :math:`w_i^{(s)}`. The Pareto shape :math:`\hat k_i` of
each unit's weights says whether its estimate is reliable: :math:`\hat k \le
\min(1 - 1/\log_{10} S, 0.7)` good, up to 1 bad (biased), above 1 very bad.

Command line::

    python -m bayessa.compare runs/partnership runs/calendar_era

prints each run's LOO and Pareto-k summary and ArviZ's comparison table. Exit codes: 0 success;
2 a directory that is not a run, a run without the per-unit log-likelihood, or runs of
different units (one message on stderr, no traceback).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayessa.errors import SpecError
from bayessa.posterior.rundir import open_tree

__all__ = ["LooSummary", "compare", "loo", "same_units"]

PROG = "python -m bayessa.compare"
# ArviZ warns on high Pareto k; we return the k values as data and print them instead.
_PARETO_WARNING = "Estimated shape parameter of Pareto distribution"


@dataclass(frozen=True)
class LooSummary:
    r"""PSIS-LOO of one run, with the unit as the observation.

    Parameters
    ----------
    name : str
        The run's name in messages and tables.
    elpd, se, p : float
        :math:`\widehat{\mathrm{elpd}}_{\mathrm{loo}}`, its standard error and the effective
        number of parameters :math:`p_{\mathrm{loo}}`.
    n_samples, n_units : int
        Posterior draws over all chains; units (observations).
    good_k : float
        Threshold of a reliable Pareto :math:`\hat k`: :math:`\min(1 - 1/\log_{10} S, 0.7)`.
    pareto_k : numpy.ndarray
        :math:`\hat k_i` per unit.
    units : list of str
        Unit ids, in the order of ``pareto_k``.
    elpd_data : arviz_stats ELPDData, optional
        ArviZ's result (pointwise), for :func:`compare`.
    """

    name: str
    elpd: float
    se: float
    p: float
    n_samples: int
    n_units: int
    good_k: float
    pareto_k: np.ndarray = field(repr=False)
    units: list[str] = field(repr=False)
    elpd_data: Any = field(repr=False, default=None)

    def k_table(self) -> pd.DataFrame:
        r"""Pareto-k counts and shares: good (:math:`\le` ``good_k``), bad (to 1), very bad.

        Returns
        -------
        DataFrame
            Indexed by the three ``pareto_k`` bins, with columns ``count`` and ``percent``.
        """
        k = self.pareto_k
        bins = [
            (f"(-inf, {self.good_k:.2f}] good", k <= self.good_k),
            (f"({self.good_k:.2f}, 1] bad", (k > self.good_k) & (k <= 1)),
            ("(1, inf) very bad", k > 1),
        ]
        return pd.DataFrame(
            {
                "count": [int(m.sum()) for _, m in bins],
                "percent": [round(100 * m.mean(), 1) if k.size else 0.0 for _, m in bins],
            },
            index=pd.Index([b for b, _ in bins], name="pareto_k"),
        )

    def high_k(self) -> pd.Series:
        r"""Units with :math:`\hat k >` ``good_k``, largest first.

        Returns
        -------
        Series
            ``pareto_k`` indexed by unit id.
        """
        s = pd.Series(self.pareto_k, index=pd.Index(self.units, name="unit"), name="pareto_k")
        return s[s > self.good_k].sort_values(ascending=False)

    def summary(self) -> str:
        """LOO estimate and Pareto-k table as text.

        Returns
        -------
        str
            Several lines: elpd_loo (SE), p_loo, the Pareto-k table and the first 10 high-k units.
        """
        lines = [
            f"{self.name}: PSIS-LOO with the unit as the observation "
            f"({self.n_units} units, {self.n_samples} posterior samples)",
            f"  elpd_loo {self.elpd:.2f} (SE {self.se:.2f}), p_loo {self.p:.2f}",
            "  Pareto k:",
        ]
        lines += ["    " + line for line in self.k_table().to_string().splitlines()]
        high = self.high_k()
        if len(high):
            shown = ", ".join(f"{u} ({k:.2f})" for u, k in high.head(10).items())
            more = f" and {len(high) - 10} more" if len(high) > 10 else ""
            lines.append(f"  units with k > {self.good_k:.2f}: {shown}{more}")
            lines.append(
                "  (their LOO estimates are unreliable; a more robust model, or refitting "
                "without them, gives exact values)"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The summary as plain JSON-ready values.

        Returns
        -------
        dict
            ``elpd_loo``, ``se``, ``p_loo``, ``n_samples``, ``n_units``, ``good_k``, ``k_counts``
            (per bin of :meth:`k_table`) and ``high_k_units`` (unit id -> k).
        """
        return {
            "elpd_loo": self.elpd,
            "se": self.se,
            "p_loo": self.p,
            "n_samples": self.n_samples,
            "n_units": self.n_units,
            "good_k": self.good_k,
            "k_counts": self.k_table()["count"].to_dict(),
            "high_k_units": self.high_k().to_dict(),
        }


def loo(run, *, name: str = "model") -> LooSummary:
    """PSIS-LOO of a run (FitResult, DataTree or run directory) with the unit as the observation.

    Parameters
    ----------
    run : FitResult, xarray.DataTree, str or Path
        The run (see :func:`bayessa.posterior.rundir.open_tree`).
    name : str, default "model"
        The run's name in messages and in the summary.

    Returns
    -------
    LooSummary

    Raises
    ------
    SpecError
        The run has no per-unit log-likelihood.
    """
    import arviz_stats as az

    from bayessa._runtime import forget_unloaded_jax

    forget_unloaded_jax()
    dt = open_tree(run)
    if "log_likelihood" not in dt.children or "time" not in dt["log_likelihood"].dataset:
        why = dt.attrs.get("bayessa_log_likelihood", "not stored")
        if "bayessa_units" in dt.attrs:  # fitted from cells: no refit option gives it
            raise SpecError(f"run '{name}' has no per-unit log-likelihood: {why}")
        raise SpecError(
            f"run '{name}' has no per-unit log-likelihood ({why}); refit with "
            "bayessa.fit(..., log_likelihood=True) to compute LOO"
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PARETO_WARNING, category=UserWarning)
        res = az.loo(dt, var_name="time", pointwise=True)
    return LooSummary(
        name=name,
        elpd=float(res.elpd),
        se=float(res.se),
        p=float(res.p),
        n_samples=int(res.n_samples),
        n_units=int(res.n_data_points),
        good_k=float(res.good_k),
        pareto_k=np.asarray(res.pareto_k.values, dtype=float),
        units=[str(u) for u in res.pareto_k["unit"].values],
        elpd_data=res,
    )


def same_units(trees: Mapping[str, Any]) -> None:
    """LOO comparisons need the same units with the same follow-up in every run.

    Parameters
    ----------
    trees : mapping of str to xarray.DataTree
        Runs by name; each needs ``observed_data`` and ``constant_data`` groups.

    Raises
    ------
    SpecError
        Two runs differ in unit ids, times or events.
    """
    names = list(trees)
    first = trees[names[0]]
    ref = _units(first)
    for n in names[1:]:
        if not _units(trees[n]).equals(ref):
            raise SpecError(
                f"runs '{names[0]}' and '{n}' were not fitted to the same units (ids, times, "
                "events differ); LOO can only compare models of the same data"
            )


def _units(dt) -> pd.DataFrame:
    obs, const = dt["observed_data"].dataset, dt["constant_data"].dataset
    return pd.DataFrame(
        {
            "id": [str(u) for u in obs["unit"].values],
            "time": obs["time"].values,
            "event": const["time"].values.astype(int),
        }
    )


def compare(runs: Mapping[str, Any], *, method: str = "stacking") -> pd.DataFrame:
    """ArviZ's comparison table (``arviz.compare``) of runs by PSIS-LOO over units.

    Parameters
    ----------
    runs : mapping of name -> FitResult, DataTree, run directory or :class:`LooSummary`
    method : {"stacking", "BB-pseudo-BMA", "pseudo-BMA"}
        How the model weights are computed.

    Returns
    -------
    pandas.DataFrame
        One row per run, best first: ``rank``, ``elpd_diff``, ``dse``, ``p_worse``,
        ``diag_diff``, ``diag_elpd``, ``p``, ``elpd``, ``se``, ``weight``.
    """
    import arviz_stats as az

    if len(runs) < 2:
        raise SpecError("compare needs at least two runs")
    summaries = {}
    trees = {}
    for name, run in runs.items():
        if isinstance(run, LooSummary):
            summaries[name] = run
        else:
            trees[name] = open_tree(run)
            summaries[name] = loo(trees[name], name=name)
    if len(trees) == len(runs):
        same_units(trees)
    if len({s.n_units for s in summaries.values()}) > 1:
        raise SpecError("the runs have different numbers of units; LOO cannot compare them")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PARETO_WARNING, category=UserWarning)
        return az.compare({n: s.elpd_data for n, s in summaries.items()}, method=method)
