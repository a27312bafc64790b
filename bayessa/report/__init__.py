"""The run report: computed from a run's DataTree, written as HTML, Markdown and CSV.

The run report: :func:`build_report` computes it from a run, :func:`write_report` writes HTML,
Markdown, CSV and figures. Reads only the DataTree, so it can be tested on a fake posterior.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "default_times": "bayessa.report.build",
    "REPORT_FILES": "bayessa.report.build",
    "Report": "bayessa.report.build",
    "ReportOptions": "bayessa.report.build",
    "ReportWarning": "bayessa.report.build",
    "build_report": "bayessa.report.build",
    "write_report": "bayessa.report.build",
    "cells_only_sections": "bayessa.report.cells_only",
    "competing_blocks": "bayessa.report.competing",
    "write_competing_report": "bayessa.report.competing",
    "expansion_blocks": "bayessa.report.expansion",
    "write_expansion_report": "bayessa.report.expansion",
    "Block": "bayessa.report.render",
    "fmt_table": "bayessa.report.render",
    "write_pages": "bayessa.report.render",
    "to_html": "bayessa.report.render",
    "to_markdown": "bayessa.report.render",
    "survival_section": "bayessa.report.survival",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
