r"""Formula -> named design arrays and coords for the piecewise-exponential model.

.. math::

    \log h_c = \alpha_{\mathrm{interval}(c)} + x_c^\top \beta + u_{\mathrm{county}(c)}
    + \log E_c

The baseline :math:`\alpha` per age interval plays the role of the intercept, so :math:`X` has no
intercept column but uses treatment (dummy) coding that drops each reference level, as if an
intercept were present. :mod:`formulae` (Bambi's parser) parses the formula and codes the terms.

Supported: ``leader * era + setting + (1 | county)``, i.e. main effects, ``+``, interactions
``a:b`` and ``a * b`` (also three-way), random intercepts ``(1 | g)``, an optional leading ``~``.
Anything else (random slopes, nesting ``/``, ``0 +``/``-1``, ``-``, ``**``, transforms such as
``C(x)`` or ``np.log(x)``, a response) raises :class:`~bayessa.errors.SpecError` naming the term.

Decisions
---------
* **Covariates must be categorical** (Categorical, string/object or bool): the aggregation into
  cells is exact only for categorical covariates, so a numeric covariate raises ``SpecError`` that
  says to bin it (``pd.cut``). Treating "few distinct values" as categorical would make a formula's
  meaning depend on the data. Grouping factors are labels and may have any dtype.
* **Levels** are those occurring in the cells, as text (``str(value)``): the Categorical order
  with unused categories dropped, else sorted values. The reference (default: the first level)
  comes first.
* **Terms** are ordered as in R (main effects, then two-way, ...; written order within) and
  deduplicated (``a:b + b:a``). They are closed under marginality before coding (``a:b`` is coded
  as ``a + b + a:b``): with categorical covariates this spans the same space as the written formula,
  and formulae 0.9's own coding of an interaction written alone is incomplete for three-way terms.
  Added columns belong to (``term_of_coef``) the written term.
* **Names** are built here, ``var[level]`` joined by ``:``, since they become ArviZ coords.
* **Rank**: ``X`` with one dummy per level of the ``interval`` column (an intercept if absent) must
  have full column rank; aliased columns are named in a ``SpecError``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from formulae import design_matrices, model_description
from formulae.scanner import Scanner
from formulae.terms.terms import Intercept, Term
from formulae.terms.variable import Variable

from bayessa.errors import DataError, Problem, SpecError

__all__ = ["BASELINE", "Design", "FormulaTerms", "RandomIntercept", "build_design", "parse_formula"]

BASELINE = "interval"
"""Column of the cells holding the baseline (age-interval) factor, used by the rank check."""

_SUPPORTED = "supported: main effects 'a + b', interactions 'a:b', 'a * b', and '(1 | g)'"
_NO_INTERCEPT = "the interval baseline is the intercept; columns are always coded as if with one"
_NESTING = "write 'a + a:b'; for nested random intercepts use a combined column, '(1 | a_b)'"
_TOKEN_PROBLEMS = {  # tokens after which formulae's terms would not show what was written
    "SLASH": ("the nesting operator '/'", _NESTING),
    "SLASH_SLASH": ("the operator '//'", _SUPPORTED),
    "STAR_STAR": ("the power operator '**'", "write the interactions out with '*' or ':'"),
    "MODULO": ("the '%' operator (e.g. %in%)", _SUPPORTED),
    "LEFT_BRACKET": ("level selection 'x[level]'", "use build_design(reference={'x': 'level'})"),
}
_OK_TOKENS = {"PLUS", "STAR", "COLON", "PIPE", "LEFT_PAREN", "RIGHT_PAREN", "NUMBER", "LEFT_BRACE"}
_CATEGORICAL = "the piecewise-exponential aggregation into cells needs categorical covariates"


@dataclass(frozen=True)
class FormulaTerms:
    """The parsed right-hand side of a formula.

    Parameters
    ----------
    formula : str
        The formula as given.
    fixed : list of str
        Fixed terms in coding order, e.g. ``["leader", "era", "setting", "leader:era"]``.
    term_variables : list of tuple of str
        The variables of each fixed term, in written order.
    variables : list of str
        Covariates of the fixed terms, in order of first appearance.
    random : list of str
        Random-intercept grouping factors, e.g. ``["county"]``.
    """

    formula: str
    fixed: list[str]
    term_variables: list[tuple[str, ...]]
    variables: list[str]
    random: list[str]


@dataclass(frozen=True, eq=False)
class RandomIntercept:
    """A random intercept ``(1 | name)``: ``codes`` (int64, one per cell) index ``levels``.

    Parameters
    ----------
    name : str
        The grouping factor, e.g. ``"county"``.
    codes : ndarray of int64, shape (n_cells,)
        Each cell's index into ``levels``.
    levels : list of str
        The grouping factor's levels.
    """

    name: str
    codes: np.ndarray = field(repr=False)
    levels: list[str]


@dataclass(frozen=True, eq=False)
class Design:
    """Named fixed-effect matrix and random-intercept indices for a set of cells.

    Parameters
    ----------
    formula : str
        The formula as given.
    X : numpy.ndarray
        ``(n_cells, p)`` float64 fixed-effect columns, treatment-coded, no intercept column.
    coef_names : list of str
        Column names, e.g. ``"leader[professional]:era[early]"``.
    term_of_coef : list of str
        The written fixed term each column belongs to, e.g. ``"leader:era"``.
    variables : list of str
        Covariates of the fixed terms.
    reference, levels : dict
        Variable -> reference level; variable -> ordered levels, reference first.
    random : list of RandomIntercept
        One per ``(1 | g)``.
    terms : list of str
        Written fixed terms in coding order.
    coef_levels : list of tuple
        Each column's ``(variable, level)`` pairs: it is 1 where all of them hold, else 0.
    """

    formula: str
    X: np.ndarray = field(repr=False)
    coef_names: list[str]
    term_of_coef: list[str]
    variables: list[str]
    reference: dict[str, str]
    levels: dict[str, list[str]]
    random: list[RandomIntercept]
    terms: list[str]
    coef_levels: list[tuple[tuple[str, str], ...]] = field(repr=False)

    def transform(self, new: pd.DataFrame) -> np.ndarray:
        """Fixed-effect rows, ``(len(new), p)`` float64, for new covariate profiles.

        ``new`` needs a column per covariate in :attr:`variables`; values are matched to the
        levels as text. Missing columns, missing values and unknown levels raise one
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
        for v in (v for v in self.variables if v in new.columns):
            codes[v], found = _codes(new[v], self.levels[v])
            problems += found
        if problems:
            raise DataError(problems, source="Design.transform")
        return _dummies(codes, self.coef_levels, len(new), self.levels)

    def coords(self) -> dict[str, list[str]]:
        """Named dimensions: ``{"coef": coef_names, g: levels}`` for each random factor ``g``.

        Returns
        -------
        dict of str to list of str
        """
        return {"coef": list(self.coef_names), **{r.name: list(r.levels) for r in self.random}}


def parse_formula(formula: str, *, columns: Sequence[str] | None = None) -> FormulaTerms:
    """Check a formula's syntax, and its names against ``columns`` if given, without data.

    Parameters
    ----------
    formula : str
        Right-hand side such as ``"~ leader * era + setting + (1 | county)"``.
    columns : sequence of str, optional
        Available column names.

    Returns
    -------
    FormulaTerms

    Raises
    ------
    SpecError
        Listing every unsupported term and unknown name.
    """
    terms, problems = _parse(formula, columns)
    if problems or terms is None:
        raise SpecError(problems, source=f"formula {formula!r}")
    return terms


_OPERAND_END = {"IDENTIFIER", "BQNAME", "NUMBER", "RIGHT_PAREN", "RIGHT_BRACE"}
_OPERAND_START = {"IDENTIFIER", "BQNAME", "NUMBER", "LEFT_PAREN", "LEFT_BRACE"}


def _missing_operator(kind: str, next_kind: str) -> bool:
    """Two operands side by side ('a b', '(1 | g) a'); 'f(' is a call, not two operands."""
    call = kind == "IDENTIFIER" and next_kind == "LEFT_PAREN"
    return kind in _OPERAND_END and next_kind in _OPERAND_START and not call


def _parse(formula: str, columns: Sequence[str] | None) -> tuple[FormulaTerms | None, list]:
    text = formula.strip().removeprefix("~").strip()
    if not text:
        return None, [Problem("the formula is empty", "write '1' for a baseline-only model")]
    if text.count("`") % 2:  # formulae's scanner loops forever on an unclosed backquote
        return None, [Problem("the formula has an unclosed backquote '`'", "close it")]
    try:
        tokens = Scanner(text).scan(add_intercept=False)
    except Exception as err:  # formulae raises ScanError; any failure here is a syntax error
        return None, [Problem(f"cannot read the formula: {err}", _SUPPORTED)]
    problems: list[Problem] = []
    names: list[str] = []
    garbled = False  # formulae would then repeat the problem in other words, or drop terms
    for tok, nxt in itertools.pairwise(tokens):
        kind, lexeme = tok.kind, tok.lexeme
        if _missing_operator(kind, nxt.kind) and not garbled:
            # formulae keeps the first operand and silently drops the rest ('a b' -> 'a')
            what = f"'{lexeme} {nxt.lexeme}' has no operator between its terms"
            fix = "join terms with '+' (main effects), '*' (with interaction) or ':' (interaction)"
            problems.append(Problem(what, fix))
            garbled = True
        if kind == "IDENTIFIER" and nxt.kind != "LEFT_PAREN" or kind == "BQNAME":
            names.append(lexeme.strip("`"))
        elif kind == "MINUS" or lexeme == "0":
            gone = f"-{nxt.lexeme}" if kind == "MINUS" else "0"
            what = f"'{gone}' ({'intercept' if gone in ('-1', '0') else 'term'} removal)"
            problems.append(Problem(f"{what} is not supported", _NO_INTERCEPT))
        elif kind == "TILDE":
            fix = "events and exposure are the response; write only the right-hand side"
            problems.append(Problem("a response ('y ~') is not supported", fix))
        elif kind in _TOKEN_PROBLEMS or (kind == "NUMBER" and lexeme != "1"):
            what, fix = _TOKEN_PROBLEMS.get(kind, (f"the number {lexeme}", _SUPPORTED))
            problems.append(Problem(f"{what} is not supported", fix))
            garbled = True
        elif kind not in _OK_TOKENS | {"IDENTIFIER", "RIGHT_BRACE"} and not garbled:
            problems.append(Problem(f"the symbol {lexeme!r} is not supported", _SUPPORTED))
            garbled = True
    if columns is not None:
        available = set(columns)
        if unknown := list(dict.fromkeys(n for n in names if n not in available)):
            what = f"unknown column name(s) {', '.join(map(repr, unknown))}"
            problems.append(Problem(what, f"available columns: {', '.join(map(str, columns))}"))
    if garbled:
        return None, problems
    try:
        model = model_description(text)
    except Exception as err:  # formulae raises ParseError, ResolverError, ValueError, ...
        return None, problems or [Problem(f"cannot parse the formula: {err}", _SUPPORTED)]

    fixed: dict[frozenset[str], tuple[str, ...]] = {}
    for term in (t for t in model.common_terms if not isinstance(t, Intercept)):
        if all(isinstance(c, Variable) for c in term.components):
            names = [c.name for c in term.components]
            fixed.setdefault(frozenset(names), tuple(names))
        else:
            problems.append(_transform_problem(term.name))
    random: list[str] = []
    for term in model.group_terms:
        factor = term.factor
        if not isinstance(term.expr, Intercept):
            what = f"the random slope '({term.expr.name} | {factor.name})' is not supported"
            problems.append(Problem(what, "only random intercepts '(1 | g)' are supported"))
        elif not all(isinstance(c, Variable) for c in factor.components):
            problems.append(_transform_problem(factor.name))
        elif len(factor.components) > 1:
            what = f"the grouping factor '(1 | {factor.name})' is an interaction, not supported"
            fix = "make one column of the combinations, e.g. a_b, and write '(1 | a_b)'"
            problems.append(Problem(what, fix))
        elif factor.name not in random:
            random.append(factor.name)
    term_vars = sorted(fixed.values(), key=len)  # stable: R's order, main effects first
    variables = list(dict.fromkeys(v for t in term_vars for v in t))
    for name in random:
        if name in variables:
            what = f"'{name}' is both a fixed effect and a random-intercept grouping factor"
            problems.append(Problem(what, "use it in one place only"))
        if name == "coef":
            what = "'coef' cannot be a grouping factor: it names the coefficient dimension"
            problems.append(Problem(what, "rename the column"))
    fixed_names = [":".join(t) for t in term_vars]
    return FormulaTerms(formula, fixed_names, term_vars, variables, random), problems


def _transform_problem(name: str) -> Problem:
    what = f"the term '{name}' transforms a column, which is not supported"
    return Problem(what, f"{_CATEGORICAL}: make a new column (e.g. with pd.cut), use its name")


def build_design(
    cells: pd.DataFrame, formula: str, *, reference: Mapping[str, str] | None = None
) -> Design:
    """Build the named fixed-effect matrix and random-intercept codes for aggregated cells.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per cell, with the covariate and grouping columns the formula uses.
    formula : str
        See :func:`parse_formula`.
    reference : mapping, optional
        Variable -> reference level, e.g. ``{"leader": "consumer"}``. Default: the first level.

    Returns
    -------
    Design

    Raises
    ------
    SpecError
        Unsupported formula, unknown names, non-categorical or single-level covariates, unknown
        reference levels, or coefficients not identifiable from the cells (aliased).
    DataError
        Missing values in the columns used (raised when there is no SpecError).
    """
    source = f"formula {formula!r}"
    terms, problems = _parse(formula, list(cells.columns))
    if terms is None or problems:
        raise SpecError(problems, source=source)
    levels, data_problems = {}, []
    if len(cells) == 0:
        data_problems.append(Problem("the cells frame has no rows", "check the aggregation"))
    for name in dict.fromkeys([*terms.variables, *terms.random]):
        series, fixed = cells[name], name in terms.variables
        if fixed and not _is_categorical(series):
            what = f"covariate '{name}' is {series.dtype}, not string, bool or Categorical"
            fix = f"{_CATEGORICAL}; bin it, e.g. cells['{name}_bin'] = pd.cut(cells['{name}'], ...)"
            problems.append(Problem(what, fix, column=name))
            continue
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
    for name, ref in ((k, str(v)) for k, v in (reference or {}).items()):
        if name not in terms.variables:
            what = f"a reference level is given for '{name}', not a fixed-effect covariate"
            problems.append(Problem(what, f"covariates: {', '.join(terms.variables) or 'none'}"))
        elif name in levels and ref not in levels[name]:
            what = f"reference level {ref!r} of '{name}' does not occur in the cells"
            problems.append(Problem(what, f"use one of {', '.join(levels[name])}", name))
        elif name in levels:
            levels[name] = [ref, *(lv for lv in levels[name] if lv != ref)]
    if problems or data_problems:
        raise (SpecError if problems else DataError)([*problems, *data_problems], source=source)

    codes = {name: _codes(cells[name], levels[name])[0] for name in levels}
    coef_levels, term_of_coef = _coding(terms, levels, codes)
    X = _dummies(codes, coef_levels, len(cells), levels)
    if aliased := _aliased(cells, X, [codes[v] for v in terms.variables]):
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
        raise SpecError(Problem(what, fix), source=source)
    fv = terms.variables
    random = [RandomIntercept(g, codes[g].astype(np.int64), levels[g]) for g in terms.random]
    names = [_coef_name(c) for c in coef_levels]
    ref, lev = {v: levels[v][0] for v in fv}, {v: levels[v] for v in fv}
    return Design(formula, X, names, term_of_coef, fv, ref, lev, random, terms.fixed, coef_levels)


def _is_categorical(series: pd.Series) -> bool:
    dt, types = series.dtype, pd.api.types
    return (
        isinstance(dt, pd.CategoricalDtype) or types.is_bool_dtype(dt) or types.is_string_dtype(dt)
    )


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
    return [str(v) for v in values]


def _codes(series: pd.Series, levels: list[str]) -> tuple[np.ndarray, list[Problem]]:
    """Codes of ``series`` into ``levels``, and problems.

    Codes of ``series`` into ``levels`` (as text; -1 if missing or unknown) and problems.
    Only the distinct values are converted to text, so long columns are fast.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw, values = series.cat.codes.to_numpy(), series.cat.categories
    else:
        raw, values = pd.factorize(series)
    lookup = np.append(pd.Index(levels).get_indexer([str(v) for v in values]), -1)
    codes, problems = lookup[raw], []  # raw == -1 (missing) picks the appended -1
    if (raw < 0).any():
        ids = list(series.index[raw < 0])
        problems.append(Problem("missing values", "give every row a level", series.name, ids))
    if unknown := [str(values[i]) for i in np.unique(raw[raw >= 0]) if lookup[i] < 0]:
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


def _coding(terms: FormulaTerms, levels: dict[str, list[str]], codes: dict[str, np.ndarray]):
    """Each column's ``(variable, level)`` pairs and written term.

    Each column's ``(variable, level)`` pairs and written term, from formulae's coding of the
    marginality closure of the terms; formulae runs on the distinct covariate patterns only, and
    its matrix there must equal ours.
    """
    if not terms.fixed:
        return [], []
    owner = {frozenset(t): (t, ":".join(t)) for t in terms.term_variables}
    for t in terms.term_variables:
        for sub in (s for k in range(1, len(t)) for s in itertools.combinations(t, k)):
            owner.setdefault(frozenset(sub), (sub, ":".join(t)))
    closure = sorted((t for t, _ in owner.values()), key=len)
    variables = terms.variables
    rows = _first_rows([codes[v] for v in variables], [len(levels[v]) for v in variables])
    keys = {v: codes[v][rows] for v in variables}
    cat = pd.Categorical.from_codes
    patterns = pd.DataFrame({v: cat(keys[v], levels[v], ordered=True) for v in variables})
    rhs = " + ".join(":".join(f"`{v}`" for v in t) for t in closure)
    common = design_matrices(f"1 + {rhs}", patterns).common
    coef_levels: list[tuple[tuple[str, str], ...]] = []
    term_of_coef: list[str] = []
    for term in (t for t in common.terms.values() if isinstance(t, Term)):
        name = owner[frozenset(c.name for c in term.components)][1]
        coded = [c.levels if c.spans_intercept else c.levels[1:] for c in term.components]
        for combo in itertools.product(*coded):
            coef_levels.append(tuple(zip((c.name for c in term.components), combo, strict=True)))
            term_of_coef.append(name)
    ours = _dummies(keys, coef_levels, len(rows), levels)
    if not np.array_equal(ours, np.asarray(common.design_matrix)[:, 1:]):
        raise RuntimeError("bayessa.model.design does not reproduce this formulae version's coding")
    return coef_levels, term_of_coef


def _dummies(codes: Mapping[str, np.ndarray], coef_levels, n: int, levels) -> np.ndarray:
    """Column j is 1 where every variable of ``coef_levels[j]`` takes its level."""
    X = np.ones((n, len(coef_levels)), dtype=np.float64)
    for j, combo in enumerate(coef_levels):
        for var, level in combo:
            X[:, j] *= codes[var] == levels[var].index(level)
    return X


def _coef_name(combo: tuple[tuple[str, str], ...]) -> str:
    return ":".join(f"{var}[{level}]" for var, level in combo)


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
