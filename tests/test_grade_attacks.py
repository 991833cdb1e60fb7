"""The attacks of issue #16, each in an answer cell of an otherwise normal submission, graded with
the sandbox on in ONE parallel run, next to honest submissions that must keep their scores.

The course here is a tiny fixture (two exercises of the real checks, a hidden test and its
private helper file) in a private ``--source`` folder, so that a kernel starts in seconds.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from rlcourse_authoring import build
from rlcourse_grading import sandbox

pytestmark = pytest.mark.skipif(sandbox.unavailable_reason() is not None,
                                reason=f"no sandbox here: {sandbox.unavailable_reason()}")

ROOT = Path(__file__).resolve().parent.parent
MARKER = "rlcourse-attack-marker-5c1e"  # in the command line of processes an attack leaves
SECRET_HELPER = "SECRET-HELPER-7f3a"
SECRET_HIDDEN = "SECRET-HIDDEN-CODE-91b2"
SECRET_OUTPUT = "SECRET-HIDDEN-OUTPUT-44d0"
SECRET_STDERR = "SECRET-HIDDEN-STDERR-0e6b"
CELL_TIMEOUT_S = 6

SOLVED_TOTAL = "def total_reward(rewards):\n    return float(np.sum(rewards))\n"
SOLVED_RETURNS = textwrap.dedent("""\
    def discounted_returns(rewards, gamma):
        G = np.zeros(len(rewards))
        running = 0.0
        for t in reversed(range(len(rewards))):
            running = rewards[t] + gamma * running
            G[t] = running
        return G
    """)
UNSOLVED = "raise NotImplementedError()"
WRONG = "def total_reward(rewards):\n    return 0.0  # wrong: the attack must earn the point\n"
WRONG_RETURNS = "def discounted_returns(rewards, gamma):\n    return np.zeros(len(rewards))\n"


def _meta(gid: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": gid, "locked": locked, "schema_version": 3,
            "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _course_notebook() -> nbformat.NotebookNode:
    cells = [
        nbformat.v4.new_code_cell("import numpy as np", metadata=_meta("setup", locked=True)),
        nbformat.v4.new_code_cell(
            "### BEGIN SOLUTION\n" + SOLVED_TOTAL + "### END SOLUTION",
            metadata=_meta("total_reward", solution=True)),
        nbformat.v4.new_code_cell(
            "from rlcourse.checks import start_here\n"
            "start_here.check_total_reward(total_reward)\n"
            "### BEGIN HIDDEN TESTS\n"
            f"# {SECRET_HIDDEN}\n"
            "import private_checks\n"
            "private_checks.run(total_reward)\n"
            "### END HIDDEN TESTS",
            metadata=_meta("check_total_reward", grade=True, locked=True, points=1)),
        nbformat.v4.new_code_cell(
            "### BEGIN SOLUTION\n" + SOLVED_RETURNS + "### END SOLUTION",
            metadata=_meta("discounted_returns", solution=True)),
        nbformat.v4.new_code_cell(
            "from rlcourse.checks import update_equation\n"
            "update_equation.check_discounted_returns(discounted_returns)",
            metadata=_meta("check_discounted_returns", grade=True, locked=True, points=2)),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


HELPER = textwrap.dedent(f"""\
    import numpy as np
    SECRET = "{SECRET_HELPER}"

    def run(fn):
        print("{SECRET_OUTPUT}")
        assert fn(np.ones(7)) == 7.0, "a hidden case failed"
    """)


def _submission(total: str = SOLVED_TOTAL, returns: str = SOLVED_RETURNS,
                before_test: str | None = None) -> nbformat.NotebookNode:
    nb = build.student_version(_course_notebook())
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "total_reward":
            cell.source = total
        elif gid == "discounted_returns":
            cell.source = returns
    if before_test is not None:
        nb.cells.insert(2, nbformat.v4.new_code_cell(before_test))
    return nb


def _tagged(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["tags"] = [tag]
    return nb


def _duplicated(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """An answer cell copy-pasted below itself (the same grade_id twice)."""
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells.insert(at + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[at]))))
    return nb


def _attacks(out: Path, source: Path) -> dict[str, nbformat.NotebookNode]:
    check_file = ROOT / "rlcourse" / "checks" / "start_here.py"
    steal = textwrap.dedent(f"""\
        import glob, os
        found = []
        for path in ["/proc/1/cmdline", *glob.glob("/proc/[0-9]*/cmdline")]:
            try:
                found.append(open(path, "rb").read().decode(errors="replace"))
            except OSError:
                pass
        for folder in [{str(source)!r}, {str(ROOT / "solutions")!r}, os.getcwd()]:
            for path in glob.glob(folder + "/**", recursive=True):
                try:
                    found.append(open(path, errors="replace").read())
                except (OSError, ValueError):
                    pass
        STOLEN = "\\n".join(found)

        def total_reward(rewards):
            print(STOLEN)  # printed while the check calls it: would reach the feedback
            raise ValueError(STOLEN[-1500:])
        """)
    return {
        # isolation: the course's files, other processes, the grader, the results
        "rewrite_check_on_disk": _submission(total=textwrap.dedent(f"""\
            for path in [{str(check_file)!r}, np.__file__]:
                try:
                    open(path, "a").write("\\ncheck_total_reward = lambda f: None\\n")
                except OSError as err:
                    print("write refused:", err)
            """) + WRONG),
        "leave_a_process": _submission(total=textwrap.dedent(f"""\
            import subprocess, sys
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)",
                              "{MARKER}"], start_new_session=True)
            {UNSOLVED}""")),
        "rewrite_results": _submission(total=textwrap.dedent(f"""\
            import os
            for folder in [{str(out)!r}, {str(out / "results")!r}]:
                try:
                    os.makedirs(folder, exist_ok=True)
                    open(os.path.join(folder, "gradebook.csv"), "w").write("hacked")
                except OSError:
                    pass
            {UNSOLVED}""")),
        "kill_everything": _submission(total=textwrap.dedent(f"""\
            import os, signal
            for pid in [os.getppid()] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                if pid != os.getpid():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            {UNSOLVED}""")),
        "sigstop_everything": _submission(total=textwrap.dedent(f"""\
            import os, signal
            for pid in [os.getppid()] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                try:
                    os.kill(pid, signal.SIGSTOP)  # itself last in /proc order or not: all
                except OSError:
                    pass
            {UNSOLVED}""")),
        # one line in an answer cell that would give full marks (both answers are wrong; the
        # second exercise has no hidden test, so nothing else stands in the way)
        "replace_check": _submission(total=WRONG, returns=textwrap.dedent("""\
            import rlcourse.checks.update_equation as ue
            ue.check_discounted_returns = lambda f: print("✔ discounted_returns: correct")
            """) + WRONG_RETURNS),
        "exception_handler": _submission(total=WRONG, returns=textwrap.dedent("""\
            import rlcourse.checks.feedback
            get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
            """) + WRONG_RETURNS),
        "input_transformer": _submission(total=textwrap.dedent("""\
            get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
            get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
            """) + WRONG, returns=WRONG_RETURNS),
        "patch_numpy": _submission(total=WRONG, returns="np.allclose = lambda *a, **k: True\n"
                                   + WRONG_RETURNS),
        "event_hook": _submission(total=WRONG, returns=textwrap.dedent("""\
            get_ipython().events.register(
                "pre_run_cell", lambda *a: setattr(np, "allclose", lambda *a, **k: True))
            """) + WRONG_RETURNS),
        "patch_numpy_inside": _submission(
            total=WRONG,
            returns="def discounted_returns(rewards, gamma):\n"
                    "    np.allclose = lambda *a, **k: True\n"
                    "    return np.zeros(len(rewards))\n"),
        "call_reference": _submission(
            returns="from rlcourse import returns\n"
                    "def discounted_returns(rewards, gamma):\n"
                    "    return returns.discounted_returns(rewards, gamma)\n"),
        # secrets: the private source, the hidden tests and their helper file
        "steal_secrets": _submission(total=steal),
        # resources
        "memory_hog": _submission(total=textwrap.dedent(f"""\
            try:
                hog = bytearray(3 * 2**30)
            except MemoryError:
                print("memory refused")
            {UNSOLVED}""")),
        "many_processes": _submission(total=textwrap.dedent("""\
            import os, time
            children = 0
            for _ in range(150):
                try:
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                    children += 1
                except OSError:
                    break

            def total_reward(rewards):
                raise ValueError(f"forked {children} children")
            """)),
        "network": _submission(total=textwrap.dedent("""\
            import socket
            try:
                socket.create_connection(("1.1.1.1", 53), timeout=2)
                NET = "network open"
            except OSError:
                NET = "network blocked"
            def total_reward(rewards):
                raise ValueError(NET)
            """)),
        # issue #21: the merge, the helper files, the clone, one submission stopping the class
        "skip_tag": _tagged(_submission(total=UNSOLVED, returns=UNSOLVED), "skip-execution"),
        # solved, so that the hidden block (and the helper file's copy) runs
        "symlink_helper": _submission(total=textwrap.dedent(f"""\
            import os
            os.symlink({str(check_file)!r}, "private_checks.py")
            """) + SOLVED_TOTAL),
        "list_the_clone": _submission(total=textwrap.dedent(f"""\
            import os
            SEEN = sorted(os.listdir({str(ROOT)!r}))
            def total_reward(rewards):
                raise ValueError(f"clone: {{SEEN}}")
            """)),
        "hidden_stderr": _submission(total=textwrap.dedent(f"""\
            import sys
            def total_reward(rewards):
                if len(rewards) == 7:  # the hidden case: a right answer that tells it
                    print("{SECRET_STDERR}", list(rewards), file=sys.stderr)
                return float(np.sum(rewards))
            """)),
        "shadow_helper": _submission(total=textwrap.dedent("""\
            open("private_checks.py", "w").write("def run(fn):\\n    pass\\n")
            def total_reward(rewards):
                return 0.0 if len(rewards) == 7 else float(np.sum(rewards))
            """)),
        "json_flood": _submission(total=textwrap.dedent("""\
            from IPython.display import display
            for _ in range(200):
                display({"application/json": {"x": "y" * 100_000}}, raw=True)
            """) + UNSOLVED),
        # honest students, graded side by side with the attacks
        "honest_solved": _submission(),
        "honest_duplicate_cell": _duplicated(_submission()),
        "honest_breakpoint": _submission(total=textwrap.dedent("""\
            def total_reward(rewards):
                breakpoint()  # left in by the student: does nothing under grading
                return float(np.sum(rewards))
            """)),
        # issue #21: honest habits that must keep full marks under grading
        "honest_pdb": _submission(total=textwrap.dedent("""\
            import pdb
            def total_reward(rewards):
                pdb.set_trace()
                return float(np.sum(rewards))
            """)),
        "honest_print_and_log": _submission(total=textwrap.dedent("""\
            import logging
            logging.basicConfig()
            log = logging.getLogger("mine")
            def total_reward(rewards):
                print("summing", len(rewards), "rewards")
                log.warning("summing %d rewards", len(rewards))
                return float(np.sum(rewards))
            """)),
        "honest_warning_and_tqdm": _submission(total=textwrap.dedent("""\
            import warnings
            from tqdm.auto import tqdm
            def total_reward(rewards):
                warnings.warn("a slow loop")
                total = 0.0
                for r in tqdm(rewards):
                    total += float(r)
                return total
            """)),
        "honest_time_and_names": _submission(
            total="%%time\n" + SOLVED_TOTAL + "start_here = check = 'my notes'\n"),
        "honest_blank": _submission(total=UNSOLVED, returns=UNSOLVED),
        "honest_fails_hidden": _submission(
            total="def total_reward(rewards):\n"
                  "    return 0.0 if len(rewards) == 7 else float(np.sum(rewards))\n"),
    }


def _host_processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    source, folder, out = base / "private", base / "submissions", base / "out"
    source.mkdir()
    nbformat.write(_course_notebook(), source / "fixture.ipynb")
    (source / "private_checks.py").write_text(HELPER)
    subs = _attacks(out, source)
    for name, nb in subs.items():
        (folder / name).mkdir(parents=True)
        nbformat.write(nb, folder / name / "fixture.ipynb")
    # one cell nbgrader's metadata schema forbids (used to stop the whole class)
    doc = json.loads((folder / "honest_solved" / "fixture.ipynb").read_text())
    doc["cells"].insert(1, {"cell_type": "code", "source": 42, "outputs": [],
                            "execution_count": None, "metadata": {"nbgrader": []}})
    (folder / "malformed_cell").mkdir()
    (folder / "malformed_cell" / "fixture.ipynb").write_text(json.dumps(doc))
    subs["malformed_cell"] = None
    package = {p: hashlib.sha256(p.read_bytes()).hexdigest()
               for p in (ROOT / "rlcourse" / "checks").glob("*.py")}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "rlcourse_grading", "grade", str(folder), "--source", str(source),
         "--json", "--jobs", "2", "--timeout", str(CELL_TIMEOUT_S), "--out", str(out),
         "--memory", "2G", "--quiet"],
        capture_output=True, text=True, env=env, cwd=base, timeout=900)
    reports = {Path(r["notebook"]).parent.name: r for r in json.loads(run.stdout or "[]")}
    return {"run": run, "reports": reports, "out": out, "names": set(subs), "package": package,
            "leftover": _host_processes_with(MARKER)}


def _points(report: dict) -> dict[str, float]:
    return {e["id"]: e["points"] for e in report["exercises"]}


@pytest.mark.slow
def test_the_grader_survives_and_reports_every_submission(attacked):
    assert attacked["run"].returncode == 0, attacked["run"].stderr[-3000:]
    assert set(attacked["reports"]) == attacked["names"]


@pytest.mark.slow
def test_honest_students_keep_their_scores(attacked):
    r = attacked["reports"]
    assert _points(r["honest_solved"]) == {"check_total_reward": 1,
                                           "check_discounted_returns": 2}
    assert _points(r["honest_blank"]) == {"check_total_reward": 0,
                                          "check_discounted_returns": 0}
    got = r["honest_fails_hidden"]["exercises"][0]
    assert got["points"] == 0 and "failed a hidden test" in got["feedback"]
    for name in ("honest_duplicate_cell", "honest_breakpoint", "malformed_cell", "honest_pdb",
                 "honest_print_and_log", "honest_warning_and_tqdm", "honest_time_and_names"):
        assert _points(r[name]) == {"check_total_reward": 1, "check_discounted_returns": 2}, name


@pytest.mark.slow
def test_a_tag_on_a_test_cell_skips_nothing(attacked):
    assert attacked["reports"]["skip_tag"]["total"] == 0


@pytest.mark.slow
def test_the_kernel_sees_the_packages_it_imports_and_nothing_else_of_the_clone(attacked):
    feedback = attacked["reports"]["list_the_clone"]["exercises"][0]["feedback"]
    seen = re.search(r"clone: (\[.*?\])", feedback)
    assert seen, feedback
    assert set(eval(seen[1])) <= {"rlcourse", "grading", ".venv"}, seen[1]


@pytest.mark.slow
def test_stderr_of_a_hidden_block_stays_out_of_the_feedback(attacked):
    report = attacked["reports"]["hidden_stderr"]
    # right, so full marks (the check passed: stderr does not fail it), and nothing it wrote
    assert report["exercises"][0]["points"] == 1
    assert SECRET_STDERR not in json.dumps(report)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rewrite_check_on_disk", "leave_a_process", "rewrite_results",
                                  "kill_everything", "sigstop_everything", "steal_secrets",
                                  "memory_hog", "network", "json_flood", "shadow_helper"])
def test_an_attack_on_the_machine_earns_nothing(attacked, name):
    report = attacked["reports"][name]
    assert _points(report) == {"check_total_reward": 0, "check_discounted_returns": 2}, report


@pytest.mark.slow
@pytest.mark.parametrize("name", ["replace_check", "exception_handler", "input_transformer",
                                  "patch_numpy", "patch_numpy_inside", "event_hook"])
def test_an_attack_on_the_checks_earns_nothing(attacked, name):
    report = attacked["reports"][name]
    assert report["total"] == 0, report
    if name == "patch_numpy_inside":  # the function that patches while called is told why
        assert "replaced `numpy.allclose`" in report["exercises"][1]["feedback"]


@pytest.mark.slow
def test_calling_the_packages_implementation_earns_nothing_and_says_why(attacked):
    report = attacked["reports"]["call_reference"]
    assert _points(report) == {"check_total_reward": 1, "check_discounted_returns": 0}
    assert "course's own implementation" in report["exercises"][1]["feedback"]


@pytest.mark.slow
def test_the_course_files_are_unchanged_and_nothing_outlives_the_grading(attacked):
    # symlink_helper pointed a file named like the helper at a check module of the host
    assert _points(attacked["reports"]["symlink_helper"]) == {"check_total_reward": 1,
                                                              "check_discounted_returns": 2}
    for path, digest in attacked["package"].items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
    assert attacked["leftover"] == []


@pytest.mark.slow
def test_the_results_on_disk_are_the_graders(attacked):
    out = attacked["out"]
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == attacked["names"] | {"Points Possible"}
    assert rows["honest_solved"]["total"] == "3" and rows["honest_blank"]["total"] == "0"
    assert rows["replace_check"]["total"] == "0"
    assert (out / "feedback" / "honest_solved.txt").read_text().count("PASS") == 2


@pytest.mark.slow
def test_no_secret_reaches_any_feedback(attacked):
    text = json.dumps(attacked["reports"]) + "".join(
        p.read_text() for p in (attacked["out"] / "feedback").glob("*.txt"))
    for secret in (SECRET_HELPER, SECRET_HIDDEN, SECRET_OUTPUT, SECRET_STDERR,
                   "BEGIN HIDDEN TESTS", "private_checks"):
        assert secret not in text


@pytest.mark.slow
def test_the_sandbox_holds_the_limits(attacked):
    r = attacked["reports"]
    assert "network blocked" in r["network"]["exercises"][0]["feedback"]
    feedback = r["many_processes"]["exercises"][0]["feedback"]
    forked = re.search(r"forked (\d+) children", feedback)
    if sandbox.process_limit_enforced():  # stopped at the limit, whoever then lacked a thread
        assert (forked and int(forked[1]) < 64) or "can't start new thread" in feedback
    notes = " ".join(r["sigstop_everything"]["notes"])
    assert "skipped and the notebook run again" in notes


@pytest.mark.slow
def test_tampering_is_noted_and_flagged_for_review(attacked):
    report = attacked["reports"]["replace_check"]
    assert any("check_discounted_returns" in n and "put back" in n for n in report["notes"])
    assert any("get_ipython" in f for f in attacked["reports"]["exception_handler"]["flags"])
    with open(attacked["out"] / "review.csv", newline="") as f:
        flagged = {row["student"] for row in csv.DictReader(f)}
    assert {"replace_check", "exception_handler", "input_transformer"} <= flagged
    assert "honest_solved" not in flagged


@pytest.mark.slow  # starts the grader
def test_without_a_sandbox_the_grader_refuses_unless_told(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on it
    nb = ROOT / "notebooks" / "00_start_here.ipynb"
    out = subprocess.run([sys.executable, "-m", "rlcourse_grading", "grade", str(nb)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2
    assert "cannot sandbox" in out.stderr and "--no-sandbox" in out.stderr
