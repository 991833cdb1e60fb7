"""Start what `make lab` starts (`python -m rlcourse_authoring lab`) on a scratch copy of the course.

Shared by tests/test_lab.py and tests/test_browser.py. The Makefile's `lab` recipe is read, not
retyped: ``make_lab_command`` asks make for it (``make -n lab``) and checks it is
``python -m rlcourse_authoring lab``, so the tests start what the learner starts, with JupyterLab options
(--no-browser, a port, a token) appended the way ``LAB_ARGS`` appends them. The course is a copy
(notebooks/, solutions/) in a temporary folder: a test never writes into this clone's
my-notebooks/, where a learner may be working.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_lab_command() -> list[str]:
    """The command `make lab` runs, as make prints it (``make -n``), minus the interpreter."""
    out = subprocess.run(["make", "-n", "--no-print-directory", "lab", "VENV=/nonexistent-venv"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = [line for line in out.splitlines() if line.startswith("/nonexistent-venv/bin/python")]
    assert lines, f"`make -n lab` printed no python command:\n{out}"
    argv = shlex.split(lines[-1])
    assert argv[1:4] == ["-m", "rlcourse_authoring", "lab"], f"`make lab` runs {argv}, not rlcourse_authoring lab"
    return argv[1:]


def course_copy(dest: Path) -> Path:
    """notebooks/ and solutions/ of this clone, copied into ``dest`` (a course root)."""
    for folder in ("notebooks", "solutions"):
        shutil.copytree(ROOT / folder, dest / folder)
    return dest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    root: Path
    base: str
    token: str
    proc: subprocess.Popen
    log: Path

    def get(self, path: str) -> tuple[int, dict | str]:
        req = urllib.request.Request(f"{self.base}{path}",
                                     headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                body = resp.read().decode()
                status = resp.status
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def redirects_to(self, path: str) -> str:
        """Where ``path`` leads after the server's redirects (the URL path, no query)."""
        req = urllib.request.Request(f"{self.base}{path}",
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return urllib.parse.urlsplit(resp.geturl()).path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start(tmp: Path, timeout_s: float = 90) -> Lab:
    """Copy the course into ``tmp/course`` and start `make lab`'s command there, on a free port."""
    root = course_copy(tmp / "course")
    port, token = _free_port(), secrets.token_hex(16)
    # The user's own Jupyter settings stay out of the test; the course's config comes from
    # `rlcourse lab` itself (JUPYTER_CONFIG_PATH), the virtual environment's from sys.prefix.
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-runtime"),
           "JUPYTER_DATA_DIR": str(tmp / "jupyter-data")}
    env.pop("JUPYTER_CONFIG_PATH", None)
    argv = [sys.executable, *make_lab_command()[:3], "--root", str(root), "--no-browser",
            "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
            f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    log = tmp / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                start_new_session=True)
    lab = Lab(root, f"http://127.0.0.1:{port}", token, proc, log)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            status, _ = lab.get("/api/status")
            if status == 200:
                return lab
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(lab)
            raise RuntimeError(f"`{shlex.join(argv)}` did not serve on port {port}:\n"
                               f"{lab.output()}")
        time.sleep(0.5)


def stop(lab: Lab) -> None:
    """Stop the JupyterLab process group (the server and the kernels it started)."""
    import signal

    if lab.proc.poll() is None:
        os.killpg(lab.proc.pid, signal.SIGTERM)
        try:
            lab.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(lab.proc.pid, signal.SIGKILL)
            lab.proc.wait()
