"""Formula -> design: exact matrices on hand-built cells, naming, references, errors, speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from formulae import design_matrices
from hypothesis import given, settings
from hypothesis import strategies as st

from bayessa.errors import DataError, SpecError
from bayessa.model.design import Design, build_design
from bayessa.model.formula import parse_formula

LEADER = ["consumer", "professional"]
ERA = ["pre", "mid", "post"]  # Categorical order on purpose not alphabetical


def cells(**over) -> pd.DataFrame:
    """Two intervals x leader (2) x era (3): 12 cells, plus a string, a bool and a cluster."""
    leader = ["consumer", "professional"] * 6
    era = ["pre", "pre", "mid", "mid", "post", "post"] * 2
    base = {
        "interval": pd.Categorical(["0-1"] * 6 + ["1-5"] * 6, categories=["0-1", "1-5"]),
        "leader": pd.Categorical(leader, categories=LEADER),
        "era": pd.Categorical(era, categories=ERA),
        "setting": ["urban", "rural", "rural", "urban", "urban", "rural"] * 2,
        "rural": [False, False, True, True, False, True] * 2,
        "county": pd.Categorical(list("BAABCC") * 2, categories=["C", "B", "A"]),
        "events": np.arange(12),
        "exposure": np.linspace(1.0, 2.0, 12),
    }
    base.update(over)
    return pd.DataFrame(base)


def crossed() -> pd.DataFrame:
    """Every combination of interval, leader, era, setting and a yes/no factor: 48 cells."""
    grid = pd.MultiIndex.from_product(
        [["0-1", "1-5"], LEADER, ERA, ["rural", "urban"], ["no", "yes"]],
        names=["interval", "leader", "era", "setting", "member"],
    ).to_frame(index=False)
    grid["era"] = pd.Categorical(grid["era"], categories=ERA)
    return grid


def spec_error(formula: str, frame: pd.DataFrame | None = None, **kw) -> SpecError:
    with pytest.raises(SpecError) as exc:
        build_design(cells() if frame is None else frame, formula, **kw)
    return exc.value


# ---------------------------------------------------------------------------------------------
# exact matrices


def test_main_effects_exact_matrix_and_no_intercept():
    d = build_design(cells(), "leader + era")
    assert d.coef_names == ["leader[professional]", "era[mid]", "era[post]"]
    assert d.term_of_coef == ["leader", "era", "era"]
    assert d.terms == ["leader", "era"] and d.variables == ["leader", "era"]
    six = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1]]
    np.testing.assert_array_equal(d.X, np.array(six * 2, dtype=float))
    assert d.X.dtype == np.float64 and d.X.flags.c_contiguous
    assert d.reference == {"leader": "consumer", "era": "pre"}
    assert d.levels == {"leader": LEADER, "era": ERA}


def test_interaction_exact_matrix_and_names():
    d = build_design(cells(), "leader * era")
    assert d.coef_names == [
        "leader[professional]",
        "era[mid]",
        "era[post]",
        "leader[professional]:era[mid]",
        "leader[professional]:era[post]",
    ]
    assert d.term_of_coef == ["leader", "era", "era", "leader:era", "leader:era"]
    six = [
        [0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0],
        [0, 1, 0, 0, 0],
        [1, 1, 0, 1, 0],
        [0, 0, 1, 0, 0],
        [1, 0, 1, 0, 1],
    ]
    np.testing.assert_array_equal(d.X, np.array(six * 2, dtype=float))
    # `a:b` written the other way round names the columns in the written order
    d2 = build_design(cells(), "era * leader")
    assert d2.coef_names[-2:] == ["era[mid]:leader[professional]", "era[post]:leader[professional]"]
    np.testing.assert_array_equal(d2.X[:, -2:], d.X[:, -2:])


def test_string_and_bool_covariates_use_sorted_levels():
    d = build_design(cells(), "setting + rural")
    assert d.coef_names == ["setting[urban]", "rural[True]"]
    assert d.reference == {"setting": "rural", "rural": "False"}
    six = [[1, 0], [0, 0], [0, 1], [1, 1], [1, 0], [0, 1]]
    np.testing.assert_array_equal(d.X, np.array(six * 2, dtype=float))


def test_unused_categories_are_dropped():
    frame = cells(era=pd.Categorical(cells()["era"], categories=["ancient", *ERA]))
    d = build_design(frame, "era")
    assert d.levels["era"] == ERA and d.coef_names == ["era[mid]", "era[post]"]


def test_reference_levels_switch_columns():
    d = build_design(cells(), "leader * era", reference={"leader": "professional", "era": "post"})
    assert d.reference == {"leader": "professional", "era": "post"}
    assert d.levels == {"leader": ["professional", "consumer"], "era": ["post", "pre", "mid"]}
    assert d.coef_names == [
        "leader[consumer]",
        "era[pre]",
        "era[mid]",
        "leader[consumer]:era[pre]",
        "leader[consumer]:era[mid]",
    ]
    c = cells()
    consumer = (c["leader"] == "consumer").to_numpy(float)
    pre, mid = (c["era"] == "pre").to_numpy(float), (c["era"] == "mid").to_numpy(float)
    expected = np.column_stack([consumer, pre, mid, consumer * pre, consumer * mid])
    np.testing.assert_array_equal(d.X, expected)
    # A bool reference given as a bool is matched as text.
    assert build_design(c, "rural", reference={"rural": True}).coef_names == ["rural[False]"]


def test_interaction_without_main_effects_is_coded_as_the_full_factorial():
    """``a:b`` spans the same space as ``a*b`` (categorical covariates, baseline as intercept);
    it is coded like ``a*b``, every column owned by the written term."""
    d = build_design(cells(), "leader:era")
    full = build_design(cells(), "leader * era")
    assert d.coef_names == full.coef_names
    np.testing.assert_array_equal(d.X, full.X)
    assert d.term_of_coef == ["leader:era"] * 5 and d.terms == ["leader:era"]
    three = build_design(crossed(), "member + leader:era:setting")
    assert len(three.coef_names) == 1 + 11
    assert three.term_of_coef == ["member"] + ["leader:era:setting"] * 11


def test_formulae_own_coding_of_a_lone_three_way_interaction_is_incomplete():
    """Why the terms are closed under marginality before formulae codes them: formulae 0.9 gives
    ``a:b:c`` alone 1 + 8 columns for 12 cells; R (and we) give 1 + 11."""
    c = crossed()
    theirs = np.asarray(design_matrices("leader:era:setting", c).common.design_matrix)
    full = np.asarray(design_matrices("leader * era * setting", c).common.design_matrix)
    ours = build_design(c, "leader:era:setting").X
    rank = np.linalg.matrix_rank
    assert rank(theirs) == 9 and rank(full) == 12
    ours1 = np.column_stack([np.ones(len(c)), ours])
    assert rank(ours1) == 12 == rank(np.hstack([ours1, full]))


def test_three_way_interaction():
    c = cells()
    c = pd.concat([c.assign(size="small"), c.assign(size="large")], ignore_index=True)
    d = build_design(c, "leader * era * size")
    assert len(d.coef_names) == 1 + 2 + 1 + 2 + 1 + 2 + 2
    assert d.coef_names[-1] == "leader[professional]:era[post]:size[small]"
    assert d.term_of_coef[-1] == "leader:era:size"
    assert d.terms == ["leader", "era", "size", "leader:era", "leader:size", "era:size",
                       "leader:era:size"]  # fmt: skip
    expected = (
        (c["leader"] == "professional") & (c["era"] == "post") & (c["size"] == "small")
    ).to_numpy(float)
    np.testing.assert_array_equal(d.X[:, -1], expected)


def test_formula_with_no_fixed_effects():
    d = build_design(cells(), "1 + (1 | county)")
    assert d.X.shape == (12, 0) and d.coef_names == [] and d.variables == []
    assert d.coords() == {"coef": [], "county": ["C", "B", "A"]}
    assert d.transform(pd.DataFrame(index=range(3))).shape == (3, 0)


@pytest.mark.parametrize(
    "formula",
    ["leader", "leader + era", "leader * era", "leader:era", "era:leader + setting",
     "leader * era + setting", "leader * setting + era * member", "era:setting + leader",
     "leader * era * setting * member", "member + leader:era + era:setting"],
)  # fmt: skip
def test_columns_span_the_same_space_as_formulae(formula):
    """With the baseline (here an intercept) added back, our columns span exactly the space of
    formulae's own design matrix, which has its own level order (alphabetical) and names."""
    c = crossed()
    d = build_design(c, formula, reference={"leader": "professional"})
    ours = np.column_stack([np.ones(len(c)), d.X])
    theirs = np.asarray(design_matrices(formula, c).common.design_matrix)
    rank = np.linalg.matrix_rank
    assert rank(ours) == ours.shape[1] == rank(theirs) == rank(np.hstack([ours, theirs]))


def test_matches_formulae_exactly_when_levels_agree():
    c = crossed()
    c["era"] = c["era"].cat.reorder_categories(ERA, ordered=True)
    d = build_design(c, "leader * era + setting")
    theirs = design_matrices("leader * era + setting", c).common
    # formulae's coding with the same level order, minus its Intercept column (R term order)
    order = ["leader", "era", "setting", "leader:era"]
    theirs_x = np.hstack([np.asarray(theirs[t]) for t in order])
    np.testing.assert_array_equal(d.X, theirs_x)


HIERARCHICAL = ["leader + era", "leader * era", "leader * era + setting", "era * setting + member",
                "leader * era * setting", "leader * setting + era * member"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    keep=st.lists(st.booleans(), min_size=48, max_size=48),
    formula=st.sampled_from(HIERARCHICAL),
    leader_ref=st.sampled_from(LEADER),
)
def test_random_subsets_of_cells_either_span_formulae_space_or_are_reported_aliased(
    keep, formula, leader_ref
):
    """On any subset of the 48 crossed cells: when formulae's own matrix has full column rank,
    ours spans the same space (and transform reproduces X); when it does not, we raise."""
    c = crossed()[np.array(keep)].reset_index(drop=True)
    used = {v for part in formula.split("+") for v in part.replace("*", " ").split()}
    if len(c) == 0 or any(c[v].nunique() < 2 for v in used):
        return  # single-level covariates are rejected; tested elsewhere
    ref = {"leader": leader_ref} if "leader" in used else {}
    theirs = np.asarray(design_matrices(formula, c).common.design_matrix)
    base = pd.get_dummies(c["interval"]).to_numpy(float)
    theirs_b = np.hstack([base, theirs[:, 1:]])
    rank = np.linalg.matrix_rank
    if rank(theirs_b) < theirs_b.shape[1]:
        with pytest.raises(SpecError, match="aliased"):
            build_design(c, formula, reference=ref)
        return
    d = build_design(c, formula, reference=ref)
    ours_b = np.hstack([base, d.X])
    assert rank(ours_b) == ours_b.shape[1] == rank(np.hstack([ours_b, theirs_b]))
    np.testing.assert_array_equal(d.transform(c), d.X)


# ---------------------------------------------------------------------------------------------
# transform, random intercepts, coords


def test_transform_reproduces_rows_of_x():
    c = crossed()
    d = build_design(c, "leader * era + setting")
    np.testing.assert_array_equal(d.transform(c), d.X)
    # plain strings for Categorical columns, shuffled and a subset of rows
    idx = [5, 0, 3]
    new = pd.DataFrame({v: c[v].astype(str).to_numpy()[idx] for v in ["era", "leader", "setting"]})
    np.testing.assert_array_equal(d.transform(new), d.X[idx])


def test_transform_profile_not_seen_as_a_cell():
    c = cells().query("~(leader == 'professional' and setting == 'urban')")
    d = build_design(c, "leader + setting")
    x = d.transform(pd.DataFrame({"leader": ["professional"], "setting": ["urban"]}))
    np.testing.assert_array_equal(x, [[1.0, 1.0]])


def test_transform_errors_name_columns_and_levels():
    d = build_design(cells(), "leader + era")
    new = pd.DataFrame({"leader": ["consumer", "boss", None]})
    with pytest.raises(DataError) as exc:
        d.transform(new)
    msg = str(exc.value)
    assert "3 problems" in msg
    assert "lack the covariate column(s) era" in msg
    assert "column 'leader': unknown level(s) 'boss'" in msg and "consumer, professional" in msg
    assert "column 'leader': missing values (1 unit: 2)" in msg


def test_random_intercept_codes_levels_and_coords():
    c = cells()
    d = build_design(c, "leader + (1 | county) + (1 | setting)")
    county, setting = d.random
    assert county.name == "county" and county.levels == ["C", "B", "A"]
    np.testing.assert_array_equal(county.codes, [1, 2, 2, 1, 0, 0] * 2)
    assert county.codes.dtype == np.int64
    assert setting.levels == ["rural", "urban"]
    np.testing.assert_array_equal(np.asarray(setting.levels)[setting.codes], c["setting"])
    assert d.coords() == {
        "coef": ["leader[professional]"],
        "county": ["C", "B", "A"],
        "setting": ["rural", "urban"],
    }


def test_numeric_grouping_factor_is_allowed():
    d = build_design(cells(county=[10, 2, 2, 10, 3, 3] * 2), "leader + (1 | county)")
    assert d.random[0].levels == ["2", "3", "10"]
    np.testing.assert_array_equal(d.random[0].codes, [2, 0, 0, 2, 1, 1] * 2)


def test_design_repr_is_short():
    assert len(repr(build_design(cells(), "leader + (1 | county)"))) < 600


def test_backquoted_names():
    c = cells().rename(columns={"leader": "leader type"})
    d = build_design(c, "`leader type` * era")
    assert d.coef_names[0] == "leader type[professional]"
    assert d.term_of_coef[-1] == "leader type:era"


# ---------------------------------------------------------------------------------------------
# parse_formula


def test_parse_formula_terms_variables_and_random():
    t = parse_formula("~ leader * era + setting + (1 | county)")
    assert t.fixed == ["leader", "era", "setting", "leader:era"]  # main effects first, as R
    assert t.variables == ["leader", "era", "setting"]
    assert t.random == ["county"]
    assert t.term_variables[-1] == ("leader", "era")


def test_parse_formula_orders_and_deduplicates_terms():
    assert parse_formula("a:b + a + b:a").fixed == ["a", "a:b"]
    assert parse_formula("1 + a + (1 | g + h) + (1 | g)").random == ["g", "h"]
    assert parse_formula("1").fixed == [] and parse_formula("(1|g)").random == ["g"]


def test_parse_formula_checks_names_against_columns():
    with pytest.raises(SpecError) as exc:
        parse_formula("leader + eraa + (1 | cnty)", columns=["leader", "era", "county"])
    msg = str(exc.value)
    assert "unknown column name(s) 'eraa', 'cnty'" in msg
    assert "available columns: leader, era, county" in msg


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("a + (b | g)", "the random slope of 'b' by g has no fixed effect"),
        ("a + (0 + b | g)", "'0' (intercept removal)"),
        ("a / b", "nesting operator '/'"),
        ("0 + a", "'0' (intercept removal)"),
        ("a - 1", "'-1' (intercept removal)"),
        ("a + b - b", "'-b' (term removal)"),
        ("np.log(x) + a", "the term 'np.log(x)' is not supported"),
        ("log(x + 1)", "the term 'log(x + 1)' is not supported"),
        ("poly(x, 2)", "the term 'poly(x, 2)' is not supported"),
        ("C(a) + log(a)", "'a' is used both as categories (C(a)) and in a numeric transform"),
        ("{a + 1}", "the term 'I(a + 1)' is not supported"),
        ("(a + b)**2", "power operator '**'"),
        ("y ~ a", "a response ('y ~')"),
        ("a + 2", "the number 2"),
        ("a[x]", "level selection 'x[level]'"),
        ("a %in% b", "'%' operator"),
        ("a + (1 | log(g))", "the term 'log(g)' is not supported"),
        ("a + g + (1 | g)", "'g' is both a fixed effect and a random-effect grouping factor"),
        ("a + (1 | coef)", "'coef' cannot be a grouping factor"),
        ("", "the formula is empty"),
        ("  ~ ", "the formula is empty"),
        ("`a b + c", "unclosed backquote"),
        ("a $ b", "cannot read the formula"),
        ("a +", "cannot parse the formula"),
        # formulae reads these as 'a' alone and drops the rest without a word
        ("a b", "'a b' has no operator between its terms"),
        ("a * b + c (1 | g) + d", "cannot parse the formula"),
        ("(1 | g) a", "') a' has no operator between its terms"),
        ("a 1", "'a 1' has no operator between its terms"),
        ("`a b` c", "'`a b` c' has no operator between its terms"),
    ],
)
def test_unsupported_formulas_name_the_term(formula, expected):
    with pytest.raises(SpecError) as exc:
        parse_formula(formula)
    msg = str(exc.value)
    assert expected in msg
    assert "Fix:" in msg


def test_every_formula_problem_is_reported_at_once():
    with pytest.raises(SpecError) as exc:
        parse_formula("y ~ a - 1 + np.log(x) + (b | g) + (1 | g:h)", columns=["a", "b", "g"])
    msgs = [str(p) for p in exc.value.problems]
    assert len(msgs) == 5, msgs
    for part in ["response", "'-1'", "np.log(x)", "random slope", "'y', 'x', 'h'"]:
        assert any(part in m for m in msgs), part


# ---------------------------------------------------------------------------------------------
# data-dependent errors


def test_single_level_covariate_and_grouping_factor():
    e = spec_error("leader + country + (1 | state)", cells(country="US", state="MI"))
    msg = str(e)
    assert len(e.problems) == 2
    assert "covariate 'country' has one level ('US')" in msg
    assert "grouping factor 'state' has one level ('MI')" in msg
    assert "remove it from the formula" in msg


def test_unknown_reference_level_names_variable_level_and_choices():
    e = spec_error("leader + era", reference={"leader": "boss", "region": "north"})
    msg = str(e)
    assert "reference level 'boss' of 'leader' does not occur in the cells" in msg
    assert "consumer, professional" in msg
    assert "a reference is given for 'region', not a fixed-effect covariate" in msg


def test_unknown_names_in_build_design():
    msg = str(spec_error("leader + region"))
    assert "unknown column name(s) 'region'" in msg and "leader, era, setting" in msg


def test_empty_interaction_cell_is_reported_as_aliased():
    c = cells().query("~(leader == 'professional' and era == 'post')")
    msg = str(spec_error("leader * era", c))
    assert "leader[professional]:era[post]" in msg
    assert "no cells have leader[professional]:era[post]" in msg
    assert "remove the interaction 'leader:era'" in msg
    assert "leader[professional]:era[mid]" not in msg


def test_aliased_covariates_and_baseline_are_reported():
    c = cells(setting2=cells()["setting"])
    msg = str(spec_error("setting + setting2", c))
    assert "setting2[urban]" in msg and "aliased" in msg and "setting[urban]," not in msg
    # a covariate constant within each age interval duplicates the baseline
    msg = str(spec_error("leader + phase", cells(phase=["early"] * 6 + ["late"] * 6)))
    assert "phase[late]" in msg and "'interval' baseline" in msg


def test_missing_values_are_a_data_error():
    c = cells(setting=["urban", None, "rural", None] * 3)
    with pytest.raises(DataError) as exc:
        build_design(c, "leader + setting")
    assert "column 'setting': missing values (6 units: 1, 3, 5, 7, 9 and 1 more)" in str(exc.value)
    assert "Fix: drop or recode these cells" in str(exc.value)


def test_empty_cells():
    with pytest.raises((SpecError, DataError)) as exc:
        build_design(cells().iloc[:0], "leader")
    assert "no rows" in str(exc.value)


# ---------------------------------------------------------------------------------------------
# performance


def test_fifty_thousand_cells_build_in_well_under_a_second():
    rng = np.random.default_rng(7)
    n = 50_000

    def cat(levels):
        return pd.Categorical(rng.choice(levels, n), categories=levels)

    big = pd.DataFrame(
        {
            "interval": cat([f"i{k}" for k in range(12)]),
            "leader": cat(LEADER),
            "era": cat(ERA),
            "setting": rng.choice(["urban", "rural", "suburban"], n),
            "county": cat([f"c{k}" for k in range(300)]),
        }
    )
    build_design(big.iloc[:100], "leader * era + setting + (1 | county)")  # warm imports
    start = time.perf_counter()
    d = build_design(big, "leader * era + setting + (1 | county)")
    elapsed = time.perf_counter() - start
    assert isinstance(d, Design) and d.X.shape == (n, 7)
    assert elapsed < 0.5, f"{elapsed:.2f} s"


@pytest.mark.parametrize("formula", ["a * + b", "+ a * b", "a * b + + (1 | g)"])
def test_unary_plus_is_read_as_r_reads_it(formula):
    """R's formulas accept a unary '+' (terms(~ a * + b) has a, b and a:b); so do we."""
    terms = parse_formula(formula)
    assert terms.fixed == ["a", "b", "a:b"]
