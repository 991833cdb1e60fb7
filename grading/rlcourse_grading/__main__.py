"""The instructor's command line: ``python -m rlcourse_grading grade NOTEBOOK_OR_FOLDER...``."""

from __future__ import annotations

import argparse
import sys

from rlcourse_grading import grade


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rlcourse_grading",
                                     description="Grade a class's rlcourse notebooks "
                                                 "(docs/instructors.md).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    grade.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
