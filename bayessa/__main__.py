"""``python -m bayessa COMMAND ...``: the same as the ``bayessa`` console script."""

from bayessa.cli import main
from bayessa.cli.common import run_command

if __name__ == "__main__":
    run_command(main)
