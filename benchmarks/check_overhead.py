"""What a check costs on a correct answer: in a learner's kernel, and under grading.

For the first exercise of each notebook, the solution's answer cell is run (with the notebook's
imports) and its check called ``--repeats`` times; the median wall time is printed for the
learner's kernel (a plain call) and for a graded kernel (``RLCOURSE_GRADING=1``: the call is
also photographed and traced, rlcourse/checks/feedback.py), each in a fresh process. Usage:

    OMP_NUM_THREADS=1 python benchmarks/check_overhead.py [--repeats 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = {"learner": {}, "grading": {"RLCOURSE_GRADING": "1"}}

PROBE = r"""
import ast, json, statistics, sys, time
import nbformat

path, repeats = sys.argv[1], int(sys.argv[2])
nb = nbformat.read(path, as_version=4)
ns = {}
for cell in nb.cells:  # the notebook's imports only (no training, no plots)
    if cell.cell_type == "code":
        plain = "\n".join(ln for ln in cell.source.splitlines()
                          if not ln.lstrip().startswith(("%", "!")))  # IPython magics
        try:
            tree = ast.parse(plain)
        except SyntaxError:
            continue
        imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        exec(compile(ast.Module(imports, []), path, "exec"), ns)
cells = nb.cells
answer = next(c for c in cells if c.metadata.get("nbgrader", {}).get("solution"))
test = next(c for c in cells[cells.index(answer):] if c.metadata.get("nbgrader", {}).get("grade"))
exec(answer.source.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""), ns)
call = test.source.strip().splitlines()[-1]
for _ in range(2):  # warm-up: imports, first torch calls
    exec(call, ns)
times = []
for _ in range(repeats):
    start = time.perf_counter()
    exec(call, ns)
    times.append(time.perf_counter() - start)
print(json.dumps({"check": call, "median_ms": 1e3 * statistics.median(times)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="one JSON object per notebook")
    args = parser.parse_args()
    rows = []
    for path in sorted((ROOT / "solutions").glob("0*.ipynb")):
        row = {"notebook": path.stem}
        for mode, extra in MODES.items():
            env = {**os.environ, "MPLBACKEND": "Agg", **extra}
            env.pop("RLCOURSE_GRADING", None) if not extra else None
            out = subprocess.run([sys.executable, "-c", PROBE, str(path), str(args.repeats)],
                                 capture_output=True, text=True, env=env, cwd=ROOT)
            if out.returncode != 0:
                raise SystemExit(f"{path.name} ({mode}):\n{out.stderr[-2000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            row["check"] = re.sub(r"\s+", " ", result["check"])
            row[f"{mode}_ms"] = round(result["median_ms"], 2)
        rows.append(row)
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['notebook']:<28} {row['check']:<55} learner {row['learner_ms']:8.2f} ms"
                  f"   grading {row['grading_ms']:8.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
