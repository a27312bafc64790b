r"""Per-parameter posterior summary and convergence statistics, computed once for all parameters.

:func:`parameter_table` gives, for every scalar element of the model's parameters, what
``arviz.summary`` gives (mean, sd, equal-tailed 95% interval, bulk and tail ESS, rank-normalised
split R-hat, MCSE of the mean and sd) and the MCSE of the 2.5% and 97.5% quantiles that the gate
(:mod:`bayessa.checks.diagnostics`) also needs. The statistics are ArviZ's own array functions
(``arviz_stats.base.array_stats``), called once per statistic on all elements stacked into one
``(element, chain, draw)`` array, instead of once per variable and statistic through xarray as
``arviz.summary`` and ``arviz.ess``/``rhat``/``mcse`` do: the same numbers (tested against
``arviz.summary``), computed once per fit for the printed summary, ``summary.csv``, the gate and
the report.

Definitions (Vehtari et al. 2021): with :math:`S` draws in each of :math:`M` chains split in
half, R-hat is :math:`\sqrt{\widehat{\mathrm{var}}^+/W}` on rank-normalised draws (the larger of
the bulk and folded versions); bulk ESS is :math:`MS/\hat\tau` on rank-normalised draws with
:math:`\hat\tau` from Geyer's initial monotone sequence of autocorrelations; tail ESS is the
smaller ESS of the indicators :math:`I(\theta \le q_{0.05})` and :math:`I(\theta \le q_{0.95})`
(:data:`TAIL_PROBS`; ArviZ 1.x's default takes the quantiles from ``rcParams["stats.ci_prob"]``,
0.89, i.e. 11% and 89%, which estimates a less extreme tail than the gate promises).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["SUMMARY_COLUMNS", "TAIL_PROBS", "parameter_table"]

#: Quantiles of the tail ESS (Vehtari et al. 2021); see the module docstring for ArviZ's default.
TAIL_PROBS = (0.05, 0.95)

#: The columns of ``arviz.summary(..., ci_prob=0.95)``, in its order.
SUMMARY_COLUMNS = [
    "mean", "sd", "eti95_lb", "eti95_ub", "ess_bulk", "ess_tail", "r_hat", "mcse_mean", "mcse_sd",
]  # fmt: skip


def _stack(post, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Every scalar element as a row of an (element, chain, draw) array, with ArviZ's labels."""
    blocks, labels = [], []
    for name in names:
        da = post[name].transpose("chain", "draw", ...)
        extra = da.dims[2:]
        values = np.asarray(da.values, dtype=float)
        n_chain, n_draw = values.shape[:2]
        blocks.append(np.moveaxis(values.reshape(n_chain, n_draw, -1), 2, 0))
        if not extra:
            labels.append(str(name))
            continue
        axes = [
            [str(v) for v in da[d].values] if d in da.coords else [str(i) for i in range(n)]
            for d, n in zip(extra, values.shape[2:], strict=True)
        ]
        for index in np.ndindex(*values.shape[2:]):
            parts = ", ".join(axes[a][i] for a, i in enumerate(index))
            labels.append(f"{name}[{parts}]")
    if not blocks:
        return np.empty((0, 0, 0)), []
    return np.concatenate(blocks, axis=0), labels


def parameter_table(posterior, var_names: Sequence[str], *, ci_prob: float = 0.95) -> pd.DataFrame:
    """Summary and convergence statistics of every scalar element of ``var_names``.

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws with dims ``chain`` and ``draw`` first.
    var_names : sequence of str
        The variables (e.g. :func:`bayessa.posterior.predict.model_variables`).
    ci_prob : float, default 0.95
        Mass of the equal-tailed interval (columns ``eti{100 ci_prob}_lb`` and ``_ub``).

    Returns
    -------
    pandas.DataFrame
        One row per element, labelled as ArviZ labels them (``beta[leader[professional]]``);
        columns :data:`SUMMARY_COLUMNS` (the interval columns named after ``ci_prob``), then
        ``mcse_q025`` and ``mcse_q975``. Constant elements have NaN ESS, R-hat and MCSE.
    """
    from arviz_stats.base import array_stats as st

    from bayessa._runtime import forget_unloaded_jax

    forget_unloaded_jax()
    x, labels = _stack(posterior, var_names)
    perc = int(ci_prob * 100)
    cols = [f"eti{perc}_lb", f"eti{perc}_ub"]
    if not labels:
        return pd.DataFrame(columns=[*SUMMARY_COLUMNS[:2], *cols, *SUMMARY_COLUMNS[4:]])
    flat = x.reshape(x.shape[0], -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        eti = st.eti(flat, ci_prob, axis=-1)
        table = {
            "mean": st.mean(flat, axis=-1),
            "sd": st.std(flat, axis=-1),
            cols[0]: eti[..., 0],
            cols[1]: eti[..., 1],
            "ess_bulk": st.ess(x, method="bulk"),
            "ess_tail": st.ess(x, method="tail", prob=TAIL_PROBS),
            "r_hat": st.rhat(x),
            "mcse_mean": st.mcse(x, method="mean"),
            "mcse_sd": st.mcse(x, method="sd"),
            "mcse_q025": st.mcse(x, method="quantile", prob=0.025),
            "mcse_q975": st.mcse(x, method="quantile", prob=0.975),
        }
    return pd.DataFrame(table, index=pd.Index(labels))
