"""The single-source build: solutions/ -> notebooks/ with nbgrader's preprocessors, plus tags."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from rlcourse_authoring import build

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _nb(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    return nb


def _answer(grade_id, source):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade": False, "solution": True,
                                 "locked": False, "grade_id": grade_id}
    return cell


def _check(grade_id, source, points=1):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade": True, "solution": False,
                                 "locked": True, "grade_id": grade_id, "points": points}
    return cell


EXERCISE = _nb(
    new_markdown_cell("# Demo"),
    new_code_cell("import numpy as np"),
    _answer("double", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
    _check("check_double", "assert double(2) == 4\n### BEGIN HIDDEN TESTS\n"
                           "assert double(-1) == -2\n### END HIDDEN TESTS"),
    _answer("top_level", "### BEGIN SOLUTION\ny = double(3)\n### END SOLUTION"),
    new_code_cell("z = y + 1\nprint(z)"),
    new_code_cell("w = np.zeros(3)  # uses nothing unfinished"),
)


def _tags(cell):
    return cell.metadata.get("tags", [])


def test_solutions_are_stripped_with_nbgraders_stub():
    student = build.student_version(EXERCISE)
    src = student.cells[2].source
    assert "return 2 * x" not in src
    assert "raise NotImplementedError()" in src and "# YOUR CODE HERE" in src
    assert src.startswith("def double(x):")


def test_hidden_tests_are_removed_and_visible_ones_kept():
    check = build.student_version(EXERCISE).cells[3].source
    assert "assert double(2) == 4" in check
    assert "double(-1)" not in check and "HIDDEN" not in check


def test_outputs_cleared_and_source_untouched():
    solved = nbformat.from_dict(EXERCISE)
    solved.cells[1].outputs = [nbformat.v4.new_output("stream", text="hi\n")]
    solved.cells[1].execution_count = 3
    student = build.student_version(solved)
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert solved.cells[1].execution_count == 3, "the solution notebook must not be modified"


def test_cells_running_unfinished_code_are_tagged():
    cells = build.student_version(EXERCISE).cells
    assert build.RAISES_TAG in _tags(cells[3]), "the check calls double()"
    assert build.RAISES_TAG in _tags(cells[4]), "a stub that raises at top level"
    assert build.RAISES_TAG in _tags(cells[5]), "uses y, bound by an unfinished cell"
    for i in (0, 1, 2, 6):
        assert build.RAISES_TAG not in _tags(cells[i]), f"cell {i} runs no unfinished code"


def test_locked_cells_cannot_be_edited_and_get_checksums():
    cells = build.student_version(EXERCISE).cells
    assert cells[3].metadata["editable"] is False and cells[3].metadata["deletable"] is False
    assert "checksum" in cells[3].metadata["nbgrader"]


def test_unmarked_solution_region_is_an_error():
    bad = _nb(new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    with pytest.raises(RuntimeError, match=r"[Ss]olution region"):
        build.student_version(bad)


@pytest.fixture
def course(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(EXERCISE, tmp_path / "solutions" / "01_demo.ipynb")
    return tmp_path


def test_build_writes_then_check_passes(course):
    written = build.build(course / "solutions", course / "notebooks", url=None)
    assert [s.path for s in written] == [course / "solutions" / "01_demo.ipynb",
                                         course / "notebooks" / "01_demo.ipynb"]
    assert build.build(course / "solutions", course / "notebooks", check=True, url=None) == []
    assert build.build(course / "solutions", course / "notebooks", url=None) == [], "idempotent"


URL = "https://example.org/owner/rlcourse"


def _first(path):
    return nbformat.read(path, as_version=4).cells[0]


def test_build_gives_every_solution_the_colab_cell_first(course):
    before = nbformat.read(course / "solutions" / "01_demo.ipynb", as_version=4)
    build.build(course / "solutions", course / "notebooks", url=URL)
    solved = nbformat.read(course / "solutions" / "01_demo.ipynb", as_version=4)
    assert [c.source for c in solved.cells[1:]] == [c.source for c in before.cells], \
        "the rest of the notebook is untouched"
    first = solved.cells[0]
    assert first.cell_type == "code" and first.metadata["rlcourse"] == {"role": "colab-install"}
    assert f"COURSE_REPOSITORY = {URL!r}" in first.source
    assert first.execution_count is None and first.outputs == [], "nothing ran it yet"
    student = _first(course / "notebooks" / "01_demo.ipynb")
    assert student.source == first.source, "the student notebook starts with the same cell"


def test_check_fails_on_a_missing_or_stale_colab_cell_and_build_refreshes_it(course):
    stale = build.build(course / "solutions", course / "notebooks", check=True, url=URL)
    reasons = {s.path.name + s.path.parent.name: s.reason for s in stale}
    assert "not the course's Colab cell" in reasons["01_demo.ipynbsolutions"]
    build.build(course / "solutions", course / "notebooks", url=URL)
    # the address changes: --check names the stale cell, the build refreshes it in place
    new = "https://example.org/fork/rlcourse"
    stale = build.build(course / "solutions", course / "notebooks", check=True, url=new)
    assert any("Colab cell (cell 0) is stale" in s.reason and new in s.reason for s in stale)
    path = course / "solutions" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].execution_count = 1  # executed: refreshing keeps the count
    nbformat.write(nb, path)
    build.build(course / "solutions", course / "notebooks", url=new)
    refreshed = nbformat.read(path, as_version=4)
    assert new in refreshed.cells[0].source and refreshed.cells[0].execution_count == 1
    assert sum(build._is_colab_cell(c) for c in refreshed.cells) == 1
    assert build.build(course / "solutions", course / "notebooks", check=True, url=new) == []


def test_a_moved_colab_cell_goes_back_to_the_top(course):
    build.build(course / "solutions", course / "notebooks", url=URL)
    path = course / "solutions" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nb.cells.pop(0))
    nbformat.write(nb, path)
    assert build.build(course / "solutions", course / "notebooks", check=True, url=URL)
    build.build(course / "solutions", course / "notebooks", url=URL)
    cells = nbformat.read(path, as_version=4).cells
    assert build._is_colab_cell(cells[0]) and not any(build._is_colab_cell(c) for c in cells[1:])


def _run_colab_cell(source: str, on_colab: bool) -> dict:
    """Run the cell's code with a stand-in for IPython's %pip; returns what it did."""
    import sys
    import types

    calls = []
    shell = types.SimpleNamespace(run_line_magic=lambda *a: calls.append(a))
    saved = sys.modules.get("google.colab")
    if on_colab:
        sys.modules["google.colab"] = types.ModuleType("google.colab")
    try:
        exec(compile(source, "<colab cell>", "exec"), {"get_ipython": lambda: shell})
    finally:
        if on_colab:
            if saved is None:
                del sys.modules["google.colab"]
            else:
                sys.modules["google.colab"] = saved
    return {"pip": calls}


def test_colab_cell_installs_on_colab_only():
    source = build.colab_cell(URL).source
    assert _run_colab_cell(source, on_colab=False) == {"pip": []}
    assert _run_colab_cell(source, on_colab=True) == {
        "pip": [("pip", f"install --quiet git+{URL}")]}


def test_colab_cell_without_an_address_says_so_on_colab_only():
    source = build.colab_cell(None).source
    assert _run_colab_cell(source, on_colab=False) == {"pip": []}
    with pytest.raises(RuntimeError, match=r"does not say where it is published.*Repository"):
        _run_colab_cell(source, on_colab=True)


def test_course_url_reads_project_urls_repository(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    assert build.course_url(pyproject) is None
    pyproject.write_text(f'[project]\nname = "x"\n[project.urls]\nRepository = "{URL}"\n')
    assert build.course_url(pyproject) == URL
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "rlcourse"\n')
    with pytest.raises(ValueError, match="Repository must be an http"):
        build.course_url(pyproject)


def test_every_notebook_starts_with_the_same_colab_cell():
    """The repository's notebooks, from the address in pyproject.toml (or none)."""
    want = build.colab_cell(build.course_url()).source
    for path in SOLUTIONS:
        for nb_path in (path, ROOT / "notebooks" / path.name):
            first = _first(nb_path)
            assert build._is_colab_cell(first) and first.source == want, \
                f"{nb_path.relative_to(ROOT)}: run `python -m rlcourse_authoring build`"


def test_check_names_the_stale_notebook_and_cell(course):
    build.build(course / "solutions", course / "notebooks", url=None)
    path = course / "notebooks" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[6].source = "z = y + 2\nprint(z)"
    nbformat.write(nb, path)
    stale = build.build(course / "solutions", course / "notebooks", check=True, url=None)
    assert len(stale) == 1 and stale[0].path == path
    assert "cell 6" in stale[0].reason and "source differs" in stale[0].reason
    assert nbformat.read(path, as_version=4).cells[6].source.endswith("print(z)"), \
        "--check must not write"


def test_check_reports_missing_and_orphaned_notebooks(course):
    (course / "notebooks").mkdir()
    shutil.copy(course / "solutions" / "01_demo.ipynb", course / "notebooks" / "99_orphan.ipynb")
    build.build(course / "solutions", course / "notebooks", url=None)
    (course / "notebooks" / "01_demo.ipynb").unlink()
    reasons = {s.path.name: s.reason for s in build.build(course / "solutions",
                                                          course / "notebooks", check=True,
                                                          url=None)}
    assert reasons["01_demo.ipynb"] == "missing"
    assert "no source" in reasons["99_orphan.ipynb"]


@pytest.mark.slow  # starts the authoring tool
def test_cli_check_exits_nonzero_and_names_the_cell(course):
    build.build(course / "solutions", course / "notebooks", url=None)
    path = course / "notebooks" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source = "import numpy"
    nbformat.write(nb, path)
    result = subprocess.run([sys.executable, "-m", "rlcourse_authoring", "build", "--check", "--url", "",
                             "--solutions", str(course / "solutions"),
                             "--notebooks", str(course / "notebooks")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "01_demo.ipynb" in result.stderr and "cell 2" in result.stderr


def test_repository_notebooks_are_up_to_date():
    stale = build.build(ROOT / "solutions", ROOT / "notebooks", check=True)
    assert not stale, "\n".join(f"{s.path}: {s.reason}" for s in stale)


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_notebooks_are_executed_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # The Colab cell does nothing off Colab: inserted by the build, it may be unexecuted.
    if code and build._is_colab_cell(code[0]):
        assert code[0].outputs == [], f"{path.name}: the Colab cell printed something"
        if code[0].execution_count is None:
            code = code[1:]
    unrun = [i for i, c in enumerate(code) if c.execution_count is None]
    assert not unrun, f"{path.name}: code cells {unrun} were not executed (rlcourse execute)"
    counts = [c.execution_count for c in code]
    first = counts[0] if counts else 1
    assert first in (1, 2) and counts == list(range(first, first + len(code))), \
        f"{path.name}: not run top to bottom once"
    errors = [c for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: stored outputs hold an error"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_exercise_metadata_is_nbgrader_v3(path):
    nb = nbformat.read(path, as_version=4)
    ids = []
    previous = None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            previous = cell
            continue
        assert meta["schema_version"] == 3
        assert all(k in meta for k in ("grade", "solution", "locked", "grade_id"))
        ids.append(meta["grade_id"])
        if meta["grade"]:
            assert meta.get("points", 0) > 0, f"grade cell {meta['grade_id']} needs points"
            assert meta["locked"], f"grade cell {meta['grade_id']} must be locked"
        if meta["grade"] and cell.cell_type == "code":
            prev = (previous.metadata.get("nbgrader", {}) if previous is not None else {})
            assert prev.get("solution") or prev.get("grade"), \
                f"check {meta['grade_id']} should follow its answer cell"
        previous = cell
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate grade_id"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_every_exercise_statement_is_locked(path):
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if cell.metadata.get("nbgrader", {}).get("solution"):
            statement = cells[i - 1]
            meta = statement.metadata.get("nbgrader", {})
            assert statement.cell_type == "markdown" and meta.get("locked"), (
                f"{path.name}: the statement before answer cell "
                f"{cell.metadata['nbgrader']['grade_id']} should be a locked markdown cell")


# --- from-package cells: the loop a notebook shows is the package's loop ----------------------

MODULE = '''"""A trainer."""
import math

from somewhere import helper

LIMIT = 3


def evaluate(x):
    return x


def loop(config):
    setup = 1
    # --- on the page: the notebook's cell is these lines
    total = evaluate(config) + LIMIT  # evaluate( in a comment stays as it is: "π"
    for evaluate_me in range(LIMIT):
        total += math.floor(helper(evaluate_me)) + config.evaluate(total)
        # --- end of the page
        setup += 1
    return total
'''


def _page_course(tmp_path, source=MODULE):
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / "mytrainer.py").write_text(source, encoding="utf-8")
    cell = new_code_cell("stale text", id="the-loop")
    cell.metadata["rlcourse"] = {"role": build.PAGE_ROLE, "source": "pkg/mytrainer.py"}
    (tmp_path / "solutions").mkdir(exist_ok=True)
    nbformat.write(_nb(new_markdown_cell("# Demo"), cell), tmp_path / "solutions" / "01_demo.ipynb")
    return tmp_path


def test_page_source_is_the_marked_lines_dedented_with_the_modules_names_prefixed(tmp_path):
    root = _page_course(tmp_path)
    assert build.page_source("pkg/mytrainer.py", root) == (
        "# Copied by the build from pkg/mytrainer.py (loop): edit it there.\n"
        'total = mytrainer.evaluate(config) + mytrainer.LIMIT  # evaluate( in a comment stays as '
        'it is: "π"\n'
        "for evaluate_me in range(mytrainer.LIMIT):\n"
        "    total += math.floor(helper(evaluate_me)) + config.evaluate(total)")


@pytest.mark.parametrize("change, message", [
    (lambda s: s.replace("# --- end of the page", "# the end"), "found 1 and 0"),
    (lambda s: s.replace("    setup = 1\n", "    setup = 1\n    # --- end of the page\n"),
     "found 1 and 2"),
    (lambda s: s.replace("    for evaluate_me", "for evaluate_me"), "indented less"),
])
def test_page_source_refuses_unclear_markers(tmp_path, change, message):
    root = _page_course(tmp_path, change(MODULE))
    with pytest.raises(ValueError, match=message):
        build.page_source("pkg/mytrainer.py", root)


def test_check_fails_on_a_stale_page_cell_and_build_rewrites_it(tmp_path):
    root = _page_course(tmp_path)
    sol, nbs = root / "solutions", root / "notebooks"
    stale = build.build(sol, nbs, check=True, url=None, root=root)
    assert any("(id the-loop) is not the current copy of pkg/mytrainer.py" in s.reason
               for s in stale)
    build.build(sol, nbs, url=None, root=root)
    cells = nbformat.read(sol / "01_demo.ipynb", as_version=4).cells
    assert cells[2].source == build.page_source("pkg/mytrainer.py", root)  # after the Colab cell
    assert build.build(sol, nbs, check=True, url=None, root=root) == []
    # the package changes: the copy is stale again
    (root / "pkg" / "mytrainer.py").write_text(MODULE.replace("LIMIT = 3", "LIMIT = 4")
                                               .replace("+ LIMIT", "- LIMIT"), encoding="utf-8")
    assert build.build(sol, nbs, check=True, url=None, root=root)


def test_a_page_cell_must_name_its_source(tmp_path):
    root = _page_course(tmp_path)
    path = root / "solutions" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    del nb.cells[1].metadata["rlcourse"]["source"]
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match=r"rlcourse\.source names a file"):
        build.build(root / "solutions", root / "notebooks", check=True, url=None, root=root)


def _page_cell(notebook):
    nb = nbformat.read(ROOT / "solutions" / notebook, as_version=4)
    (cell,) = [c for c in nb.cells
               if c.metadata.get("rlcourse", {}).get("role") == build.PAGE_ROLE]
    return cell


@pytest.mark.parametrize("notebook", ["03_torch_cross_entropy.ipynb",
                                      "04_gaussian_policies_gpu.ipynb"])
def test_the_page_loop_runs_as_the_package_trainer(notebook):
    """Run where the notebook runs it (its module's names reachable only through the module,
    as in the notebook), the copied cell trains as ``train`` does: same steps, losses, weights."""
    import importlib

    import torch

    from rlcourse import rollout

    cell = _page_cell(notebook)
    module = importlib.import_module(cell.metadata["rlcourse"]["source"][:-3].replace("/", "."))
    name = module.__name__.split(".")[-1]
    if name == "torch_trainer":
        config = module.Config(seed=3, max_env_steps=2_000, target=None)
    else:
        config = module.Config(seed=3, num_envs=16, max_env_steps=4 * 16 * 200, eval_every=2,
                               eval_episodes=8)
    own = build._top_level_names(build.ast.parse(Path(module.__file__).read_text()))
    ns = {k: v for k, v in vars(module).items() if k not in own}
    ns.update({name: module, "config": config, "device": torch.device("cpu")})
    if name == "torch_trainer":
        ns["envs"] = rollout.make_vec(config.env_id, config.num_envs,
                                      vectorization_mode=rollout.fastest_mode(config.env_id))
    with torch.random.fork_rng(devices=[]):
        exec(compile(cell.source, notebook, "exec"), ns)
    if "envs" in ns:
        ns["envs"].close()
    got, want = ns["history"], module.train(config, device="cpu")
    assert got.env_steps == want.env_steps and got.loss == want.loss
    assert got.evaluations == want.evaluations and len(want.loss) >= 2
    for (pname, p), (_, q) in zip(got.policy.named_parameters(), want.policy.named_parameters(),
                                  strict=True):
        assert torch.equal(p, q), f"parameter {pname} differs after {len(want.loss)} updates"
