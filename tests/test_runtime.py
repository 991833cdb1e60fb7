import random

import numpy as np
import pytest
import torch

from rlcourse import runtime


def _draw():
    return random.random(), np.random.rand(), torch.rand(()).item()  # noqa: NPY002


def test_seed_everything_makes_every_generator_repeat():
    rng_a = runtime.seed_everything(123)
    first = (*_draw(), rng_a.normal())
    rng_b = runtime.seed_everything(123)
    second = (*_draw(), rng_b.normal())
    assert first == second
    runtime.seed_everything(124)
    assert _draw() != first[:3]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises((TypeError, ValueError), match="seed must be an integer"):
        runtime.seed_everything(bad)


def test_get_device_override(monkeypatch):
    monkeypatch.setenv("RLCOURSE_DEVICE", "cpu")
    assert runtime.get_device() == torch.device("cpu")
    monkeypatch.setenv("RLCOURSE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="RLCOURSE_DEVICE"):
        runtime.get_device()


def test_get_device_refuses_unavailable_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        runtime.get_device("cuda")


def test_get_device_order(monkeypatch):
    monkeypatch.delenv("RLCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runtime, "_mps_available", lambda: True)
    assert runtime.get_device().type == "mps"
    monkeypatch.setattr(runtime, "_mps_available", lambda: False)
    assert runtime.get_device().type == "cpu"


def test_environment_report_names_missing_packages(capsys):
    report = runtime.environment_report(("numpy", "surely-not-installed-pkg"))
    assert report["numpy"] == np.__version__
    assert report["surely-not-installed-pkg"] is None


def test_check_environment_prints_versions(capsys):
    assert runtime.check_environment() is True
    out = capsys.readouterr().out
    for name in runtime.COURSE_PACKAGES + runtime.TOOL_PACKAGES:
        assert name in out
    assert "device" in out


def test_on_colab_only_the_notebooks_imports_are_needed(monkeypatch, capsys):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    real = runtime.environment_report
    monkeypatch.setattr(runtime, "environment_report",
                        lambda packages: {**real(packages), **{p: None for p in packages
                                                               if p in runtime.TOOL_PACKAGES}})
    assert runtime.check_environment() is True  # no JupyterLab/nbval asked for on Colab
    assert "jupyterlab" not in capsys.readouterr().out
    monkeypatch.delitem(sys.modules, "google.colab")
    assert runtime.check_environment() is False  # here they are needed, and "missing"
    assert "Missing: jupyterlab, nbval" in capsys.readouterr().out


def test_get_device_accepts_torch_devices_auto_and_checks_names(monkeypatch):
    monkeypatch.delenv("RLCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runtime, "_mps_available", lambda: False)
    assert runtime.get_device(torch.device("cpu")) == torch.device("cpu")
    assert runtime.get_device("auto") == torch.device("cpu")
    monkeypatch.setenv("RLCOURSE_DEVICE", "cpu")
    assert runtime.get_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="device must name one of"):
        runtime.get_device("gpu")
    with pytest.raises(ValueError, match="device must name one of"):
        runtime.get_device("cuda:x")
    with pytest.raises(TypeError, match="device must be None"):
        runtime.get_device(0)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        runtime.get_device(torch.device("cuda"))


@pytest.mark.parametrize("value", ["tpu", "cuda:7"])
def test_check_environment_reports_a_bad_device_setting(monkeypatch, capsys, value):
    monkeypatch.setenv("RLCOURSE_DEVICE", value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.check_environment() is False  # a finding, not an exception
    out = capsys.readouterr().out
    assert "PROBLEM" in out and "RLCOURSE_DEVICE" in out and value in out


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with runtime.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with runtime.torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"), runtime.torch_threads(0):
        pass
