"""Grade one submission: run it in a sandboxed kernel, judge each test cell, write a report.

The runner (nbclient, in the grader's own trusted process) holds the merged notebook, hidden
tests included; the kernel (in its sandbox, :mod:`.sandbox`) receives one cell at a time over
ZeroMQ ``ipc`` sockets. Before each test cell the runner has the kernel restore the state the
checks rely on (:mod:`.kernel`); a test cell's hidden blocks run as separate requests, with the
course's helper files present only while they run and forgotten afterwards, and their output
never reaches the feedback. Scores come from nbgrader's ``determine_grade`` on the test cell's
outputs (after nbgrader's ``LimitOutput``), feedback is the check's own words.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

import rlcourse
from rlcourse_grading import kernel as guarded
from rlcourse_grading import sandbox, screen
from rlcourse_grading.course import (
    _LOG,
    CourseNotebook,
    grade_id,
    is_answer,
    is_test,
    merge,
    number,
    split_hidden,
)
from rlcourse_grading.judging import Judge, _clip, _error_of
from rlcourse_grading.kernel_client import _client_class, _kernel_manager_class, _shutdown
from rlcourse_grading.report import ExerciseReport, Report

# The only folders of the course the sandboxed kernel sees: the learner's package (what the
# notebooks import) and this one (the graded kernel). Not the clone they may sit in, which can
# hold the solutions, other submissions, old results or nbgrader's course folder.
PACKAGES = (Path(rlcourse.__file__).resolve().parent, Path(__file__).resolve().parent)
PYTHONPATH = os.pathsep.join(dict.fromkeys(str(p.parent) for p in PACKAGES))
CLONE = Path(__file__).resolve().parents[2]  # grading/rlcourse_grading/ in a clone
SUPPORT = "/course-support"  # the course's helper files, read-only, while a hidden block runs
GRACE_S = 5.0  # how long an interrupted cell may take to stop before its kernel is killed
MAX_RUNS = 4  # a run that must skip a cell starts again from the top, at most this often


@dataclass(frozen=True)
class Options:
    cell_timeout: float = 120.0
    total_timeout: float = 1200.0
    sandboxed: bool = True
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    hide: tuple[Path, ...] = ()  # host paths the sandbox must not show (sources, submissions)


@dataclass
class _Run:
    """What grading one submission found so far (kept when the total time limit cuts it)."""

    results: dict[str, ExerciseReport] = field(default_factory=dict)
    answer_errors: dict[str, str] = field(default_factory=dict)  # answer grade_id -> error
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


class _Stop(Exception):
    """A cell had to be killed: (index, why); the notebook is run again without it."""


class Grader:
    """Grades one submission against its course notebook."""

    def __init__(self, path: Path, course: CourseNotebook, submission: NotebookNode,
                 options: Options):
        self.path, self.course, self.options = path, course, options
        self.nb = merge(submission, course)
        self.run = _Run()
        self.run.flags = screen.screen(submission, course)
        self.judge = Judge(course, self.nb, self.run)

    async def grade(self) -> Report:
        start = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix="rlcourse-grade-"))
        try:
            if self.course.tests:
                task = asyncio.ensure_future(self._runs(tmp))
                done, _ = await asyncio.wait({task}, timeout=self.options.total_timeout)
                if not done:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    self.run.notes.append(f"grading stopped at the total time limit of "
                                          f"{self.options.total_timeout:g} s")
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
            base = tmp / f"run{attempt}"
            for sub in ("work", "run", "support"):
                (base / sub).mkdir(parents=True)
            stopped = await self._run_once(copy.deepcopy(self.nb), base, skip)
            if stopped is None:
                return
            index, reason = stopped
            skip[index] = reason
            self.run.notes.append(f"{_cell_name(self.nb, index)} {reason}; it was skipped and "
                                  "the notebook run again from the top")
        self.run.notes.append(f"gave up after {MAX_RUNS} runs")

    # ------------------------------------------------------------------------- the kernel

    def _kernel_env(self, home: str, support: str) -> dict[str, str]:
        env = {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin",
                                     "/usr/bin", "/bin"]),
            "HOME": home, "TMPDIR": "/tmp" if self.options.sandboxed else home,
            "LANG": "C.UTF-8", "PYTHONPATH": PYTHONPATH, guarded.SUPPORT_ENV: support,
            "PYTHONBREAKPOINT": "0",  # a breakpoint() left in an answer does nothing here
            "RLCOURSE_GRADING": "1",  # the checks' guard around each call (checks/feedback.py)
            "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ beside the course's modules
            "IPYTHONDIR": f"{home}/.ipython",  # no user profile, nothing in ~/.ipython
            "MPLCONFIGDIR": f"{home}/.matplotlib", "MPLBACKEND": "Agg",
            "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            guarded.PRELOAD_ENV: ",".join(m for m in self.course.imports()
                                          if guarded._watched(m)),
        }
        for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[key] = os.environ.get(key, "1")  # kernels side by side must not oversubscribe
        return env

    def _command(self, base: Path, cgroup: sandbox.PidsCgroup | None) -> tuple[list[str], str]:
        kernel = [sys.executable, "-m", "rlcourse_grading.kernel", "-f",
                  "{connection_file}"]
        limits = self.options.limits
        if not self.options.sandboxed:
            home = str(base / "work")
            return sandbox.limits_prefix(limits, cgroup) + kernel, home
        hide = (*self.options.hide, self.course.path.parent, CLONE / "solutions", CLONE / ".git")
        env = self._kernel_env(sandbox.HOME, SUPPORT)
        cmd = sandbox.bwrap_command(kernel, work=base / "work", runtime=base / "run",
                                    packages=PACKAGES, support=(base / "support", SUPPORT),
                                    hide=hide, env=env, limits=limits)
        return sandbox.limits_prefix(limits, cgroup) + cmd, sandbox.HOME

    async def _run_once(self, nb: NotebookNode, base: Path,
                        skip: dict[int, str]) -> tuple[int, str] | None:
        """Run the cells once; (index, why) of a cell that had to be killed, else None."""
        cgroup = sandbox.PidsCgroup(self.options.limits.processes)
        command, home = self._command(base, cgroup)
        km = _kernel_manager_class()(kernel_name="python3", transport="ipc",
                                     ip=str(base / "run" / "k"),
                                     connection_file=str(base / "run" / "kernel.json"))
        km.command = command
        client = _client_class()(nb, km=km, timeout=self.options.cell_timeout,
                                 allow_errors=True, interrupt_on_timeout=True,
                                 shutdown_kernel="immediate", record_timing=False, log=_LOG,
                                 iopub_timeout=10, startup_timeout=120,
                                 # no tag of a cell can make the grader skip it
                                 skip_cells_with_tag=f"rlcourse-{uuid.uuid4().hex}")
        client._used = {}
        self._base, self._home = base, home
        env = (self._kernel_env(home, str(base / "support")) if not self.options.sandboxed
               else None)
        try:
            # The kernel's own stdout/stderr (fd-level prints, C libraries) must not reach the
            # grader's: --json output has to stay one clean document.
            await client.async_start_new_kernel(
                cwd=str(base / "work"),
                env=env or {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": PYTHONPATH},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            await client.async_start_new_kernel_client()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if index in skip:
                    if grade_id(cell) not in self.run.results:
                        self.judge.record(cell, index, error=("Timeout", skip[index]))
                    continue
                try:
                    if is_test(cell):
                        await self._test(client, cell, index)
                    else:
                        error = await self._execute(client, cell, index)
                        self.judge.record(cell, index, error=error)
                except _Stop as stop:
                    return stop.args
            return None
        finally:
            await _shutdown(client, km)
            cgroup.remove()

    async def _execute(self, client, cell: NotebookNode, index: int,
                       store_history: bool = True) -> tuple[str, str] | None:
        """Run one cell (or segment); the error it ended with, if any. Raises _Stop."""
        from nbclient.exceptions import DeadKernelError

        task = asyncio.ensure_future(client.async_execute_cell(cell, index,
                                                               store_history=store_history))
        started = time.monotonic()
        done, _ = await asyncio.wait({task}, timeout=self.options.cell_timeout + GRACE_S)
        timed_out = time.monotonic() - started >= self.options.cell_timeout
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            why = (f"ran past the {self.options.cell_timeout:g} s limit and did not stop "
                   "when interrupted")
            self.judge.record(self.nb.cells[index], index, error=("Timeout", why))
            raise _Stop(index, why)
        try:
            task.result()
        except DeadKernelError:
            why = "stopped the kernel (os._exit? a crash? out of memory or CPU time?)"
            self.judge.record(self.nb.cells[index], index, error=("DeadKernel", why))
            raise _Stop(index, why) from None
        error = _error_of(cell)
        if error is not None and timed_out and error[0] == "KeyboardInterrupt":
            error = ("Timeout", f"did not finish within the {self.options.cell_timeout:g} s "
                                "limit and was interrupted (an endless loop, or far too slow?)")
            if not (is_test(cell) or is_answer(cell)):
                self.run.notes.append(f"{_cell_name(self.nb, index)} {error[1]}")
        return error

    async def _guard(self, client, code: str) -> dict[str, Any]:
        """Have the kernel put back the state the checks rely on (see kernel.py)."""
        try:
            reply = await asyncio.wait_for(client.kc.execute_interactive(
                code, silent=True, store_history=False, output_hook=lambda msg: None,
                user_expressions={}, timeout=GRACE_S * 4), GRACE_S * 4 + 1)
            data = reply["content"]["user_expressions"]["rlcourse_guard"]["data"]
            return json.loads(data["text/plain"])
        except Exception:  # the kernel is dead or stuck: the test cell will say so
            return {"restored": ["(the kernel did not answer the grader's reset)"]}

    async def _test(self, client, cell: NotebookNode, index: int) -> None:
        gid = grade_id(cell)
        report = await self._guard(client, guarded.GUARD_CODE)
        restored = [r for r in report.get("restored", []) if not r.startswith("builtins._")]
        if restored:
            shown = ", ".join(f"`{r}`" for r in restored[:6]) + (" ..." if len(restored) > 6
                                                                 else "")
            self.run.notes.append(f"before the test cell `{gid}`, the notebook had changed "
                                  f"{shown}; put back before the test ran (changing the "
                                  "course's or the libraries' code earns nothing)")
            self.run.flags.append(f"changed {shown} (before `{gid}`)")
        if report.get("threads"):
            self.run.flags.append(f"threads still running at `{gid}`: "
                                  f"{', '.join(report['threads'][:3])}")
        visible: list[NotebookNode] = []
        hidden: list[NotebookNode] = []
        error: tuple[str, str] | None = None
        hidden_error = False
        for source, is_hidden in split_hidden(cell.source):
            segment = nbformat.v4.new_code_cell(source)
            segment.metadata = copy.deepcopy(cell.metadata)
            placed: list[Path] = []
            if is_hidden:
                placed = self._place_support_files()
            try:
                seg_error = await self._execute(client, segment, index,
                                                store_history=not is_hidden)
            finally:
                for p in placed:
                    p.unlink(missing_ok=True)
            (hidden if is_hidden else visible).extend(segment.outputs)
            if is_hidden:
                await self._guard(client, guarded.FORGET_CODE)
            if seg_error is not None:
                error, hidden_error = seg_error, is_hidden
                break
        cell.outputs = visible + hidden
        self.judge.score(cell, gid, visible, error, hidden_error)

    def _place_support_files(self) -> list[Path]:
        # Into the grader's own folder, shown read-only to the kernel: never through a path the
        # submission can write (a symlink there would have the grader overwrite a host file).
        placed = []
        for path in self.course.support_files():
            target = self._base / "support" / path.name
            shutil.copy(path, target)
            placed.append(target)
        return placed

    # ------------------------------------------------------------------------- judging

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
            exercises=exercises, total=number(sum(e.points for e in exercises)),
            max_total=number(sum(e.max_points for e in exercises)),
            notes=list(dict.fromkeys(self.run.notes)),
            flags=list(dict.fromkeys(self.run.flags)), seconds=round(seconds, 2))


def _cell_name(nb: NotebookNode, index: int) -> str:
    """``cell 7 (`while True:`)``: its position in the graded notebook and its first line."""
    lines = [line for line in nb.cells[index].source.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    return f"cell {index} (`{first[:40]}{'...' if len(first) > 40 else ''}`)"


