"""Autograde submissions: ``python -m rlcourse_grading grade NOTEBOOK_OR_FOLDER...``.

Each submission is matched to its course notebook in ``solutions/`` (by the ``grade_id`` of its
nbgrader cells, else by file name), merged with it by nbgrader's own preprocessors (the course's
locked and test cells replace the submission's, hidden tests included; deleted test cells come
back), and run in a fresh kernel in its own bubblewrap sandbox, several at a time. Scores follow
nbgrader's ``determine_grade``; each exercise gets a report: its test cell's ``grade_id``,
points, maximum, pass or fail, and feedback in words (the check's message, never a traceback,
never a hidden test's code or output).

The other modules of the package, by job, are listed in its ``__init__``; this one has the
command.

JSON (``--json``): one report is ``{"notebook", "course_notebook", "exercises": [{"id",
"points", "max_points", "passed", "feedback"}], "total", "max_total", "notes", "flags",
"seconds"}``. One notebook file given prints that object; several files, or a folder, print a
JSON list of them, in the order given (a folder's notebooks sorted by path).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlcourse_grading import gradebook, sandbox
from rlcourse_grading.course import (  # noqa: F401  (the names tests and users import)
    CourseNotebook,
    GradeError,
    grade_id,
    is_answer,
    is_test,
    load_course,
    match,
    merge,
    number,
    read_submission,
    split_hidden,
)
from rlcourse_grading.report import ExerciseReport, Report
from rlcourse_grading.runner import Grader, Options

ROOT = Path(__file__).resolve().parents[2]  # the clone: grading/rlcourse_grading/
DEFAULT_SOURCE = ROOT / "solutions"
DEFAULT_CELL_TIMEOUT_S = 120.0
DEFAULT_TOTAL_TIMEOUT_S = 1200.0


def _fingerprint(sub: gradebook.Submission, course: CourseNotebook, options: Options) -> str:
    """What a stored result depends on: the submission, the course notebook, the time limits."""
    h = hashlib.sha256()
    h.update(gradebook.sha256(sub.path).encode())
    h.update(gradebook.sha256(course.path).encode())
    for f in course.support_files():
        h.update(gradebook.sha256(f).encode())
    h.update(f"{options.cell_timeout}/{options.total_timeout}/{options.sandboxed}".encode())
    return h.hexdigest()


async def grade_many(subs: Sequence[gradebook.Submission], course: Sequence[CourseNotebook],
                     options: Options, *, jobs: int | None = None,
                     results: gradebook.Results | None = None,
                     progress: bool = True) -> tuple[list[tuple[str, Report]], list[str]]:
    """Grade each submission (``jobs`` sandboxes at a time); (student, report)s in the order
    given, and the errors. With ``results``, finished reports are read back instead of graded
    again, and each new one is saved the moment it is done."""
    from tqdm.auto import tqdm

    slots: list[Any] = []
    for sub in subs:
        try:
            nb = read_submission(sub.path)
            course_nb = match(sub.path, nb, course)
        except GradeError as err:
            slots.append(str(err))
            continue
        fingerprint = _fingerprint(sub, course_nb, options)
        stored = results.done(sub, fingerprint) if results is not None else None
        if stored is not None:
            slots.append((sub, stored))
            continue
        try:
            slots.append((sub, Grader(sub.path, course_nb, nb, options), fingerprint))
        except Exception as err:  # this submission's problem: the class is graded all the same
            slots.append((sub, _not_graded(sub.path, course_nb, err), fingerprint))
    todo = [s for s in slots if isinstance(s, tuple) and len(s) == 3]
    limit = asyncio.Semaphore(max(1, jobs or _cores()))
    bar = tqdm(total=len(todo), desc="grading", unit="notebook", file=sys.stderr,
               disable=not progress or not todo, dynamic_ncols=True, mininterval=1.0)

    async def one(sub, grader, fingerprint) -> Report:
        if isinstance(grader, Report):  # could not even be prepared for grading
            report = grader
        else:
            async with limit:
                try:
                    report = await grader.grade()
                except Exception as err:
                    report = _not_graded(sub.path, grader.course, err)
        if results is not None:
            results.save(sub, fingerprint, report)
        bar.update(1)
        return report

    try:
        graded = await asyncio.gather(*(one(*s) for s in todo))
    finally:
        bar.close()
    fresh = dict(zip(map(id, todo), graded))
    out: list[tuple[str, Report]] = []
    errors: list[str] = []
    for slot in slots:
        if isinstance(slot, str):
            errors.append(slot)
        elif len(slot) == 3:
            out.append((slot[0].student, fresh[id(slot)]))
        else:
            out.append((slot[0].student, slot[1]))
    return out, errors


def _not_graded(path: Path, course: CourseNotebook, err: Exception) -> Report:
    """Zero for every exercise of a submission the grader failed on, and why (in its notes)."""
    why = f"this notebook could not be graded ({type(err).__name__}: {err})"
    exercises = [ExerciseReport(gid, 0, course.max_points(gid), False, why)
                 for gid in course.tests]
    return Report(notebook=str(path), course_notebook=course.path.name, exercises=exercises,
                  total=0, max_total=number(sum(e.max_points for e in exercises)), notes=[why])


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def grade(paths: Sequence[Path], source: Path = DEFAULT_SOURCE, *,
          cell_timeout: float = DEFAULT_CELL_TIMEOUT_S,
          total_timeout: float = DEFAULT_TOTAL_TIMEOUT_S, jobs: int | None = None,
          sandboxed: bool = True, limits: sandbox.Limits | None = None,
          out: Path | None = None, shard: tuple[int, int] | None = None,
          roster: dict[str, dict[str, str]] | None = None,
          progress: bool = False) -> tuple[list[Report], list[str]]:
    """Grade notebooks and folders of notebooks; the reports (in order) and the errors.

    Raises GradeError when the sandbox is asked for and unavailable.
    """
    if sandboxed and (why := sandbox.unavailable_reason()):
        raise GradeError(f"cannot sandbox the submissions: {why}. Grading untrusted "
                         "notebooks without a sandbox lets them read the hidden tests and "
                         "change other students' results; pass --no-sandbox only for "
                         "notebooks you trust")
    subs, errors = gradebook.submissions(paths)
    if shard is not None:
        subs = [s for s in subs if gradebook.in_shard(s, shard)]
    hide = [Path(p) for p in paths] + [Path(source)] + ([Path(out)] if out else [])
    options = Options(cell_timeout=cell_timeout, total_timeout=total_timeout,
                      sandboxed=sandboxed, limits=limits or sandbox.Limits(
                          cpu_seconds=int(total_timeout) + 60),
                      hide=tuple(p.resolve() for p in hide))
    results = gradebook.Results(out) if out is not None else None
    pairs, more = asyncio.run(grade_many(subs, load_course(source), options, jobs=jobs,
                                         results=results, progress=progress))
    if results is not None and shard is None:
        gradebook.write_gradebook(results.out, results.load_all(), format_report, roster)
    return [r for _, r in pairs], errors + more


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


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"4G"`` / ``"512M"`` / ``"1.5GiB"`` -> bytes."""
    m = _SIZE.match(text or "")
    if not m:
        raise ValueError(f"expected a size such as 4G or 512M, got {text!r}")
    return int(float(m[1]) * 1024 ** " KMGT".index((m[2] or " ").upper()))


def _command(args: argparse.Namespace) -> int:
    try:
        roster = gradebook.read_roster(args.roster) if args.roster else None
    except (OSError, ValueError) as err:
        print(f"grade: --roster: {err}", file=sys.stderr)
        return 2
    if args.merge is not None:
        results = gradebook.Results(args.merge)
        found = results.load_all()
        if not found:
            print(f"grade: no results in {args.merge}/results", file=sys.stderr)
            return 2
        paths = gradebook.write_gradebook(args.merge, found, format_report, roster)
        print(f"{len(found)} result(s): wrote {paths['gradebook']}, {paths['feedback']}/, "
              f"{paths['review']}", file=sys.stderr)
        return 0
    if not args.paths:
        print("grade: give notebooks or folders to grade (or --merge DIR)", file=sys.stderr)
        return 2
    if args.timeout <= 0 or args.total_timeout <= 0:
        print("grade: --timeout and --total-timeout must be positive numbers of seconds",
              file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("grade: --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        shard = gradebook.parse_shard(args.shard) if args.shard else None
        memory = parse_size(args.memory)
    except ValueError as err:
        print(f"grade: {err}", file=sys.stderr)
        return 2
    if shard is not None and args.out is None:
        print("grade: --shard needs --out DIR (shared by every shard; then --merge DIR)",
              file=sys.stderr)
        return 2
    limits = sandbox.Limits(memory_bytes=memory, cpu_seconds=int(args.total_timeout) + 60,
                            processes=args.max_processes)
    try:
        reports, errors = grade(args.paths, args.source, cell_timeout=args.timeout,
                                total_timeout=args.total_timeout, jobs=args.jobs,
                                sandboxed=not args.no_sandbox, limits=limits, out=args.out,
                                shard=shard, roster=roster, progress=not args.quiet)
    except GradeError as err:
        print(f"grade: {err}", file=sys.stderr)
        return 2
    for err in errors:
        print(f"grade: {err}", file=sys.stderr)
    if args.json:
        single = len(args.paths) == 1 and Path(args.paths[0]).is_file() and len(reports) == 1
        doc: Any = reports[0].to_json() if single else [r.to_json() for r in reports]
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    elif args.out is None or not args.quiet:
        print("\n\n".join(format_report(r) for r in reports))
    if args.out is not None and shard is not None:
        print(f"grade: shard {shard[0]}/{shard[1]} done; when every shard is, run "
              f"`python -m rlcourse_grading grade --merge {args.out}`", file=sys.stderr)
    return 2 if errors else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``grade`` to ``python -m rlcourse_grading``."""
    p = sub.add_parser(
        "grade", help="autograde submitted notebooks, each in its own sandbox",
        description="Run each submission in a fresh kernel inside a bubblewrap sandbox, with "
                    "the course's own test cells, and report every exercise: points, pass or "
                    "fail, and feedback. Exit status 0 when grading ran, whatever the scores; "
                    "2 for a path that is not a notebook of this course, or no sandbox.")
    p.add_argument("paths", nargs="*", type=Path, metavar="NOTEBOOK_OR_FOLDER",
                   help="submitted .ipynb files, or folders searched recursively for them "
                        "(folder/<student>/.../*.ipynb: the first folder names the student)")
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
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="keep results in DIR (resumable) and write DIR/gradebook.csv, "
                        "DIR/feedback/<student>.txt and DIR/review.csv")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="grade only the I-th of N deterministic shards (needs --out; "
                        "then --merge)")
    p.add_argument("--merge", type=Path, default=None, metavar="DIR",
                   help="write the gradebook and feedback from DIR/results (after shards)")
    p.add_argument("--roster", type=Path, default=None, metavar="CSV",
                   help="a CSV with columns student (the submission folder's name), id and "
                        "email: the gradebook's id and email columns (default: the folder's "
                        "name, and as email when it is one)")
    p.add_argument("--memory", default="4G", metavar="SIZE",
                   help="address-space limit per process of a submission (default 4G)")
    p.add_argument("--max-processes", type=int, default=64, metavar="N",
                   help="processes and threads per submission (default 64)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run kernels without bubblewrap (trusted notebooks only: a submission "
                        "can then read hidden tests and touch the grader's files)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_command)
