"""``python -m bayessa.expansion``: the expansion analysis (:mod:`bayessa.cli.expansion`).

Only for ``python -m``: the library function is :func:`bayessa.expansion`; importing this module
never replaces it.
"""

from bayessa.cli.common import run_command
from bayessa.cli.expansion import main

if __name__ == "__main__":
    run_command(main)
