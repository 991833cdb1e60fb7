"""The ``cuda`` marker: tests that need a CUDA device, skipped (with the reason) without one."""

from __future__ import annotations

import pytest


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
