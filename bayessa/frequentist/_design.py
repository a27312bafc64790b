"""A deliberately small treatment-coded design matrix for :func:`poisson_pem`.

Private: ``bayessa.model.design`` (formulae) is the general tool; this helper only has to build
``baseline[interval] + main effects + pairwise interactions`` and can be swapped for it later.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from bayessa.errors import SpecError

__all__ = ["Term", "baseline_columns", "given_design", "pem_design"]


def _levels(values: pd.Series) -> list[Hashable]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.remove_unused_categories().cat.categories)
    return list(pd.unique(values.sort_values()))


def _is_categorical(values: pd.Series, forced: bool) -> bool:
    dtype = values.dtype
    return (
        forced
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or not pd.api.types.is_numeric_dtype(dtype)
    )


Term = tuple[list[str], np.ndarray]  # column names, (n, m) block


def baseline_columns(values: pd.Series, name: str) -> Term:
    """One indicator column per interval level: ``name[level]``."""
    levels = _levels(values)
    block = np.column_stack([(values == lv).to_numpy(dtype=np.float64) for lv in levels])
    return [f"{name}[{lv}]" for lv in levels], block


def _main_effect(values: pd.Series, name: str, reference: Hashable | None, forced: bool) -> Term:
    if not _is_categorical(values, forced):
        return [name], values.to_numpy(dtype=np.float64)[:, None]
    levels = _levels(values)
    ref = levels[0] if reference is None else reference
    if ref not in levels:
        raise SpecError(
            f"reference level {ref!r} of '{name}' is not in the data; levels: "
            + ", ".join(map(repr, levels))
        )
    rest = [lv for lv in levels if lv != ref]
    if not rest:
        raise SpecError(f"covariate '{name}' has a single level ({ref!r}); drop it")
    block = np.column_stack([(values == lv).to_numpy(dtype=np.float64) for lv in rest])
    return [f"{name}[{lv}]" for lv in rest], block


def pem_design(
    cells: pd.DataFrame,
    *,
    interval: str,
    covariates: Sequence[str],
    interactions: Sequence[tuple[str, str]],
    reference: Mapping[str, Hashable] | None,
) -> tuple[list[str], np.ndarray, int]:
    """Names, design matrix and number of baseline columns.

    Non-numeric, boolean and categorical columns (and any named in *reference*) are
    treatment-coded against *reference* (default: first level in sorted / category order);
    numeric columns enter as they are. An interaction is the product of every column of one term
    with every column of the other, named ``a[x]:b[y]``.
    """
    reference = dict(reference or {})
    unknown = [c for c in reference if c not in covariates]
    bad_pairs = [p for p in interactions if len(p) != 2 or not set(p) <= set(covariates)]
    problems = []
    if unknown:
        problems.append(f"reference given for column(s) not in covariates: {unknown}")
    if bad_pairs:
        problems.append(
            f"interactions must be pairs of covariates; not usable: {bad_pairs}. Add both "
            "columns to covariates"
        )
    if len(set(covariates)) != len(covariates) or interval in covariates:
        problems.append("covariates must be distinct and must not include the interval column")
    if problems:
        raise SpecError(problems)
    names, base = baseline_columns(cells[interval], interval)
    blocks = [base]
    terms: dict[str, Term] = {}
    for col in covariates:
        terms[col] = _main_effect(cells[col], col, reference.get(col), col in reference)
        names += terms[col][0]
        blocks.append(terms[col][1])
    for a, b in interactions:
        (na, xa), (nb, xb) = terms[a], terms[b]
        names += [f"{i}:{j}" for i in na for j in nb]
        blocks.append((xa[:, :, None] * xb[:, None, :]).reshape(len(cells), -1))
    return names, np.column_stack(blocks), base.shape[1]


def given_design(
    cells: pd.DataFrame, interval: str, design: tuple[Sequence[str], np.ndarray], covariates
) -> tuple[list[str], np.ndarray, int]:
    """The baseline columns beside effect columns built elsewhere (names, X)."""
    names, X = list(design[0]), np.asarray(design[1], dtype=np.float64)
    problems = []
    if covariates:
        problems.append("give either covariates (and interactions) or design, not both")
    if X.ndim != 2 or X.shape != (len(cells), len(names)):
        problems.append(
            f"design X must have one row per cell and one column per name: "
            f"({len(cells)}, {len(names)}), got {X.shape}"
        )
    elif not np.isfinite(X).all():
        problems.append("design X has missing or infinite values")
    if problems:
        raise SpecError(problems)
    base_names, base = baseline_columns(cells[interval], interval)
    return base_names + names, np.column_stack([base, X]), base.shape[1]
