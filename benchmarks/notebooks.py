"""Wall time of each notebook under nbval, one at a time (as `make test` runs them, but serial).

    python benchmarks/notebooks.py                 # table
    python benchmarks/notebooks.py --json          # one JSON object per notebook
    python benchmarks/notebooks.py solutions/01_update_equation.ipynb

Each notebook runs in its own pytest process with one BLAS/torch thread, like a `make test`
worker. The time includes kernel start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_notebook(path: Path) -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg", "SDL_VIDEODRIVER": "dummy", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
         "--nbval-current-env", "--nbval-cell-timeout=600",
         "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True)
    return {"notebook": str(path.relative_to(ROOT)), "passed": proc.returncode == 0,
            "wall_s": round(time.perf_counter() - start, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--json", action="store_true", help="one JSON object per notebook")
    args = parser.parse_args()
    paths = [p.resolve() for p in args.notebooks] or (
        sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "notebooks").glob("*.ipynb")))
    rows = []
    for path in paths:
        row = time_notebook(path)
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
    if not args.json:
        print(f"{'notebook':<45} {'nbval':>6} {'wall s':>8}")
        for row in rows:
            print(f"{row['notebook']:<45} {'pass' if row['passed'] else 'FAIL':>6} "
                  f"{row['wall_s']:>8.1f}")


if __name__ == "__main__":
    main()
