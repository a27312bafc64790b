r"""Formula -> named design arrays and coords for the piecewise-exponential model.

.. math::

    \log h_c = \alpha_{\mathrm{interval}(c)} + (x_c - x_{\mathrm{ref}})^\top \beta
    + u_{\mathrm{county}(c)} + \log E_c

The baseline :math:`\alpha` per age interval plays the role of the intercept, so :math:`X` has no
intercept column but uses treatment (dummy) coding that drops each reference level, as if an
intercept were present. The formula is read by :mod:`bayessa.model.formula`.

Decisions
---------
* **Categorical or numeric, as in R**: a column of strings, booleans or a Categorical is coded as
  categories, a numeric column enters linearly (per unit), ``C(x)`` makes any column categories,
  and ``log(x)``, ``scale(x)``, ... are numeric transforms (:mod:`bayessa.model.numeric`). Cells
  stay exact: a cell is a distinct numeric value, so with a continuous covariate the cell count
  grows towards the number of pieces. Grouping factors are labels and may have any dtype.
* **Reference profile**: every column is measured from the reference profile -- reference levels,
  and each numeric column at its reference value :math:`r` (the units' median unless the spec's
  ``reference`` gives one). :math:`x_{\mathrm{ref}}` is the row of the reference profile, so the
  baseline :math:`\alpha` is the log hazard there (not at an age of 0), while every coefficient is
  exactly R's (``glm`` on ``survSplit`` data): shifting a column changes only the intercept.
* **Levels** are those occurring in the cells, as text (``str(value)``): the Categorical order
  with unused categories dropped, else sorted values. The reference (default: the first level)
  comes first.
* **Terms** are ordered as in R (main effects, then two-way, ...; written order within) and
  deduplicated (``a:b + b:a``). They are closed under marginality over their categorical parts
  before coding (``a:b`` is coded as ``a + b + a:b``; ``age:sex`` as ``age + age:sex``, the
  numeric part kept): this spans the same space as R's coding of the written formula, and
  formulae 0.9's own coding of an interaction written alone is incomplete for three-way terms.
  Added columns belong to (``term_of_coef``) the written term.
* **Names** are built here, ``var[level]`` for categories and the written name for numeric
  components (``age``, ``log(age)``), joined by ``:``, since they become ArviZ coords.
* **Rank**: ``X`` with one dummy per level of the ``interval`` column (an intercept if absent) must
  have full column rank; aliased columns are named in a ``SpecError``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from formulae import design_matrices

from bayessa.data.parsing import level_label
from bayessa.errors import DataError, Problem, SpecError
from bayessa.model.formula import FormulaTerms, parse_terms
from bayessa.model.numeric import NumericTerm, numeric_reference
from bayessa.model.smooth import smooth_basis_terms

__all__ = ["BASELINE", "Design", "RandomTerm", "build_design"]

BASELINE = "interval"
"""Column of the cells holding the baseline (age-interval) factor, used by the rank check."""

_NUMBERS = "numeric transforms need numbers"


@dataclass(frozen=True, eq=False)
class RandomTerm:
    """A random-effect term ``(1 | name)`` or ``(1 + x | name)``.

    An intercept per level of the grouping factor, and optionally slopes of fixed-effect columns.

    Parameters
    ----------
    name : str
        The grouping factor, e.g. ``"county"``, or ``"region:county"`` for a factor of the
        combinations of two columns (``(1 | region/county)``).
    codes : ndarray of int64, shape (n_cells,)
        Each cell's index into ``levels``.
    levels : list of str
        The grouping factor's levels (``"north:Wayne"`` for a combined factor).
    columns : tuple of str, default ``(name,)``
        The data columns the factor is made of.
    slopes : list of str, default []
        The fixed-effect coefficients that also vary by level (``["leader[professional]"]``).
    Z : ndarray, shape (n_cells, len(slopes))
        Those coefficients' columns of :attr:`Design.X`.
    """

    name: str
    codes: np.ndarray = field(repr=False)
    levels: list[str]
    columns: tuple[str, ...] = ()
    slopes: list[str] = field(default_factory=list)
    Z: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)

    def __post_init__(self) -> None:
        if not self.columns:
            object.__setattr__(self, "columns", (self.name,))

    def unit_labels(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's level (text) of this factor, from its columns in ``frame``.

        Parameters
        ----------
        frame : pandas.DataFrame

        Returns
        -------
        numpy.ndarray of str
        """
        return _combined(frame, self.columns).to_numpy()


def _combined(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Labels ``"a:b"`` of the combinations of ``columns`` (text of each, joined by ':')."""
    if len(columns) == 1:
        return frame[columns[0]]
    parts = [frame[c].map(level_label).astype(str) for c in columns]
    out = parts[0]
    for p in parts[1:]:
        out = out + ":" + p
    return out.where(~pd.concat([frame[c].isna() for c in columns], axis=1).any(axis=1))


@dataclass(frozen=True, eq=False)
class Design:
    """Named fixed-effect matrix and random-intercept indices for a set of cells.

    Parameters
    ----------
    formula : str
        The formula as given.
    X : numpy.ndarray
        ``(n_cells, p)`` float64 fixed-effect columns, treatment-coded, no intercept column,
        measured from the reference profile (:attr:`x_reference` subtracted).
    coef_names : list of str
        Column names, e.g. ``"leader[professional]:era[early]"``, ``"age:sex[2]"``.
    term_of_coef : list of str
        The written fixed term each column belongs to, e.g. ``"leader:era"``.
    variables : list of str
        Data columns of the fixed terms (categorical and numeric).
    reference, levels : dict
        Categorical variable -> reference level; -> ordered levels, reference first.
    random : list of RandomTerm
        One per grouping factor, in formula order; the first is the cluster.
    terms : list of str
        Written fixed terms in coding order.
    coef_levels : list of tuple
        Each column's ``(component, level)`` pairs: the product of the indicators
        ``[x_v = level]`` and of the numeric components' values (level ``None``).
    numeric : dict of str to NumericTerm
        Numeric component name (``"age"``, ``"log(age)"``) -> its definition.
    x_reference : numpy.ndarray
        ``(p,)`` the raw columns at the reference profile (subtracted from :attr:`X`).
    """

    formula: str
    X: np.ndarray = field(repr=False)
    coef_names: list[str]
    term_of_coef: list[str]
    variables: list[str]
    reference: dict[str, str]
    levels: dict[str, list[str]]
    random: list[RandomTerm]
    terms: list[str]
    coef_levels: list[tuple[tuple[str, str | None], ...]] = field(repr=False)
    numeric: dict[str, NumericTerm] = field(default_factory=dict)
    x_reference: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def categorical(self) -> list[str]:
        """The categorical covariates, in formula order."""
        return [v for v in self.variables if v in self.levels]

    @property
    def numeric_columns(self) -> dict[str, float]:
        """Numeric data column -> its reference value, in formula order."""
        refs = {t.column: t.reference for t in self.numeric.values()}
        return {v: refs[v] for v in self.variables if v in refs}

    def transform(self, new: pd.DataFrame) -> np.ndarray:
        """Fixed-effect rows, ``(len(new), p)`` float64, for new covariate profiles.

        ``new`` needs a column per covariate in :attr:`variables`; categorical values are matched
        to the levels as text, numeric ones transformed as in the fit. Missing columns, missing
        values, unknown levels and values outside a transform's domain raise one
        :class:`~bayessa.errors.DataError` naming them all.

        Parameters
        ----------
        new : pandas.DataFrame
            One row per profile, a column per covariate.

        Returns
        -------
        numpy.ndarray
            ``(len(new), p)`` float64, the columns of :attr:`X`.
        """
        problems: list[Problem] = []
        if missing := [v for v in self.variables if v not in new.columns]:
            what = f"the new profiles lack the covariate column(s) {', '.join(missing)}"
            problems.append(Problem(what, f"give all of {', '.join(self.variables)}"))
        codes = {}
        for v in (v for v in self.categorical if v in new.columns):
            codes[v], found = _codes(new[v], self.levels[v])
            problems += found
        values, found = _numeric_values(new, self.numeric)
        problems += found
        if problems:
            raise DataError(problems, source="Design.transform")
        X = _columns(codes, values, self.coef_levels, len(new), self.levels)
        return X - self.x_reference

    def coords(self) -> dict[str, list[str]]:
        """Named dimensions: ``{"coef": coef_names, g: levels}`` for each random factor ``g``.

        Returns
        -------
        dict of str to list of str
        """
        return {"coef": list(self.coef_names), **{r.name: list(r.levels) for r in self.random}}


def build_design(
    cells: pd.DataFrame,
    formula: str,
    *,
    reference: Mapping[str, object] | None = None,
    units: pd.DataFrame | None = None,
) -> Design:
    """Build the named fixed-effect matrix and random-intercept codes for aggregated cells.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per cell, with the covariate and grouping columns the formula uses.
    formula : str
        See :func:`bayessa.model.formula.parse_formula`.
    reference : mapping, optional
        Variable -> reference level, e.g. ``{"leader": "consumer"}`` (default: the first level);
        for a numeric column its reference value, e.g. ``{"age": 60}`` (default: the median).
    units : pandas.DataFrame, optional
        The units (one row each) the cells came from: ``center(x)``, ``scale(x)`` and the default
        reference values are taken over them. Without it, over the cells' rows.

    Returns
    -------
    Design

    Raises
    ------
    SpecError
        Unsupported formula, unknown names, categorical columns in numeric transforms,
        single-level covariates, unknown reference levels, or coefficients not identifiable from
        the cells (aliased).
    DataError
        Missing values in the columns used, or values outside a transform's domain (raised when
        there is no SpecError).
    """
    source = f"formula {formula!r}"
    terms, problems = parse_terms(formula, list(cells.columns))
    if terms is None or problems:
        raise SpecError(problems, source=source)
    combined = {f: _combined(cells, c) for f, c in terms.random_columns.items() if len(c) > 1}
    if combined:
        cells = cells.assign(**combined)
    kinds, problems = _kinds(cells, terms)
    levels, data_problems = {}, []
    if len(cells) == 0:
        data_problems.append(Problem("the cells frame has no rows", "check the aggregation"))
    for name in (n for n in dict.fromkeys([*terms.variables, *terms.random]) if kinds[n] == "cat"):
        series, fixed = cells[name], name in terms.variables
        if (missing := series.isna().to_numpy()).any():
            fix, ids = "drop or recode these cells", list(cells.index[missing])
            data_problems.append(Problem("missing values", fix, column=name, ids=ids))
        levels[name] = lv = _observed_levels(series)
        if len(set(lv)) < len(lv):
            what, fix = f"levels {lv} are not distinct as text", "recode with distinct labels"
            problems.append(Problem(what, fix, column=name))
        elif len(lv) == 1:
            what = f"{'covariate' if fixed else 'grouping factor'} '{name}' has one level"
            problems.append(Problem(f"{what} ({lv[0]!r})", "remove it from the formula", name))
    problems += _reference_levels(terms, kinds, levels, reference or {})
    numeric, found = _numeric_terms(cells, units, terms, kinds, reference or {})
    data_problems += found
    if problems or data_problems:
        raise (SpecError if problems else DataError)([*problems, *data_problems], source=source)

    codes = {name: _codes(cells[name], levels[name])[0] for name in levels}
    values = {name: t.values(cells[t.column]) for name, t in numeric.items()}
    coef_levels, term_of_coef = _coding(terms, levels, codes, numeric)
    X = _columns(codes, values, coef_levels, len(cells), levels)
    x_ref = _reference_row(coef_levels, numeric, levels)
    if aliased := _aliased(cells, X, [_key_codes(cells[v], codes.get(v)) for v in terms.variables]):
        raise SpecError(_aliased_problem(X, aliased, coef_levels, term_of_coef), source=source)
    fv = terms.variables
    random = [_random_term(g, terms, codes, levels, X - x_ref, term_of_coef, names_of(coef_levels))
              for g in terms.random]  # fmt: skip
    names = [_coef_name(c) for c in coef_levels]
    cat = [v for v in fv if v in levels]
    ref, lev = {v: levels[v][0] for v in cat}, {v: levels[v] for v in cat}
    return Design(
        formula, X - x_ref, names, term_of_coef, fv, ref, lev, random, terms.fixed,
        coef_levels, numeric, x_ref,
    )  # fmt: skip


def names_of(coef_levels) -> list[str]:
    """Coefficient names of a coding."""
    return [_coef_name(c) for c in coef_levels]


def _random_term(g, terms: FormulaTerms, codes, levels, X, term_of_coef, names) -> RandomTerm:
    """The grouping factor ``g`` with its slope columns (every coefficient of each slope term)."""
    slope_terms = terms.random_slopes.get(g, [])
    idx = [j for j, t in enumerate(term_of_coef) if t in slope_terms]
    return RandomTerm(
        g, codes[g].astype(np.int64), levels[g], terms.random_columns.get(g, (g,)),
        [names[j] for j in idx], X[:, idx],
    )  # fmt: skip


def _kinds(cells: pd.DataFrame, terms: FormulaTerms) -> tuple[dict[str, str], list[Problem]]:
    """Each column ``"cat"`` or ``"num"``, and problems.

    ``C(x)`` and grouping factors are categories, a numeric transform needs numbers, a bare name
    goes by its dtype.
    """
    kinds, problems = {}, []
    for name in dict.fromkeys([*terms.variables, *terms.random]):
        series = cells[name]
        if name in terms.random or name in terms.categorical:
            kinds[name] = "cat"
        elif name in terms.numeric_columns:
            kinds[name] = "num"
            if not _is_number(series):
                uses = [
                    n
                    for n, (c, _) in [*terms.transforms.items(), *terms.smooths.items()]
                    if c == name
                ]
                what = f"'{name}' is {series.dtype}, not numeric, but the formula uses {', '.join(uses)}"
                fix = (
                    f"{_NUMBERS}; convert the column to numbers, or write C({name}) for categories"
                )
                problems.append(Problem(what, fix, column=name))
        else:
            kinds[name] = "num" if _is_number(series) else "cat"
    return kinds, problems


def _is_number(series: pd.Series) -> bool:
    dt = series.dtype
    return pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt)


def _reference_levels(terms, kinds, levels, reference: Mapping) -> list[Problem]:
    """Put each given reference level first; problems for unknown ones (numeric refs later)."""
    problems = []
    for name, value in reference.items():
        if name not in terms.variables:
            what = f"a reference is given for '{name}', not a fixed-effect covariate"
            problems.append(Problem(what, f"covariates: {', '.join(terms.variables) or 'none'}"))
        elif kinds.get(name) == "num":
            try:
                float(value)
            except (TypeError, ValueError):
                what = f"reference {value!r} of the numeric covariate '{name}' is not a number"
                problems.append(Problem(what, f"give a value such as {name} = 60", name))
        elif name in levels and str(value) not in levels[name]:
            what = f"reference level {str(value)!r} of '{name}' does not occur in the cells"
            problems.append(Problem(what, f"use one of {', '.join(levels[name])}", name))
        elif name in levels:
            levels[name] = [str(value), *(lv for lv in levels[name] if lv != str(value))]
    return problems


def _numeric_terms(cells, units, terms, kinds, reference) -> tuple[dict[str, NumericTerm], list]:
    """Each numeric component's definition: centre, scale and reference value over the units."""
    problems: list[Problem] = []
    table = units if units is not None else cells
    components = list(dict.fromkeys(c for t in terms.term_variables for c in t))
    out: dict[str, NumericTerm] = {}
    for name in components:
        column, transform = terms.transforms.get(name, (name, "identity"))
        if name in terms.smooths:
            column, transform = terms.smooths[name][0], "bspline"
        if kinds.get(column) != "num" or not _is_number(cells[column]):
            continue  # a categorical column in a transform is already a problem
        x = cells[column]
        if (bad := ~np.isfinite(x.to_numpy(dtype=np.float64))).any():
            what = "missing or non-finite values"
            problems.append(
                Problem(what, "give every unit a finite value", column, list(cells.index[bad]))
            )
            continue
        u = table[column].to_numpy(dtype=np.float64)
        ref = _number(reference.get(column))  # a bad one is already a problem
        ref = numeric_reference(u) if ref is None else ref
        sd = float(np.std(u, ddof=1)) if u.size > 1 else 0.0
        if transform == "bspline":
            basis = smooth_basis_terms(name, column, terms.smooths[name][1], u, ref)
            problems += basis[0].problems(pd.Series([ref], index=[f"reference {ref:g}"]))
            out |= {t.name: t for t in basis}
            continue
        term = NumericTerm(name, column, transform, float(np.mean(u)), sd, ref)
        if transform == "scale" and not sd > 0:
            what = f"'{name}' divides by the SD of {column}, which is 0"
            problems.append(Problem(what, f"remove {name}: {column} does not vary", column))
        # domain problems named by unit id when the units are given (cells have no ids)
        ids = table["id"].to_numpy() if "id" in table else table.index
        found = term.problems(pd.Series(u, index=ids))
        found += term.problems(pd.Series([ref], index=[f"reference {ref:g}"]))
        problems += found
        out[name] = term
    return out, problems


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _numeric_values(new: pd.DataFrame, numeric: Mapping[str, NumericTerm]):
    """Transformed numeric components of new rows, and problems (missing, outside the domain)."""
    values, problems = {}, []
    for name, t in numeric.items():
        if t.column not in new.columns:
            continue
        x = pd.to_numeric(new[t.column], errors="coerce")
        if (bad := ~np.isfinite(x.to_numpy(dtype=np.float64))).any():
            what = "missing or non-numeric values"
            problems.append(Problem(what, "give a number", t.column, list(new.index[bad])))
            continue
        problems += t.problems(x)
        values[name] = t.values(x)
    return values, problems


def _reference_row(coef_levels, numeric: Mapping[str, NumericTerm], levels) -> np.ndarray:
    """The raw columns at the reference profile: reference levels, numeric reference values."""
    codes = {v: np.zeros(1, dtype=np.int64) for v in levels}
    values = {n: t.values(np.array([t.reference])) for n, t in numeric.items()}
    return _columns(codes, values, coef_levels, 1, levels)[0]


def _observed_levels(series: pd.Series) -> list[str]:
    """Levels present, as text: Categorical order without unused categories, else sorted."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(series.cat.categories))
        values = list(series.cat.categories[counts > 0])
    else:
        values = list(pd.unique(series.dropna()))
        try:
            values.sort()
        except TypeError:
            values.sort(key=str)
    return [level_label(v) for v in values]


def _codes(series: pd.Series, levels: list[str]) -> tuple[np.ndarray, list[Problem]]:
    """Codes of ``series`` into ``levels``, and problems.

    Codes of ``series`` into ``levels`` (as text; -1 if missing or unknown) and problems.
    Only the distinct values are converted to text, so long columns are fast.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw, values = series.cat.codes.to_numpy(), series.cat.categories
    else:
        raw, values = pd.factorize(series)
    lookup = np.append(pd.Index(levels).get_indexer([level_label(v) for v in values]), -1)
    codes, problems = lookup[raw], []  # raw == -1 (missing) picks the appended -1
    if (raw < 0).any():
        ids = list(series.index[raw < 0])
        problems.append(Problem("missing values", "give every row a level", series.name, ids))
    if unknown := [level_label(values[i]) for i in np.unique(raw[raw >= 0]) if lookup[i] < 0]:
        what, fix = f"unknown level(s) {', '.join(map(repr, unknown))}", f"use {', '.join(levels)}"
        problems.append(Problem(what, fix, column=series.name))
    return codes, problems


def _first_rows(columns: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """Index of the first row of each distinct combination of the integer code ``columns``."""
    if np.prod([float(s) for s in sizes]) < 2.0**62:  # mixed-radix key: a 1-d unique is fast
        key = np.zeros(len(columns[0]), dtype=np.int64)
        for col, size in zip(columns, sizes, strict=True):
            key = key * size + col
        return np.unique(key, return_index=True)[1]
    return np.unique(np.column_stack(columns), axis=0, return_index=True)[1]


def _key_codes(series: pd.Series, codes: np.ndarray | None) -> np.ndarray:
    """Integer codes of a column for finding distinct rows (numeric values factorized)."""
    return codes if codes is not None else pd.factorize(series, sort=True)[0]


def _closure(terms: FormulaTerms, categorical) -> dict[frozenset, tuple[tuple[str, ...], str]]:
    """Marginality closure over each term's categorical part (numeric components kept).

    ``a:b`` adds ``a`` and ``b``; ``age:sex`` adds ``age`` (not ``sex``), as R's coding of
    ``age:sex`` spans ``age`` times every level of ``sex``. Value: components -> (components in
    written order, the written term that owns them).
    """
    owner = {frozenset(t): (t, ":".join(t)) for t in terms.term_variables}
    for t in terms.term_variables:
        cat = [c for c in t if c in categorical]
        num = [c for c in t if c not in categorical]
        for k in range(len(cat)):
            for sub in itertools.combinations(cat, k):
                parts = tuple(c for c in t if c in num or c in sub)
                if parts:
                    owner.setdefault(frozenset(parts), (parts, ":".join(t)))
    return owner


def _coding(terms: FormulaTerms, levels, codes, numeric: Mapping[str, NumericTerm]):
    """Each column's ``(component, level)`` pairs and written term.

    Terms of the closure (:func:`_closure`) in R's order (by degree, stable), each coded by the
    product of its categorical components' non-reference levels and its numeric components
    (level ``None``). The purely categorical columns are checked against formulae's coding of
    the same closure on the distinct covariate patterns.
    """
    if not terms.fixed:
        return [], []
    owner = _closure(terms, levels)
    closure = sorted(owner.values(), key=lambda item: len(item[0]))
    coef_levels: list[tuple[tuple[str, str | None], ...]] = []
    term_of_coef: list[str] = []
    basis = {n: [b for b, t in numeric.items() if b.startswith(f"{n}[") and t.transform == "bspline"]
             for n in terms.smooths}  # fmt: skip
    for parts, name in closure:
        coded = [
            [(c, lv) for lv in levels[c][1:]] if c in levels
            else [(b, None) for b in basis[c]] if c in basis
            else [(c, None)]
            for c in parts
        ]  # fmt: skip
        for combo in itertools.product(*coded):
            coef_levels.append(tuple(combo))
            term_of_coef.append(name)
    _check_with_formulae([p for p, _ in closure], coef_levels, levels, codes)
    return coef_levels, term_of_coef


def _check_with_formulae(closure, coef_levels, levels, codes) -> None:
    """Formulae's coding of the purely categorical closure terms must equal ours."""
    cat_terms = [t for t in closure if all(c in levels for c in t)]
    if not cat_terms:
        return
    variables = list(dict.fromkeys(c for t in cat_terms for c in t))
    rows = _first_rows([codes[v] for v in variables], [len(levels[v]) for v in variables])
    keys = {v: codes[v][rows] for v in variables}
    cat = pd.Categorical.from_codes
    patterns = pd.DataFrame({v: cat(keys[v], levels[v], ordered=True) for v in variables})
    rhs = " + ".join(":".join(f"`{v}`" for v in t) for t in cat_terms)
    theirs = np.asarray(design_matrices(f"1 + {rhs}", patterns).common.design_matrix)[:, 1:]
    ours_levels = [c for c in coef_levels if all(lv is not None for _, lv in c)]
    ours = _columns(keys, {}, ours_levels, len(rows), levels)
    if not np.array_equal(ours, theirs):
        raise RuntimeError("bayessa.model.design does not reproduce this formulae version's coding")


def _columns(codes: Mapping[str, np.ndarray], values, coef_levels, n: int, levels) -> np.ndarray:
    r"""Column j is :math:`\prod [x_v = \ell] \prod f(x)` over the pairs of ``coef_levels[j]``."""
    X = np.ones((n, len(coef_levels)), dtype=np.float64)
    for j, combo in enumerate(coef_levels):
        for var, level in combo:
            if level is None:
                X[:, j] *= values[var]
            else:
                X[:, j] *= codes[var] == levels[var].index(level)
    return X


def _coef_name(combo: tuple[tuple[str, str | None], ...]) -> str:
    return ":".join(var if level is None else f"{var}[{level}]" for var, level in combo)


def _aliased_problem(X, aliased, coef_levels, term_of_coef) -> Problem:
    names = ", ".join(_coef_name(coef_levels[j]) for j in aliased)
    empty = ", ".join(_coef_name(coef_levels[j]) for j in aliased if not X[:, j].any())
    what = (
        f"coefficient(s) {names} cannot be estimated (aliased): each is a linear "
        f"combination of the '{BASELINE}' baseline and earlier columns"
    )
    what += f"; no cells have {empty}" if empty else ""
    inter = [repr(t) for t in dict.fromkeys(term_of_coef[j] for j in aliased) if ":" in t]
    fix = (
        f"remove the interaction {', '.join(inter)} from the formula, or merge sparse levels"
        if inter
        else "remove one of the redundant covariates"
    )
    return Problem(what, fix)


def _aliased(cells: pd.DataFrame, X: np.ndarray, codes: list[np.ndarray]) -> list[int]:
    """Columns of ``X`` that are aliased (in the span of earlier ones).

    Columns of ``X`` in the span of the baseline dummies and earlier columns, found on the
    distinct rows (same rank); greedy, and only when the whole matrix is rank deficient.
    """
    if X.shape[1] == 0:
        return []
    base = np.zeros(len(cells), dtype=np.intp)
    if BASELINE in cells:
        base = pd.factorize(cells[BASELINE], use_na_sentinel=False)[0]
    rows = _first_rows([base, *codes], [int(c.max()) + 1 for c in [base, *codes]])
    kept = (base[rows, None] == np.unique(base)[None, :]).astype(np.float64)
    if np.linalg.matrix_rank(np.hstack([kept, X[rows]])) == kept.shape[1] + X.shape[1]:
        return []
    aliased = []
    for j in range(X.shape[1]):
        trial = np.hstack([kept, X[rows, j : j + 1]])
        if np.linalg.matrix_rank(trial) > kept.shape[1]:
            kept = trial
        else:
            aliased.append(j)
    return aliased
