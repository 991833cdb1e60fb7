"""Command line: ``python -m rlcourse {build,execute,...}``; ``--help`` lists the subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _build(args: argparse.Namespace) -> int:
    from rlcourse.notebook_tools.build import build

    stale = build(args.solutions, args.notebooks, check=args.check)
    if args.check:
        for s in stale:
            print(f"stale: {s.path}: {s.reason}", file=sys.stderr)
        if stale:
            print(f"{len(stale)} student notebook(s) out of date: run `python -m rlcourse build`",
                  file=sys.stderr)
            return 1
        print(f"notebooks/ is up to date with {args.solutions}/")
        return 0
    for s in stale:
        print(f"wrote {s.path}")
    if not stale:
        print("notebooks/ already up to date")
    return 0


def _execute(args: argparse.Namespace) -> int:
    from rlcourse.notebook_tools.execute import execute_in_place

    paths = args.notebooks or sorted(args.solutions.glob("*.ipynb"))
    for path in paths:
        seconds = execute_in_place(Path(path), timeout_s=args.timeout)
        print(f"executed {path} in {seconds:.1f} s")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rlcourse",
                                     description="Tools of the rlcourse REINFORCE course.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="write notebooks/ (student versions) from solutions/",
                       description="Generate the student notebooks from solutions/ with "
                                   "nbgrader's preprocessors.")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 and name each stale notebook and cell")
    p.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    p.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    p.set_defaults(func=_build)

    p = sub.add_parser("execute", help="execute solution notebooks in place (stored outputs)",
                       description="Run solution notebooks top to bottom and save their outputs.")
    p.add_argument("notebooks", nargs="*", type=Path, help="default: every solutions/*.ipynb")
    p.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    p.add_argument("--timeout", type=float, default=600, help="per-cell limit in seconds")
    p.set_defaults(func=_execute)

    for register in _extra_commands():
        register(sub)
    return parser


def _extra_commands():
    """Subcommands defined next to the code they run (each module exposes ``register(sub)``)."""
    import importlib

    for name in ("rlcourse.notebook_tools.grade",):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        yield module.register


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
