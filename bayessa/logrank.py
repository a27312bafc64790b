"""``python -m bayessa.logrank``: log-rank family tests on a table of units (:mod:`bayessa.cli.logrank`).

Only for ``python -m``: the library function is :func:`bayessa.logrank`; importing this module never replaces it.
"""

from bayessa.cli.common import run_command
from bayessa.cli.logrank import main

if __name__ == "__main__":
    run_command(main)
