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
