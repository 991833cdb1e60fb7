"""The course's notebooks as the grader sees them, and a submission merged into one.

Built on nbgrader's public utilities (``nbgrader.utils.is_grade`` / ``is_solution`` /
``determine_grade``), so that ``python -m rlcourse_grading grade`` and ``nbgrader autograde``
classify and score cells alike; :func:`merge` follows ``nbgrader autograde``'s rule for putting
the course's cells back, from the course's notebook itself (nbgrader reads them from its
database), and rebuilds every graded cell whole. ``tests/test_grade.py`` holds it against
nbgrader's own ``OverwriteCells`` on a real gradebook.
"""

from __future__ import annotations

import ast
import copy
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

_LOG = logging.getLogger("rlcourse.grade")
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


class GradeError(Exception):
    """A path that cannot be graded (missing, not a notebook, not of this course)."""


def nbgrader_utils():
    try:
        from nbgrader import utils
    except ImportError as err:  # pragma: no cover - a broken install
        raise GradeError("grading needs nbgrader: `make install` in a clone, or "
                         f"`pip install ./grading`: {err}") from None
    return utils


def grade_id(cell: NotebookNode) -> str | None:
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def is_test(cell: NotebookNode) -> bool:
    """An autograded test cell: code, graded, not an answer (nbgrader's "Autograder tests")."""
    u = nbgrader_utils()
    return cell.cell_type == "code" and u.is_grade(cell) and not u.is_solution(cell)


def is_answer(cell: NotebookNode) -> bool:
    return nbgrader_utils().is_solution(cell)


def number(x: Any) -> float:
    x = float(x)
    return int(x) if x.is_integer() else x


def split_hidden(source: str) -> list[tuple[str, bool]]:
    """A test cell's source as ``(code, hidden)`` segments, in order (hidden blocks apart)."""
    segments: list[tuple[str, bool]] = []
    current: list[str] = []
    hidden = False
    for line in source.splitlines(keepends=True):
        marker = line.strip()
        if marker in (HIDDEN_BEGIN, HIDDEN_END):
            if "".join(current).strip():
                segments.append(("".join(current), hidden))
            current, hidden = [], marker == HIDDEN_BEGIN
            continue
        current.append(line)
    if "".join(current).strip():
        segments.append(("".join(current), hidden))
    return segments


@dataclass
class CourseNotebook:
    """A notebook of ``solutions/``: its cells by grade_id, its tests and their answer cells."""

    path: Path
    nb: NotebookNode
    by_id: dict[str, NotebookNode]
    tests: list[str]  # grade_ids of the autograded test cells, in order
    answers: dict[str, list[str]]  # test grade_id -> grade_ids of the answer cells before it

    @classmethod
    def load(cls, path: Path) -> CourseNotebook:
        nb = nbformat.read(path, as_version=4)
        by_id: dict[str, NotebookNode] = {}
        tests: list[str] = []
        answers: dict[str, list[str]] = {}
        pending: list[str] = []
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid is None:
                continue
            by_id.setdefault(gid, cell)
            if is_test(cell):
                tests.append(gid)
                answers[gid], pending = pending, []
            elif is_answer(cell):
                pending.append(gid)
        return cls(Path(path), nb, by_id, tests, answers)

    @property
    def name(self) -> str:
        return self.path.stem

    def max_points(self, test_id: str) -> float:
        return number(self.by_id[test_id].metadata["nbgrader"].get("points", 0))

    def imports(self) -> list[str]:
        """Modules the course notebook imports (the kernel loads them before student code)."""
        found: list[str] = []
        for cell in self.nb.cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found += [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.append(node.module)
                    found += [f"{node.module}.{a.name}" for a in node.names
                              if node.module.startswith("rlcourse")]
        return list(dict.fromkeys(found))

    def support_files(self) -> list[Path]:
        """Files beside the course notebooks (e.g. a private ``hidden_tests.py``)."""
        return sorted(p for p in self.path.parent.iterdir()
                      if p.is_file() and p.suffix != ".ipynb" and not p.name.startswith("."))


def load_course(source: Path) -> list[CourseNotebook]:
    """Every notebook of the course's source folder (``solutions/`` by default)."""
    source = Path(source)
    paths = sorted(source.glob("*.ipynb"))
    if not paths:
        raise GradeError(f"no course notebooks found in {source} (pass --source DIR: the "
                         "folder of solution notebooks with nbgrader metadata)")
    return [CourseNotebook.load(p) for p in paths]


def match(path: Path, nb: NotebookNode, course: Sequence[CourseNotebook]) -> CourseNotebook:
    """The course notebook a submission answers: most shared grade_ids, then the file name."""
    ids = {gid for gid in map(grade_id, nb.cells) if gid}

    def score(c: CourseNotebook) -> tuple[int, bool]:
        return len(ids & c.by_id.keys()), c.path.stem in path.stem

    best = max(course, key=score)
    if score(best) == (0, False):
        names = ", ".join(c.path.name for c in course)
        raise GradeError(f"{path}: not a notebook of this course (none of its cells carries a "
                         f"grade_id of the course's exercises, and its name contains none of "
                         f"{names})")
    return best


def read_submission(path: Path) -> NotebookNode:
    """The submitted notebook, its cells reduced to what a notebook may hold.

    A cell that is not an object or has no known ``cell_type`` is dropped; a ``source`` that is
    not text (a number, a dict) becomes empty, a list of lines is joined; ``metadata`` that is not
    an object, or ``metadata.nbgrader`` that is not one, is removed. So no cell of one student can
    stop the grading of the class.
    """
    if path.is_symlink():
        raise GradeError(f"{path}: a symbolic link, not a notebook file (not followed: it could "
                         "point at another student's notebook or at the course's solutions)")
    if path.suffix != ".ipynb":
        raise GradeError(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        doc = json.loads(path.read_bytes())
        if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
            raise GradeError(f"{path}: not a Jupyter notebook (no cells)")
        doc["cells"] = [c for c in map(_plain_cell, doc["cells"]) if c is not None]
        return nbformat.reads(json.dumps(doc), as_version=4)
    except GradeError:
        raise
    except Exception as err:  # JSON errors, wrong format versions, binary files...
        raise GradeError(f"{path}: not a readable Jupyter notebook ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from None


def _plain_cell(cell: Any) -> dict | None:
    if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
        return None
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    metadata = cell.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    if not isinstance(metadata.get("nbgrader"), dict):
        metadata.pop("nbgrader", None)
    plain = {"cell_type": cell["cell_type"], "metadata": metadata,
             "source": source if isinstance(source, str) else ""}
    if cell["cell_type"] == "code":
        plain.update(outputs=[], execution_count=None)
    return plain


def merge(submission: NotebookNode, course: CourseNotebook) -> NotebookNode:
    """The notebook to run: the student's answers and own cells, everything graded the course's.

    The rule of ``nbgrader autograde`` (its ``OverwriteCells`` with ``add_missing_cells``),
    written out for the grader: a cell whose ``grade_id`` the course knows is rebuilt from the
    course's cell, whole (source, type and metadata, so no tag of the student's such as
    ``skip-execution`` survives), except that an answer cell keeps the student's source; the
    first cell of each ``grade_id`` counts, a copy of it (an answer cell pasted twice) is the
    student's own cell; a course cell the submission lost is put back after the course cell
    before it, except a lost answer cell (its test then fails). The student's own cells keep their source and lose their metadata. Outputs go.
    """
    u = nbgrader_utils()
    cells: list[NotebookNode] = []
    placed: set[str] = set()
    for cell in submission.cells:
        gid = grade_id(cell)
        if gid in course.by_id and gid not in placed:
            placed.add(gid)
            ours = copy.deepcopy(course.by_id[gid])
            if u.is_solution(ours):  # the course's source here is the solution itself
                ours.source = cell.source
            cells.append(ours)
        else:
            mine = nbformat.from_dict({k: v for k, v in cell.items() if k != "id"})
            mine.metadata = nbformat.from_dict({})
            cells.append(mine)
    # A course cell the submission lost goes back after the course cell that precedes it;
    # never a lost answer cell, whose course source is the solution (nbgrader neither).
    order = [gid for gid in map(grade_id, course.nb.cells) if gid in course.by_id]
    for k, gid in enumerate(order):
        if gid in placed or u.is_solution(course.by_id[gid]):
            continue
        before = next((g for g in reversed(order[:k]) if g in placed), None)
        at = 0 if before is None else next(
            i for i, c in enumerate(cells) if grade_id(c) == before and _is_course(c, course)) + 1
        cells.insert(at, copy.deepcopy(course.by_id[gid]))
        placed.add(gid)
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    merged = copy.deepcopy(course.nb)
    merged.cells = cells
    return merged


def _is_course(cell: NotebookNode, course: CourseNotebook) -> bool:
    """Whether ``cell`` carries course metadata (a rebuilt cell, not a student's copy)."""
    return "nbgrader" in cell.metadata and grade_id(cell) in course.by_id
