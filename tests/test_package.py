"""The three packages: the learner's `rlcourse` holds only what the notebooks import; the author's
and the instructor's tools are packages of their own, each with its command line."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
import rlcourse
heavy = [m for m in ("torch", "matplotlib", "gymnasium", "nbgrader") if m in sys.modules]
print(repr((rlcourse.__version__, heavy)))
"""
# What the learner's package may never import: the notebooks' tools and the other two packages.
NOT_FOR_LEARNERS = {"nbgrader", "nbformat", "nbclient", "jupyter_client", "jupyterlab",
                    "ipykernel", "rlcourse_authoring", "rlcourse_grading"}


def test_import_has_no_side_effects():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stderr == ""
    version, heavy = eval(out.stdout)
    assert version
    assert heavy == [], f"`import rlcourse` imported {heavy} (keep the package import light)"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_learners_package_imports_no_tool_of_the_author_or_the_instructor():
    found = {str(p.relative_to(ROOT)): sorted(_imports(p) & NOT_FOR_LEARNERS)
             for p in sorted((ROOT / "rlcourse").rglob("*.py"))}
    assert {p: names for p, names in found.items() if names} == {}


# the grader's command line imports nbformat, whose jsonschema builds a grammar at import
# (rfc3987_syntax: about 2 s of a 3 s start): slow
GRADER = pytest.mark.slow


@pytest.mark.parametrize(("package", "commands"), [
    ("rlcourse_authoring", ("lab", "build", "execute")),
    pytest.param("rlcourse_grading", ("grade",), marks=GRADER)])
def test_each_tool_package_lists_its_commands(package, commands):
    out = subprocess.run([sys.executable, "-m", package, "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in commands:
        assert command in out, out
    if package == "rlcourse_authoring":
        assert "my-notebooks/" in out


@pytest.mark.parametrize("package", ["rlcourse_authoring",
                                     pytest.param("rlcourse_grading", marks=GRADER)])
def test_unknown_subcommand_fails_clearly(package):
    out = subprocess.run([sys.executable, "-m", package, "frobnicate"], capture_output=True,
                         text=True)
    assert out.returncode != 0
    assert "invalid choice" in out.stderr


# The author's commands where a dependency is missing (a broken install): they name it.
WITHOUT = """
import builtins, importlib.util, sys
MISSING = ("nbformat", "nbclient", "nbgrader", "jupyterlab")
real_find = importlib.util.find_spec
importlib.util.find_spec = lambda n, *a: None if n.split(".")[0] in MISSING else real_find(n, *a)
from rlcourse_authoring.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def test_an_authoring_command_without_its_dependency_names_it():
    for argv, module in ((["build", "--check"], "nbformat"), (["lab"], "jupyterlab"),
                         (["execute"], "nbformat")):
        out = subprocess.run([sys.executable, "-c", WITHOUT, *argv], capture_output=True,
                             text=True)
        assert out.returncode == 2, (argv, out.stderr)
        assert module in out.stderr and "make install" in out.stderr, (argv, out.stderr)
        assert "Traceback" not in out.stderr
