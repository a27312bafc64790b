"""``python -m bayessa.compare``: PSIS-LOO of runs and their comparison (:mod:`bayessa.cli.compare`)."""

from bayessa.cli.common import run_command
from bayessa.cli.compare import main

if __name__ == "__main__":
    run_command(main)
