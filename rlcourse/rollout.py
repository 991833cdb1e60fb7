"""Batched episode collection over gymnasium vector environments (notebooks 02 and 03).

One call runs N environments side by side until each has finished one whole episode, asking the
policy for all N actions at once (one forward pass per vector step). The batch is time-major and
padded: column ``i`` holds environment ``i``'s first episode, ``mask[t, i]`` says whether step t
belongs to it. Environments that finish early keep running (a vector env steps all of its
sub-environments), and those extra steps are counted in ``env_steps`` but masked out.

The vector environment must autoreset in gymnasium's ``SAME_STEP`` mode (:func:`make_vec`
creates one): then every step returned is a real transition, and the observation returned with
``terminated | truncated`` already belongs to the next episode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

Policy = Callable[[np.ndarray], np.ndarray]


def make_vec(env_id: str, num_envs: int, **kwargs) -> gym.vector.VectorEnv:
    """``gym.make_vec`` with synchronous stepping and SAME_STEP autoreset (what the collector needs)."""
    if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    return gym.make_vec(env_id, num_envs=int(num_envs), vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
                        **kwargs)


@dataclass
class EpisodeBatch:
    """One episode per environment, time-major and padded to the longest episode T.

    Shapes (N environments): ``obs`` (T, N, *obs_shape); ``actions`` (T, N, *action_shape);
    ``rewards``, ``mask``, ``terminated``, ``truncated``: (T, N); ``lengths``, ``returns``: (N,).
    ``rewards`` is 0 and ``mask`` False after an episode's end; ``terminated[t, i]`` or
    ``truncated[t, i]`` is True only at the last step of episode i.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    mask: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    lengths: np.ndarray
    returns: np.ndarray
    env_steps: int

    @property
    def dones(self) -> np.ndarray:
        """(T, N) bool: the episode ended at this step (terminated or truncated)."""
        return self.terminated | self.truncated

    @property
    def num_steps(self) -> int:
        """Steps that belong to the collected episodes (sum of ``lengths``)."""
        return int(self.lengths.sum())


def collect_episodes(envs: gym.vector.VectorEnv, policy: Policy, seed: int | None = None,
                     max_steps: int = 100_000) -> EpisodeBatch:
    """Run every sub-environment of ``envs`` to the end of one episode.

    Args:
        envs: a gymnasium vector environment in SAME_STEP autoreset mode (see :func:`make_vec`).
        policy: maps observations of shape (N, *obs_shape) to actions of shape
            (N, *action_shape), sampling as it sees fit (it is called once per vector step).
        seed: passed to ``envs.reset``; None continues the environments' random streams.
        max_steps: a safety limit on vector steps, for environments without truncation.

    Returns:
        An :class:`EpisodeBatch`.
    """
    mode = envs.metadata.get("autoreset_mode")
    if mode != gym.vector.AutoresetMode.SAME_STEP:
        raise ValueError("envs must autoreset in SAME_STEP mode (create it with "
                         f"rlcourse.rollout.make_vec), got autoreset_mode={mode!r}")
    n = envs.num_envs
    obs, _ = envs.reset(seed=seed)
    active = np.ones(n, dtype=bool)
    steps: list[tuple] = []
    env_steps = 0
    for _ in range(max_steps):
        actions = np.asarray(policy(obs))
        if actions.shape[:1] != (n,):
            raise ValueError(f"policy must return one action per environment, shape ({n}, ...), "
                             f"got shape {actions.shape}")
        next_obs, rewards, terminated, truncated, _ = envs.step(actions)
        env_steps += n
        steps.append((obs, actions, rewards, active.copy(), terminated & active,
                      truncated & active))
        active &= ~(terminated | truncated)
        obs = next_obs
        if not active.any():
            break
    else:
        raise RuntimeError(f"{int(active.sum())} environment(s) still running after "
                           f"max_steps={max_steps} vector steps")
    obs_b, act_b, rew_b, mask_b, term_b, trunc_b = (np.stack(x) for x in zip(*steps))
    rew_b = np.where(mask_b, rew_b, 0.0).astype(np.float64)
    return EpisodeBatch(obs=obs_b, actions=act_b, rewards=rew_b, mask=mask_b,
                        terminated=term_b, truncated=trunc_b, lengths=mask_b.sum(axis=0),
                        returns=rew_b.sum(axis=0), env_steps=env_steps)


def evaluate(env_id: str, policy: Policy, n_episodes: int = 100, seed: int = 0,
             **make_kwargs) -> np.ndarray:
    """Undiscounted returns of ``n_episodes`` episodes, run side by side; shape (n_episodes,).

    The threshold tests of the course (CartPole-v1: mean ≥ 475 over 100 episodes) use this.
    """
    envs = make_vec(env_id, n_episodes, **make_kwargs)
    try:
        return collect_episodes(envs, policy, seed=seed).returns
    finally:
        envs.close()
