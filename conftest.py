"""Course-wide pytest policy for nbval (the notebooks live outside tests/, so it sits at the root).

- ``solutions/``: outputs are compared (``--nbval``) and no cell may raise, whatever its tags.
- ``notebooks/`` (generated student versions): lax, i.e. outputs are compared only in cells marked
  ``NBVAL_CHECK_OUTPUT``; cells the build tagged ``raises-exception`` may raise, but only the
  ``NotImplementedError`` of an unfinished exercise, so a typo in provided code still fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Kernels inherit the environment of the pytest process that starts them.
for key, value in {"MPLBACKEND": "Agg", "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
                   "PYDEVD_DISABLE_FILE_VALIDATION": "1"}.items():
    os.environ.setdefault(key, value)

ALLOWED_IN_STUDENT_NOTEBOOKS = {"NotImplementedError", "ExerciseNotImplemented"}


def _nbval_cell(item) -> str | None:
    """'solutions' or 'notebooks' for an nbval cell of those folders, else None."""
    if type(item).__name__ != "IPyNbCell":
        return None
    folder = Path(str(item.fspath)).parent.name
    return folder if folder in ("solutions", "notebooks") else None


def pytest_collection_modifyitems(config, items):
    from nbval.plugin import find_comment_markers, find_metadata_tags

    for item in items:
        folder = _nbval_cell(item)
        if folder == "solutions":
            item.options["check_exception"] = False
        elif folder == "notebooks":
            marked = dict(find_metadata_tags(item.cell.metadata))
            marked.update(dict(find_comment_markers(item.cell.source)))
            item.options["check"] = bool(marked.get("check", False))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if _nbval_cell(item) == "notebooks" and item.options.get("check_exception"):
        errors = [o for o in (item.test_outputs or []) if o.get("output_type") == "error"]
        wrong = [e for e in errors if e.get("ename") not in ALLOWED_IN_STUDENT_NOTEBOOKS]
        if wrong:
            e = wrong[0]
            pytest.fail(f"cell {item.cell_num} may only raise NotImplementedError (an unfinished "
                        f"exercise), but raised {e['ename']}: {e['evalue']}\n"
                        f"--- cell source ---\n{item.cell.source}", pytrace=False)
    return result
