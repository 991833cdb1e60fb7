"""`make lab`: the learner's copies are never overwritten, and JupyterLab serves the course root.

The sync tests run `rlcourse_authoring.lab.sync` on scratch folders; the server test starts
the command `make lab` runs (see tests/labserver.py) on a scratch copy of the course.
"""

import json
import re
import subprocess

import labserver
import pytest

from rlcourse_authoring import lab

NB = "01_demo.ipynb"


def _nb(text: str) -> str:
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": text}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def course(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / NB).write_text(_nb("v1"))
    return tmp_path


def _actions(course):
    return {s.name: s for s in lab.sync(course / "notebooks", course / "work")}


def test_first_use_copies_every_notebook(course):
    (course / "notebooks" / "00_a.ipynb").write_text(_nb("a"))
    done = _actions(course)
    assert {n: s.action for n, s in done.items()} == {"00_a.ipynb": "copied", NB: "copied"}
    assert (course / "work" / NB).read_text() == _nb("v1")


def test_a_learners_edit_is_never_overwritten(course):
    _actions(course)
    (course / "work" / NB).write_text(_nb("my answer"))
    assert _actions(course)[NB].action == "unchanged"
    assert (course / "work" / NB).read_text() == _nb("my answer")


def test_course_update_of_an_untouched_copy_replaces_it(course):
    _actions(course)
    (course / "notebooks" / NB).write_text(_nb("v2"))
    assert _actions(course)[NB].action == "updated"
    assert (course / "work" / NB).read_text() == _nb("v2")
    assert _actions(course)[NB].action == "unchanged"


def test_course_update_of_an_edited_copy_goes_beside_it(course):
    _actions(course)
    (course / "work" / NB).write_text(_nb("my answer"))
    (course / "notebooks" / NB).write_text(_nb("v2"))
    synced = _actions(course)[NB]
    assert synced.action == "kept" and synced.beside.parent == course / "work"
    assert re.fullmatch(r"01_demo\.course-update-[0-9a-f]{8}\.ipynb", synced.beside.name)
    assert (course / "work" / NB).read_text() == _nb("my answer"), "the learner's work is kept"
    assert synced.beside.read_text() == _nb("v2")
    assert "your copy stays as it is" in str(synced)
    assert f"work/{synced.beside.name}" in str(synced)
    # the learner edits the offered copy too: a later sync never rewrites it
    synced.beside.write_text(_nb("merged by hand"))
    again = _actions(course)[NB]
    assert again.action == "kept" and again.beside == synced.beside
    assert synced.beside.read_text() == _nb("merged by hand")
    # a third course version gets its own file; nothing is overwritten
    (course / "notebooks" / NB).write_text(_nb("v3"))
    third = _actions(course)[NB]
    assert third.beside != synced.beside and third.beside.read_text() == _nb("v3")
    assert (course / "work" / NB).read_text() == _nb("my answer")


def test_a_deleted_copy_comes_back_fresh(course):
    _actions(course)
    (course / "work" / NB).unlink()
    assert _actions(course)[NB].action == "copied"


def test_a_copy_of_unknown_origin_is_kept(course):
    """Without the manifest (deleted, or a file the learner put there) nothing is overwritten."""
    (course / "work").mkdir()
    (course / "work" / NB).write_text(_nb("mine"))
    assert _actions(course)[NB].action == "kept"
    assert (course / "work" / NB).read_text() == _nb("mine")


def test_an_empty_course_folder_is_an_error(tmp_path):
    (tmp_path / "notebooks").mkdir()
    with pytest.raises(FileNotFoundError, match="no notebooks"):
        lab.sync(tmp_path / "notebooks", tmp_path / "work")


def test_learner_config_switches_nbgrader_off(tmp_path):
    folder = lab.learner_config(tmp_path / "cfg")
    server = json.loads((folder / "jupyter_server_config.json").read_text())
    assert all(v is False for v in server["ServerApp"]["jpserver_extensions"].values())
    page = json.loads((folder / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader"] is True


def test_make_lab_runs_rlcourse_lab():
    assert labserver.make_lab_command()[:3] == ["-m", "rlcourse_authoring", "lab"]


def test_the_working_copies_are_ignored_by_git_and_ruff():
    out = subprocess.run(["git", "check-ignore", "-q", f"{lab.WORK_DIR}/00_start_here.ipynb"],
                         cwd=labserver.ROOT)
    assert out.returncode == 0, f"{lab.WORK_DIR}/ must be in .gitignore"
    import tomllib

    ruff = tomllib.loads((labserver.ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert lab.WORK_DIR in ruff["extend-exclude"], "a learner's code must not fail `make test`"


@pytest.mark.slow
def test_jupyterlab_serves_the_course_root_without_nbgrader(tmp_path):
    server = labserver.start(tmp_path)
    try:
        root = server.root
        work = sorted(p.name for p in (root / lab.WORK_DIR).glob("*.ipynb"))
        assert work == sorted(p.name for p in (root / "notebooks").glob("*.ipynb"))
        for folder in (lab.WORK_DIR, "solutions"):
            status, listing = server.get(f"/api/contents/{folder}")
            assert status == 200, f"{folder}/ is not reachable from JupyterLab's root"
            names = {item["name"] for item in listing["content"]}
            assert {p.name for p in (root / folder).glob("*.ipynb")} <= names
        # the server's front page opens the learner's copy of 00
        assert server.redirects_to("/") == f"/lab/tree/{lab.WORK_DIR}/{lab.FIRST_NOTEBOOK}"
        status, page = server.get("/lab")
        assert status == 200 and "JupyterLab" in page
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page,
                                      re.S).group(1))
        assert "@jupyter/nbgrader" in config["disabledExtensions"], config["disabledExtensions"]
        # nbgrader's server extensions are not loaded: no formgrader, no warning in the log
        status, _ = server.get("/formgrader")
        assert status == 404
        extensions = server.get("/api/config/labconfig")  # any request: the log is now complete
        assert extensions
        assert "nbgrader" not in server.output().lower(), server.output()
    finally:
        labserver.stop(server)
