"""Command-line plumbing (bayessa.cli) as a real process sees it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import atexit, sys
atexit.register(lambda: print("handler ran"))
from bayessa._runtime import exit_without_teardown
print("body", end="")          # unflushed: must still reach the pipe
sys.stderr.write("a message")
exit_without_teardown(3)
print("never")
"""


def test_exit_without_teardown_keeps_code_output_and_exit_handlers():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert out.returncode == 3
    assert out.stdout == "bodyhandler ran\n"
    assert out.stderr == "a message"


def test_command_module_exits_2_with_one_message_and_no_traceback(tmp_path):
    missing = tmp_path / "missing.toml"
    out = subprocess.run(
        [sys.executable, "-m", "bayessa.compile", "--model", str(missing)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("error:") == 1 and "does not exist" in out.stderr
    assert "Traceback" not in out.stderr


COMMANDS = (
    "fit", "cells", "report", "compare", "predict", "logrank", "cuminc", "sbc", "compile",
    "simulate",
)  # fmt: skip


def test_every_command_runs_as_python_dash_m_and_as_a_subcommand():
    """``python -m bayessa.<cmd> --help`` and ``python -m bayessa <cmd> --help`` both exit 0."""
    for command in COMMANDS:
        for argv in (["-m", f"bayessa.{command}"], ["-m", "bayessa", command]):
            out = subprocess.run([sys.executable, *argv, "--help"], capture_output=True, text=True)
            assert out.returncode == 0, (argv, out.stderr[-2000:])
            usage = (
                f"usage: bayessa {command}" if argv[1] == "bayessa" else "usage: python -m bayessa."
            )
            assert out.stdout.startswith(usage) and out.stderr == "", out.stdout[:80]


def test_bayessa_main_lists_commands_and_refuses_unknown_ones(capsys):
    from bayessa.cli import main

    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    assert all(f"  {c} " in listing for c in COMMANDS)
    assert main([]) == 2 and "usage: bayessa COMMAND" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bayessa: error: unknown command 'frobnicate'") and "fit" in err
    assert main(["logrank", "--frobnicate"]) == 2  # the command's own convention
    err = capsys.readouterr().err
    assert "bayessa logrank: error: the following arguments are required: --data" in err
    from bayessa.cli import logrank

    assert logrank.PROG == "python -m bayessa.logrank"  # restored for python -m and tests


def test_a_reader_that_closes_early_ends_the_command_quietly():
    """A command piped into ``head``: no BrokenPipeError traceback, exit 0."""
    body = (
        "import sys; from bayessa.cli.common import run_main\n"
        "def body():\n"
        "    for _ in range(200_000):\n"
        "        print('x' * 80)  # far more than a pipe holds\n"
        "    return 0\n"
        "sys.exit(run_main(body, 'prog'))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", body], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait() == 0 and "Traceback" not in err, err
