"""The real nbgrader, headless, on the course: generate the student version, autograde it.

A temporary course folder holds ``solutions/*.ipynb`` as ``source/<assignment>/``; nbgrader
(its default sqlite gradebook) generates the release, then autogrades two submissions in one
run: the solutions themselves ("solved", full marks) and the released student notebooks
("untouched", zero on every exercise, nothing crashing). Scores are read through nbgrader's own
API (``nbgrader.api.Gradebook``), not from its logs. Every notebook of ``solutions/`` that has
an autograded exercise takes part, so this grows with the course.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rlcourse_authoring import build
from rlcourse_grading import grade

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "rlcourse"
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
COURSE = {p.stem: grade.CourseNotebook.load(p) for p in SOLUTIONS}
GRADED = [name for name, c in COURSE.items() if c.tests]
ALLOWED_IN_UNTOUCHED = {"NotImplementedError", "ExerciseNotImplemented"}
CONFIG = """\
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "rlcourse"
c.Execute.timeout = 300
"""


def nbgrader(*args: str, cwd: Path) -> None:
    # nbgrader runs `alembic` (database migrations) from PATH: put this environment's bin first.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    out = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{out.stderr[-4000:]}"


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nbgrader_course")
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root)))
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for path in SOLUTIONS:
        if COURSE[path.stem].tests:
            shutil.copy(path, source / path.name)
    nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root)
    for student, folder in (("solved", source), ("untouched", root / "release" / ASSIGNMENT)):
        target = root / "submitted" / student / ASSIGNMENT
        shutil.copytree(folder, target)
    nbgrader("autograde", ASSIGNMENT, "--force", cwd=root)
    return root


@pytest.fixture(scope="module")
def scores(course_dir):
    """{(student, notebook): {grade cell id: (score, max_score)}} from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        for student in ("solved", "untouched"):
            submission = gb.find_submission(ASSIGNMENT, student)
            for nb in submission.notebooks:
                found[student, nb.name] = {g.name: (g.score, g.max_score) for g in nb.grades
                                           if g.cell_type == "code"}
    return found


def test_the_gradebook_knows_every_exercise_with_its_points(course_dir):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        assert sorted(nb.name for nb in assignment.notebooks) == sorted(GRADED)
        for nb in assignment.notebooks:
            points = {cell.name: cell.max_score for cell in nb.grade_cells}
            assert points == {t: COURSE[nb.name].max_points(t) for t in COURSE[nb.name].tests}


@pytest.mark.parametrize("name", GRADED)
def test_the_solutions_get_full_marks(scores, name):
    got = scores["solved", name]
    assert list(got) == COURSE[name].tests or sorted(got) == sorted(COURSE[name].tests)
    assert all(score == max_score > 0 for score, max_score in got.values()), got


@pytest.mark.parametrize("name", GRADED)
def test_the_untouched_student_notebooks_get_zero_on_every_exercise(scores, name):
    got = scores["untouched", name]
    assert sorted(got) == sorted(COURSE[name].tests)
    assert all(score == 0 and max_score > 0 for score, max_score in got.values()), got


@pytest.mark.parametrize("name", GRADED)
def test_the_untouched_notebooks_fail_only_with_not_implemented(course_dir, name):
    path = course_dir / "autograded" / "untouched" / ASSIGNMENT / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    errors = [(i, o.ename, o.evalue) for i, cell in enumerate(nb.cells)
              for o in cell.get("outputs", []) if o.output_type == "error"]
    assert errors, "an unanswered exercise must fail its check"
    assert all(ename in ALLOWED_IN_UNTOUCHED for _, ename, _ in errors), errors


@pytest.mark.parametrize("name", GRADED)
def test_nbgraders_release_is_the_courses_student_notebook(course_dir, name):
    """`python -m rlcourse_authoring build` and `nbgrader generate_assignment` hand out the same cells."""
    release = nbformat.read(course_dir / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    source = course_dir / "source" / ASSIGNMENT / f"{name}.ipynb"  # solutions/ as copied
    ours = build.student_version(nbformat.read(source, as_version=4))

    def cells(nb):
        return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]

    assert cells(release) == cells(ours)


def test_nbgraders_validator_passes_the_solution_and_shows_the_checks_words_to_a_student(
        tmp_path):
    """What `nbgrader validate` shows a student (on the first notebook only: it re-executes)."""
    from nbgrader.validator import Validator

    name = GRADED[0]
    solution = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    nbformat.write(solution, tmp_path / "solved.ipynb")
    nbformat.write(build.student_version(solution), tmp_path / "student.ipynb")
    assert Validator().validate(str(tmp_path / "solved.ipynb")) == {}
    assert Validator(invert=True).validate(str(tmp_path / "student.ipynb")) == {}
    failed = Validator().validate(str(tmp_path / "student.ipynb"))["failed"]
    assert len(failed) == len(COURSE[name].tests)
    for cell in failed:  # the check's message alone, no traceback
        assert cell["raw_error"].startswith("✘ ") and "not implemented yet" in cell["raw_error"]
        assert "Traceback" not in cell["raw_error"]
