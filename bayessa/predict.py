"""``python -m bayessa.predict``: predictions of a run for new units (:mod:`bayessa.cli.predict`)."""

from bayessa.cli.common import run_command
from bayessa.cli.predict import main

if __name__ == "__main__":
    run_command(main)
