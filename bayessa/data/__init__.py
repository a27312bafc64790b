"""The data layer: column roles, reading, validation, the Lexis split and the cells.

Data flow: a table (one row per unit) -> :func:`read_data` (:func:`read_table` + :func:`validate`)
-> :class:`SurvivalData` -> :func:`split` (Lexis: unit x age interval x calendar period) ->
:class:`Pieces` -> :func:`aggregate` -> :class:`Cells` (events and exposure per cell, exact for the
piecewise-exponential likelihood). The same steps run partition by partition on Dask for tables
larger than memory (:func:`partitioned_cells`), and cells are a product of their own
(:func:`write_cells`, :func:`read_cells`). Imports only :mod:`bayessa.errors`.
"""

from bayessa._lazy import lazy_exports

_EXPORTS = {
    "Cells": "bayessa.data.cells",
    "UnitSummary": "bayessa.data.cells",
    "combine_parts": "bayessa.data.cells",
    "exposure_parts": "bayessa.data.cells",
    "CELLS_FORMAT": "bayessa.data.cell_file",
    "METADATA_KEY": "bayessa.data.cell_file",
    "read_cells": "bayessa.data.cell_file",
    "write_cells": "bayessa.data.cell_file",
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
    "CHUNK_ROWS": "bayessa.data.partitioned",
    "DASK_MIN_ROWS": "bayessa.data.partitioned",
    "ENGINES": "bayessa.data.partitioned",
    "ParquetPart": "bayessa.data.partitioned",
    "choose_engine": "bayessa.data.partitioned",
    "dask_client": "bayessa.data.partitioned",
    "dataset_parts": "bayessa.data.partitioned",
    "partitioned_cells": "bayessa.data.partitioned",
    "TableFacts": "bayessa.data.validation",
    "single_valued": "bayessa.data.validation",
    "validate": "bayessa.data.validation",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
