"""Tests of the piecewise-exponential simulator and the bundled synthetic SA-groups data.

Recovery tolerances come from Monte Carlo error. With :math:`D` events in exposure :math:`T` the
occurrence/exposure rate :math:`\\hat\\lambda = D/T` is the Poisson MLE, with standard error
:math:`\\sqrt{D}/T`, i.e. SE of :math:`\\log\\hat\\lambda` is :math:`1/\\sqrt{D}`. A proportion
:math:`\\hat p` from :math:`n` Bernoulli draws has SE :math:`\\sqrt{p(1-p)/n}`. We allow 4 SE
(two-sided :math:`P(|z| > 4) \\approx 6 \\times 10^{-5}` per comparison, so even a test making ~10
comparisons would fail by chance well under once in a thousand seeds). The seeds are fixed, so the
tests are deterministic; the tolerance says they would also pass for almost any other seed, i.e.
they test the simulator rather than a lucky draw.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.cli.simulate import main
from bayessa.data import Columns, read_data
from bayessa.data.cells import aggregate
from bayessa.data.lexis import split
from bayessa.errors import SpecError
from bayessa.simulate.pem import AtOrigin, Given, simulate_pem
from bayessa.simulate.sa_groups import (
    COLUMNS,
    COUNTIES,
    ERA_CUTS,
    STUDY_END,
    STUDY_START,
    _days,
    _decimal_year,
    make_sa_groups,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "sa_groups.csv"
TRUTH = ROOT / "data" / "sa_groups_truth.json"
SA_COLUMNS = Columns(
    id="group_id",
    start="founded",
    event_date="closed",
    censor_date="last_contact",
    covariates=("leader", "setting", "era"),
    cluster="county",
)
Z = 4.0  # tolerance in standard errors (see the module docstring)
CUTS = [0, 0.5, 1, 2, 3, 5, 8, 14]
LOG_BASELINE = np.log([0.30, 0.22, 0.16, 0.12, 0.09, 0.07, 0.05])


def full_spec(**kw):
    """Every feature at once: the reproducibility tests use it."""
    spec = dict(
        cuts=CUTS,
        log_baseline=LOG_BASELINE,
        covariates={
            "era": AtOrigin(cuts=(3.0, 6.0), labels=("before", "early", "formal")),
            "leader": Given(
                "era",
                {e: {"consumer": 0.7, "professional": 0.3} for e in ("before", "early", "formal")},
            ),
        },
        effects={"leader[professional]": 0.7, "leader[professional]:era[formal]": 0.1},
        periods=[5.0],
        period_effects={"p1": -0.3},
        calendar=(0.0, 10.0),
        clusters=12,
        cluster_sd=0.3,
        censoring_rate=0.05,
        study_end=12.0,
        entry_delay=(0.0, 0.5),
    )
    return spec | kw


def rates(cells: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Events, exposure, log rate and its SE (1/sqrt(D)) per group of cells."""
    g = cells.groupby(by, observed=True)[["events", "exposure"]].sum()
    g["log_rate"] = np.log(g["events"] / g["exposure"])
    g["se"] = 1.0 / np.sqrt(g["events"])
    return g


# ------------------------------------------------------------------------------------------
# the simulator


def test_same_seed_gives_identical_frame_and_truth():
    a = simulate_pem(3000, **full_spec(), seed=7)
    b = simulate_pem(3000, **full_spec(), seed=np.random.default_rng(7))
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.truth == b.truth


def test_different_seeds_differ():
    a = simulate_pem(3000, **full_spec(), seed=7)
    b = simulate_pem(3000, **full_spec(), seed=8)
    assert not np.array_equal(a.frame["time"].to_numpy()[:100], b.frame["time"].to_numpy()[:100])
    assert a.truth.cluster_effects != b.truth.cluster_effects


def test_frame_is_a_valid_read_data_input():
    sim = simulate_pem(3000, **full_spec(), seed=1)
    data = sim.read()
    assert data.n_units == len(sim.frame) == sim.truth.n_simulated - sim.truth.n_discarded
    assert data.n_events == int(sim.frame["event"].sum())
    assert data.audit.rows_excluded == 0
    assert list(data.frame["leader"].cat.categories) == ["consumer", "professional"]
    f = sim.frame
    # follow-up ends by the study end (calendar) and the last cut point (age)
    assert (f["time"] <= np.minimum(12.0 - f["origin"], CUTS[-1]) + 1e-12).all()
    assert (f["time"] > f["entry"]).all()


def test_baseline_rates_recovered_per_interval():
    # No covariates, staggered entry and administrative censoring: each interval's
    # occurrence/exposure rate estimates exp(log_baseline[k]) with SE sqrt(D)/T.
    sim = simulate_pem(
        150_000, cuts=CUTS, log_baseline=LOG_BASELINE, calendar=(0, 10), study_end=12, seed=11
    )
    cells = aggregate(split(sim.read(), CUTS)).frame
    r = rates(cells, ["interval"])
    assert len(r) == len(LOG_BASELINE)
    z = (r["log_rate"].to_numpy() - LOG_BASELINE) / r["se"].to_numpy()
    assert np.all(np.abs(z) < Z), z


def test_log_hazard_ratios_and_interaction_recovered():
    # Constant baseline, so the crude rate of each covariate pattern is the Poisson MLE of
    # alpha + the effects that apply to it; SE of a log rate is 1/sqrt(D).
    alpha, eff = np.log(0.2), {"a[y]": 0.7, "b[q]": -0.4, "a[y]:b[q]": 0.3}
    sim = simulate_pem(
        60_000,
        cuts=[0, np.inf],
        log_baseline=[alpha],
        covariates={"a": {"x": 0.6, "y": 0.4}, "b": {"p": 0.5, "q": 0.5}},
        effects=eff,
        censoring_rate=0.1,
        seed=12,
    )
    r = rates(aggregate(split(sim.read(), [0, np.inf])).frame, ["a", "b"])
    truth = {
        ("x", "p"): alpha,
        ("y", "p"): alpha + 0.7,
        ("x", "q"): alpha - 0.4,
        ("y", "q"): alpha + 0.7 - 0.4 + 0.3,
    }
    for key, value in truth.items():
        assert abs(r.loc[key, "log_rate"] - value) < Z * r.loc[key, "se"], key
    # the log hazard ratio itself (SE sqrt(1/D1 + 1/D0))
    d = r.loc[("y", "p")], r.loc[("x", "p")]
    se = np.hypot(d[0]["se"], d[1]["se"])
    assert abs(d[0]["log_rate"] - d[1]["log_rate"] - 0.7) < Z * se


def test_time_varying_period_effect_recovered():
    # The hazard depends on the *current* calendar period: split at the same calendar cut and
    # compare rates per period (and a covariate x period interaction) with the truth.
    alpha = np.log(0.15)
    sim = simulate_pem(
        60_000,
        cuts=[0, np.inf],
        log_baseline=[alpha],
        covariates={"x": {"a": 0.5, "b": 0.5}},
        effects={"x[b]:era[late]": 0.3},
        periods=[5.0],
        period_labels=("early", "late"),
        period_name="era",
        period_effects={"late": 0.5},
        calendar=(0, 10),
        study_end=15,
        seed=13,
    )
    pieces = split(sim.read(), [0, np.inf], periods=[5.0], period_labels=("early", "late"))
    r = rates(aggregate(pieces).frame, ["period", "x"])
    truth = {
        ("early", "a"): alpha,
        ("early", "b"): alpha,
        ("late", "a"): alpha + 0.5,
        ("late", "b"): alpha + 0.8,
    }
    for key, value in truth.items():
        assert abs(r.loc[key, "log_rate"] - value) < Z * r.loc[key, "se"], key
    # units founded early that survive cross into the late period: the effect is time-varying
    late_founded = sim.frame["origin"] >= 5.0
    assert (~late_founded & (sim.frame["origin"] + sim.frame["time"] > 5.0)).sum() > 1000


def test_conditional_covariates_follow_their_tables():
    table = {"before": {"c": 0.8, "m": 0.2}, "after": {"c": 0.3, "m": 0.7}}
    sim = simulate_pem(
        40_000,
        cuts=[0, np.inf],
        log_baseline=[0.0],
        covariates={
            "era": AtOrigin(cuts=(4.0,), labels=("before", "after")),
            "s": Given("era", table),
        },
        calendar=(0, 10),
        seed=14,
    )
    f = sim.frame
    assert ((f["origin"] >= 4.0) == (f["era"] == "after")).all()
    for era, probs in table.items():
        s = f.loc[f["era"] == era, "s"]
        p = probs["m"]
        assert abs((s == "m").mean() - p) < Z * np.sqrt(p * (1 - p) / len(s))


def test_cluster_effects_recovered_and_sd_roughly_right():
    # Without censoring every unit has an event, so per cluster log(D/T) - alpha estimates u_c
    # with SE 1/sqrt(D_c) (about 1/sqrt(1000) here); 4.5 SE allows for 60 clusters at once.
    # The realised SD of 60 normal draws has relative SE about 1/sqrt(2 * 59) ~ 0.09: 4 SE.
    alpha, sd = np.log(0.3), 0.5
    sim = simulate_pem(
        60_000, cuts=[0, np.inf], log_baseline=[alpha], clusters=60, cluster_sd=sd, seed=15
    )
    r = rates(aggregate(split(sim.read(), [0, np.inf])).frame, ["cluster"])
    u = pd.Series(sim.truth.cluster_effects)
    z = (r["log_rate"] - alpha - u[r.index]) / r["se"]
    assert np.all(np.abs(z) < 4.5)
    assert abs(u.std(ddof=1) / sd - 1) < Z * np.sqrt(1 / (2 * 59))
    assert len(u) == 60 and set(sim.frame["cluster"].cat.categories) == set(u.index)


def test_weighted_clusters_are_assigned_by_weight():
    sim = simulate_pem(
        20_000, cuts=[0, np.inf], log_baseline=[0.0], clusters={"A": 3, "B": 1}, seed=16
    )
    p = (sim.frame["cluster"] == "A").mean()
    assert abs(p - 0.75) < Z * np.sqrt(0.75 * 0.25 / 20_000)
    assert sim.truth.cluster_effects == {"A": 0.0, "B": 0.0}


def test_random_censoring_fraction_matches_closed_form():
    # Constant hazard lam and censoring rate c: P(censored before the event) = c / (c + lam).
    lam, c, n = 0.5, 0.25, 50_000
    sim = simulate_pem(n, cuts=[0, np.inf], log_baseline=[np.log(lam)], censoring_rate=c, seed=17)
    p = c / (c + lam)
    assert abs((1 - sim.frame["event"].mean()) - p) < Z * np.sqrt(p * (1 - p) / n)


def test_delayed_entry_discards_units_with_events_before_entry():
    # Entry at age e: a unit is seen only if T > e; P(T <= e) = 1 - exp(-lam e). Among those
    # seen, the hazard after entry is still lam (memoryless), estimated by D/T with SE sqrt(D)/T.
    lam, e, n = 0.4, 1.5, 50_000
    sim = simulate_pem(
        n, cuts=[0, np.inf], log_baseline=[np.log(lam)], entry_delay=e, censoring_rate=0.2, seed=18
    )
    f, t = sim.frame, sim.truth
    assert (f["time"] > f["entry"]).all()
    assert len(f) == n - t.n_discarded and t.n_unobserved == 0
    p = 1 - np.exp(-lam * e)
    assert abs(t.n_truncated / n - p) < Z * np.sqrt(p * (1 - p) / n)
    r = rates(aggregate(split(sim.read(), [0, np.inf])).frame, ["interval"])
    assert abs(r["log_rate"].iloc[0] - np.log(lam)) < Z * r["se"].iloc[0]


def test_entry_after_study_end_counts_as_unobserved():
    # Founded uniformly on [0, 10), study ends at 10, entry 1 year after founding: a unit
    # surviving to entry is still unobserved if founded after 9, P = 0.1 * exp(-lam).
    lam, n = 0.3, 50_000
    sim = simulate_pem(
        n,
        cuts=[0, np.inf],
        log_baseline=[np.log(lam)],
        calendar=(0, 10),
        study_end=10,
        entry_delay=1.0,
        seed=19,
    )
    p = 0.1 * np.exp(-lam)
    assert abs(sim.truth.n_unobserved / n - p) < Z * np.sqrt(p * (1 - p) / n)
    assert (sim.frame["origin"] < 9).all()


def test_spec_problems_are_collected_and_named():
    with pytest.raises(SpecError) as err:
        simulate_pem(
            10,
            cuts=[0, 1, 2],
            log_baseline=[0.0],
            covariates={"a": {"x": 0.5, "y": 0.6}},
            effects={"a[z]": 1.0, "b[x]": 1.0, "a x": 1.0},
            seed=1,
        )
    msg = str(err.value)
    for part in ("log_baseline needs 2", "sum to 1", "level 'z'", "'b' is not", "name[level]"):
        assert part in msg
    with pytest.raises(SpecError, match="no probabilities given"):
        simulate_pem(
            10,
            cuts=[0, 1],
            log_baseline=[0.0],
            covariates={"a": {"x": 0.5, "y": 0.5}, "b": Given("a", {"x": {"p": 1.0}})},
            seed=1,
        )
    for seed in (-1, 1.5, "1", True):
        with pytest.raises(SpecError, match="seed"):
            simulate_pem(10, cuts=[0, 1], log_baseline=[0.0], seed=seed)


@pytest.mark.slow
def test_one_million_units_every_feature_at_once():
    # 1M units with every feature: the expected count of each cell is mu = exp(eta) * T, eta
    # being alpha[interval] + the effects that apply + u_c. Summed over clusters, so that each
    # of the (at most 84) groups holds many events, D is Poisson(mu) to within MC error;
    # 4.5 SE covers 84 comparisons (P(any |z| > 4.5) ~ 84 * 7e-6).
    sim = simulate_pem(1_000_000, **full_spec(), seed=20)
    assert len(sim.frame) == 1_000_000 - sim.truth.n_discarded
    pieces = split(sim.read(), CUTS, periods=[5.0], period_labels=("p0", "p1"))
    c = aggregate(pieces).frame
    t = sim.truth
    prof, formal = c["leader"] == "professional", c["era"] == "formal"
    eta = (
        np.asarray(t.log_baseline)[c["interval"].cat.codes]
        + 0.7 * prof
        + 0.1 * (prof & formal)
        - 0.3 * (c["period"] == "p1")
        + pd.Series(t.cluster_effects)[c["cluster"]].to_numpy()
    )
    c["mu"] = np.exp(eta) * c["exposure"]
    g = c.groupby(["interval", "period", "era", "leader"], observed=True)[["events", "mu"]].sum()
    z = (g["events"] - g["mu"]) / np.sqrt(g["mu"])
    assert np.abs(z).max() < 4.5, z.abs().sort_values().tail()


# ------------------------------------------------------------------------------------------
# the bundled synthetic SA-groups data


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads(TRUTH.read_text(encoding="utf-8"))


def test_bundled_file_is_what_the_documented_command_regenerates(tmp_path, truth):
    seed = truth["seed"]
    command = f"python -m bayessa.simulate sa-groups --seed {seed} --out data/sa_groups.csv"
    assert command in (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    out = tmp_path / "sa_groups.csv"
    assert main(["sa-groups", "--seed", str(seed), "--out", str(out)]) == 0
    assert out.read_bytes() == DATA.read_bytes()
    assert (tmp_path / "sa_groups_truth.json").read_bytes() == TRUTH.read_bytes()


def test_bundled_file_reads_cleanly():
    data = read_data(DATA, SA_COLUMNS)
    assert data.n_units == 360 and data.audit.rows_excluded == 0
    assert list(pd.read_csv(DATA, nrows=0).columns) == list(COLUMNS)


def test_bundled_file_is_internally_consistent(bundled):
    f = bundled
    assert f["group_id"].is_unique
    assert (f["founded"] >= STUDY_START).all() and (f["last_contact"] <= STUDY_END).all()
    closed = f["closed"] != ""
    assert (f.loc[closed, "closed"] == f.loc[closed, "last_contact"]).all()
    assert (f["last_contact"] > f["founded"]).all()
    era = np.select(
        [f["founded"] < ERA_CUTS[0], f["founded"] < ERA_CUTS[1]], ["before", "early"], "formal"
    )
    assert (f["era"] == era).all()
    assert set(f["county"]) <= set(COUNTIES) and 30 <= f["county"].nunique() <= 50
    assert f["county"].value_counts().index[0] == "Wayne"
    community = {"church", "community_center", "library"}
    assert (f["setting_type"].isin(community) == (f["setting"] == "community")).all()


def test_founding_year_is_the_decimal_year_of_founded(bundled):
    """``Y + (day of year - 1) / days in Y``, two decimals, recomputed with pandas' calendar."""
    founded = pd.to_datetime(bundled["founded"])
    length = np.where(founded.dt.is_leap_year, 366, 365)
    expected = np.round(founded.dt.year + (founded.dt.day_of_year - 1) / length, 2)
    assert list(bundled["founding_year"]) == [f"{v:.2f}" for v in expected]  # always 2 decimals
    assert bundled["founding_year"].is_monotonic_increasing  # the rows are in founding order
    frame, _ = make_sa_groups(seed=3, n_groups=200)  # in memory: a float column, same rule
    days = pd.to_datetime(frame["founded"])
    length = np.where(days.dt.is_leap_year, 366, 365)
    want = np.round(days.dt.year + (days.dt.day_of_year - 1) / length, 2).to_numpy()
    assert frame["founding_year"].dtype == np.float64
    np.testing.assert_array_equal(frame["founding_year"].to_numpy(), want)


@pytest.mark.parametrize(
    ("date", "year"),
    [("1985-07-01", 1985.50), ("1989-01-01", 1989.0), ("1992-12-30", 1992.99),
     ("1996-12-31", 1997.0), ("1996-02-29", 1996.16), ("1999-03-31", 1999.24)],
)  # fmt: skip
def test_founding_year_examples(date, year):
    assert _decimal_year(np.array([_days(date)]))[0] == year


def test_bundled_file_mirrors_the_account(bundled, truth):
    f = bundled
    share = f.groupby("era").agg(
        professional=("leader", lambda s: (s == "professional").mean()),
        mental_health=("setting", lambda s: (s == "mental_health").mean()),
    )
    for col in ("professional", "mental_health"):
        assert share.loc["before", col] < share.loc["early", col] < share.loc["formal", col]
    still = (f["closed"] == "") & (f["last_contact"] == STUDY_END)
    assert 0.25 <= still.mean() <= 0.45
    years = (pd.to_datetime(f["last_contact"]) - pd.to_datetime(f["founded"])).dt.days / 365.25
    closed = (f["closed"] != "").astype(int)
    rate = closed.groupby(f["leader"]).sum() / years.groupby(f["leader"]).sum()
    assert rate["professional"] / rate["consumer"] > 1
    assert 1.5 <= truth["hazard_ratios"]["leader[professional]"] <= 2.5
    assert (f["era"].value_counts().sort_index() > 30).all()  # every era well represented


def test_truth_file_lists_the_parameters(truth):
    assert truth["synthetic"] is True
    assert truth["effects"]["leader[professional]"] == pytest.approx(np.log(2.0))
    assert len(truth["log_baseline"]) == len(truth["cuts"]) - 1
    assert set(truth["cluster_effects"]) == set(COUNTIES) and truth["cluster_sd"] == 0.3


def test_make_sa_groups_is_reproducible():
    a, ta = make_sa_groups(seed=3, n_groups=200)
    b, tb = make_sa_groups(seed=3, n_groups=200)
    c, _ = make_sa_groups(seed=4, n_groups=200)
    pd.testing.assert_frame_equal(a, b)
    assert ta == tb and not a.equals(c)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["sa-groups"],
        ["sa-groups", "--seed", "x", "--out", "o.csv"],
        ["sa-groups", "--seed", "-1", "--out", "o.csv"],
        ["sa-groups", "--seed", "1", "--out", "o.csv", "--n-groups", "0"],
        ["other"],
    ],
)
def test_cli_bad_arguments_exit_2_without_traceback(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()
