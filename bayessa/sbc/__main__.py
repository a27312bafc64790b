"""``python -m bayessa.sbc``: simulation-based calibration of a spec's model (:mod:`bayessa.cli.sbc`)."""

from bayessa.cli.common import run_command
from bayessa.cli.sbc import main

if __name__ == "__main__":
    run_command(main)
