"""``python -m bayessa.cuminc``: competing-risks estimates and tests (:mod:`bayessa.cli.cuminc`).

Only for ``python -m``: the library functions are :func:`bayessa.cumulative_incidence` and
:func:`bayessa.gray_test`.
"""

from bayessa.cli.common import run_command
from bayessa.cli.cuminc import main

if __name__ == "__main__":
    run_command(main)
