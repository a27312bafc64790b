"""``python -m bayessa.fit``: fit a model spec to data and write a run directory (:mod:`bayessa.cli.fit`).

Only for ``python -m``: the library function is :func:`bayessa.fit`; importing this module never replaces it.
"""

from bayessa.cli.common import run_command
from bayessa.cli.fit import main

if __name__ == "__main__":
    run_command(main)
