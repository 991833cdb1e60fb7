"""A class's results on disk: one JSON per graded submission, then a gradebook and feedback.

``--out DIR`` keeps ``DIR/results/<student>/<notebook>.json`` for every submission as soon as
it is graded (written atomically), with the SHA-256 of the submission and of the course
notebook it was graded against. A later run with the same ``--out`` skips every submission
whose result is there and still matches both (so an interrupted run resumes where it stopped,
and a changed submission or course notebook is graded again). Shards (``--shard i/n``) pick
their submissions by a hash of the student and file name, so each lands in exactly one shard
whatever the others hold, and write to the same ``results/``; ``--merge DIR`` (also run at the
end of an unsharded run) writes:

- ``gradebook.csv``: what an LMS imports. Columns ``student`` (the submission's folder or file
  name), ``id`` and ``email`` (from ``--roster``, else the student's name, and as email when it
  is one), one per exercise (its ``grade_id``, prefixed with the notebook where two notebooks
  share one), then ``total``; the first row after the header, ``Points Possible``, holds each
  exercise's maximum and the total's (the row Canvas reads; other systems skip it or map it);
- ``feedback/<student>.txt``: the text report of each of the student's notebooks;
- ``review.csv``: submissions with notes (time-outs, skipped cells, restored state) or flags.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rlcourse_grading.report import Report

_UNSAFE = re.compile(r"[^\w.@+-]+")
MAX_ROW = "Points Possible"  # the gradebook's row of maxima (Canvas's name for it)


@dataclass(frozen=True)
class Submission:
    """A submitted notebook, with the student it belongs to."""

    path: Path
    student: str

    @property
    def key(self) -> str:
        return f"{self.student}/{self.path.name}"


def student_of(path: Path, root: Path | None) -> str:
    """``submissions/alice/...`` -> alice; a file given alone, or directly in the folder -> its
    name without extension (``alice.ipynb`` -> alice)."""
    if root is not None:
        rel = path.relative_to(root)
        if len(rel.parts) > 1:
            return safe(rel.parts[0])
    return safe(path.stem)


def safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "student"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` -> (2, 8): the second of eight shards, counted from 1."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"--shard must be i/n with 1 <= i <= n (e.g. 1/4), got {text!r}")
    return int(match[1]), int(match[2])


def in_shard(sub: Submission, shard: tuple[int, int] | None) -> bool:
    if shard is None:
        return True
    i, n = shard
    digest = int(hashlib.sha256(sub.key.encode()).hexdigest(), 16)
    return digest % n == i - 1


class Results:
    """``DIR/results/``: one JSON per graded submission."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.dir = self.out / "results"
        self.dir.mkdir(parents=True, exist_ok=True)

    def _file(self, sub: Submission) -> Path:
        return self.dir / safe(sub.student) / f"{safe(sub.path.stem)}.json"

    def done(self, sub: Submission, fingerprint: str) -> Report | None:
        """The stored report of ``sub`` if it matches the submission and course as they are."""
        path = self._file(sub)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if doc.get("fingerprint") != fingerprint:
            return None
        return Report.from_json(doc["report"])

    def save(self, sub: Submission, fingerprint: str, report: Report) -> None:
        path = self._file(sub)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"student": sub.student, "fingerprint": fingerprint,
                                   "report": report.to_json()}, ensure_ascii=False, indent=1),
                       encoding="utf-8")
        os.replace(tmp, path)  # atomic: a killed run leaves the old file or the new one

    def load_all(self) -> list[tuple[str, Report]]:
        found = []
        for path in sorted(self.dir.glob("*/*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                found.append((doc["student"], Report.from_json(doc["report"])))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """A roster CSV: a ``student`` column (the submission folder's name) and any of ``id``,
    ``email``; student -> {"id": ..., "email": ...}."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if "student" not in (reader.fieldnames or []):
            raise ValueError(f"{path}: a roster needs a 'student' column (the submission "
                             f"folder's name), got columns {reader.fieldnames}")
        return {safe(row["student"]): {"id": (row.get("id") or "").strip(),
                                       "email": (row.get("email") or "").strip()}
                for row in reader if row.get("student")}


def write_gradebook(out: Path, results: Sequence[tuple[str, Report]],
                    format_report, roster: dict[str, dict[str, str]] | None = None
                    ) -> dict[str, Path]:
    """gradebook.csv, feedback/<student>.txt and review.csv from every stored result."""
    out = Path(out)
    columns: list[tuple[str, str]] = []  # (course notebook, grade_id), in course order
    maxima: dict[tuple[str, str], float] = {}
    for _, report in sorted(results, key=lambda r: r[1].course_notebook):
        for e in report.exercises:
            if (report.course_notebook, e.id) not in columns:
                columns.append((report.course_notebook, e.id))
            maxima[report.course_notebook, e.id] = e.max_points
    ids = [gid for _, gid in columns]
    names = {c: (c[1] if ids.count(c[1]) == 1 else f"{Path(c[0]).stem}:{c[1]}")
             for c in columns}
    by_student: dict[str, list[Report]] = {}
    for student, report in results:
        by_student.setdefault(student, []).append(report)

    gradebook = out / "gradebook.csv"
    with open(gradebook, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "id", "email", *(names[c] for c in columns), "total"])
        writer.writerow([MAX_ROW, "", "", *(_fmt(maxima[c]) for c in columns),
                         _fmt(sum(maxima.values()))])
        for student in sorted(by_student):
            points: dict[tuple[str, str], float] = {}
            for report in by_student[student]:
                for e in report.exercises:
                    points[report.course_notebook, e.id] = e.points
            known = (roster or {}).get(student, {})
            writer.writerow([student, known.get("id") or student,
                             known.get("email") or (student if "@" in student else ""),
                             *(_fmt(points.get(c)) for c in columns),
                             _fmt(sum(points.values()))])

    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    for student, reports in by_student.items():
        text = "\n\n".join(format_report(r) for r in sorted(reports,
                                                              key=lambda r: r.course_notebook))
        (feedback / f"{safe(student)}.txt").write_text(text + "\n", encoding="utf-8")

    review = out / "review.csv"
    with open(review, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "notebook", "total", "flags", "notes"])
        for student, report in sorted(results, key=lambda r: (r[0], r[1].course_notebook)):
            if report.flags or report.notes:
                writer.writerow([student, report.course_notebook, _fmt(report.total),
                                 " | ".join(report.flags), " | ".join(report.notes)])
    return {"gradebook": gradebook, "feedback": feedback, "review": review}


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def submissions(paths: Iterable[Path]) -> tuple[list[Submission], list[str]]:
    """The notebook files named or found (recursively) in folders, with their students."""
    found: list[Submission] = []
    errors: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.ipynb")
                            if ".ipynb_checkpoints" not in p.parts)
            if not inside:
                errors.append(f"{path}: folder holds no .ipynb notebooks")
            # A link (what unzipping an archive can make) could point at another student's
            # notebook or at the solutions: refused, not followed (rglob does not enter a
            # linked folder, so it is named here).
            for p in sorted(q for q in path.rglob("*") if q.is_symlink()
                            and (q.suffix == ".ipynb" or q.is_dir())):
                errors.append(f"{p}: a symbolic link (not followed, not graded)")
            found.extend(Submission(p, student_of(p, path)) for p in inside
                         if not p.is_symlink())
        elif path.is_file():
            found.append(Submission(path, student_of(path, None)))
        else:
            errors.append(f"{path}: no such file or folder")
    return found, errors
