"""The spec's prior families as PyMC random variables (named) and distributions (unnamed)."""

from __future__ import annotations

from bayessa.errors import SpecError
from bayessa.model.spec import Prior

__all__ = ["prior_dist", "prior_rv"]


def _family(pm, prior: Prior):
    p = prior.params
    match prior.dist:
        case "normal":
            return pm.Normal, {"mu": p["mu"], "sigma": p["sigma"]}
        case "student_t":
            return pm.StudentT, {"nu": p["nu"], "mu": p["mu"], "sigma": p["sigma"]}
        case "halfnormal":
            return pm.HalfNormal, {"sigma": p["sigma"]}
        case "halfstudent_t":
            return pm.HalfStudentT, {"nu": p["nu"], "sigma": p["sigma"]}
        case "exponential":
            return pm.Exponential, {"lam": p["lam"]}
    raise SpecError(f"unknown prior family '{prior.dist}'")  # pragma: no cover


def prior_rv(pm, name: str, prior: Prior, **kw):
    """A named random variable of the current PyMC model with the spec's ``prior``.

    Parameters
    ----------
    pm : module
        ``pymc`` (imported by the caller, so importing this module stays cheap).
    name : str
    prior : Prior
    **kw
        ``dims``, ``shape``, ... passed on.

    Returns
    -------
    pytensor variable
    """
    cls, params = _family(pm, prior)
    return cls(name, **params, **kw)


def prior_dist(pm, prior: Prior, **kw):
    """The spec's ``prior`` as an unnamed distribution (``.dist``), e.g. an LKJ ``sd_dist``.

    Parameters
    ----------
    pm : module
    prior : Prior
    **kw
        ``shape``, ... passed on.

    Returns
    -------
    pytensor variable
    """
    cls, params = _family(pm, prior)
    return cls.dist(**params, **kw)
