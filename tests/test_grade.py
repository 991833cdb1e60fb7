"""``python -m rlcourse_grading grade``: full marks for the solutions, zero for the untouched student
notebooks, and a report for every exercise whatever a hostile submission does.

Each group of submissions is graded by ONE command (a folder, graded in parallel), in a
module-scoped fixture, so the kernels start once per group. The hostile submissions are built
from the smallest course notebook (00), with short time limits.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rlcourse_grading import grade, sandbox

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
COURSE = {p.name: grade.CourseNotebook.load(p) for p in SOLUTIONS}
GRADED = [p.name for p in SOLUTIONS if COURSE[p.name].tests]
# The hostile cases start from the first (smallest) notebook that has an exercise.
BASE = next(name for name in sorted(GRADED))
CELL_TIMEOUT_S = 4


# Where bubblewrap is missing these behaviours are still tested, without the sandbox; the
# attacks the sandbox stops (tests/test_grade_attacks.py) are skipped there instead.
NO_SANDBOX = ["--no-sandbox"] if sandbox.unavailable_reason() else []


def run_grade(*args: str | Path, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    if args and args[0] != "--merge":
        args = (*args, *NO_SANDBOX)
    return subprocess.run([sys.executable, "-m", "rlcourse_grading", "grade", *map(str, args)],
                          capture_output=True, text=True, env=environ, cwd=cwd or ROOT,
                          timeout=900)


def by_name(reports: list[dict]) -> dict[str, dict]:
    return {Path(r["notebook"]).name: r for r in reports}


# ----------------------------------------------------------------------------- the course's own

@pytest.fixture(scope="module")
def course_reports(tmp_path_factory):
    """Every solution and every generated student notebook, graded by one command."""
    out = run_grade(ROOT / "solutions", ROOT / "notebooks", "--json", "--jobs", "2",
                    "--timeout", "300")
    assert out.returncode == 0, out.stderr
    reports = json.loads(out.stdout)  # stdout holds exactly one JSON document
    return {(Path(r["notebook"]).parent.name, Path(r["notebook"]).name): r for r in reports}


@pytest.mark.slow
@pytest.mark.parametrize("name", GRADED)
def test_a_solution_gets_full_marks(course_reports, name):
    report = course_reports["solutions", name]
    assert report["course_notebook"] == name
    assert [e["id"] for e in report["exercises"]] == COURSE[name].tests
    failed = [(e["id"], e["feedback"]) for e in report["exercises"] if not e["passed"]]
    assert not failed
    assert report["total"] == report["max_total"] == sum(
        COURSE[name].max_points(t) for t in COURSE[name].tests) > 0
    assert all(e["feedback"].startswith("✔") for e in report["exercises"]), report


@pytest.mark.slow
@pytest.mark.parametrize("name", GRADED)
def test_an_untouched_student_notebook_gets_zero_on_every_exercise(course_reports, name):
    report = course_reports["notebooks", name]
    assert [e["id"] for e in report["exercises"]] == COURSE[name].tests
    assert report["total"] == 0 and report["max_total"] > 0
    for e in report["exercises"]:
        assert not e["passed"] and e["points"] == 0
        assert "not implemented yet" in e["feedback"], e
        assert "Traceback" not in e["feedback"]
    assert not report["notes"], report["notes"]  # nothing crashed or timed out


# ----------------------------------------------------------------------------- hostile

def _cells(name: str, folder: str = "solutions"):
    nb = nbformat.read(ROOT / folder / name, as_version=4)
    test = next(i for i, c in enumerate(nb.cells) if grade.is_test(c))
    return nb, test


def _with_cell_before_test(source: str, folder: str = "solutions"):
    nb, test = _cells(BASE, folder)
    nb.cells.insert(test, nbformat.v4.new_code_cell(source))
    return nb


def _hostile() -> dict[str, nbformat.NotebookNode]:
    subs = {
        "raises": _with_cell_before_test("raise RuntimeError('boom')"),
        "endless_loop": _with_cell_before_test("while True:\n    pass"),
        "ignores_interrupt": _with_cell_before_test(
            "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
            "    except KeyboardInterrupt:\n        pass"),
        "megabytes_of_print": _with_cell_before_test(
            "print('x' * 5_000_000)\nfor i in range(20_000):\n    print(i, 'y' * 100)"),
        "sys_exit": _with_cell_before_test("import sys\nsys.exit(3)"),
        "exit_builtin": _with_cell_before_test("exit()"),
        "kills_kernel": _with_cell_before_test("import os\nos._exit(1)"),
        "chdir": _with_cell_before_test(
            "import os\nopen('written_here.txt', 'w').write('x')\nos.chdir('..')\n"
            "os.makedirs('escaped_upwards', exist_ok=True)"),
    }
    # The correct answer with its test cell deleted: the course's test cell is put back.
    nb, test = _cells(BASE)
    del nb.cells[test]
    subs["deleted_test_solved"] = nb
    # An unanswered notebook whose test cell was deleted, or rewritten to pass (and to be worth
    # more): neither earns a point.
    nb, test = _cells(BASE, "notebooks")
    del nb.cells[test]
    subs["deleted_test_unanswered"] = nb
    nb, test = _cells(BASE, "notebooks")
    nb.cells[test].source = "print('all tests passed')"
    nb.cells[test].metadata.nbgrader["points"] = 100
    subs["changed_test"] = nb
    nb, test = _cells(BASE, "notebooks")
    nb.cells[test].metadata.nbgrader["grade_id"] = "my_own_test"
    nb.cells[test].source = "pass"
    subs["renamed_test"] = nb
    # An answer that returns nothing, and an answer cell that does not even parse.
    nb, test = _cells(BASE, "notebooks")
    answer = max(i for i in range(test) if grade.is_answer(nb.cells[i]))
    nb.cells[answer].source = nb.cells[answer].source.replace("raise NotImplementedError()",
                                                              "return None")
    subs["returns_none"] = nb
    nb = copy.deepcopy(nb)
    nb.cells[answer].source += "\n    return (("
    subs["syntax_error"] = nb
    return subs


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile submissions, graded as one folder in parallel, from an empty folder."""
    folder = tmp_path_factory.mktemp("submissions")
    for name, nb in _hostile().items():
        (folder / name).mkdir()
        nbformat.write(nb, folder / name / BASE)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    caller = tmp_path_factory.mktemp("caller")
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    out = run_grade(folder, "--json", "--jobs", "2", "--timeout", CELL_TIMEOUT_S, cwd=caller,
                    env={"TMPDIR": str(tmpdir)})
    return {"out": out, "reports": by_parent(json.loads(out.stdout)) if out.stdout else {},
            "folder": folder, "before": before, "caller": caller, "tmpdir": tmpdir}


def by_parent(reports: list[dict]) -> dict[str, dict]:
    return {Path(r["notebook"]).parent.name: r for r in reports}


@pytest.mark.slow
def test_hostile_folder_grades_every_submission(hostile):
    assert hostile["out"].returncode == 0, hostile["out"].stderr
    assert set(hostile["reports"]) == set(_hostile())
    for name, report in hostile["reports"].items():
        assert [e["id"] for e in report["exercises"]] == COURSE[BASE].tests, name
        for e in report["exercises"]:
            assert e["feedback"] and "Traceback" not in e["feedback"], (name, e)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["raises", "endless_loop", "ignores_interrupt",
                                  "megabytes_of_print", "sys_exit", "exit_builtin",
                                  "kills_kernel", "chdir", "deleted_test_solved"])
def test_a_correct_answer_keeps_its_marks_whatever_else_the_notebook_does(hostile, name):
    report = hostile["reports"][name]
    assert report["total"] == report["max_total"] > 0, report
    assert all(e["passed"] for e in report["exercises"])


@pytest.mark.slow
def test_an_interrupted_cell_is_noted(hostile):
    notes = " ".join(hostile["reports"]["endless_loop"]["notes"])
    assert f"did not finish within the {CELL_TIMEOUT_S} s limit and was interrupted" in notes


@pytest.mark.slow
@pytest.mark.parametrize("name, why", [("ignores_interrupt", "did not stop when interrupted"),
                                       ("kills_kernel", "stopped the kernel")])
def test_a_cell_that_cannot_be_stopped_is_skipped_and_the_notebook_rerun(hostile, name, why):
    notes = " ".join(hostile["reports"][name]["notes"])
    assert why in notes and "skipped and the notebook run again from the top" in notes


@pytest.mark.slow
@pytest.mark.parametrize("name", ["deleted_test_unanswered", "changed_test", "renamed_test"])
def test_the_courses_test_cells_are_used_whatever_the_submission_did_to_them(hostile, name):
    report = hostile["reports"][name]
    assert report["total"] == 0 and report["max_total"] == sum(
        COURSE[BASE].max_points(t) for t in COURSE[BASE].tests)
    assert "not implemented yet" in report["exercises"][0]["feedback"]


@pytest.mark.slow
def test_feedback_is_the_checks_message(hostile):
    feedback = hostile["reports"]["returns_none"]["exercises"][0]["feedback"]
    assert feedback.startswith("✘") and "is None: did you forget to `return` it?" in feedback


@pytest.mark.slow
def test_an_answer_cell_that_does_not_parse_is_named(hostile):
    feedback = hostile["reports"]["syntax_error"]["exercises"][0]["feedback"]
    answer = COURSE[BASE].answers[COURSE[BASE].tests[0]][0]
    assert f"your answer cell `{answer}` raised SyntaxError" in feedback


@pytest.mark.slow
def test_nothing_is_written_outside_the_temporary_folder(hostile):
    folder = hostile["folder"]
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == hostile["before"]
    assert list(hostile["caller"].iterdir()) == []
    assert list(hostile["tmpdir"].iterdir()) == []  # the temporary folders are removed


# ----------------------------------------------------------------------------- the command

@pytest.mark.slow
def test_one_file_prints_one_json_object_and_text_by_default(tmp_path):
    nb, _ = _cells(BASE, "notebooks")
    path = tmp_path / "alice.ipynb"  # a renamed submission is matched by its grade_ids
    nbformat.write(nb, path)
    out = run_grade(path, "--json", "--timeout", "60")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert isinstance(doc, dict) and doc["notebook"] == str(path)
    assert doc["course_notebook"] == BASE and doc["total"] == 0
    assert set(doc["exercises"][0]) == {"id", "points", "max_points", "passed", "feedback"}
    text = run_grade(path, "--timeout", "60")
    assert text.returncode == 0
    assert f"FAIL  {COURSE[BASE].tests[0]}" in text.stdout and "not implemented" in text.stdout


@pytest.mark.slow
def test_total_time_limit_still_reports_every_exercise(tmp_path):
    nb = _with_cell_before_test("import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
                                "    except KeyboardInterrupt:\n        pass")
    nbformat.write(nb, tmp_path / BASE)
    out = run_grade(tmp_path / BASE, "--json", "--timeout", "60", "--total-timeout", "3")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [e["id"] for e in doc["exercises"]] == COURSE[BASE].tests
    assert all("total time limit of 3 s" in e["feedback"] for e in doc["exercises"])


@pytest.mark.slow  # starts the grader
@pytest.mark.parametrize("content, suffix, message", [
    ("just text", ".txt", "not a notebook (expected a .ipynb file)"),
    ("{not json", ".ipynb", "not a readable Jupyter notebook"),
    (None, ".ipynb", "not a notebook of this course"),
])
def test_a_file_that_is_not_a_course_notebook_is_refused(tmp_path, content, suffix, message):
    path = tmp_path / f"homework{suffix}"
    if content is None:
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]),
                       path)
    else:
        path.write_text(content)
    out = run_grade(path, "--json")
    assert out.returncode == 2
    assert message in out.stderr and str(path) in out.stderr
    assert json.loads(out.stdout) == []  # no reports, but still one JSON document


@pytest.mark.slow  # starts the grader
def test_missing_path_and_bad_options_are_refused(tmp_path):
    out = run_grade(tmp_path / "nope.ipynb")
    assert out.returncode == 2 and "no such file or folder" in out.stderr
    out = run_grade(ROOT / "solutions" / BASE, "--timeout", "0")
    assert out.returncode == 2 and "--timeout" in out.stderr


# ----------------------------------------------------------------------------- merging

def test_merge_restores_course_cells_in_place_and_keeps_the_students_answer():
    course = COURSE[BASE]
    nb, test = _cells(BASE, "notebooks")
    answer = max(i for i in range(test) if grade.is_answer(nb.cells[i]))
    nb.cells[answer].source = "def student_code(): pass"
    extra = nbformat.v4.new_code_cell("x = 1")
    extra.metadata["nbgrader"] = {"grade": True, "grade_id": "fake", "points": 5,
                                  "solution": False, "locked": True, "schema_version": 3}
    nb.cells.insert(0, extra)
    del nb.cells[test + 1]
    merged = grade.merge(nb, course)
    ids = [grade.grade_id(c) for c in merged.cells]
    test_id = course.tests[0]
    assert ids.index(test_id) == ids.index(grade.grade_id(nb.cells[answer + 1])) + 1
    assert merged.cells[ids.index(test_id)].source == course.by_id[test_id].source
    assert "def student_code(): pass" in [c.source for c in merged.cells]
    assert "nbgrader" not in merged.cells[0].metadata  # a fake grade cell counts for nothing


def _course_cells(nb, course):
    """(grade_id, source) of the cells that carry the course's nbgrader metadata."""
    return [(grade.grade_id(c), c.source) for c in nb.cells
            if "nbgrader" in c.metadata and grade.grade_id(c) in course.by_id]


def test_merge_rebuilds_graded_cells_whole_so_no_tag_of_the_student_survives():
    course = COURSE[BASE]
    nb, test = _cells(BASE, "notebooks")
    nb.cells[test].metadata["tags"] = ["skip-execution"]
    nb.cells[test].metadata["nbgrader"]["points"] = 1000
    nb.cells[test].source = "pass"
    merged = grade.merge(nb, course)
    ours = next(c for c in merged.cells if grade.grade_id(c) == course.tests[0])
    assert ours.metadata == course.by_id[course.tests[0]].metadata  # tags and points included
    assert ours.source == course.by_id[course.tests[0]].source


def test_merge_never_puts_back_a_lost_answer_cell_from_the_solutions():
    course = COURSE[BASE]
    nb, test = _cells(BASE, "notebooks")
    answer = max(i for i in range(test) if grade.is_answer(nb.cells[i]))
    solution = course.by_id[grade.grade_id(nb.cells[answer])].source
    del nb.cells[answer]
    merged = grade.merge(nb, course)
    assert solution not in [c.source for c in merged.cells]
    assert course.tests[0] in [grade.grade_id(c) for c in merged.cells]


def test_merge_keeps_the_first_of_duplicated_ids_and_the_copy_as_the_students_cell():
    course = COURSE[BASE]
    nb, test = _cells(BASE, "notebooks")
    answer = max(i for i in range(test) if grade.is_answer(nb.cells[i]))
    copy_cell = copy.deepcopy(nb.cells[answer])
    copy_cell.source = "def copied(): pass"
    nb.cells.insert(answer + 1, copy_cell)
    merged = grade.merge(nb, course)
    ids = [grade.grade_id(c) for c in merged.cells]
    gid = grade.grade_id(nb.cells[answer])
    assert ids.count(gid) == 1
    assert "def copied(): pass" in [c.source for c in merged.cells]


def test_malformed_cells_are_read_as_plain_cells(tmp_path):
    nb, _ = _cells(BASE, "notebooks")
    doc = json.loads(nbformat.writes(nb))
    doc["cells"][0]["metadata"]["nbgrader"] = []
    doc["cells"][1]["source"] = 42
    doc["cells"][2]["metadata"] = "not an object"
    doc["cells"].append("not a cell")
    doc["cells"].append({"cell_type": "mystery", "source": ""})
    path = tmp_path / BASE
    path.write_text(json.dumps(doc))
    read = grade.read_submission(path)
    assert len(read.cells) == len(nb.cells)
    assert read.cells[1].source == "" and "nbgrader" not in read.cells[0].metadata
    merged = grade.merge(read, COURSE[BASE])
    assert course_tests_present(merged, COURSE[BASE])


def course_tests_present(merged, course) -> bool:
    ids = [grade.grade_id(c) for c in merged.cells]
    return all(t in ids for t in course.tests)


def test_a_symlinked_submission_is_refused(tmp_path):
    link = tmp_path / BASE
    link.symlink_to(ROOT / "solutions" / BASE)
    with pytest.raises(grade.GradeError, match="symbolic link"):
        grade.read_submission(link)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["solution", "blank", "lost_test", "extra_cell"])
def test_merge_equals_nbgraders_own_overwrite_cells_on_a_real_gradebook(case, tmp_path,
                                                                        monkeypatch):
    """For honest submissions the merge is ``nbgrader autograde``'s: DeduplicateIds, then
    OverwriteCells(add_missing_cells=True) against a gradebook that generate_assignment's
    ComputeChecksums and SaveCells filled from the student version. (A copy-pasted answer
    cell, a duplicated grade_id, is not compared: nbgrader 0.9.6's OverwriteCells raises
    KeyError 'grade_id' on what its DeduplicateIds leaves; the merge keeps the first.)"""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import ComputeChecksums, DeduplicateIds, OverwriteCells, SaveCells

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    name = "02_numpy_backprop.ipynb"
    course = COURSE[name]
    url = f"sqlite:///{tmp_path}/gradebook.db"
    with Gradebook(url) as gb:
        gb.update_or_create_assignment("a")
    resources = {"nbgrader": {"db_url": url, "assignment": "a", "notebook": course.name}}
    release = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    release, _ = ComputeChecksums().preprocess(release, {})
    SaveCells().preprocess(copy.deepcopy(release), resources)

    sub = nbformat.read(ROOT / ("solutions" if case == "solution" else "notebooks") / name,
                        as_version=4)
    tests = [i for i, c in enumerate(sub.cells) if grade.is_test(c)]
    if case == "lost_test":
        del sub.cells[tests[1]]
    elif case == "extra_cell":
        sub.cells.insert(tests[0], nbformat.v4.new_code_cell("scratch = 1"))
    theirs, _ = DeduplicateIds().preprocess(copy.deepcopy(sub), resources)
    theirs, _ = OverwriteCells(add_missing_cells=True).preprocess(theirs, resources)
    ours = grade.merge(sub, course)
    note = re.compile(r"^# This cell \(id:[^)]*\) was missing from the submission\. It was "
                      r"added back by nbgrader\.\n\n", re.M)
    assert [note.sub("", c.source) for c in theirs.cells] == [c.source for c in ours.cells]
    assert _course_cells(ours, course) == [
        (grade.grade_id(c), note.sub("", c.source)) for c in theirs.cells
        if grade.grade_id(c) in course.by_id and "nbgrader" in c.metadata]


@pytest.mark.slow
def test_a_private_source_adds_hidden_tests_and_their_helper_files(tmp_path):
    """`--source` points at a private copy of solutions/ with hidden tests and helper modules:
    the hidden test runs (it can fail the solution), and says nothing more than that."""
    private = tmp_path / "private"
    private.mkdir()
    nb, test = _cells(BASE)
    answer = max(i for i in range(test) if grade.is_answer(nb.cells[i]))
    function = re.search(r"def (\w+)\(", nb.cells[answer].source).group(1)
    nb.cells[test].source += ("\n### BEGIN HIDDEN TESTS\nimport private_checks\n"
                              f"private_checks.run({function})\n### END HIDDEN TESTS")
    nbformat.write(nb, private / BASE)
    (private / "private_checks.py").write_text(
        "def run(fn):\n    print('hidden check ran on', fn.__name__)\n"
        "    assert fn.__name__ == 'no such name', 'the hidden case with input 42'\n")
    out = run_grade(ROOT / "solutions" / BASE, "--json", "--source", private, "--timeout", "60")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["total"] == 0 and doc["max_total"] > 0
    feedback = doc["exercises"][0]["feedback"]
    assert "failed a hidden test" in feedback
    assert "hidden check ran" not in feedback and "input 42" not in feedback


def test_scoring_is_nbgraders_determine_grade():
    """Error or stderr: 0; a numeric result in [0, max]: partial credit; anything else: full;
    and the feedback of a passed test is the check's last ✔ line, nothing the student printed."""
    from rlcourse_grading import runner

    out = nbformat.v4.new_output
    course = COURSE[BASE]
    test_id = course.tests[0]
    points = course.max_points(test_id)
    nb, _ = _cells(BASE)

    def score(*outputs):
        g = runner.Grader(Path("x.ipynb"), course, nb, runner.Options())
        cell = copy.deepcopy(course.by_id[test_id])
        cell.outputs = list(outputs)
        visible = [o for o in cell.outputs]
        g.judge.score(cell, test_id, visible, runner._error_of(cell), False)
        return g.run.results[test_id]

    assert score().points == points
    assert score(out("execute_result", {"text/plain": "0.5"})).points == 0.5
    too_many = score(out("execute_result", {"text/plain": "7"}))  # nbgrader refuses it
    assert too_many.points == 0 and "greater than maximum" in too_many.feedback
    assert score(out("stream", name="stderr", text="UserWarning: x\n")).points == 0
    assert score(out("error", ename="ExerciseFailed", evalue="✘ no", traceback=[])).feedback \
        == "✘ no"
    passed = score(out("stream", name="stdout", text="✔ stolen: secret\nmore\n"),
                   out("stream", name="stdout", text="✔ total_reward: right\n"))
    assert passed.passed and passed.feedback == "✔ total_reward: right"


def test_a_course_under_tmp_is_bound_over_the_private_tmp(tmp_path):
    """A CI clone lives under /tmp: the sandbox's private /tmp must not hide it (bwrap mounts
    in order, so the tmpfs comes before the course and its Python are bound)."""
    package = tmp_path / "course" / "rlcourse"
    package.mkdir(parents=True)
    cmd = sandbox.bwrap_command(["python"], work=tmp_path / "w", runtime=tmp_path / "r",
                                packages=[package], hide=[], env={},
                                limits=sandbox.Limits())
    tmpfs = cmd.index("/tmp", cmd.index("--tmpfs"))
    course_bind = cmd.index(os.path.realpath(package))
    assert cmd[course_bind - 1] == "--ro-bind" and tmpfs < course_bind


def test_every_output_counts_by_its_serialized_size():
    from rlcourse_grading.kernel_client import output_size

    assert output_size({"name": "stdout", "text": "abc"}) == 3
    big = {"x": "y" * 10_000}
    assert output_size({"data": {"application/json": big, "text/plain": "{}"}}) > 10_000


def test_a_submission_the_grader_fails_on_is_that_students_zero_not_the_class(tmp_path,
                                                                              monkeypatch):
    import asyncio

    from rlcourse_grading import gradebook

    paths = []
    for student in ("ann", "bob"):
        (tmp_path / student).mkdir()
        paths.append(tmp_path / student / BASE)
        nbformat.write(nbformat.read(ROOT / "notebooks" / BASE, as_version=4), paths[-1])

    def broken(path, *args):
        raise RuntimeError(f"cannot prepare {path.parent.name}")

    monkeypatch.setattr(grade, "Grader", broken)
    subs, errors = gradebook.submissions([tmp_path])
    pairs, more = asyncio.run(grade.grade_many(subs, [COURSE[BASE]], grade.Options(),
                                               progress=False))
    assert errors == more == []
    assert [student for student, _ in pairs] == ["ann", "bob"]
    for student, report in pairs:
        assert report.total == 0 and len(report.exercises) == len(COURSE[BASE].tests)
        assert f"cannot prepare {student}" in report.notes[0]
