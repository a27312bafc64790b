"""The bundled spec ``founding_trend``: a smooth in the founding date (issue 13, item 9). Fast: no
sampling -- the spec loads and round-trips, and the design it builds from the bundled data has the
smooth's basis columns beside leader, setting and the county intercepts."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bayessa.model.preparation import prepare, resolve_spec
from bayessa.model.spec import Spec, load_spec
from bayessa.resources import bundled_data, bundled_spec, bundled_specs

ROOT = Path(__file__).resolve().parents[2]
SMOOTH = [f"s(founding_year)[{j}]" for j in range(2, 11)]  # k = 10, b_1 = 0


@pytest.fixture(scope="module")
def prepared():
    return prepare(None, resolve_spec(ROOT / "models" / "founding_trend.toml"))


def test_the_spec_is_bundled_linked_and_round_trips(root):
    path = root / "models" / "founding_trend.toml"
    assert path.is_symlink() and path.resolve() == bundled_spec("founding_trend").resolve()
    assert "founding_trend" in bundled_specs()
    spec = load_spec(path)
    assert spec.name == "founding_trend"
    assert spec.data.path.endswith("data/sa_groups.csv")
    assert spec.model.formula == "leader + setting + s(founding_year) + (1 | county)"
    assert "era" not in spec.model.formula  # era at founding is a step in the same date
    again = Spec.from_dict(tomllib.loads(spec.to_toml()))
    assert again.to_dict() == spec.to_dict()
    partnership = load_spec(root / "models" / "partnership.toml")
    assert spec.sampler == partnership.sampler and spec.data == partnership.data
    assert spec.time == partnership.time


def test_the_design_has_the_smooth_and_the_other_terms(prepared):
    design = prepared.design
    assert design.coef_names == ["leader[professional]", "setting[mental_health]", *SMOOTH]
    assert design.terms == ["leader", "setting", "s(founding_year)"]
    assert [r.name for r in design.random] == ["county"]
    assert prepared.data.n_units == 360 and prepared.data.audit.rows_excluded == 0
    term = design.numeric["s(founding_year)[2]"]
    assert term.column == "founding_year" and term.reference == 1987.0
    assert term.knots[0] == 1985.52 and term.knots[-1] == 1999.23  # the founding dates' range


def _decimal_year(iso: str) -> float:
    """Written independently of the simulator: the calendar module's day of year and leap years."""
    date = dt.date.fromisoformat(iso)
    days = 366 if calendar.isleap(date.year) else 365
    return date.year + (date.timetuple().tm_yday - 1) / days


def test_founding_year_in_the_bundled_csv_is_the_decimal_year_of_founded():
    with open(bundled_data(), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 360
    for row in rows:
        assert row["founding_year"] == f"{_decimal_year(row['founded']):.2f}", row["group_id"]
    # the exact values are never within rounding error of a tie: rounding is unambiguous
    frac = np.array([_decimal_year(r["founded"]) * 100 % 1 for r in rows])
    assert np.abs(frac - 0.5).min() > 1e-6
