"""`import rlcourse` is free of side effects, and the command line lists its tools."""

import subprocess
import sys

PROBE = """
import sys
import rlcourse
heavy = [m for m in ("torch", "matplotlib", "gymnasium", "nbgrader") if m in sys.modules]
print(repr((rlcourse.__version__, heavy)))
"""


def test_import_has_no_side_effects():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stderr == ""
    version, heavy = eval(out.stdout)
    assert version
    assert heavy == [], f"`import rlcourse` imported {heavy} (keep the package import light)"


def test_help_lists_the_subcommands():
    out = subprocess.run([sys.executable, "-m", "rlcourse", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("build", "execute"):
        assert command in out
    import importlib.util

    if importlib.util.find_spec("rlcourse.notebook_tools.grade"):
        assert "grade" in out


def test_unknown_subcommand_fails_clearly():
    out = subprocess.run([sys.executable, "-m", "rlcourse", "frobnicate"], capture_output=True,
                         text=True)
    assert out.returncode != 0
    assert "invalid choice" in out.stderr
