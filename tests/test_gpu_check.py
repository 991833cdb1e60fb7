"""benchmarks/gpu_check.py: its CPU smoke path (small sizes) and its refusal without CUDA."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"
spec = importlib.util.spec_from_file_location("gpu_check", PATH)
gpu_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_check)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_says_so_and_exits_2(capsys):
    assert gpu_check.main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "CUDA is not available" in captured.err
    assert "--device cpu" in captured.err


@pytest.mark.slow
def test_cpu_smoke_run_prints_one_json_line_per_figure(capsys):
    assert gpu_check.main(["--device", "cpu", "--max-envs", "20", "--quick"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    figures = [r["figure"] for r in rows]
    assert figures == ["device", *["throughput"] * 4, "parity", "no_sync_per_step", "training"]
    assert [r["num_envs"] for r in rows if r["figure"] == "throughput"] == [1, 4, 16, 20]
    assert all(r["steps_per_s"] > 0 for r in rows if r["figure"] == "throughput")
    assert rows[5]["ok"] and rows[5]["gradient_relative_difference"] == 0.0  # cpu against cpu
    assert rows[-1]["updates"] == 3 and rows[-1]["device"] == "cpu"
