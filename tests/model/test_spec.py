"""Model specs: the bundled specs load; every problem in a bad spec is listed at once."""

from __future__ import annotations

import math
import tomllib

import pytest

from bayessa.errors import SpecError
from bayessa.model.spec import CLEAR, Prior, Spec, load_spec


@pytest.mark.parametrize(
    "name",
    [
        "partnership",
        "calendar_era",
        "stratified_setting",
        "founding_trend",
        "current_leader",
        "closure_reasons",
    ],
)
def test_bundled_specs_load_and_round_trip(root, name):
    spec = load_spec(root / "models" / f"{name}.toml")
    assert spec.name == name
    assert spec.data.path.endswith("data/sa_groups.csv")
    again = Spec.from_dict(tomllib.loads(spec.to_toml()))
    assert again.to_dict() == spec.to_dict()


def test_default_spec_contents(root):
    spec = load_spec(root / "models" / "partnership.toml")
    assert spec.model.formula == "leader * era + setting + (1 | county)"
    assert spec.model.reference == {"leader": "consumer", "era": "before", "setting": "community"}
    assert spec.priors["effects"] == Prior("normal", {"mu": 0.0, "sigma": 1.0})
    assert spec.time.cuts == (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 14.0)


def test_every_problem_listed_once():
    bad = {
        "nmae": "typo",
        "time": {"cuts": [0, 2, 1]},
        "model": {"formula": "a", "baseline": "spline", "colour": "red"},
        "priors": {
            "effects": {"dist": "cauchy", "mu": 0, "sigma": 1},
            "cluster_sd": {"dist": "normal", "mu": 0, "sigma": 1},
        },
        "sampler": {"draws": "many", "target_accept": 1.5},
    }
    with pytest.raises(SpecError) as exc:
        Spec.from_dict(bad)
    msg = str(exc.value)
    for part in (
        "unknown top-level key 'nmae'",
        "unknown key 'colour' in [model]",
        "prior 'effects': unknown family 'cauchy'",
        "prior 'cluster_sd' is a standard deviation",
        "[sampler] draws must be an integer",
    ):
        assert part in msg, part
    # semantic problems are reported once the structure is right
    with pytest.raises(SpecError) as exc:
        Spec.from_dict(
            {
                "time": {"cuts": [0, 2, 1]},
                "model": {"formula": "a", "baseline": "spline"},
                "sampler": {"target_accept": 1.5},
            }
        )
    msg = str(exc.value)
    assert "strictly increasing" in msg and "baseline = 'spline'" in msg and "target_accept" in msg


@pytest.mark.parametrize(
    "prior, match",
    [
        ({"dist": "normal", "mu": 0}, "missing \\['sigma'\\]"),
        ({"dist": "normal", "mu": 0, "sigma": -1}, "sigma must be > 0"),
        ({"dist": "normal", "mu": 0, "sigma": math.inf}, "finite number"),
        ({"mu": 0}, "must be a table with a dist"),
    ],
)
def test_bad_priors(prior, match):
    with pytest.raises(SpecError, match=match):
        Spec.from_dict({"model": {"formula": "a"}, "priors": {"effects": prior}})


def test_overrides_and_clear():
    spec = Spec.from_dict({"model": {"formula": "a"}, "data": {"time": "t", "event": "d"}})
    s2 = spec.with_overrides(sampler__draws=10, data__time=CLEAR, data__start="s", data__stop="e")
    assert s2.sampler.draws == 10 and s2.data.time is None and s2.data.start == "s"
    with pytest.raises(SpecError, match="draws must be a positive integer"):
        spec.with_overrides(sampler__draws=0)


def test_load_spec_errors(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)
    p = tmp_path / "bad.toml"
    p.write_text("name = \n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(p)


def test_formula_override_keeps_only_the_reference_levels_it_uses(root):
    from bayessa.model.preparation import resolve_spec

    spec = resolve_spec(root / "models" / "partnership.toml", formula="leader + (1 | county)")
    assert spec.model.formula == "leader + (1 | county)"
    assert spec.model.reference == {"leader": "consumer"}
