"""How fast `python -m rlcourse_grading grade` grades a class, with and without the sandbox.

    python benchmarks/grading.py                      # 300 copies of notebook 01, 2 jobs
    python benchmarks/grading.py --copies 30 --json   # a quicker look; one JSON line per mode

The class is a third solved (the solution notebook), a third blank (the student notebook) and
a third wrong (the student notebook with answers that return the wrong thing), one folder per
student. Each mode grades the whole class in one command (`--jobs`, default 2: the CI
machine's cores) into a fresh `--out` folder and reports submissions per minute; the scores
are checked (solved: full marks, blank: zero, wrong: less than full) so a fast but broken run
cannot pass for a result. The sandbox's cost is the ratio of the two rates.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
WRONG = {  # answer grade_id -> a wrong answer with the right signature
    "discounted_returns": "def discounted_returns(rewards, gamma):\n"
                          "    return np.zeros(len(rewards))\n",
    "grad_log_softmax": "def grad_log_softmax(theta, features, action):\n"
                        "    return np.zeros_like(theta)\n",
    "reinforce_update": "def reinforce_update(theta, actions, rewards, alpha, gamma):\n"
                        "    return np.array(theta, dtype=float)\n",
}


def make_class(folder: Path, name: str, copies: int) -> dict[str, str]:
    """``folder/student_NNN/name``: solved, blank and wrong in turn; student -> kind."""
    solved = nbformat.read(ROOT / "solutions" / name, as_version=4)
    blank = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    wrong = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    for cell in wrong.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in WRONG:
            cell.source = WRONG[gid]
    kinds = {}
    for i in range(copies):
        kind, nb = [("solved", solved), ("blank", blank), ("wrong", wrong)][i % 3]
        student = f"student_{i:03d}"
        (folder / student).mkdir(parents=True)
        nbformat.write(nb, folder / student / name)
        kinds[student] = kind
    return kinds


def run(folder: Path, out: Path, jobs: int, sandboxed: bool, timeout: float) -> float:
    cmd = [sys.executable, "-m", "rlcourse_grading", "grade", str(folder), "--out", str(out),
           "--jobs", str(jobs), "--timeout", str(timeout), "--quiet"]
    if not sandboxed:
        cmd.append("--no-sandbox")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"grading failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def check_scores(out: Path, kinds: dict[str, str]) -> dict[str, int]:
    with open(out / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)
                if r["student"] != "Points Possible"}  # the gradebook's row of maxima
    totals = {s: float(r["total"]) for s, r in rows.items()}
    full = max(totals.values())
    bad = [s for s, kind in kinds.items()
           if (kind == "solved" and totals[s] != full) or (kind == "blank" and totals[s] != 0)
           or (kind == "wrong" and totals[s] >= full)]
    if len(rows) != len(kinds) or bad:
        raise SystemExit(f"wrong scores for {bad[:5]} (of {len(kinds)} students)")
    return {kind: sum(k == kind for k in kinds.values()) for kind in ("solved", "blank",
                                                                     "wrong")}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, default=300)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--notebook", default="01_update_equation.ipynb")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--modes", default="sandbox,no-sandbox")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    args = p.parse_args(argv)
    rates = {}
    with tempfile.TemporaryDirectory(prefix="rlcourse-bench-") as tmp:
        folder = Path(tmp) / "class"
        kinds = make_class(folder, args.notebook, args.copies)
        # Modes may repeat (sandbox,no-sandbox,sandbox,no-sandbox): alternating them spreads a
        # shared machine's changing load over both; each run grades afresh into its own --out.
        for i, mode in enumerate(args.modes.split(",")):
            out = Path(tmp) / f"out-{i}-{mode}"
            seconds = run(folder, out, args.jobs, mode == "sandbox", args.timeout)
            counts = check_scores(out, kinds)
            rate = args.copies / seconds * 60
            rates.setdefault(mode, []).append(rate)
            row = {"mode": mode, "notebook": args.notebook, "copies": args.copies,
                   "jobs": args.jobs, "seconds": round(seconds, 1),
                   "per_minute": round(rate, 2), "class": counts}
            print(json.dumps(row) if args.json else
                  f"{mode:>10}: {args.copies} submissions in {seconds:.0f} s = "
                  f"{rate:.1f}/min ({counts})", flush=True)
    if {"sandbox", "no-sandbox"} <= rates.keys():
        mean = {mode: sum(r) / len(r) for mode, r in rates.items()}
        cost = 1 - mean["sandbox"] / mean["no-sandbox"]
        print(json.dumps({"sandbox_cost": round(cost, 3)}) if args.json
              else f"the sandbox costs {cost:.1%} of the throughput")


if __name__ == "__main__":
    main()
