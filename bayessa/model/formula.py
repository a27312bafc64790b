"""Parse a model formula into its terms, without data.

:mod:`formulae` (Bambi's parser) reads the formula; this module checks what it read against what the
piecewise-exponential model supports, and says what is wrong in words when it is not.

Supported: main effects and ``+``; interactions ``a:b`` and ``a * b`` (also three-way); random
intercepts ``(1 | g)``, several of them ``(1 | county) + (1 | region)``, nested
``(1 | region/county)`` (= ``(1 | region) + (1 | region:county)``) and random slopes of fixed terms
``(1 + leader | county)``; an optional leading ``~``; and these calls on one column:

* ``C(x)`` -- ``x`` as categories, whatever its type (coefficients ``x[level]``);
* ``log(x)``, ``log2(x)``, ``log10(x)``, ``sqrt(x)``, ``center(x)``, ``scale(x)`` -- numeric
  transforms (:mod:`bayessa.model.numeric`);
* ``s(x)``, ``s(x, k=8)`` -- a smooth effect (:mod:`bayessa.model.smooth`), on its own (not in an
  interaction, and not beside a linear or categorical use of the same column).

A bare column name is numeric or categorical by its type, as in R: numbers enter linearly, strings,
booleans and Categoricals as treatment-coded categories. Anything else (nesting ``/`` outside
a grouping factor, ``0 +``/``-1``, ``-``, ``**``, other calls such as ``np.log(x)`` or ``I(x**2)``, calls on
expressions, a response) raises :class:`~bayessa.errors.SpecError` naming the term.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from formulae import model_description
from formulae.scanner import Scanner
from formulae.terms.terms import Intercept
from formulae.terms.variable import Variable

from bayessa.errors import Problem, SpecError
from bayessa.model.numeric import NUMERIC_TRANSFORMS

__all__ = ["CALLS", "FormulaTerms", "parse_formula", "parse_terms"]

_SUPPORTED = (
    "supported: main effects 'a + b', interactions 'a:b', 'a * b', '(1 | g)', and the calls "
    "C(x), log(x), log2(x), log10(x), sqrt(x), center(x), scale(x), s(x, k=10)"
)
_NO_INTERCEPT = "the interval baseline is the intercept; columns are always coded as if with one"
_NESTING = "write 'a + a:b'; nesting is for grouping factors: '(1 | region/county)'"
_TOKEN_PROBLEMS = {  # tokens after which formulae's terms would not show what was written
    "SLASH": ("the nesting operator '/'", _NESTING),
    "SLASH_SLASH": ("the operator '//'", _SUPPORTED),
    "STAR_STAR": ("the power operator '**'", "write the interactions out with '*' or ':'"),
    "MODULO": ("the '%' operator (e.g. %in%)", _SUPPORTED),
    "LEFT_BRACKET": ("level selection 'x[level]'", "use build_design(reference={'x': 'level'})"),
}
_OK_TOKENS = {"PLUS", "STAR", "COLON", "PIPE", "LEFT_PAREN", "RIGHT_PAREN", "NUMBER", "LEFT_BRACE"}
#: Calls a formula may contain: ``C`` (categories) and the numeric transforms.
CALLS = ("C", *(t for t in NUMERIC_TRANSFORMS if t != "identity"))


@dataclass(frozen=True)
class FormulaTerms:
    """The parsed right-hand side of a formula.

    Parameters
    ----------
    formula : str
        The formula as given.
    fixed : list of str
        Fixed terms in coding order, e.g. ``["leader", "era", "log(age)", "leader:era"]``
        (``C(x)`` is written ``x``).
    term_variables : list of tuple of str
        The components of each fixed term, in written order: a column name, or a transform's name
        such as ``"log(age)"``.
    variables : list of str
        Data columns of the fixed terms, in order of first appearance.
    random : list of str
        Random-intercept grouping factors, e.g. ``["county"]``.
    transforms : dict of str to tuple of (str, str)
        Component name -> ``(column, transform)`` for the numeric transforms, e.g.
        ``{"log(age)": ("age", "log")}``.
    categorical : list of str
        Columns written as ``C(x)``: categories whatever their type.
    smooths : dict of str to tuple of (str, int)
        Smooth components ``"s(age)"`` -> ``(column, k)`` (:mod:`bayessa.model.smooth`).
    random_columns : dict of str to tuple of str
        Grouping factor -> its data columns: ``("county",)``, or ``("region", "county")`` for the
        factor ``"region:county"`` that ``(1 | region/county)`` makes.
    random_slopes : dict of str to list of str
        Grouping factor -> the fixed terms with a random slope, e.g. ``{"county": ["leader"]}``
        for ``(1 + leader | county)``.
    """

    formula: str
    fixed: list[str]
    term_variables: list[tuple[str, ...]]
    variables: list[str]
    random: list[str]
    transforms: dict[str, tuple[str, str]] = field(default_factory=dict)
    categorical: list[str] = field(default_factory=list)
    smooths: dict[str, tuple[str, int]] = field(default_factory=dict)
    random_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    random_slopes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def grouping_columns(self) -> list[str]:
        """The data columns of every grouping factor, in order of first appearance."""
        return list(dict.fromkeys(c for f in self.random for c in self.random_columns.get(f, (f,))))

    @property
    def numeric_columns(self) -> list[str]:
        """Columns that must be numeric (inside a numeric transform or a smooth)."""
        cols = [col for col, _ in self.transforms.values()]
        return list(dict.fromkeys([*cols, *(col for col, _ in self.smooths.values())]))


def parse_formula(formula: str, *, columns: Sequence[str] | None = None) -> FormulaTerms:
    """Check a formula's syntax, and its names against ``columns`` if given, without data.

    Parameters
    ----------
    formula : str
        Right-hand side such as ``"~ leader * era + log(size) + (1 | county)"``.
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
    terms, problems = parse_terms(formula, columns)
    if problems or terms is None:
        raise SpecError(problems, source=f"formula {formula!r}")
    return terms


_OPERAND_END = {"IDENTIFIER", "BQNAME", "NUMBER", "RIGHT_PAREN", "RIGHT_BRACE"}
_OPERAND_START = {"IDENTIFIER", "BQNAME", "NUMBER", "LEFT_PAREN", "LEFT_BRACE"}


def _missing_operator(kind: str, next_kind: str) -> bool:
    """Two operands side by side ('a b', '(1 | g) a'); 'f(' is a call, not two operands."""
    call = kind == "IDENTIFIER" and next_kind == "LEFT_PAREN"
    return kind in _OPERAND_END and next_kind in _OPERAND_START and not call


def _scan(text: str, columns: Sequence[str] | None) -> tuple[bool, list[Problem]]:
    """Token-level checks: (garbled, problems). Inside a call's parentheses only names count."""
    try:
        tokens = Scanner(text).scan(add_intercept=False)
    except Exception as err:  # formulae raises ScanError; any failure here is a syntax error
        return True, [Problem(f"cannot read the formula: {err}", _SUPPORTED)]
    problems: list[Problem] = []
    names: list[str] = []
    garbled = False  # formulae would then repeat the problem in other words, or drop terms
    depth = 0  # parentheses of calls: 'log(x)' opens one
    group = False  # after '|' inside '( | )': nesting 'region/county' is allowed there
    for tok, nxt in zip(tokens, [*tokens[1:], None], strict=True):
        kind, lexeme = tok.kind, tok.lexeme
        if nxt is None:
            break
        if kind in ("PIPE", "RIGHT_PAREN") and depth <= 0:
            group = kind == "PIPE"
        if group and kind == "SLASH":
            continue
        if depth == -1:  # the parenthesis that opens a call
            depth = 1
            continue
        if depth > 0:  # inside a call: its argument names; the call itself is checked on the terms
            depth += (kind == "LEFT_PAREN") - (kind == "RIGHT_PAREN")
            kwarg = nxt.kind == "EQUAL"
            if kind == "IDENTIFIER" and nxt.kind != "LEFT_PAREN" and not kwarg or kind == "BQNAME":
                names.append(lexeme.strip("`"))
            continue
        if kind == "IDENTIFIER" and nxt.kind == "LEFT_PAREN":
            depth = -1  # the next token opens the call
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
    return garbled, problems


def parse_terms(
    formula: str, columns: Sequence[str] | None = None
) -> tuple[FormulaTerms | None, list[Problem]]:
    """The terms and every problem found (``None`` when the formula cannot be read at all).

    Parameters
    ----------
    formula : str
    columns : sequence of str, optional

    Returns
    -------
    terms : FormulaTerms or None
    problems : list of Problem
    """
    text = formula.strip().removeprefix("~").strip()
    if not text:
        return None, [Problem("the formula is empty", "write '1' for a baseline-only model")]
    if text.count("`") % 2:  # formulae's scanner loops forever on an unclosed backquote
        return None, [Problem("the formula has an unclosed backquote '`'", "close it")]
    garbled, problems = _scan(text, columns)
    if garbled:
        return None, problems
    try:
        model = model_description(text)
    except Exception as err:  # formulae raises ParseError, ResolverError, ValueError, ...
        return None, problems or [Problem(f"cannot parse the formula: {err}", _SUPPORTED)]

    fixed: dict[frozenset[str], tuple[str, ...]] = {}
    transforms: dict[str, tuple[str, str]] = {}
    categorical: list[str] = []
    smooths: dict[str, tuple[str, int]] = {}
    for term in (t for t in model.common_terms if not isinstance(t, Intercept)):
        names = [_component(c, transforms, categorical, smooths, problems) for c in term.components]
        if len(names) > 1 and any(n in smooths for n in names):
            what = f"the smooth in the interaction '{term.name}' is not supported"
            fix = "write the smooth on its own, s(x) + ..., or a linear interaction x:a"
            problems.append(Problem(what, fix))
        elif None not in names:
            fixed.setdefault(frozenset(names), tuple(names))
    random, random_columns, slopes = _random_terms(model, transforms, categorical, problems)
    for factor, terms in slopes.items():
        for parts in terms:
            if frozenset(parts) not in fixed:
                what = f"the random slope of '{':'.join(parts)}' by {factor} has no fixed effect"
                fix = f"add {':'.join(parts)} to the formula's fixed part: the random slopes vary around it"
                problems.append(Problem(what, fix))
    term_vars = sorted(fixed.values(), key=len)  # stable: R's order, main effects first
    columns_of = {name: col for name, (col, _) in [*transforms.items(), *smooths.items()]}
    variables = list(dict.fromkeys(columns_of.get(v, v) for t in term_vars for v in t))
    grouping = list(dict.fromkeys(c for f in random for c in random_columns[f]))
    problems += _role_clashes(variables, grouping, transforms, categorical)
    problems += _smooth_clashes(term_vars, transforms, categorical, smooths)
    fixed_names = [":".join(t) for t in term_vars]
    written = {frozenset(t): ":".join(t) for t in term_vars}
    slope_names = {
        f: [written.get(frozenset(p), ":".join(p)) for p in ts] for f, ts in slopes.items()
    }
    out = FormulaTerms(
        formula, fixed_names, term_vars, variables, random, transforms, categorical, smooths,
        random_columns, slope_names,
    )  # fmt: skip
    return out, problems


def _smooth_clashes(term_vars, transforms, categorical, smooths) -> list[Problem]:
    """A smoothed column may not also enter linearly or as categories (the spline has a line)."""
    problems = []
    components = {c for t in term_vars for c in t}
    for name, (col, _) in smooths.items():
        other = [
            c for c in components if c != name and (c == col or transforms.get(c, ("",))[0] == col)
        ]
        if col in categorical or other:
            uses = ", ".join(sorted(other)) or f"C({col})"
            what = f"'{col}' is both smooth ({name}) and {uses}"
            fix = f"{name} already contains the linear trend in {col}; keep one of them"
            problems.append(Problem(what, fix))
    return problems


def _component(comp, transforms, categorical, smooths, problems: list[Problem]) -> str | None:
    """The name of one component of a term (recording calls), or None when it is refused."""
    if isinstance(comp, Variable):
        return comp.name
    call = getattr(comp, "call", None)
    callee = getattr(call, "callee", None)
    args = getattr(call, "args", [])
    kwargs = dict(getattr(call, "kwargs", None) or {})
    plain = len(args) == 1 and type(args[0]).__name__ == "LazyVariable"
    if callee == "s" and plain and set(kwargs) <= {"k"}:
        return _smooth(comp.name, args[0].name, kwargs, smooths, problems)
    if callee not in CALLS or not plain or kwargs:
        problems.append(_transform_problem(comp.name))
        return None
    column = args[0].name
    if callee == "C":
        categorical.append(column) if column not in categorical else None
        return column
    name = f"{callee}({column})"
    transforms[name] = (column, callee)
    return name


def _smooth(written: str, column: str, kwargs, smooths, problems) -> str | None:
    """Record ``s(x)`` / ``s(x, k=8)``; the component is named ``s(x)``."""
    from bayessa.model.smooth import DEFAULT_K, MAX_K, MIN_K

    k = getattr(kwargs.get("k"), "value", DEFAULT_K)
    if isinstance(k, bool) or not isinstance(k, int) or not MIN_K <= k <= MAX_K:
        what = f"in '{written}', k must be a whole number from {MIN_K} to {MAX_K}"
        problems.append(Problem(what, f"e.g. s({column}, k=8); the default is {DEFAULT_K}"))
        return None
    name = f"s({column})"
    if smooths.get(name, (column, k))[1] != k:
        what = f"'{name}' is written twice with different k"
        problems.append(Problem(what, "write the smooth once"))
        return None
    smooths[name] = (column, k)
    return name


def _random_terms(model, transforms, categorical, problems: list[Problem]):
    """Grouping factors, their columns and their random slopes.

    ``(1 | g)`` an intercept per level of ``g``; ``(1 + x | g)`` (or ``(x | g)``) also a slope of
    the fixed term ``x`` per level; ``(1 | a/b)`` (formulae: ``(1 | a) + (1 | a:b)``) and
    ``(1 | a:b)`` a factor of the combinations of ``a`` and ``b``.
    """
    random: list[str] = []
    columns: dict[str, tuple[str, ...]] = {}
    slopes: dict[str, list[tuple[str, ...]]] = {}
    for term in model.group_terms:
        factor = term.factor
        if not all(isinstance(c, Variable) for c in factor.components):
            problems.append(_transform_problem(factor.name))
            continue
        name = ":".join(c.name for c in factor.components)
        if name not in random:
            random.append(name)
            columns[name] = tuple(c.name for c in factor.components)
        if isinstance(term.expr, Intercept):
            continue
        parts = [_component(c, transforms, categorical, {}, problems) for c in term.expr.components]
        if None in parts:
            continue
        if any(p.startswith("s(") for p in parts):
            what = f"a smooth cannot be a random slope ('{term.expr.name} | {name}')"
            problems.append(Problem(what, "use a linear term as the random slope"))
            continue
        slopes.setdefault(name, [])
        if tuple(parts) not in slopes[name]:
            slopes[name].append(tuple(parts))
    return random, columns, slopes


def _role_clashes(variables, random, transforms, categorical) -> list[Problem]:
    """A column used in incompatible roles: fixed and grouping, categories and numeric."""
    problems = []
    for name in random:  # the data columns of the grouping factors
        if name in variables:
            what = f"'{name}' is both a fixed effect and a random-effect grouping factor"
            problems.append(Problem(what, "use it in one place only"))
        if name == "coef":
            what = "'coef' cannot be a grouping factor: it names the coefficient dimension"
            problems.append(Problem(what, "rename the column"))
    numeric = {col for col, _ in transforms.values()}  # 'age + log(age)' is legal
    for col in (c for c in categorical if c in numeric):
        what = f"'{col}' is used both as categories (C({col})) and in a numeric transform"
        problems.append(Problem(what, "use it in one role; make a second column for the other"))
    return problems


def _transform_problem(name: str) -> Problem:
    what = f"the term '{name}' is not supported"
    fix = (
        "the calls a formula may use are C(x), log(x), log2(x), log10(x), sqrt(x), center(x), "
        "scale(x) and s(x, k=10), each on one column; for anything else make a new column and "
        "use its name"
    )
    return Problem(what, fix)
