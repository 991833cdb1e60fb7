"""Autograde submissions without nbgrader: ``python -m rlcourse grade NOTEBOOK_OR_FOLDER...``.

Each submission is matched to its course notebook in ``solutions/`` (by the ``grade_id`` of its
nbgrader cells, else by file name). As ``nbgrader autograde`` does, the course's own locked and
test cells replace the submission's (hidden tests included), and test cells the student deleted
are put back after the cell they follow in the course notebook. The result runs in a fresh
kernel (nbclient) in a temporary folder, with a per-cell and a total time limit. Scores follow
nbgrader's rule: a test cell earns its points when it runs without an error and writes nothing
to stderr (a numeric result between 0 and the maximum is partial credit). Each exercise gets a report:
its test cell's ``grade_id``, points, maximum, pass or fail, and feedback in words (the check's
message, never a traceback).

Hostile or broken submissions still get a report for every exercise: a cell that raises is
recorded and execution goes on; a cell past the time limit is interrupted; one that ignores the
interrupt, or kills the kernel (``os._exit``), is skipped and the notebook runs again from the
top without it; megabytes of output are truncated; the working directory is restored before
every test cell. The kernel runs in a temporary folder that is then deleted (no sandbox,
though: code that writes to absolute paths can still do so).

JSON (``--json``): one report is ``{"notebook", "course_notebook", "exercises": [{"id",
"points", "max_points", "passed", "feedback"}], "total", "max_total", "notes", "seconds"}``.
One notebook file given prints that object; several files, or a folder, print a JSON list of
them, in the order given (a folder's notebooks sorted by path).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_SOURCE = ROOT / "solutions"
DEFAULT_CELL_TIMEOUT_S = 120.0
DEFAULT_TOTAL_TIMEOUT_S = 1200.0
GRACE_S = 5.0  # how long an interrupted cell may take to stop before its kernel is killed
MAX_RUNS = 4  # a run that must skip a cell starts again from the top, at most this often
OUTPUT_CAP_CHARS = 50_000  # per cell; the rest of a flood of prints is dropped
FEEDBACK_CAP_CHARS = 2_000
_KERNEL_FILE = re.compile(r"\([^()]*?\d+\.py, line (\d+)\)")
_LOG = logging.getLogger("rlcourse.grade")
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False


class GradeError(Exception):
    """A path that cannot be graded (missing, not a notebook, not of this course)."""


# ----------------------------------------------------------------------------- reports

@dataclass
class ExerciseReport:
    """One autograded test cell of a submission."""

    id: str
    points: float
    max_points: float
    passed: bool
    feedback: str


@dataclass
class Report:
    """A graded submission; ``asdict(report)`` is the JSON document."""

    notebook: str
    course_notebook: str
    exercises: list[ExerciseReport]
    total: float
    max_total: float
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- the course

def _nbgrader(cell: NotebookNode) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell: NotebookNode) -> str | None:
    gid = _nbgrader(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def _is_test(cell: NotebookNode) -> bool:
    """An autograded test cell: code, graded, not an answer."""
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _is_answer(cell: NotebookNode) -> bool:
    return bool(_nbgrader(cell).get("solution"))


def _is_protected(cell: NotebookNode) -> bool:
    """Cells the course owns: locked or graded, and not an answer (nbgrader overwrites these)."""
    meta = _nbgrader(cell)
    return bool(meta.get("locked") or meta.get("grade")) and not meta.get("solution")


def _number(x: Any) -> float:
    x = float(x)
    return int(x) if x.is_integer() else x


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
            gid = _grade_id(cell)
            if gid is None:
                continue
            by_id.setdefault(gid, cell)
            if _is_test(cell):
                tests.append(gid)
                answers[gid], pending = pending, []
            elif _is_answer(cell):
                pending.append(gid)
        return cls(Path(path), nb, by_id, tests, answers)

    def max_points(self, test_id: str) -> float:
        return _number(_nbgrader(self.by_id[test_id]).get("points", 0))


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
    ids = {gid for gid in map(_grade_id, nb.cells) if gid}

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


def merge(submission: NotebookNode, course: CourseNotebook) -> NotebookNode:
    """The notebook to run: the student's cells with the course's locked and test cells.

    Like ``nbgrader autograde``: a cell whose grade_id names a locked or graded cell of the
    course gets the course's version; an answer cell keeps the student's code under the course's
    metadata; nbgrader metadata with an unknown or repeated grade_id is dropped (the cell still
    runs, but counts for nothing). Course cells that are missing are re-inserted after the cell
    they follow in the course notebook. Outputs are cleared.
    """
    cells: list[NotebookNode] = []
    seen: set[str] = set()
    for cell in submission.cells:
        cell = copy.deepcopy(cell)
        gid = _grade_id(cell)
        if gid in course.by_id and gid not in seen:
            seen.add(gid)
            ours = course.by_id[gid]
            if _is_protected(ours):
                cell = copy.deepcopy(ours)
            else:
                cell.metadata["nbgrader"] = copy.deepcopy(ours.metadata["nbgrader"])
        elif "nbgrader" in cell.get("metadata", {}):
            del cell.metadata["nbgrader"]
        cells.append(cell)

    anchor = -1  # position in `cells` of the last course cell seen, in course order
    for ours in course.nb.cells:
        gid = _grade_id(ours)
        if gid is None:
            continue
        where = next((i for i, c in enumerate(cells) if _grade_id(c) == gid), None)
        if where is not None:
            anchor = max(anchor, where)
        elif _is_protected(ours):
            anchor += 1
            cells.insert(anchor, copy.deepcopy(ours))
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb = copy.deepcopy(course.nb)
    nb.cells = cells
    return nb


# ----------------------------------------------------------------------------- running

def _client_class():
    from nbclient import NotebookClient

    class _Client(NotebookClient):
        """nbclient that caps each cell's output and stays quiet when its kernel is killed."""

        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] in ("stream", "display_data", "execute_result"):
                content = msg["content"]
                size = len(content.get("text", "")) + sum(
                    len(v) if isinstance(v, str) else 100
                    for v in content.get("data", {}).values())
                used = self._used.get(cell_index, 0)
                self._used[cell_index] = used + size
                if used + size > OUTPUT_CAP_CHARS:
                    if used <= OUTPUT_CAP_CHARS:
                        outs.append(nbformat.v4.new_output(
                            "stream", name="stdout",
                            text=f"\n[rlcourse grade: output beyond {OUTPUT_CAP_CHARS} "
                                 "characters dropped]\n"))
                    return None
            return super().output(outs, msg, display_id, cell_index)

        async def _async_poll_kernel_alive(self):
            try:
                await super()._async_poll_kernel_alive()
            except (AssertionError, AttributeError, RuntimeError):
                return  # the kernel was killed and its client removed

    return _Client


@dataclass
class _Run:
    """What grading one submission found so far (kept when the total time limit cuts it)."""

    results: dict[str, ExerciseReport] = field(default_factory=dict)
    answer_errors: dict[str, str] = field(default_factory=dict)  # answer grade_id -> error
    notes: list[str] = field(default_factory=list)


class _Grader:
    def __init__(self, path: Path, course: CourseNotebook, submission: NotebookNode,
                 cell_timeout: float, total_timeout: float):
        self.path, self.course = path, course
        self.nb = merge(submission, course)
        self.cell_timeout, self.total_timeout = cell_timeout, total_timeout
        self.run = _Run()

    async def grade(self) -> Report:
        start = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix="rlcourse-grade-"))
        try:
            if self.course.tests:
                task = asyncio.ensure_future(self._runs(tmp))
                done, _ = await asyncio.wait({task}, timeout=self.total_timeout)
                if not done:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    self.run.notes.append(f"grading stopped at the total time limit of "
                                          f"{self.total_timeout:g} s")
                elif task.exception() is not None:  # e.g. the kernel could not start
                    err = task.exception()
                    self.run.notes.append(f"grading failed: {type(err).__name__}: {err}")
            else:
                self.run.notes.append("this notebook has no autograded exercises")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self._report(time.monotonic() - start)

    async def _runs(self, tmp: Path) -> None:
        skip: dict[int, str] = {}
        for attempt in range(MAX_RUNS):
            work = tmp / f"run{attempt}" / "work"
            for sub in ("work", "tmp", "ipython"):
                (work.parent / sub).mkdir(parents=True, exist_ok=True)
            _copy_support_files(self.course.path.parent, work)
            stopped = await self._run_once(copy.deepcopy(self.nb), work, skip)
            if stopped is None:
                return
            index, reason = stopped
            skip[index] = reason
            self.run.notes.append(f"{_cell_name(self.nb, index)} {reason}; it was skipped and "
                                  "the notebook run again from the top")
        self.run.notes.append(f"gave up after {MAX_RUNS} runs")

    def _kernel_env(self, work: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "IPYTHONDIR": str(work.parent / "ipython"),  # no user profile, nothing in ~/.ipython
            "TMPDIR": str(work.parent / "tmp"),
            "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ beside the course's modules
            "MPLBACKEND": "Agg",
            "SDL_VIDEODRIVER": "dummy",
            "SDL_AUDIODRIVER": "dummy",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        })
        for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.setdefault(key, "1")  # kernels graded side by side must not oversubscribe
        return env

    async def _run_once(self, nb: NotebookNode, work: Path,
                        skip: dict[int, str]) -> tuple[int, str] | None:
        """Run the cells once; (index, why) of a cell that had to be killed, else None."""
        from jupyter_client.manager import AsyncKernelManager
        from nbclient.exceptions import DeadKernelError

        kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
        km = AsyncKernelManager(kernel_name=kernel,
                                connection_file=str(work.parent / "kernel.json"))
        client = _client_class()(nb, km=km, timeout=self.cell_timeout, allow_errors=True,
                                 interrupt_on_timeout=True, shutdown_kernel="immediate",
                                 record_timing=False, log=_LOG, iopub_timeout=10)
        client._used = {}
        try:
            # The kernel's own stdout/stderr (fd-level prints, C libraries) must not reach the
            # grader's: --json output has to stay one clean document.
            await client.async_start_new_kernel(cwd=str(work), env=self._kernel_env(work),
                                                stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL,
                                                stdin=subprocess.DEVNULL)
            await client.async_start_new_kernel_client()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if index in skip:
                    if _grade_id(cell) not in self.run.results:
                        self._record(cell, index, error=("Timeout", skip[index]))
                    continue
                if _is_test(cell):
                    await self._restore_cwd(client, work)
                task = asyncio.ensure_future(client.async_execute_cell(cell, index))
                started = time.monotonic()
                done, _ = await asyncio.wait({task}, timeout=self.cell_timeout + GRACE_S)
                timed_out = time.monotonic() - started >= self.cell_timeout
                if not done:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    why = (f"ran past the {self.cell_timeout:g} s limit and did not stop "
                           "when interrupted")
                    self._record(cell, index, error=("Timeout", why))
                    return index, why
                try:
                    task.result()
                except DeadKernelError:
                    why = "stopped the kernel (os._exit? a crash? out of memory?)"
                    self._record(cell, index, error=("DeadKernel", why))
                    return index, why
                self._record(cell, index, timed_out=timed_out)
            return None
        finally:
            await _shutdown(client, km)

    async def _restore_cwd(self, client, work: Path) -> None:
        """Undo an ``os.chdir`` of the student's before a test cell runs."""
        code = f"import os as _rlc_os; _rlc_os.chdir({str(work)!r}); del _rlc_os"
        try:
            await asyncio.wait_for(client.kc.execute_interactive(
                code, silent=True, store_history=False, output_hook=lambda msg: None,
                timeout=GRACE_S), GRACE_S + 1)
        except Exception:  # a broken kernel shows up in the test cell itself
            pass

    def _record(self, cell: NotebookNode, index: int, error: tuple[str, str] | None = None,
                timed_out: bool = False) -> None:
        gid = _grade_id(cell)
        if error is None:
            error = _error_of(cell)
            if error is not None and timed_out and error[0] == "KeyboardInterrupt":
                error = ("Timeout", f"did not finish within the {self.cell_timeout:g} s limit "
                                    "and was interrupted (an endless loop, or far too slow?)")
                if not (_is_test(cell) or _is_answer(cell)):
                    self.run.notes.append(f"{_cell_name(self.nb, index)} {error[1]}")
        if _is_test(cell) and gid in self.course.by_id:
            points = self.course.max_points(gid)
            if error is None:
                stderr = _stderr_of(cell)
                if stderr:  # nbgrader's rule too: a test cell that writes to stderr fails
                    error = ("stderr", stderr)
            if error is None:
                score = _partial_credit(cell, points)
                self.run.results[gid] = ExerciseReport(gid, score, points, score >= points,
                                                       _clip(_text_of(cell)) or "passed")
            else:
                self.run.results[gid] = ExerciseReport(gid, 0, points, False,
                                                       self._feedback(gid, error))
        elif _is_answer(cell) and gid:
            if error is None:
                self.run.answer_errors.pop(gid, None)
            else:
                self.run.answer_errors[gid] = _describe(error)

    def _feedback(self, test_id: str, error: tuple[str, str]) -> str:
        ename, evalue = error
        if ename in ("ExerciseFailed", "ExerciseNotImplemented"):
            text = evalue
        elif ename in ("Timeout", "DeadKernel"):
            text = f"the test cell {evalue}"
        elif ename == "stderr":
            text = ("the test cell wrote to stderr, which counts as a failure (as in "
                    f"nbgrader):\n{evalue}")
        else:
            text = f"the test cell raised {_describe(error)}"
        extra = []
        present = {_grade_id(c) for c in self.nb.cells}
        for answer in self.course.answers.get(test_id, []):
            if answer not in present:
                extra.append(f"the answer cell `{answer}` is missing from the submission")
            elif answer in self.run.answer_errors:
                extra.append(f"your answer cell `{answer}` raised "
                             f"{self.run.answer_errors[answer]}")
        if extra:
            text += "\n(" + "; ".join(extra) + ")"
        return _clip(text)

    def _report(self, seconds: float) -> Report:
        exercises = []
        for gid in self.course.tests:
            got = self.run.results.get(gid)
            if got is None:
                why = "; ".join(self.run.notes) or "its test cell did not run"
                got = ExerciseReport(gid, 0, self.course.max_points(gid), False,
                                     _clip(f"not graded: {why}"))
            exercises.append(got)
        return Report(
            notebook=str(self.path), course_notebook=self.course.path.name,
            exercises=exercises, total=_number(sum(e.points for e in exercises)),
            max_total=_number(sum(e.max_points for e in exercises)),
            notes=list(dict.fromkeys(self.run.notes)), seconds=round(seconds, 2))


def _copy_support_files(source: Path, work: Path) -> None:
    """Files beside the course notebooks (e.g. a private ``hidden_tests.py``) go into the
    working folder, as ``nbgrader autograde`` copies the source folder's other files."""
    for path in source.iterdir():
        if path.is_file() and path.suffix != ".ipynb" and not path.name.startswith("."):
            shutil.copy(path, work / path.name)


async def _shutdown(client, km) -> None:
    try:
        if await km.is_alive():
            await km.shutdown_kernel(now=True)
    except Exception:
        pass
    try:
        if client.kc is not None:
            client.kc.stop_channels()
        await km.cleanup_resources()
    except Exception:
        pass


def _cell_name(nb: NotebookNode, index: int) -> str:
    """``cell 7 (`while True:`)``: its position in the graded notebook and its first line."""
    lines = [line for line in nb.cells[index].source.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    return f"cell {index} (`{first[:40]}{'...' if len(first) > 40 else ''}`)"


def _error_of(cell: NotebookNode) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def _stderr_of(cell: NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr").strip()


def _partial_credit(cell: NotebookNode, max_points: float) -> float:
    """nbgrader's rule: a test cell whose result is a number in [0, max] scores that number."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "execute_result":
            try:
                value = float(str(out.get("data", {}).get("text/plain", "")))
            except ValueError:
                return max_points
            return _number(value) if 0 <= value <= max_points else max_points
    return max_points


def _describe(error: tuple[str, str]) -> str:
    ename, evalue = error
    if ename == "SystemExit":
        return f"SystemExit (it called sys.exit({evalue}))"
    evalue = _KERNEL_FILE.sub(r"(line \1 of the cell)", evalue)  # ipykernel's temp file name
    return f"{ename}: {evalue}" if evalue else ename


def _text_of(cell: NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(p.strip("\n") for p in parts if p.strip())


def _clip(text: str) -> str:
    return text if len(text) <= FEEDBACK_CAP_CHARS else text[:FEEDBACK_CAP_CHARS] + " [...]"


# ----------------------------------------------------------------------------- the command

def expand(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """The notebook files named or found (recursively) in folders; and the errors found."""
    found: list[Path] = []
    errors: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.ipynb")
                            if ".ipynb_checkpoints" not in p.parts)
            if not inside:
                errors.append(f"{path}: folder holds no .ipynb notebooks")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return found, errors


async def grade_many(paths: Sequence[Path], course: Sequence[CourseNotebook], *,
                     cell_timeout: float = DEFAULT_CELL_TIMEOUT_S,
                     total_timeout: float = DEFAULT_TOTAL_TIMEOUT_S,
                     jobs: int | None = None) -> tuple[list[Report], list[str]]:
    """Grade each notebook (``jobs`` kernels at a time); the reports and the errors, in order."""
    graders: list[_Grader | str] = []
    for path in paths:
        try:
            nb = read_submission(path)
            graders.append(_Grader(path, match(path, nb, course), nb, cell_timeout,
                                   total_timeout))
        except GradeError as err:
            graders.append(str(err))
    limit = asyncio.Semaphore(max(1, jobs or os.cpu_count() or 1))

    async def one(g: _Grader) -> Report:
        async with limit:
            return await g.grade()

    done = await asyncio.gather(*(one(g) for g in graders if isinstance(g, _Grader)))
    return list(done), [g for g in graders if isinstance(g, str)]


def grade(paths: Sequence[Path], source: Path = DEFAULT_SOURCE, **kwargs: Any
          ) -> tuple[list[Report], list[str]]:
    """Grade notebooks and folders of notebooks; see :func:`grade_many` for the options."""
    files, errors = expand(paths)
    reports, more = asyncio.run(grade_many(files, load_course(source), **kwargs))
    return reports, errors + more


def format_report(report: Report) -> str:
    """The text report: one line per exercise, feedback indented below it."""
    lines = [f"{report.notebook}  ({report.course_notebook}): "
             f"{report.total:g}/{report.max_total:g} points"]
    width = max((len(e.id) for e in report.exercises), default=0)
    for e in report.exercises:
        mark = "PASS" if e.passed else "FAIL"
        lines.append(f"  {mark}  {e.id:<{width}}  {e.points:g}/{e.max_points:g}")
        lines.extend("        " + line for line in e.feedback.splitlines())
    lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)


def _command(args: argparse.Namespace) -> int:
    if args.timeout <= 0 or args.total_timeout <= 0:
        print("grade: --timeout and --total-timeout must be positive numbers of seconds",
              file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("grade: --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        reports, errors = grade(args.paths, args.source, cell_timeout=args.timeout,
                                total_timeout=args.total_timeout, jobs=args.jobs)
    except GradeError as err:
        print(f"grade: {err}", file=sys.stderr)
        return 2
    for err in errors:
        print(f"grade: {err}", file=sys.stderr)
    if args.json:
        single = len(args.paths) == 1 and Path(args.paths[0]).is_file() and len(reports) == 1
        doc: Any = reports[0].to_json() if single else [r.to_json() for r in reports]
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 2 if errors else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``grade`` to ``python -m rlcourse``."""
    p = sub.add_parser(
        "grade", help="autograde submitted notebooks (no nbgrader needed)",
        description="Run each submission in a fresh kernel in a temporary folder, with the "
                    "course's own test cells, and report every exercise: points, pass or fail, "
                    "and feedback. Exit status 0 when grading ran, whatever the scores; 2 for "
                    "a path that is not a notebook of this course.")
    p.add_argument("paths", nargs="+", type=Path, metavar="NOTEBOOK_OR_FOLDER",
                   help="submitted .ipynb files, or folders searched recursively for them")
    p.add_argument("--json", action="store_true",
                   help="print JSON: one report object for one notebook file, else a list")
    p.add_argument("--timeout", type=float, default=DEFAULT_CELL_TIMEOUT_S, metavar="S",
                   help=f"per-cell time limit in seconds (default {DEFAULT_CELL_TIMEOUT_S:g})")
    p.add_argument("--total-timeout", type=float, default=DEFAULT_TOTAL_TIMEOUT_S, metavar="S",
                   help="time limit per notebook in seconds "
                        f"(default {DEFAULT_TOTAL_TIMEOUT_S:g})")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="notebooks graded at once (default: the number of CPU cores)")
    p.add_argument("--source", type=Path, default=DEFAULT_SOURCE, metavar="DIR",
                   help="the course notebooks with nbgrader metadata and tests "
                        "(default: the repository's solutions/)")
    p.set_defaults(func=_command)
