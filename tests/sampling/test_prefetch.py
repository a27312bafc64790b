"""Importing what later steps need while nutpie samples (bayessa.sampling.nuts._wait)."""

from __future__ import annotations

import sys

import pytest

from bayessa.sampling.nuts import _wait


class FakeSampler:
    def __init__(self, error=None):
        self.calls, self.error = [], error

    def wait(self):
        self.calls.append("wait")
        if self.error:
            raise self.error
        return "trace"

    def abort(self):
        self.calls.append("abort")
        return "partial trace"

    def cancel(self):
        self.calls.append("cancel")


def test_modules_are_imported_then_the_trace_is_returned(monkeypatch):
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    timings = {}
    s = FakeSampler()
    assert _wait(s, ["colorsys", "no_such_module_for_bayessa"], timings) == "trace"
    assert "colorsys" in sys.modules and s.calls == ["wait"]  # a missing module is skipped
    assert timings["prefetch_s"] >= 0


def test_interrupt_aborts_and_errors_cancel_the_sampler():
    s = FakeSampler(KeyboardInterrupt())
    assert _wait(s, [], {}) == "partial trace" and s.calls == ["wait", "abort"]
    s = FakeSampler(RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        _wait(s, [], {})
    assert s.calls == ["wait", "cancel"]


def test_the_timing_line_names_every_phase():
    from bayessa.cli.fit import _timing_line

    t = {"startup_s": 0.1, "imports_s": 1.0, "prepare_s": 0.05, "build_s": 0.0,
         "compile_s": 0.5, "sample_s": 2.0, "prefetch_s": 0.8, "assemble_s": 0.2,
         "summary_s": 0.3, "write_s": 0.4, "report_s": 2.0, "compile_cache": "warm",
         "report_parts": {"survival_s": 1.0}}  # fmt: skip
    line = _timing_line(t, 6.55)
    assert line.startswith("Time: 6.5 s end to end, 2.0 s sampling (3.3x); start-up 0.10")
    assert "sampling 2.00 (importing for later steps meanwhile: 0.80)" in line
    assert line.endswith("report 2.00 (compiled model: warm)")
