"""`make lab` opens a working JupyterLab: start it from the venv on a free loopback port."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, json.loads(resp.read().decode())


@pytest.mark.slow
def test_jupyterlab_serves_the_course(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--port-retries=0", f"--IdentityProvider.token={token}", "--allow-root",
         f"--ServerApp.root_dir={ROOT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"{base}/api/status", token)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on port {port}:\n"
                                f"{proc.stderr.read() if proc.poll() is not None else ''}")
                time.sleep(0.5)
        assert status == 200 and "started" in body
        for folder in ("notebooks", "solutions"):
            status, listing = _get(f"{base}/api/contents/{folder}", token)
            names = {item["name"] for item in listing["content"]}
            expected = {p.name for p in (ROOT / folder).glob("*.ipynb")}
            assert status == 200 and expected and expected <= names
        status, lab = 0, None
        with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=10) as resp:
            status, lab = resp.status, resp.read().decode()
        assert status == 200 and "JupyterLab" in lab
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
