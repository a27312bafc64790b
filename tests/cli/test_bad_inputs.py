"""The bad-input catalogue (docs/bad_inputs.md): every malformed file, spec or argument given to
``python -m bayessa.fit`` exits 2 with one short message naming the problem and the fix, never a
traceback, and leaves an existing run untouched. Legal but awkward inputs are accepted with what
was assumed stated in the audit (or refused, where documented).

No test here samples: the sampler is replaced by one that fails the test if it is ever reached.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayessa.sampling.nuts
from bayessa.cli.fit import main
from bayessa.model.preparation import prepare, resolve_spec

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "data" / "sa_groups.csv"

DUR_SPEC = """name = "durations"
[data]
id = "gid"
time = "years"
event = "closed"
[time]
cuts = [0, 1, 2, 5, 10]
[model]
formula = "leader + (1 | county)"
"""


def durations(**changes) -> pd.DataFrame:
    """40 units in the durations form; ``changes`` maps column -> {row: value}."""
    d = pd.DataFrame(
        {
            "gid": [f"g{i}" for i in range(40)],
            "years": np.round(np.linspace(0.1, 9.0, 40), 3).astype(str),
            "closed": ["0" if i % 3 == 2 else "1" for i in range(40)],
            "leader": ["consumer", "professional"] * 20,
            "county": ["A", "B", "C", "D"] * 10,
        }
    )
    for col, rows in changes.items():
        for r, v in rows.items():
            d.loc[r, col] = v
    return d


CP_SPEC = """name = "rows"
[data]
id = "gid"
tstart = "t0"
tstop = "t1"
event = "closed"
[time]
cuts = [0, 1, 2, 5, 10]
[model]
formula = "leader + (1 | county)"
"""


def counting_rows(**changes) -> pd.DataFrame:
    """20 units of two rows each (leader changes at 1); ``changes`` maps column -> {row: value}."""
    d = pd.DataFrame(
        {
            "gid": [f"u{i // 2}" for i in range(40)],
            "t0": [0.0, 1.0] * 20,
            "t1": [1.0 if i % 2 == 0 else 1.5 + (i // 2) * 0.3 for i in range(40)],
            "closed": [0 if i % 2 == 0 else (i // 2) % 3 != 2 for i in range(40)],
            "leader": ["consumer", "professional"] * 20,
            "county": [["A", "B", "C", "D"][(i // 2) % 4] for i in range(40)],
        }
    ).astype({"closed": int})
    for col, rows in changes.items():
        for r, v in rows.items():
            d.loc[r, col] = v
    return d


def with_changes(changes: pd.DataFrame) -> Callable[[Path], str]:
    """The durations table as data and ``changes`` as ch.csv (pass --changes ch.csv)."""

    def make(d: Path) -> str:
        durations().to_csv(d / "in.csv", index=False)
        changes.to_csv(d / "ch.csv", index=False)
        return "in.csv"

    return make


def bundled(n: int = 60) -> pd.DataFrame:
    return pd.read_csv(BUNDLED, dtype=str, keep_default_na=False).head(n)


@pytest.fixture(autouse=True)
def no_sampling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the catalogue case reached sampling; it should fail before")

    monkeypatch.setattr(bayessa.sampling.nuts, "sample", refuse)


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dur.toml").write_text(DUR_SPEC)
    (tmp_path / "cp.toml").write_text(CP_SPEC)
    durations().to_csv(tmp_path / "dur.csv", index=False)
    bundled().to_csv(tmp_path / "dates.csv", index=False)
    return tmp_path


def csv(frame: pd.DataFrame, **kw) -> Callable[[Path], str]:
    def make(d: Path) -> str:
        frame.to_csv(d / "in.csv", index=False, **kw)
        return "in.csv"

    return make


def raw(data: bytes, name: str = "in.csv") -> Callable[[Path], str]:
    def make(d: Path) -> str:
        (d / name).write_bytes(data)
        return name

    return make


def spec_file(text: str) -> Callable[[Path], str]:
    def make(d: Path) -> str:
        (d / "spec.toml").write_text(text)
        return "spec.toml"

    return make


DUR = ["--model", "dur.toml"]
CP = ["--model", "cp.toml"]
CHANGES = [*DUR, "--changes", "ch.csv", "--change-time", "at"]
# (id, make data file or None, extra args, model-spec maker or None, expected message parts)
CASES = [
    ("wrong-delimiter", csv(bundled(), sep=";"), [], None, ["separated by semicolons", "comma-separated"]),
    ("tab-delimiter", csv(bundled(), sep="\t"), [], None, ["separated by tabs", "comma-separated"]),
    ("missing-header", csv(bundled(), header=False), [], None, ["header row looks like data", "add a header row"]),
    ("mixed-date-formats", csv(bundled().assign(founded=lambda d: d["founded"].where(d.index != 3, "07/09/1985"))), [], None, ["not ISO 8601 (e.g. '07/09/1985')", "SA0004", "YYYY-MM-DD"]),
    ("time-with-units", csv(durations(years={2: "2.5 years"})), DUR, None, ["not numbers (e.g. '2.5 years')", "g2", "without units"]),
    ("negative-time", csv(durations(years={2: "-1"})), DUR, None, ["negative durations", "g2", ">= 0"]),
    ("nan-time", csv(durations(years={2: "NaN"})), DUR, None, ["missing duration", "g2", "fill in"]),
    ("infinite-time", csv(durations(years={2: "inf"})), DUR, None, ["infinite duration", "g2", "finite"]),
    ("duplicated-ids", csv(durations(gid={2: "g1"})), DUR, None, ["duplicated unit ids", "g1", "unique id"]),
    ("one-level-covariate", csv(durations().assign(leader="consumer")), DUR, None, ["single level", "remove it"]),
    ("log-of-zero", csv(durations().assign(size=np.arange(40) % 7)), [*DUR, "--formula", "log(size) + (1 | county)"], None, ["'log(size)' needs size > 0", "shift the column"]),
    ("numeric-transform-of-text", None, ["--formula", "log(leader)"], None, ["not numbers", "C(leader)"]),
    ("formula-missing-column", None, ["--formula", "leader + sponsor + (1 | county)"], None, ["column 'sponsor' not found", "name an existing column"]),
    ("formula-unbalanced", None, ["--formula", "leader + (1 | county"], None, ["cannot parse the formula", "supported"]),
    ("formula-dangling-plus", None, ["--formula", "leader * era +"], None, ["cannot parse the formula"]),
    ("formula-response", None, ["--formula", "closed ~ leader"], None, ["response", "right-hand side"]),
    ("formula-transform", None, ["--formula", "np.log(leader)"], None, ["'np.log(leader)' is not supported", "make a new column"]),
    ("cuts-unsorted", None, ["--cuts", "0,2,1,14"], None, ["strictly increasing", "sorted"]),
    ("cuts-negative", None, ["--cuts=-1,0,1,14"], None, ["cuts must start at 0"]),
    ("cuts-inf-inside", None, ["--cuts", "0,inf,14"], None, ["only the last may be inf"]),
    ("cuts-too-short", None, ["--cuts", "0,1,2"], None, ["beyond the last cut point 2", "--admin-censor"]),
    ("unknown-prior-family", None, [], spec_file(DUR_SPEC + '[priors]\neffects = { dist = "cauchy", mu = 0, sigma = 1 }\n'), ["unknown family 'cauchy'", "normal"]),
    ("spec-not-toml", None, [], spec_file("name = [unclosed\n"), ["not valid TOML"]),
    ("spec-unknown-key", None, [], spec_file(DUR_SPEC.replace("[model]", "[model]\nbaseline_kind = 'rw1'")), ["unknown key 'baseline_kind'", "allowed"]),
    ("spec-missing", None, ["--model", "nope.toml"], None, ["does not exist"]),
    ("spec-is-directory", None, ["--model", "."], None, ["is a directory", ".toml"]),
    ("data-missing", None, ["--data", "nope.csv"], None, ["does not exist", "check the path"]),
    ("data-is-directory", None, ["--data", "."], None, ["is a directory", "CSV or Parquet"]),
    ("data-not-utf8", raw(bytes(range(256)) * 8), [], None, ["not UTF-8", "save the table as UTF-8"]),
    ("data-corrupt-parquet", raw(b"not a parquet file", "in.parquet"), [], None, ["could not be read as a table", "Parquet"]),
    ("data-ragged-rows", raw(b"group_id,county\nSA1,Wayne\nSA2,Wayne,extra,more\n"), [], None, ["could not be read as a table", "Expected 2 fields"]),
    ("empty-file", raw(b""), [], None, ["the file is empty", "header row"]),
    ("header-no-rows", raw(",".join(bundled().columns).encode() + b"\n"), [], None, ["header but no rows", "one row per unit"]),
    ("event-coded-2", csv(durations(closed={4: "2"})), DUR, None, ["event values outside", "g4", "1 = event"]),
    ("event-codings-mixed", csv(durations(closed={4: "yes", 5: "no"})), DUR, None, ["event values outside", "g4, g5"]),
    ("no-events", csv(durations().assign(closed="0")), DUR, None, ["no events at all", "coding"]),
    ("end-before-start", csv(bundled().assign(last_contact=lambda d: d["last_contact"].where(d.index != 0, "1980-01-01"))), [], None, ["end of follow-up before founded", "SA0001"]),
    ("event-at-time-zero-durations", csv(durations(years={0: "0"})), DUR, None, ["zero-length follow-up", "g0"]),
    ("event-flag-without-form", None, ["--event", "closed"], None, ["--event needs a follow-up form"]),
    ("target-accept-out-of-range", None, ["--target-accept", "1.5"], None, ["between 0 and 1"]),
    ("draws-not-a-number", None, ["--draws", "abc"], None, ["expected a whole number"]),
    ("rows-overlap", csv(counting_rows(t0={7: 0.5})), CP, None, ["overlapping rows of a unit", "u3", "disjoint"]),
    ("rows-event-before-last", csv(counting_rows(closed={4: 1})), CP, None, ["event on a row that is not the unit's last", "u2", "last row"]),
    ("rows-empty", csv(counting_rows(t1={8: 0.0})), CP, None, ["t1 at or before t0", "u4", "t1 > t0"]),
    ("rows-cluster-changes", csv(counting_rows(county={11: "Z"})), CP, None, ["'county' changes between the rows of a unit", "u5"]),
    ("rows-without-id", csv(counting_rows()), [], spec_file(CP_SPEC.replace('id = "gid"\n', "")), ["needs an id column", "which rows belong"]),
    ("changes-unknown-id", with_changes(pd.DataFrame({"gid": ["g1", "zz"], "at": [0.5, 1.0], "leader": ["professional"] * 2})), CHANGES, None, ["ids that are not in the base table", "zz"]),
    ("changes-conflicting", with_changes(pd.DataFrame({"gid": ["g3", "g3"], "at": [1.0, 1.0], "leader": ["professional", "consumer"]})), CHANGES, None, ["conflicting changes", "g3", "one change"]),
    ("changes-without-time-column", with_changes(pd.DataFrame({"gid": ["g1"], "when": [1.0], "leader": ["professional"]})), CHANGES, None, ["column 'at' not found", "when"]),
]  # fmt: skip


def run_cli(argv: list[str]) -> int:
    """``main(argv)``, with the bundled spec named when a case gives data but no spec.

    The catalogue's cases without ``--model`` are about tables laid out like the bundled data and
    read by the bundled analysis; ``--data`` alone would now be a spec-free fit (tested in
    tests/api/test_spec_free.py), so they name the bundled spec explicitly.
    """
    if "--data" in argv and "--model" not in argv:
        argv = [*argv, "--model", str(ROOT / "models" / "partnership.toml")]
    return main(argv)


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def existing_run(root: Path) -> tuple[Path, dict[str, bytes]]:
    run = root / "runs" / "precious"
    run.mkdir(parents=True)
    (run / "MARKER").write_text("an earlier run that must survive\n")
    (run / "summary.csv").write_text("name,mean\nbeta,0.5\n")
    return run, snapshot(run)


def check_refused(capsys, rc: int, parts: list[str]) -> str:
    out, err = capsys.readouterr()
    assert rc == 2, f"exit code {rc}, stderr: {err}"
    assert "Traceback" not in err + out
    assert "error:" in err
    for part in parts:
        assert part in err, f"{part!r} not in message:\n{err}"
    message = err.split("error:", 1)[1]
    assert len(message) < 700, f"message is not short ({len(message)} characters):\n{err}"
    return err


def test_catalogue_has_at_least_25_cases():
    assert len(CASES) >= 25 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("make", "args", "make_spec", "parts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_exits_2_without_touching_an_existing_run(work, capsys, make, args, make_spec, parts):  # fmt: skip
    run, before = existing_run(work)
    argv = list(args)
    if make_spec is not None:
        argv += ["--model", make_spec(work)]
    if make is not None:
        argv += ["--data", make(work)]
    if "--data" not in argv:  # the durations spec reads dur.csv, the default spec dates.csv
        argv += ["--data", "dur.csv" if make_spec or "dur.toml" in argv else "dates.csv"]
    rc = run_cli([*argv, "--out", str(run), "--overwrite", "--quiet"])
    check_refused(capsys, rc, parts)
    assert snapshot(run) == before
    assert sorted(p.name for p in run.parent.iterdir()) == ["precious"]  # no temporary folders


def test_output_that_is_a_file_is_refused(work, capsys):
    (work / "taken").write_text("not a folder")
    rc = run_cli(["--data", "dates.csv", "--out", "taken", "--quiet"])
    check_refused(capsys, rc, ["exists and is not a directory"])
    assert (work / "taken").read_text() == "not a folder"


def test_output_that_cannot_be_created_is_refused_before_fitting(work, capsys):
    (work / "afile").write_text("x")
    rc = run_cli(["--data", "dates.csv", "--out", "afile/run", "--quiet"])
    check_refused(capsys, rc, ["cannot be created", "is a file", "choose another --out"])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_output_without_write_permission_is_refused(work, capsys):
    locked = work / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        rc = run_cli(["--data", "dates.csv", "--out", "locked/run", "--quiet"])
        check_refused(capsys, rc, ["no write permission", "choose a writable --out"])
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_unreadable_data_file_is_refused(work, capsys):
    (work / "dates.csv").chmod(0o000)
    try:
        rc = run_cli(["--data", "dates.csv", "--out", "run", "--quiet"])
        check_refused(capsys, rc, ["could not be read", "Permission denied"])
    finally:
        (work / "dates.csv").chmod(0o600)


def test_existing_run_needs_overwrite(work, capsys):
    run, before = existing_run(work)
    rc = run_cli(["--data", "dates.csv", "--out", str(run), "--quiet"])
    check_refused(capsys, rc, ["already holds a run", "--overwrite"])
    assert snapshot(run) == before


# ------------------------------------------------------------------ legal but awkward inputs


def prepared(path: Path, spec: str | Path = "dur.toml", **overrides):
    spec = resolve_spec(spec, **overrides)
    return prepare(path, spec)


def notes(p) -> str:
    return "\n".join(p.data.audit.notes + p.pieces.notes)


def test_byte_order_mark_is_ignored_and_noted(work):
    (work / "bom.csv").write_bytes(b"\xef\xbb\xbf" + (work / "dates.csv").read_bytes())
    p = prepared(work / "bom.csv", ROOT / "models" / "partnership.toml")
    assert p.data.n_units == 60 and "byte-order mark" in notes(p)


@pytest.mark.parametrize(("yes", "no", "noted"), [("yes", "no", "coded yes/no"), ("Y", "N", "coded yes/no"), ("TRUE", "false", "true/false")])  # fmt: skip
def test_events_coded_as_words_are_read_and_noted(work, yes, no, noted):
    d = durations()
    d["closed"] = np.where(d["closed"] == "1", yes, no)
    d.to_csv(work / "words.csv", index=False)
    p = prepared(work / "words.csv")
    assert p.data.frame["event"].tolist() == durations()["closed"].astype(int).tolist()
    assert noted in notes(p)


def test_county_without_events_is_kept_and_noted(work):
    d = durations()
    d.loc[d["county"] == "D", "closed"] = "0"
    d.to_csv(work / "d.csv", index=False)
    p = prepared(work / "d.csv")
    assert "D" in p.design.random[0].levels
    assert "1 of 4 'county' levels have no events (D)" in notes(p)


def test_covariate_level_without_events_is_noted(work):
    d = durations()
    d.loc[d["leader"] == "professional", "closed"] = "0"
    d.to_csv(work / "d.csv", index=False)
    assert "level 'professional' of 'leader' has no events" in notes(prepared(work / "d.csv"))


def test_whole_number_covariate_is_numeric_as_in_r_and_c_makes_categories(work):
    durations().assign(grade=np.arange(40) % 3).to_csv(work / "d.csv", index=False)
    p = prepared(work / "d.csv", formula="grade + (1 | county)")
    assert p.design.coef_names == ["grade"]
    assert (
        "covariate 'grade' is numeric with 3 distinct whole values (0, 1, 2): it enters "
        "linearly, per unit; write C(grade) in the formula to treat it as categories"
    ) in notes(p)
    p = prepared(work / "d.csv", formula="C(grade) + (1 | county)")
    assert p.design.coef_names == ["grade[1]", "grade[2]"]


def test_cut_points_beyond_the_data_are_noted(work):
    p = prepared(work / "dur.csv", cuts=[0, 1, 2, 5, 10, 20, 30])
    assert p.cells.frame["interval"].cat.categories[-1] == "(20,30]"
    assert "no follow-up in interval(s) (10,20], (20,30]" in notes(p)


def test_event_on_the_start_date_is_placed_at_half_a_day(work):
    d = bundled()
    d.loc[5, ["closed", "last_contact"]] = d.loc[5, "founded"]
    d.to_csv(work / "d.csv", index=False)
    p = prepared(work / "d.csv", ROOT / "models" / "partnership.toml")
    row = p.data.frame.set_index("id").loc["SA0006"]
    assert row["event"] == 1 and row["exit"] == pytest.approx(0.5 / 365.25)
    assert "1 unit(s) (SA0006): event on the start date (founded): placed half a day" in notes(p)


def test_censoring_on_the_start_date_is_refused(work, capsys):
    d = bundled()
    d.loc[0, "last_contact"] = d.loc[0, "founded"]  # SA0001 is censored
    d.to_csv(work / "d.csv", index=False)
    rc = run_cli(["--data", "d.csv", "--out", "run", "--quiet"])
    check_refused(capsys, rc, ["zero-length follow-up", "SA0001", "remove it"])
