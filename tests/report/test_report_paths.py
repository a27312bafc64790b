"""The report of a run whose covariates change during follow-up (heart: transplant 0 -> 1)."""

from __future__ import annotations

import json
from pathlib import Path

from fakes import fake_run

from bayessa.report import build as report

REF = Path(__file__).parents[1] / "reference" / "tvc"


def test_report_counts_current_values_and_labels_entry_groups():
    run = fake_run(
        data=REF / "heart.csv", formula="C(transplant) + age + surgery", id="id", tstart="start",
        tstop="stop", event="event", time_unit="days", cuts=[0, 30, 100, 365, 2000],
    )  # fmt: skip
    rep = report.build_report(run, report.ReportOptions(max_draws=30))
    md = rep.markdown()
    r = json.loads((REF / "tvc_reference.json").read_text())["logrank"]["heart_transplant"]
    # the log-rank test with the current group: R's coxph score test, as printed
    assert f"| transplant | {r['statistic']:.2f} | 1 | {r['p_value']:.3g} |" in md
    assert "0: O 30 / E 31.4; 1: O 45 / E 43.6" in md
    # person-time by the current value: 69 transplanted units, their 45 events
    assert "(by the current value" in md
    assert "| transplant | 1 | 69 | 45 | 25998.5 |" in md
    assert "Units grouped by their transplant at entry; 69 of 103 units change" in md
    assert "set to each level for the whole follow-up (it changes for 69 units" in md
