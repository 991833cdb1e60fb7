"""Check for the warm-up exercise of 00_start_here: the undiscounted return of an episode."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rlcourse.checks.feedback import Exercise, Feedback, diagnose, fmt

# the first case tells every mistake apart (its first and last rewards differ)
CASES = ([2.0, -1.0, 0.5, 3.0], [1.0, 1.0, 1.0], [0.0, 0.0, 5.0], [-4.0], [])


def check_total_reward(total_reward: Callable) -> Feedback:
    """``total_reward(rewards) -> float``: the sum R_1 + ... + R_T of one episode's rewards."""
    ex = Exercise("total_reward")
    for rewards in CASES:
        case = f"rewards = {fmt(rewards)}"
        got = ex.as_array(ex.call(total_reward, np.array(rewards), case=case), shape=(),
                          case=case, what="the return")
        want = float(np.sum(rewards))
        if not np.isclose(got, want):
            r = np.array(rewards)
            message = diagnose(got, {
                "you returned the mean reward; the return is the sum": r.mean(),
                "the last reward is missing (an off-by-one in the loop?)": r[:-1].sum(),
                "the first reward is missing (an off-by-one in the loop?)": r[1:].sum(),
            }) if r.size else None
            ex.fail(message or f"expected {want:g}, got {float(got):g}", case)
    return ex.passed(f"correct on {len(CASES)} episodes, the empty one included")
