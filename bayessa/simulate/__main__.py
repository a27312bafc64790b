"""``python -m bayessa.simulate``: simulate survival data sets (:mod:`bayessa.cli.simulate`)."""

from bayessa.cli.common import run_command
from bayessa.cli.simulate import main

if __name__ == "__main__":
    run_command(main)
