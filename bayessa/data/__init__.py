"""The data layer: column roles, reading, validation, the Lexis split and the cells.

Data flow: a table (one row per unit) -> :func:`read_data` (:func:`read_table` + :func:`validate`)
-> :class:`SurvivalData` -> :func:`split` (Lexis: unit x age interval x calendar period) ->
:class:`Pieces` -> :func:`aggregate` -> :class:`Cells` (events and exposure per cell, exact for the
piecewise-exponential likelihood). Imports only :mod:`bayessa.errors`.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "Cells": "bayessa.data.cells",
    "apply_changes": "bayessa.data.changes",
    "aggregate": "bayessa.data.cells",
    "Audit": "bayessa.data.columns",
    "Columns": "bayessa.data.columns",
    "Exclusion": "bayessa.data.columns",
    "RESERVED": "bayessa.data.columns",
    "SurvivalData": "bayessa.data.columns",
    "TIME_UNITS": "bayessa.data.columns",
    "to_calendar": "bayessa.data.columns",
    "counting_follow_up": "bayessa.data.counting",
    "order_unit_rows": "bayessa.data.counting",
    "interval_follow_up": "bayessa.data.intervals",
    "Pieces": "bayessa.data.lexis",
    "check_cuts": "bayessa.data.lexis",
    "interval_labels": "bayessa.data.lexis",
    "split": "bayessa.data.lexis",
    "FORMATS": "bayessa.data.read",
    "read_data": "bayessa.data.read",
    "read_table": "bayessa.data.read",
    "MAX_NUMERIC_LEVELS": "bayessa.data.parsing",
    "event_column": "bayessa.data.parsing",
    "level_label": "bayessa.data.parsing",
    "single_valued": "bayessa.data.validation",
    "validate": "bayessa.data.validation",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
