"""Reproducibility and device selection (taught in 00_start_here and 04_gaussian_policies_gpu)."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np

from rlcourse import validate

_DEVICES = ("cpu", "cuda", "mps")


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global state and torch (CPU and every GPU).

    Args:
        seed: a non-negative integer.

    Returns:
        A fresh ``np.random.Generator`` seeded with ``seed``, for code that prefers an explicit
        generator to global state.
    """
    seed = validate.integer("seed", seed, low=0)
    import torch  # imported here so that `import rlcourse` stays light

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - learners' code uses the global state too
    torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)


def get_device(device=None):
    """The torch device to train on: resolves ``None``/``"auto"``, a name, or a ``torch.device``.

    ``None`` or ``"auto"``: the environment variable ``RLCOURSE_DEVICE`` (e.g. ``cpu`` or
    ``cuda:1``) if it is set, else CUDA, then Apple's MPS, else the CPU. A name (``"cpu"``,
    ``"cuda"``, ``"cuda:1"``, ``"mps"``) or a ``torch.device`` is checked and returned as a
    ``torch.device``; it must be available.

    Raises:
        TypeError: ``device`` is neither None, a string nor a ``torch.device``.
        ValueError: an unknown device name (in ``device`` or ``RLCOURSE_DEVICE``).
        RuntimeError: the device named is not available on this machine.
    """
    import torch

    source = "device"
    if device is None or (isinstance(device, str) and device == "auto"):
        device = os.environ.get("RLCOURSE_DEVICE") or None
        source = "RLCOURSE_DEVICE"
        if device is None:
            if torch.cuda.is_available():
                return torch.device("cuda")
            if _mps_available():
                return torch.device("mps")
            return torch.device("cpu")
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be None, 'auto', a device name such as 'cpu' or 'cuda:0', "
                        f"or a torch.device, got {type(device).__name__} {device!r}")
    kind, _, index = device.partition(":")
    if kind not in _DEVICES or (index and not index.isdigit()):
        raise ValueError(f"{source} must name one of {', '.join(_DEVICES)} (optionally with "
                         f"':index'), got {device!r}")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"{source}={device!r} asks for CUDA, but CUDA is not available")
        if index and int(index) >= torch.cuda.device_count():
            raise RuntimeError(f"{source}={device!r}: this machine has "
                               f"{torch.cuda.device_count()} CUDA device(s)")
    if kind == "mps" and not _mps_available():
        raise RuntimeError(f"{source}={device!r} asks for MPS, but MPS is not available")
    return torch.device(device)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)`` (None: leave it), then restore the count.

    The trainers use 1: their tensors are small, and on a 2-core machine that is also busy, two
    threads that wait for each other at every operation make training many times slower.
    """
    import torch

    if n is None:
        yield
        return
    n = validate.integer("threads", n, low=1)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


# What the notebooks import (all a Colab runtime needs), and the tools that run the course on
# one's own machine (JupyterLab, and nbval for `make test`), which Colab brings or does not need.
COURSE_PACKAGES = ("numpy", "torch", "matplotlib", "gymnasium", "tqdm")
TOOL_PACKAGES = ("jupyterlab", "nbval")


def _on_colab() -> bool:
    import sys

    return "google.colab" in sys.modules


def environment_report(packages: tuple[str, ...] = COURSE_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package the course needs (None where it is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    report: dict[str, str | None] = {}
    for name in packages:
        try:
            report[name] = version(name)
        except PackageNotFoundError:
            report[name] = None
    return report


def check_environment() -> bool:
    """Print the course's packages with their versions and the device; name what is missing.

    A bad ``RLCOURSE_DEVICE`` (unknown name, or a device this machine lacks) is reported as a
    finding, with what to do, rather than raised.

    On Colab only the packages the notebooks import are needed; elsewhere JupyterLab and nbval
    too.

    Returns:
        True when every needed package is installed and the device can be used.
    """
    import platform

    needed = COURSE_PACKAGES if _on_colab() else COURSE_PACKAGES + TOOL_PACKAGES
    report = environment_report(needed)
    print(f"python      {platform.python_version()}")
    for name, ver in report.items():
        print(f"{name:<11} {ver or 'MISSING'}")
    missing = [name for name, ver in report.items() if ver is None]
    device_ok = True
    if "torch" not in missing:
        try:
            print(f"device      {get_device()}")
        except (ValueError, RuntimeError) as err:
            device_ok = False
            print(f"device      PROBLEM: {err}.\n            Unset RLCOURSE_DEVICE or set it to "
                  f"a device of this machine (e.g. RLCOURSE_DEVICE=cpu), then restart the kernel.")
    if missing:
        print(f"\nMissing: {', '.join(missing)}. Install the course with `make lab` in the "
              f"repository (or `pip install .` there), then restart the kernel.")
    elif device_ok:
        print("\nAll set.")
    return not missing and device_ok
