"""The short corridor with switched actions: Sutton & Barto (2018), Example 13.1.

Taught in 01_update_equation. Three non-terminal states in a row and a goal on the right::

    [ S | X |   | G ]        S = start (state 0), X = switched (state 1), G = goal (state 3)

Every step costs a reward of -1 (γ = 1 in the book). In states 0 and 2 the actions do what they
say (``LEFT`` in state 0 bumps into the wall and stays); in the *switched* state 1 they are
reversed: ``RIGHT`` moves left, to state 0, and ``LEFT`` moves right, to state 2. The agent's
features are the same in every state, so it cannot tell the states apart: the best it can do is
to move right with a fixed probability, and the best probability is 2 - √2, not 0 or 1.

The dynamics live in one table, :data:`NEXT_STATE`, used by the gymnasium environment, by the
batched simulator :func:`step_batch` and by the exact solution in
:mod:`rlcourse.envs.short_corridor_exact`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces

from rlcourse import validate

LEFT, RIGHT = 0, 1
START, SWITCHED, GOAL = 0, 1, 3
N_STATES = 3  # non-terminal states 0, 1, 2; the goal (3) ends the episode
REWARD_PER_STEP = -1.0

#: NEXT_STATE[s, a]: the state after action a in non-terminal state s.
NEXT_STATE = np.array([
    [0, 1],  # state 0: left bumps into the wall, right moves right
    [2, 0],  # state 1 (switched): left moves RIGHT, right moves LEFT
    [1, 3],  # state 2: left moves left, right reaches the goal
], dtype=np.int64)


def step_batch(states: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """One step of many independent corridors at once.

    Args:
        states: int array of shape (B,), each in {0, 1, 2} (not the goal: an episode that has
            ended must be restarted).
        actions: array of shape (B,): integers ``LEFT`` (0) or ``RIGHT`` (1), or booleans
            "moved right" (what ``rng.random(B) < p`` gives), read as 1 for True.

    Returns:
        ``(next_states, rewards, terminated)``, each of shape (B,): int64, float64 (all -1)
        and bool (next state is the goal).
    """
    s = validate.array("states", states, ndim=1, dtype="int")
    if s.size and not ((s >= 0) & (s < N_STATES)).all():
        raise ValueError(f"states must hold 0, 1 or 2 (3, the goal, ends the episode), got values "
                         f"{np.unique(s)[:5].tolist()}")
    a = validate.array("actions", actions, ndim=1)
    if a.dtype.kind == "f":
        raise TypeError(f"actions must hold integers 0/1 or booleans, got dtype {a.dtype}")
    if a.dtype.kind != "b" and a.size and not np.isin(a, (LEFT, RIGHT)).all():
        raise ValueError(f"actions must hold 0 (left) or 1 (right), got values "
                         f"{np.unique(a)[:5].tolist()}")
    validate.same_shape(states=s, actions=a)
    return _step_batch(s, a)


def _step_batch(states: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """:func:`step_batch` without the argument checks, for the vectorised learners' inner loop."""
    next_states = NEXT_STATE[states, actions.astype(np.int64)]
    return next_states, np.full(next_states.shape, REWARD_PER_STEP), next_states == GOAL


class ShortCorridorEnv(gymnasium.Env):
    """Sutton & Barto's short corridor with switched actions (Example 13.1) as a gymnasium env.

    Observations are the state index in {0, 1, 2, 3} (3, the goal, is only seen on
    termination); the book's agent ignores them, since its features are the same in every state.
    Actions: 0 = left, 1 = right. Reward -1 per step. ``render_mode="ansi"`` returns a text
    picture such as ``"[A | x|  | G]"`` (A = agent, x = the switched state).

    Make it with ``gymnasium.make("rlcourse/ShortCorridor-v0")`` after ``import rlcourse.envs``
    (that adds a 1000-step time limit).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(N_STATES + 1)
        self.action_space = spaces.Discrete(2)
        self._state = START

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        validate.options("options", options, ())  # nothing to choose: every episode starts at S
        self._state = START
        return self._state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        # an integer 0 or 1 (NumPy's too); True, 1.0 or an array are refused, not read as 1
        action = validate.integer("action", action, low=LEFT, high=RIGHT)
        if self._state == GOAL:
            raise RuntimeError("the episode has terminated: call reset() before step()")
        self._state = int(NEXT_STATE[self._state, action])
        return self._state, REWARD_PER_STEP, self._state == GOAL, False, {}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        cells = ["  ", " x", "  ", " G"]
        cells[self._state] = "A" + cells[self._state][1]
        return "[" + "|".join(cells) + "]"
