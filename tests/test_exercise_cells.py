"""Every autograded test cell imports the check it calls, in the cell itself: no name in the
student's namespace (a variable called ``check``, say) can stand in for a check."""

import ast
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _test_cells():
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                yield pytest.param(cell.source, id=f"{path.stem}:{meta['grade_id']}")


@pytest.mark.parametrize("source", list(_test_cells()))
def test_a_test_cell_imports_what_it_calls(source):
    tree = ast.parse(source)
    imported = {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("rlcourse.checks") for a in node.names}
    called = [node.func.value.id for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
              and node.func.attr.startswith("check_")]
    assert called, "a test cell calls a check"
    assert set(called) <= imported, f"{sorted(set(called) - imported)} not imported in the cell"
