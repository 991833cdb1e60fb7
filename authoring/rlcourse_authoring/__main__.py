"""The author's command line: ``python -m rlcourse_authoring {lab,build,execute}``.

``lab`` is what ``make lab`` runs (the learner's copies in my-notebooks/, then JupyterLab);
``build`` and ``execute`` make notebooks/ from solutions/. Grading is the instructor's package
(``python -m rlcourse_grading grade``). A command whose dependency is missing says which one and
how to install it, instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the clone: authoring/rlcourse_authoring/
INSTALL_HINT = "in a clone of the course run `make install`"


class MissingExtra(Exception):
    """A command's dependency is not installed (the message says which and how)."""


def _require(module: str, command: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(f"`python -m rlcourse_authoring {command}` needs {module}, which is "
                           f"not installed: {INSTALL_HINT}.")


def _build(args: argparse.Namespace) -> int:
    for module in ("nbformat", "nbgrader"):
        _require(module, "build")
    from rlcourse_authoring.build import build, course_url

    url = course_url(ROOT / "pyproject.toml") if args.url is None else (args.url or None)
    stale = build(args.solutions, args.notebooks, check=args.check, url=url)
    if args.check:
        for s in stale:
            print(f"stale: {s.path}: {s.reason}", file=sys.stderr)
        if stale:
            print(f"{len(stale)} notebook(s) out of date: run `python -m rlcourse_authoring build`",
                  file=sys.stderr)
            return 1
        print(f"notebooks/ is up to date with {args.solutions}/")
        return 0
    for s in stale:
        print(f"wrote {s.path}: {s.reason}")
    if not stale:
        print("notebooks/ already up to date")
    return 0


def _execute(args: argparse.Namespace) -> int:
    for module in ("nbformat", "nbclient"):
        _require(module, "execute")
    from rlcourse_authoring.execute import execute_in_place

    paths = args.notebooks or sorted(args.solutions.glob("*.ipynb"))
    for path in paths:
        seconds = execute_in_place(Path(path), timeout_s=args.timeout)
        print(f"executed {path} in {seconds:.1f} s")
    return 0


def _lab(args: argparse.Namespace, jupyter_args: list[str]) -> int:
    _require("jupyterlab", "lab")
    import signal
    import subprocess
    import tempfile

    from rlcourse_authoring import lab

    root = args.root.resolve()
    if not (root / "notebooks").is_dir():
        raise MissingExtra(f"{root} has no notebooks/ folder: run `make lab` in a clone of the "
                           f"course (or pass --root).")
    with tempfile.TemporaryDirectory(prefix="rlcourse-lab-") as config_dir:
        if args.instructor:
            argv, env = lab.lab_command(root, jupyter_args, instructor=True)
            print("JupyterLab for instructors: nbgrader's extensions are on; "
                  "see docs/instructors.md.")
        else:
            work = root / lab.WORK_DIR
            print(f"{lab.WORK_DIR}/ holds your own copies of the notebooks: work there. "
                  f"No command of the course overwrites them.")
            for synced in lab.sync(root / "notebooks", work):
                print(synced)
            argv, env = lab.lab_command(root, jupyter_args, Path(config_dir))
        sys.stdout.flush()
        proc = subprocess.Popen(argv, env=env, cwd=root)
        # A SIGTERM for us goes to JupyterLab, which shuts its kernels down; we clean up after.
        signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
        while True:
            try:  # Ctrl-C reaches JupyterLab too, which asks whether to shut down: wait for it
                return proc.wait()
            except KeyboardInterrupt:
                continue


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rlcourse_authoring",
                                     description="The rlcourse author's tools: lab, build, execute.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "lab", allow_abbrev=False, help="copy notebooks/ into my-notebooks/ (never overwriting), start JupyterLab",
        description="What `make lab` runs. Copies the course's notebooks/ into my-notebooks/, "
                    "your working copies: new notebooks are copied in, a notebook you have "
                    "changed is never overwritten (when the course has changed it too, the new "
                    "version is written beside yours). Then starts JupyterLab at the course "
                    "root, without nbgrader's instructor tools, and opens 00_start_here. "
                    "Other options (e.g. --no-browser, --port=8890) go to JupyterLab.")
    p.add_argument("--root", type=Path, default=ROOT,
                   help="the course folder holding notebooks/ and solutions/ (default: this "
                        "clone)")
    p.add_argument("--instructor", action="store_true",
                   help="nbgrader's extensions on, no working copies (make lab-instructor)")
    p.set_defaults(func=_lab, passes_extra_args=True)

    p = sub.add_parser("build",
                       help="write notebooks/ (student versions) from solutions/, and the "
                            "Colab cell of each solution",
                       description="Refresh the first cell of every solution notebook (the "
                                   "Colab install cell, from [project.urls] Repository in "
                                   "pyproject.toml), then generate the student notebooks from "
                                   "solutions/ with nbgrader's preprocessors.")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 and name each stale notebook and cell")
    p.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    p.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    p.add_argument("--url", default=None,
                   help="the course's repository address for the Colab cell (default: "
                        "pyproject.toml's [project.urls] Repository; '' for none)")
    p.set_defaults(func=_build)

    p = sub.add_parser("execute", help="execute solution notebooks in place (stored outputs)",
                       description="Run solution notebooks top to bottom and save their outputs.")
    p.add_argument("notebooks", nargs="*", type=Path, help="default: every solutions/*.ipynb")
    p.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    p.add_argument("--timeout", type=float, default=600, help="per-cell limit in seconds")
    p.set_defaults(func=_execute)

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args, extra = parser.parse_known_args(argv)
    try:
        if getattr(args, "passes_extra_args", False):
            return int(args.func(args, extra) or 0)
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return int(args.func(args) or 0)
    except MissingExtra as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
