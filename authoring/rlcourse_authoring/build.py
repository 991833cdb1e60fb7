"""Write ``notebooks/`` (student versions) from ``solutions/``, the only notebooks edited by hand.

nbgrader's own preprocessors do the stripping, in the order ``nbgrader generate_assignment``
uses (lock cells, clear solutions, clear outputs, checksums, clear hidden tests, clear the
marking scheme), so ``solutions/`` doubles as an nbgrader ``source/`` folder. On top, the build
tags with ``raises-exception`` every code cell that runs an unfinished exercise: a solution cell
whose stub raises at top level, and any later cell that uses a name such a cell defines. nbval
then lets exactly those cells raise, and only with ``NotImplementedError`` (see conftest.py).

Before that, the build writes the first cell of every solution notebook (an authoring step): the
Colab cell, which installs the course's package on Colab and does nothing anywhere else. Its one
input is the course's address, ``[project.urls] Repository`` in ``pyproject.toml``; without one,
the cell says on Colab that no address is set. ``build(check=True)`` reports a solution whose
first cell is not the current Colab cell.

It also writes every cell whose metadata says ``{"rlcourse": {"role": "from-package",
"source": "rlcourse/<module>.py"}}``: such a cell is the lines of that file between a comment
``# --- on the page`` and a comment ``# --- end of the page`` (dedented; a name the module
defines gets the prefix ``<module>.``), so the REINFORCE loop that notebooks 03 and 04 show is the
package's loop, one source. ``build(check=True)`` reports such a cell when it is stale.
"""

from __future__ import annotations

import ast
import difflib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

RAISES_TAG = "raises-exception"
STUB = "raise NotImplementedError()"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
ROOT = PYPROJECT.parent  # the course's repository: what a from-package cell's source is relative to
# The Colab cell is recognised by its metadata, wherever an author may have moved it.
COLAB_ROLE = "colab-install"
PAGE_ROLE = "from-package"
PAGE_START, PAGE_END = "# --- on the page", "# --- end of the page"

_COLAB_HEADER = """\
# Colab: install the course's package (on any other machine this cell does nothing).
# Every notebook starts with this cell, written by `python -m rlcourse_authoring build` from
# [project.urls] Repository in the course's pyproject.toml.
import sys
"""
_COLAB_WITH_URL = _COLAB_HEADER + """
COURSE_REPOSITORY = {url!r}
if "google.colab" in sys.modules:
    get_ipython().run_line_magic("pip", f"install --quiet git+{{COURSE_REPOSITORY}}")"""
_COLAB_WITHOUT_URL = _COLAB_HEADER + """
COURSE_REPOSITORY = None  # not set in this copy of the course
if "google.colab" in sys.modules:
    raise RuntimeError(
        "This copy of the course does not say where it is published ([project.urls] Repository "
        "is not set in its pyproject.toml), so this cell cannot install the course on Colab. "
        "Run the course on your own machine (`make lab`), or install it in a new cell with "
        "%pip install git+ADDRESS, ADDRESS being the course repository's address.")"""


def course_url(pyproject: Path = PYPROJECT) -> str | None:
    """The course's address, ``[project.urls] Repository`` of ``pyproject``; None if unset."""
    try:
        project = tomllib.loads(Path(pyproject).read_text(encoding="utf-8")).get("project", {})
    except FileNotFoundError:
        return None
    url = project.get("urls", {}).get("Repository")
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        raise ValueError(f"{pyproject}: [project.urls] Repository must be an http(s) address, "
                         f"got {url!r}")
    return url or None


def colab_cell(url: str | None) -> NotebookNode:
    """The first cell of every notebook: on Colab, ``pip install git+url``; elsewhere nothing."""
    from nbformat.v4 import new_code_cell

    source = _COLAB_WITH_URL.format(url=url) if url else _COLAB_WITHOUT_URL
    cell = new_code_cell(source, id=COLAB_ROLE)
    cell.metadata["rlcourse"] = {"role": COLAB_ROLE}
    return cell


def _is_colab_cell(cell: NotebookNode) -> bool:
    return cell.get("metadata", {}).get("rlcourse", {}).get("role") == COLAB_ROLE


def colab_cell_problem(nb: NotebookNode, url: str | None) -> str | None:
    """Why ``nb``'s first cell is not the current Colab cell (None when it is)."""
    want = colab_cell(url)
    if not nb.cells or not _is_colab_cell(nb.cells[0]):
        return "its first cell is not the course's Colab cell"
    first = nb.cells[0]
    if first.source != want.source or first.cell_type != "code":
        return ("its Colab cell (cell 0) is stale: the course's address is "
                f"{url or 'not set'} ([project.urls] Repository in pyproject.toml)")
    if any(_is_colab_cell(c) for c in nb.cells[1:]):
        return "it has more than one Colab cell"
    return None


def with_colab_cell(nb: NotebookNode, url: str | None) -> NotebookNode:
    """``nb`` with the current Colab cell first (inserted, or refreshed in place; a new object).

    An inserted cell has no execution count and no outputs, which is what running it anywhere
    but Colab leaves; a refreshed one keeps its execution count.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    old = [c for c in nb.cells if _is_colab_cell(c)]
    cell = colab_cell(url)
    if old and nb.cells[0] is old[0]:
        cell.execution_count = old[0].get("execution_count")
    if any(c.get("id") == cell.id for c in nb.cells if not _is_colab_cell(c)):
        raise ValueError(f"another cell already has the id {cell.id!r}: rename it")
    nb.cells = [cell] + [c for c in nb.cells if not _is_colab_cell(c)]
    return nb


def page_source(source: str, root: Path = ROOT) -> str:
    """The text of a from-package cell: the lines of ``root / source`` between the markers
    ``PAGE_START`` and ``PAGE_END`` (one each, in that order), dedented to the first marker's
    indentation, every name the module defines at top level prefixed with its module's name
    (``evaluate(...)`` becomes ``torch_trainer.evaluate(...)``), under a one-line header."""
    path = Path(root) / source
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(PAGE_START)]
    ends = [i for i, line in enumerate(lines) if line.strip().startswith(PAGE_END)]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(f"{source}: a from-package cell needs one line starting with "
                         f"{PAGE_START!r} and one later line starting with {PAGE_END!r}; found "
                         f"{len(starts)} and {len(ends)}")
    start, end = starts[0], ends[0]
    indent = lines[start][:len(lines[start]) - len(lines[start].lstrip())]
    body = lines[start + 1:end]
    outside = [start + 2 + i for i, line in enumerate(body)
               if line.strip() and not line.startswith(indent)]
    if outside:
        raise ValueError(f"{source}: line {outside[0]} is indented less than {PAGE_START!r}")
    module = ast.parse(text)
    function = next((f.name for f in ast.walk(module)
                     if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                     and f.lineno <= start + 1 <= f.end_lineno), None)
    code = _qualify("\n".join(line[len(indent):] for line in body), _top_level_names(module),
                    Path(source).stem)
    where = f"{source} ({function})" if function else source
    return f"# Copied by the build from {where}: edit it there.\n{code}"


def _top_level_names(module: ast.Module) -> set[str]:
    """The functions, classes and variables a module defines (not what it imports)."""
    names = {s.name for s in module.body
             if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return names | _assigned_names(module)


def _qualify(code: str, names: set[str], module: str) -> str:
    """``code`` with each read of a name in ``names`` written ``module.name``, unless the code
    binds that name itself."""
    tree = ast.parse(code)
    bound = {n.id for n in ast.walk(tree)
             if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    hits = sorted(((n.lineno, n.col_offset) for n in ast.walk(tree) if isinstance(n, ast.Name)
                   and isinstance(n.ctx, ast.Load) and n.id in names - bound), reverse=True)
    lines = code.split("\n")
    for lineno, col in hits:  # right to left, so earlier offsets stay valid
        raw = lines[lineno - 1].encode("utf-8")  # ast's offsets count UTF-8 bytes
        lines[lineno - 1] = (raw[:col] + f"{module}.".encode() + raw[col:]).decode("utf-8")
    return "\n".join(lines)


def with_page_cells(nb: NotebookNode, root: Path = ROOT) -> tuple[NotebookNode, list[str]]:
    """``nb`` with every from-package cell rewritten from its source (a new object), and why
    each rewritten cell was stale. A rewritten cell keeps its outputs until the next execution."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    problems = []
    for i, cell in enumerate(nb.cells):
        role = cell.get("metadata", {}).get("rlcourse", {})
        if role.get("role") != PAGE_ROLE:
            continue
        if cell.cell_type != "code" or not isinstance(role.get("source"), str):
            raise ValueError(f"cell {i} (id {cell.get('id', '?')}) is a {PAGE_ROLE!r} cell: it "
                             "must be a code cell whose metadata rlcourse.source names a file")
        want = page_source(role["source"], root)
        if cell.source != want:
            problems.append(f"cell {i} (id {cell.get('id', '?')}) is not the current copy of "
                            f"{role['source']}'s lines between {PAGE_START!r} and {PAGE_END!r}")
            cell.source = want
    return nb, problems


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


_FROM_PYPROJECT = object()


def build(solutions: Path, notebooks: Path, check: bool = False,
          url: str | object | None = _FROM_PYPROJECT, root: Path = ROOT) -> list[Stale]:
    """Write (or with ``check``, only compare) ``notebooks/NAME`` for every ``solutions/NAME``,
    after giving each solution its Colab cell (see ``with_colab_cell``) and its from-package
    cells (see ``with_page_cells``).

    Args:
        url: the course's address for the Colab cell; by default ``course_url()`` (None: unset).
        root: what the from-package cells' sources are relative to (the course's repository).

    Returns:
        The stale notebooks found (with ``check``) or written (without it), solutions included.
    """
    solutions, notebooks = Path(solutions), Path(notebooks)
    url = course_url() if url is _FROM_PYPROJECT else url
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no notebooks found in {solutions}")
    stale: list[Stale] = []
    for src in sources:
        target = notebooks / src.name
        solution = nbformat.read(src, as_version=4)
        problem = colab_cell_problem(solution, url)
        problems = [problem] if problem else []
        if problem:
            solution = with_colab_cell(solution, url)
        solution, page_problems = with_page_cells(solution, root)
        for problem in problems + page_problems:
            stale.append(Stale(src, f"{problem} (the build writes it: run `python -m rlcourse_authoring "
                                    f"build`)" if check else f"{problem}: wrote it"))
        if (problems or page_problems) and not check:
            src.write_text(dumps(solution), encoding="utf-8")
        expected = student_version(solution)
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
