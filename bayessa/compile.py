"""``python -m bayessa.compile``: compile a spec's model into the cache (:mod:`bayessa.cli.compile`)."""

from bayessa.cli.common import run_command
from bayessa.cli.compile import main

if __name__ == "__main__":
    run_command(main)
