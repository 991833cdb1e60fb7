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


def test_help_lists_lab_and_says_what_each_command_does():
    out = subprocess.run([sys.executable, "-m", "rlcourse", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "lab" in out and "my-notebooks/" in out


# Only the package and its runtime dependencies, as `pip install` gives on Colab: the tools'
# modules (nbformat, nbclient, nbgrader, jupyterlab) cannot be imported.
WITHOUT_EXTRAS = """
import builtins, importlib.util, sys
EXTRAS = ("nbformat", "nbclient", "nbgrader", "jupyterlab", "jupyter_client")
real_import, real_find = builtins.__import__, importlib.util.find_spec

def fake_import(name, *args, **kwargs):
    if name.split(".")[0] in EXTRAS:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name.split(".")[0])
    return real_import(name, *args, **kwargs)

builtins.__import__ = fake_import
importlib.util.find_spec = lambda n, *a: None if n.split(".")[0] in EXTRAS else real_find(n, *a)
from rlcourse.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def test_help_works_without_the_extras():
    out = subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, "--help"], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    for command in ("lab", "build", "execute", "grade"):
        assert command in out.stdout


def test_commands_without_their_extra_name_it():
    for argv, extra in ((["build", "--check"], "'grade' extra"), (["lab"], "'lab' extra"),
                        (["execute"], "'grade' extra"), (["grade", "x.ipynb"], "'grade' extra")):
        out = subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, *argv], capture_output=True,
                             text=True)
        assert out.returncode == 2, (argv, out.stderr)
        assert extra in out.stderr and "make install" in out.stderr, (argv, out.stderr)
        assert "Traceback" not in out.stderr
