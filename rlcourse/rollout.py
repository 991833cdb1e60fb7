"""Batched episode collection over gymnasium vector environments (notebooks 02 and 03).

One call runs N environments side by side until each has finished one whole episode, asking the
policy for all N actions at once (one forward pass per vector step). The batch is time-major and
padded: column ``i`` holds environment ``i``'s first episode, ``mask[t, i]`` says whether step t
belongs to it. Environments that finish early keep running (a vector env steps all of its
sub-environments), and those extra steps are counted in ``env_steps`` but masked out.

On-policy by construction: every call starts new episodes, so every step of a batch was sampled
by the policy passed to that call (the course's convention §5). Keeping the steps that finished
environments take while the others run, for the next batch, would save those steps but score
them under a policy that did not sample them.

The vector environment must autoreset in gymnasium's ``SAME_STEP`` mode (what :func:`make_vec`
creates by default: every step returned is a real transition, and the observation returned with
``terminated | truncated`` already belongs to the next episode) or in ``NEXT_STEP`` mode (as
gymnasium's own vectorised CartPole-v1, ``make_vec(..., vectorization_mode="vector_entry_point")``:
the step after an episode's end only resets that environment; the collectors skip it and do not
count it as an environment step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from rlcourse import validate

Policy = Callable[[np.ndarray], np.ndarray]


VECTORIZATION_MODES = ("sync", "async", "vector_entry_point")


def make_vec(env_id: str, num_envs: int, vectorization_mode: str = "sync",
             **kwargs) -> gym.vector.VectorEnv:
    """``gym.make_vec`` in a form the collectors accept.

    ``"sync"`` (default) and ``"async"``: N copies of ``gym.make(env_id)`` with SAME_STEP
    autoreset. ``"vector_entry_point"``: the environment's own vectorised implementation, where
    gymnasium has one (CartPole-v1: the same dynamics in NumPy arrays, several times faster per
    step; NEXT_STEP autoreset). ``kwargs`` go to the environment(s).
    """
    num_envs = validate.integer("num_envs", num_envs, low=1)
    validate.choice("vectorization_mode", vectorization_mode, VECTORIZATION_MODES)
    if vectorization_mode == "vector_entry_point":
        return gym.make_vec(env_id, num_envs=int(num_envs),
                            vectorization_mode="vector_entry_point", **kwargs)
    return gym.make_vec(env_id, num_envs=int(num_envs), vectorization_mode=vectorization_mode,
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
                        **kwargs)


def fastest_mode(env_id: str) -> str:
    """``"vector_entry_point"`` if gymnasium has a vectorised implementation of ``env_id``."""
    return "vector_entry_point" if gym.spec(env_id).vector_entry_point else "sync"


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

    def select(self, columns) -> EpisodeBatch:
        """The sub-batch of the given episodes, padding trimmed to its longest episode;
        ``env_steps`` becomes the sub-batch's own step count.

        ``columns``: a slice, a 1-D array or list of column indices, or a boolean mask of length
        N. A single index or a bare ``True`` is refused (NumPy would drop or add an axis).
        """
        n = self.mask.shape[1]
        if isinstance(columns, slice):
            columns = np.arange(n)[columns]
        elif np.ndim(columns) == 0:
            raise TypeError(f"columns must be a slice, a list or 1-D array of episode indices, "
                            f"or a boolean mask of length {n}, got {columns!r} (a single index "
                            f"would drop the episode axis: pass [{columns!r}])")
        cols = validate.array("columns", columns, ndim=1)
        if cols.dtype.kind == "b":
            if cols.shape != (n,):
                raise ValueError(f"columns must be a boolean mask of length {n} (one per "
                                 f"episode), got length {cols.size}")
        elif cols.size:
            cols = validate.array("columns", cols, dtype="int", low=-n, high=n - 1)
        idx = np.arange(n)[cols] if cols.size else cols
        if idx.size == 0:
            raise ValueError("columns selects no episode")
        T = int(self.lengths[idx].max())
        return EpisodeBatch(obs=self.obs[:T, idx], actions=self.actions[:T, idx],
                            rewards=self.rewards[:T, idx], mask=self.mask[:T, idx],
                            terminated=self.terminated[:T, idx], truncated=self.truncated[:T, idx],
                            lengths=self.lengths[idx], returns=self.returns[idx],
                            env_steps=int(self.lengths[idx].sum()))


def collect_episodes(envs: gym.vector.VectorEnv, policy: Policy, seed: int | None = None,
                     max_steps: int = 100_000) -> EpisodeBatch:
    """Run every sub-environment of ``envs`` to the end of one episode.

    Args:
        envs: a gymnasium vector environment autoresetting in SAME_STEP or NEXT_STEP mode
            (see :func:`make_vec`).
        policy: maps observations of shape (N, *obs_shape) to actions of shape
            (N, *action_shape), sampling as it sees fit (it is called once per vector step).
        seed: passed to ``envs.reset``; None continues the environments' random streams.
        max_steps: a safety limit on vector steps, for environments without truncation.

    Returns:
        An :class:`EpisodeBatch`.
    """
    next_step = _check_autoreset(envs) == gym.vector.AutoresetMode.NEXT_STEP
    if seed is not None:
        seed = validate.integer("seed", seed, low=0)
    max_steps = validate.integer("max_steps", max_steps, low=1)
    n = envs.num_envs
    obs, _ = envs.reset(seed=seed)
    active = np.ones(n, dtype=bool)
    steps: list[tuple] = []
    for _ in range(max_steps):
        actions = np.asarray(policy(obs))
        if actions.shape[:1] != (n,):
            raise ValueError(f"policy must return one action per environment, shape ({n}, ...), "
                             f"got shape {actions.shape}")
        next_obs, rewards, terminated, truncated, _ = envs.step(actions)
        steps.append((obs, actions, rewards, terminated, truncated))
        active &= ~(terminated | truncated)
        obs = next_obs
        if not active.any():
            break
    else:
        raise RuntimeError(f"{int(active.sum())} environment(s) still running after "
                           f"max_steps={max_steps} vector steps")
    # Masks once, at the end (this loop runs once per vector step): step t belongs to episode
    # i if no episode of environment i ended before t.
    obs_b, act_b, rew_b, term_b, trunc_b = (np.stack(x) for x in zip(*steps))
    done = term_b | trunc_b
    mask_b = (np.cumsum(done, axis=0) - done) == 0
    env_steps = done.size
    if next_step:  # the step after an episode's end only resets that environment
        env_steps -= int(done[:-1].sum())
    rew_b = np.where(mask_b, rew_b, 0.0).astype(np.float64)
    return EpisodeBatch(obs=obs_b, actions=act_b, rewards=rew_b, mask=mask_b,
                        terminated=term_b & mask_b, truncated=trunc_b & mask_b,
                        lengths=mask_b.sum(axis=0), returns=rew_b.sum(axis=0),
                        env_steps=env_steps)


def _check_autoreset(envs: gym.vector.VectorEnv) -> gym.vector.AutoresetMode:
    mode = envs.metadata.get("autoreset_mode")
    if mode not in (gym.vector.AutoresetMode.SAME_STEP, gym.vector.AutoresetMode.NEXT_STEP):
        raise ValueError("envs must autoreset in SAME_STEP or NEXT_STEP mode (create it with "
                         f"rlcourse.rollout.make_vec), got autoreset_mode={mode!r}")
    return mode


def evaluate(env_id: str, policy: Policy, n_episodes: int = 100, seed: int = 0,
             vectorization_mode: str | None = None, **make_kwargs) -> np.ndarray:
    """Undiscounted returns of ``n_episodes`` episodes, run side by side; shape (n_episodes,).

    The threshold tests of the course (CartPole-v1: mean ≥ 475 over 100 episodes) use this.
    ``vectorization_mode`` (see :func:`make_vec`) defaults to gymnasium's vectorised
    implementation of the environment where there is one and no ``make_kwargs`` are given
    (CartPole-v1: the same dynamics, much faster), else to ``"sync"``.
    """
    n_episodes = validate.integer("n_episodes", n_episodes, low=1)
    seed = validate.integer("seed", seed, low=0)
    if vectorization_mode is None:
        vectorization_mode = "sync" if make_kwargs else fastest_mode(env_id)
    envs = make_vec(env_id, n_episodes, vectorization_mode=vectorization_mode, **make_kwargs)
    try:
        return collect_episodes(envs, policy, seed=seed).returns
    finally:
        envs.close()
