"""Competing causes and inspection schedules in the general simulator (``simulate_pem``).

Truth checks use the closed forms of constant hazards and Monte Carlo error: a proportion from
:math:`n` draws has SE :math:`\\sqrt{p(1-p)/n}`, an occurrence/exposure rate's log has SE
:math:`1/\\sqrt{D}`; the tolerance is 4 SE (as in ``test_simulate.py``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bayessa.errors import SpecError
from bayessa.simulate import Cause, Inspection
from bayessa.simulate.pem import AtOrigin, Given, simulate_pem

Z = 4.0
CUTS = [0, 0.5, 1, 2, 3, 5, 8, 14]
LOG_BASELINE = np.log([0.30, 0.22, 0.16, 0.12, 0.09, 0.07, 0.05])
NEW = ["outcome", "time_lower", "time_upper"]


def everything(**kw):
    """Every feature of the simulator, with two causes and an inspection schedule."""
    spec = dict(
        cuts=CUTS,
        covariates={
            "era": AtOrigin(cuts=(3.0, 6.0), labels=("before", "early", "formal")),
            "leader": Given(
                "era",
                {e: {"consumer": 0.7, "professional": 0.3} for e in ("before", "early", "formal")},
            ),
        },
        effects={"leader[professional]:era[formal]": 0.1},
        causes={
            "folded": Cause(LOG_BASELINE + np.log(0.6), {"leader[professional]": -0.3}),
            "merged": Cause(LOG_BASELINE + np.log(0.4), {"leader[professional]": 1.0}),
        },
        periods=[5.0],
        period_effects={"p1": -0.3},
        calendar=(0.0, 10.0),
        clusters=12,
        cluster_sd=0.3,
        censoring_rate=0.05,
        study_end=12.0,
        entry_delay=(0.0, 0.5),
        inspection=Inspection(every=1.0, jitter=0.2),
    )
    return spec | kw


# ------------------------------------------------------------------------------------------
# competing causes


def test_one_cause_draws_what_the_plain_simulation_draws():
    plain = simulate_pem(3000, cuts=CUTS, log_baseline=LOG_BASELINE, study_end=10.0,
                         calendar=(0, 5), censoring_rate=0.05, seed=3)  # fmt: skip
    one = simulate_pem(3000, cuts=CUTS, causes={"only": Cause(LOG_BASELINE)}, study_end=10.0,
                       calendar=(0, 5), censoring_rate=0.05, seed=3)  # fmt: skip
    pd.testing.assert_frame_equal(one.frame.drop(columns="outcome"), plain.frame)
    f = one.frame
    assert list(f.columns) == ["id", "time", "event", "outcome", "origin"]
    assert list(f["outcome"].cat.categories) == ["censored", "only"]
    assert ((f["outcome"] == "only") == (f["event"] == 1)).all()
    assert one.truth.log_baseline == pytest.approx(plain.truth.log_baseline)


@pytest.mark.parametrize("tau", [1.5, 4.0])
def test_cause_proportions_match_the_cumulative_incidence(tau):
    """Constant hazards, everyone followed to tau: P(cause r by tau) = l_r / l (1 - e^{-l tau})."""
    n = 40_000
    lam = {"a": 0.3, "b": 0.1, "c": 0.05}
    effects = {"a": {"x[y]": 0.5}, "b": {"x[y]": -0.7}, "c": {}}
    sim = simulate_pem(
        n,
        cuts=[0, np.inf],
        covariates={"x": {"x": 0.5, "y": 0.5}},
        causes={r: Cause([np.log(h)], effects[r]) for r, h in lam.items()},
        study_end=tau,
        seed=21,
    )
    f = sim.frame
    assert len(f) == n and (f.loc[f["event"] == 0, "time"] == tau).all()
    for level in ("x", "y"):
        cell = f[f["x"] == level]
        rate = {r: h * np.exp(effects[r].get("x[y]", 0.0) * (level == "y")) for r, h in lam.items()}
        total = sum(rate.values())
        for r, h in rate.items():
            p = h / total * (1 - np.exp(-total * tau))
            share = (cell["outcome"] == r).mean()
            assert abs(share - p) <= Z * np.sqrt(p * (1 - p) / len(cell)), (level, r, share, p)
        p0 = np.exp(-total * tau)
        share = (cell["outcome"] == "censored").mean()
        assert abs(share - p0) <= Z * np.sqrt(p0 * (1 - p0) / len(cell))


def test_cause_specific_rates_per_interval_are_recovered():
    """Occurrence/exposure of each cause in each interval estimates exp(alpha_rk) (SE 1/sqrt(D))."""
    cuts = [0.0, 1.0, 3.0]
    alpha = {"early": np.log([0.4, 0.05]), "late": np.log([0.05, 0.3])}
    sim = simulate_pem(60_000, cuts=cuts, causes={r: Cause(a) for r, a in alpha.items()}, seed=5)
    f = sim.frame
    for k in range(2):
        exposure = (np.clip(f["time"], cuts[k], cuts[k + 1]) - cuts[k]).sum()
        inside = (f["time"] > cuts[k]) & (f["time"] <= cuts[k + 1])
        for r, a in alpha.items():
            d = int((inside & (f["outcome"] == r)).sum())
            z = (np.log(d / exposure) - a[k]) * np.sqrt(d)
            assert abs(z) < Z, (k, r, d, exposure)


def test_shared_effects_are_added_to_each_causes_and_recorded_in_the_truth():
    sim = simulate_pem(2000, **everything(), seed=4)
    t = sim.truth
    assert t.effects == {"leader[professional]:era[formal]": 0.1, "period[p1]": -0.3}
    assert t.causes["merged"]["effects"] == {
        "leader[professional]:era[formal]": 0.1, "period[p1]": -0.3, "leader[professional]": 1.0
    }  # fmt: skip
    want = np.logaddexp(LOG_BASELINE + np.log(0.6), LOG_BASELINE + np.log(0.4))
    np.testing.assert_allclose(t.log_baseline, want)  # the all-cause reference hazard
    np.testing.assert_allclose(t.log_baseline, LOG_BASELINE)
    np.testing.assert_allclose(t.causes["folded"]["log_baseline"], LOG_BASELINE + np.log(0.6))
    d = json.loads(json.dumps(t.to_dict(), allow_nan=False))
    assert d["censored_value"] == "censored" and set(d["causes"]) == {"folded", "merged"}
    assert d["inspection"]["every"] == 1.0 and d["inspection"]["jitter"] == 0.2


def test_cause_specific_hazard_ratios_set_the_share_of_each_cause():
    """Both causes have the baseline's shape (shares 0.6 and 0.4) and shared effects cancel, so
    given the leader an event is ``folded`` with the constant probability
    ``0.6 e^{b_f} / (0.6 e^{b_f} + 0.4 e^{b_m})`` (b = -0.3 and 1.0 if professional, else 0)."""
    sim = simulate_pem(40_000, **everything(inspection=None), seed=8)
    f = sim.frame[sim.frame["event"] == 1]
    for leader, (bf, bm) in (("consumer", (0.0, 0.0)), ("professional", (-0.3, 1.0))):
        cell = f[f["leader"] == leader]
        p = 0.6 * np.exp(bf) / (0.6 * np.exp(bf) + 0.4 * np.exp(bm))
        share = (cell["outcome"] == "folded").mean()
        assert abs(share - p) <= Z * np.sqrt(p * (1 - p) / len(cell)), (leader, share, p)


def test_competing_causes_read_as_competing_risks():
    sim = simulate_pem(3000, **everything(), seed=2)
    assert sim.columns.event == "outcome" and sim.columns.censored == "censored"
    data = sim.read()
    assert data.n_units == len(sim.frame) and data.audit.rows_excluded == 0
    assert data.n_events == int(sim.frame["event"].sum())


def test_same_seed_same_data_different_seed_different_data():
    a = simulate_pem(3000, **everything(), seed=np.random.default_rng(9))
    b = simulate_pem(3000, **everything(), seed=9)
    c = simulate_pem(3000, **everything(), seed=10)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.truth == b.truth
    assert not a.frame["time_upper"].head(200).equals(c.frame["time_upper"].head(200))


def test_censored_value_is_configurable():
    sim = simulate_pem(500, cuts=[0, 2], causes={"x": Cause([0.0])}, censored_value="none",
                       seed=1)  # fmt: skip
    assert list(sim.frame["outcome"].cat.categories) == ["none", "x"]
    assert (sim.frame.loc[sim.frame["event"] == 0, "outcome"] == "none").all()


# ------------------------------------------------------------------------------------------
# inspection


def check_intervals(f: pd.DataFrame) -> None:
    """lower < time <= upper for events (or lower = upper = time), lower = time for censored."""
    ev = f["event"] == 1
    lo, up, t = f["time_lower"], f["time_upper"], f["time"]
    exact = ev & (lo == up)
    assert (t[exact] == lo[exact]).all()
    found = ev & ~exact & up.notna()
    assert ((lo < t) & (t <= up))[found].all()
    assert (lo[ev & up.isna()] < t[ev & up.isna()]).all()  # never found: right-censored below T
    assert (lo[~ev] == t[~ev]).all() and up[~ev].isna().all()
    entry = f["entry"] if "entry" in f else 0.0
    assert (lo >= entry).all()


def test_every_event_lies_in_its_interval_with_every_feature():
    sim = simulate_pem(20_000, **everything(), seed=12)
    f = sim.frame
    assert list(f.columns[:8]) == ["id", "entry", "time", "event", *NEW, "origin"][:8]
    check_intervals(f)
    ev = f["event"] == 1
    # every event is found: by a visit or by the final contact at the end of follow-up
    assert f.loc[ev, "time_upper"].notna().all()
    assert (f.loc[ev, "time_upper"] <= np.minimum(12.0 - f.loc[ev, "origin"], 14.0) + 1e-12).all()
    # roughly yearly visits: an interval is at most about two years (a visit every 1 +- 0.2)
    width = f.loc[ev, "time_upper"] - f.loc[ev, "time_lower"]
    assert (width > 0).all() and width.max() <= 1.4 + 1e-9


def test_inspection_changes_no_other_column_nor_the_generators_stream():
    with_rng, without_rng = np.random.default_rng(6), np.random.default_rng(6)
    a = simulate_pem(4000, **everything(), seed=with_rng)
    b = simulate_pem(4000, **everything(inspection=None), seed=without_rng)
    pd.testing.assert_frame_equal(a.frame.drop(columns=["time_lower", "time_upper"]), b.frame)
    assert with_rng.random() == without_rng.random()
    assert "inspection" not in b.truth.to_dict() and "inspection" in a.truth.to_dict()


def test_regular_visits_without_jitter_are_multiples_of_the_step():
    sim = simulate_pem(5000, cuts=[0, np.inf], log_baseline=[np.log(0.3)], study_end=7.3,
                       inspection=Inspection(every=0.5), seed=13)  # fmt: skip
    f = sim.frame
    check_intervals(f)
    ev = f["event"] == 1
    lo, up = f.loc[ev, "time_lower"], f.loc[ev, "time_upper"]
    np.testing.assert_allclose(lo, np.floor(f.loc[ev, "time"] / 0.5) * 0.5)  # 0 = time zero
    last = up == 7.3  # found at the final contact, the study end
    np.testing.assert_allclose(up[~last], np.ceil(f.loc[ev, "time"][~last] / 0.5) * 0.5)
    assert (lo[last] == 7.0).all() and last.any()


def test_jitter_moves_each_visit_by_at_most_the_jitter():
    sim = simulate_pem(10_000, cuts=[0, np.inf], log_baseline=[np.log(0.3)], study_end=20.0,
                       inspection=Inspection(every=1.0, jitter=0.3), seed=14)  # fmt: skip
    f = sim.frame
    check_intervals(f)
    ev = f["event"] == 1
    lo = f.loc[ev & (f["time_lower"] > 0), "time_lower"]
    assert (np.abs(lo - np.round(lo)) <= 0.3).all()
    # With 0.3 < frac(T) < 0.7, the last visit before T is visit floor(T) whatever its jitter
    # (and whatever the next one's): its displacement is the uniform jitter, unselected.
    t = f.loc[ev, "time"]
    mid = (t % 1 > 0.3) & (t % 1 < 0.7) & (t > 1)
    moved = f.loc[mid[mid].index, "time_lower"] - np.floor(t[mid])
    sd = 0.3 / np.sqrt(3)  # of Uniform(-0.3, 0.3)
    assert len(moved) > 1000 and abs(moved.mean()) <= Z * sd / np.sqrt(len(moved))
    assert moved.std() == pytest.approx(sd, rel=0.1)


def test_given_visit_times_and_an_event_no_contact_finds():
    times = (0.5, 1.0, 2.0, 4.0)
    sim = simulate_pem(5000, cuts=[0, np.inf], log_baseline=[np.log(0.3)],
                       inspection=Inspection(times=times), seed=15)  # fmt: skip
    f = sim.frame
    assert (f["event"] == 1).all()  # no censoring at all
    check_intervals(f)
    assert set(f["time_lower"]) <= {0.0, *times}
    late = f["time"] > 4.0  # after the last visit and no end of follow-up: never found
    assert late.any() and f.loc[late, "time_upper"].isna().all()
    assert (f.loc[late, "time_lower"] == 4.0).all()
    assert set(f.loc[~late, "time_upper"]) <= set(times)


def test_calendar_schedule_visits_everyone_at_the_same_dates():
    sim = simulate_pem(5000, cuts=[0, np.inf], log_baseline=[np.log(0.3)], calendar=(0, 5),
                       study_end=9.0, inspection=Inspection(every=1.0, scale="calendar"),
                       seed=16)  # fmt: skip
    f = sim.frame
    check_intervals(f)
    ev = f["event"] == 1
    cal_lo = (f["time_lower"] + f["origin"])[ev & (f["time_lower"] > 0)]
    np.testing.assert_allclose(cal_lo, np.round(cal_lo), atol=1e-9)
    cal_up = (f["time_upper"] + f["origin"])[ev]
    np.testing.assert_allclose(cal_up, np.round(cal_up), atol=1e-9)  # visits and the end, 9


def test_a_share_of_events_is_seen_exactly():
    sim = simulate_pem(20_000, cuts=[0, np.inf], log_baseline=[np.log(0.3)], study_end=5.0,
                       inspection=Inspection(every=1.0, exact=0.3), seed=17)  # fmt: skip
    f = sim.frame
    check_intervals(f)
    ev = f["event"] == 1
    share = (f.loc[ev, "time_lower"] == f.loc[ev, "time_upper"]).mean()
    assert abs(share - 0.3) <= Z * np.sqrt(0.3 * 0.7 / ev.sum())
    every = simulate_pem(2000, cuts=[0, 3], log_baseline=[0.0],
                         inspection=Inspection(times=[1.0], exact=1.0), seed=1)  # fmt: skip
    g = every.frame[every.frame["event"] == 1]
    assert (g["time_lower"] == g["time"]).all() and (g["time_upper"] == g["time"]).all()


def test_the_interval_widths_have_the_distribution_of_the_schedule():
    """Exponential events, yearly visits: P(T in (k-1, k]) = e^{-l(k-1)} - e^{-l k}."""
    lam = 0.4
    sim = simulate_pem(30_000, cuts=[0, np.inf], log_baseline=[np.log(lam)], study_end=3.0,
                       inspection=Inspection(every=1.0), seed=18)  # fmt: skip
    f = sim.frame
    n = len(f)
    for k in (1, 2, 3):
        p = np.exp(-lam * (k - 1)) - np.exp(-lam * k)
        share = ((f["event"] == 1) & (f["time_upper"] == k)).mean()
        assert abs(share - p) <= Z * np.sqrt(p * (1 - p) / n)


# ------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (dict(log_baseline=None), "log_baseline is required"),
        (dict(causes={"a": Cause([0.0])}), "log_baseline is given with causes"),
        (dict(log_baseline=None, causes={}), "non-empty"),
        (dict(log_baseline=None, causes={"censored": Cause([0.0])}), "other than the censored"),
        (dict(log_baseline=None, causes={"a": [0.0]}), "give Cause"),
        (dict(log_baseline=None, causes={"a": Cause([0.0, 1.0])}), "needs 1 finite"),
        (dict(log_baseline=None, causes={"a": Cause([0.0], {"z[q]": 1.0})}), "cause 'a': effect"),
        (dict(log_baseline=None, causes={"a": Cause([0.0], {"x[y]": np.nan})}), "finite"),
        (dict(log_baseline=None, causes={"a": Cause([0.0])}, censored_value=""), "non-empty"),
        (
            dict(
                log_baseline=None,
                causes={"a": Cause([0.0])},
                covariates={"outcome": {"p": 0.5, "q": 0.5}},
            ),
            "'outcome' is the cause column",
        ),  # fmt: skip
        (dict(inspection=Inspection()), "either every"),
        (dict(inspection=Inspection(every=1.0, times=[1.0])), "either every"),
        (dict(inspection=Inspection(every=0.0)), "every must be a number > 0"),
        (dict(inspection=Inspection(every=1.0, jitter=0.5)), "less than half"),
        (dict(inspection=Inspection(times=[1.0, 1.5], jitter=0.25)), "less than half"),
        (dict(inspection=Inspection(times=[0.2, 1.5], jitter=0.1)), "less than half"),
        (dict(inspection=Inspection(times=[2.0, 1.0])), "strictly increasing"),
        (dict(inspection=Inspection(times=[0.0, 1.0])), "must be > 0"),
        (dict(inspection=Inspection(times=[])), "finite numbers"),
        (dict(inspection=Inspection(every=1.0, exact=1.5)), "probability"),
        (dict(inspection=Inspection(every=1.0, jitter=-1)), "jitter must be"),
        (dict(inspection=Inspection(every=1.0, scale="wall")), "scale"),
        (dict(inspection={"every": 1.0}), "Inspection"),
        (
            dict(inspection=Inspection(every=1.0), covariates={"time_upper": {"p": 0.5, "q": 0.5}}),
            "columns of the inspection",
        ),
    ],
)
def test_bad_options_are_refused_with_a_reason(kw, message):
    args = dict(cuts=[0, 1], log_baseline=[0.0], covariates={"x": {"x": 0.5, "y": 0.5}}) | kw
    with pytest.raises(SpecError, match=message):
        simulate_pem(10, **args, seed=1)


def test_calendar_visits_may_come_in_any_gap_and_jitter_needs_only_the_gaps_between_them():
    """On the calendar, a single given date may be jittered by anything (no gap to keep)."""
    sim = simulate_pem(300, cuts=[0, 3], log_baseline=[0.0], calendar=(0, 2),
                       inspection=Inspection(times=[1.0], jitter=5.0, scale="calendar"),
                       seed=3)  # fmt: skip
    check_intervals(sim.frame)
