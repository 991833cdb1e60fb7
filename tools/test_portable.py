#!/usr/bin/env python
"""Run nbval over solutions/ under several numeric environments; fail on any difference.

The stored outputs of solutions/*.ipynb are compared by nbval on every machine that runs
`make test`. They must therefore not depend on which OpenBLAS kernel NumPy picks (Haswell,
SkylakeX, Sandybridge, ...), on the vector extensions that torch's ATen dispatches to (AVX-512,
AVX2, scalar), or on the thread count. Each of those can be switched on one machine with an
environment variable, so this script runs the notebooks once per environment and prints a table
(environment x notebook -> pass, or the first cell whose output differs).

    python tools/test_portable.py                    # every environment, every notebook
    python tools/test_portable.py --quick            # one environment unlike the default (CI)
    python tools/test_portable.py --envs openblas-skylakex threads-2 --notebooks 01 04 -j 2
    python tools/test_portable.py --lowest           # the same in a venv of the lowest versions

Exit status: 0 when every notebook passes in every environment, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What `make test` sets (Makefile TEST_ENV): headless plotting and pygame, one thread per process.
TEST_ENV = {
    "MPLBACKEND": "Agg",
    "SDL_VIDEODRIVER": "dummy",
    "SDL_AUDIODRIVER": "dummy",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
NBVAL_OPTS = [
    "--nbval",
    "--nbval-current-env",
    "--nbval-cell-timeout=180",
    "--nbval-sanitize-with",
    str(ROOT / "tests" / "nbval_sanitize.cfg"),
]

# Changes to TEST_ENV, one numeric effect each. OpenBLAS reads OPENBLAS_CORETYPE when NumPy loads
# it (builds with DYNAMIC_ARCH, as NumPy's wheels are); ATen reads ATEN_CPU_CAPABILITY when torch
# loads ("default" = no vector kernels); torch takes its intra-op thread count from
# OMP_NUM_THREADS. The kernels actually in use are printed per environment (`probe`).
# OMP_WAIT_POLICY=PASSIVE changes scheduling, not results: torch's OpenMP threads then sleep instead
# of spinning while they wait, which on two cores shared with other work made notebook 04's
# training 12x slower (10 updates: 84 s spinning, 6.5 s passive, 6.7 s with one thread).
TWO_THREADS = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2",
               "OMP_WAIT_POLICY": "PASSIVE"}
ENVIRONMENTS: dict[str, dict[str, str]] = {
    "default": {},
    "openblas-haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "openblas-skylakex": {"OPENBLAS_CORETYPE": "SkylakeX"},
    "openblas-sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "threads-2": TWO_THREADS,
    "aten-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},
    # Everything unlike this machine's default at once: the one environment CI runs (--quick).
    "mixed": {"OPENBLAS_CORETYPE": "SkylakeX", "ATEN_CPU_CAPABILITY": "avx2", **TWO_THREADS},
}
QUICK = ["mixed"]

# Run in each environment, before the notebooks: which kernels does a process there really use?
PROBE = r"""
import ctypes, glob, os
import numpy, torch
core = "?"
for lib in glob.glob(os.path.join(os.path.dirname(numpy.__file__), "..", "numpy*libs", "*openblas*")):
    blas = ctypes.CDLL(lib)
    for name in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
        if hasattr(blas, name):
            getattr(blas, name).restype = ctypes.c_char_p
            core = getattr(blas, name)().decode()
print(f"openblas={core} aten={torch.backends.cpu.get_cpu_capability()} "
      f"torch_threads={torch.get_num_threads()}")
"""


@dataclass
class Result:
    """nbval's verdict on one notebook in one environment."""

    passed: bool
    cells: int = 0
    failures: list[str] = field(default_factory=list)  # e.g. "Cell 11: Cell outputs differ"
    diff: list[str] = field(default_factory=list)  # first failure: "stored: ..." / "now: ..."

    def short(self) -> str:
        if self.passed:
            return f"pass ({self.cells})"
        first = self.failures[0].split(":")[0] if self.failures else "(no result)"
        more = f" +{len(self.failures) - 1}" if len(self.failures) > 1 else ""
        return f"FAIL {first}{more}"


ANSI = re.compile(r"(#x1B|\x1b)\[[0-9;]*m")


def parse_junit(path: Path) -> Result:
    """Result from pytest's --junitxml report of one notebook: its failing cells, in order."""
    if not path.exists():
        return Result(passed=False, failures=["pytest wrote no report"])
    cases = list(ET.parse(path).getroot().iter("testcase"))
    if not cases:
        return Result(passed=False, failures=["no cell collected"])
    failures, diff = [], []
    for case in cases:
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is None:
            continue
        text = ANSI.sub("", (bad.text or "") + "\n" + bad.get("message", ""))
        kind = re.search(r"^(Cell \d+: .*)$", text, re.MULTILINE)
        failures.append(kind.group(1) if kind else f"{case.get('name')}: {text.strip()[:200]}")
        diff = diff or _diff_lines(text)
    return Result(passed=not failures, cells=len(cases), failures=failures, diff=diff)


def _diff_lines(text: str) -> list[str]:
    """The first changed line of pytest's `reference_output == test_output` diff, both sides.

    In that diff, '+' marks the left operand (the stored output) and '-' the right (this run).
    """
    body = text.split("failed:", 1)[-1].splitlines()
    stored = next((ln.strip()[2:] for ln in body if ln.strip().startswith("+ ")), None)
    now = next((ln.strip()[2:] for ln in body if ln.strip().startswith("- ")), None)
    return [f"{label}{line}" for label, line in (("stored: ", stored), ("now:    ", now)) if line]


def environment(name: str) -> dict[str, str]:
    """The full process environment for one named numeric environment."""
    return {**os.environ, **TEST_ENV, **ENVIRONMENTS[name]}


def probe(name: str, python: str = sys.executable) -> str:
    """Which OpenBLAS core, ATen capability and torch thread count the environment gives."""
    done = subprocess.run([python, "-c", PROBE], env=environment(name), capture_output=True,
                          text=True, cwd=ROOT)
    return done.stdout.strip() or ("probe failed: " + done.stderr.strip()[-200:])


def run_one(env_name: str, notebook: Path, workdir: Path, python: str = sys.executable) -> Result:
    """nbval over one notebook in one environment; pytest's output goes to workdir."""
    stem = f"{env_name}__{notebook.stem}"
    report = workdir / f"{stem}.xml"
    # -vv: pytest shows whole differing lines, not "Skipping 20 identical leading characters".
    cmd = [python, "-m", "pytest", "-p", "no:cacheprovider", "-vv", "--no-header", "--color=no",
           *NBVAL_OPTS, f"--junitxml={report}", str(notebook)]
    # From the repository root, as `make test` runs, so that its conftest.py applies.
    cwd = ROOT if notebook.is_relative_to(ROOT) else notebook.parent
    with open(workdir / f"{stem}.log", "w") as log:
        subprocess.run(cmd, env=environment(env_name), stdout=log, stderr=subprocess.STDOUT,
                       cwd=cwd)
    return parse_junit(report)


def threads(env_name: str) -> int:
    return int(environment(env_name)["OMP_NUM_THREADS"])


def run_matrix(env_names: list[str], notebooks: list[Path], jobs: int, workdir: Path,
               python: str = sys.executable) -> dict[str, dict[Path, Result]]:
    """Every (environment, notebook) pair: one-thread ones `jobs` at a time, the others alone.

    Two multi-threaded kernels side by side oversubscribe the cores (seen: a 30 s training cell
    past the 180 s cell timeout).
    """
    pairs = [(e, nb) for e in env_names for nb in notebooks]
    results: dict[tuple[str, Path], Result] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        single = [p for p in pairs if threads(p[0]) == 1]
        for pair, result in zip(single, pool.map(lambda p: run_one(*p, workdir, python), single)):
            results[pair] = result
    for pair in pairs:
        if pair not in results:
            results[pair] = run_one(*pair, workdir, python)
    return {e: {nb: results[(e, nb)] for nb in notebooks} for e in env_names}


def format_table(table: dict[str, dict[Path, Result]], probes: dict[str, str]) -> str:
    """Environment x notebook grid, the kernels each environment gave, then every failing cell."""
    notebooks = list(next(iter(table.values())))
    names = [nb.stem[:24] for nb in notebooks]
    first = max(len(e) for e in table)
    widths = [max(len(n), 14) for n in names]
    lines = ["  ".join([" " * first, *(n.ljust(w) for n, w in zip(names, widths))])]
    for env_name, row in table.items():
        cells = [row[nb].short().ljust(w) for nb, w in zip(notebooks, widths)]
        lines.append("  ".join([env_name.ljust(first), *cells]))
    lines.append("")
    for env_name in table:
        settings = " ".join(f"{k}={v}" for k, v in ENVIRONMENTS.get(env_name, {}).items())
        lines.append(f"{env_name}: {settings or '(TEST_ENV only)'} -> {probes.get(env_name, '')}")
    failures = [(e, nb, r) for e, row in table.items() for nb, r in row.items() if not r.passed]
    if failures:
        lines += ["", "Differences (each failing notebook: its first cell, the output, the rest):"]
    for env_name, nb, r in failures:
        lines.append(f"  {env_name} / {nb.name} / {r.failures[0]}")
        lines += [f"      {d}" for d in r.diff]
        lines += [f"    also {failure}" for failure in r.failures[1:]]
    return "\n".join(lines)


def select_notebooks(patterns: list[str] | None) -> list[Path]:
    """solutions/*.ipynb, or those whose name starts with one of `patterns` (e.g. "01"), or paths."""
    every = sorted((ROOT / "solutions").glob("*.ipynb"))
    if not patterns:
        return every
    chosen = []
    for pattern in patterns:
        path = Path(pattern)
        if path.suffix == ".ipynb" and path.exists():
            chosen.append(path.resolve())
            continue
        matches = [nb for nb in every if nb.name.startswith(pattern)]
        if not matches:
            raise SystemExit(f"--notebooks: no notebook in solutions/ starts with {pattern!r}")
        chosen += matches
    return chosen


LOWEST = ROOT / "constraints" / "lowest.txt"


def lowest_venv(venv: Path) -> str:
    """Create (or update) a venv holding constraints/lowest.txt's versions; return its python."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-c", str(LOWEST), "-e", f"{ROOT}[test]", "-e", f"{ROOT}/authoring",
                    "-e", f"{ROOT}/grading"], check=True, cwd=ROOT)
    return str(python)


def lowest_suite(python: str, jobs: int) -> bool:
    """Print the pinned versions installed, then lint and unit tests (`make test` without nbval)."""
    pinned = {ln.split("==")[0].strip().lower() for ln in LOWEST.read_text().splitlines()
              if "==" in ln and not ln.startswith("#")}
    freeze = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True)
    print("installed:", *(ln for ln in freeze.stdout.split()
                          if re.split(r"[=@ ]", ln)[0].lower().replace("_", "-") in pinned),
          flush=True)
    steps = [[python, "-m", "ruff", "check", "."],
             [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", str(jobs), "tests"]]
    ok = True
    for cmd in steps:
        if subprocess.run(cmd, env=environment("default"), cwd=ROOT).returncode != 0:
            print("FAILED with the lowest versions:", " ".join(cmd[2:]), flush=True)
            ok = False
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", choices=list(ENVIRONMENTS), metavar="ENV",
                        help=f"environments to run (default: all of {', '.join(ENVIRONMENTS)})")
    parser.add_argument("--notebooks", nargs="+", metavar="NB",
                        help="notebooks of solutions/ by name prefix (01) or path (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help=f"only {', '.join(QUICK)}: one environment unlike the default, for CI")
    parser.add_argument("-j", "--jobs", type=int, default=2,
                        help="pytest processes at a time (default 2)")
    parser.add_argument("--lowest", action="store_true",
                        help="first build a venv of constraints/lowest.txt, run ruff and the unit "
                             "tests in it, then the notebooks with its python (default env only)")
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "rlcourse-lowest",
                        help="where --lowest builds its venv (default: %(default)s)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep pytest's logs and junit reports in DIR")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"-j/--jobs must be at least 1, got {args.jobs}")

    if args.quick:
        env_names = QUICK
    elif args.envs:
        env_names = args.envs
    else:  # the lowest versions are one more environment: by default, run them alone
        env_names = ["default"] if args.lowest else list(ENVIRONMENTS)
    notebooks = select_notebooks(args.notebooks)
    python, suite_ok = sys.executable, True
    if args.lowest:
        python = lowest_venv(args.venv)
        suite_ok = lowest_suite(python, args.jobs)

    probes = {e: probe(e, python) for e in env_names}
    print(f"{len(notebooks)} notebooks x {len(env_names)} environments, {args.jobs} at a time",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        table = run_matrix(env_names, notebooks, args.jobs, workdir, python)
    print(format_table(table, probes))
    ok = all(r.passed for row in table.values() for r in row.values())
    print("\nall environments give the stored outputs" if ok else "\nFAILED: outputs differ")
    return 0 if ok and suite_ok else 1


if __name__ == "__main__":
    sys.exit(main())
