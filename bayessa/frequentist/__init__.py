"""Frequentist cross-check: Kaplan–Meier, the log-rank family and the Poisson-GLM PEM.

Every number is pinned to R ``survival`` / ``stats::glm`` by ``tests/frequentist/test_frequentist.py``
(references made by ``tests/reference/make_reference.R``). Conventions: ``docs/frequentist.md``.

* :func:`kaplan_meier`, :func:`km_summary`, :func:`km_median`, :func:`km_rmst`
* :func:`logrank`, :func:`logrank_trend` -> :class:`LogRankResult`
* :func:`cumulative_incidence`, :func:`gray_test`, :func:`cause_specific_logrank` (competing risks)
* :func:`poisson_glm` -> :class:`GLMResult`; :func:`poisson_pem` -> :class:`PEMResult`
* expansion: :func:`founding_rate_ratios` -> :class:`FoundingRateResult` (Poisson / NB GLM of
  founding counts), :func:`composition_tests` -> :class:`CompositionTestResult` (chi-square and
  Fisher tests of a trait by era), pinned to R by ``tests/frequentist/test_expansion_reference.py``
* :func:`turnbull`, :func:`turnbull_survival`, :func:`turnbull_steps` (interval-censored NPMLE)
* :func:`interval_pem` -> :class:`IntervalPEMResult` (the PEM under interval censoring)
"""

from __future__ import annotations

from bayessa.frequentist.cuminc import (
    GrayTestResult,
    cause_specific_logrank,
    cumulative_incidence,
    gray_test,
)
from bayessa.frequentist.expansion import (
    CompositionTestResult,
    FoundingRateResult,
    composition_tests,
    founding_rate_ratios,
)
from bayessa.frequentist.glm import GLMResult, PEMResult, poisson_glm, poisson_pem
from bayessa.frequentist.interval_mle import IntervalPEMResult, interval_pem
from bayessa.frequentist.km import ConfType, kaplan_meier, km_arrays, km_median, km_rmst, km_summary
from bayessa.frequentist.npmle import Within, turnbull, turnbull_steps, turnbull_survival
from bayessa.frequentist.rank_tests import LogRankResult, logrank, logrank_trend

__all__ = [
    "CompositionTestResult",
    "ConfType",
    "FoundingRateResult",
    "GLMResult",
    "GrayTestResult",
    "IntervalPEMResult",
    "LogRankResult",
    "PEMResult",
    "Within",
    "cause_specific_logrank",
    "composition_tests",
    "cumulative_incidence",
    "founding_rate_ratios",
    "gray_test",
    "interval_pem",
    "kaplan_meier",
    "km_arrays",
    "km_median",
    "km_rmst",
    "km_summary",
    "logrank",
    "logrank_trend",
    "poisson_glm",
    "poisson_pem",
    "turnbull",
    "turnbull_steps",
    "turnbull_survival",
]
