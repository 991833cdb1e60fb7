"""Write ``notebooks/`` (student versions) from ``solutions/``, the only notebooks edited by hand.

nbgrader's own preprocessors do the stripping, in the order ``nbgrader generate_assignment``
uses (lock cells, clear solutions, clear outputs, checksums, clear hidden tests, clear the
marking scheme), so ``solutions/`` doubles as an nbgrader ``source/`` folder. On top, the build
tags with ``raises-exception`` every code cell that runs an unfinished exercise: a solution cell
whose stub raises at top level, and any later cell that uses a name such a cell defines. nbval
then lets exactly those cells raise, and only with ``NotImplementedError`` (see conftest.py).
"""

from __future__ import annotations

import ast
import difflib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

RAISES_TAG = "raises-exception"
STUB = "raise NotImplementedError()"


def student_version(solution: NotebookNode) -> NotebookNode:
    """The student notebook for one solution notebook (a new object; ``solution`` is untouched)."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    nb = nbformat.from_dict(json.loads(json.dumps(solution)))
    resources: dict = {}
    for pre in (LockCells(), ClearSolutions(), ClearOutput(), CheckCellMetadata(),
                ComputeChecksums(), ClearHiddenTests(), ClearMarkScheme(), ComputeChecksums(),
                CheckCellMetadata()):
        nb, resources = pre.preprocess(nb, resources)
    _tag_unfinished(nb, solution)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


def _tag_unfinished(nb: NotebookNode, solution: NotebookNode) -> None:
    unfinished: set[str] = set()  # names bound by cells whose stub raises NotImplementedError
    for cell, solved in zip(nb.cells, solution.cells):
        if cell.cell_type != "code":
            continue
        tree = _parse(cell.source)
        if tree is None:
            continue
        is_stub = _is_solution(cell) and STUB in cell.source
        raises_at_top = is_stub and any(isinstance(s, ast.Raise) for s in tree.body)
        uses_unfinished = bool(_loaded_names(tree) & unfinished)
        tags = [t for t in cell.metadata.get("tags", []) if t != RAISES_TAG]
        if raises_at_top or uses_unfinished:
            tags.append(RAISES_TAG)
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        if is_stub:  # what the solved cell binds is what the student's cell fails to bind
            solved_tree = _parse(solved.source)
            unfinished |= _bound_names(tree) | (_bound_names(solved_tree) if solved_tree else set())
        if raises_at_top or uses_unfinished:
            unfinished |= _assigned_names(tree)


def _is_solution(cell: NotebookNode) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution", False))


def _parse(source: str) -> ast.Module | None:
    # IPython magics and shell escapes are not Python; blank them before parsing.
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _loaded_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _bound_names(tree: ast.Module) -> set[str]:
    names = _assigned_names(tree)
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
    return names


def _assigned_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for stmt in tree.body:
        targets: list[ast.AST] = []
        if isinstance(stmt, ast.Assign):
            targets = list(stmt.targets)
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
            targets = [stmt.target]
        for target in targets:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def dumps(nb: NotebookNode) -> str:
    """The exact text written to disk (nbformat's canonical JSON, one trailing newline)."""
    return nbformat.writes(nb) + "\n"


@dataclass
class Stale:
    """A student notebook that does not match what the build would write."""

    path: Path
    reason: str


def build(solutions: Path, notebooks: Path, check: bool = False) -> list[Stale]:
    """Write (or with ``check``, only compare) ``notebooks/NAME`` for every ``solutions/NAME``.

    Returns:
        The stale notebooks found (with ``check``) or written (without it).
    """
    solutions, notebooks = Path(solutions), Path(notebooks)
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no notebooks found in {solutions}")
    stale: list[Stale] = []
    for src in sources:
        target = notebooks / src.name
        expected = student_version(nbformat.read(src, as_version=4))
        text = dumps(expected)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        reason = "missing" if not target.exists() else _first_difference(target, expected)
        stale.append(Stale(target, reason))
        if not check:
            notebooks.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    wanted = {s.name for s in sources}
    for extra in sorted(notebooks.glob("*.ipynb")):
        if extra.name not in wanted:
            stale.append(Stale(extra, f"has no source in {solutions}/ (delete it, or add "
                                      f"{solutions / extra.name})"))
    return stale


def _first_difference(path: Path, expected: NotebookNode) -> str:
    try:
        actual = nbformat.read(path, as_version=4)
    except Exception as err:  # unreadable JSON is stale too
        return f"cannot be read as a notebook ({err})"
    for i, (a, e) in enumerate(zip(actual.cells, expected.cells)):
        if a != e:
            field = next((k for k in ("cell_type", "source", "metadata", "outputs")
                          if a.get(k) != e.get(k)), "contents")
            diff = ""
            if field == "source":
                lines = difflib.unified_diff(e.source.splitlines(), a.source.splitlines(),
                                             "expected", "found", lineterm="", n=0)
                diff = "\n      " + "\n      ".join(list(lines)[2:8])
            return f"cell {i} (id {e.get('id', '?')}): {field} differs{diff}"
    if len(actual.cells) != len(expected.cells):
        return f"has {len(actual.cells)} cells, expected {len(expected.cells)}"
    return "notebook metadata or formatting differs"
