"""The batched collectors: episode boundaries under terminated, truncated (TimeLimit) and
SAME_STEP autoreset, on a tiny environment whose episode lengths are known."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit

from rlcourse import returns, rollout


class Countdown(gym.Env):
    """Observation = step index t within the episode; reward t + 1; terminates after ``length``."""

    observation_space = gym.spaces.Box(0, 10_000, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length: int):
        self.length = length
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action):
        assert self.action_space.contains(action)
        reward = float(self.t + 1)
        self.t += 1
        return np.array([self.t], dtype=np.float32), reward, self.t >= self.length, False, {}


LENGTHS = (3, 7, 12, 5)  # natural episode lengths
LIMIT = 6                # TimeLimit: the 7 and 12 episodes are truncated at 6 steps


def make_envs(lengths=LENGTHS, limit=LIMIT, mode=gym.vector.AutoresetMode.SAME_STEP):
    return gym.vector.SyncVectorEnv(
        [lambda n=n: TimeLimit(Countdown(n), max_episode_steps=limit) for n in lengths],
        autoreset_mode=mode)


def zeros_policy(obs):
    return np.zeros(len(obs), dtype=np.int64)


def check_episodes(batch, lengths):
    """Every column is one whole episode from its reset: obs 0, 1, ..., rewards 1, 2, ..."""
    T = int(max(lengths))
    assert batch.obs.shape == (T, len(lengths), 1)
    np.testing.assert_array_equal(batch.lengths, lengths)
    np.testing.assert_array_equal(batch.mask, np.arange(T)[:, None] < np.array(lengths)[None])
    for i, n in enumerate(lengths):
        np.testing.assert_array_equal(batch.obs[:n, i, 0], np.arange(n))  # no leak from autoreset
        np.testing.assert_array_equal(batch.rewards[:n, i], np.arange(1, n + 1))
        assert not batch.rewards[n:, i].any()
        assert batch.dones[:, i].sum() == 1 and batch.dones[n - 1, i]
    np.testing.assert_array_equal(batch.returns, [n * (n + 1) / 2 for n in lengths])


def test_collect_episodes_terminated_truncated_and_waste():
    envs = make_envs()
    batch = rollout.collect_episodes(envs, zeros_policy, seed=0)
    want = [min(n, LIMIT) for n in LENGTHS]
    check_episodes(batch, want)
    np.testing.assert_array_equal(batch.terminated[np.array(want) - 1, range(4)],
                                  [True, False, False, True])
    np.testing.assert_array_equal(batch.truncated[np.array(want) - 1, range(4)],
                                  [False, True, True, False])
    assert batch.env_steps == 4 * LIMIT  # every env stepped until the longest episode ended
    assert batch.num_steps == sum(want)
    # a second call starts fresh episodes again
    check_episodes(rollout.collect_episodes(envs, zeros_policy), want)


def test_select_columns_trims_padding():
    batch = rollout.collect_episodes(make_envs(), zeros_policy, seed=0)
    sub = batch.select([0, 3])
    check_episodes(sub, [3, 5])
    assert sub.env_steps == 8
    check_episodes(batch.select(np.array([False, True, False, False])), [6])
    with pytest.raises(ValueError, match="selects no episode"):
        batch.select([])


def test_collectors_reject_disabled_autoreset_and_bad_policies():
    envs = make_envs(mode=gym.vector.AutoresetMode.DISABLED)
    with pytest.raises(ValueError, match="SAME_STEP or NEXT_STEP"):
        rollout.collect_episodes(envs, zeros_policy)
    with pytest.raises(ValueError, match="one action per environment"):
        rollout.collect_episodes(make_envs(), lambda obs: np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="max_steps"):
        rollout.collect_episodes(make_envs(), zeros_policy, max_steps=-1)
    with pytest.raises(TypeError, match="seed"):
        rollout.collect_episodes(make_envs(), zeros_policy, seed=1.5)


def test_next_step_autoreset_gives_the_same_batches_without_reset_steps():
    """NEXT_STEP: the step after an episode's end only resets; it is skipped and not counted."""
    b = rollout.collect_episodes(make_envs(mode=gym.vector.AutoresetMode.NEXT_STEP),
                                 zeros_policy, seed=0)
    check_episodes(b, [3, 6, 6, 5])
    assert b.env_steps == 4 * LIMIT - 2  # envs 0 and 3 each spent one step resetting
    same = rollout.collect_episodes(make_envs(), zeros_policy, seed=0)
    np.testing.assert_array_equal(b.rewards, same.rewards)


def test_returns_do_not_leak_across_episodes():
    batch = rollout.collect_episodes(make_envs(lengths=(2, 4), limit=10), zeros_policy, seed=0)
    check_episodes(batch, [2, 4])
    g = returns.reward_to_go(batch.rewards, 1.0, batch.dones)
    np.testing.assert_array_equal(g[:, 0], [3, 2, 0, 0])
    np.testing.assert_array_equal(g[:, 1], [10, 9, 7, 4])


def test_every_step_of_a_batch_was_sampled_by_the_policy_of_that_call():
    """On-policy: two calls with two different policies never mix their steps."""
    calls = []

    def tagged(tag):
        def policy(obs):
            calls.append(tag)
            return np.full(len(obs), tag, dtype=np.int64)
        return policy

    envs = make_envs()
    first = rollout.collect_episodes(envs, tagged(0), seed=0)
    second = rollout.collect_episodes(envs, tagged(1))
    assert (first.actions[first.mask] == 0).all() and (second.actions[second.mask] == 1).all()
    check_episodes(second, [min(n, LIMIT) for n in LENGTHS])  # fresh episodes from a reset


def test_gymnasium_vectorised_cartpole():
    envs = rollout.make_vec("CartPole-v1", 6, vectorization_mode="vector_entry_point")
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    for seed in (0, None, None):
        batch = rollout.collect_episodes(envs, zeros_policy, seed=seed)
        np.testing.assert_array_equal(batch.returns, batch.lengths)  # reward 1 per real step
        first_obs = batch.obs[0, :, :]
        assert np.abs(first_obs).max() <= 0.05  # every episode starts from a reset state
        assert (batch.dones.sum(0) == 1).all() and batch.terminated.any(0).all()
    assert rollout.fastest_mode("CartPole-v1") == "vector_entry_point"
    with pytest.raises(ValueError, match="vectorization_mode"):
        rollout.make_vec("CartPole-v1", 2, vectorization_mode="fast")


def test_runaway_episodes_raise():
    with pytest.raises(RuntimeError, match="still running"):
        rollout.collect_episodes(make_envs(limit=100), zeros_policy, max_steps=5)


def test_make_vec_and_evaluate_cartpole():
    envs = rollout.make_vec("CartPole-v1", 3)
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    envs.close()
    with pytest.raises(ValueError, match="num_envs"):
        rollout.make_vec("CartPole-v1", 0)
    scores = rollout.evaluate("CartPole-v1", zeros_policy, n_episodes=5, seed=0)
    assert scores.shape == (5,) and (scores < 20).all()  # always pushing left falls fast
