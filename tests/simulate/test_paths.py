"""Tests of the switching-covariate simulator and the bundled changes of leader type.

Tolerances come from Monte Carlo error, as in ``test_simulate.py``: a proportion :math:`\\hat p`
from :math:`n` independent units has SE :math:`\\sqrt{p(1-p)/n}` (with the true :math:`p`), and a
Poisson MLE its own SE; we allow 4 SE per comparison (two-sided :math:`P(|z| > 4) \\approx 6
\\times 10^{-5}`), so the tests would pass for almost any seed, not only the fixed one. The true
survival functions are written here from the model's definition (cumulative hazard along the
path), not from the simulator's code.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayessa.data import read_data
from bayessa.errors import SpecError
from bayessa.frequentist import poisson_pem
from bayessa.model.preparation import prepare, resolve_spec
from bayessa.simulate import Normal, Uniform, simulate_switching
from bayessa.simulate.covariates import AtOrigin
from bayessa.simulate.sa_groups import (
    LEADER_CHANGE_RATE,
    make_leadership_changes,
    write_leadership_changes,
)

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ROOT / "data" / "sa_groups.csv"
CHANGES = ROOT / "data" / "sa_leadership_changes.csv"
Z = 4.0  # tolerance in standard errors (see the module docstring)
CUTS = [0.0, 1.0, 3.0, 6.0]
HAZARD = np.array([0.30, 0.20, 0.10])  # per interval, a unit at A with reference levels


def cumulative_hazard(t: float, *, log_hr_a: float, log_hr_b: float, switch: float) -> float:
    """:math:`H(t) = \\sum_k h_k |(a_k, a_{k+1}] \\cap (0, t]|\\,e^{\\eta}`, eta A before the switch."""
    total = 0.0
    for k, h in enumerate(HAZARD):
        lo, hi = CUTS[k], min(CUTS[k + 1], t)
        if hi <= lo:
            break
        before = max(0.0, min(hi, switch) - lo)
        after = (hi - lo) - before
        total += h * (before * math.exp(log_hr_a) + after * math.exp(log_hr_b))
    return total


def check_proportion(observed: np.ndarray, p: float, what: str) -> None:
    """``observed`` (booleans) has mean ``p`` within Z binomial standard errors."""
    se = math.sqrt(p * (1 - p) / observed.size)
    assert abs(observed.mean() - p) < Z * se, (
        f"{what}: {observed.mean():.4f} vs {p:.4f} (SE {se:.4f})"
    )


def sim(n: int = 2_000, **kw):
    args = dict(
        cuts=CUTS,
        log_baseline=np.log(HAZARD),
        effects={"current[B]": 0.6, "x[b]": -0.4, "age": 0.02},
        switch_hazard=0.4,
        switch_effects={"x[b]": 0.5},
        covariates={"x": {"a": 0.6, "b": 0.4}, "age": Normal(50, 10, decimals=0)},
        censoring_rate=0.05,
        follow_up=5.0,
        initial=0.1,
        seed=20,
    )
    return simulate_switching(n, **(args | kw))


@pytest.mark.parametrize("initial", [0.0, 0.1])
def test_rows_and_change_table_describe_the_same_follow_up(initial):
    s = sim(initial=initial)
    rows, merged = s.read("rows"), s.read("changes")
    pd.testing.assert_frame_equal(rows.frame, merged.frame)
    assert rows.n_units == merged.n_units == 2_000
    # what the rows say: one row per unit, two for a unit that switched during follow-up
    t = s.truth
    assert len(s.rows) == 2_000 + t["n_switched"] == 2_000 + len(s.changes)
    assert 0 < t["n_switched"] < 2_000 and t["n_events"] == s.base["event"].sum()
    two = s.rows["id"].duplicated(keep=False).to_numpy()
    first = two & ~s.rows["id"].duplicated().to_numpy()
    assert (s.rows.loc[first, "event"] == 0).all() and (s.rows.loc[first, "current"] == "A").all()
    assert (s.rows.loc[two & ~first, "current"] == "B").all()
    np.testing.assert_array_equal(s.rows.loc[first, "tstop"], s.changes["time"])
    assert (
        s.changes["time"] < s.base.set_index("id").loc[s.changes["id"], "time"].to_numpy()
    ).all()
    # units at B from time 0 have one row at B and no change
    at_b = s.base.loc[s.base["current"] == "B", "id"]
    assert (at_b.size > 0) == (initial > 0) and not at_b.isin(s.changes["id"]).any()
    assert (s.base["time"] <= 5.0).all() and s.base["time"].max() == 5.0


def test_same_seed_same_data_and_generator_accepted():
    a, b = sim(seed=3), sim(seed=3)
    for part in ("rows", "base", "changes"):
        pd.testing.assert_frame_equal(getattr(a, part), getattr(b, part))
    assert a.truth == b.truth and a.truth["seed"] == 3
    c = sim(seed=np.random.default_rng(3))
    pd.testing.assert_frame_equal(a.rows, c.rows)
    assert c.truth["seed"] is None
    assert not sim(seed=4).rows.equals(a.rows)


def test_never_switching_units_follow_the_piecewise_exponential():
    """Switch hazard 0: survival exp(-H(t)) with the baseline alone (x at reference)."""
    s = simulate_switching(
        20_000, cuts=CUTS, log_baseline=np.log(HAZARD), effects={"current[B]": 1.0}, seed=1
    )
    assert s.truth["n_switched"] == 0 and len(s.changes) == 0 and len(s.rows) == 20_000
    exit_, event = s.base["time"].to_numpy(), s.base["event"].to_numpy()
    assert (exit_[event == 0] == 6.0).all()  # only the last cut point censors
    for t in (0.25, 1.0, 2.0, 3.0, 4.5, 6.0):
        h = cumulative_hazard(t, log_hr_a=0.0, log_hr_b=0.0, switch=math.inf)
        check_proportion((exit_ > t) | (event == 0), math.exp(-h), f"S({t})")


def test_exponential_censoring_competes_with_a_constant_hazard():
    """One interval, hazard lam, loss at rate c: P(event observed) = lam / (lam + c)."""
    lam, c = 0.3, 0.2
    s = simulate_switching(
        20_000, cuts=[0.0, math.inf], log_baseline=[math.log(lam)], censoring_rate=c, seed=2
    )
    check_proportion(s.base["event"].to_numpy() == 1, lam / (lam + c), "P(event)")


def test_switch_at_a_known_time_gives_the_piecewise_cumulative_hazard():
    """Every unit switches at s0 = 1.7 (inside an interval); S(t) = exp(-H(t)) along the path."""
    beta, s0 = 0.9, 1.7
    s = simulate_switching(
        20_000, cuts=CUTS, log_baseline=np.log(HAZARD), effects={"current[B]": beta},
        switch_time=s0, seed=5,
    )  # fmt: skip
    exit_, event = s.base["time"].to_numpy(), s.base["event"].to_numpy()
    for t in (0.5, 1.0, 1.7, 2.0, 2.5, 3.0, 4.0, 6.0):
        h = cumulative_hazard(t, log_hr_a=0.0, log_hr_b=beta, switch=s0)
        check_proportion((exit_ > t) | (event == 0), math.exp(-h), f"S({t})")
    # a unit is seen to switch exactly when it is still followed at s0
    assert s.truth["n_switched"] == int((exit_ > s0).sum())
    assert (s.changes["time"] == s0).all()


def test_random_switch_time_gives_the_mixture_survival():
    """Constant hazards lam_a, lam_b and switch rate nu (no censoring, follow-up to tau):

    S(t) = exp(-(lam_a + nu) t) + nu exp(-lam_b t) (1 - exp(-(lam_a + nu - lam_b) t)) / (lam_a + nu - lam_b),
    P(switch seen) = nu / (nu + lam_a) (1 - exp(-(nu + lam_a) tau)).
    """
    lam_a, beta, nu, tau = (
        0.25,
        math.log(2.0),
        0.5,
        4.0,
    )  # r = 0.25 (r = 0 is the limit nu t e^{-lam_b t})
    lam_b = lam_a * math.exp(beta)
    s = simulate_switching(
        20_000, cuts=[0.0, math.inf], log_baseline=[math.log(lam_a)],
        effects={"current[B]": beta}, switch_hazard=nu, follow_up=tau, seed=6,
    )  # fmt: skip
    exit_, event = s.base["time"].to_numpy(), s.base["event"].to_numpy()
    r = lam_a + nu - lam_b
    for t in (0.5, 1.0, 2.0, 3.0, 4.0):
        p = math.exp(-(lam_a + nu) * t) + nu * math.exp(-lam_b * t) * (1 - math.exp(-r * t)) / r
        check_proportion((exit_ > t) | (event == 0), p, f"S({t})")
    seen = np.zeros(20_000, dtype=bool)
    seen[s.changes["id"].to_numpy() - 1] = True
    check_proportion(seen, nu / (nu + lam_a) * (1 - math.exp(-(nu + lam_a) * tau)), "switches")


def test_switch_hazard_depends_on_fixed_covariates():
    """Rate nu exp(gamma [x = b]) with no event and no end before: P(S < tau | x) closed form."""
    nu, gamma, tau = 0.2, math.log(2.5), 2.0
    s = simulate_switching(
        20_000, cuts=[0.0, tau], log_baseline=[-30.0], covariates={"x": {"a": 0.5, "b": 0.5}},
        switch_hazard=nu, switch_effects={"x[b]": gamma}, seed=7,
    )  # fmt: skip
    seen = s.base["id"].isin(s.changes["id"]).to_numpy()
    for level, rate in (("a", nu), ("b", nu * math.exp(gamma))):
        mask = (s.base["x"] == level).to_numpy()
        check_proportion(seen[mask], 1 - math.exp(-rate * tau), f"switches at x={level}")


def test_poisson_mle_recovers_the_current_value_effect():
    """20,000 units; switching more likely at x = b (a confounder the model adjusts for)."""
    truth = {"current[B]": 0.5, "x[b]": -0.3, "current[B]:x[b]": 0.25, "z": 0.4}
    s = simulate_switching(
        20_000, cuts=CUTS, log_baseline=np.log(HAZARD), effects=truth, switch_hazard=0.3,
        switch_effects={"x[b]": 0.7}, covariates={"x": {"a": 0.5, "b": 0.5}, "z": Uniform(0, 1)},
        censoring_rate=0.05, initial=0.2, seed=8,
    )  # fmt: skip
    spec = resolve_spec(
        data=s.rows, formula="current * x + z", id="id", tstart="tstart", tstop="tstop",
        event="event", cuts=CUTS, time_unit="years",
    )  # fmt: skip
    p = prepare(s.rows, spec)
    assert p.data.n_units == 20_000 and len(p.data.frame) == len(s.rows)
    fit = poisson_pem(p.cells.frame, design=(p.design.coef_names, p.design.X))
    for term, value in truth.items():
        est, se = fit.table.loc[term, "log_hr"], fit.table.loc[term, "se"]
        assert abs(est - value) < Z * se, f"{term}: {est:.3f} vs {value} (SE {se:.3f})"


def test_argument_problems_are_collected():
    with pytest.raises(SpecError) as err:
        simulate_switching(
            10, cuts=CUTS, log_baseline=[0.0], levels=("A",), switch_time=1.0,
            switch_hazard=0.1, switch_effects={"current[B]": 1.0}, initial=1.0,
            covariates={"tstart": {"a": 1.0}, "era": AtOrigin(cuts=(1.0,), labels=("e0", "e1"))},
            seed=1,
        )  # fmt: skip
    msg = str(err.value)
    for text in ("log_baseline needs 3", "levels must be two", "tstart", "AtOrigin",
                 "either switch_time or switch_hazard", "initial must be", "fixed covariates only"):  # fmt: skip
        assert text in msg, text
    with pytest.raises(SpecError, match="form must be"):
        sim(n=10).read("wide")


# --------------------------------------------------------------------------------------------
# the bundled changes of leader type


def _groups() -> pd.DataFrame:
    return pd.read_csv(GROUPS, dtype=str, keep_default_na=False)


def test_bundled_changes_are_what_the_documented_command_regenerates(tmp_path):
    command = "write_leadership_changes('data/sa_leadership_changes.csv', seed=1986)"
    assert command in (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    out = write_leadership_changes(tmp_path / "changes.csv", seed=1986)
    assert out.read_bytes() == CHANGES.read_bytes()
    assert CHANGES.is_symlink() and CHANGES.resolve().parent.name == "data"
    assert CHANGES.resolve().parent.parent.name == "resources"


def test_bundled_changes_fit_the_groups():
    groups, ch = _groups().set_index("group_id"), pd.read_csv(CHANGES, dtype=str)
    assert list(ch.columns) == ["group_id", "date", "leader"]
    assert ch["group_id"].is_unique and ch["group_id"].isin(groups.index).all()
    g = groups.loc[ch["group_id"]]
    assert (ch["date"].to_numpy() > g["founded"].to_numpy()).all()
    assert (ch["date"].to_numpy() < g["last_contact"].to_numpy()).all()
    assert (ch["leader"].to_numpy() != g["leader"].to_numpy()).all()
    # the counts data/README.md states
    assert len(ch) == 67 and (ch["leader"] == "professional").sum() == 55
    # merged as the spec does: one extra row per change, leader the current one
    columns = dict(id="group_id", start="founded", event_date="closed",
                   censor_date="last_contact", covariates=("leader", "setting", "era"))  # fmt: skip
    merged = read_data(GROUPS, columns, changes=CHANGES, change_time="date")
    assert len(merged.frame) == 360 + 67 and merged.n_units == 360


def test_leadership_changes_draw_from_the_documented_rates():
    """Many copies of the groups, no follow-up limit: P(change by 1 year) = 1 - exp(-rate)."""
    g = _groups()
    big = pd.concat([g] * 50, ignore_index=True).assign(last_contact="2100-01-01")
    big["group_id"] = [f"G{i}" for i in range(len(big))]
    ch = make_leadership_changes(big, seed=3).set_index("group_id")
    founded = pd.to_datetime(big.set_index("group_id").loc[ch.index, "founded"])
    days = (pd.to_datetime(ch["date"]) - founded).dt.days
    # a change within a year: round(365.25 S) <= 365, i.e. S < 365.5 / 365.25 years
    within = big["group_id"].isin(days.index[days <= 365]).to_numpy()
    for (leader, setting), rate in LEADER_CHANGE_RATE.items():
        mask = ((big["leader"] == leader) & (big["setting"] == setting)).to_numpy()
        p = 1 - math.exp(-rate * 365.5 / 365.25)
        check_proportion(within[mask], p, f"{leader}, {setting}")


@pytest.mark.slow
def test_pseudo_true_hazard_ratios_in_the_readme():
    """The large-sample values data/README.md states for a model of the current leader (~7 s)."""
    import json

    from bayessa.simulate.sa_groups import make_sa_groups

    effects = json.loads((ROOT / "data" / "sa_groups_truth.json").read_text())["cluster_effects"]
    groups, _ = make_sa_groups(seed=7, n_groups=400_000, county_effects=effects)
    changes = make_leadership_changes(groups, seed=8)
    formula = "leader * era + setting + county"
    spec = resolve_spec(ROOT / "models" / "current_leader.toml", formula=formula)
    p = prepare(groups, spec, changes=changes)
    b = poisson_pem(p.cells.frame, design=(p.design.coef_names, p.design.X)).table["log_hr"]
    lead = b["leader[professional]"]
    hr = {
        "before": lead,
        "early": lead + b["leader[professional]:era[early]"],
        "formal": lead + b["leader[professional]:era[formal]"],
        "setting": b["setting[mental_health]"],
    }
    stated = {"before": 1.45, "early": 1.64, "formal": 1.95, "setting": 1.25}
    assert {k: round(math.exp(v), 2) for k, v in hr.items()} == stated


def test_bundled_current_leader_spec_prepares():
    spec_path = ROOT / "models" / "current_leader.toml"
    assert spec_path.is_symlink()
    p = prepare(None, resolve_spec(spec_path))
    assert p.data.n_units == 360 and len(p.data.frame) == 360 + 67
    assert "leader[professional]" in p.design.coef_names
