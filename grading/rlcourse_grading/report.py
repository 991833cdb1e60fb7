"""What grading one submission found: a report per exercise, and one for the notebook.

``asdict(report)`` is the JSON document that ``grade --json`` prints and the gradebook keeps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
    flags: list[str] = field(default_factory=list)  # for a human to review; no effect on points
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Report:
        doc = dict(doc)
        doc["exercises"] = [ExerciseReport(**e) for e in doc["exercises"]]
        return cls(**doc)
