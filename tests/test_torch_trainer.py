"""The batched PyTorch trainer: its history, its arguments, and that it learns."""

from __future__ import annotations

import numpy as np
import pytest

from rlcourse import torch_trainer


def test_history_of_a_short_run():
    h = torch_trainer.train(seed=0, max_env_steps=3000, target=None, progress=False)
    n = len(h.loss)
    assert n >= 2 and len(h.env_steps) == len(h.mean_return) == n
    assert np.all(np.diff(h.env_steps) > 0) and h.env_steps[-1] >= 3000
    assert not h.solved and h.evaluations == [] and h.wall_s > 0
    again = torch_trainer.train(seed=0, max_env_steps=3000, target=None, progress=False)
    assert again.mean_return == h.mean_return  # seeded: reproducible


@pytest.mark.slow
@pytest.mark.parametrize("advantage", ["normalized", "value_baseline"])
def test_it_learns(advantage):
    h = torch_trainer.train(seed=1, max_env_steps=20_000, target=None, progress=False,
                            advantage=advantage)
    assert np.mean(h.mean_return[:3]) < 40 < np.mean(h.mean_return[-3:])


def test_bad_arguments():
    with pytest.raises(ValueError, match="advantage must be one of"):
        torch_trainer.train(advantage="gae", progress=False)
    with pytest.raises(ValueError, match="max_env_steps"):
        torch_trainer.train(max_env_steps=0, progress=False)
    with pytest.raises(ValueError, match="acting must be one of"):
        torch_trainer.train(acting="jax", progress=False)


@pytest.mark.parametrize("acting", ["numpy", "torch"])
def test_both_ways_of_acting_learn(acting):
    h = torch_trainer.train(seed=2, max_env_steps=15_000, target=None, progress=False,
                            acting=acting)
    assert np.mean(h.mean_return[:3]) < 40 < np.mean(h.mean_return[-3:])
