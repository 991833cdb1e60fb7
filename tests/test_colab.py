"""Colab, played here: the first cell of a student notebook installs the course from its address
and the notebook runs up to its first exercise.

The stand-in for Colab's image is a fresh venv holding only what Colab gives a notebook that
this course uses (NumPy, CPU PyTorch 2.13.0, Matplotlib, ipykernel; no ``rlcourse``), with a
``google.colab`` module that an IPython startup file imports, as Colab's kernel does at start.
The course's address is a ``file://`` clone of the committed HEAD; the build writes it into the
notebooks' first cell in a scratch copy (never into the repository). Each notebook runs in that
venv's kernel with nbclient: cell 0 (``%pip install git+file://...``), then every cell before
its first exercise, none of which may raise. Then the venv must hold ``rlcourse`` and what it
imports, and none of the tools: no JupyterLab, no nbgrader, no rlcourse_authoring or
rlcourse_grading, no test tools.

Slow (a venv and a pip install from the package registries); it prints its time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from rlcourse_authoring.build import build

ROOT = Path(__file__).resolve().parent.parent
TORCH = "torch==2.13.0"  # the local CPU wheel, as .ci/run installs it (never a CUDA build)
COLAB_IMAGE = [TORCH, "numpy", "matplotlib", "ipykernel"]
# Installed by the tools' packages, never by the learner's: finding one means the Colab cell
# pulled in the authoring or grading side.
TOOLS = {"jupyterlab", "notebook", "nbgrader", "rlcourse-authoring", "rlcourse-grading",
         "jupyter-server", "nbval", "pytest", "selenium", "ruff", "nbconvert"}
WHAT_THE_NOTEBOOKS_IMPORT = {"rlcourse", "gymnasium", "pygame-ce", "tqdm", "pillow", "ipython",
                             "numpy", "torch", "matplotlib"}

pytestmark = pytest.mark.slow


def _run(*argv, cwd=None, env=None, timeout=900) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _packages(python: Path) -> dict[str, str]:
    listed = json.loads(_run(python, "-m", "pip", "list", "--format=json"))
    return {p["name"].lower().replace("_", "-"): p["version"] for p in listed}


def _clean_env(venv: Path) -> dict[str, str]:
    """The environment without the course's own venv: the Colab venv's bin first on PATH."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "JUPYTER_PATH")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"])
    return env


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """(the venv's python, a kernel spec manager for its kernel, the packages it started with,
    the file:// address of the clone)."""
    if shutil.which("git") is None:
        pytest.skip("needs git (the Colab cell installs with pip install git+ADDRESS)")
    tmp = tmp_path_factory.mktemp("colab")
    clone = tmp / "clone"
    head = _run("git", "-C", ROOT, "rev-parse", "HEAD").strip()
    _run("git", "clone", "--quiet", "--no-hardlinks", ROOT, clone)
    _run("git", "-C", clone, "checkout", "--quiet", head)

    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", *COLAB_IMAGE, env=_clean_env(venv))

    fake = tmp / "fake-colab"
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "colab" / "__init__.py").write_text(
        '"""Stands in for Colab\'s google.colab: the course only asks whether it is imported."""\n')
    startup = tmp / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # as Colab's kernel does\n")

    kernels = tmp / "kernels"
    (kernels / "colab").mkdir(parents=True)
    env = _clean_env(venv)
    env.update({"PYTHONPATH": str(fake), "IPYTHONDIR": str(tmp / "ipython")})
    (kernels / "colab" / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab (played)", "language": "python", "env": env}))
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    return python, specs, _packages(python), clone.resolve().as_uri(), tmp


def _until_first_exercise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Cell 0 and every cell before the first answer cell (nbgrader ``solution: true``)."""
    first = next(i for i, c in enumerate(nb.cells)
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    return nbformat.from_dict({**nb, "cells": nb.cells[:first]})


def _execute(nb: nbformat.NotebookNode, specs, cwd: Path, allow_errors: bool = False) -> None:
    """Run ``nb`` in place in the played Colab's kernel, then shut that kernel down."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    km = KernelManager(kernel_name="colab", kernel_spec_manager=specs)
    client = NotebookClient(nb, km=km, timeout=900, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)


def test_on_colab_a_copy_without_an_address_stops_at_the_first_cell_and_says_so(colab):
    python, specs, _before, _address, tmp = colab
    work = tmp / "no-address"
    shutil.copytree(ROOT / "solutions", work / "solutions")
    build(work / "solutions", work / "notebooks", url=None)
    nb = nbformat.read(work / "notebooks" / "00_start_here.ipynb", as_version=4)
    nb.cells = nb.cells[:1]
    _execute(nb, specs, work, allow_errors=True)
    errors = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "RuntimeError", nb.cells[0].outputs
    assert "does not say where it is published" in errors[0].evalue
    assert "rlcourse" not in _packages(python)


def test_on_colab_the_first_cell_installs_the_course_and_the_notebooks_run(colab):
    python, specs, before, address, tmp = colab
    assert "rlcourse" not in before and not TOOLS & set(before)

    # What the build writes with Repository = the clone's address, in a scratch copy.
    work = tmp / "work"
    shutil.copytree(ROOT / "solutions", work / "solutions")
    build(work / "solutions", work / "notebooks", url=address)

    start = time.perf_counter()
    ran = {}
    for path in sorted((work / "notebooks").glob("*.ipynb")):
        nb = _until_first_exercise(nbformat.read(path, as_version=4))
        assert address in nb.cells[0].source, "the build did not write the address into cell 0"
        t0 = time.perf_counter()
        _execute(nb, specs, work / "notebooks")  # raises CellExecutionError, naming the cell
        ran[path.name] = (len(nb.cells), time.perf_counter() - t0)
        outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                          for o in c.get("outputs", []))
        if path.name.startswith("00"):  # the environment check, with Colab's needs
            assert "All set." in outputs, outputs
        assert "Traceback" not in outputs, outputs

    after = _packages(python)
    added = set(after) - set(before)
    assert "rlcourse" in added, sorted(added)
    assert not TOOLS & set(after), f"the Colab install brought tools: {sorted(TOOLS & set(after))}"
    assert after[TORCH.split("==")[0]] == before["torch"], "the install replaced Colab's torch"
    missing = WHAT_THE_NOTEBOOKS_IMPORT - set(after)
    assert not missing, f"not installed: {sorted(missing)}"
    seconds = time.perf_counter() - start
    print(f"\ncolab: {len(ran)} notebooks to their first exercise in {seconds:.0f} s "
          + ", ".join(f"{name} {n} cells {s:.0f} s" for name, (n, s) in ran.items())
          + f"; the install added {len(added)} packages: {', '.join(sorted(added))}")
