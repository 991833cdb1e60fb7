"""Batched episode collection over gymnasium vector environments (notebooks 02 and 03).

One call runs N environments side by side until each has finished one whole episode, asking the
policy for all N actions at once (one forward pass per vector step). The batch is time-major and
padded: column ``i`` holds environment ``i``'s first episode, ``mask[t, i]`` says whether step t
belongs to it. Environments that finish early keep running (a vector env steps all of its
sub-environments), and those extra steps are counted in ``env_steps`` but masked out.

The vector environment must autoreset in gymnasium's ``SAME_STEP`` mode (what :func:`make_vec`
creates by default: every step returned is a real transition, and the observation returned with
``terminated | truncated`` already belongs to the next episode) or in ``NEXT_STEP`` mode (as
gymnasium's own vectorised CartPole-v1, ``make_vec(..., vectorization_mode="vector_entry_point")``:
the step after an episode's end only resets that environment; the collectors skip it and do not
count it as an environment step).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

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
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    if vectorization_mode not in VECTORIZATION_MODES:
        raise ValueError(f"vectorization_mode must be one of {VECTORIZATION_MODES}, "
                         f"got {vectorization_mode!r}")
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
        """The sub-batch of the given episodes (column indices or a boolean mask), padding
        trimmed to its longest episode; ``env_steps`` becomes the sub-batch's own step count."""
        idx = np.arange(self.mask.shape[1])[columns]
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
    n = envs.num_envs
    obs, _ = envs.reset(seed=seed)
    active = np.ones(n, dtype=bool)
    resetting = np.zeros(n, dtype=bool)  # NEXT_STEP: this step only resets these environments
    steps: list[tuple] = []
    env_steps = 0
    for _ in range(max_steps):
        actions = np.asarray(policy(obs))
        if actions.shape[:1] != (n,):
            raise ValueError(f"policy must return one action per environment, shape ({n}, ...), "
                             f"got shape {actions.shape}")
        next_obs, rewards, terminated, truncated, _ = envs.step(actions)
        env_steps += n - int(resetting.sum())
        if next_step:
            resetting = (terminated | truncated) & ~resetting
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


class EpisodeCollector:
    """Whole episodes from a vector environment, wasting no step: the stateful collector.

    :func:`collect_episodes` resets every environment at each call, so the steps an environment
    takes after its episode ended (while the others finish theirs) are thrown away. This
    collector keeps them: each call runs the environments until every one of them has finished
    at least one episode, returns *all* episodes that finished during the call, and carries the
    episodes still in progress over to the next call, where they are completed. Every step taken
    ends up in exactly one batch, so ``sum(batch.lengths) == batch.env_steps`` over a run, up to
    the episodes still in progress at its end.

    The price: a carried-over episode's first steps were sampled by the policy of the previous
    call (slightly off-policy, like the rollouts of A2C or PPO that continue across updates).

    Args:
        envs: a gymnasium vector environment autoresetting in SAME_STEP or NEXT_STEP mode
            (see :func:`make_vec`).
        seed: passed to ``envs.reset`` on the first call only.
    """

    def __init__(self, envs: gym.vector.VectorEnv, seed: int | None = None):
        self._next_step = _check_autoreset(envs) == gym.vector.AutoresetMode.NEXT_STEP
        self.envs = envs
        self.seed = seed
        self._obs: np.ndarray | None = None
        # per environment: [obs, actions, rewards, terminated, truncated] of its open episode
        self._open: list[list[np.ndarray]] = [[np.zeros(0)] * 5 for _ in range(envs.num_envs)]
        # NEXT_STEP mode: environments whose next step() only resets them (no transition)
        self._resetting = np.zeros(envs.num_envs, dtype=bool)

    def collect(self, policy: Policy, max_steps: int = 100_000) -> EpisodeBatch:
        """Step until each environment has finished an episode; return all finished episodes.

        The batch has one column per finished episode (at least ``num_envs``), ordered by
        environment and then by time; ``env_steps`` counts the steps taken during this call.
        """
        n = self.envs.num_envs
        if self._obs is None:
            self._obs, _ = self.envs.reset(seed=self.seed)
        # The loop only records whole vector steps; cutting them into episodes happens once,
        # after it, with array operations (a Python loop over environments per step would cost
        # as much as the environment step itself).
        steps: list[tuple] = []
        finished = np.zeros(n, dtype=bool)
        for _ in range(max_steps):
            obs = self._obs
            actions = _actions(policy, obs, n)
            self._obs, rewards, terminated, truncated, _ = self.envs.step(actions)
            real = ~self._resetting  # NEXT_STEP: a reset step is no transition
            ended = (terminated | truncated) & real
            steps.append((obs, actions, rewards, terminated, truncated, real))
            if self._next_step:
                self._resetting = ended
            finished |= ended
            if finished.all():
                break
        else:
            raise RuntimeError(f"{int(n - finished.sum())} environment(s) still running "
                               f"after max_steps={max_steps} vector steps")
        columns = [np.stack(x, axis=1) for x in zip(*steps)]  # each (N, T, ...)
        real = columns.pop()
        env_steps = int(real.sum())
        episodes = []
        for i in range(n):
            run = [c[i][real[i]] for c in columns]  # env i's transitions, in order
            if len(self._open[i][0]):  # the episode carried over from the last call
                run = [np.concatenate((old, new)) for old, new in zip(self._open[i], run)]
            bounds = [0, *(np.flatnonzero(run[3] | run[4]) + 1)]
            episodes += [[x[a:b] for x in run] for a, b in itertools.pairwise(bounds)]
            self._open[i] = [x[bounds[-1]:] for x in run]
        return _pad(episodes, env_steps)

    @property
    def open_steps(self) -> int:
        """Steps of the episodes still in progress (they go into the next batch)."""
        return sum(len(run[0]) for run in self._open)


def _check_autoreset(envs: gym.vector.VectorEnv) -> gym.vector.AutoresetMode:
    mode = envs.metadata.get("autoreset_mode")
    if mode not in (gym.vector.AutoresetMode.SAME_STEP, gym.vector.AutoresetMode.NEXT_STEP):
        raise ValueError("envs must autoreset in SAME_STEP or NEXT_STEP mode (create it with "
                         f"rlcourse.rollout.make_vec), got autoreset_mode={mode!r}")
    return mode


def _actions(policy: Policy, obs: np.ndarray, n: int) -> np.ndarray:
    actions = np.asarray(policy(obs))
    if actions.shape[:1] != (n,):
        raise ValueError(f"policy must return one action per environment, shape ({n}, ...), "
                         f"got shape {actions.shape}")
    return actions


def _pad(episodes: list[list[np.ndarray]], env_steps: int) -> EpisodeBatch:
    """Episodes as [obs, actions, rewards, terminated, truncated] arrays -> a padded batch."""
    lengths = np.array([len(e[0]) for e in episodes])
    T, N = int(lengths.max()), len(episodes)
    mask = np.arange(T)[:, None] < lengths[None, :]
    obs0, act0 = episodes[0][0], episodes[0][1]
    obs = np.zeros((T, N, *obs0.shape[1:]), dtype=obs0.dtype)
    actions = np.zeros((T, N, *act0.shape[1:]), dtype=act0.dtype)
    rewards = np.zeros((T, N))
    terminated = np.zeros((T, N), dtype=bool)
    truncated = np.zeros((T, N), dtype=bool)
    for i, (o, a, r, term, trunc) in enumerate(episodes):
        k = len(o)
        obs[:k, i], actions[:k, i], rewards[:k, i] = o, a, r
        terminated[k - 1, i], truncated[k - 1, i] = term[-1], trunc[-1]
    return EpisodeBatch(obs=obs, actions=actions, rewards=rewards, mask=mask,
                        terminated=terminated, truncated=truncated, lengths=lengths,
                        returns=rewards.sum(axis=0), env_steps=env_steps)


def evaluate(env_id: str, policy: Policy, n_episodes: int = 100, seed: int = 0,
             vectorization_mode: str | None = None, **make_kwargs) -> np.ndarray:
    """Undiscounted returns of ``n_episodes`` episodes, run side by side; shape (n_episodes,).

    The threshold tests of the course (CartPole-v1: mean ≥ 475 over 100 episodes) use this.
    ``vectorization_mode`` (see :func:`make_vec`) defaults to gymnasium's vectorised
    implementation of the environment where there is one and no ``make_kwargs`` are given
    (CartPole-v1: the same dynamics, much faster), else to ``"sync"``.
    """
    if vectorization_mode is None:
        vectorization_mode = "sync" if make_kwargs else fastest_mode(env_id)
    envs = make_vec(env_id, n_episodes, vectorization_mode=vectorization_mode, **make_kwargs)
    try:
        return collect_episodes(envs, policy, seed=seed).returns
    finally:
        envs.close()
