"""``python -m bayessa.report``: rebuild the report of a saved run (:mod:`bayessa.cli.report`)."""

from bayessa.cli.common import run_command
from bayessa.cli.report import main

if __name__ == "__main__":
    run_command(main)
