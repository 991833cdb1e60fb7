"""The requirements of the course's three packages (root, authoring/, grading/), read from their
pyproject.toml files: the learner's package, the author's tools and the grader."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECTS = (ROOT / "pyproject.toml", ROOT / "authoring" / "pyproject.toml",
              ROOT / "grading" / "pyproject.toml")
OWN = {"rlcourse", "rlcourse-authoring", "rlcourse-grading"}


def requirements() -> list[str]:
    """Every requirement string of the three packages, extras included, the packages' own
    requirements on each other left out; the same package may appear in several."""
    reqs = []
    for path in PYPROJECTS:
        project = tomllib.loads(path.read_text())["project"]
        reqs += project["dependencies"]
        for extra in project.get("optional-dependencies", {}).values():
            reqs += extra
    return [r for r in reqs if r.strip().lower() not in OWN]
