"""The course's notebooks as the grader sees them, and a submission merged into one.

Built on nbgrader's own utilities, so that ``python -m rlcourse_grading grade`` and ``nbgrader
autograde`` agree by construction: cells are classified with ``nbgrader.utils.is_grade`` /
``is_solution`` / ``is_locked``; a submission is merged with nbgrader's ``OverwriteCells``
preprocessor (``add_missing_cells=True``) and de-duplicated with ``DeduplicateIds``, reading the
course's cells from the source notebook instead of nbgrader's database (:class:`_SourceBook`
answers the few gradebook queries these preprocessors make).
"""

from __future__ import annotations

import ast
import copy
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
    except ImportError as err:  # pragma: no cover - the `grade` extra is missing
        raise GradeError("grading needs nbgrader: `pip install 'rlcourse[grade]'` "
                         f"(or `pip install nbgrader`): {err}") from None
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
    if path.suffix != ".ipynb":
        raise GradeError(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # JSON errors, wrong format versions, binary files...
        raise GradeError(f"{path}: not a readable Jupyter notebook ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from None
    if not isinstance(nb.get("cells"), list):
        raise GradeError(f"{path}: not a Jupyter notebook (no cells)")
    return nb


# ----------------------------------------------------------------------------- nbgrader

class _Entry:
    def __init__(self, **kw: Any):
        self.__dict__.update(kw)


class _SourceBook:
    """The gradebook queries of nbgrader's ``OverwriteCells``, answered from the source notebook.

    nbgrader reads these from its database, filled by ``generate_assignment`` from the same
    source notebook; reading the notebook directly gives the same answers without a database
    (or the ``alembic`` program nbgrader's Gradebook needs).
    """

    def __init__(self, course: CourseNotebook):
        from nbgrader.api import MissingEntry

        u = nbgrader_utils()
        self._missing = MissingEntry
        self.cells: dict[str, _Entry] = {}
        for cell in course.nb.cells:
            gid = grade_id(cell)
            if gid is None or gid in self.cells:
                continue
            self.cells[gid] = _Entry(
                name=gid, cell_type=cell.cell_type, locked=u.is_locked(cell),
                source=cell.source, checksum=u.compute_checksum(cell),
                max_score=float(cell.metadata.nbgrader.get("points", 0) or 0),
                grade=u.is_grade(cell), solution=u.is_solution(cell),
                task=bool(cell.metadata.nbgrader.get("task")))
        cells = list(self.cells.values())
        self.notebook = _Entry(source_cells=cells,
                               grade_cells=[c for c in cells if c.grade],
                               solution_cells=[c for c in cells if c.solution],
                               task_cells=[c for c in cells if c.task])

    def __enter__(self) -> _SourceBook:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> _Entry:
        if name not in self.cells:
            raise self._missing(name)
        return self.cells[name]

    find_graded_cell = find_source_cell

    def find_notebook(self, notebook: str, assignment: str) -> _Entry:
        return self.notebook


def _overwrite_cells():
    from nbgrader.preprocessors import OverwriteCells

    class CourseOverwriteCells(OverwriteCells):
        """nbgrader's OverwriteCells, with the source notebook standing in for the database."""

        def preprocess(self, nb, resources):
            self.notebook_id = resources["nbgrader"]["notebook"]
            self.assignment_id = resources["nbgrader"]["assignment"]
            self.gradebook = resources["nbgrader"]["book"]
            nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
            return nb, resources

    return CourseOverwriteCells


def merge(submission: NotebookNode, course: CourseNotebook) -> NotebookNode:
    """The notebook to run: the student's cells with the course's locked and test cells.

    nbgrader's ``DeduplicateIds`` then ``OverwriteCells(add_missing_cells=True)``, as
    ``nbgrader autograde`` runs them: a locked cell gets the course's source back, points and
    lock flags come from the course, a deleted test cell is added back after the cell before it;
    a grade_id the course does not know loses it. Then, because the grader looks cells up by
    grade_id: every cell whose grade_id the course knows gets the course's nbgrader metadata
    (a test cell re-labelled as an answer is still a test), and outputs are cleared.
    """
    from nbgrader.preprocessors import DeduplicateIds

    nb = copy.deepcopy(submission)
    nb.cells = [c for c in nb.cells if isinstance(c, dict) and "cell_type" in c]
    for cell in nb.cells:  # what nbgrader's preprocessors may assume of the metadata
        cell.setdefault("metadata", {})
        gid = grade_id(cell)
        if gid is not None and gid in course.by_id:
            cell.metadata["nbgrader"] = copy.deepcopy(course.by_id[gid].metadata["nbgrader"])
        else:
            cell.metadata.pop("nbgrader", None)
    resources = {"nbgrader": {"notebook": course.name, "assignment": "rlcourse",
                              "book": _SourceBook(course)}}
    dedup = DeduplicateIds(log=_LOG)
    nb, resources = dedup.preprocess(nb, resources)
    nb, resources = _overwrite_cells()(add_missing_cells=True, log=_LOG).preprocess(nb,
                                                                                    resources)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is not None and gid in course.by_id:
            ours = course.by_id[gid]
            cell.metadata["nbgrader"] = copy.deepcopy(ours.metadata["nbgrader"])
            if not is_answer(ours):
                cell.cell_type, cell.source = ours.cell_type, ours.source
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.setdefault("metadata", {})
    merged = copy.deepcopy(course.nb)
    merged.cells = nb.cells
    return merged
