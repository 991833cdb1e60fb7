"""One bubblewrap sandbox per graded submission, and the resource limits around it.

``python -m rlcourse_grading grade`` starts each submission's kernel as::

    python -m rlcourse_grading.sandbox --data BYTES --cpu S ... -- bwrap ... -- \\
        python -m rlcourse_grading.kernel -f /run/.../kernel.json

Inside, the kernel sees:

- the operating system (``/usr``, ``/lib*``, ``/bin``, a few files of ``/etc``), the Python
  installation and the folders of the two packages it imports (``rlcourse/`` and
  ``rlcourse_grading/``), **read-only**; nothing else of the clone they sit in (not the
  solutions, the submissions, ``.git`` or results); the course's source notebooks and the
  grader's folders are hidden behind empty folders even where they lie under a bound folder;
- the course's helper files (hidden tests' modules) read-only at ``/course-support``, and only
  while a hidden block runs;
- a private working folder ``/home/student`` (a fresh host folder, the only place it can write
  besides its private ``/tmp``) and the folder of its connection file and sockets;
- no network (its own, empty network namespace), its own process namespace (nothing it starts
  is visible outside or outlives the sandbox: ``--die-with-parent``, and killing the sandbox's
  first process kills them all), its own IPC/UTS namespaces, no capabilities;
- resource limits set before ``bwrap`` starts (inherited by every process inside): address
  space, CPU seconds, file size, open files, no core dumps; processes through a ``pids`` cgroup
  where one is writable, else ``RLIMIT_NPROC`` (which Linux does not apply to root).

The grader talks to the kernel over ZeroMQ ``ipc`` sockets in the bound folder (a network
namespace has no route to the grader's TCP ports).
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import shutil
import site
import subprocess
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

HOME = "/home/student"  # the submission's working folder, as the kernel sees it
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
        "nsswitch.conf", "fonts", "alternatives", "mime.types", "ssl/certs")
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
GiB = 1 << 30
MiB = 1 << 20


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass(frozen=True)
class Limits:
    """Per-submission limits (every process of the sandbox shares the process limit)."""

    # Memory a process may write to (heap and private writable mappings: RLIMIT_DATA). Not the
    # address space (RLIMIT_AS): a CUDA build of torch reserves gigabytes it never touches, and
    # under RLIMIT_AS it fails to load or to allocate a few kilobytes.
    memory_bytes: int = 4 * GiB
    cpu_seconds: int = 1800  # CPU time per process (RLIMIT_CPU): SIGXCPU, then SIGKILL
    processes: int = 64  # processes and threads in the sandbox
    file_bytes: int = 256 * MiB  # largest file it may write (RLIMIT_FSIZE)
    tmp_bytes: int = 512 * MiB  # size of its private /tmp
    open_files: int = 1024

    def describe(self) -> str:
        return (f"{self.memory_bytes / GiB:g} GiB of data memory, {self.cpu_seconds} CPU s, "
                f"{self.processes} processes, files up to {self.file_bytes // MiB} MiB, "
                f"/tmp {self.tmp_bytes // MiB} MiB")


@functools.cache
def unavailable_reason() -> str | None:
    """None when bubblewrap works here; else why not (in words, with the fix)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return ("bubblewrap is not installed (Debian/Ubuntu: `apt-get install bubblewrap`; "
                "Fedora: `dnf install bubblewrap`)")
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
             "--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "true"]
    try:
        out = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap could not run ({err})"
    if out.returncode != 0:
        return (f"bubblewrap cannot create namespaces here ({out.stderr.strip()}); "
                "unprivileged user namespaces may be disabled (sysctl "
                "kernel.unprivileged_userns_clone=1) or a container forbids them")
    return None


def _existing(paths: Iterable[str | Path]) -> list[str]:
    seen: list[str] = []
    for p in paths:
        p = os.path.realpath(p)
        if os.path.exists(p) and p not in seen:
            seen.append(p)
    return seen


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def python_roots(packages: Sequence[Path]) -> list[str]:
    """Folders the kernel needs read-only: Python, its site-packages, the course's packages."""
    # Not sys.path as a whole: `python -m` puts the caller's working folder on it (a home
    # folder, say), which the sandbox must not see.
    roots = [sys.prefix, sys.base_prefix, sys.exec_prefix, *map(str, packages),
             *site.getsitepackages()]
    found = [r for r in _existing(roots) if not _under(r, _SYSTEM)]
    # the outermost of nested folders is enough
    return [r for r in found if not _under(r, [o for o in found if o != r])]


def bwrap_command(argv: Sequence[str], *, work: Path, runtime: Path, packages: Sequence[Path],
                  hide: Iterable[Path], env: dict[str, str], limits: Limits,
                  support: tuple[Path, str] | None = None) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` in a fresh sandbox.

    ``packages``: the package folders to show read-only (not the folder they sit in);
    ``support``: (host folder, where the kernel sees it), bound read-only.
    """
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
           "--hostname", "grading", "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    # The private /tmp first: bwrap mounts in order, so a course or venv that lives under /tmp
    # (a CI clone, say) is bound on top of it below instead of being hidden by it.
    cmd += ["--dev", "/dev", "--proc", "/proc",
            "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    for path in _SYSTEM:
        if os.path.islink(path):  # /bin -> usr/bin on merged-/usr systems
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    for name in _ETC:
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    roots = python_roots(packages)
    for root in roots:
        cmd += ["--ro-bind", root, root]
    bound = roots + list(_SYSTEM)
    for secret in _existing(hide):
        # (a secret folder that holds the package itself, say the repository when grading
        # `.`, cannot be hidden whole: only what is bound of it is visible anyway)
        if _under(secret, bound) and not any(_under(r, [secret]) for r in roots):
            if os.path.isdir(secret):
                cmd += ["--tmpfs", secret, "--remount-ro", secret]
            else:
                cmd += ["--ro-bind", "/dev/null", secret]
    if support is not None:
        cmd += ["--ro-bind", str(support[0]), support[1]]
    cmd += ["--bind", str(work), HOME,
            "--bind", str(runtime), str(runtime),
            "--chdir", HOME, "--"]
    return cmd + list(argv)


class PidsCgroup:
    """A ``pids`` cgroup (v1 or v2) that caps the processes of one sandbox, where writable."""

    def __init__(self, limit: int):
        self.path: Path | None = None
        for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
            if not (base / "cgroup.procs").exists():
                continue
            if base == Path("/sys/fs/cgroup") and "pids" not in _read(
                    base / "cgroup.subtree_control"):
                continue
            path = base / f"rlcourse-grade-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(limit))
            except OSError:
                shutil.rmtree(path, ignore_errors=True) if path.exists() else None
                continue
            self.path = path
            return

    def remove(self) -> None:
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass


@functools.cache
def process_limit_enforced() -> bool:
    """Whether the process limit holds here: a writable pids cgroup, or not running as root."""
    if os.getuid() != 0:
        return True
    probe = PidsCgroup(1)
    probe.remove()
    return probe.path is not None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def limits_prefix(limits: Limits, cgroup: PidsCgroup | None) -> list[str]:
    """The command that applies ``limits`` (and joins ``cgroup``) before exec'ing the rest."""
    cmd = [sys.executable, "-m", "rlcourse_grading.sandbox",
           "--data", str(limits.memory_bytes), "--cpu", str(limits.cpu_seconds),
           "--fsize", str(limits.file_bytes), "--nofile", str(limits.open_files),
           "--nproc", str(limits.processes)]
    if cgroup is not None and cgroup.path is not None:
        cmd += ["--cgroup", str(cgroup.path)]
    return [*cmd, "--"]


def _apply_and_exec(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m rlcourse_grading.sandbox")
    for flag in ("--data", "--cpu", "--fsize", "--nofile", "--nproc"):
        p.add_argument(flag, type=int, required=True)
    p.add_argument("--cgroup", type=Path)
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.cgroup is not None:  # join before anything forks: children inherit it
        (args.cgroup / "cgroup.procs").write_text(str(os.getpid()))
    for res, value in ((resource.RLIMIT_DATA, args.data),
                       (resource.RLIMIT_CPU, args.cpu), (resource.RLIMIT_FSIZE, args.fsize),
                       (resource.RLIMIT_NOFILE, args.nofile), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(res, (value, value))
    if os.getuid() != 0:  # root is exempt from RLIMIT_NPROC; it counts the whole user
        resource.setrlimit(resource.RLIMIT_NPROC, (args.nproc + _processes_of_user(),) * 2)
    os.execvp(command[0], command)


def _processes_of_user() -> int:
    uid = str(os.getuid())
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            line = next((ln for ln in status.splitlines() if ln.startswith("Uid:")), "")
            count += line.split()[1:2] == [uid]
    return count


if __name__ == "__main__":
    _apply_and_exec()
