"""The warm-up check of 00_start_here: right answers pass, typical mistakes are named."""

import numpy as np
import pytest
import torch

from rlcourse.checks import start_here
from rlcourse.checks.feedback import ExerciseFailed, ExerciseNotImplemented


@pytest.mark.parametrize("answer", [
    lambda r: float(np.sum(r)),
    lambda r: sum(float(x) for x in r),                       # a plain loop
    lambda r: torch.as_tensor(r).sum(),                        # a torch scalar is fine too
])
def test_correct_answers_pass(answer):
    assert start_here.check_total_reward(answer)


@pytest.mark.parametrize("wrong, message", [
    (lambda r: float(np.mean(r)) if len(r) else 0.0, "mean reward"),
    (lambda r: float(np.sum(r[:-1])), "last reward is missing"),
    (lambda r: float(np.sum(r[1:])), "first reward is missing"),
    (lambda r: None, "forget to `return`"),
    (lambda r: np.cumsum(r), "shape"),
])
def test_typical_mistakes_are_named(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        start_here.check_total_reward(wrong)


def test_unfinished_and_crashing_answers():
    def stub(rewards):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotImplemented, match="not implemented yet"):
        start_here.check_total_reward(stub)
    with pytest.raises(ExerciseFailed, match="raised ZeroDivisionError"):
        start_here.check_total_reward(lambda r: 1 / 0)


def test_in_place_modification_is_reported():
    def sums_and_clobbers(rewards):
        total = float(np.sum(rewards))
        rewards[:] = 0
        return total

    with pytest.raises(ExerciseFailed, match="modified its input in place"):
        start_here.check_total_reward(sums_and_clobbers)
