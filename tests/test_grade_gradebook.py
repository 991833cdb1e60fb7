"""A class's results: the gradebook CSV, feedback files, shards, merging and resuming."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rlcourse_grading import gradebook, sandbox
from rlcourse_grading.grade import format_report
from rlcourse_grading.report import ExerciseReport, Report

ROOT = Path(__file__).resolve().parent.parent


def _report(notebook: str, points: dict[str, float], flags=()) -> Report:
    exercises = [ExerciseReport(gid, p, 2, p == 2, "✔ ok" if p == 2 else "✘ no")
                 for gid, p in points.items()]
    return Report(notebook=f"subs/x/{notebook}", course_notebook=notebook, exercises=exercises,
                  total=sum(points.values()), max_total=2 * len(points), flags=list(flags))


def test_students_are_named_by_their_folder_or_their_file(tmp_path):
    root = tmp_path / "submitted"
    assert gradebook.student_of(root / "alice" / "a1" / "01.ipynb", root) == "alice"
    assert gradebook.student_of(root / "bob.ipynb", root) == "bob"
    assert gradebook.student_of(Path("x/Ça va?.ipynb"), None) == "Ça_va"


def test_shards_split_a_class_deterministically_into_disjoint_parts():
    subs = [gradebook.Submission(Path(f"s{i}/01.ipynb"), f"s{i}") for i in range(200)]
    parts = [[s for s in subs if gradebook.in_shard(s, (i, 4))] for i in range(1, 5)]
    assert sorted(s.key for part in parts for s in part) == sorted(s.key for s in subs)
    assert all(20 < len(part) < 80 for part in parts)
    again = [s for s in subs if gradebook.in_shard(s, (2, 4))]
    assert again == parts[1]
    # a shard does not depend on which other submissions exist
    assert [s for s in subs[:50] if gradebook.in_shard(s, (2, 4))] == [
        s for s in parts[1] if s in subs[:50]]


@pytest.mark.parametrize("text", ["0/4", "5/4", "1", "a/b", ""])
def test_a_bad_shard_is_refused(text):
    with pytest.raises(ValueError, match="--shard must be i/n"):
        gradebook.parse_shard(text)


def test_the_gradebook_has_a_row_per_student_a_column_per_exercise_and_a_total(tmp_path):
    results = gradebook.Results(tmp_path)
    a = gradebook.Submission(Path("a/00.ipynb"), "alice")
    results.save(a, "f1", _report("00_start_here.ipynb", {"check_total_reward": 2}))
    results.save(gradebook.Submission(Path("a/01.ipynb"), "alice"), "f2",
                 _report("01_update_equation.ipynb", {"check_discounted_returns": 1,
                                                      "check_reinforce_update": 2}))
    results.save(gradebook.Submission(Path("b/00.ipynb"), "bob"), "f3",
                 _report("00_start_here.ipynb", {"check_total_reward": 0},
                         flags=["answer cell uses ctypes"]))
    roster = tmp_path / "roster.csv"
    roster.write_text("student,id,email\nalice,s001,alice@uni.example\n")
    paths = gradebook.write_gradebook(tmp_path, results.load_all(), format_report,
                                      gradebook.read_roster(roster))
    with open(paths["gradebook"], newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["student", "id", "email", "check_total_reward",
                       "check_discounted_returns", "check_reinforce_update", "total"]
    assert rows[1] == [gradebook.MAX_ROW, "", "", "2", "2", "2", "6"]
    assert rows[2] == ["alice", "s001", "alice@uni.example", "2", "1", "2", "5"]
    # not in the roster: the folder's name (no notebook 01 submitted: blank, not 0)
    assert rows[3] == ["bob", "bob", "", "0", "", "", "0"]
    alice = (paths["feedback"] / "alice.txt").read_text()
    assert "00_start_here.ipynb" in alice and "01_update_equation.ipynb" in alice
    with open(paths["review"], newline="") as f:
        review = list(csv.DictReader(f))
    assert [r["student"] for r in review] == ["bob"] and "ctypes" in review[0]["flags"]
    # a stored result is valid only for the fingerprint it was made with
    assert results.done(a, "f1").total == 2 and results.done(a, "other") is None


def _grade(*args, env=None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "rlcourse_grading", "grade", *map(str, args)],
                          capture_output=True, text=True, env=environ, timeout=600)


@pytest.mark.slow
@pytest.mark.skipif(sandbox.unavailable_reason() is not None, reason="no sandbox here")
def test_a_class_is_graded_in_shards_merged_and_resumed(tmp_path):
    folder, out = tmp_path / "submitted", tmp_path / "out"
    for student, kind in (("ann", "solutions"), ("ben", "notebooks"), ("cy", "solutions")):
        (folder / student).mkdir(parents=True)
        nb = nbformat.read(ROOT / kind / "00_start_here.ipynb", as_version=4)
        nbformat.write(nb, folder / student / "00_start_here.ipynb")
    for i in (1, 2):
        run = _grade(folder, "--out", out, "--shard", f"{i}/2", "--jobs", "2", "--quiet")
        assert run.returncode == 0, run.stderr
        assert "--merge" in run.stderr
    assert not (out / "gradebook.csv").exists()  # shards leave the merge to one step
    merged = _grade("--merge", out)
    assert merged.returncode == 0, merged.stderr
    with open(out / "gradebook.csv", newline="") as f:
        totals = {r["student"]: r["total"] for r in csv.DictReader(f)}
    assert totals == {gradebook.MAX_ROW: "1", "ann": "1", "ben": "0", "cy": "1"}
    stored = {p: p.stat().st_mtime_ns for p in (out / "results").rglob("*.json")}
    assert len(stored) == 3
    # resuming: nothing is graded again; a changed submission is
    nb = nbformat.read(ROOT / "solutions" / "00_start_here.ipynb", as_version=4)
    nbformat.write(nb, folder / "ben" / "00_start_here.ipynb")
    again = _grade(folder, "--out", out, "--jobs", "2", "--json", "--quiet")
    assert again.returncode == 0, again.stderr
    assert len(json.loads(again.stdout)) == 3
    changed = {p for p in stored if p.stat().st_mtime_ns != stored[p]}
    assert changed == {out / "results" / "ben" / "00_start_here.json"}
    with open(out / "gradebook.csv", newline="") as f:
        assert {r["student"]: r["total"] for r in csv.DictReader(f)}["ben"] == "1"


def test_a_roster_without_a_student_column_is_refused(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nalice,a@x\n")
    with pytest.raises(ValueError, match="'student' column"):
        gradebook.read_roster(roster)


def test_symlinks_in_a_submissions_folder_are_refused_not_followed(tmp_path):
    folder = tmp_path / "submitted"
    (folder / "ann").mkdir(parents=True)
    (folder / "ann" / "00.ipynb").write_text("{}")
    (folder / "eve").symlink_to(folder / "ann")  # eve "submits" ann's folder
    (folder / "mal").mkdir()
    (folder / "mal" / "00.ipynb").symlink_to(ROOT / "solutions" / "00_start_here.ipynb")
    found, errors = gradebook.submissions([folder])
    assert [s.student for s in found] == ["ann"]
    assert errors == [f"{folder / 'eve'}: a symbolic link (not followed, not graded)",
                      f"{folder / 'mal' / '00.ipynb'}: a symbolic link (not followed, not graded)"]


@pytest.mark.slow  # starts the grader
def test_shard_needs_out_and_merge_needs_results(tmp_path):
    out = _grade(ROOT / "notebooks", "--shard", "1/2")
    assert out.returncode == 2 and "--shard needs --out" in out.stderr
    out = _grade("--merge", tmp_path)
    assert out.returncode == 2 and "no results" in out.stderr


def _kubernetes_commands() -> tuple[str, str, int]:
    """The grading and merge commands of docs/kubernetes/grade-job.yaml, and its completions."""
    import yaml

    grade_job, merge_job = yaml.safe_load_all(
        (ROOT / "docs" / "kubernetes" / "grade-job.yaml").read_text())
    assert grade_job["spec"]["completionMode"] == "Indexed"
    n = grade_job["spec"]["completions"]
    (container,) = grade_job["spec"]["template"]["spec"]["containers"]
    (merge,) = merge_job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == merge["command"] == ["bash", "-c"]
    return container["args"][0], merge["args"][0], n


def test_the_kubernetes_shards_cover_every_index_once():
    command, _, n = _kubernetes_commands()
    shards = []
    for index in range(n):
        shown = subprocess.run(["bash", "-c", f"echo {command}"], capture_output=True, text=True,
                               env={"JOB_COMPLETION_INDEX": str(index), "PATH": os.environ["PATH"]},
                               check=True).stdout
        shards.append(gradebook.parse_shard(shown.split("--shard ")[1].split()[0]))
    assert shards == [(i, n) for i in range(1, n + 1)]


@pytest.mark.slow
@pytest.mark.skipif(sandbox.unavailable_reason() is not None, reason="no sandbox here")
def test_four_shards_in_four_processes_merge_into_the_gradebook_of_one_run(tmp_path):
    """The Kubernetes manifest's own commands, with four shards run at once and then merged,
    give byte for byte the gradebook that one unsharded run gives."""
    command, merge, n = _kubernetes_commands()
    folder = tmp_path / "class" / "submissions"
    for i in range(8):
        kind = "solutions" if i % 2 else "notebooks"
        (folder / f"s{i}").mkdir(parents=True)
        nbformat.write(nbformat.read(ROOT / kind / "00_start_here.ipynb", as_version=4),
                       folder / f"s{i}" / "00_start_here.ipynb")

    def local(cmd: str, shards: int) -> str:
        assert cmd.startswith("python -m rlcourse_grading ")
        return (cmd.replace("python", sys.executable, 1)
                .replace("/class/submissions", str(folder))
                .replace("--source /class/private/solutions", f"--source {ROOT / 'solutions'}")
                .replace("/class/results", str(tmp_path / "sharded"))
                .replace(f"/{n} ", f"/{shards} ").replace("--jobs 2", "--jobs 1"))

    environ = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = [subprocess.Popen(["bash", "-c", local(command, 4)], stderr=subprocess.PIPE,
                              text=True, env={**environ, "JOB_COMPLETION_INDEX": str(index)})
             for index in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    merged = subprocess.run(["bash", "-c", local(merge, 4)], capture_output=True, text=True,
                            env=environ, timeout=120)
    assert merged.returncode == 0, merged.stderr
    single = _grade(folder, "--out", tmp_path / "single", "--jobs", "2", "--quiet")
    assert single.returncode == 0, single.stderr
    got = (tmp_path / "sharded" / "gradebook.csv").read_text()
    assert got == (tmp_path / "single" / "gradebook.csv").read_text()
    assert got.count("\n") == 1 + 1 + 8  # header, maxima, eight students
