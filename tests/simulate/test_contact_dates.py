"""The contact dates of the bundled SA groups (``last_seen_meeting``, ``first_found_closed``):
consistent with the exact closure and censoring dates, drawn on the documented schedule, added
without changing any other column or truth key, and the interval form of models/interval_closure.toml.
"""

from __future__ import annotations

import io
import json
import subprocess
import tomllib

import numpy as np
import pandas as pd
import pytest

from bayessa.simulate.sa_groups import (
    COLUMNS,
    CONTACT_INTERVAL_DAYS,
    CONTACT_JITTER_DAYS,
    STUDY_END,
    STUDY_START,
    _days,
    _n_contacts,
    make_sa_groups,
)
from tests.conftest import ROOT

DATA = ROOT / "data" / "sa_groups.csv"
TRUTH = ROOT / "data" / "sa_groups_truth.json"
SPEC = ROOT / "models" / "interval_closure.toml"
NEW = ["last_seen_meeting", "first_found_closed"]
OLD = [c for c in COLUMNS if c not in NEW]
#: The last commit whose sa_groups.csv and truth file have no contact dates.
BEFORE_CONTACTS = "d0ec770cc8b4253e9de7240fb5acf739d9499524"


def dates(values: pd.Series) -> pd.Series:
    """ISO dates, strictly parsed (blank -> NaT)."""
    return pd.to_datetime(values.replace("", None), format="%Y-%m-%d", errors="raise")


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    frame, _ = make_sa_groups(seed=12, n_groups=40_000)
    return frame


def git_show(path: str) -> str:
    try:
        return subprocess.run(
            ["git", "show", f"{BEFORE_CONTACTS}:{path}"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no git history here (an sdist or a shallow clone)")


def check_contacts(f: pd.DataFrame) -> None:
    """The contact dates against the exact ones, for a frame of ISO strings (blank = missing)."""
    founded, closed, last = dates(f["founded"]), dates(f["closed"]), dates(f["last_contact"])
    seen, found = dates(f["last_seen_meeting"]), dates(f["first_found_closed"])
    c = closed.notna()
    assert seen.notna().all()
    # a closed group: founded <= last seen meeting < closure <= first found closed <= study end
    assert (founded[c] <= seen[c]).all() and (seen[c] < closed[c]).all()
    assert (closed[c] <= found[c]).all() and (found[c] <= pd.Timestamp(STUDY_END)).all()
    # a censored group: last seen meeting on its censoring date, never found closed
    assert (seen[~c] == last[~c]).all() and found[~c].isna().all()
    # the interval form alone tells closed from censored
    assert found.notna().equals(c)


def test_contact_dates_are_consistent_with_the_exact_dates(bundled):
    assert list(bundled.columns) == list(COLUMNS) and list(bundled.columns[-2:]) == NEW
    check_contacts(bundled)
    closed = bundled["closed"] != ""
    assert (bundled.loc[~closed, "first_found_closed"] == "").all()


def test_in_memory_frame_and_a_large_draw_are_consistent(large):
    assert large["first_found_closed"].notna().equals(large["closed"].notna())
    check_contacts(large.astype(object).where(large.notna(), "").astype(str))


def test_interval_form_alone_describes_every_group(bundled):
    """Durations from founded: closed groups (L, R] with L < exact <= R; censored at L."""
    start = dates(bundled["founded"])
    lower = (dates(bundled["last_seen_meeting"]) - start).dt.days
    upper = (dates(bundled["first_found_closed"]) - start).dt.days
    exact = (dates(bundled["last_contact"]) - start).dt.days  # closure or censoring
    closed = bundled["closed"] != ""
    assert (lower >= 0).all() and (exact > 0).all()
    assert ((lower < exact) & (exact <= upper))[closed].all()
    assert (lower == exact)[~closed].all() and upper[~closed].isna().all()


def test_contacts_follow_the_documented_schedule(large):
    """Contacts are anniversaries floor(365.25 j) days after founding, moved by at most 60 days."""
    f = large[large["closed"].notna()]
    founded = dates(f["founded"])
    for col, skip in (("last_seen_meeting", f["founded"]), ("first_found_closed", STUDY_END)):
        on_schedule = f[col] != skip  # not the founding date, nor the final contact
        days = (dates(f[col]) - founded)[on_schedule].dt.days.to_numpy()
        j = np.rint(days / CONTACT_INTERVAL_DAYS).astype(int)
        assert (j >= 1).all()
        moved = days - np.floor(j * CONTACT_INTERVAL_DAYS)
        assert np.abs(moved).max() == CONTACT_JITTER_DAYS  # both ends reached, never passed
    # an unselected jitter: a closure mid-year (120..245 days after an anniversary) falls
    # between the contacts of that anniversary and the next whatever their jitters
    days = (dates(f["closed"]) - founded).dt.days.to_numpy()
    j = np.floor(days / CONTACT_INTERVAL_DAYS).astype(int)
    into = days - np.floor(j * CONTACT_INTERVAL_DAYS)
    mid = (j >= 1) & (into > 120) & (into < 245)
    seen = (dates(f["last_seen_meeting"]) - founded).dt.days.to_numpy()[mid]
    moved = seen - np.floor(j[mid] * CONTACT_INTERVAL_DAYS)
    sd = np.sqrt(((2 * CONTACT_JITTER_DAYS + 1) ** 2 - 1) / 12)  # discrete uniform on [-60, 60]
    assert mid.sum() > 2000 and abs(moved.mean()) <= 4 * sd / np.sqrt(mid.sum())
    assert moved.std() == pytest.approx(sd, rel=0.05)


def test_enough_contacts_are_drawn_for_the_longest_follow_up():
    """The first contact not drawn would be after the end of follow-up for every group."""
    k = _n_contacts()
    first_not_drawn = np.floor((k + 1) * CONTACT_INTERVAL_DAYS) - CONTACT_JITTER_DAYS
    assert _days(STUDY_START) + first_not_drawn > _days(STUDY_END)


def test_existing_columns_are_unchanged_from_before_the_contacts(bundled):
    """Every earlier column, byte for byte: the file before the contacts is this file's prefix."""
    old_text = git_show("bayessa/resources/data/sa_groups.csv")
    new_lines = DATA.read_text(encoding="utf-8").splitlines()
    old_lines = old_text.splitlines()
    assert len(new_lines) == len(old_lines) == 361
    assert [line.rsplit(",", len(NEW))[0] for line in new_lines] == old_lines
    old = pd.read_csv(io.StringIO(old_text), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(old, bundled[OLD])


def test_truth_keys_are_unchanged_and_the_contacts_are_recorded():
    old_text = git_show("bayessa/resources/data/sa_groups_truth.json")
    new_text = TRUTH.read_text(encoding="utf-8")
    old, new = json.loads(old_text), json.loads(new_text)
    contacts = new.pop("contacts")
    assert new == old and list(new) == list(old)  # every earlier key, in its place
    assert new_text.startswith(old_text.rstrip().removesuffix("}").rstrip())  # byte for byte
    assert contacts["interval_days"] == CONTACT_INTERVAL_DAYS == 365.25
    assert contacts["jitter_days"] == CONTACT_JITTER_DAYS == 60
    assert contacts["final_contact"] == STUDY_END
    assert contacts["contacts_drawn_per_group"] == _n_contacts() == 15


def test_contacts_come_from_a_child_stream(monkeypatch):
    """Without the contacts' draw every other column and the caller's stream are the same."""
    from bayessa.simulate import sa_groups

    with_rng, without_rng = np.random.default_rng(5), np.random.default_rng(5)
    frame, _ = make_sa_groups(seed=with_rng, n_groups=300)

    def no_draw(rng, founded, stop, closed):
        return stop, np.full(len(stop), -1)

    monkeypatch.setattr(sa_groups, "_contact_dates", no_draw)
    plain, _ = make_sa_groups(seed=without_rng, n_groups=300)
    pd.testing.assert_frame_equal(frame[OLD], plain[OLD])
    assert with_rng.random() == without_rng.random()
    assert not frame["last_seen_meeting"].equals(plain["last_seen_meeting"])


def test_interval_closure_spec_names_the_interval_columns(bundled):
    """The spec is partnership.toml with the interval roles (not fitted here: see its loader)."""
    assert SPEC.is_symlink() and SPEC.resolve().parent.name == "models"
    assert SPEC.resolve().parent.parent.name == "resources"
    spec = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    partnership = tomllib.loads((ROOT / "models" / "partnership.toml").read_text(encoding="utf-8"))
    assert spec["name"] == "interval_closure"
    data = spec["data"]
    assert data["path"] == partnership["data"]["path"]
    assert data["start"] == "founded" and data["id"] == "group_id"
    assert data["time_lower"] == "last_seen_meeting" and data["time_upper"] == "first_found_closed"
    assert not {"event", "event_date", "censor_date", "stop", "time"} & set(data)
    assert {data["start"], data["time_lower"], data["time_upper"]} <= set(bundled.columns)
    assert spec["time"] == partnership["time"]
    assert spec["model"]["formula"] == partnership["model"]["formula"]
    assert spec["model"]["reference"] == partnership["model"]["reference"]
    assert spec["priors"] == partnership["priors"]


def test_readme_documents_the_contact_dates():
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for needle in ("`last_seen_meeting`", "`first_found_closed`", "models/interval_closure.toml",
                   "(last_seen_meeting, first_found_closed]", "SeedSequence(1985).spawn(2)[1]"):  # fmt: skip
        assert needle in text, needle
