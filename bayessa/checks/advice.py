"""What to try first when a convergence check fails, from this model, its data and our measurements.

The gate (:mod:`bayessa.checks.diagnostics`) names, for each failed check, the parameter where it
is worst. The advice follows from which term that parameter belongs to and from what was measured
(``docs/decisions.md``), and leads with the one remedy most likely to help:

* A term whose form (centred or non-centred) differs from the one the data call for
  (:func:`bayessa.model.pem.choose_parameterization`; the form was requested) is switched first:
  the wrong form was measured to cost most (centred county effects on the bundled data, where
  the rule picks non-centred: bulk ESS 100-201 against 770-1,314; a non-centred walk on 100,000
  groups: 18-37 divergences and ESS 53-167 against none and ~4,500).
* Low ESS or a large MCSE with the forms the data call for: sample more. ``--ess`` adds chains
  until the target holds; the advice says roughly how many chains the measured ESS implies.
  Switching a correctly chosen form was measured to make things worse, so it is not suggested.
* R-hat: slightly high (< 1.05) with low ESS is the same shortage of draws; higher means chains
  that found different answers, which more draws do not fix.
* Divergences with the forms the data call for: a higher ``--target-accept``. R's ``lung`` data
  in days (centred walk, 27.5 events per interval) gave 2 divergences; ``--target-accept 0.95``
  gave none and bulk ESS 1,873, the non-centred walk none but ESS 1,054 and a failed tail MCSE.
  Where the data call for the other form (veteran, 21 events per interval: 22 divergences
  centred, none non-centred), the switch comes first.
"""

from __future__ import annotations

import math

__all__ = ["advise", "term_of"]

_FLAGS = {"cluster": "--cluster-parameterization", "baseline": "--baseline-parameterization"}


def term_of(label: str) -> str | None:
    """The model term of a parameter label from the gate.

    Parameters
    ----------
    label : str
        E.g. ``"cluster_sd"``, ``"cluster_effect[Wayne]"``, ``"baseline_step[0, 3]"``,
        ``"beta[leader[professional]]"``.

    Returns
    -------
    {"cluster", "baseline", "time_varying", "effects"} or None
    """
    name = label.split("[", 1)[0]
    if name.startswith("cluster"):
        return "cluster"
    if name.startswith("baseline"):
        return "baseline"
    if name.startswith("tv_"):
        return "time_varying"
    if name == "beta":
        return "effects"
    return None


def _switch(info: dict, term: str | None) -> str:
    """The switch to the form the data call for, when the term is in the other one."""
    if term not in _FLAGS:
        return ""
    key = "parameterization" if term == "cluster" else "baseline_parameterization"
    now, rule = info.get(key), info.get(f"{key}_by_rule")
    if now is None or rule is None or now == rule:
        return ""
    what = f"{info.get('cluster') or 'cluster'} effects" if term == "cluster" else "baseline walk"
    reason = info.get(f"{key}_reason", "")
    return (
        f"switch the {what} to the {rule} form the data call for ({_FLAGS[term]} {rule}; "
        f"now {now}: {reason})"
    )


def advise(
    info: dict,
    worst: dict[str, str],
    *,
    chains: int,
    draws: int,
    min_ess_bulk: float,
    max_rhat: float,
    min_ess: float,
    target_accept: float | None = None,
) -> dict[str, str]:
    """One line of advice per check, leading with what is most likely to help.

    Parameters
    ----------
    info : dict
        The run's model facts (``bayessa_model_info``: forms, their reasons, the rule's forms).
    worst : dict
        Check key (``rhat``, ``ess_bulk``, ``ess_tail``, ``mcse``, ``mcse_quantile``) -> the
        parameter where it is worst.
    chains, draws : int
        The chains and draws per chain of the run.
    min_ess_bulk, max_rhat : float
        The run's worst bulk ESS and R-hat.
    min_ess : float
        The gate's ESS threshold.
    target_accept : float, optional
        The run's NUTS target acceptance.

    Returns
    -------
    dict
        Check name (as in the gate's table) -> advice.
    """
    target = max(1000.0, min_ess)
    if math.isfinite(min_ess_bulk) and min_ess_bulk > 0:
        need = max(chains + 1, math.ceil(chains * 1.2 * target / min_ess_bulk))
        more = (
            f"sample more: --ess {target:g} adds {chains} chains at a time until the minimum "
            f"bulk ESS reaches {target:g} (about {need} chains at this mixing)"
        )
    else:
        more = f"sample more: --ess {target:g} (adds {chains} chains at a time)"
    by_ess = _switch(info, term_of(worst.get("ess_bulk", "")))
    ess_advice = by_ess or more
    tail_switch = _switch(info, term_of(worst.get("ess_tail", "")))
    if max_rhat < 1.05:
        rhat_advice = _switch(info, term_of(worst.get("rhat", ""))) or (
            f"{more}; R-hat this close to 1 falls as the chains get more effective draws"
        )
    else:
        rhat_advice = _switch(info, term_of(worst.get("rhat", ""))) or (
            f"the chains found different answers for {worst.get('rhat', 'a parameter')}: look "
            "for a weakly identified parameter (aliased effects, a flat prior) or several modes "
            "before sampling more"
        )
    term = term_of(worst.get("ess_bulk", ""))
    divergence = _switch(info, term)
    if not divergence:
        ta = f" (now {target_accept:g})" if target_accept else ""
        divergence = f"raise the target acceptance: --target-accept 0.95{ta}, then 0.99"
    return {
        "R-hat": rhat_advice,
        "bulk ESS": ess_advice,
        "tail ESS": tail_switch or more,
        "MCSE": ess_advice + "; the error falls as 1/sqrt(ESS)",
        "MCSE (2.5%/97.5%)": (tail_switch or more) + "; tail quantiles need a larger tail ESS",
        "divergences": divergence,
        "E-BFMI": _switch(info, term)
        or "tune longer (--tune 2000) so the step size and mass "
        "matrix adapt; then look at priors on standard deviations (heavy tails)",
        "tree depth": _switch(info, term)
        or f"look for a weakly identified parameter near "
        f"{worst.get('ess_bulk', 'the slowest one')} (aliased effects, flat priors); tuning "
        "longer (--tune 2000) lets the mass matrix adapt",
    }
