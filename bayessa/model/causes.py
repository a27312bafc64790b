"""One cause's model within competing risks: its spec and its prepared data.

With causes fitted one after the other (:mod:`bayessa.api.competing`), each cause's model is an
ordinary model of the shared cells with that cause's events: :func:`cause_spec` gives its spec
(its own formula when ``[model] formulas`` names one), :func:`for_cause` its prepared data. Both
sit here, below the fitting layers, so the fit and the simulation-based calibration build a cause's
model the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bayessa.errors import SpecError

__all__ = ["cause_spec", "for_cause"]


def cause_spec(spec, cause: str, causes: Sequence[str]):
    """The spec of one cause's model: its own formula when ``[model] formulas`` gives one.

    Parameters
    ----------
    spec : Spec
        The competing-risks spec.
    cause : str
        The cause.
    causes : sequence of str
        Every cause in the data (``formulas`` may name only these).

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        ``formulas`` names a cause the data do not have.
    """
    from bayessa.model.formula import parse_formula
    from bayessa.model.spec import CLEAR

    m = spec.model
    if unknown := sorted(set(m.formulas) - set(causes)):
        raise SpecError(
            f"[model] formulas names cause(s) {unknown} that the outcome column does not have; "
            f"its causes are {list(causes)}"
        )
    if cause not in m.formulas:
        return spec.with_overrides(model__formulas=CLEAR)
    formula = m.formulas[cause]
    used = set(parse_formula(formula).variables)
    reference = {k: v for k, v in m.reference.items() if k in used}
    return spec.with_overrides(
        model__formula=formula, model__formulas=CLEAR, model__reference=reference or CLEAR
    )


def for_cause(prepared, cause: str, spec=None):
    """The prepared data of one cause's model: its events only, the other causes censored.

    Parameters
    ----------
    prepared : Prepared
        Data with competing risks (``prepared.cells.causes``).
    cause : str
        One of the causes.
    spec : Spec, optional
        That cause's spec (:func:`cause_spec`); with a formula of its own, the design is built
        from it on the same cells.

    Returns
    -------
    Prepared
    """
    j = prepared.data.causes.index(cause) + 1
    frame = prepared.data.frame
    event = (frame["cause"].to_numpy() == j).astype(np.int8)
    audit = prepared.data.audit.with_note(
        f"cause-specific model of '{cause}': the events of the other causes "
        f"({', '.join(c for c in prepared.data.causes if c != cause)}) count as censored"
    )
    data = replace(prepared.data, frame=frame.assign(event=event), causes=(), audit=audit)
    cells = prepared.cells.for_cause(cause)
    design = prepared.design
    if spec is not None and spec.model.formula != prepared.design.formula:
        from bayessa.model.design import build_design

        design = build_design(cells.frame, spec.model.formula,
                              reference=spec.model.reference or None, units=data.units)  # fmt: skip
    out = replace(prepared, data=data, cells=cells, pieces=cells.pieces, design=design)
    return replace(out, spec=spec) if spec is not None else out
