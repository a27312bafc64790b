"""``python -m bayessa.cells``: the cells of a spec's data as a Parquet file (:mod:`bayessa.cli.cells`).

Only for ``python -m``: the cells themselves are :class:`bayessa.data.Cells`.
"""

from bayessa.cli.cells import main
from bayessa.cli.common import run_command

if __name__ == "__main__":
    run_command(main)
