"""A test cell's verdict: its points (nbgrader's ``determine_grade``) and its feedback in words.

Feedback is the check's own message, never a traceback, never a hidden test's code or output, and
at most ``FEEDBACK_CAP_CHARS`` characters; an answer cell that raised or is missing is named.
"""

from __future__ import annotations

import copy
import re

import nbformat
from nbformat import NotebookNode

from rlcourse_grading.course import (
    _LOG,
    CourseNotebook,
    grade_id,
    is_answer,
    is_test,
    nbgrader_utils,
    number,
)
from rlcourse_grading.report import ExerciseReport

FEEDBACK_CAP_CHARS = 2_000
_KERNEL_FILE = re.compile(r"\([^()]*?\d+\.py, line (\d+)\)")
HIDDEN_FAILED = "failed a hidden test (hidden tests say no more than that)"


class Judge:
    """Scores the test cells of one merged notebook into ``run`` (a runner ``_Run``)."""

    def __init__(self, course: CourseNotebook, nb: NotebookNode, run) -> None:
        self.course, self.nb, self.run = course, nb, run

    def score(self, cell: NotebookNode, gid: str | None, visible: list[NotebookNode],
               error: tuple[str, str] | None, hidden_error: bool) -> None:
        if gid not in self.course.by_id:
            return
        from nbgrader.preprocessors import LimitOutput

        points = self.course.max_points(gid)
        judged = copy.deepcopy(cell)
        judged.metadata["nbgrader"] = copy.deepcopy(self.course.by_id[gid].metadata.nbgrader)
        if error is not None and error[0] in ("Timeout", "DeadKernel") and not any(
                o.get("output_type") == "error" for o in judged.outputs):
            judged.outputs.append(nbformat.v4.new_output("error", ename=error[0],
                                                         evalue=error[1], traceback=[]))
        if error is None and any(ln.startswith("✔") for ln in _text_of(visible).splitlines()):
            # The check said yes: what the student's own code wrote to stderr on the way (a log
            # line, a warning, a progress bar) does not fail it, as nbgrader's rule would.
            judged.outputs = [o for o in judged.outputs if not (
                o.get("output_type") == "stream" and o.get("name") == "stderr")]
        judged, _ = LimitOutput(log=_LOG).preprocess_cell(judged, {}, 0)
        try:
            score, _ = nbgrader_utils().determine_grade(judged, _LOG)
        except ValueError as err:  # a numeric result above the maximum: nbgrader refuses it
            score, error = 0, error or ("ValueError", f"the test cell's result: {err}")
        score = number(score or 0)
        if error is None and score > 0:
            # The check's words only: its last ✔ line. What the student's code printed while
            # the check called it stays out (it could carry what that code read at grade time).
            checks = [ln for ln in _text_of(visible).splitlines() if ln.startswith("✔")]
            text = _clip(checks[-1]) if checks else "passed"
            self.run.results[gid] = ExerciseReport(gid, score, points, score >= points, text)
            return
        if error is None:  # no error, but stderr (nbgrader's rule: a failure)
            shown = _stderr_of(nbformat.from_dict({"outputs": visible}))
            error = ("stderr", shown or "(a hidden test wrote to stderr; what it wrote is "
                                        "not shown)")
        self.run.results[gid] = ExerciseReport(gid, 0, points, False,
                                               self.feedback(gid, error, hidden_error))

    def record(self, cell: NotebookNode, index: int,
                error: tuple[str, str] | None = None) -> None:
        gid = grade_id(cell)
        if is_test(cell) and gid in self.course.by_id:
            if error is not None and gid not in self.run.results:
                points = self.course.max_points(gid)
                self.run.results[gid] = ExerciseReport(gid, 0, points, False,
                                                       self.feedback(gid, error, False))
        elif is_answer(cell) and gid:
            if error is None:
                self.run.answer_errors.pop(gid, None)
            else:
                self.run.answer_errors[gid] = _describe(error)

    def feedback(self, test_id: str, error: tuple[str, str], hidden: bool) -> str:
        ename, evalue = error
        if hidden and ename not in ("Timeout", "DeadKernel"):
            label = evalue.split(":", 1)[0] if evalue.startswith("✘") else "✘"
            text = f"{label}: {HIDDEN_FAILED}"
        elif ename in ("ExerciseFailed", "ExerciseNotImplemented"):
            text = evalue
        elif ename in ("Timeout", "DeadKernel"):
            text = f"the test cell {evalue}"
        elif ename == "stderr":
            text = ("the test cell wrote to stderr, which counts as a failure (as in "
                    f"nbgrader):\n{evalue}")
        else:
            text = f"the test cell raised {_describe(error)}"
        extra = []
        present = {grade_id(c) for c in self.nb.cells}
        for answer in self.course.answers.get(test_id, []):
            if answer not in present:
                extra.append(f"the answer cell `{answer}` is missing from the submission")
            elif answer in self.run.answer_errors:
                extra.append(f"your answer cell `{answer}` raised "
                             f"{self.run.answer_errors[answer]}")
        if extra:
            text += "\n(" + "; ".join(extra) + ")"
        return _clip(text)


def _error_of(cell: NotebookNode) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def _stderr_of(cell: NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr").strip()


def _describe(error: tuple[str, str]) -> str:
    ename, evalue = error
    if ename == "SystemExit":
        return f"SystemExit (it called sys.exit({evalue}))"
    evalue = _KERNEL_FILE.sub(r"(line \1 of the cell)", evalue)  # ipykernel's temp file name
    return f"{ename}: {evalue}" if evalue else ename


def _text_of(outputs: list[NotebookNode]) -> str:
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(p.strip("\n") for p in parts if p.strip())


def _clip(text: str) -> str:
    return text if len(text) <= FEEDBACK_CAP_CHARS else text[:FEEDBACK_CAP_CHARS] + " [...]"
