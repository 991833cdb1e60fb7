"""Shared fixtures, and the ``cuda`` marker: tests that need a CUDA device, skipped (with the
reason) without one."""

from __future__ import annotations

import pytest


@pytest.fixture
def capture(monkeypatch):
    """``capture(module, "name")`` wraps a collector so the test sees what a trainer collected:
    returns the list its results are appended to."""
    def wrap(module, name):
        seen = []
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            seen.append(original(*args, **kwargs))
            return seen[-1]
        monkeypatch.setattr(module, name, wrapper)
        return seen
    return wrap


@pytest.fixture
def keeps_torch_rng():
    """``keeps_torch_rng(run)``: after ``run()`` torch's global stream continues as if it had not
    run (checks and samplers must not consume or reseed the notebook's RNG); returns ``run()``."""
    import torch

    def check(run):
        torch.manual_seed(123)
        want = torch.rand(3)
        torch.manual_seed(123)
        result = run()
        assert torch.equal(torch.rand(3), want), "the global torch random stream was touched"
        return result
    return check


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cuda: runs on a CUDA device (skipped where torch.cuda.is_available() is False)")


def pytest_collection_modifyitems(config, items):
    cuda_items = [item for item in items if item.get_closest_marker("cuda") is not None]
    if not cuda_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA: torch.cuda.is_available() is False here")
    for item in cuda_items:
        item.add_marker(skip)
