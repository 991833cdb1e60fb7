"""Flags for a human: answer code that reaches for the grader's or the interpreter's machinery.

The sandbox and the kernel's guard decide the points; this only says where to look. It reads
the cells the student wrote (answer cells, and cells the course does not have) and names each
use of a means that no exercise of this course needs and that code aiming at the grader would
use: ``ctypes``, ``gc``, ``sys.modules``, ``settrace``, ``get_ipython``, ``exec``/``eval``,
threads, the course's checks or the grader, ``__code__``/``__globals__``, ``setattr`` on a
module. Flags never change a score; they are listed in the report and the gradebook's review file.
"""

from __future__ import annotations

import ast

from nbformat import NotebookNode

from rlcourse_grading.course import CourseNotebook, grade_id

_MODULES = {"ctypes", "gc", "importlib", "threading", "_thread", "multiprocessing", "signal",
            "subprocess", "socket", "inspect", "builtins", "IPython", "ipykernel", "sys",
            "rlcourse.checks", "rlcourse_grading", "rlcourse_authoring", "marshal", "pickle", "types"}
_NAMES = {"exec", "eval", "compile", "__import__", "get_ipython", "globals", "setattr",
          "delattr", "__builtins__", "breakpoint"}
_ATTRIBUTES = {"__code__", "__globals__", "__closure__", "__dict__", "__class__",
               "__subclasses__", "__bases__", "__mro__", "f_globals", "f_locals", "f_back",
               "settrace", "setprofile", "modules", "set_custom_exc", "input_transformers_post",
               "input_transformers_cleanup", "ast_transformers", "events", "register",
               "_getframe", "addaudithook", "kill", "killpg", "fork", "system", "popen"}


def screen(submission: NotebookNode, course: CourseNotebook) -> list[str]:
    """One flag per cell of the student's that uses a suspicious means (none: an empty list)."""
    flags = []
    for index, cell in enumerate(submission.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        gid = grade_id(cell)
        ours = course.by_id.get(gid) if gid else None
        if ours is not None and not ours.metadata.get("nbgrader", {}).get("solution"):
            continue  # a course cell: replaced by the course's own when graded
        if ours is None and any(cell.get("source", "") == c.source for c in course.nb.cells):
            continue  # unchanged from the course notebook
        found = sorted(_uses(cell.get("source", "")))
        if found:
            where = f"answer cell `{gid}`" if ours is not None else f"cell {index}"
            flags.append(f"{where} uses {', '.join(found)}")
    return flags


def _uses(source: str) -> set[str]:
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return {"code that does not parse"} if source.strip() else set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if _suspicious_module(a.name)}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if _suspicious_module(node.module):
                found.add(node.module)
        elif isinstance(node, ast.Name) and node.id in _NAMES:
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in _ATTRIBUTES:
            found.add(f".{node.attr}")
    return found


def _suspicious_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _MODULES)


def _without_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
