"""The closure reasons of the bundled SA groups: consistent, drawn as documented, and added
without changing any other column (the columns before them are what the generator made before)."""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from bayessa.simulate.sa_groups import (
    CLOSURE_REASON_FACTORS,
    CLOSURE_REASON_PROBS,
    CLOSURE_REASONS,
    COLUMNS,
    EFFECTS,
    make_sa_groups,
)
from tests.conftest import ROOT

DATA = ROOT / "data" / "sa_groups.csv"
TRUTH = ROOT / "data" / "sa_groups_truth.json"
SPEC = ROOT / "models" / "closure_reasons.toml"
NEW = ["closure_reason", "outcome"]
#: The columns as of the commit that added the closure reasons (before them in the file).
OLD = list(COLUMNS[: COLUMNS.index(NEW[0])])
#: Columns added after the reasons (the contact dates, ``test_contact_dates.py``), at the end.
LATER = list(COLUMNS[COLUMNS.index(NEW[-1]) + 1 :])
#: The first commit whose sa_groups.csv has the founding_year column but no closure reasons.
BEFORE_REASONS = "d69b3f414468f4099ef88d158411f6b19b5dda5c"


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    frame, _ = make_sa_groups(seed=11, n_groups=50_000)
    return frame


def test_reason_is_blank_exactly_when_there_is_no_closure(bundled):
    closed = bundled["closed"] != ""
    assert (bundled["closure_reason"] != "").eq(closed).all()
    assert set(bundled.loc[closed, "closure_reason"]) == set(CLOSURE_REASONS)
    assert (bundled.loc[closed, "outcome"] == bundled.loc[closed, "closure_reason"]).all()
    assert (bundled.loc[~closed, "outcome"] == "censored").all()
    # the stop date of the competing-risks form is last_contact: the closure date when closed
    assert (bundled.loc[closed, "closed"] == bundled.loc[closed, "last_contact"]).all()
    assert list(bundled.columns) == [*OLD, *NEW, *LATER]


def test_in_memory_frame_has_categorical_reasons(large):
    assert list(large["closure_reason"].cat.categories) == list(CLOSURE_REASONS)
    assert list(large["outcome"].cat.categories) == ["censored", *CLOSURE_REASONS]
    closed = large["closed"].notna()
    assert large["closure_reason"].notna().eq(closed).all()
    assert (large.loc[~closed, "outcome"] == "censored").all()


def test_existing_columns_are_unchanged_from_before_the_reasons(bundled):
    """Every earlier column, byte for byte: the file before the reasons is this file's prefix."""
    try:
        old_text = subprocess.run(
            ["git", "show", f"{BEFORE_REASONS}:bayessa/resources/data/sa_groups.csv"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no git history here (an sdist or a shallow clone)")
    new_lines = DATA.read_text(encoding="utf-8").splitlines()
    old_lines = old_text.splitlines()
    assert len(new_lines) == len(old_lines) == 361
    assert [line.rsplit(",", len(NEW) + len(LATER))[0] for line in new_lines] == old_lines
    old = pd.read_csv(io.StringIO(old_text), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(old, bundled[OLD])


def test_reasons_come_from_a_child_stream(monkeypatch):
    """Without the reasons' draw, every other column and the caller's stream are the same."""
    from bayessa.simulate import sa_groups

    with_rng, without_rng = np.random.default_rng(5), np.random.default_rng(5)
    frame, _ = make_sa_groups(seed=with_rng, n_groups=300)

    def no_draw(rng, leader, setting, closed):
        empty = pd.Categorical([None] * len(closed), categories=list(CLOSURE_REASONS))
        return empty, empty

    monkeypatch.setattr(sa_groups, "_closure_reasons", no_draw)
    plain, _ = make_sa_groups(seed=without_rng, n_groups=300)
    pd.testing.assert_frame_equal(frame[OLD], plain[OLD])
    assert with_rng.random() == without_rng.random()


def test_probabilities_are_the_documented_products():
    for (leader, setting), probs in CLOSURE_REASON_PROBS.items():
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-12)
        for r, p in probs.items():
            want = CLOSURE_REASON_FACTORS["ref"][r]
            want *= CLOSURE_REASON_FACTORS["professional"][r] if leader == "professional" else 1
            want *= CLOSURE_REASON_FACTORS["mental_health"][r] if setting == "mental_health" else 1
            assert p == pytest.approx(want)
    assert CLOSURE_REASON_PROBS[("professional", "mental_health")] == pytest.approx(
        {"folded": 0.30, "merged": 0.56, "lost_venue": 0.14}
    )


def test_reason_frequencies_match_the_probabilities(large):
    closed = large[large["closed"].notna()]
    assert len(closed) > 20_000
    for (leader, setting), cell in closed.groupby(["leader", "setting"], observed=True):
        n = len(cell)
        for r in CLOSURE_REASONS:
            p = CLOSURE_REASON_PROBS[(leader, setting)][r]
            share = (cell["closure_reason"] == r).mean()
            assert abs(share - p) <= 4 * np.sqrt(p * (1 - p) / n), (leader, setting, r, share, p)


def test_reasons_do_not_depend_on_the_closure_time(large):
    """Given leader and setting the reason is independent of the time: same shares early and late."""
    closed = large[large["closed"].notna()].copy()
    years = (pd.to_datetime(closed["closed"]) - pd.to_datetime(closed["founded"])).dt.days / 365.25
    cell = closed[(closed["leader"] == "consumer") & (closed["setting"] == "community")]
    early = cell["closure_reason"][years.loc[cell.index] < 2] == "folded"
    late = cell["closure_reason"][years.loc[cell.index] >= 2] == "folded"
    se = np.sqrt(0.25 / len(early) + 0.25 / len(late))
    assert abs(early.mean() - late.mean()) <= 4 * se


def test_truth_file_states_the_cause_specific_hazard_ratios():
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))["closure_reasons"]
    assert truth["reasons"] == list(CLOSURE_REASONS) and truth["censored_value"] == "censored"
    hr = {r: truth["cause_specific"][r]["hazard_ratios"] for r in CLOSURE_REASONS}
    assert hr["folded"]["leader[professional]"] == pytest.approx(1.2)
    assert hr["merged"]["leader[professional]"] == pytest.approx(2.8)
    assert hr["lost_venue"]["leader[professional]"] == pytest.approx(2.8)
    assert hr["folded"]["setting[mental_health]"] == pytest.approx(1.2)
    assert hr["merged"]["setting[mental_health]"] == pytest.approx(1.92)
    assert hr["lost_venue"]["setting[mental_health]"] == pytest.approx(0.48)
    for r in CLOSURE_REASONS:  # era and interaction effects are those of the overall hazard
        for k in ("era[early]", "era[formal]", "leader[professional]:era[formal]"):
            assert truth["cause_specific"][r]["effects"][k] == pytest.approx(EFFECTS[k])
        base = truth["cause_specific"][r]["baseline_hazard"]
        ref = CLOSURE_REASON_FACTORS["ref"][r]
        assert base[0] == pytest.approx(0.30 * ref) and base[-1] == pytest.approx(0.05 * ref)


def test_bundled_spec_prepares_cause_specific_cells():
    from bayessa.model.preparation import prepare
    from bayessa.model.spec import load_spec

    spec = load_spec(SPEC)
    assert spec.data.censored == "censored" and spec.data.event == "outcome"
    assert spec.data.stop == "last_contact" and spec.data.event_date is None
    assert spec.model.formula == "leader * era + setting + (1 | county)"
    prepared = prepare(None, spec)
    cells = prepared.cells
    assert cells.cause_events is not None
    assert list(cells.causes) == sorted(CLOSURE_REASONS)
    bundled = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    counts = bundled["closure_reason"].value_counts()
    totals = np.asarray(cells.cause_events).sum(axis=0)
    assert {c: int(n) for c, n in zip(cells.causes, totals, strict=True)} == {
        c: int(counts[c]) for c in CLOSURE_REASONS
    }
