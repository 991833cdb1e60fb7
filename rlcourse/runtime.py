"""Reproducibility and device selection (taught in 00_start_here and 04_gaussian_policies_gpu)."""

from __future__ import annotations

import os
import random

import numpy as np

_DEVICES = ("cpu", "cuda", "mps")


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global state and torch (CPU and every GPU).

    Args:
        seed: a non-negative integer.

    Returns:
        A fresh ``np.random.Generator`` seeded with ``seed``, for code that prefers an explicit
        generator to global state.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    import torch  # imported here so that `import rlcourse` stays light

    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - learners' code uses the global state too
    torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)


def get_device(prefer: str | None = None):
    """The torch device the course trains on: CUDA, then Apple's MPS, else the CPU.

    The environment variable ``RLCOURSE_DEVICE`` (e.g. ``cpu`` or ``cuda:1``) overrides the
    choice, and so does ``prefer``; both must name a device that is available.

    Returns:
        A ``torch.device``.
    """
    import torch

    wanted = prefer if prefer is not None else os.environ.get("RLCOURSE_DEVICE")
    if wanted:
        kind = wanted.split(":")[0]
        if kind not in _DEVICES:
            raise ValueError(
                f"RLCOURSE_DEVICE/prefer must name one of {', '.join(_DEVICES)} "
                f"(optionally with ':index'), got {wanted!r}"
            )
        if kind == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {wanted!r} was asked for, but CUDA is not available")
        if kind == "mps" and not _mps_available():
            raise RuntimeError(f"device {wanted!r} was asked for, but MPS is not available")
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


COURSE_PACKAGES = ("jupyterlab", "numpy", "torch", "matplotlib", "nbval", "gymnasium")


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

    Returns:
        True when every package is installed.
    """
    import platform

    report = environment_report()
    print(f"python      {platform.python_version()}")
    for name, ver in report.items():
        print(f"{name:<11} {ver or 'MISSING'}")
    missing = [name for name, ver in report.items() if ver is None]
    if "torch" not in missing:
        print(f"device      {get_device()}")
    if missing:
        print(f"\nMissing: {', '.join(missing)}. Install the course with `make lab` (or "
              f"`pip install -e '.[test,grade]'` in the repository), then restart the kernel.")
    else:
        print("\nAll set.")
    return not missing
