"""Numeric covariates in the PEM simulator: distributions, linear and smooth effects, validation.

Tolerances come from Monte Carlo error and are 4 standard errors (two-sided
:math:`P(|z| > 4) \\approx 6 \\times 10^{-5}` per comparison; see tests/simulate/test_simulate.py).
The seeds are fixed, so the tests are deterministic; the tolerance says they would pass for
almost any other seed, i.e. they test the simulator rather than a lucky draw.

- Sample mean of :math:`n` iid draws: SE :math:`\\sigma/\\sqrt n`.
- Sample SD: by the delta method, :math:`\\mathrm{Var}(s^2) \\approx (\\mu_4 - \\sigma^4)/n`
  and :math:`s = \\sqrt{s^2}`, so SE :math:`\\approx \\sqrt{(\\mu_4 - \\sigma^4)/n}\\,/\\,(2\\sigma)`
  (:math:`\\sigma/\\sqrt{2n}` for a normal, whose :math:`\\mu_4 = 3\\sigma^4`). We use the
  reference distribution's own :math:`\\mu_4` (scipy), so truncation and the uniform are covered.
- Poisson-GLM estimates: the SE is the inverse Fisher information at the estimate, which for the
  sizes here is an accurate large-sample SE of the MLE.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayessa.data.cells import aggregate
from bayessa.data.lexis import split
from bayessa.errors import SpecError
from bayessa.frequentist import poisson_pem
from bayessa.simulate import Normal, Uniform
from bayessa.simulate.pem import Given, simulate_pem

Z = 4.0
CUTS = [0.0, 1.0, 3.0, np.inf]
LOG_BASELINE = np.log([0.02, 0.015, 0.01])  # at age 0 and the reference levels


def spec(**kw):
    """Numeric (Normal, Uniform, callable) and categorical covariates with every kind of effect."""
    out = dict(
        cuts=CUTS,
        log_baseline=LOG_BASELINE,
        covariates={
            "sex": {"f": 0.5, "m": 0.5},
            "age": Normal(50, 12, lower=18, upper=90, decimals=0),
            "income": Uniform(0.0, 2.0),
            "dose": lambda rng, n: rng.gamma(2.0, 1.0, n),
        },
        effects={"age": 0.03, "sex[m]": 0.3, "age:sex[m]": -0.01, "income:dose": 0.05},
        smooth={"income": lambda x: 0.5 * np.sin(3 * x)},
        censoring_rate=0.1,
    )
    return out | kw


def cells_of(sim, cuts=CUTS, **split_kw) -> pd.DataFrame:
    return aggregate(split(sim.read(), cuts, **split_kw)).frame


def moments_agree(x: np.ndarray, dist) -> None:
    """Sample mean and SD of ``x`` within 4 SE of ``dist``'s (SEs as in the module docstring)."""
    n = x.size
    mean, var = dist.stats(moments="mv")
    sd = np.sqrt(var)
    mu4 = dist.expect(lambda v: (v - mean) ** 4)
    assert abs(x.mean() - mean) < Z * sd / np.sqrt(n), (x.mean(), mean)
    se_sd = np.sqrt((mu4 - var**2) / n) / (2 * sd)
    assert abs(x.std(ddof=1) - sd) < Z * se_sd, (x.std(ddof=1), sd)


# ------------------------------------------------------------------------------------------
# draws


def test_same_seed_same_data_and_truth_different_seed_different_data():
    a = simulate_pem(3000, **spec(), seed=5)
    b = simulate_pem(3000, **spec(), seed=np.random.default_rng(5))
    c = simulate_pem(3000, **spec(), seed=6)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.truth == b.truth
    assert not np.array_equal(a.frame["age"].to_numpy(), c.frame["age"].to_numpy())


def test_numeric_covariate_appended_last_leaves_earlier_draws_unchanged():
    # The documented draw order: covariates one after another in mapping order, so a numeric
    # covariate added last changes nothing drawn before it (the categorical ones here).
    base = dict(cuts=[0, np.inf], log_baseline=[np.log(0.2)], seed=3)
    cats = {"a": {"x": 0.3, "y": 0.7}, "b": {"p": 0.5, "q": 0.5}}
    one = simulate_pem(2000, covariates=cats, **base).frame
    two = simulate_pem(2000, covariates=cats | {"age": Uniform(20, 80)}, **base).frame
    pd.testing.assert_frame_equal(one[["a", "b"]], two[["a", "b"]])


@pytest.mark.parametrize(
    ("dist", "reference"),
    [
        (Normal(50, 10), stats.norm(50, 10)),
        (Normal(0, 1, lower=-1, upper=2), stats.truncnorm(-1, 2)),
        # an interval far above the mean: drawn in the mirrored lower tail
        (Normal(10, 2, lower=16), stats.truncnorm(3, np.inf, loc=10, scale=2)),
        (Normal(10, 2, upper=5), stats.truncnorm(-np.inf, -2.5, loc=10, scale=2)),
        # 8 SD out, Phi(8) rounds to 1: only the mirrored draw is accurate there
        (Normal(0, 1, lower=8), stats.truncnorm(8, np.inf)),
        (Uniform(-3, 9), stats.uniform(-3, 12)),
    ],
    ids=["normal", "truncated", "upper-tail", "lower-tail", "far-tail", "uniform"],
)
def test_drawn_distribution_mean_and_sd_within_monte_carlo_error(dist, reference):
    # No events are needed: a zero hazard (exp(-50)) keeps every unit, censored at the last cut.
    sim = simulate_pem(20_000, cuts=[0, 1], log_baseline=[-50.0], covariates={"x": dist}, seed=9)
    x = sim.frame["x"].to_numpy()
    assert x.size == 20_000 and sim.frame["x"].dtype == np.float64
    lo, hi = reference.support()
    assert (x >= lo).all() and (x <= hi).all()
    moments_agree(x, reference)
    assert sim.truth.numeric["x"] == dist.to_dict()


def test_decimals_round_and_cells_collapse():
    sim = simulate_pem(
        20_000,
        cuts=CUTS,
        log_baseline=LOG_BASELINE,
        covariates={
            "age": Normal(50, 10, lower=20, upper=80, decimals=0),
            "bmi": Uniform(18, 30, decimals=1),
        },
        censoring_rate=0.2,
        seed=10,
    )
    age, bmi = sim.frame["age"].to_numpy(), sim.frame["bmi"].to_numpy()
    assert np.array_equal(age, np.round(age)) and set(np.unique(age)) <= set(range(20, 81))
    assert np.allclose(bmi * 10, np.round(bmi * 10)) and np.unique(bmi).size <= 121
    cells = cells_of(sim)
    # a cell is interval x distinct (age, bmi) pair, far fewer than the 20,000 units' pieces
    pairs = sim.frame.groupby(["age", "bmi"]).ngroups
    assert len(cells) <= 3 * pairs < 20_000
    assert cells["events"].sum() == sim.frame["event"].sum()


# ------------------------------------------------------------------------------------------
# effects recovered by the Poisson GLM on cells


def test_linear_effect_and_numeric_by_categorical_slope_recovered():
    # log h = alpha_k + 0.03 age + 0.4 [sex=m] - 0.015 age [sex=m]; the GLM of the same form on
    # the aggregated cells is the MLE, its SE the inverse Fisher information.
    truth = {"age": 0.03, "sex[m]": 0.4, "age:sex[m]": -0.015}
    sim = simulate_pem(
        30_000,
        cuts=CUTS,
        log_baseline=np.log([0.002, 0.0015, 0.001]),
        covariates={"sex": {"f": 0.5, "m": 0.5}, "age": Uniform(20, 80, decimals=0)},
        effects=truth,
        censoring_rate=0.2,
        seed=21,
    )
    fit = poisson_pem(cells_of(sim), covariates=["age", "sex"], interactions=[("age", "sex")])
    assert fit.glm.converged
    for name, value in truth.items():
        row = fit.table.loc[name]
        assert abs(row["log_hr"] - value) < Z * row["se"], (name, row["log_hr"], row["se"])
    # the baseline is the hazard at age 0 (f, numeric covariates at 0): the GLM's intercepts too
    base = fit.baseline["log_rate"].to_numpy()
    assert np.all(np.abs(base - np.log([0.002, 0.0015, 0.001])) < Z * fit.baseline["se"].to_numpy())


def test_time_varying_numeric_slope_by_current_period():
    # "age:era[late]" adds a slope only while the unit is in the late calendar period.
    sim = simulate_pem(
        30_000,
        cuts=[0, np.inf],
        log_baseline=[np.log(0.01)],
        covariates={"age": Uniform(20, 80, decimals=0)},
        effects={"age": 0.02, "age:era[late]": 0.02},
        periods=[5.0],
        period_labels=("early", "late"),
        period_name="era",
        calendar=(0, 10),
        study_end=15,
        seed=22,
    )
    cells = cells_of(sim, [0, np.inf], periods=[5.0], period_labels=("early", "late"))
    fit = poisson_pem(cells, covariates=["age", "period"], interactions=[("age", "period")])
    for name, value in {"age": 0.02, "age:period[late]": 0.02, "period[late]": 0.0}.items():
        row = fit.table.loc[name]
        assert abs(row["log_hr"] - value) < Z * row["se"], (name, row["log_hr"], row["se"])


def test_step_smooth_effect_recovered_with_an_indicator_and_added_to_a_slope():
    # f(age) = 0.7 [age > 50] on top of a linear 0.01 per year: a GLM with age and the indicator
    # recovers both; the truth records f on 101 points over the observed ages.
    def step(a):
        return 0.7 * (a > 50)

    sim = simulate_pem(
        30_000,
        cuts=CUTS,
        log_baseline=np.log([0.02, 0.015, 0.01]),
        covariates={"age": Uniform(20, 80, decimals=0)},
        effects={"age": 0.01},
        smooth={"age": step},
        censoring_rate=0.2,
        seed=23,
    )
    cells = cells_of(sim)
    cells["over50"] = (cells["age"] > 50).astype(np.float64)
    fit = poisson_pem(cells, covariates=["age", "over50"])
    for name, value in {"age": 0.01, "over50": 0.7}.items():
        row = fit.table.loc[name]
        assert abs(row["log_hr"] - value) < Z * row["se"], (name, row["log_hr"], row["se"])
    table = sim.truth.smooth["age"]
    x = np.asarray(table["x"])
    assert x.size == 101 and x[0] == sim.frame["age"].min() and x[-1] == sim.frame["age"].max()
    assert np.array_equal(table["f"], step(x).astype(float))


def test_smooth_function_is_used_as_given_not_centred():
    # f = 1.0 everywhere is a constant: it must shift the hazard by e (not be centred away).
    # One interval, no censoring: D/T estimates exp(alpha + 1) with SE of the log 1/sqrt(D).
    sim = simulate_pem(
        20_000,
        cuts=[0, np.inf],
        log_baseline=[np.log(0.1)],
        covariates={"x": Uniform(0, 1)},
        smooth={"x": lambda x: np.ones_like(x)},
        seed=24,
    )
    d, t = sim.frame["event"].sum(), sim.frame["time"].sum()
    assert abs(np.log(d / t) - (np.log(0.1) + 1.0)) < Z / np.sqrt(d)


# ------------------------------------------------------------------------------------------
# the frame, the columns and the truth record


def test_frame_columns_and_truth_record():
    sim = simulate_pem(2000, **spec(), seed=30)
    f = sim.frame
    assert [f[c].dtype for c in ("age", "income", "dose")] == [np.float64] * 3
    assert isinstance(f["sex"].dtype, pd.CategoricalDtype)
    assert sim.columns.covariates == ("sex", "age", "income", "dose")
    data = sim.read()
    assert pd.api.types.is_float_dtype(data.frame["age"]) and data.n_units == len(f)
    t = sim.truth
    assert t.effects["age"] == 0.03 and t.effects["income:dose"] == 0.05
    assert t.levels == {"sex": ("f", "m")}  # numeric covariates have no levels
    assert t.numeric["age"] == {
        "distribution": "normal", "mean": 50.0, "sd": 12.0, "lower": 18.0, "upper": 90.0,
        "decimals": 0,
    }  # fmt: skip
    assert t.numeric["income"] == {
        "distribution": "uniform",
        "low": 0.0,
        "high": 2.0,
        "decimals": None,
    }
    assert t.numeric["dose"]["distribution"] == "callable"
    assert t.numeric["dose"]["function"].endswith("<lambda>")
    grid = np.asarray(t.smooth["income"]["x"])
    assert grid.size == 101 and np.allclose(np.diff(grid), np.diff(grid)[0])
    assert np.allclose(t.smooth["income"]["f"], 0.5 * np.sin(3 * grid))
    d = json.loads(json.dumps(t.to_dict(), allow_nan=False))
    assert d["numeric"]["age"]["mean"] == 50.0 and len(d["smooth"]["income"]["f"]) == 101


def test_truth_of_a_categorical_only_simulation_has_no_numeric_keys():
    sim = simulate_pem(
        100, cuts=[0, np.inf], log_baseline=[0.0], covariates={"a": {"x": 0.5, "y": 0.5}}, seed=1
    )
    d = sim.truth.to_dict()
    assert "numeric" not in d and "smooth" not in d
    assert sim.truth.numeric == {} and sim.truth.smooth == {}


# ------------------------------------------------------------------------------------------
# validation


def test_spec_problems_with_numeric_covariates_are_collected_in_one_error():
    with pytest.raises(SpecError) as err:
        simulate_pem(
            10,
            cuts=[0, 1],
            log_baseline=[0.0],
            covariates={
                "sex": {"f": 0.5, "m": 0.5},
                "age": Normal(50, 0),
                "w": Uniform(3, 3),
                "h": Normal(0, 1, lower=2, upper=1),
                "far": Normal(0, 1, lower=60),
                "g": Given("age", {50: {"a": 1.0}}),
                "bad": [1, 2, 3],
            },
            effects={"age[3]": 0.1, "sex": 0.2},
            smooth={"height": np.sin, "sex": np.sin, "w": 3.0},
            seed=1,
        )
    msg = str(err.value)
    for part in (
        "'age' is numeric and takes no level",
        "'sex' is categorical",
        "smooth 'height': no covariate 'height'",
        "smooth 'sex': 'sex' is categorical",
        "smooth 'w': give a function",
        "covariate 'age': Normal needs a finite mean and sd > 0",
        "covariate 'w': Uniform needs finite low < high",
        "covariate 'h': Normal needs lower < upper",
        "covariate 'far': Normal(0, 1) has no probability",
        "covariate 'g': Given cannot condition on numeric covariate(s) ['age']",
        "covariate 'bad': give {level: probability}",
    ):
        assert part in msg, part


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"covariates": {"x": lambda rng, n: np.full(n, np.nan)}}, "10 of 10 draws are not finite"),
        ({"covariates": {"x": lambda rng, n: rng.random(n + 1)}}, "must return 10 values"),
        (
            {"covariates": {"x": Uniform(0, 1)}, "smooth": {"x": lambda x: np.log(x - 2)}},
            "smooth 'x': f(x) is not finite",
        ),
        (
            {"covariates": {"x": Uniform(0, 1)}, "smooth": {"x": lambda x: 1.0}},
            "smooth 'x': f(x) must return one value per x",
        ),
    ],
    ids=["nan-draws", "wrong-length", "nan-smooth", "scalar-smooth"],
)
def test_bad_draws_and_smooth_values_are_refused(kw, message):
    with (
        np.errstate(invalid="ignore"),
        pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")),
    ):
        simulate_pem(10, cuts=[0, 1], log_baseline=[0.0], seed=1, **kw)
